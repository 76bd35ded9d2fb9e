//! Record batches between Kafka's v2 wire format and kplay's log format, and the clock that
//! maps Kafka's wall-clock timestamps to simulated time.
//!
//! A produced batch is decoded (checksum checked, decompressed within a bound) and rebuilt as one
//! kplay batch with the same producer id, epoch and base sequence; a fetched kplay batch is
//! encoded back as one v2 batch with its own base offset, so offsets, idempotence and
//! transactions mean the same on both sides. What kplay's log does not keep: record headers and
//! null values (a tombstone arrives as an empty value).

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use kplay_core::log::record::{BatchBuilder, RecordBatch, ABORT_MARKER};
use kplay_core::time::ms_to_us;
use std::io::Read;

/// Wall-clock milliseconds (Kafka's timestamps) against simulated microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Unix time in milliseconds when the simulation's clock read zero.
    pub unix_ms_at_zero: i64,
}

impl Clock {
    pub fn to_sim_us(self, unix_ms: i64) -> u64 {
        ms_to_us(unix_ms.saturating_sub(self.unix_ms_at_zero).max(0) as u64)
    }
    pub fn to_unix_ms(self, sim_us: u64) -> i64 {
        self.unix_ms_at_zero
            .saturating_add((sim_us / 1_000).min(i64::MAX as u64) as i64)
    }
}

/// Why a produced batch was refused, as the partition's error code.
pub fn produce_error(e: &BatchError) -> i16 {
    match e {
        BatchError::Compression => ResponseError::UnsupportedCompressionType.code(),
        BatchError::Corrupt(_) => ResponseError::CorruptMessage.code(),
        BatchError::Invalid(_) => ResponseError::InvalidRecord.code(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// lz4 or zstd: not built in.
    Compression,
    /// Bad checksum, truncated or not a v2 batch.
    Corrupt(String),
    /// Well-formed but not something a producer may send (a control batch, several batches).
    Invalid(&'static str),
}

/// Decodes one produced v2 batch into kplay's format. Record ids (kplay's way of telling records
/// apart in its trace) come from `next_record_id`.
pub fn from_kafka(
    bytes: &Bytes,
    clock: Clock,
    max_bytes: usize,
    next_record_id: &mut u64,
) -> Result<RecordBatch, BatchError> {
    let corrupt = |e: anyhow::Error| BatchError::Corrupt(e.to_string());
    let infos = RecordBatchDecoder::decode_batch_info(&mut bytes.clone()).map_err(corrupt)?;
    let [info] = infos.as_slice() else {
        return Err(BatchError::Invalid(
            "a produce request carries one batch per partition",
        ));
    };
    if info.control {
        return Err(BatchError::Invalid(
            "producers cannot write control batches",
        ));
    }
    let decompress = |buf: &mut Bytes, c: Compression| decompress(buf, c, max_bytes);
    let set =
        RecordBatchDecoder::decode_with_custom_compression(&mut bytes.clone(), Some(decompress))
            .map_err(|e| match e.downcast_ref::<Unsupported>() {
                Some(_) => BatchError::Compression,
                None => corrupt(e),
            })?;
    let mut builder = BatchBuilder::with_capacity(bytes.len());
    for r in &set.records {
        let id = *next_record_id;
        *next_record_id += 1;
        builder.push(
            clock.to_sim_us(r.timestamp),
            id,
            r.key.as_deref(),
            r.value.as_deref().unwrap_or(&[]),
        );
    }
    if builder.is_empty() {
        return Err(BatchError::Invalid("an empty batch"));
    }
    let mut batch = builder.finish(info.producer_id, info.producer_epoch, info.base_sequence);
    batch.is_transactional = info.transactional;
    Ok(batch)
}

#[derive(Debug)]
struct Unsupported;
impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unsupported compression")
    }
}
impl std::error::Error for Unsupported {}

/// Decompresses a batch's records, refusing to produce more than `max` bytes (a small frame
/// must not inflate into gigabytes).
fn decompress(buf: &mut Bytes, compression: Compression, max: usize) -> anyhow::Result<Bytes> {
    let too_big = || anyhow::anyhow!("records decompress to more than {max} bytes");
    match compression {
        Compression::None => Ok(std::mem::take(buf)),
        Compression::Gzip => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&buf[..])
                .take(max as u64 + 1)
                .read_to_end(&mut out)?;
            if out.len() > max {
                return Err(too_big());
            }
            Ok(out.into())
        }
        Compression::Snappy => {
            // Kafka's Java client writes xerial's framing: a 16-byte header, then blocks each
            // prefixed by its length. Others write raw snappy.
            const MAGIC: &[u8] = b"\x82SNAPPY\x00";
            let raw = |block: &[u8], out: &mut Vec<u8>| -> anyhow::Result<()> {
                let len = snap::raw::decompress_len(block)?;
                if out.len() + len > max {
                    return Err(too_big());
                }
                let start = out.len();
                out.resize(start + len, 0);
                snap::raw::Decoder::new().decompress(block, &mut out[start..])?;
                Ok(())
            };
            let mut out = Vec::new();
            if !buf.starts_with(MAGIC) {
                raw(buf, &mut out)?;
                return Ok(out.into());
            }
            let mut rest = buf
                .get(16..)
                .ok_or_else(|| anyhow::anyhow!("short snappy header"))?;
            while !rest.is_empty() {
                let len_bytes: [u8; 4] = rest
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| anyhow::anyhow!("truncated snappy block length"))?;
                let len = u32::from_be_bytes(len_bytes) as usize;
                let block = rest
                    .get(4..4 + len)
                    .ok_or_else(|| anyhow::anyhow!("truncated snappy block"))?;
                raw(block, &mut out)?;
                rest = &rest[4 + len..];
            }
            Ok(out.into())
        }
        Compression::Lz4 | Compression::Zstd => Err(Unsupported.into()),
    }
}

