//! Leader elections an operator or a timer asks for: ElectLeaders (KIP-460, preferred or
//! unclean) and the automatic preferred-leader rebalance
//! (`KafkaController.checkAndTriggerAutoLeaderRebalance`), which moves leadership back to each
//! partition's first replica once a broker's share of partitions led by others passes
//! `leader.imbalance.per.broker.percentage`.

use super::{Controller, ControllerTimer, Ops, StateChange};
use crate::ids::{BrokerId, TopicPartition};
use crate::node::Ctx;
use crate::protocol::{ErrorCode, PartitionState};
use crate::vec_map::VecMap;

impl Controller {
    /// ElectLeaders (KIP-460). Preferred: the first assigned replica, if it is alive and in
    /// sync. Unclean: for a partition without a live leader, the first live in-sync replica,
    /// else the first live replica whatever the topic's setting (the operator asked for it).
    /// Asked for every partition, it answers only for those it elected or could not.
    pub(super) fn elect_leaders(
        &mut self,
        unclean: bool,
        partitions: Option<Vec<TopicPartition>>,
        ops: &mut Ops,
    ) -> Vec<(TopicPartition, Option<ErrorCode>)> {
        let every = partitions.is_none();
        let wanted = partitions.unwrap_or_else(|| self.states.keys().cloned().collect());
        let mut results = Vec::new();
        for tp in wanted {
            let result = match self.states.get(&tp).cloned() {
                None => Some(ErrorCode::UnknownTopicOrPartition),
                Some(state) => {
                    let live = |b: &BrokerId| self.eligible(*b);
                    let leader_live = state.leader.is_some_and(|l| live(&l));
                    let pick = if unclean {
                        if leader_live {
                            Err(ErrorCode::ElectionNotNeeded)
                        } else {
                            let in_sync = state
                                .replicas
                                .iter()
                                .copied()
                                .find(|b| live(b) && state.isr.contains(b));
                            match in_sync.or_else(|| state.replicas.iter().copied().find(live)) {
                                Some(l) => Ok((l, in_sync.is_none())),
                                None => Err(ErrorCode::EligibleLeadersNotAvailable),
                            }
                        }
                    } else {
                        match state.replicas.first().copied() {
                            Some(p) if state.leader == Some(p) => Err(ErrorCode::ElectionNotNeeded),
                            Some(p) if live(&p) && state.isr.contains(&p) => Ok((p, false)),
                            _ => Err(ErrorCode::PreferredLeaderNotAvailable),
                        }
                    };
                    match pick {
                        // A write already under way for this partition: it cannot take another.
                        Ok(_) if self.writing.contains(&tp) => {
                            Some(ErrorCode::PreferredLeaderNotAvailable)
                        }
                        Ok((leader, dirty)) => {
                            let isr = if dirty {
                                vec![leader]
                            } else {
                                state.isr.iter().copied().filter(|b| live(b)).collect()
                            };
                            let new = PartitionState {
                                leader: Some(leader),
                                leader_epoch: state.leader_epoch + 1,
                                isr,
                                ..state
                            };
                            self.write_state(new, StateChange::Election { unclean: dirty }, ops);
                            None
                        }
                        Err(e) => Some(e),
                    }
                }
            };
            if !(every && result == Some(ErrorCode::ElectionNotNeeded)) {
                results.push((tp, result));
            }
        }
        results
    }

    /// `leader.imbalance.check.interval.seconds` passed: rebalance where a broker's share of
    /// partitions led by others is too high, and check again later.
    pub(super) fn check_preferred_leaders(
        &mut self,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        ctx.timer_in_ms(
            self.config.leader_imbalance_check_interval_seconds * 1_000,
            ControllerTimer::PreferredLeaderCheck { epoch: self.epoch },
        );
        // Per preferred broker: the share of its partitions led by someone else.
        let mut preferred: VecMap<BrokerId, (u32, Vec<TopicPartition>)> = VecMap::new();
        for s in self.states.values() {
            let Some(&first) = s.replicas.first() else {
                continue;
            };
            let entry = preferred.entry(first).or_default();
            entry.0 += 1;
            if s.leader != Some(first) && self.eligible(first) && s.isr.contains(&first) {
                entry.1.push(s.tp.clone());
            }
        }
        for (broker, (total, imbalanced)) in preferred {
            if total == 0
                || imbalanced.len() as u32 * 100 / total
                    <= self.config.leader_imbalance_per_broker_percentage
            {
                continue;
            }
            for tp in imbalanced {
                if self.writing.contains(&tp) {
                    continue;
                }
                if let Some(state) = self.states.get(&tp).cloned() {
                    let new = PartitionState {
                        leader: Some(broker),
                        leader_epoch: state.leader_epoch + 1,
                        ..state
                    };
                    self.write_state(new, StateChange::Election { unclean: false }, ops);
                }
            }
        }
        if self.writes_in_flight == 0 {
            self.flush(ctx);
        }
    }
}
