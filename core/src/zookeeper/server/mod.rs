//! A ZooKeeper server (ZooKeeper's QuorumPeer): fast leader election, ZAB-style quorum writes
//! through the leader, reads from its own copy of the tree, client sessions (expired by the
//! leader) and one-shot watches.
//!
//! This file holds the server's state and routes what arrives by the server's peer state, as
//! QuorumPeer runs FastLeaderElection while looking and a Leader or Follower otherwise:
//! - `election.rs`: FastLeaderElection (votes, rounds, the finalize wait);
//! - `sync.rs`: Zab's discovery and synchronisation (a new epoch, a follower synced with a
//!   snapshot) and the pings that keep a quorum;
//! - `broadcast.rs`: Zab's atomic broadcast (proposals, acks, commits in zxid order);
//! - `sessions.rs`: the leader's session tracker (touches, expiry);
//! - `requests.rs`: clients' connections and requests;
//! - `watches.rs`: one-shot watches, set by reads and fired by commits.
//!
//! Simplifications, each invisible to a Kafka broker: a new follower is always synced with a
//! full snapshot (ZooKeeper may send a DIFF), and transaction logs are not modelled separately
//! from the tree.

mod broadcast;
mod election;
mod requests;
mod sessions;
mod sync;
mod watches;

use super::messages::{Origin, PeerState, SessionId, Txn, Vote, ZkError, ZkMessage, Zxid};
use super::tree::DataTree;
use crate::config::ZooKeeperConfig;
use crate::ids::NodeId;
use crate::node::Ctx;
use crate::time::SimTime;
use crate::vec_map::{VecMap, VecSet};
use broadcast::Pending;
use election::RESEND_MIN_MS;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkServerTimer {
    /// Every `tickTime`: pings, liveness of leader and followers, session expiry.
    Tick,
    ElectionResend {
        generation: u64,
    },
    Finalize {
        generation: u64,
        round: u64,
    },
    /// `initLimit` ticks to get a quorum synced after an election.
    SyncDeadline {
        generation: u64,
    },
    /// A follower not yet synced connects to its leader again (the leader may not have
    /// finished its own election when the first attempt arrived).
    FollowerInfoRetry {
        generation: u64,
    },
}

#[derive(Clone, Debug)]
struct LeaderState {
    /// Followers' accepted epochs, gathered before the new epoch is chosen.
    follower_info: VecMap<u32, u32>,
    new_epoch: Option<u32>,
    acked_new_leader: VecSet<u32>,
    established: bool,
    /// Followers that received the leader's state and get its proposals.
    synced: VecSet<u32>,
    /// The committed tree plus outstanding proposals: writes are validated against it.
    prepared: DataTree,
    counter: u32,
    outstanding: VecMap<Zxid, Pending>,
    last_heard: VecMap<u32, SimTime>,
    session_touched: VecMap<SessionId, SimTime>,
    expiring: VecSet<SessionId>,
    next_session: u32,
}

#[derive(Clone, Debug)]
struct FollowerState {
    leader: u32,
    synced: bool,
    last_heard: SimTime,
    pending: VecMap<Zxid, (Txn, Option<Origin>)>,
}

#[derive(Clone, Debug)]
pub struct ZkServer {
    pub sid: u32,
    ensemble: Vec<u32>,
    config: ZooKeeperConfig,
    tree: DataTree,
    state: PeerState,
    current_epoch: u32,
    accepted_epoch: u32,
    /// Bumped on every role change so that timers of an old role are ignored.
    generation: u64,
    round: u64,
    vote: Vote,
    received_votes: VecMap<u32, Vote>,
    out_of_election: VecMap<u32, (Vote, PeerState)>,
    resend_ms: u64,
    leader: Option<LeaderState>,
    follower: Option<FollowerState>,
    clients: VecMap<NodeId, SessionId>,
    data_watches: VecMap<String, VecSet<NodeId>>,
    child_watches: VecMap<String, VecSet<NodeId>>,
    touched_since_ping: VecSet<SessionId>,
}

