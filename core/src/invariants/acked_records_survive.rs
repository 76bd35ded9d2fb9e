//! With acks=all, a record the producer was told is written is never lost, unless an unclean
//! leader election or a lost disk happened to its partition (what Kafka documents). Every clean
//! election is checked against the records acknowledged so far.
//!
//! The acknowledgement ledger kept here also feeds the report's `acked_lost`.

use super::{log_holds, World};
use crate::config::Acks;
use crate::ids::{NodeId, Offset, TopicPartition};
use crate::trace::Event;
use std::collections::BTreeMap;

pub const NAME: &str = "acked_records_survive";

/// A batch a producer got an acknowledgement for.
#[derive(Clone, Debug, PartialEq)]
pub struct AckedBatch {
    pub producer: u32,
    /// None for acks=0 (the producer never learns the offset).
    pub base_offset: Option<Offset>,
    pub count: u32,
    pub first_id: u64,
    pub acks: Acks,
}

#[derive(Debug, Default)]
pub struct AckedRecordsSurvive {
    pub acked: BTreeMap<TopicPartition, Vec<AckedBatch>>,
    /// Partitions where Kafka allows loss, with the reason.
    pub tainted: BTreeMap<TopicPartition, String>,
}

impl AckedRecordsSurvive {
    pub fn observe(&mut self, event: &Event, world: &dyn World) -> Option<String> {
        match event {
            Event::ProducerAcked {
                producer,
                topic,
                partition,
                base_offset,
                records,
                first_record_id,
                acks,
            } => {
                let tp = TopicPartition::new(topic, *partition);
                self.acked.entry(tp).or_default().push(AckedBatch {
                    producer: *producer,
                    base_offset: *base_offset,
                    count: *records,
                    first_id: *first_record_id,
                    acks: *acks,
                });
                None
            }
            Event::LeaderElected {
                topic,
                partition,
                leader_epoch,
                unclean: true,
                leader,
                ..
            } => {
                let tp = TopicPartition::new(topic, *partition);
                let leader = leader.map_or("no leader".to_string(), |b| format!("broker {b}"));
                self.tainted.entry(tp).or_insert(format!(
                    "unclean leader election (leader epoch {leader_epoch}, {leader})"
                ));
                None
            }
            Event::NodeStarted {
                node: NodeId::Broker(b),
                disk_lost: true,
            } => {
                for tp in self.acked.keys() {
                    self.tainted
                        .entry(tp.clone())
                        .or_insert(format!("a replica lost its disk (broker {b})"));
                }
                None
            }
            Event::LeaderElected {
                topic,
                partition,
                leader: Some(leader),
                unclean: false,
                ..
            } => {
                let tp = TopicPartition::new(topic, *partition);
                if self.tainted.contains_key(&tp) {
                    return None;
                }
                let log = world.log(*leader, &tp)?;
                let lost = self.acked.get(&tp)?.iter().find(|b| {
                    b.acks == Acks::All
                        && b.base_offset
                            .is_some_and(|base| !log_holds(log, base, b.count, b.first_id))
                })?;
                let detail = format!(
                    "{tp}: acks=all record {} at offset {:?} missing on new leader {leader}",
                    lost.first_id, lost.base_offset
                );
                self.tainted.insert(
                    tp,
                    "an acks=all record was lost (invariant violated)".into(),
                );
                Some(detail)
            }
            Event::RecordsExpired {
                topic,
                partition,
                log_start_offset,
                ..
            } => {
                if let Some(batches) = self.acked.get_mut(&TopicPartition::new(topic, *partition)) {
                    batches.retain(|b| {
                        b.base_offset
                            .is_none_or(|base| base + b.count as u64 > *log_start_offset)
                    });
                }
                None
            }
            Event::TopicDeleted { topic } => {
                self.acked.retain(|tp, _| tp.topic != *topic);
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_world::{log_with, tp, TestWorld};
    use super::*;
    use crate::broker::replica::Replica;
    use crate::ids::BrokerId;

    #[test]
    fn a_lost_acks_all_record_is_caught_and_unclean_elections_excuse_it() {
        let mut world = TestWorld::default();
        world
            .replicas
            .insert((BrokerId(2), tp()), Replica::new(tp(), log_with(1)));
        let mut check = AckedRecordsSurvive::default();
        let acked = |base, first| Event::ProducerAcked {
            producer: 0,
            topic: "t".into(),
            partition: 0,
            base_offset: Some(base),
            records: 2,
            first_record_id: first,
            acks: Acks::All,
        };
        check.observe(&acked(0, 100), &world);
        let elect = |unclean| Event::LeaderElected {
            topic: "t".into(),
            partition: 0,
            leader: Some(BrokerId(2)),
            leader_epoch: 1,
            isr: vec![],
            unclean,
        };
        assert_eq!(check.observe(&elect(false), &world), None);
        // Break it: acknowledge a batch the new leader never got.
        check.observe(&acked(2, 102), &world);
        assert!(check.observe(&elect(false), &world).is_some());

        let mut excused = AckedRecordsSurvive::default();
        excused.observe(&acked(2, 102), &world);
        excused.observe(&elect(true), &world);
        assert_eq!(excused.observe(&elect(false), &world), None);
    }
}
