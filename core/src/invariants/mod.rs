//! Invariants: properties Kafka promises, one per file, checked as the trace is written. A
//! broken invariant becomes an `InvariantViolated` trace event and a `Violation` in the report.
//!
//! Most checks are incremental (they look at the event and the state it touched), so they run
//! after every step in every build; `Sim::check_invariants` runs the full state checks on demand.

pub mod acked_records_survive;
pub mod committed_metadata_survives;
pub mod committed_records_survive;
pub mod elr_outside_isr;
pub mod fenced_broker_leads_nothing;
pub mod high_watermark_bound;
pub mod offsets_dense;
pub mod one_controller_per_epoch;
pub mod one_leader_per_epoch;
pub mod one_quorum_leader_per_epoch;
pub mod one_zk_leader_per_epoch;

use crate::broker::replica::Replica;
use crate::ids::{BrokerId, Offset, TopicPartition};
use crate::kraft::image::MetadataImage;
use crate::log::PartitionLog;
use crate::raft::log::RaftLog;
use crate::time::SimTime;
use crate::trace::Event;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    pub invariant: &'static str,
    pub at: SimTime,
    pub detail: String,
}

/// Read-only access to the cluster's state for the checks.
pub trait World {
    /// A live broker's replica.
    fn replica(&self, broker: BrokerId, tp: &TopicPartition) -> Option<&Replica>;
    /// A broker's log for a partition, live or on the disk of a dead broker.
    fn log(&self, broker: BrokerId, tp: &TopicPartition) -> Option<&PartitionLog>;
    /// Every live broker's replicas.
    fn live_replicas(&self) -> Vec<(BrokerId, &Replica)>;
    /// KRaft: a live controller's copy of `__cluster_metadata`.
    fn metadata_log(&self, _node: u32) -> Option<&RaftLog> {
        None
    }
    /// KRaft: the committed metadata image that is furthest along.
    fn metadata_image(&self) -> Option<&MetadataImage> {
        None
    }
}

/// Whether `log` holds the records `first_id..first_id+count` at `base..base+count` (a batch
/// that may since have been split by nothing: batches are appended whole). Offsets below the
/// log start (retention) count as held.
pub fn log_holds(log: &PartitionLog, base: Offset, count: u32, first_id: u64) -> bool {
    if base + count as u64 <= log.log_start_offset() {
        return true;
    }
    if log.config.cleanup_policy == crate::config::CleanupPolicy::Compact {
        return true;
    }
    let mut expected = base.max(log.log_start_offset());
    let end = base + count as u64;
    let mut ok = true;
    log.for_each_batch(expected, u64::MAX, |b| {
        for r in b.iter() {
            let offset = b.header.base_offset + r.offset_delta as u64;
            if offset < expected {
                continue;
            }
            if offset >= end {
                return false;
            }
            if offset != expected || r.record_id != first_id + (offset - base) {
                ok = false;
                return false;
            }
            expected += 1;
        }
        true
    });
    ok && expected >= end
}

#[derive(Debug, Default)]
pub struct Invariants {
    pub one_leader_per_epoch: one_leader_per_epoch::OneLeaderPerEpoch,
    pub offsets_dense: offsets_dense::OffsetsDense,
    pub committed: committed_records_survive::CommittedRecordsSurvive,
    pub acked: acked_records_survive::AckedRecordsSurvive,
    pub controllers: one_controller_per_epoch::OneControllerPerEpoch,
    pub zk_leaders: one_zk_leader_per_epoch::OneZkLeaderPerEpoch,
    pub quorum_leaders: one_quorum_leader_per_epoch::OneQuorumLeaderPerEpoch,
    pub committed_metadata: committed_metadata_survives::CommittedMetadataSurvives,
}

impl Invariants {
    /// Observes one new trace event; returns the violations it reveals.
    pub fn observe(&mut self, at: SimTime, event: &Event, world: &dyn World) -> Vec<Violation> {
        let mut found = Vec::new();
        let mut push = |invariant, detail: Option<String>| {
            if let Some(detail) = detail {
                found.push(Violation {
                    invariant,
                    at,
                    detail,
                });
            }
        };
        // The per-batch events (nearly all of them) go straight to the invariants that read
        // them (a test checks that the others ignore them); every other event to all.
        match event {
            Event::RecordsAppended { .. } => {
                push(offsets_dense::NAME, self.offsets_dense.observe(event));
            }
            Event::HighWatermarkAdvanced { .. } => {
                push(
                    high_watermark_bound::NAME,
                    high_watermark_bound::observe(event, world),
                );
                push(
                    committed_records_survive::NAME,
                    self.committed.observe(event, world),
                );
            }
            Event::ProducerAcked { .. } => {
                push(
                    acked_records_survive::NAME,
                    self.acked.observe(event, world),
                );
            }
            Event::ConsumerProcessed { .. } => {}
            _ => {
                for (invariant, detail) in self.observe_all(event, world) {
                    push(invariant, detail);
                }
            }
        }
        found
    }

