//! A partition's log: an append-only sequence of record batches split into segments.
//!
//! It owns what Kafka's `UnifiedLog` owns: the log end offset (LEO), the high watermark (HW),
//! the log start offset, and the leader-epoch cache used for truncation (KIP-101). Offsets are
//! assigned once and never reused: retention and compaction remove records, never offsets.

pub mod record;
pub mod segment;

use crate::config::{CleanupPolicy, LogConfig};
use crate::ids::{LeaderEpoch, Offset};
use crate::time::{ms_to_us, SimTime};
use crate::vec_map::VecMap;
use record::RecordBatch;
use segment::{BatchRef, Segment};
use std::collections::VecDeque;

/// Why records left the log without being truncated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed {
    pub segments: u32,
    pub records: u64,
    pub new_log_start_offset: Offset,
}

#[derive(Clone, Debug)]
pub struct PartitionLog {
    segments: VecDeque<Segment>,
    log_start_offset: Offset,
    log_end_offset: Offset,
    high_watermark: Offset,
    /// (epoch, start offset) for each leader epoch that wrote to this log, oldest first.
    epoch_cache: Vec<(LeaderEpoch, Offset)>,
    size_bytes: u64,
    /// Where the log cleaner stopped last time (its checkpoint): records from here on are
    /// dirty.
    first_dirty_offset: Offset,
    pub config: LogConfig,
}

