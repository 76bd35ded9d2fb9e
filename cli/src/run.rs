//! `kplay run` and `kplay check`: run a scenario for one seed (printing the Report, optionally
//! writing the trace as JSON lines) or for many (printing a summary of violations).

use kplay_core::vec_map::VecMap;
use kplay_core::{Report, Scenario, Sim, SimTime};
use serde::Serialize;
use std::io::Write;

/// The most seeds `check` sweeps in one call.
pub const MAX_SEEDS: u64 = 100_000;
/// The most threads `check` runs seeds on.
pub const MAX_JOBS: usize = 256;

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
    random_faults: bool,
) -> Result<Report, String> {
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    if random_faults {
        scenario = kplay_core::faults::with_random_faults(scenario);
    }
    let end = end(&scenario, until)?;
    let mut sim = Sim::new(scenario).map_err(|e| e.to_string())?;
    let Some(path) = trace else {
        sim.run_until(end);
        sim.check_invariants();
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
    sim.check_invariants();
    Ok(sim.report())
}

/// What `kplay check` sweeps.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub seeds: u64,
    pub until: Option<f64>,
    /// Adds `kplay_core::faults::random_schedule` for each seed to the scenario's actions.
    pub random_faults: bool,
    /// Threads; the summary is the same for any count.
    pub jobs: usize,
    /// Lists every run's trace hash.
    pub hashes: bool,
}

#[derive(Serialize)]
pub struct CheckSummary {
    pub runs: u64,
    pub random_faults: bool,
    pub runs_with_violations: u64,
    /// Violations counted per invariant.
    pub violations: VecMap<String, u64>,
    /// The first seed that broke each invariant.
    pub first_seed: VecMap<String, u64>,
    pub acked_lost: u64,
    pub runs_with_acked_lost: u64,
    /// Lost acknowledged records per producer acks setting ("0", "1", "all").
    pub acked_lost_by_acks: VecMap<&'static str, u64>,
    /// Why acknowledged records were lost, one entry per cause, with a record from the first
    /// seed that lost one (run that seed with `kplay run --seed` for the whole Report).
    pub acked_lost_why: VecMap<String, LossCause>,
    pub lost_by_consumers: u64,
    pub duplicates_consumed: u64,
    /// Each seed's trace hash, with `--hashes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_hashes: Option<Vec<String>>,
}

#[derive(Serialize)]
pub struct LossCause {
    pub runs: u64,
    pub first_seed: u64,
    pub example: kplay_core::report::LostRecord,
}

/// A loss reason without its details in parentheses (epochs, broker ids), so the same cause
/// in different seeds counts once.
fn cause(why: &str) -> String {
    why.split(" (").next().unwrap_or(why).to_string()
}

/// Runs one seed to the end and checks every invariant on the final state.
fn check_one(
    scenario: &Scenario,
    seed: u64,
    end: SimTime,
    random_faults: bool,
) -> Result<Report, String> {
    let mut s = scenario.clone();
    s.seed = seed;
    if random_faults {
        s = kplay_core::faults::with_random_faults(s);
    }
    let mut sim = Sim::new(s).map_err(|e| e.to_string())?;
    sim.run_until(end);
    sim.check_invariants();
    Ok(sim.report())
}

pub fn check(scenario: Scenario, options: &CheckOptions) -> Result<CheckSummary, String> {
    let seeds = options.seeds;
    if seeds == 0 || seeds > MAX_SEEDS {
        return Err(format!("--seeds {seeds} is out of range: 1..={MAX_SEEDS}"));
    }
    if !(1..=MAX_JOBS).contains(&options.jobs) {
        return Err(format!(
            "--jobs {} is out of range: 1..={MAX_JOBS}",
            options.jobs
        ));
    }
    let end = end(&scenario, options.until)?;
    // Each thread takes the next seed not yet taken; the reports are then merged in seed order.
    let jobs = options.jobs.min(seeds as usize);
    let next = std::sync::atomic::AtomicU64::new(0);
    let mut reports: Vec<(u64, Report)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                let (scenario, next) = (&scenario, &next);
                scope.spawn(move || {
                    std::iter::from_fn(|| {
                        let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        (seed < seeds).then_some(seed)
                    })
                    .map(|seed| {
                        check_one(scenario, seed, end, options.random_faults).map(|r| (seed, r))
                    })
                    .collect::<Result<Vec<_>, String>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Result<Vec<_>, String>>()
            .map(|v| v.into_iter().flatten().collect())
    })?;
    reports.sort_by_key(|(seed, _)| *seed);
    let mut summary = CheckSummary {
        runs: 0,
        random_faults: options.random_faults,
        runs_with_violations: 0,
        violations: VecMap::new(),
        first_seed: VecMap::new(),
        acked_lost: 0,
        runs_with_acked_lost: 0,
        acked_lost_by_acks: VecMap::new(),
        acked_lost_why: VecMap::new(),
        lost_by_consumers: 0,
        duplicates_consumed: 0,
        trace_hashes: options.hashes.then(Vec::new),
    };
    for (seed, r) in reports {
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
        for (acks, n) in &r.acked_lost_by_acks {
            *summary.acked_lost_by_acks.entry(acks).or_default() += n;
        }
        let mut causes: Vec<(String, &kplay_core::report::LostRecord)> = r
            .acked_lost_examples
            .iter()
            .map(|e| (cause(&e.why), e))
            .collect();
        causes.sort_by(|a, b| a.0.cmp(&b.0));
        causes.dedup_by(|a, b| a.0 == b.0);
        for (cause, example) in causes {
            summary
                .acked_lost_why
                .entry(cause)
                .and_modify(|c| c.runs += 1)
                .or_insert_with(|| LossCause {
                    runs: 1,
                    first_seed: seed,
                    example: example.clone(),
                });
        }
        summary.lost_by_consumers += r.lost_by_consumers;
        summary.duplicates_consumed += r.duplicates_consumed;
        if let Some(hashes) = &mut summary.trace_hashes {
            hashes.push(r.trace_hash);
        }
    }
    Ok(summary)
}
