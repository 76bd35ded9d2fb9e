//! A ZooKeeper server: fast leader election, ZAB-style quorum writes through the leader, reads
//! from its own copy of the tree, client sessions (expired by the leader) and one-shot watches.
//!
//! Simplifications, each invisible to a Kafka broker: a new follower is always synced with a
//! full snapshot (ZooKeeper may send a DIFF), and transaction logs are not modelled separately
//! from the tree.

use super::messages::{
    zxid, Origin, PeerState, SessionId, Txn, Vote, WatchKind, ZkError, ZkMessage, ZkOp, ZkReply,
    Zxid,
};
use super::tree::{DataTree, WatchTrigger};
use crate::config::ZooKeeperConfig;
use crate::ids::NodeId;
use crate::node::Ctx;
use crate::time::SimTime;
use crate::trace::Event;
use crate::vec_map::{VecMap, VecSet};

/// FastLeaderElection's `finalizeWait`: how long a server waits for a better vote once a
/// majority agrees.
const FINALIZE_WAIT_MS: u64 = 200;
/// FastLeaderElection resends its notifications from 200 ms, doubling up to 60 s.
const RESEND_MIN_MS: u64 = 200;
const RESEND_MAX_MS: u64 = 60_000;

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
struct Pending {
    txn: Txn,
    origin: Option<Origin>,
    acks: VecSet<u32>,
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

    pub fn start(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        ctx.timer_in_ms(self.tick_ms(), ZkServerTimer::Tick);
        self.look_for_leader(ctx);
    }

    // ---- Leader election (FastLeaderElection) ----

    fn look_for_leader(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let was_serving = self.state != PeerState::Looking;
        self.state = PeerState::Looking;
        self.generation += 1;
        self.leader = None;
        self.follower = None;
        self.close_client_connections(ctx);
        if was_serving {
            ctx.trace(Event::ZkLookingForLeader { server: self.sid });
        }
        self.round += 1;
        self.vote = self.own_vote();
        self.received_votes.clear();
        self.received_votes.insert(self.sid, self.vote);
        self.out_of_election.clear();
        self.resend_ms = RESEND_MIN_MS;
        self.broadcast_vote(ctx);
        ctx.timer_in_ms(
            self.resend_ms,
            ZkServerTimer::ElectionResend {
                generation: self.generation,
            },
        );
        // A lone server (ensemble of one) has its quorum already.
        self.check_election_quorum(ctx);
    }

    fn own_vote(&self) -> Vote {
        Vote {
            leader: self.sid,
            zxid: self.tree.last_zxid(),
            epoch: self.current_epoch,
        }
    }

    fn broadcast_vote(&self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        for peer in self.peers() {
            ctx.send_zk(NodeId::ZooKeeper(peer), self.notification());
        }
    }

    fn notification(&self) -> ZkMessage {
        ZkMessage::Notification {
            vote: self.vote,
            round: self.round,
            state: self.state,
        }
    }

    fn on_notification(
        &mut self,
        from: u32,
        vote: Vote,
        round: u64,
        state: PeerState,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        if self.state != PeerState::Looking {
            // Tell a looking peer who leads (this is how a restarted server joins).
            if state == PeerState::Looking {
                let current = Vote {
                    leader: self.leader_id().unwrap_or(self.vote.leader),
                    zxid: self.tree.last_zxid(),
                    epoch: self.current_epoch,
                };
                ctx.send_zk(
                    NodeId::ZooKeeper(from),
                    ZkMessage::Notification {
                        vote: current,
                        round: self.round,
                        state: self.state,
                    },
                );
            }
            return;
        }
        match state {
            PeerState::Looking => {
                if round > self.round {
                    self.round = round;
                    self.received_votes.clear();
                    let own = self.own_vote();
                    self.vote = if vote.beats(&own) { vote } else { own };
                    self.received_votes.insert(self.sid, self.vote);
                    self.broadcast_vote(ctx);
                } else if round < self.round {
                    ctx.send_zk(NodeId::ZooKeeper(from), self.notification());
                    return;
                } else if vote.beats(&self.vote) {
                    self.vote = vote;
                    self.received_votes.insert(self.sid, self.vote);
                    self.broadcast_vote(ctx);
                }
                self.received_votes.insert(from, vote);
                self.check_election_quorum(ctx);
            }
            PeerState::Following | PeerState::Leading => {
                self.out_of_election.insert(from, (vote, state));
                // Join an existing leader once a majority follows it and it says it leads.
                let backers = self
                    .out_of_election
                    .values()
                    .filter(|(v, _)| v.leader == vote.leader)
                    .count();
                let leader_confirms = self
                    .out_of_election
                    .get(&vote.leader)
                    .is_some_and(|(_, s)| *s == PeerState::Leading);
                if backers + 1 >= self.quorum() && leader_confirms {
                    self.vote = vote;
                    self.round = self.round.max(round);
                    self.become_follower(vote.leader, ctx);
                }
            }
        }
    }