impl PartitionLog {
    pub fn new(config: LogConfig, now: SimTime) -> PartitionLog {
        let mut segments = VecDeque::new();
        segments.push_back(Segment::new(0, now));
        PartitionLog {
            segments,
            log_start_offset: 0,
            log_end_offset: 0,
            high_watermark: 0,
            epoch_cache: Vec::new(),
            size_bytes: 0,
            first_dirty_offset: 0,
            config,
        }
    }

    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset
    }
    pub fn log_end_offset(&self) -> Offset {
        self.log_end_offset
    }
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.epoch_cache.last().map(|e| e.0)
    }
    pub fn epoch_cache(&self) -> &[(LeaderEpoch, Offset)] {
        &self.epoch_cache
    }

    /// Sets the HW; it never passes the LEO.
    pub fn set_high_watermark(&mut self, hw: Offset) {
        self.high_watermark = hw
            .min(self.log_end_offset)
            .max(self.log_start_offset.min(hw));
    }

    /// The leader appends: it assigns offsets from the LEO and stamps its epoch.
    pub fn append_as_leader(&mut self, batch: &mut RecordBatch, epoch: LeaderEpoch, now: SimTime) {
        batch.base_offset = self.log_end_offset;
        batch.partition_leader_epoch = epoch;
        self.append(batch, now);
    }

    /// A follower appends what it fetched, keeping the leader's offsets. Batches it already has
    /// (below its LEO) are skipped.
    pub fn append_as_follower(&mut self, batch: &RecordBatch, now: SimTime) -> bool {
        if batch.last_offset() < self.log_end_offset {
            return false;
        }
        debug_assert!(
            batch.base_offset >= self.log_end_offset,
            "overlapping follower append"
        );
        self.append(batch, now);
        true
    }

    fn append(&mut self, batch: &RecordBatch, now: SimTime) {
        if self
            .latest_epoch()
            .is_none_or(|e| e < batch.partition_leader_epoch)
        {
            self.epoch_cache
                .push((batch.partition_leader_epoch, batch.base_offset));
        }
        self.maybe_roll(batch.size_bytes() as u64, batch.base_offset, now);
        let active = self
            .segments
            .back_mut()
            .expect("a log always has an active segment");
        active.append(batch);
        self.size_bytes += batch.size_bytes() as u64;
        self.log_end_offset = batch.last_offset() + 1;
    }

    /// Starts a new segment when the active one is full (`segment.bytes`) or old (`segment.ms`).
    fn maybe_roll(&mut self, incoming_bytes: u64, next_offset: Offset, now: SimTime) {
        let active = self
            .segments
            .back()
            .expect("a log always has an active segment");
        let full = active.size_bytes() + incoming_bytes > self.config.segment_bytes;
        let old = now.since(active.created_at) >= ms_to_us(self.config.segment_ms);
        if !active.is_empty() && (full || old) {
            self.segments.push_back(Segment::new(next_offset, now));
        }
    }

    /// Batches holding offsets from `from` up to (not including) `max_offset`, at most
    /// `max_bytes` of them but always at least one, as Kafka guarantees progress.
    pub fn read(&self, from: Offset, max_offset: Offset, max_bytes: usize) -> Vec<RecordBatch> {
        let mut out = Vec::new();
        let mut bytes = 0;
        self.for_each_batch(from, max_offset, |b| {
            if !out.is_empty() && bytes + b.size_bytes() > max_bytes {
                return false;
            }
            bytes += b.size_bytes();
            out.push(b.to_batch());
            true
        });
        out
    }

    /// Visits borrowed batches holding offsets from `from` (inclusive) while their last offset
    /// is below `max_offset`, until `visit` returns false. No copies.
    pub fn for_each_batch<'a>(
        &'a self,
        from: Offset,
        max_offset: Offset,
        mut visit: impl FnMut(BatchRef<'a>) -> bool,
    ) {
        // Most fetches come from replicas and consumers already at the end: nothing to search.
        if from >= max_offset || from >= self.log_end_offset {
            return;
        }
        let first_segment = self
            .segments
            .partition_point(|s| s.base_offset <= from)
            .saturating_sub(1);
        for segment in self.segments.iter().skip(first_segment) {
            let start = segment.first_batch_at_or_after(from);
            for batch in segment.batches_from(start) {
                if batch.header.last_offset() >= max_offset || !visit(batch) {
                    return;
                }
            }
        }
    }

    /// Removes every record at `offset` and after. A batch that contains `offset` goes whole,
    /// so the LEO lands on a batch boundary, as in Kafka.
    pub fn truncate_to(&mut self, offset: Offset) -> Offset {
        if offset >= self.log_end_offset {
            return self.log_end_offset;
        }
        while self.segments.len() > 1
            && self
                .segments
                .back()
                .is_some_and(|s| s.base_offset >= offset)
        {
            let removed = self.segments.pop_back().expect("checked len");
            self.size_bytes -= removed.size_bytes();
        }
        let active = self
            .segments
            .back_mut()
            .expect("a log always has an active segment");
        let before = active.size_bytes();
        let index = active.first_batch_at_or_after(offset);
        active.truncate_batches(index);
        self.size_bytes = self.size_bytes - before + active.size_bytes();
        self.log_end_offset = active
            .last_batch()
            .map(|b| b.last_offset() + 1)
            .unwrap_or(active.base_offset.max(self.log_start_offset))
            .max(self.log_start_offset);
        if active.is_empty() {
            active.base_offset = self.log_end_offset;
        }
        self.epoch_cache
            .retain(|&(_, start)| start < self.log_end_offset);
        self.high_watermark = self.high_watermark.min(self.log_end_offset);
        self.log_end_offset
    }

    /// Empties the log and starts it again at `offset` (a replica that lost its disk, or fell
    /// behind the leader's log start).
    pub fn truncate_fully_and_start_at(&mut self, offset: Offset, now: SimTime) {
        self.segments.clear();
        self.segments.push_back(Segment::new(offset, now));
        self.size_bytes = 0;
        self.log_start_offset = offset;
        self.log_end_offset = offset;
        self.high_watermark = offset;
        self.first_dirty_offset = offset;
        self.epoch_cache.clear();
    }

    /// Kafka's `LeaderEpochFileCache.endOffsetFor`: the largest epoch ≤ `requested` this log has,
    /// and the offset where the next epoch starts (the LEO for the latest epoch). `None` when the
    /// log knows no epoch that old.
    pub fn end_offset_for_epoch(&self, requested: LeaderEpoch) -> Option<(LeaderEpoch, Offset)> {
        let next = self.epoch_cache.partition_point(|&(e, _)| e <= requested);
        if next == 0 {
            return None;
        }
        let floor_epoch = self.epoch_cache[next - 1].0;
        let end = self
            .epoch_cache
            .get(next)
            .map_or(self.log_end_offset, |&(_, start)| start);
        Some((floor_epoch, end))
    }

    /// Moves the log start up (retention on the leader, or the leader's log start seen by a
    /// follower), deleting segments that lie wholly below it.
    pub fn increment_log_start_offset(&mut self, offset: Offset) {
        let offset = offset.min(self.high_watermark.max(self.log_start_offset));
        if offset <= self.log_start_offset {
            return;
        }
        self.log_start_offset = offset;
        while self.segments.len() > 1 && self.segments[1].base_offset <= offset {
            let removed = self.segments.pop_front().expect("checked len");
            self.size_bytes -= removed.size_bytes();
        }
    }

    /// Time and size retention (`retention.ms`, `retention.bytes`): deletes whole segments from
    /// the front that lie below the HW, never the active one.
    pub fn apply_retention(&mut self, now: SimTime) -> Option<Removed> {
        if self.config.cleanup_policy != CleanupPolicy::Delete {
            return None;
        }
        let mut segments = 0u32;
        let mut records = 0u64;
        let mut size = self.size_bytes;
        while self.segments.len() > 1 {
            let (first, next_base) = (&self.segments[0], self.segments[1].base_offset);
            if next_base > self.high_watermark {
                break;
            }
            let expired_by_time = self.config.retention_ms >= 0
                && now.as_us()
                    > first
                        .max_timestamp_us()
                        .saturating_add(self.config.retention_ms as u64 * 1_000);
            let over_size = self.config.retention_bytes >= 0
                && size.saturating_sub(first.size_bytes()) >= self.config.retention_bytes as u64;
            if !(expired_by_time || over_size) {
                break;
            }
            let removed = self.segments.pop_front().expect("checked len");
            records += removed
                .batches()
                .map(|b| b.header.record_count as u64)
                .sum::<u64>();
            size -= removed.size_bytes();
            segments += 1;
        }
        if segments == 0 {
            return None;
        }
        self.size_bytes = size;
        self.log_start_offset = self.segments[0].base_offset.max(self.log_start_offset);
        Some(Removed {
            segments,
            records,
            new_log_start_offset: self.log_start_offset,
        })
    }

    /// Log compaction (`cleanup.policy=compact`), as Kafka's log cleaner picks a log: when the
    /// dirty part (written since the last cleaning) of the segments wholly below the HW is more
    /// than `min.cleanable.dirty.ratio` of them, keeps only the latest record of each key there.
    /// Offsets stay; the gaps are the compacted records.
    pub fn compact(&mut self) -> Option<Removed> {
        if self.config.cleanup_policy != CleanupPolicy::Compact || self.segments.len() < 2 {
            return None;
        }
        let hw = self.high_watermark;
        let cleanable = (0..self.segments.len() - 1)
            .take_while(|&i| self.segments[i + 1].base_offset <= hw)
            .count();
        let (mut total, mut dirty) = (0u64, 0u64);
        for i in 0..cleanable {
            let size = self.segments[i].size_bytes();
            total += size;
            if self.segments[i + 1].base_offset > self.first_dirty_offset {
                dirty += size;
            }
        }
        if total == 0 || (dirty as f64) <= self.config.min_cleanable_dirty_ratio * total as f64 {
            return None;
        }
        self.first_dirty_offset = self.segments[cleanable].base_offset;
        let mut latest: VecMap<Vec<u8>, Offset> = VecMap::new();
        self.for_each_batch(self.log_start_offset, self.high_watermark, |b| {
            for r in b.iter().filter(|_| !b.header.is_control) {
                if let Some(key) = r.key {
                    latest.insert(key.to_vec(), b.header.base_offset + r.offset_delta as u64);
                }
            }
            true
        });
        let mut records = 0;
        for i in 0..cleanable {
            let before = self.segments[i].size_bytes();
            records += self.segments[i].retain_records(|offset, key| {
                key.is_some_and(|k| latest.get(k).is_none_or(|&l| l <= offset))
            });
            self.size_bytes = self.size_bytes - before + self.segments[i].size_bytes();
        }
        (records > 0).then_some(Removed {
            segments: 0,
            records,
            new_log_start_offset: self.log_start_offset,
        })
    }

    /// Every record id in offset order with its offset (for reports and invariants).
    pub fn records_below(&self, max_offset: Offset) -> Vec<(Offset, u64)> {
        let mut out = Vec::new();
        self.for_each_batch(self.log_start_offset, max_offset, |b| {
            out.extend(
                b.iter()
                    .map(|r| (b.header.base_offset + r.offset_delta as u64, r.record_id)),
            );
            true
        });
        out
    }

    /// The batch headers in offset order (for views and invariants).
    pub fn batch_headers(&self) -> impl Iterator<Item = &segment::BatchHeader> + '_ {
        self.segments
            .iter()
            .flat_map(|s| s.batches().map(|b| b.header))
    }
}