    /// Every invariant's finding in `event`, in a fixed order.
    fn observe_all(
        &mut self,
        event: &Event,
        world: &dyn World,
    ) -> [(&'static str, Option<String>); 11] {
        [
            (
                one_leader_per_epoch::NAME,
                self.one_leader_per_epoch.observe(event),
            ),
            (offsets_dense::NAME, self.offsets_dense.observe(event)),
            (
                high_watermark_bound::NAME,
                high_watermark_bound::observe(event, world),
            ),
            (
                committed_records_survive::NAME,
                self.committed.observe(event, world),
            ),
            (
                acked_records_survive::NAME,
                self.acked.observe(event, world),
            ),
            (
                one_controller_per_epoch::NAME,
                self.controllers.observe(event),
            ),
            (
                one_zk_leader_per_epoch::NAME,
                self.zk_leaders.observe(event),
            ),
            (
                one_quorum_leader_per_epoch::NAME,
                self.quorum_leaders.observe(event),
            ),
            (
                committed_metadata_survives::NAME,
                self.committed_metadata.observe(event, world),
            ),
            (
                fenced_broker_leads_nothing::NAME,
                fenced_broker_leads_nothing::observe(event, world),
            ),
            (
                elr_outside_isr::NAME,
                elr_outside_isr::observe(event, world),
            ),
        ]
    }

    /// Full state checks (on demand).
    pub fn check_state(&self, at: SimTime, world: &dyn World) -> Vec<Violation> {
        let mut out = Vec::new();
        if let Some(detail) = one_leader_per_epoch::check_live_leaders(world) {
            out.push(Violation {
                invariant: one_leader_per_epoch::NAME,
                at,
                detail,
            });
        }
        for (broker, replica) in world.live_replicas() {
            if let Some(detail) = high_watermark_bound::check_replica(broker, replica) {
                out.push(Violation {
                    invariant: high_watermark_bound::NAME,
                    at,
                    detail,
                });
            }
        }
        out
    }
}

/// KRaft: runs `check` on every partition of the committed metadata image when the quorum's
/// high watermark moves or a leader is elected; the first complaint is the violation.
pub fn on_each_committed_partition(
    event: &Event,
    world: &dyn World,
    mut check: impl FnMut(
        &MetadataImage,
        &crate::kraft::image::TopicImage,
        u32,
        &crate::kraft::image::PartitionRegistration,
    ) -> Option<String>,
) -> Option<String> {
    if !matches!(
        event,
        Event::QuorumHighWatermark { .. } | Event::LeaderElected { .. }
    ) {
        return None;
    }
    let image = world.metadata_image()?;
    image.topics.values().find_map(|topic| {
        topic
            .partitions
            .iter()
            .find_map(|(partition, p)| check(image, topic, *partition, p))
    })
}

#[cfg(test)]
pub(crate) mod test_world {
    use super::*;
    use crate::vec_map::VecMap;

    /// A hand-built world for breaking invariants on purpose.
    #[derive(Default)]
    pub struct TestWorld {
        pub replicas: VecMap<(BrokerId, TopicPartition), Replica>,
        pub metadata_image: Option<MetadataImage>,
    }

    /// A KRaft world whose committed metadata image is `records` applied from offset 0.
    pub fn image_world(records: Vec<crate::raft::log::MetadataRecord>) -> TestWorld {
        let mut image = MetadataImage::default();
        for (offset, record) in records.into_iter().enumerate() {
            let entry = crate::raft::log::LogEntry {
                offset: offset as u64,
                epoch: 1,
                record,
            };
            image.apply(&entry, &mut crate::kraft::image::Delta::default());
        }
        TestWorld {
            metadata_image: Some(image),
            ..TestWorld::default()
        }
    }

