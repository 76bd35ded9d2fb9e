//! Client sessions (ZooKeeper's SessionTracker): the leader keeps when it last heard of each
//! session, from its own clients and from the touches followers report in their pings, and
//! expires a session silent for its timeout by proposing its close, which deletes its
//! ephemeral znodes on every server. A new leader gives every session a fresh timeout.

use super::{ZkServer, ZkServerTimer};
use crate::node::Ctx;
use crate::time::SimTime;
use crate::zookeeper::messages::{SessionId, Txn};

impl ZkServer {
    /// A client was heard from: the leader notes it, a follower reports it at the next ping.
    pub(super) fn touch(&mut self, session: SessionId, now: SimTime) {
        match self.leader.as_mut() {
            Some(lead) => {
                lead.session_touched.insert(session, now);
            }
            None => {
                self.touched_since_ping.insert(session);
            }
        }
    }

    /// The leader closes the sessions it has not heard of within their timeouts.
    pub(super) fn expire_sessions(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let Some(lead) = self.leader.as_ref() else {
            return;
        };
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

    /// The leader's tracker learns of a committed session's start or end.
    pub(super) fn track_session(&mut self, txn: &Txn, now: SimTime) {
        let Some(lead) = self.leader.as_mut() else {
            return;
        };
        match txn {
            Txn::CreateSession { session, .. } => {
                lead.session_touched.insert(*session, now);
            }
            Txn::CloseSession { session } => {
                lead.session_touched.remove(session);
                lead.expiring.remove(session);
            }
            Txn::Write { .. } => {}
        }
    }
}