/// Kafka's control record for a transaction marker: key (version 0, type 0 = ABORT,
/// 1 = COMMIT), value (version 0, coordinator epoch).
fn control_record(commits: bool) -> (Bytes, Bytes) {
    let key = Bytes::from(vec![0, 0, 0, u8::from(commits)]);
    let value = Bytes::from_static(&[0, 0, 0, 0, 0, 0]);
    (key, value)
}

/// Encodes fetched batches as Kafka v2 batches, one for one.
pub fn to_kafka(batches: &[RecordBatch], clock: Clock) -> Bytes {
    let mut out = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    for batch in batches {
        let records: Vec<Record> = batch
            .iter()
            .map(|r| {
                let (key, value) = if batch.is_control {
                    control_record(r.key != Some(ABORT_MARKER))
                } else {
                    (
                        r.key.map(Bytes::copy_from_slice).unwrap_or_default(),
                        Bytes::copy_from_slice(r.value),
                    )
                };
                Record {
                    transactional: batch.is_transactional,
                    control: batch.is_control,
                    delete_horizon: false,
                    partition_leader_epoch: batch.partition_leader_epoch as i32,
                    producer_id: batch.producer_id,
                    producer_epoch: batch.producer_epoch,
                    timestamp_type: TimestampType::Creation,
                    offset: (batch.base_offset + u64::from(r.offset_delta)) as i64,
                    // Base sequence plus delta even without idempotence (-1, 0, 1, …): the
                    // encoder keeps records in one batch while offset − sequence is constant,
                    // and writes the first record's sequence as the batch's base sequence.
                    sequence: batch.base_sequence.wrapping_add(r.offset_delta as i32),
                    timestamp: clock.to_unix_ms(r.timestamp_us),
                    key: (batch.is_control || r.key.is_some()).then_some(key),
                    value: Some(value),
                    headers: Default::default(),
                }
            })
            .collect();
        if records.is_empty() {
            continue;
        }
        // Encoding records we built ourselves cannot fail: every field is in range.
        let _ = RecordBatchEncoder::encode(&mut out, &records, &options);
    }
    out.freeze()
}