    fn check_election_quorum(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let agree = self
            .received_votes
            .values()
            .filter(|v| **v == self.vote)
            .count();
        if agree >= self.quorum() {
            let timer = ZkServerTimer::Finalize {
                generation: self.generation,
                round: self.round,
            };
            if self.ensemble.len() == 1 {
                self.decide(ctx);
            } else {
                ctx.timer_in_ms(FINALIZE_WAIT_MS, timer);
            }
        }
    }

    fn decide(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        if self.vote.leader == self.sid {
            self.become_leader(ctx);
        } else {
            self.become_follower(self.vote.leader, ctx);
        }
    }

    // ---- Discovery and synchronisation ----

    fn become_leader(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        self.state = PeerState::Leading;
        self.generation += 1;
        let mut follower_info = VecMap::new();
        follower_info.insert(self.sid, self.accepted_epoch);
        self.leader = Some(LeaderState {
            follower_info,
            new_epoch: None,
            acked_new_leader: VecSet::from([self.sid]),
            established: false,
            synced: VecSet::new(),
            prepared: self.tree.clone(),
            counter: 0,
            outstanding: VecMap::new(),
            last_heard: VecMap::new(),
            session_touched: VecMap::new(),
            expiring: VecSet::new(),
            next_session: 0,
        });
        ctx.timer_in_ms(
            self.tick_ms() * self.config.init_limit as u64,
            ZkServerTimer::SyncDeadline {
                generation: self.generation,
            },
        );
        self.maybe_choose_epoch(ctx);
    }

    fn become_follower(&mut self, leader: u32, ctx: &mut Ctx<'_, ZkServerTimer>) {
        self.state = PeerState::Following;
        self.generation += 1;
        self.follower = Some(FollowerState {
            leader,
            synced: false,
            last_heard: ctx.now,
            pending: VecMap::new(),
        });
        self.send_follower_info(leader, ctx);
        ctx.timer_in_ms(
            self.tick_ms() * self.config.init_limit as u64,
            ZkServerTimer::SyncDeadline {
                generation: self.generation,
            },
        );
    }

    fn send_follower_info(&self, leader: u32, ctx: &mut Ctx<'_, ZkServerTimer>) {
        ctx.send_zk(
            NodeId::ZooKeeper(leader),
            ZkMessage::FollowerInfo {
                accepted_epoch: self.accepted_epoch,
                last_zxid: self.tree.last_zxid(),
            },
        );
        let generation = self.generation;
        ctx.timer_in_ms(
            RESEND_MIN_MS,
            ZkServerTimer::FollowerInfoRetry { generation },
        );
    }

    fn on_follower_info(
        &mut self,
        from: u32,
        accepted_epoch: u32,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        let Some(lead) = self.leader.as_mut() else {
            return;
        };
        lead.last_heard.insert(from, ctx.now);
        lead.follower_info.insert(from, accepted_epoch);
        match lead.new_epoch {
            // Late joiner: sync it right away.
            Some(epoch) => self.send_new_leader(from, epoch, ctx),
            None => self.maybe_choose_epoch(ctx),
        }
    }

    fn maybe_choose_epoch(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let quorum = self.quorum();
        let Some(lead) = self.leader.as_mut() else {
            return;
        };
        if lead.new_epoch.is_some() || lead.follower_info.len() < quorum {
            return;
        }
        let epoch = lead.follower_info.values().copied().max().unwrap_or(0) + 1;
        lead.new_epoch = Some(epoch);
        self.accepted_epoch = epoch;
        let followers: Vec<u32> = lead
            .follower_info
            .keys()
            .copied()
            .filter(|&s| s != self.sid)
            .collect();
        for f in followers {
            self.send_new_leader(f, epoch, ctx);
        }
        self.maybe_establish(ctx);
    }

