//! With acks=all, a record the producer was told is written is never lost, unless an unclean
//! leader election or a lost disk happened to its partition (what Kafka documents). Every
//! election is checked against the records acknowledged so far.
//!
//! The acknowledgement ledger kept here also feeds the report's `acked_lost`. A record the
//! leader holds can only be lost when a new leader lacks it, so each election moves the
//! acknowledged records its leader lacks (any acks setting) out of the ledger into the losses,
//! with the reason. An acknowledgement is checked against the leader's log as it arrives; the
//! report only checks the few it could not place (acks=0, an answer from a deposed leader), so
//! its cost does not grow with the length of the run.

use super::{log_holds, World};
use crate::config::Acks;
use crate::ids::{BrokerId, NodeId, Offset, TopicName, TopicPartition};
use crate::log::PartitionLog;
use crate::partition_map::PartitionMap;
use crate::trace::Event;
use crate::vec_map::{VecMap, VecSet};
use serde::Serialize;

/// An acknowledged record that is not in the partition's final log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LostRecord {
    pub topic: TopicName,
    pub partition: u32,
    pub offset: Option<Offset>,
    pub record_id: u64,
    pub producer: u32,
    pub acks: &'static str,
    /// Why it could be lost: an unclean election, a lost disk, or acks below `all`.
    pub why: String,
}

pub const NAME: &str = "acked_records_survive";

/// How many lost records are kept as examples per acks setting.
pub const EXAMPLES_PER_ACKS: usize = 10;

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

/// Acknowledged records found missing, per acks setting, with a few examples.
#[derive(Clone, Debug, Default)]
pub struct Losses {
    pub by_acks: VecMap<&'static str, u64>,
    pub examples: Vec<LostRecord>,
}

impl Losses {
    pub fn total(&self) -> u64 {
        self.by_acks.values().sum()
    }

    /// Adds `b`'s records missing from `log` (ids built once per log, for acks=0).
    pub fn add_missing(
        &mut self,
        tp: &TopicPartition,
        b: &AckedBatch,
        log: &PartitionLog,
        ids: &mut Option<VecSet<u64>>,
        why: &str,
    ) -> u64 {
        let missing = missing_records(log, b, ids);
        if missing.is_empty() {
            return 0;
        }
        *self.by_acks.entry(b.acks.as_str()).or_default() += missing.len() as u64;
        let shown = self
            .examples
            .iter()
            .filter(|e| e.acks == b.acks.as_str())
            .count();
        for (offset, record_id) in missing.iter().take(EXAMPLES_PER_ACKS.saturating_sub(shown)) {
            self.examples.push(LostRecord {
                topic: tp.topic.clone(),
                partition: tp.partition,
                offset: *offset,
                record_id: *record_id,
                producer: b.producer,
                acks: b.acks.as_str(),
                why: why.to_string(),
            });
        }
        missing.len() as u64
    }
}

/// The records of `b` that `log` does not hold (below its log start counts as held).
fn missing_records(
    log: &PartitionLog,
    b: &AckedBatch,
    ids: &mut Option<VecSet<u64>>,
) -> Vec<(Option<Offset>, u64)> {
    match b.base_offset {
        Some(base) if log_holds(log, base, b.count, b.first_id) => Vec::new(),
        Some(base) => {
            let end = base + b.count as u64;
            let mut held = VecMap::new();
            log.for_each_batch(base, end, |batch| {
                for r in batch.iter() {
                    held.insert(
                        batch.header.base_offset + r.offset_delta as u64,
                        r.record_id,
                    );
                }
                true
            });
            (base.max(log.log_start_offset())..end)
                .filter(|o| held.get(o) != Some(&(b.first_id + (o - base))))
                .map(|o| (Some(o), b.first_id + (o - base)))
                .collect()
        }
        None => {
            let ids = ids.get_or_insert_with(|| {
                log.records_below(log.log_end_offset())
                    .into_iter()
                    .map(|(_, id)| id)
                    .collect()
            });
            (0..b.count as u64)
                .map(|i| b.first_id + i)
                .filter(|id| !ids.contains(id))
                .map(|id| (None, id))
                .collect()
        }
    }
}

/// Why an acknowledged record could be lost.
pub fn loss_reason(tainted: Option<&String>, acks: Acks) -> String {
    match (tainted, acks) {
        (Some(reason), _) => reason.clone(),
        (None, Acks::All) => "acks=all record lost: this should not happen".to_string(),
        (None, Acks::Leader) => "acks=1: only the old leader had it when it failed".to_string(),
        (None, Acks::None) => "acks=0: never confirmed by any broker".to_string(),
    }
}

/// A partition's acknowledged batches not (yet) found missing.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// In the leader's log when last checked (at the acknowledgement or the last election).
    pub held: Vec<AckedBatch>,
    /// Not placed in the leader's log yet: acks=0, or answered by a deposed leader.
    pub unchecked: Vec<AckedBatch>,
}

