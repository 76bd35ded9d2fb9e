//! `kplay-wasm-node`: the core compiled to wasm32 and run under Node, for what must be
//! measured or checked in wasm itself:
//! - the end-to-end and simulation-speed benchmarks of `kplay-bench`, timed with
//!   `performance.now()` (`bench/wasm.mjs`; `kplay-bench --wasm FILE` puts them beside the
//!   native ones with `wasm_to_native_ratio`);
//! - the trace hash of every lesson for a range of seeds, which `tests/determinism/` compares
//!   with `kplay check --hashes` run natively.

use kplay_bench::{
    default_lesson, e2e_records, end_to_end, median_run, simulation_speed, speed_sim_secs,
    TIMED_RUNS,
};
use kplay_core::{lessons, Sim, SimTime};
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

/// Runs both benchmarks (`quick`: the smaller sizes) and returns their JSON.
#[wasm_bindgen]
pub fn run(quick: bool) -> String {
    let clock = || now() / 1_000.0;
    reserve_heap(HEAP_BYTES);
    let runs = TIMED_RUNS;
    json!({
        "end_to_end": median_run(runs, || end_to_end(e2e_records(quick), 100, &clock)),
        "simulation_speed": median_run(runs, || {
            simulation_speed(default_lesson(None), speed_sim_secs(quick), &clock, &mut |_| {})
        }),
    })
    .to_string()
}

/// The lessons' names, as a JSON array.
#[wasm_bindgen]
pub fn lesson_names() -> String {
    json!(lessons::LESSONS.iter().map(|(n, _)| *n).collect::<Vec<_>>()).to_string()
}

/// A lesson's trace hashes for seeds `0..seeds`, each run to the lesson's end with every
/// invariant checked — what `kplay check LESSON --seeds N --hashes` lists — as a JSON array.
#[wasm_bindgen]
pub fn lesson_trace_hashes(name: &str, seeds: u32) -> Result<String, String> {
    let lesson = lessons::get(name).ok_or_else(|| format!("no lesson named {name}"))?;
    let end = SimTime::from_ms(lesson.duration_ms);
    let hashes = (0..seeds as u64)
        .map(|seed| {
            let mut sim = Sim::new(kplay_core::Scenario {
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
