//! A log segment: its batches in offset order, each a header and its encoded records in one
//! contiguous, shared buffer. Appending keeps the buffer the batch arrived in and reading hands
//! the same buffer on (as Kafka writes a produce request's bytes to the log and serves fetches
//! with zero-copy `sendfile`): no payload is copied after the producer encodes it. Retention
//! deletes whole segments, as Kafka does.

use super::record::{RecordBatch, BATCH_HEADER_BYTES};
use crate::ids::{LeaderEpoch, Offset};
use crate::time::SimTime;
use std::sync::Arc;

/// The header of one batch stored in a segment, and its records.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchHeader {
    pub base_offset: Offset,
    pub last_offset_delta: u32,
    pub partition_leader_epoch: LeaderEpoch,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub base_timestamp_us: u64,
    pub max_timestamp_us: u64,
    pub record_count: u32,
    pub is_transactional: bool,
    pub is_control: bool,
    records: Arc<Vec<u8>>,
}

impl BatchHeader {
    pub fn last_offset(&self) -> Offset {
        self.base_offset + self.last_offset_delta as u64
    }
}

/// A borrowed batch: its header and its encoded records.
#[derive(Clone, Copy, Debug)]
pub struct BatchRef<'a> {
    pub header: &'a BatchHeader,
    pub records: &'a [u8],
}

impl<'a> BatchRef<'a> {
    fn of(header: &'a BatchHeader) -> BatchRef<'a> {
        BatchRef {
            header,
            records: &header.records,
        }
    }
    pub fn size_bytes(&self) -> usize {
        BATCH_HEADER_BYTES + self.records.len()
    }
    /// The batch as sent on the wire: its records are shared, not copied.
    pub fn to_batch(&self) -> RecordBatch {
        let h = self.header;
        RecordBatch {
            base_offset: h.base_offset,
            last_offset_delta: h.last_offset_delta,
            partition_leader_epoch: h.partition_leader_epoch,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: h.base_sequence,
            base_timestamp_us: h.base_timestamp_us,
            max_timestamp_us: h.max_timestamp_us,
            record_count: h.record_count,
            is_transactional: h.is_transactional,
            is_control: h.is_control,
            records: h.records.clone(),
        }
    }
    /// For a control batch: whether it commits (true) or aborts (false).
    pub fn marker_commits(&self) -> Option<bool> {
        super::record::control_commits(self.header.is_control, self.records)
    }
    pub fn iter(&self) -> super::record::RecordIter<'_> {
        super::record::RecordIter::new(self.records, self.header.base_timestamp_us)
    }
}

#[derive(Clone, Debug)]
pub struct Segment {
    pub base_offset: Offset,
    pub created_at: SimTime,
    batches: Vec<BatchHeader>,
    /// The records' bytes in all batches.
    records_bytes: usize,
}

