//! The delivery ledger: which offsets each reader (a consumer group, or a consumer without
//! one) finished processing, per partition, and what the group committed. From it the Report
//! counts what delivery semantics promise or break: records processed twice (at-least-once
//! after a crash) and records committed but never processed (at-most-once after a crash).

use crate::ids::{Offset, TopicName};
use crate::vec_map::VecMap;
use serde::Serialize;

/// Disjoint half-open offset ranges, merged as they touch.
#[derive(Clone, Debug, Default)]
struct RangeSet(VecMap<Offset, Offset>);

impl RangeSet {
    /// How many offsets of `[start, end)` are already in the set.
    fn overlap(&self, start: Offset, end: Offset) -> u64 {
        self.0
            .range(..end)
            .rev()
            .take_while(|(_, e)| **e > start)
            .map(|(s, e)| (*e).min(end) - (*s).max(start))
            .sum()
    }

    fn insert(&mut self, mut start: Offset, mut end: Offset) {
        // The ranges it touches are the last ones starting at or before `end`, back to the
        // first that ends before `start` (usually one: the batch before this one).
        while let Some((&s, &e)) = self.0.range(..=end).next_back() {
            if e < start {
                break;
            }
            self.0.remove(&s);
            start = start.min(s);
            end = end.max(e);
        }
        self.0.insert(start, end);
    }

    /// How many offsets of `[start, end)` are missing from the set.
    fn missing(&self, start: Offset, end: Offset) -> u64 {
        end.saturating_sub(start) - self.overlap(start, end)
    }
}

#[derive(Clone, Debug, Default)]
struct PartitionLedger {
    processed: RangeSet,
    /// Where this reader started in the partition.
    start: Option<Offset>,
    committed: Option<Offset>,
    records: u64,
    duplicates: u64,
}

/// One reader's totals, for the Report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReaderReport {
    /// `group NAME` or `consumer N` (no group).
    pub reader: String,
    pub processed: u64,
    /// Records processed again at an offset this reader had already processed.
    pub duplicates: u64,
    /// Offsets below the committed offset that were never processed.
    pub lost: u64,
    /// (topic, partition, committed offset).
    pub committed: Vec<(TopicName, u32, Offset)>,
    /// High watermark minus committed offset, summed over the committed partitions.
    pub lag: u64,
}

#[derive(Clone, Debug, Default)]
pub struct DeliveryLedger {
    readers: VecMap<String, VecMap<(TopicName, u32), PartitionLedger>>,
    /// The name of the reader being recorded, written in place: one per processed batch
    /// would add up.
    name: String,
}

pub fn reader_name(group: Option<&str>, consumer: u32) -> String {
    let mut name = String::new();
    write_reader_name(&mut name, group, consumer);
    name
}

/// `reader_name` into a kept buffer (left as it is when it already holds that group's name:
/// consecutive batches are nearly always the same reader's, and formatting is not free).
fn write_reader_name(out: &mut String, group: Option<&str>, consumer: u32) {
    use std::fmt::Write;
    if group.is_some() && out.strip_prefix("group ") == group {
        return;
    }
    out.clear();
    let _ = match group {
        Some(g) => write!(out, "group {g}"),
        None => write!(out, "consumer {consumer}"),
    };
}

impl DeliveryLedger {
    /// The ledger of the reader named by `group` (or `consumer`, without one) for `topic`-`p`.
    fn partition(
        &mut self,
        group: Option<&str>,
        consumer: u32,
        topic: &TopicName,
        p: u32,
    ) -> &mut PartitionLedger {
        write_reader_name(&mut self.name, group, consumer);
        self.readers
            .get_or_insert_with(self.name.as_str(), VecMap::new)
            .entry((topic.clone(), p))
            .or_default()
    }

    /// The reader positioned itself at `offset` (auto.offset.reset).
    pub fn started(
        &mut self,
        group: Option<&str>,
        consumer: u32,
        topic: &TopicName,
        p: u32,
        offset: Offset,
    ) {
        let l = self.partition(group, consumer, topic, p);
        l.start = Some(l.start.map_or(offset, |s| s.min(offset)));
    }

    /// The reader finished processing `records` records in `[first, last]`.
    #[allow(clippy::too_many_arguments)]
    pub fn processed(
        &mut self,
        group: Option<&str>,
        consumer: u32,
        topic: &TopicName,
        p: u32,
        first: Offset,
        last: Offset,
        records: u32,
    ) -> u64 {
        let l = self.partition(group, consumer, topic, p);
        let end = last + 1;
        let span = end - first;
        let again = l.processed.overlap(first, end).min(records as u64);
        // With compaction gaps a range holds fewer records than offsets: scale the overlap.
        let again = if span > records as u64 && span > 0 {
            again * records as u64 / span
        } else {
            again
        };
        l.processed.insert(first, end);
        l.start = Some(l.start.map_or(first, |s| s.min(first)));
        l.records += records as u64;
        l.duplicates += again;
        again
    }