    fn send_new_leader(&mut self, follower: u32, epoch: u32, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let Some(lead) = self.leader.as_mut() else {
            return;
        };
        lead.synced.insert(follower);
        ctx.send_zk(
            NodeId::ZooKeeper(follower),
            ZkMessage::NewLeader {
                epoch,
                snapshot: Box::new(self.tree.clone()),
            },
        );
        // Proposals not yet committed follow the snapshot, so the new follower can ack them.
        for (zxid, p) in &lead.outstanding {
            ctx.send_zk(
                NodeId::ZooKeeper(follower),
                ZkMessage::Proposal {
                    zxid: *zxid,
                    txn: p.txn.clone(),
                    origin: p.origin,
                },
            );
        }
    }

    fn on_ack_new_leader(&mut self, from: u32, epoch: u32, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let Some(lead) = self.leader.as_mut() else {
            return;
        };
        if lead.new_epoch != Some(epoch) {
            return;
        }
        lead.last_heard.insert(from, ctx.now);
        lead.acked_new_leader.insert(from);
        self.maybe_establish(ctx);
    }

    fn maybe_establish(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let quorum = self.quorum();
        let Some(lead) = self.leader.as_mut() else {
            return;
        };
        let Some(epoch) = lead.new_epoch else { return };
        if lead.established || lead.acked_new_leader.len() < quorum {
            return;
        }
        lead.established = true;
        self.current_epoch = epoch;
        // Every session gets a fresh timeout under a new leader, as in ZooKeeper.
        for session in self.tree.sessions().keys() {
            lead.session_touched.insert(*session, ctx.now);
        }
        ctx.trace(Event::ZkLeaderElected {
            server: self.sid,
            epoch,
        });
    }

    fn on_new_leader(
        &mut self,
        from: u32,
        epoch: u32,
        snapshot: DataTree,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        let Some(f) = self.follower.as_mut() else {
            return;
        };
        if f.leader != from {
            return;
        }
        self.tree = snapshot;
        self.accepted_epoch = epoch;
        self.current_epoch = epoch;
        f.synced = true;
        f.last_heard = ctx.now;
        f.pending.clear();
        ctx.send_zk(NodeId::ZooKeeper(from), ZkMessage::AckNewLeader { epoch });
    }

    // ---- Broadcast (ZAB) ----

    fn propose(&mut self, mut txn: Txn, origin: Option<Origin>, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let sid = self.sid;
        let quorum = self.quorum();
        let Some(lead) = self.leader.as_mut().filter(|l| l.established) else {
            if let Some(origin) = origin {
                self.fail_write(origin, ZkError::ConnectionLoss, ctx);
            }
            return;
        };
        if let Txn::CreateSession { session, .. } = &mut txn {
            lead.next_session += 1;
            *session = zxid(self.current_epoch, lead.next_session);
        }
        if let Txn::Write { session, .. } = &txn {
            if !lead.prepared.has_session(*session) {
                if let Some(origin) = origin {
                    self.fail_write(origin, ZkError::SessionExpired, ctx);
                }
                return;
            }
        }
        let zxid = zxid(self.current_epoch, lead.counter + 1);
        if let Err(error) = lead.prepared.apply(zxid, &txn) {
            if let Some(origin) = origin {
                self.fail_write(origin, error, ctx);
            }
            return;
        }
        lead.counter += 1;
        for f in &lead.synced {
            ctx.send_zk(
                NodeId::ZooKeeper(*f),
                ZkMessage::Proposal {
                    zxid,
                    txn: txn.clone(),
                    origin,
                },
            );
        }
        lead.outstanding.insert(
            zxid,
            Pending {
                txn,
                origin,
                acks: VecSet::from([sid]),
            },
        );
        if quorum == 1 {
            self.commit_ready(ctx);
        }
    }

