//! The on-log encoding of records inside a batch: contiguous bytes, fixed-width headers, so a
//! batch is appended, replicated and read with plain copies and no per-record allocation.
//!
//! Per record (little-endian): `offset_delta u32 | timestamp_delta_us u32 | record_id u64 |
//! key_len i32 (-1 = null) | value_len u32 | key | value`. The `record_id` plays the role of a
//! record header: it lets the simulation tell one produced record from another (retries write
//! the same id twice, which is how duplicates show up in the trace).

use crate::ids::{LeaderEpoch, Offset};
use std::sync::Arc;

pub const RECORD_HEADER_BYTES: usize = 24;
/// Kafka's batch header is 61 bytes; the simulation charges the same on the wire.
pub const BATCH_HEADER_BYTES: usize = 61;

/// `producer_id` of a batch from a producer without idempotence.
pub const NO_PRODUCER_ID: i64 = -1;

/// A record batch as Kafka's v2 format has it: header fields plus the encoded records.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordBatch {
    pub base_offset: Offset,
    pub last_offset_delta: u32,
    pub partition_leader_epoch: LeaderEpoch,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub base_timestamp_us: u64,
    pub max_timestamp_us: u64,
    pub record_count: u32,
    /// Part of a transaction: invisible to `read_committed` consumers until its commit marker.
    pub is_transactional: bool,
    /// A transaction marker (one control record: COMMIT or ABORT), never shown to applications.
    pub is_control: bool,
    /// Shared, never copied: the log keeps this buffer and fetches hand it on.
    pub records: Arc<Vec<u8>>,
}

/// The key of a control record: which way a transaction ended.
pub const COMMIT_MARKER: &[u8] = b"COMMIT";
pub const ABORT_MARKER: &[u8] = b"ABORT";

impl RecordBatch {
    /// A transaction marker for one producer, written by the transaction coordinator's
    /// WriteTxnMarkers into every partition of the transaction.
    pub fn control(
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        now_us: u64,
    ) -> RecordBatch {
        let mut b = BatchBuilder::default();
        let key = if commit { COMMIT_MARKER } else { ABORT_MARKER };
        b.push(now_us, 0, Some(key), &[]);
        let mut batch = b.finish(producer_id, producer_epoch, -1);
        batch.is_transactional = true;
        batch.is_control = true;
        batch
    }

    /// For a control batch: whether it commits (true) or aborts (false).
    pub fn marker_commits(&self) -> Option<bool> {
        control_commits(self.is_control, &self.records)
    }

    pub fn last_offset(&self) -> Offset {
        self.base_offset + self.last_offset_delta as u64
    }
    pub fn size_bytes(&self) -> usize {
        BATCH_HEADER_BYTES + self.records.len()
    }
    pub fn iter(&self) -> RecordIter<'_> {
        RecordIter {
            bytes: &self.records,
            base_timestamp_us: self.base_timestamp_us,
        }
    }
}

/// One record read from a batch; borrows the batch's bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record<'a> {
    pub offset_delta: u32,
    pub timestamp_us: u64,
    pub record_id: u64,
    pub key: Option<&'a [u8]>,
    pub value: &'a [u8],
}

impl Record<'_> {
    pub fn encoded_len(&self) -> usize {
        RECORD_HEADER_BYTES + self.key.map_or(0, <[u8]>::len) + self.value.len()
    }
}

/// Iterates the records of an encoded batch.
#[derive(Clone, Debug)]
pub struct RecordIter<'a> {
    bytes: &'a [u8],
    base_timestamp_us: u64,
}

impl<'a> RecordIter<'a> {
    pub fn new(bytes: &'a [u8], base_timestamp_us: u64) -> Self {
        RecordIter {
            bytes,
            base_timestamp_us,
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Record<'a>;
    fn next(&mut self) -> Option<Record<'a>> {
        if self.bytes.len() < RECORD_HEADER_BYTES {
            return None;
        }
        let b = self.bytes;
        let offset_delta = u32_at(b, 0);
        let timestamp_delta = u32_at(b, 4) as u64;
        let mut id = [0u8; 8];
        id.copy_from_slice(&b[8..16]);
        let key_len = u32_at(b, 16) as i32;
        let value_len = u32_at(b, 20) as usize;
        let key_bytes = key_len.max(0) as usize;
        let end = RECORD_HEADER_BYTES + key_bytes + value_len;
        // Batches are only ever built by `BatchBuilder`; a short buffer is a bug, not input.
        debug_assert!(b.len() >= end, "truncated record in batch");
        if b.len() < end {
            return None;
        }
        let key = (key_len >= 0).then(|| &b[RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + key_bytes]);
        let value = &b[RECORD_HEADER_BYTES + key_bytes..end];
        self.bytes = &b[end..];
        Some(Record {
            offset_delta,
            timestamp_us: self.base_timestamp_us + timestamp_delta,
            record_id: u64::from_le_bytes(id),
            key,
            value,
        })
    }
}

/// Builds the records of one batch in a single growing buffer.
#[derive(Clone, Debug, Default)]
pub struct BatchBuilder {
    bytes: Vec<u8>,
    count: u32,
    last_offset_delta: u32,
    base_timestamp_us: u64,
    max_timestamp_us: u64,
    base_timestamp_fixed: bool,
}

impl BatchBuilder {
    pub fn with_capacity(bytes: usize) -> Self {
        BatchBuilder {
            bytes: Vec::with_capacity(bytes),
            ..Default::default()
        }
    }