impl ZkServer {
    /// A server that starts with `tree` on disk (kept across restarts by the simulation).
    pub fn new(
        sid: u32,
        ensemble: Vec<u32>,
        config: ZooKeeperConfig,
        tree: DataTree,
        current_epoch: u32,
    ) -> ZkServer {
        let vote = Vote {
            leader: sid,
            zxid: tree.last_zxid(),
            epoch: current_epoch,
        };
        ZkServer {
            sid,
            ensemble,
            config,
            tree,
            state: PeerState::Looking,
            current_epoch,
            accepted_epoch: current_epoch,
            generation: 0,
            round: 0,
            vote,
            received_votes: VecMap::new(),
            out_of_election: VecMap::new(),
            resend_ms: RESEND_MIN_MS,
            leader: None,
            follower: None,
            clients: VecMap::new(),
            data_watches: VecMap::new(),
            child_watches: VecMap::new(),
            touched_since_ping: VecSet::new(),
        }
    }

    pub fn state(&self) -> PeerState {
        self.state
    }

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    pub fn current_epoch(&self) -> u32 {
        self.current_epoch
    }

    /// Whether this server answers clients: an established leader or a synced follower.
    pub fn is_serving(&self) -> bool {
        match self.state {
            PeerState::Leading => self.leader.as_ref().is_some_and(|l| l.established),
            PeerState::Following => self.follower.as_ref().is_some_and(|f| f.synced),
            PeerState::Looking => false,
        }
    }

    pub fn leader_id(&self) -> Option<u32> {
        match self.state {
            PeerState::Leading if self.is_serving() => Some(self.sid),
            PeerState::Following => self.follower.as_ref().map(|f| f.leader),
            _ => None,
        }
    }

    pub fn connected_clients(&self) -> impl Iterator<Item = &NodeId> {
        self.clients.keys()
    }

    fn quorum(&self) -> usize {
        self.ensemble.len() / 2 + 1
    }