#[cfg(test)]
mod tests {
    use super::record::{BatchBuilder, NO_PRODUCER_ID};
    use super::*;
    use crate::config::{BrokerConfig, TopicConfig};

    fn batch(n: u32, ts_us: u64, first_id: u64) -> RecordBatch {
        let mut b = BatchBuilder::default();
        for i in 0..n {
            let key = format!("k{}", (first_id + i as u64) % 3);
            b.push(
                ts_us,
                first_id + i as u64,
                Some(key.as_bytes()),
                b"0123456789",
            );
        }
        b.finish(NO_PRODUCER_ID, -1, -1)
    }

    fn config(topic: TopicConfig) -> LogConfig {
        LogConfig::resolve(&topic, &BrokerConfig::default())
    }

    #[test]
    fn leader_assigns_dense_offsets_and_tracks_epochs() {
        let mut log = PartitionLog::new(config(TopicConfig::default()), SimTime::ZERO);
        let mut b1 = batch(3, 0, 0);
        log.append_as_leader(&mut b1, 0, SimTime::ZERO);
        let mut b2 = batch(2, 0, 3);
        log.append_as_leader(&mut b2, 1, SimTime::ZERO);
        assert_eq!(
            (b1.base_offset, b2.base_offset, log.log_end_offset()),
            (0, 3, 5)
        );
        assert_eq!(log.epoch_cache(), &[(0, 0), (1, 3)]);
        assert_eq!(log.end_offset_for_epoch(0), Some((0, 3)));
        assert_eq!(log.end_offset_for_epoch(1), Some((1, 5)));
        assert_eq!(log.end_offset_for_epoch(5), Some((1, 5)));
    }