    /// A builder whose timestamp deltas count from a given base (rewriting an existing batch).
    pub fn with_base_timestamp(bytes: usize, base_timestamp_us: u64) -> Self {
        BatchBuilder {
            bytes: Vec::with_capacity(bytes),
            base_timestamp_us,
            base_timestamp_fixed: true,
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    pub fn record_count(&self) -> u32 {
        self.count
    }
    /// Bytes this batch will take on the wire and in the log.
    pub fn size_bytes(&self) -> usize {
        BATCH_HEADER_BYTES + self.bytes.len()
    }
    pub fn base_timestamp_us(&self) -> u64 {
        self.base_timestamp_us
    }

    /// Appends a record with the next offset delta.
    #[inline]
    pub fn push(&mut self, timestamp_us: u64, record_id: u64, key: Option<&[u8]>, value: &[u8]) {
        self.push_with_delta(self.count, timestamp_us, record_id, key, value);
    }

    /// Appends a record keeping an explicit offset delta (compaction leaves gaps).
    #[inline]
    pub fn push_with_delta(
        &mut self,
        offset_delta: u32,
        timestamp_us: u64,
        record_id: u64,
        key: Option<&[u8]>,
        value: &[u8],
    ) {
        if self.count == 0 && !self.base_timestamp_fixed {
            self.base_timestamp_us = timestamp_us;
        }
        let ts_delta = timestamp_us
            .saturating_sub(self.base_timestamp_us)
            .min(u32::MAX as u64);
        self.max_timestamp_us = self.max_timestamp_us.max(timestamp_us);
        self.last_offset_delta = offset_delta;
        // The fixed part in one write (one capacity check, not five).
        let mut head = [0u8; RECORD_HEADER_BYTES];
        head[0..4].copy_from_slice(&offset_delta.to_le_bytes());
        head[4..8].copy_from_slice(&(ts_delta as u32).to_le_bytes());
        head[8..16].copy_from_slice(&record_id.to_le_bytes());
        head[16..20].copy_from_slice(&key.map_or(-1, |k| k.len() as i32).to_le_bytes());
        head[20..24].copy_from_slice(&(value.len() as u32).to_le_bytes());
        let b = &mut self.bytes;
        b.reserve(RECORD_HEADER_BYTES + key.map_or(0, <[u8]>::len) + value.len());
        b.extend_from_slice(&head);
        if let Some(k) = key {
            b.extend_from_slice(k);
        }
        b.extend_from_slice(value);
        self.count += 1;
    }

    /// Finishes the batch; `last_offset_delta` is the delta of the last record pushed.
    pub fn finish(
        mut self,
        producer_id: i64,
        producer_epoch: i16,
        base_sequence: i32,
    ) -> RecordBatch {
        // The log keeps this buffer: a batch closed early (linger.ms) would keep its whole
        // batch.size, one that outgrew its buffer the doubled capacity.
        if self.bytes.capacity() > self.bytes.len() {
            self.bytes.shrink_to_fit();
        }
        RecordBatch {
            base_offset: 0,
            last_offset_delta: self.last_offset_delta,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch,
            base_sequence,
            base_timestamp_us: self.base_timestamp_us,
            max_timestamp_us: self.max_timestamp_us,
            record_count: self.count,
            is_transactional: false,
            is_control: false,
            records: Arc::new(self.bytes),
        }
    }
}

/// Reads a control batch's marker: Some(true) for COMMIT, Some(false) for ABORT.
pub fn control_commits(is_control: bool, records: &[u8]) -> Option<bool> {
    if !is_control {
        return None;
    }
    let r = RecordIter::new(records, 0).next()?;
    Some(r.key? == COMMIT_MARKER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_a_batch() {
        let mut b = BatchBuilder::default();
        b.push(1_000, 7, Some(b"k1"), b"hello");
        b.push(1_500, 8, None, b"");
        let batch = b.finish(NO_PRODUCER_ID, -1, -1);
        assert_eq!(batch.record_count, 2);
        assert_eq!(batch.last_offset_delta, 1);
        assert_eq!(batch.max_timestamp_us, 1_500);
        let records: Vec<Record<'_>> = batch.iter().collect();
        assert_eq!(records[0].key, Some(&b"k1"[..]));
        assert_eq!(records[0].value, b"hello");
        assert_eq!(records[0].record_id, 7);
        assert_eq!(records[1].key, None);
        assert_eq!(records[1].timestamp_us, 1_500);
        assert_eq!(records[1].offset_delta, 1);
    }
}
