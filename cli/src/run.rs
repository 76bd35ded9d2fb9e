//! `kplay run` and `kplay check`: run a scenario for one seed (printing the Report, optionally
//! writing the trace as JSON lines) or for many (printing a summary of violations).

use kplay_core::{Report, Scenario, Sim, SimTime};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// The most seeds `check` sweeps in one call.
pub const MAX_SEEDS: u64 = 100_000;

/// How long to run: `--until SECONDS` or the scenario's `duration_ms`.
fn end(scenario: &Scenario, until: Option<f64>) -> Result<SimTime, String> {
    let max_s = kplay_core::scenario::LIMITS.duration_ms as f64 / 1000.0;
    match until {
        None => Ok(SimTime::from_ms(scenario.duration_ms)),
        Some(s) if s.is_finite() && s > 0.0 && s <= max_s => {
            Ok(SimTime((s * 1_000_000.0).round() as u64))
        }
        Some(s) => Err(format!(
            "--until {s} is out of range: give seconds in (0, {max_s}]"
        )),
    }
}

pub fn run(
    mut scenario: Scenario,
    seed: Option<u64>,
    until: Option<f64>,
    trace: Option<&str>,
) -> Result<Report, String> {
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    let end = end(&scenario, until)?;
    let mut sim = Sim::new(scenario).map_err(|e| e.to_string())?;
    let Some(path) = trace else {
        sim.run_until(end);
        return Ok(sim.report());
    };
    let file = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = std::io::BufWriter::new(file);
    let mut written = 0u64;
    // Run in slices short enough that the trace window still holds every new event.
    let slice_us = 100_000;
    let mut t = SimTime::ZERO;
    while t < end {
        t = SimTime((t.0 + slice_us).min(end.0));
        sim.run_until(t);
        let events = sim
            .trace_since(written)
            .ok_or("the trace window overflowed; raise trace.window in the scenario")?;
        for e in events {
            serde_json::to_writer(&mut out, e).map_err(|e| format!("{path}: {e}"))?;
            out.write_all(b"\n").map_err(|e| format!("{path}: {e}"))?;
        }
        written = sim.trace_events_total();
    }
    out.flush().map_err(|e| format!("{path}: {e}"))?;
    Ok(sim.report())
}

#[derive(Serialize)]
pub struct CheckSummary {
    pub runs: u64,
    pub runs_with_violations: u64,
    /// Violations counted per invariant.
    pub violations: BTreeMap<String, u64>,
    /// The first seed that broke each invariant.
    pub first_seed: BTreeMap<String, u64>,
    pub acked_lost: u64,
    pub runs_with_acked_lost: u64,
    pub lost_by_consumers: u64,
    pub duplicates_consumed: u64,
}

pub fn check(scenario: Scenario, seeds: u64, until: Option<f64>) -> Result<CheckSummary, String> {
    if seeds == 0 || seeds > MAX_SEEDS {
        return Err(format!("--seeds {seeds} is out of range: 1..={MAX_SEEDS}"));
    }
    let end = end(&scenario, until)?;
    let mut summary = CheckSummary {
        runs: 0,
        runs_with_violations: 0,
        violations: BTreeMap::new(),
        first_seed: BTreeMap::new(),
        acked_lost: 0,
        runs_with_acked_lost: 0,
        lost_by_consumers: 0,
        duplicates_consumed: 0,
    };
    for seed in 0..seeds {
        let mut s = scenario.clone();
        s.seed = seed;
        let mut sim = Sim::new(s).map_err(|e| e.to_string())?;
        sim.run_until(end);
        sim.check_invariants();
        let r = sim.report();
        summary.runs += 1;
        if !r.violations.is_empty() {
            summary.runs_with_violations += 1;
        }
        for v in &r.violations {
            *summary
                .violations
                .entry(v.invariant.to_string())
                .or_default() += 1;
            summary
                .first_seed
                .entry(v.invariant.to_string())
                .or_insert(seed);
        }
        summary.acked_lost += r.acked_lost;
        summary.runs_with_acked_lost += u64::from(r.acked_lost > 0);
        summary.lost_by_consumers += r.lost_by_consumers;
        summary.duplicates_consumed += r.duplicates_consumed;
    }
    Ok(summary)
}
