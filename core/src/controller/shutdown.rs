//! Controlled shutdown, the controller's side (`KafkaController.doControlledShutdown`): a
//! broker about to stop cleanly asks for its leaderships to move first. Each partition it leads
//! (with another replica) gets the first live in-sync replica that is not shutting down as
//! leader; it leaves the ISR of the partitions it follows; and it answers with the partitions
//! it still leads once those writes are done.

use super::{Controller, ControllerTimer, Ops, PartitionState, Requester, StateChange};
use crate::ids::{BrokerId, TopicPartition};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::Message;

impl Controller {
    /// A ControlledShutdown request from `broker`.
    pub(super) fn controlled_shutdown(
        &mut self,
        broker: BrokerId,
        requester: Requester,
        ops: &mut Ops,
    ) {
        if self.live_brokers.contains(&broker) {
            self.shutting_down.insert(broker);
        }
        let states: Vec<PartitionState> = self
            .states
            .values()
            .filter(|s| s.replicas.len() > 1 && s.replicas.contains(&broker))
            .filter(|s| !self.writing.contains(&s.tp))
            .cloned()
            .collect();
        for state in states {
            if state.leader == Some(broker) {
                // ControlledShutdownPartitionLeaderElectionStrategy.
                let leader = state
                    .replicas
                    .iter()
                    .copied()
                    .find(|b| self.eligible(*b) && state.isr.contains(b));
                if leader.is_none() {
                    continue;
                }
                let isr = state.isr.iter().copied().filter(|b| *b != broker).collect();
                let new = PartitionState {
                    leader,
                    leader_epoch: state.leader_epoch + 1,
                    isr,
                    ..state
                };
                self.write_state(new, StateChange::Election { unclean: false }, ops);
            } else if state.leader.is_some() && state.isr.contains(&broker) && state.isr.len() > 1 {
                // The follower goes offline: out of the ISR, so the HW no longer waits for it.
                let new = PartitionState {
                    leader_epoch: state.leader_epoch + 1,
                    isr: state.isr.iter().copied().filter(|b| *b != broker).collect(),
                    ..state
                };
                self.write_state(new, StateChange::RemoveFromIsr, ops);
            }
        }
        self.pending_shutdowns.push((broker, requester));
    }

    /// Whether `broker` may lead or join an ISR: alive and not shutting down.
    pub(super) fn eligible(&self, broker: BrokerId) -> bool {
        self.live_brokers.contains(&broker) && !self.shutting_down.contains(&broker)
    }

    /// Answers the shutdowns whose leadership moves are written: with the partitions the broker
    /// still leads (none moved for want of another in-sync replica, or a write failed).
    pub(super) fn answer_shutdowns(&mut self, ctx: &mut Ctx<'_, ControllerTimer>) {
        let pending = std::mem::take(&mut self.pending_shutdowns);
        for (broker, (client, correlation)) in pending {
            let busy = self
                .states
                .values()
                .any(|s| s.replicas.contains(&broker) && self.writing.contains(&s.tp));
            if busy {
                self.pending_shutdowns.push((broker, (client, correlation)));
                continue;
            }
            let remaining: Vec<TopicPartition> = self
                .states
                .values()
                .filter(|s| s.leader == Some(broker) && s.replicas.len() > 1)
                .map(|s| s.tp.clone())
                .collect();
            ctx.send(
                client,
                Message::ControlledShutdownResponse(msg::ControlledShutdownResponse {
                    correlation,
                    error: None,
                    remaining,
                }),
            );
        }
    }
}
