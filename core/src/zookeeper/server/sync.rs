//! Zab's discovery and synchronisation (ZooKeeper's Leader and LearnerHandler on one side,
//! Learner and Follower on the other): followers tell the new leader their accepted epoch, the
//! leader picks the next epoch once a quorum has, sends each follower a snapshot of its tree
//! (with the proposals still outstanding), and serves once a quorum has acknowledged it. After
//! that, pings every tick keep the quorum: a leader that hears too few followers within
//! `syncLimit` ticks, or a follower that hears nothing from its leader, goes looking again.

use super::{FollowerState, LeaderState, ZkServer, ZkServerTimer, RESEND_MIN_MS};
use crate::ids::NodeId;
use crate::node::Ctx;
use crate::trace::Event;
use crate::vec_map::{VecMap, VecSet};
use crate::zookeeper::messages::{PeerState, SessionId, ZkMessage};
use crate::zookeeper::tree::DataTree;

impl ZkServer {
    pub(super) fn become_leader(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
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

    pub(super) fn become_follower(&mut self, leader: u32, ctx: &mut Ctx<'_, ZkServerTimer>) {
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

    /// `initLimit` ticks passed since taking a role: without a synced quorum, elect again.
    pub(super) fn on_sync_deadline(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        if !self.is_serving() {
            self.look_for_leader(ctx);
        }
    }

    /// The leader has not synced this follower yet: ask again.
    pub(super) fn retry_follower_info(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        if let Some(f) = self.follower.as_ref().filter(|f| !f.synced) {
            self.send_follower_info(f.leader, ctx);
        }
    }

    pub(super) fn on_follower_info(
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

    pub(super) fn on_ack_new_leader(
        &mut self,
        from: u32,
        epoch: u32,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
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

    pub(super) fn on_new_leader(
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

    /// Pings the synced followers, and steps down unless a quorum was heard from within
    /// `syncLimit`. Whether this server still leads an established epoch.
    pub(super) fn ping_followers(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) -> bool {
        let sync_limit_us = self.sync_limit_us();
        let quorum = self.quorum();
        let Some(lead) = self.leader.as_mut() else {
            return false;
        };
        if !lead.established {
            return false;
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
            return false;
        }
        true
    }

    /// A follower that has not heard from its leader within `syncLimit` looks for another.
    pub(super) fn check_leader_alive(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let sync_limit_us = self.sync_limit_us();
        let lost = self
            .follower
            .as_ref()
            .is_some_and(|f| ctx.now.since(f.last_heard) > sync_limit_us);
        if lost {
            self.look_for_leader(ctx);
        }
    }

    /// The leader pings: answer with the client sessions seen since the last ping, which the
    /// leader's session tracker counts as touched (ZooKeeper's `Learner.ping`).
    pub(super) fn on_leader_ping(&mut self, peer: u32, ctx: &mut Ctx<'_, ZkServerTimer>) {
        if let Some(f) = self.follower.as_mut().filter(|f| f.leader == peer) {
            f.last_heard = ctx.now;
            let touched = std::mem::take(&mut self.touched_since_ping)
                .into_iter()
                .collect();
            ctx.send_zk(NodeId::ZooKeeper(peer), ZkMessage::FollowerPing { touched });
        }
    }

    pub(super) fn on_follower_ping(
        &mut self,
        peer: u32,
        touched: Vec<SessionId>,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        if let Some(lead) = self.leader.as_mut() {
            lead.last_heard.insert(peer, ctx.now);
            for s in touched {
                lead.session_touched.insert(s, ctx.now);
            }
        }
    }
}
