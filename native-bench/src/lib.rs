//! The cluster benchmarks `kplay-bench` runs natively and `kplay-wasm-node` runs in wasm32
//! under Node: the same code, timed by a clock the caller passes (`std::time` natively,
//! `performance.now()` in wasm), so their ratio compares the targets and nothing else.

use kplay_core::scenario::ClusterMode;
use kplay_core::{lessons, Scenario, Sim, SimTime};
use serde_json::{json, Value};

/// How big a run is: `Full` for `make bench`, `Quick` for `make bench-quick`, `WarmUp` for
/// the untimed run before either (in wasm, V8 compiles the module's hot code with its
/// optimising tier during the first runs: a first simulated minute took 0.35–0.42 s, four
/// times the rate of later runs, and the run after it was still about a tenth slower;
/// natively, the first run faults its pages in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    WarmUp,
    Quick,
    Full,
}

impl Size {
    pub fn name(self) -> &'static str {
        match self {
            Size::WarmUp => "warm-up",
            Size::Quick => "quick",
            Size::Full => "full",
        }
    }
    pub fn parse(name: &str) -> Option<Size> {
        [Size::WarmUp, Size::Quick, Size::Full]
            .into_iter()
            .find(|s| s.name() == name)
    }
    /// Records the end-to-end benchmark moves.
    pub fn e2e_records(self) -> u64 {
        match self {
            Size::WarmUp => 200_000,
            Size::Quick => 2_000_000,
            Size::Full => 20_000_000,
        }
    }
    /// Simulated seconds the simulation-speed benchmark runs.
    pub fn sim_secs(self) -> u64 {
        match self {
            Size::WarmUp => 300,
            Size::Quick => 600,
            Size::Full => 3_600,
        }
    }
}

/// Wall-clock seconds since some fixed point.
pub type Clock<'a> = &'a dyn Fn() -> f64;

/// How many times the timed cluster benchmarks run, quick or not: the machines these run on
/// are shared virtual ones, where one run's wall time can be a third off (another tenant's
/// burst).
pub const TIMED_RUNS: usize = 3;

/// One run of a benchmark both targets run, by name (None for another name).
pub fn run_once(name: &str, size: Size, clock: Clock<'_>) -> Option<Value> {
    match name {
        "end_to_end" => Some(end_to_end(size.e2e_records(), 100, clock)),
        "simulation_speed" => Some(simulation_speed(
            default_lesson(None),
            size.sim_secs(),
            clock,
            &mut |_| {},
        )),
        "simulation_speed_kraft" => Some(simulation_speed(
            default_lesson(None)
                .with_mode(ClusterMode::KRaft)
                .expect("the default lesson runs in KRaft mode"),
            size.sim_secs(),
            clock,
            &mut |_| {},
        )),
        _ => None,
    }
}

/// The median of `runs` by `wall_seconds`, with every run's wall time in
/// `wall_seconds_runs` (in the order they ran).
pub fn median_run(mut runs: Vec<Value>) -> Value {
    let wall = |v: &Value| v["wall_seconds"].as_f64().unwrap_or(f64::INFINITY);
    if runs.is_empty() {
        return json!({});
    }
    let all: Vec<f64> = runs.iter().map(wall).collect();
    runs.sort_by(|a, b| wall(a).total_cmp(&wall(b)));
    let mut median = runs.swap_remove(runs.len() / 2);
    median["wall_seconds_runs"] = json!(all);
    median
}

/// The median of a list of numbers (NaN for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The default lesson (3 brokers, 3 ZooKeeper servers, replication, a consumer group, broker
/// 1 killed at 15 s) with everything on, every message traced; with `retention_ms`, orders
/// keeps records that long and rolls a segment every minute (retention deletes whole closed
/// segments only, so with the default 7-day `segment.ms` nothing would go in an hour).
pub fn default_lesson(retention_ms: Option<i64>) -> Scenario {
    let mut scenario = lessons::get("replication-and-isr").expect("the default lesson exists");
    if let Some(ms) = retention_ms {
        for topic in &mut scenario.topics {
            topic.config.retention_ms = Some(ms);
            topic.config.segment_ms = Some(60_000);
        }
    }
    scenario
}

/// Simulation speed for teaching: `scenario` run for `sim_secs`. `on_progress` is called
/// every simulated 10 minutes (natively, memory is sampled there).
pub fn simulation_speed(
    scenario: Scenario,
    sim_secs: u64,
    clock: Clock<'_>,
    on_progress: &mut dyn FnMut(u64),
) -> Value {
    let name = scenario.name.clone();
    let mut sim = Sim::new(scenario).expect("the benchmark scenario builds");
    let start = clock();
    let mut at = 0;
    while at < sim_secs {
        at = (at + 600).min(sim_secs);
        sim.run_until(SimTime::from_secs(at));
        on_progress(at);
    }
    let secs = clock() - start;
    json!({
        "scenario": name,
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
/// logs bounded; the producer starts once the group has its partitions (at 2 s). The caller
/// adds `ratio_to_memcpy`.
pub fn end_to_end(records: u64, record_bytes: u32, clock: Clock<'_>) -> Value {
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
    let start = clock();
    let mut consumed = 0;
    while consumed < records && sim.now() < SimTime::from_secs(600) {
        let next = sim.now().plus_ms(100);
        sim.run_until(next);
        consumed = sim.view().consumers.iter().map(|c| c.consumed).sum();
    }
    let secs = clock() - start;
    let bytes = consumed as f64 * record_bytes as f64;
    json!({
        "record_bytes": record_bytes,
        "records": consumed,
        "sim_seconds": sim.now().as_us() as f64 / 1e6,
        "wall_seconds": secs,
        "events": sim.steps(),
        "records_per_s": consumed as f64 / secs,
        "bytes_per_s": bytes / secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_run_reports_the_middle_run_and_all_times() {
        let runs = [3.0, 1.0, 2.0].map(|t| json!({"wall_seconds": t, "run": t}));
        let out = median_run(runs.to_vec());
        assert_eq!(out["run"], json!(2.0));
        assert_eq!(out["wall_seconds_runs"], json!([3.0, 1.0, 2.0]));
        assert_eq!(median_run(Vec::new()), json!({}));
        assert_eq!(median(&[0.9, 0.5, 0.7]), 0.7);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn sizes_round_trip_by_name_and_grow() {
        for size in [Size::WarmUp, Size::Quick, Size::Full] {
            assert_eq!(Size::parse(size.name()), Some(size));
        }
        assert_eq!(Size::parse("huge"), None);
        assert!(Size::WarmUp.sim_secs() < Size::Quick.sim_secs());
        assert!(Size::Quick.e2e_records() < Size::Full.e2e_records());
        assert!(run_once("gateway", Size::WarmUp, &|| 0.0).is_none());
    }
}
