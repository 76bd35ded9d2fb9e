//! `kplay-wasm-bench`: the end-to-end and simulation-speed benchmarks of `kplay-bench`, the
//! same code compiled to wasm32 and timed with `performance.now()`. `bench/wasm.mjs` runs it
//! under Node; `kplay-bench --wasm FILE` puts the results beside the native ones with
//! `wasm_to_native_ratio`.

use kplay_bench::{default_lesson, e2e_records, end_to_end, simulation_speed, speed_sim_secs};
use serde_json::json;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Node's (and browsers') monotonic clock, in milliseconds.
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
}

/// Runs both benchmarks (`quick`: the smaller sizes) and returns their JSON.
#[wasm_bindgen]
pub fn run(quick: bool) -> String {
    let clock = || now() / 1_000.0;
    json!({
        "end_to_end": end_to_end(e2e_records(quick), 100, &clock),
        "simulation_speed": simulation_speed(default_lesson(None), speed_sim_secs(quick), &clock, &mut |_| {}),
    })
    .to_string()
}
