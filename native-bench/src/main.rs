//! `kplay-bench`: throughput against the physical bound of this machine (memcpy), printed as
//! one JSON object and written to `target/bench.json`. `--quick` runs the same set, smaller.
//!
//! Measured now: memcpy, the partition log appending then reading batches of 100-byte and
//! 1 KiB records, and simulation speed (simulated seconds per wall second). Benchmarks are
//! measured here, never asserted in tests.

// A benchmark prints its results.
#![allow(clippy::print_stdout)]

use kplay_core::config::{BrokerConfig, LogConfig, TopicConfig};
use kplay_core::log::record::{BatchBuilder, NO_PRODUCER_ID};
use kplay_core::log::PartitionLog;
use kplay_core::{Scenario, Sim, SimTime};
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::Instant;

const BATCH_BYTES: usize = 16_384;

/// Best of `rounds` runs of `f`, in seconds (the least disturbed run is the truest).
fn best_secs(rounds: u32, mut f: impl FnMut()) -> f64 {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Copying `total` bytes in batch-sized chunks into a preallocated buffer.
fn memcpy_bytes_per_s(total: usize, rounds: u32) -> f64 {
    let src = vec![7u8; BATCH_BYTES];
    let mut dst = vec![0u8; total];
    let secs = best_secs(rounds, || {
        for chunk in dst.chunks_mut(BATCH_BYTES) {
            chunk.copy_from_slice(&src[..chunk.len()]);
        }
        black_box(&dst);
    });
    total as f64 / secs
}

/// Encodes records into batches (the one copy of their bytes, as a producer does), appends
/// every batch as leader, then reads the whole log back the way a fetch does and decodes every
/// record: the log keeps each batch's buffer and a read shares it, so nothing is copied again.
fn log_append_read(record_bytes: usize, total: usize, rounds: u32, memcpy: f64) -> Value {
    let value = vec![b'v'; record_bytes];
    let per_batch = (BATCH_BYTES / record_bytes).max(1) as u64;
    let records = (total / record_bytes) as u64;
    let config = LogConfig::resolve(&TopicConfig::default(), &BrokerConfig::default());
    let secs = best_secs(rounds, || {
        let mut log = PartitionLog::new(config.clone(), SimTime::ZERO);
        let mut id = 0u64;
        while id < records {
            let mut b = BatchBuilder::with_capacity(BATCH_BYTES + 1024);
            for _ in 0..per_batch.min(records - id) {
                b.push(0, id, None, &value);
                id += 1;
            }
            log.append_as_leader(&mut b.finish(NO_PRODUCER_ID, -1, -1), 0, SimTime::ZERO);
        }
        log.set_high_watermark(log.log_end_offset());
        let mut offset = 0;
        let mut read = 0usize;
        while offset < log.log_end_offset() {
            let got = log.read(offset, log.high_watermark(), 1 << 20);
            read += got
                .iter()
                .flat_map(|b| b.iter())
                .map(|r| r.value.len())
                .sum::<usize>();
            offset = got.last().map_or(u64::MAX, |b| b.last_offset() + 1);
        }
        assert_eq!(
            read,
            total / record_bytes * record_bytes,
            "every record read back"
        );
        black_box(read);
    });
    let payload = records as f64 * record_bytes as f64;
    json!({
        "record_bytes": record_bytes,
        "records": records,
        "records_per_s": records as f64 / secs,
        "bytes_per_s": payload / secs,
        "ratio_to_memcpy": payload / secs / memcpy,
    })
}

/// Simulation speed for teaching: three brokers, three ZooKeeper servers, a replicated topic
/// with a keyed producer and a consumer, every message traced.
fn simulation_speed(sim_secs: u64) -> Value {
    let scenario = Scenario::from_json(
        r#"{"seed": 1,
            "topics": [{"name": "orders", "partitions": 3, "replication_factor": 3, "config": {"min.insync.replicas": 2}}],
            "producers": [{"topic": "orders", "rate_per_sec": 100, "keys": {"kind": "random", "count": 20}}],
            "consumers": [{"topic": "orders", "config": {"auto.offset.reset": "earliest"}}]}"#,
    )
    .expect("the benchmark scenario is valid");
    let mut sim = Sim::new(scenario).expect("the benchmark scenario builds");
    let start = Instant::now();
    sim.run_until(SimTime::from_secs(sim_secs));
    let secs = start.elapsed().as_secs_f64();
    json!({
        "sim_seconds": sim_secs,
        "wall_seconds": secs,
        "sim_seconds_per_wall_second": sim_secs as f64 / secs,
        "events_per_s": sim.steps() as f64 / secs,
        "trace_events": sim.trace_events_total(),
    })
}