    pub fn committed(&mut self, group: &str, topic: &TopicName, p: u32, offset: Offset) {
        let l = self.partition(Some(group), 0, topic, p);
        l.committed = Some(offset);
    }

    pub fn duplicates(&self) -> u64 {
        self.readers
            .values()
            .flat_map(|r| r.values())
            .map(|l| l.duplicates)
            .sum()
    }

    pub fn reports(&self) -> Vec<ReaderReport> {
        self.readers
            .iter()
            .map(|(reader, partitions)| {
                let mut report = ReaderReport {
                    reader: reader.clone(),
                    ..Default::default()
                };
                for ((topic, p), l) in partitions {
                    report.processed += l.records;
                    report.duplicates += l.duplicates;
                    if let (Some(start), Some(committed)) = (l.start, l.committed) {
                        report.lost += l.processed.missing(start, committed);
                    }
                    if let Some(c) = l.committed {
                        report.committed.push((topic.clone(), *p, c));
                    }
                }
                report
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kept name buffer is rewritten whenever the reader changes, including between
    /// groups whose names share a prefix and between a group and a groupless consumer.
    #[test]
    fn reader_names_follow_the_reader() {
        let mut name = String::new();
        for (group, consumer, expected) in [
            (Some("billing"), 0, "group billing"),
            (Some("billing"), 3, "group billing"),
            (Some("bill"), 0, "group bill"),
            (None, 2, "consumer 2"),
            (Some("billing"), 0, "group billing"),
            (None, 12, "consumer 12"),
            (Some(""), 0, "group "),
        ] {
            write_reader_name(&mut name, group, consumer);
            assert_eq!(name, expected);
            assert_eq!(reader_name(group, consumer), expected);
        }
    }

    #[test]
    fn counts_duplicates_and_committed_but_unprocessed_offsets() {
        let t = TopicName::from("orders");
        let mut ledger = DeliveryLedger::default();
        ledger.started(Some("g"), 0, &t, 0, 100);
        assert_eq!(ledger.processed(Some("g"), 0, &t, 0, 100, 199, 100), 0);
        // At-least-once: a crash before commit, the next owner starts again at 150.
        assert_eq!(ledger.processed(Some("g"), 0, &t, 0, 150, 249, 100), 50);
        // At-most-once: 250..300 were committed but the crash came before processing.
        ledger.committed("g", &t, 0, 300);
        assert_eq!(ledger.processed(Some("g"), 0, &t, 0, 300, 309, 10), 0);
        ledger.committed("g", &t, 0, 310);
        let r = &ledger.reports()[0];
        assert_eq!(r.reader, "group g");
        assert_eq!(r.processed, 210);
        assert_eq!(r.duplicates, 50);
        assert_eq!(r.lost, 50);
        assert_eq!(r.committed, vec![(t, 0, 310)]);
    }

    #[test]
    fn range_set_merges_touching_ranges() {
        let mut s = RangeSet::default();
        s.insert(0, 10);
        s.insert(20, 30);
        s.insert(10, 20);
        assert_eq!(s.0.len(), 1);
        assert_eq!(s.missing(0, 40), 10);
        assert_eq!(s.overlap(5, 25), 20);
    }

    /// Random inserts agree with a set of offsets: same overlaps, and the ranges stay
    /// disjoint, sorted and merged (no two touch).
    #[test]
    fn range_set_agrees_with_a_set_of_offsets() {
        let mut rng = crate::rng::Rng::new(9);
        let mut s = RangeSet::default();
        let mut model = [false; 200];
        for _ in 0..2_000 {
            let start = rng.below(190);
            let end = start + 1 + rng.below(10);
            let (a, b) = (rng.below(200), rng.below(200));
            let (a, b) = (a.min(b), a.max(b));
            let held = model[a as usize..b as usize].iter().filter(|h| **h).count();
            assert_eq!(s.overlap(a, b), held as u64);
            s.insert(start, end);
            model[start as usize..end as usize].fill(true);
            let ranges: Vec<(Offset, Offset)> = s.0.iter().map(|(a, b)| (*a, *b)).collect();
            assert!(ranges.windows(2).all(|w| w[0].1 < w[1].0), "{ranges:?}");
        }
    }
}