    #[test]
    fn truncation_removes_whole_batches_and_epochs() {
        let mut log = PartitionLog::new(config(TopicConfig::default()), SimTime::ZERO);
        log.append_as_leader(&mut batch(3, 0, 0), 0, SimTime::ZERO);
        log.append_as_leader(&mut batch(3, 0, 3), 1, SimTime::ZERO);
        log.set_high_watermark(6);
        assert_eq!(log.truncate_to(4), 3);
        assert_eq!(log.high_watermark(), 3);
        assert_eq!(log.epoch_cache(), &[(0, 0)]);
        let mut next = batch(1, 0, 9);
        log.append_as_leader(&mut next, 2, SimTime::ZERO);
        assert_eq!(
            next.base_offset, 3,
            "offsets continue from the truncation point"
        );
    }

    #[test]
    fn retention_deletes_old_segments_but_offsets_keep_growing() {
        let topic = TopicConfig {
            segment_bytes: Some(300),
            retention_ms: Some(1_000),
            ..TopicConfig::default()
        };
        let mut log = PartitionLog::new(config(topic), SimTime::ZERO);
        for i in 0..10 {
            log.append_as_leader(&mut batch(2, i * 100, i * 2), 0, SimTime(i * 100));
        }
        log.set_high_watermark(log.log_end_offset());
        assert!(log.segment_count() > 2);
        assert!(
            log.apply_retention(SimTime::from_ms(1)).is_none(),
            "nothing is old yet"
        );
        let removed = log
            .apply_retention(SimTime::from_secs(10))
            .expect("old segments go");
        assert_eq!(removed.new_log_start_offset, log.log_start_offset());
        assert!(log.log_start_offset() > 0);
        assert_eq!(log.segment_count(), 1, "only the active segment stays");
        let mut next = batch(1, 0, 99);
        log.append_as_leader(&mut next, 0, SimTime::from_secs(10));
        assert_eq!(next.base_offset, 20);
    }