    fn on_ack(&mut self, from: u32, zxid: Zxid, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let Some(lead) = self.leader.as_mut() else {
            return;
        };
        lead.last_heard.insert(from, ctx.now);
        if let Some(p) = lead.outstanding.get_mut(&zxid) {
            p.acks.insert(from);
        }
        self.commit_ready(ctx);
    }

    /// Commits outstanding proposals in zxid order while the oldest has a quorum of acks.
    fn commit_ready(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let quorum = self.quorum();
        loop {
            let Some(lead) = self.leader.as_mut() else {
                return;
            };
            let Some((&zxid, p)) = lead.outstanding.first_key_value() else {
                return;
            };
            if p.acks.len() < quorum {
                return;
            }
            let p = lead.outstanding.remove(&zxid).expect("just seen");
            for f in &lead.synced {
                ctx.send_zk(NodeId::ZooKeeper(*f), ZkMessage::Commit { zxid });
            }
            self.apply_committed(zxid, p.txn, p.origin, ctx);
        }
    }

    fn on_proposal(
        &mut self,
        from: u32,
        zxid: Zxid,
        txn: Txn,
        origin: Option<Origin>,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        let Some(f) = self
            .follower
            .as_mut()
            .filter(|f| f.leader == from && f.synced)
        else {
            return;
        };
        f.last_heard = ctx.now;
        f.pending.insert(zxid, (txn, origin));
        ctx.send_zk(NodeId::ZooKeeper(from), ZkMessage::Ack { zxid });
    }

    fn on_commit(&mut self, from: u32, zxid: Zxid, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let Some(f) = self.follower.as_mut().filter(|f| f.leader == from) else {
            return;
        };
        f.last_heard = ctx.now;
        // Commits arrive in order; apply everything pending up to this zxid.
        let ready: Vec<Zxid> = f.pending.range(..=zxid).map(|(z, _)| *z).collect();
        for z in ready {
            let Some((txn, origin)) = self.follower.as_mut().and_then(|f| f.pending.remove(&z))
            else {
                continue;
            };
            self.apply_committed(z, txn, origin, ctx);
        }
    }

    fn apply_committed(
        &mut self,
        zxid: Zxid,
        txn: Txn,
        origin: Option<Origin>,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        self.tree.set_time_ms(ctx.now.as_ms());
        let result = self.tree.apply(zxid, &txn);
        let is_leader = self.state == PeerState::Leading;
        if let Ok((_, triggers)) = &result {
            if is_leader {
                self.trace_changes(&txn, triggers, ctx);
            }
            self.fire_watches(triggers, ctx);
        }
        if is_leader {
            if let Some(lead) = self.leader.as_mut() {
                match &txn {
                    Txn::CreateSession { session, .. } => {
                        lead.session_touched.insert(*session, ctx.now);
                    }
                    Txn::CloseSession { session } => {
                        lead.session_touched.remove(session);
                        lead.expiring.remove(session);
                    }
                    Txn::Write { .. } => {}
                }
            }
        }
        let Some(origin) = origin.filter(|o| o.server == self.sid) else {
            return;
        };
        match txn {
            Txn::CreateSession {
                session,
                timeout_ms,
            } => {
                self.clients.insert(origin.client, session);
                ctx.send_zk(
                    origin.client,
                    ZkMessage::ConnectResponse {
                        result: Ok((session, timeout_ms)),
                    },
                );
            }
            Txn::CloseSession { .. } => {
                self.clients.remove(&origin.client);
            }
            Txn::Write { .. } => {
                let result = result.map(|(reply, _)| reply);
                ctx.send_zk(
                    origin.client,
                    ZkMessage::Response {
                        xid: origin.xid,
                        result,
                    },
                );
            }
        }
    }

    fn trace_changes(
        &self,
        txn: &Txn,
        triggers: &[WatchTrigger],
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        if let Txn::CloseSession { session } = txn {
            let expired = self
                .leader
                .as_ref()
                .is_some_and(|l| l.expiring.contains(session));
            if expired {
                ctx.trace(Event::ZkSessionExpired { session: *session });
            }
        }
        for (path, kind) in triggers {
            match kind {
                WatchKind::NodeCreated => {
                    let ephemeral = self
                        .tree
                        .get(path)
                        .is_some_and(|n| n.stat.ephemeral_owner != 0);
                    ctx.trace(Event::ZnodeCreated {
                        path: path.clone(),
                        ephemeral,
                    });
                }
                WatchKind::NodeDeleted => ctx.trace(Event::ZnodeDeleted { path: path.clone() }),
                _ => {}
            }
        }
    }

