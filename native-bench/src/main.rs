//! `kplay-bench`: throughput against the physical bound of this machine (memcpy), printed as
//! one JSON object and written to `target/bench.json`. `--quick` runs the same set, smaller.
//!
//! Measured now: memcpy, the partition log in steady state appending then reading batches of
//! 100-byte and 1 KiB records, the cluster end to end in process, the same through `kplay serve`
//! over loopback (`gateway`), and simulation speed (simulated seconds per wall second); with
//! `--wasm bench/wasm.mjs`, the end-to-end and simulation-speed runs alternate with the same
//! runs in wasm32 under Node. Benchmarks are measured here, never asserted in tests.

// A benchmark prints its results.
#![allow(clippy::print_stdout)]

mod gateway;
mod wasm;

use kplay_bench::{default_lesson, median, median_run, simulation_speed, Clock, Size};
use kplay_core::config::{BrokerConfig, LogConfig, TopicConfig};
use kplay_core::log::record::{BatchBuilder, NO_PRODUCER_ID};
use kplay_core::log::PartitionLog;
use kplay_core::SimTime;
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::Instant;
use wasm::WasmNode;

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

/// The log in steady state, as a broker runs it: `retention.bytes` keeps the last 64 MiB in
/// 16 MiB segments. Records are encoded into batches (the one copy of their bytes, as a
/// producer does) and appended as leader 16 MiB at a time; a reader then reads what is new the
/// way a fetch does and decodes every record (the log keeps each batch's buffer and a read
/// shares it: nothing is copied again); retention deletes the oldest segment. `total` bytes
/// per round, the best round counts. Holding all of them instead would time the kernel
/// zeroing fresh pages, not the log.
fn log_append_read(record_bytes: usize, total: usize, rounds: u32, memcpy: f64) -> Value {
    const SEGMENT_BYTES: u64 = 16 << 20;
    let value = vec![b'v'; record_bytes];
    let per_batch = (BATCH_BYTES / record_bytes).max(1) as u64;
    let records = (total / record_bytes) as u64;
    let per_window = (SEGMENT_BYTES as usize / record_bytes) as u64;
    let topic = TopicConfig {
        segment_bytes: Some(SEGMENT_BYTES),
        retention_bytes: Some(4 * SEGMENT_BYTES as i64),
        ..TopicConfig::default()
    };
    let config = LogConfig::resolve(&topic, &BrokerConfig::default());
    let mut peak_bytes = 0;
    // One log for every round: the first fills it to its retention (fresh pages); later
    // rounds run in steady state, as a broker's log does.
    let mut log = PartitionLog::new(config, SimTime::ZERO);
    let mut offset = 0;
    let secs = best_secs(rounds, || {
        let mut id = 0u64;
        let mut read = 0usize;
        while id < records {
            let window_end = (id + per_window).min(records);
            while id < window_end {
                let mut b = BatchBuilder::with_capacity(BATCH_BYTES + 1024);
                for _ in 0..per_batch.min(window_end - id) {
                    b.push(0, id, None, &value);
                    id += 1;
                }
                log.append_as_leader(&mut b.finish(NO_PRODUCER_ID, -1, -1), 0, SimTime::ZERO);
            }
            log.set_high_watermark(log.log_end_offset());
            while offset < log.high_watermark() {
                let got = log.read(offset, log.high_watermark(), 1 << 20);
                read += got
                    .iter()
                    .flat_map(|b| b.iter())
                    .map(|r| r.value.len())
                    .sum::<usize>();
                offset = got.last().map_or(u64::MAX, |b| b.last_offset() + 1);
            }
            peak_bytes = peak_bytes.max(log.size_bytes());
            log.apply_retention(SimTime::ZERO);
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
        "log_peak_bytes": peak_bytes,
    })
}

/// A line of `/proc/self/status` in bytes (`VmRSS:` is resident memory now); None off Linux.
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Memory over one simulated hour of the default lesson with 5-minute retention (1-minute
/// segments): resident memory every 10 simulated minutes. Flat means retention and the trace
/// window bound what the simulation keeps. (The process's own peak would include the memcpy
/// benchmark's buffer, so the largest sample is reported instead.)
fn memory_hour(clock: &dyn Fn() -> f64) -> Value {
    let mut samples = Vec::new();
    let run = simulation_speed(default_lesson(Some(300_000)), 3_600, clock, &mut |at| {
        samples.push(json!({"sim_seconds": at, "rss_bytes": proc_status_bytes("VmRSS:")}))
    });
    let max = samples.iter().filter_map(|s| s["rss_bytes"].as_u64()).max();
    json!({
        "scenario": "replication-and-isr with retention.ms 300000, segment.ms 60000",
        "sim_seconds": 3_600,
        "wall_seconds": run["wall_seconds"],
        "rss_samples": samples,
        "max_rss_bytes": max,
    })
}

/// A benchmark both targets run: an untimed warm-up run on each, then `TIMED_RUNS` runs
/// alternating native and wasm. The native median run, with the wasm median run beside it
/// (`wasm`) and `wasm_to_native_ratio`: the median of each wasm run's `speed` (a field of its
/// results) over that of the native run just before it (`wasm_to_native_ratio_runs`), so that
/// a slow spell of this shared machine lands on both sides of a ratio.
fn both_targets(
    name: &str,
    speed: &str,
    size: Size,
    clock: Clock<'_>,
    wasm: &mut Option<WasmNode>,
) -> Value {
    let native = |size| kplay_bench::run_once(name, size, clock).unwrap_or_default();
    let mut ask_wasm = |size| {
        let answer = wasm.as_mut()?.run(name, size);
        answer
            .map_err(|e| {
                eprintln!("kplay-bench: {e}; no more wasm runs");
                *wasm = None;
            })
            .ok()
    };
    native(Size::WarmUp);
    ask_wasm(Size::WarmUp);
    let mut native_runs = Vec::new();
    let mut wasm_runs = Vec::new();
    for _ in 0..kplay_bench::TIMED_RUNS {
        native_runs.push(native(size));
        wasm_runs.extend(ask_wasm(size));
    }
    let speed_of = |v: &Value| v[speed].as_f64().unwrap_or(f64::NAN);
    let ratios: Vec<f64> = native_runs
        .iter()
        .zip(&wasm_runs)
        .map(|(n, w)| speed_of(w) / speed_of(n))
        .collect();
    let complete = wasm_runs.len() == native_runs.len();
    let mut report = median_run(native_runs);
    if complete {
        report["wasm"] = median_run(wasm_runs);
        report["wasm_to_native_ratio"] = json!(median(&ratios));
        report["wasm_to_native_ratio_runs"] = json!(ratios);
    }
    report
}

/// glibc maps every block over its mmap threshold (128 KiB at start) afresh and unmaps it
/// when freed, so each of the end-to-end run's batch buffers (hundreds of KiB, one per 5 ms
/// linger) would fault its pages in anew: a page fault per 4 KiB of payload, most of that
/// benchmark's time in the kernel when it runs first. Freeing one mapped block of 16 MiB
/// moves the threshold up to it (glibc's documented dynamic threshold, which a long-running
/// process reaches by itself), so such buffers are reused from the heap. Called after the
/// memory benchmark, which measures the process as it starts.
fn settle_allocator() {
    // black_box: an allocation nobody reads may be optimised away.
    drop(std::hint::black_box(vec![0u8; 16 << 20]));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    // `--only NAME` runs memcpy and that one benchmark (for profiling one at a time);
    // `--wasm SCRIPT` runs the benchmarks both targets run in wasm too (`node SCRIPT`).
    let only = value_of("--only");
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let started = Instant::now();
    let clock = move || started.elapsed().as_secs_f64();
    let (total, rounds) = if quick { (64 << 20, 3) } else { (512 << 20, 5) };
    let memcpy = memcpy_bytes_per_s(total, rounds);
    let mut report = serde_json::Map::new();
    report.insert("mode".into(), json!(if quick { "quick" } else { "full" }));
    report.insert("memcpy_bytes_per_s".into(), json!(memcpy));
    let mut run = |name: &str, f: &mut dyn FnMut() -> Value| {
        if wanted(name) {
            report.insert(name.into(), f());
        }
    };
    // First, while the process holds nothing else: what the other benchmarks leave in the
    // allocator (the gateway's server thread has its own arena) would count as resident.
    if !quick {
        run("memory_one_hour", &mut || memory_hour(&clock));
    }
    settle_allocator();
    run("log_append_read_100b", &mut || {
        log_append_read(100, total, rounds, memcpy)
    });
    run("log_append_read_1kib", &mut || {
        log_append_read(1024, total, rounds, memcpy)
    });
    let size = if quick { Size::Quick } else { Size::Full };
    let mut wasm = value_of("--wasm").and_then(|script| {
        WasmNode::start(&script)
            .map_err(|e| eprintln!("kplay-bench: {e}; native only"))
            .ok()
    });
    run("end_to_end", &mut || {
        let mut e2e = both_targets("end_to_end", "records_per_s", size, &clock, &mut wasm);
        let ratio = e2e["bytes_per_s"].as_f64().unwrap_or(0.0) / memcpy;
        e2e["ratio_to_memcpy"] = json!(ratio);
        e2e
    });
    run("gateway", &mut || {
        let records = if quick { 1_000_000 } else { 10_000_000 };
        gateway::gateway_produce(records, 100, memcpy)
    });
    // The same hour in both cluster modes (KRaft: controllers instead of ZooKeeper).
    for name in ["simulation_speed", "simulation_speed_kraft"] {
        run(name, &mut || {
            both_targets(name, "sim_seconds_per_wall_second", size, &clock, &mut wasm)
        });
    }
    let text = serde_json::to_string_pretty(&Value::Object(report)).unwrap_or_default();
    println!("{text}");
    let _ = std::fs::create_dir_all("target");
    if let Err(e) = std::fs::write("target/bench.json", &text) {
        eprintln!("kplay-bench: could not write target/bench.json: {e}");
    }
}