    #[test]
    fn appending_and_reading_share_the_batch_buffer_instead_of_copying_it() {
        let mut log = PartitionLog::new(config(TopicConfig::default()), SimTime::ZERO);
        let mut sent = batch(3, 0, 0);
        log.append_as_leader(&mut sent, 0, SimTime::ZERO);
        log.set_high_watermark(log.log_end_offset());
        let read = log.read(0, log.high_watermark(), 1 << 20);
        assert_eq!(read.len(), 1);
        assert!(std::sync::Arc::ptr_eq(&read[0].records, &sent.records));
        assert_eq!(read[0].base_offset, 0);
        assert_eq!(read[0].iter().count(), 3);
    }

    #[test]
    fn retention_never_deletes_above_the_high_watermark() {
        let topic = TopicConfig {
            segment_bytes: Some(200),
            retention_ms: Some(0),
            ..Default::default()
        };
        let mut log = PartitionLog::new(config(topic), SimTime::ZERO);
        for i in 0..6 {
            log.append_as_leader(&mut batch(2, 0, i * 2), 0, SimTime::ZERO);
        }
        assert!(log.apply_retention(SimTime::from_secs(100)).is_none());
    }

    #[test]
    fn compaction_keeps_the_latest_record_per_key() {
        let topic = TopicConfig {
            segment_bytes: Some(200),
            cleanup_policy: Some(CleanupPolicy::Compact),
            ..Default::default()
        };
        let mut log = PartitionLog::new(config(topic), SimTime::ZERO);
        for i in 0..8 {
            log.append_as_leader(&mut batch(2, 0, i * 2), 0, SimTime::ZERO);
        }
        log.set_high_watermark(log.log_end_offset());
        let before = log.records_below(u64::MAX).len();
        log.compact().expect("something to compact");
        let after = log.records_below(u64::MAX);
        assert!(after.len() < before);
        assert!(
            after.windows(2).all(|w| w[0].0 < w[1].0),
            "offsets stay increasing"
        );
        assert_eq!(log.log_end_offset(), 16);
        // Just cleaned: nothing is dirty, so the cleaner leaves it alone
        // (min.cleanable.dirty.ratio 0.5)...
        assert!(log.compact().is_none());
        // ... until more than half of the cleanable bytes were written since.
        let mut dirty_enough = false;
        for i in 8..40 {
            log.append_as_leader(&mut batch(2, 0, i * 2), 0, SimTime::ZERO);
            log.set_high_watermark(log.log_end_offset());
            if log.compact().is_some() {
                dirty_enough = true;
                break;
            }
        }
        assert!(dirty_enough, "compacted again once the dirty part grew");
    }
}