    fn fail_write(&mut self, origin: Origin, error: ZkError, ctx: &mut Ctx<'_, ZkServerTimer>) {
        if origin.server == self.sid {
            self.answer_failed_write(origin, error, ctx);
        } else {
            ctx.send_zk(
                NodeId::ZooKeeper(origin.server),
                ZkMessage::WriteFailed { origin, error },
            );
        }
    }

    fn answer_failed_write(
        &mut self,
        origin: Origin,
        error: ZkError,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        if origin.xid == 0 {
            // A session that could not be created.
            ctx.send_zk(
                origin.client,
                ZkMessage::ConnectResponse { result: Err(error) },
            );
        } else {
            ctx.send_zk(
                origin.client,
                ZkMessage::Response {
                    xid: origin.xid,
                    result: Err(error),
                },
            );
        }
    }

    // ---- Clients ----

    fn on_client_message(
        &mut self,
        client: NodeId,
        msg: ZkMessage,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        if !self.is_serving() {
            ctx.send_zk(client, ZkMessage::ConnectionClosed);
            return;
        }
        match msg {
            ZkMessage::Connect {
                session: None,
                timeout_ms,
            } => {
                let timeout_ms = self.config.negotiate_session_timeout_ms(timeout_ms);
                let origin = Origin {
                    server: self.sid,
                    client,
                    xid: 0,
                };
                self.submit(
                    Txn::CreateSession {
                        session: 0,
                        timeout_ms,
                    },
                    origin,
                    ctx,
                );
            }
            ZkMessage::Connect {
                session: Some(session),
                ..
            } => {
                let result = match self.tree.sessions().get(&session) {
                    Some(&timeout_ms) => {
                        self.clients.insert(client, session);
                        self.touch(session, ctx.now);
                        Ok((session, timeout_ms))
                    }
                    None => Err(ZkError::SessionExpired),
                };
                ctx.send_zk(client, ZkMessage::ConnectResponse { result });
            }
            ZkMessage::Request { xid, op } => {
                let Some(&session) = self.clients.get(&client) else {
                    ctx.send_zk(client, ZkMessage::ConnectionClosed);
                    return;
                };
                self.touch(session, ctx.now);
                if op.is_read() {
                    let result = self.tree.read(&op);
                    self.register_watch(client, &op, &result);
                    ctx.send_zk(client, ZkMessage::Response { xid, result });
                } else {
                    let origin = Origin {
                        server: self.sid,
                        client,
                        xid,
                    };
                    self.submit(Txn::Write { session, op }, origin, ctx);
                }
            }
            ZkMessage::SetWatches {
                data,
                child,
                last_zxid,
            } => self.set_watches(client, data, child, last_zxid, ctx),
            ZkMessage::Ping => {
                if let Some(&session) = self.clients.get(&client) {
                    self.touch(session, ctx.now);
                    ctx.send_zk(
                        client,
                        ZkMessage::Pong {
                            zxid: self.tree.last_zxid(),
                        },
                    );
                } else {
                    ctx.send_zk(client, ZkMessage::ConnectionClosed);
                }
            }
            ZkMessage::CloseSession => {
                if let Some(session) = self.clients.remove(&client) {
                    let origin = Origin {
                        server: self.sid,
                        client,
                        xid: 0,
                    };
                    self.submit(Txn::CloseSession { session }, origin, ctx);
                }
            }
            _ => {}
        }
    }

    fn submit(&mut self, txn: Txn, origin: Origin, ctx: &mut Ctx<'_, ZkServerTimer>) {
        match self.state {
            PeerState::Leading => self.propose(txn, Some(origin), ctx),
            PeerState::Following => {
                if let Some(f) = &self.follower {
                    ctx.send_zk(
                        NodeId::ZooKeeper(f.leader),
                        ZkMessage::Forward { origin, txn },
                    );
                }
            }
            PeerState::Looking => self.answer_failed_write(origin, ZkError::ConnectionLoss, ctx),
        }
    }

