//! Zab's atomic broadcast (ZooKeeper's Leader, Follower and their request processors): the
//! leader checks a write against its tree plus the proposals still out, gives it the next
//! zxid and proposes it to its synced followers; each logs it and acks; once a quorum has
//! acked, the leader commits proposals in zxid order and every server applies them to its tree,
//! fires the watches they trigger, and the server the client is connected to answers it.

use super::{ZkServer, ZkServerTimer};
use crate::ids::NodeId;
use crate::node::Ctx;
use crate::trace::Event;
use crate::vec_map::VecSet;
use crate::zookeeper::messages::{
    zxid, Origin, PeerState, Txn, WatchKind, ZkError, ZkMessage, Zxid,
};
use crate::zookeeper::tree::WatchTrigger;

/// A proposal waiting for a quorum of acks.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub txn: Txn,
    pub origin: Option<Origin>,
    pub acks: VecSet<u32>,
}

impl ZkServer {
    pub(super) fn propose(
        &mut self,
        mut txn: Txn,
        origin: Option<Origin>,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
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

    pub(super) fn on_ack(&mut self, from: u32, zxid: Zxid, ctx: &mut Ctx<'_, ZkServerTimer>) {
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

    pub(super) fn on_proposal(
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

    pub(super) fn on_commit(&mut self, from: u32, zxid: Zxid, ctx: &mut Ctx<'_, ZkServerTimer>) {
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
            self.track_session(&txn, ctx.now);
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

    pub(super) fn fail_write(
        &mut self,
        origin: Origin,
        error: ZkError,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        if origin.server == self.sid {
            self.answer_failed_write(origin, error, ctx);
        } else {
            ctx.send_zk(
                NodeId::ZooKeeper(origin.server),
                ZkMessage::WriteFailed { origin, error },
            );
        }
    }

    pub(super) fn answer_failed_write(
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
}