#[derive(Debug, Default)]
pub struct AckedRecordsSurvive {
    pub acked: PartitionMap<Ledger>,
    /// Each partition's leader, as the last election made it.
    leaders: PartitionMap<BrokerId>,
    /// What elections found missing.
    pub lost: Losses,
    /// Partitions where Kafka allows loss, with the reason.
    pub tainted: VecMap<TopicPartition, String>,
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
                let batch = AckedBatch {
                    producer: *producer,
                    base_offset: *base_offset,
                    count: *records,
                    first_id: *first_record_id,
                    acks: *acks,
                };
                let held = batch.base_offset.is_some_and(|base| {
                    self.leaders
                        .get(&tp)
                        .and_then(|leader| world.log(*leader, &tp))
                        .is_some_and(|log| log_holds(log, base, batch.count, batch.first_id))
                });
                let ledger = self.acked.get_or_insert_with(&tp, Ledger::default);
                if held {
                    ledger.held.push(batch);
                } else {
                    ledger.unchecked.push(batch);
                }
                None
            }
            Event::LeaderElected {
                topic,
                partition,
                leader_epoch,
                unclean,
                leader: Some(leader),
                ..
            } => {
                let tp = TopicPartition::new(topic, *partition);
                if *unclean {
                    self.tainted.entry(tp.clone()).or_insert(format!(
                        "unclean leader election (leader epoch {leader_epoch}, broker {leader})"
                    ));
                }
                self.leaders.insert(tp.clone(), *leader);
                let log = world.log(*leader, &tp)?;
                let ledger = self.acked.get_mut(&tp)?;
                let mut batches = std::mem::take(&mut ledger.held);
                batches.append(&mut ledger.unchecked);
                let tainted = self.tainted.get(&tp);
                let (mut ids, mut violation) = (None, None);
                let lost = &mut self.lost;
                batches.retain(|b| {
                    let why = loss_reason(tainted, b.acks);
                    if lost.add_missing(&tp, b, log, &mut ids, &why) == 0 {
                        return true;
                    }
                    if b.acks == Acks::All && tainted.is_none() && violation.is_none() {
                        violation = Some(format!(
                            "{tp}: acks=all record {} at offset {:?} missing on new leader {leader}",
                            b.first_id, b.base_offset
                        ));
                    }
                    false
                });
                ledger.held = batches;
                if violation.is_some() {
                    self.tainted.insert(
                        tp,
                        "an acks=all record was lost (invariant violated)".into(),
                    );
                }
                violation
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
            Event::RecordsExpired {
                topic,
                partition,
                log_start_offset,
                ..
            } => {
                let tp = TopicPartition::new(topic, *partition);
                if let Some(ledger) = self.acked.get_mut(&tp) {
                    let live = |b: &AckedBatch| {
                        b.base_offset
                            .is_none_or(|base| base + b.count as u64 > *log_start_offset)
                    };
                    ledger.held.retain(live);
                    ledger.unchecked.retain(live);
                }
                None
            }
            Event::TopicDeleted { topic } => {
                self.acked.retain(|tp, _| tp.topic != *topic);
                self.leaders.retain(|tp, _| tp.topic != *topic);
                None
            }
            // An election with no leader leaves the partition offline: nothing to check yet.
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
        assert_eq!(excused.lost.by_acks.get("all"), Some(&2));
        assert!(excused.lost.examples[0]
            .why
            .starts_with("unclean leader election"));
    }

    #[test]
    fn acknowledgements_the_leader_holds_are_placed_at_once_and_losses_move_out_at_elections() {
        let mut world = TestWorld::default();
        world
            .replicas
            .insert((BrokerId(2), tp()), Replica::new(tp(), log_with(2)));
        let mut ledger = AckedRecordsSurvive::default();
        let acked = |base: Option<u64>, first, acks| Event::ProducerAcked {
            producer: 0,
            topic: "t".into(),
            partition: 0,
            base_offset: base,
            records: 2,
            first_record_id: first,
            acks,
        };
        let elect = |leader_epoch| Event::LeaderElected {
            topic: "t".into(),
            partition: 0,
            leader: Some(BrokerId(2)),
            leader_epoch,
            isr: vec![],
            unclean: false,
        };
        ledger.observe(&elect(0), &world);
        // Held by the leader: placed, never checked again by the report.
        ledger.observe(&acked(Some(0), 100, Acks::Leader), &world);
        // acks=0 (no offset) and a batch the leader lacks: left for the report to check.
        ledger.observe(&acked(None, 102, Acks::None), &world);
        ledger.observe(&acked(Some(4), 900, Acks::Leader), &world);
        let l = ledger.acked.get(&tp()).unwrap();
        assert_eq!((l.held.len(), l.unchecked.len()), (1, 2));
        // The next election checks everything: the acks=0 batch is in the log after all, the
        // acks=1 batch at offset 4 is lost.
        ledger.observe(&elect(1), &world);
        let l = ledger.acked.get(&tp()).unwrap();
        assert_eq!((l.held.len(), l.unchecked.len()), (2, 0));
        assert_eq!(ledger.lost.total(), 2);
        assert_eq!(ledger.lost.examples[0].record_id, 900);
        assert_eq!(
            ledger.lost.examples[0].why,
            "acks=1: only the old leader had it when it failed"
        );
    }
}