    fn touch(&mut self, session: SessionId, now: SimTime) {
        match self.leader.as_mut() {
            Some(lead) => {
                lead.session_touched.insert(session, now);
            }
            None => {
                self.touched_since_ping.insert(session);
            }
        }
    }

    fn register_watch(&mut self, client: NodeId, op: &ZkOp, result: &Result<ZkReply, ZkError>) {
        match op {
            ZkOp::GetData { path, watch: true } if result.is_ok() => {
                self.data_watches
                    .entry(path.clone())
                    .or_default()
                    .insert(client);
            }
            ZkOp::Exists { path, watch: true } => {
                self.data_watches
                    .entry(path.clone())
                    .or_default()
                    .insert(client);
            }
            ZkOp::GetChildren { path, watch: true } if result.is_ok() => {
                self.child_watches
                    .entry(path.clone())
                    .or_default()
                    .insert(client);
            }
            _ => {}
        }
    }

    fn set_watches(
        &mut self,
        client: NodeId,
        data: Vec<String>,
        child: Vec<String>,
        last_zxid: Zxid,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        for path in data {
            let fired = match self.tree.get(&path) {
                Some(node) if node.stat.czxid > last_zxid => Some(WatchKind::NodeCreated),
                Some(node) if node.stat.mzxid > last_zxid => Some(WatchKind::NodeDataChanged),
                None if last_zxid < self.tree.last_zxid() => Some(WatchKind::NodeDeleted),
                _ => None,
            };
            match fired {
                Some(kind) => ctx.send_zk(client, ZkMessage::WatchEvent { path, kind }),
                None => {
                    self.data_watches.entry(path).or_default().insert(client);
                }
            }
        }
        for path in child {
            match self.tree.get(&path) {
                Some(node) if node.stat.pzxid > last_zxid => ctx.send_zk(
                    client,
                    ZkMessage::WatchEvent {
                        path,
                        kind: WatchKind::NodeChildrenChanged,
                    },
                ),
                None => ctx.send_zk(
                    client,
                    ZkMessage::WatchEvent {
                        path,
                        kind: WatchKind::NodeDeleted,
                    },
                ),
                Some(_) => {
                    self.child_watches.entry(path).or_default().insert(client);
                }
            }
        }
    }

    fn fire_watches(&mut self, triggers: &[WatchTrigger], ctx: &mut Ctx<'_, ZkServerTimer>) {
        for (path, kind) in triggers {
            let watchers = match kind {
                WatchKind::NodeChildrenChanged => self.child_watches.remove(path),
                WatchKind::NodeDeleted => {
                    let mut w = self.data_watches.remove(path).unwrap_or_default();
                    w.extend(self.child_watches.remove(path).unwrap_or_default());
                    Some(w)
                }
                _ => self.data_watches.remove(path),
            };
            for client in watchers.into_iter().flatten() {
                ctx.send_zk(
                    client,
                    ZkMessage::WatchEvent {
                        path: path.clone(),
                        kind: *kind,
                    },
                );
            }
        }
    }

    fn close_client_connections(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        for client in std::mem::take(&mut self.clients).into_keys() {
            ctx.send_zk(client, ZkMessage::ConnectionClosed);
        }
        self.data_watches.clear();
        self.child_watches.clear();
    }

    // ---- Entry points ----