    impl World for TestWorld {
        fn replica(&self, broker: BrokerId, tp: &TopicPartition) -> Option<&Replica> {
            self.replicas.get(&(broker, tp.clone()))
        }
        fn log(&self, broker: BrokerId, tp: &TopicPartition) -> Option<&PartitionLog> {
            self.replica(broker, tp).map(|r| &r.log)
        }
        fn live_replicas(&self) -> Vec<(BrokerId, &Replica)> {
            self.replicas.iter().map(|((b, _), r)| (*b, r)).collect()
        }
        fn metadata_image(&self) -> Option<&MetadataImage> {
            self.metadata_image.as_ref()
        }
    }

    pub fn tp() -> TopicPartition {
        TopicPartition::new(&"t".into(), 0)
    }

    /// A leader replica with no followers yet, holding `log_with(batches)`.
    pub fn leader_with(batches: u64) -> Replica {
        let mut leader = Replica::new(tp(), log_with(batches));
        leader.role = crate::broker::replica::Role::Leader {
            followers: Default::default(),
        };
        leader
    }

    /// A log with `batches` batches of 2 records each, ids counting from 100.
    pub fn log_with(batches: u64) -> PartitionLog {
        use crate::config::{BrokerConfig, LogConfig, TopicConfig};
        use crate::log::record::{BatchBuilder, NO_PRODUCER_ID};
        let mut log = PartitionLog::new(
            LogConfig::resolve(&TopicConfig::default(), &BrokerConfig::default()),
            SimTime::ZERO,
        );
        for i in 0..batches {
            let mut b = BatchBuilder::default();
            b.push(0, 100 + i * 2, None, b"x");
            b.push(0, 101 + i * 2, None, b"y");
            log.append_as_leader(&mut b.finish(NO_PRODUCER_ID, -1, -1), 0, SimTime::ZERO);
        }
        log
    }
}

#[cfg(test)]
mod tests {
    use super::test_world::{leader_with, tp, TestWorld};
    use super::*;
    use crate::config::Acks;

    /// `observe` sends each per-batch event only to some invariants: every invariant it
    /// skips must find nothing in that event and keep its state as it was, even on a world
    /// where the partition has a leader with records.
    #[test]
    fn per_batch_events_skip_only_invariants_that_ignore_them() {
        let mut world = TestWorld::default();
        world.replicas.insert((BrokerId(1), tp()), leader_with(2));
        let topic: crate::ids::TopicName = "t".into();
        let routed: [(Event, &[&str]); 4] = [
            (
                Event::RecordsAppended {
                    broker: BrokerId(1),
                    topic: topic.clone(),
                    partition: 0,
                    base_offset: 4,
                    last_offset: 5,
                    records: 2,
                    leader: true,
                },
                &[offsets_dense::NAME],
            ),
            (
                Event::HighWatermarkAdvanced {
                    broker: BrokerId(1),
                    topic: topic.clone(),
                    partition: 0,
                    high_watermark: 4,
                },
                &[high_watermark_bound::NAME, committed_records_survive::NAME],
            ),
            (
                Event::ProducerAcked {
                    producer: 0,
                    topic: topic.clone(),
                    partition: 0,
                    base_offset: Some(0),
                    records: 2,
                    first_record_id: 100,
                    acks: Acks::All,
                },
                &[acked_records_survive::NAME],
            ),
            (
                Event::ConsumerProcessed {
                    consumer: 0,
                    group: None,
                    topic,
                    partition: 0,
                    first_offset: 0,
                    last_offset: 1,
                    records: 2,
                },
                &[],
            ),
        ];
        for (event, readers) in routed {
            let mut all = Invariants::default();
            let states = |i: &Invariants| {
                [
                    (
                        one_leader_per_epoch::NAME,
                        format!("{:?}", i.one_leader_per_epoch),
                    ),
                    (offsets_dense::NAME, format!("{:?}", i.offsets_dense)),
                    (
                        committed_records_survive::NAME,
                        format!("{:?}", i.committed),
                    ),
                    (acked_records_survive::NAME, format!("{:?}", i.acked)),
                    (
                        one_controller_per_epoch::NAME,
                        format!("{:?}", i.controllers),
                    ),
                    (one_zk_leader_per_epoch::NAME, format!("{:?}", i.zk_leaders)),
                ]
            };
            let before = states(&all);
            let found = all.observe_all(&event, &world);
            for (name, detail) in found {
                assert!(
                    detail.is_none() || readers.contains(&name),
                    "{name} found something in {event:?}"
                );
            }
            for ((name, was), (_, is)) in before.iter().zip(states(&all)) {
                assert!(
                    *was == is || readers.contains(name),
                    "{name} reads {event:?}: route it there"
                );
            }
        }
    }
}
