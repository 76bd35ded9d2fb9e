//! A committed record (below a leader's HW) never disappears while an in-sync replica survives:
//! every clean leader election picks a replica that holds everything committed so far.
//! Unclean elections and lost disks are the documented ways to lose it: after one, the check
//! starts again from what the new leader has.

use super::{log_holds, World};
use crate::ids::{NodeId, Offset, TopicPartition};
use crate::partition_map::PartitionMap;
use crate::trace::Event;

pub const NAME: &str = "committed_records_survive";

#[derive(Debug, Default)]
struct Committed {
    /// (base offset, record count, first record id) of committed batches.
    batches: Vec<(Offset, u32, u64)>,
    /// The HW recorded up to; None after an unclean election, until the next HW.
    hw: Option<Offset>,
}

#[derive(Debug, Default)]
pub struct CommittedRecordsSurvive {
    partitions: PartitionMap<Committed>,
}

impl CommittedRecordsSurvive {
    pub fn observe(&mut self, event: &Event, world: &dyn World) -> Option<String> {
        match event {
            Event::HighWatermarkAdvanced {
                broker,
                topic,
                partition,
                high_watermark,
            } => {
                let tp = TopicPartition::new(topic, *partition);
                let replica = world.replica(*broker, &tp).filter(|r| r.is_leader())?;
                let entry = self.partitions.get_or_insert_with(&tp, Committed::default);
                let Some(from) = entry.hw else {
                    entry.hw = Some(*high_watermark);
                    return None;
                };
                replica.log.for_each_batch(from, *high_watermark, |b| {
                    if b.header.base_offset >= from {
                        if let Some(first) = b.iter().next() {
                            entry.batches.push((
                                b.header.base_offset,
                                b.header.record_count,
                                first.record_id,
                            ));
                        }
                    }
                    true
                });
                entry.hw = Some(from.max(*high_watermark));
                None
            }
            Event::LeaderElected {
                topic,
                partition,
                leader: Some(leader),
                unclean: false,
                leader_epoch,
                ..
            } => {
                let tp = TopicPartition::new(topic, *partition);
                let entry = self.partitions.get(&tp)?;
                let missing = match world.log(*leader, &tp) {
                    Some(log) => entry
                        .batches
                        .iter()
                        .find(|(base, count, first)| !log_holds(log, *base, *count, *first))
                        .map(|b| b.0),
                    None => entry.batches.first().map(|b| b.0),
                };
                missing.map(|offset| format!("{tp}: new leader {leader} (epoch {leader_epoch}) lacks committed records from offset {offset}"))
            }
            Event::LeaderElected {
                topic,
                partition,
                unclean: true,
                ..
            } => {
                self.partitions
                    .insert(TopicPartition::new(topic, *partition), Committed::default());
                None
            }
            Event::RecordsExpired {
                topic,
                partition,
                log_start_offset,
                ..
            } => {
                if let Some(entry) = self
                    .partitions
                    .get_mut(&TopicPartition::new(topic, *partition))
                {
                    entry
                        .batches
                        .retain(|(base, count, _)| base + *count as u64 > *log_start_offset);
                }
                None
            }
            Event::NodeStarted {
                node: NodeId::Broker(_),
                disk_lost: true,
            } => {
                self.partitions = PartitionMap::default();
                None
            }
            Event::TopicDeleted { topic } => {
                self.partitions.retain(|tp, _| tp.topic != *topic);
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_world::{leader_with, log_with, tp, TestWorld};
    use super::*;
    use crate::broker::replica::{Replica, Role};
    use crate::ids::BrokerId;

    #[test]
    fn electing_a_replica_that_lost_committed_records_is_caught() {
        let mut world = TestWorld::default();
        let mut leader = leader_with(3);
        leader.log.set_high_watermark(6);
        world.replicas.insert((BrokerId(1), tp()), leader);
        let mut follower = Replica::new(tp(), log_with(3));
        follower.role = Role::Follower {
            leader: BrokerId(1),
        };
        world.replicas.insert((BrokerId(2), tp()), follower);

        let mut check = CommittedRecordsSurvive::default();
        let hw = |h| Event::HighWatermarkAdvanced {
            broker: BrokerId(1),
            topic: "t".into(),
            partition: 0,
            high_watermark: h,
        };
        check.observe(&hw(0), &world);
        check.observe(&hw(6), &world);
        let elect = Event::LeaderElected {
            topic: "t".into(),
            partition: 0,
            leader: Some(BrokerId(2)),
            leader_epoch: 1,
            isr: vec![BrokerId(2)],
            unclean: false,
        };
        assert_eq!(
            check.observe(&elect, &world),
            None,
            "the follower has everything"
        );

        // Break it: the follower loses its last committed batch.
        world
            .replicas
            .get_mut(&(BrokerId(2), tp()))
            .unwrap()
            .log
            .truncate_to(4);
        assert!(check.observe(&elect, &world).is_some());
    }
}