    fn peers(&self) -> impl Iterator<Item = u32> + '_ {
        self.ensemble
            .iter()
            .copied()
            .filter(move |&s| s != self.sid)
    }

    fn tick_ms(&self) -> u64 {
        self.config.tick_time_ms
    }

    /// `syncLimit` ticks: how long leader and followers wait to hear from each other.
    fn sync_limit_us(&self) -> u64 {
        self.tick_ms() * self.config.sync_limit as u64 * 1_000
    }

    pub fn start(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        ctx.timer_in_ms(self.tick_ms(), ZkServerTimer::Tick);
        self.look_for_leader(ctx);
    }

    pub fn on_message(&mut self, from: NodeId, msg: ZkMessage, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let NodeId::ZooKeeper(peer) = from else {
            self.on_client_message(from, msg, ctx);
            return;
        };
        match msg {
            // Every server answers votes: a looking one to elect, the others to say who leads.
            ZkMessage::Notification { vote, round, state } => {
                self.on_notification(peer, vote, round, state, ctx)
            }
            // The leader refused a write this server forwarded for its client.
            ZkMessage::WriteFailed { origin, error } => {
                self.answer_failed_write(origin, error, ctx)
            }
            msg => match self.state {
                PeerState::Leading => self.step_leader(peer, msg, ctx),
                PeerState::Following => self.step_follower(peer, msg, ctx),
                PeerState::Looking => self.step_looking(msg, ctx),
            },
        }
    }

    /// What followers send their leader.
    fn step_leader(&mut self, peer: u32, msg: ZkMessage, ctx: &mut Ctx<'_, ZkServerTimer>) {
        match msg {
            ZkMessage::FollowerInfo { accepted_epoch, .. } => {
                self.on_follower_info(peer, accepted_epoch, ctx)
            }
            ZkMessage::AckNewLeader { epoch } => self.on_ack_new_leader(peer, epoch, ctx),
            ZkMessage::Ack { zxid } => self.on_ack(peer, zxid, ctx),
            ZkMessage::FollowerPing { touched } => self.on_follower_ping(peer, touched, ctx),
            ZkMessage::Forward { origin, txn } => self.propose(txn, Some(origin), ctx),
            // A leader's messages, from an epoch in which this server followed.
            ZkMessage::NewLeader { .. }
            | ZkMessage::Proposal { .. }
            | ZkMessage::Commit { .. }
            | ZkMessage::LeaderPing => {}
            msg => debug_assert!(false, "a server sent a client's {msg:?}"),
        }
    }

    /// What a leader sends its followers.
    fn step_follower(&mut self, peer: u32, msg: ZkMessage, ctx: &mut Ctx<'_, ZkServerTimer>) {
        match msg {
            ZkMessage::NewLeader { epoch, snapshot } => {
                self.on_new_leader(peer, epoch, *snapshot, ctx)
            }
            ZkMessage::Proposal { zxid, txn, origin } => {
                self.on_proposal(peer, zxid, txn, origin, ctx)
            }
            ZkMessage::Commit { zxid } => self.on_commit(peer, zxid, ctx),
            ZkMessage::LeaderPing => self.on_leader_ping(peer, ctx),
            // Forwarded to this server while it led: it leads no more.
            ZkMessage::Forward { origin, .. } => {
                self.fail_write(origin, ZkError::ConnectionLoss, ctx)
            }
            // A follower's messages, from an epoch in which this server led.
            ZkMessage::FollowerInfo { .. }
            | ZkMessage::AckNewLeader { .. }
            | ZkMessage::Ack { .. }
            | ZkMessage::FollowerPing { .. } => {}
            msg => debug_assert!(false, "a server sent a client's {msg:?}"),
        }
    }

    /// While electing, a server neither leads nor follows.
    fn step_looking(&mut self, msg: ZkMessage, ctx: &mut Ctx<'_, ZkServerTimer>) {
        match msg {
            ZkMessage::Forward { origin, .. } => {
                self.fail_write(origin, ZkError::ConnectionLoss, ctx)
            }
            // Messages of the epoch this server left.
            ZkMessage::FollowerInfo { .. }
            | ZkMessage::NewLeader { .. }
            | ZkMessage::AckNewLeader { .. }
            | ZkMessage::Proposal { .. }
            | ZkMessage::Ack { .. }
            | ZkMessage::Commit { .. }
            | ZkMessage::LeaderPing
            | ZkMessage::FollowerPing { .. } => {}
            msg => debug_assert!(false, "a server sent a client's {msg:?}"),
        }
    }

    pub fn on_timer(&mut self, timer: ZkServerTimer, ctx: &mut Ctx<'_, ZkServerTimer>) {
        match timer {
            ZkServerTimer::Tick => {
                ctx.timer_in_ms(self.tick_ms(), ZkServerTimer::Tick);
                self.on_tick(ctx);
            }
            ZkServerTimer::ElectionResend { generation } if generation == self.generation => {
                self.resend_votes(ctx)
            }
            ZkServerTimer::Finalize { generation, round }
                if generation == self.generation && round == self.round =>
            {
                self.finalize_election(ctx)
            }
            ZkServerTimer::FollowerInfoRetry { generation } if generation == self.generation => {
                self.retry_follower_info(ctx)
            }
            ZkServerTimer::SyncDeadline { generation } if generation == self.generation => {
                self.on_sync_deadline(ctx)
            }
            // A timer of a role or an election round this server has left.
            _ => {}
        }
    }

    /// Every `tickTime`: a leader pings its followers and expires sessions; a follower checks
    /// that it still hears from its leader.
    fn on_tick(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        match self.state {
            PeerState::Leading => {
                if self.ping_followers(ctx) {
                    self.expire_sessions(ctx);
                }
            }
            PeerState::Following => self.check_leader_alive(ctx),
            PeerState::Looking => {}
        }
    }

    /// A TCP connection closed: a client went away, or a peer server died.
    pub fn on_disconnect(&mut self, peer: NodeId, ctx: &mut Ctx<'_, ZkServerTimer>) {
        match peer {
            NodeId::ZooKeeper(sid) => {
                if self.follower.as_ref().is_some_and(|f| f.leader == sid) {
                    self.look_for_leader(ctx);
                } else if let Some(lead) = self.leader.as_mut() {
                    lead.synced.remove(&sid);
                    lead.last_heard.remove(&sid);
                }
            }
            client => {
                self.clients.remove(&client);
                for w in self
                    .data_watches
                    .values_mut()
                    .chain(self.child_watches.values_mut())
                {
                    w.remove(&client);
                }
            }
        }
    }
}
