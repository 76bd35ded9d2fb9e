//! `kplay-wasm-node`: the core compiled to wasm32 and run under Node, for what must be
//! measured or checked in wasm itself:
//! - the end-to-end and simulation-speed benchmarks of `kplay-bench`, timed with
//!   `performance.now()`: `kplay-bench --wasm bench/wasm.mjs` asks this module (through that
//!   script, in one Node process) for one run at a time, between its own native runs;
//! - the trace hash of every lesson for a range of seeds, which `tests/determinism/` compares
//!   with `kplay check --hashes` run natively.

use kplay_bench::Size;
use kplay_core::scenario::ClusterMode;
use kplay_core::{lessons, Scenario, Sim, SimTime};
use serde_json::json;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Node's (and browsers') monotonic clock, in milliseconds.
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
}

/// What both benchmarks' runs need at most (the end-to-end one keeps 16 MB of log per
/// replica), with room to spare.
const HEAP_BYTES: usize = 512 << 20;

/// Grows the wasm heap once, up front. The allocator otherwise grows linear memory a few
/// pages at a time as the simulation allocates, and V8 follows those grows with full garbage
/// collections: ~1,400 in one run of both benchmarks, a third of the simulated hour's wall
/// time (measured with `node --trace-gc`). Freed,
/// the block stays in the allocator's free space (wasm memory never shrinks), so the runs
/// allocate from it without growing memory again.
fn reserve_heap(bytes: usize) {
    // black_box: an allocation nobody reads may be optimised away.
    drop(std::hint::black_box(Vec::<u8>::with_capacity(bytes)));
}

/// One run of the benchmark `name` (`end_to_end` or `simulation_speed`) at `size`
/// (`warm-up`, `quick` or `full`), as its JSON. The first call grows the heap.
#[wasm_bindgen]
pub fn run_once(name: &str, size: &str) -> Result<String, String> {
    static RESERVE: std::sync::Once = std::sync::Once::new();
    RESERVE.call_once(|| reserve_heap(HEAP_BYTES));
    let size = Size::parse(size).ok_or_else(|| format!("no benchmark size named {size}"))?;
    let clock = || now() / 1_000.0;
    kplay_bench::run_once(name, size, &clock)
        .map(|v| v.to_string())
        .ok_or_else(|| format!("no wasm benchmark named {name}"))
}

/// The lessons that can run in `mode` (`zookeeper`, `kraft`, or `""` for each lesson's own),
/// as a JSON array of names.
#[wasm_bindgen]
pub fn lesson_names(mode: &str) -> Result<String, String> {
    let mut names = Vec::new();
    for (name, _) in lessons::LESSONS {
        if lesson_in(name, mode)?.is_some() {
            names.push(*name);
        }
    }
    Ok(json!(names).to_string())
}

/// A lesson's scenario in `mode`; `None` if it cannot run there (ZooKeeper's own lesson in
/// KRaft mode).
fn lesson_in(name: &str, mode: &str) -> Result<Option<Scenario>, String> {
    let lesson = lessons::get(name).ok_or_else(|| format!("no lesson named {name}"))?;
    if mode.is_empty() {
        return Ok(Some(lesson));
    }
    Ok(lesson.with_mode(ClusterMode::parse(mode)?).ok())
}

/// A lesson's trace hashes in `mode` for seeds `0..seeds`, each run to the lesson's end with
/// every invariant checked — what `kplay check LESSON --seeds N --hashes [--mode M]` lists —
/// as a JSON array.
#[wasm_bindgen]
pub fn lesson_trace_hashes(name: &str, seeds: u32, mode: &str) -> Result<String, String> {
    let lesson =
        lesson_in(name, mode)?.ok_or_else(|| format!("{name} cannot run in {mode} mode"))?;
    let end = SimTime::from_ms(lesson.duration_ms);
    let hashes = (0..seeds as u64)
        .map(|seed| {
            let mut sim = Sim::new(Scenario {
                seed,
                ..lesson.clone()
            })
            .map_err(|e| e.to_string())?;
            sim.run_until(end);
            sim.check_invariants();
            Ok(sim.report().trace_hash)
        })
        .collect::<Result<Vec<String>, String>>()?;
    Ok(json!(hashes).to_string())
}