impl Segment {
    pub fn new(base_offset: Offset, created_at: SimTime) -> Segment {
        Segment {
            base_offset,
            created_at,
            batches: Vec::new(),
            records_bytes: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }
    pub fn size_bytes(&self) -> u64 {
        (self.records_bytes + self.batches.len() * BATCH_HEADER_BYTES) as u64
    }
    pub fn max_timestamp_us(&self) -> u64 {
        self.batches
            .iter()
            .map(|b| b.max_timestamp_us)
            .max()
            .unwrap_or(0)
    }
    pub fn batches(&self) -> impl DoubleEndedIterator<Item = BatchRef<'_>> + '_ {
        self.batches.iter().map(BatchRef::of)
    }
    pub fn batch_count(&self) -> usize {
        self.batches.len()
    }
    pub fn last_batch(&self) -> Option<&BatchHeader> {
        self.batches.last()
    }

    /// Appends a batch whose offsets are already assigned (keeping its records' buffer).
    pub fn append(&mut self, batch: &RecordBatch) {
        self.records_bytes += batch.records.len();
        self.batches.push(BatchHeader {
            base_offset: batch.base_offset,
            last_offset_delta: batch.last_offset_delta,
            partition_leader_epoch: batch.partition_leader_epoch,
            producer_id: batch.producer_id,
            producer_epoch: batch.producer_epoch,
            base_sequence: batch.base_sequence,
            base_timestamp_us: batch.base_timestamp_us,
            max_timestamp_us: batch.max_timestamp_us,
            record_count: batch.record_count,
            is_transactional: batch.is_transactional,
            is_control: batch.is_control,
            records: batch.records.clone(),
        });
    }

    /// Index of the first batch whose last offset is at or past `offset`. Fetches read near
    /// the end of the log, so the search gallops back from the last batch (1, 2, 4, ...
    /// batches) before bisecting: it touches the few batches at the tail, not the middle of a
    /// segment of hundreds of thousands of them.
    pub fn first_batch_at_or_after(&self, offset: Offset) -> usize {
        let before = |b: &BatchHeader| b.last_offset() < offset;
        // Every batch from `end` on is at or past `offset`.
        let mut end = self.batches.len();
        let mut step = 1;
        while end > 0 {
            let probe = end.saturating_sub(step);
            if before(&self.batches[probe]) {
                return probe + 1 + self.batches[probe + 1..end].partition_point(before);
            }
            end = probe;
            step *= 2;
        }
        0
    }

    pub fn batches_from(&self, index: usize) -> impl Iterator<Item = BatchRef<'_>> + '_ {
        self.batches[index..].iter().map(BatchRef::of)
    }

    /// Drops every batch at index `index` and after.
    pub fn truncate_batches(&mut self, index: usize) {
        for dropped in self.batches.drain(index.min(self.batches.len())..) {
            self.records_bytes -= dropped.records.len();
        }
    }

    /// Rebuilds the segment keeping only the records `keep` accepts (log compaction). Batches
    /// keep their offsets; a batch left with no records is dropped.
    pub fn retain_records(&mut self, mut keep: impl FnMut(Offset, Option<&[u8]>) -> bool) -> u64 {
        let mut rebuilt = Segment::new(self.base_offset, self.created_at);
        let mut removed = 0u64;
        for batch in self.batches() {
            let mut builder = super::record::BatchBuilder::with_base_timestamp(
                batch.records.len(),
                batch.header.base_timestamp_us,
            );
            for r in batch.iter() {
                // Transaction markers stay: readers need them to tell committed from aborted.
                if batch.header.is_control
                    || keep(batch.header.base_offset + r.offset_delta as u64, r.key)
                {
                    builder.push_with_delta(
                        r.offset_delta,
                        r.timestamp_us,
                        r.record_id,
                        r.key,
                        r.value,
                    );
                } else {
                    removed += 1;
                }
            }
            if builder.is_empty() {
                continue;
            }
            let h = batch.header;
            let mut kept = builder.finish(h.producer_id, h.producer_epoch, h.base_sequence);
            kept.base_offset = h.base_offset;
            // The batch keeps its original last offset even if that record is gone (as Kafka).
            kept.last_offset_delta = h.last_offset_delta;
            kept.partition_leader_epoch = h.partition_leader_epoch;
            kept.is_transactional = h.is_transactional;
            kept.is_control = h.is_control;
            rebuilt.append(&kept);
        }
        *self = rebuilt;
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::record::BatchBuilder;

    /// A segment of `sizes.len()` batches holding `sizes[i]` records each, from offset 0.
    fn segment(sizes: &[u32]) -> Segment {
        let mut segment = Segment::new(0, SimTime::ZERO);
        let mut next = 0;
        for &n in sizes {
            let mut builder = BatchBuilder::with_capacity(64);
            for i in 0..n {
                builder.push(0, u64::from(i), None, b"v");
            }
            let mut batch = builder.finish(-1, -1, -1);
            batch.base_offset = next;
            next += u64::from(n);
            segment.append(&batch);
        }
        segment
    }

    /// The galloping search finds what a plain bisection finds, for every offset in and
    /// around segments of every length up to 40 (batches of one to three records).
    #[test]
    fn gallop_agrees_with_bisection() {
        let mut rng = crate::rng::Rng::new(7);
        for len in 0..40 {
            let sizes: Vec<u32> = (0..len).map(|_| 1 + rng.below(3) as u32).collect();
            let s = segment(&sizes);
            let records: u64 = sizes.iter().map(|&n| u64::from(n)).sum();
            for offset in 0..records + 3 {
                let expected = s.batches.partition_point(|b| b.last_offset() < offset);
                assert_eq!(
                    s.first_batch_at_or_after(offset),
                    expected,
                    "{len} batches, offset {offset}"
                );
            }
        }
    }
}