/// The full protocol path as fast as this machine runs it: 3 brokers, RF 3, acks=all,
/// min.insync.replicas=2, one batching producer, one consumer group, no network latency.
/// Wall time from the start until the group has consumed every record; retention keeps the
/// logs bounded; the producer starts once the group has its partitions (at 2 s).
fn end_to_end(records: u64, record_bytes: u32, memcpy: f64) -> Value {
    let scenario = Scenario::from_json(
        &json!({
            "seed": 1,
            "cluster": {"brokers": 3, "zookeepers": 1, "latency_us": 0, "jitter_us": 0,
                        "broker_config": {"log.retention.check.interval.ms": 100, "group.initial.rebalance.delay.ms": 0}},
            "topics": [{"name": "bench", "partitions": 3, "replication_factor": 3,
                        "config": {"min.insync.replicas": 2, "retention.bytes": 16 << 20,
                                   "segment.bytes": 4 << 20}}],
            "producers": [{"topic": "bench", "rate_per_sec": 1_000_000.0, "value_bytes": record_bytes, "start_ms": 2_000,
                           "max_records": records,
                           "config": {"acks": "all", "linger.ms": 5, "batch.size": 1 << 20}}],
            "consumers": [{"topic": "bench", "config": {"group.id": "bench", "auto.offset.reset": "earliest"}}],
            "trace": {"messages": false, "window": 1_000},
        })
        .to_string(),
    )
    .expect("the end-to-end scenario is valid");
    let mut sim = Sim::new(scenario).expect("the end-to-end scenario builds");
    let start = Instant::now();
    let mut consumed = 0;
    while consumed < records && sim.now() < SimTime::from_secs(600) {
        let next = sim.now().plus_ms(100);
        sim.run_until(next);
        consumed = sim.view().consumers.iter().map(|c| c.consumed).sum();
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = consumed as f64 * record_bytes as f64;
    json!({
        "record_bytes": record_bytes,
        "records": consumed,
        "sim_seconds": sim.now().as_us() as f64 / 1e6,
        "wall_seconds": secs,
        "events": sim.steps(),
        "records_per_s": consumed as f64 / secs,
        "bytes_per_s": bytes / secs,
        "ratio_to_memcpy": bytes / secs / memcpy,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only NAME` runs memcpy and that one benchmark (for profiling one at a time).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let (total, rounds) = if quick { (64 << 20, 3) } else { (512 << 20, 5) };
    let memcpy = memcpy_bytes_per_s(total, rounds);
    let mut report = serde_json::Map::new();
    report.insert("mode".into(), json!(if quick { "quick" } else { "full" }));
    report.insert("memcpy_bytes_per_s".into(), json!(memcpy));
    let mut run = |name: &str, f: &dyn Fn() -> Value| {
        if wanted(name) {
            report.insert(name.into(), f());
        }
    };
    run("log_append_read_100b", &|| {
        log_append_read(100, total, rounds, memcpy)
    });
    run("log_append_read_1kib", &|| {
        log_append_read(1024, total, rounds, memcpy)
    });
    run("end_to_end", &|| {
        end_to_end(if quick { 2_000_000 } else { 20_000_000 }, 100, memcpy)
    });
    run("simulation_speed", &|| {
        simulation_speed(if quick { 600 } else { 3_600 })
    });
    let text = serde_json::to_string_pretty(&Value::Object(report)).unwrap_or_default();
    println!("{text}");
    let _ = std::fs::create_dir_all("target");
    if let Err(e) = std::fs::write("target/bench.json", &text) {
        eprintln!("kplay-bench: could not write target/bench.json: {e}");
    }
}