    pub fn on_message(&mut self, from: NodeId, msg: ZkMessage, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let NodeId::ZooKeeper(peer) = from else {
            self.on_client_message(from, msg, ctx);
            return;
        };
        match msg {
            ZkMessage::Notification { vote, round, state } => {
                self.on_notification(peer, vote, round, state, ctx)
            }
            ZkMessage::FollowerInfo { accepted_epoch, .. } => {
                self.on_follower_info(peer, accepted_epoch, ctx)
            }
            ZkMessage::NewLeader { epoch, snapshot } => {
                self.on_new_leader(peer, epoch, *snapshot, ctx)
            }
            ZkMessage::AckNewLeader { epoch } => self.on_ack_new_leader(peer, epoch, ctx),
            ZkMessage::Proposal { zxid, txn, origin } => {
                self.on_proposal(peer, zxid, txn, origin, ctx)
            }
            ZkMessage::Ack { zxid } => self.on_ack(peer, zxid, ctx),
            ZkMessage::Commit { zxid } => self.on_commit(peer, zxid, ctx),
            ZkMessage::LeaderPing => {
                if let Some(f) = self.follower.as_mut().filter(|f| f.leader == peer) {
                    f.last_heard = ctx.now;
                    let touched = std::mem::take(&mut self.touched_since_ping)
                        .into_iter()
                        .collect();
                    ctx.send_zk(from, ZkMessage::FollowerPing { touched });
                }
            }
            ZkMessage::FollowerPing { touched } => {
                if let Some(lead) = self.leader.as_mut() {
                    lead.last_heard.insert(peer, ctx.now);
                    for s in touched {
                        lead.session_touched.insert(s, ctx.now);
                    }
                }
            }
            ZkMessage::Forward { origin, txn } => {
                if self.state == PeerState::Leading {
                    self.propose(txn, Some(origin), ctx);
                } else {
                    self.fail_write(origin, ZkError::ConnectionLoss, ctx);
                }
            }
            ZkMessage::WriteFailed { origin, error } => {
                self.answer_failed_write(origin, error, ctx)
            }
            _ => {}
        }
    }

    pub fn on_timer(&mut self, timer: ZkServerTimer, ctx: &mut Ctx<'_, ZkServerTimer>) {
        match timer {
            ZkServerTimer::Tick => {
                ctx.timer_in_ms(self.tick_ms(), ZkServerTimer::Tick);
                self.on_tick(ctx);
            }
            ZkServerTimer::ElectionResend { generation } if generation == self.generation => {
                self.broadcast_vote(ctx);
                self.resend_ms = (self.resend_ms * 2).min(RESEND_MAX_MS);
                ctx.timer_in_ms(self.resend_ms, ZkServerTimer::ElectionResend { generation });
            }
            ZkServerTimer::Finalize { generation, round }
                if generation == self.generation && round == self.round =>
            {
                let agree = self
                    .received_votes
                    .values()
                    .filter(|v| **v == self.vote)
                    .count();
                if self.state == PeerState::Looking && agree >= self.quorum() {
                    self.decide(ctx);
                }
            }
            ZkServerTimer::FollowerInfoRetry { generation } if generation == self.generation => {
                if let Some(f) = self.follower.as_ref().filter(|f| !f.synced) {
                    self.send_follower_info(f.leader, ctx);
                }
            }
            ZkServerTimer::SyncDeadline { generation } if generation == self.generation => {
                if !self.is_serving() {
                    self.look_for_leader(ctx);
                }
            }
            _ => {}
        }
    }

    fn on_tick(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let sync_limit_us = self.tick_ms() * self.config.sync_limit as u64 * 1_000;
        match self.state {
            PeerState::Leading => {
                let quorum = self.quorum();
                let Some(lead) = self.leader.as_mut() else {
                    return;
                };
                if !lead.established {
                    return;
                }
                for f in &lead.synced {
                    ctx.send_zk(NodeId::ZooKeeper(*f), ZkMessage::LeaderPing);
                }
                let alive = lead
                    .synced
                    .iter()
                    .filter(|f| {
                        lead.last_heard
                            .get(f)
                            .is_some_and(|t| ctx.now.since(*t) <= sync_limit_us)
                    })
                    .count();
                if alive + 1 < quorum {
                    // "Not sufficient followers synced, only synced with sids": the leader steps down.
                    self.look_for_leader(ctx);
                    return;
                }
                let expired: Vec<SessionId> = self
                    .tree
                    .sessions()
                    .iter()
                    .filter(|(s, timeout)| {
                        !lead.expiring.contains(*s)
                            && lead
                                .session_touched
                                .get(*s)
                                .is_none_or(|t| ctx.now.since(*t) > **timeout * 1_000)
                    })
                    .map(|(s, _)| *s)
                    .collect();
                for session in expired {
                    if let Some(lead) = self.leader.as_mut() {
                        lead.expiring.insert(session);
                    }
                    self.propose(Txn::CloseSession { session }, None, ctx);
                }
            }
            PeerState::Following => {
                let lost = self
                    .follower
                    .as_ref()
                    .is_some_and(|f| ctx.now.since(f.last_heard) > sync_limit_us);
                if lost {
                    self.look_for_leader(ctx);
                }
            }
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