/// A batch as a producer without idempotence sends it (producer id −1, base sequence −1), all
/// records stamped `timestamp_ms`: for load generators and tests speaking Kafka to the gateway.
pub fn producer_batch(timestamp_ms: i64, records: &[(Option<Bytes>, Bytes)]) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // −1, 0, 1, …: the encoder keeps one batch while offset − sequence is constant.
            sequence: i as i32 - 1,
            timestamp: timestamp_ms,
            key: key.clone(),
            value: Some(value.clone()),
            headers: Default::default(),
        })
        .collect();
    let mut out = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    // Records in range by construction: encoding cannot fail.
    let _ = RecordBatchEncoder::encode(&mut out, &records, &options);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kafka_batch(records: &[(Option<&str>, &str)], compression: Compression) -> Bytes {
        let records: Vec<Record> = records
            .iter()
            .enumerate()
            .map(|(i, (k, v))| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: 7,
                producer_epoch: 0,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: 3 + i as i32,
                timestamp: 1_700_000_000_500 + i as i64,
                key: k.map(|k| Bytes::copy_from_slice(k.as_bytes())),
                value: Some(Bytes::copy_from_slice(v.as_bytes())),
                headers: Default::default(),
            })
            .collect();
        let mut out = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut out,
            &records,
            &RecordEncodeOptions {
                version: 2,
                compression,
            },
        )
        .unwrap();
        out.freeze()
    }

    #[test]
    fn a_produced_batch_round_trips_with_offsets_sequences_and_timestamps() {
        let clock = Clock {
            unix_ms_at_zero: 1_700_000_000_000,
        };
        let mut ids = 100;
        for compression in [Compression::None, Compression::Gzip, Compression::Snappy] {
            let wire = kafka_batch(&[(Some("k1"), "v1"), (None, "v2")], compression);
            let mut batch = from_kafka(&wire, clock, 1 << 20, &mut ids).unwrap();
            assert_eq!((batch.producer_id, batch.base_sequence), (7, 3));
            assert_eq!(batch.record_count, 2);
            assert_eq!(batch.base_timestamp_us, 500_000);
            batch.base_offset = 40;
            let back = RecordBatchDecoder::decode(&mut to_kafka(&[batch], clock)).unwrap();
            let r = &back.records;
            assert_eq!((r[0].offset, r[1].offset), (40, 41));
            assert_eq!((r[0].sequence, r[1].sequence), (3, 4));
            assert_eq!(r[0].key.as_deref(), Some(&b"k1"[..]));
            assert_eq!(r[1].key, None);
            assert_eq!(r[1].value.as_deref(), Some(&b"v2"[..]));
            assert_eq!(r[1].timestamp, 1_700_000_000_501);
        }
        assert_eq!(ids, 106);
    }

    #[test]
    fn bad_batches_are_refused_with_kafkas_errors() {
        let clock = Clock { unix_ms_at_zero: 0 };
        let mut ids = 0;
        let good = kafka_batch(&[(None, "x")], Compression::None);
        let mut flipped = good.to_vec();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        let e = from_kafka(&flipped.into(), clock, 1 << 20, &mut ids).unwrap_err();
        assert_eq!(produce_error(&e), ResponseError::CorruptMessage.code());
        let two: Bytes = [good.clone(), good.clone()].concat().into();
        let e = from_kafka(&two, clock, 1 << 20, &mut ids).unwrap_err();
        assert_eq!(produce_error(&e), ResponseError::InvalidRecord.code());
        let e = from_kafka(&good.slice(..20), clock, 1 << 20, &mut ids).unwrap_err();
        assert_eq!(produce_error(&e), ResponseError::CorruptMessage.code());
        // 64 KiB of zeros gzip to a few dozen bytes: over a 1 KiB bound they are refused.
        let zeros = "0".repeat(65_536);
        let bomb = kafka_batch(&[(None, &zeros)], Compression::Gzip);
        assert!(bomb.len() < 1_024);
        assert!(matches!(
            from_kafka(&bomb, clock, 1_024, &mut ids),
            Err(BatchError::Corrupt(_))
        ));
    }

    #[test]
    fn transaction_markers_become_kafka_control_records() {
        let clock = Clock { unix_ms_at_zero: 0 };
        let mut marker = RecordBatch::control(9, 1, true, 2_000);
        marker.base_offset = 5;
        let back = RecordBatchDecoder::decode(&mut to_kafka(&[marker], clock)).unwrap();
        let r = &back.records[0];
        assert!(r.control && r.transactional);
        assert_eq!(r.key.as_deref(), Some(&[0u8, 0, 0, 1][..]));
        assert_eq!((r.offset, r.producer_id, r.timestamp), (5, 9, 2));
    }
}
