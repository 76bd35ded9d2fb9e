//! Helpers shared by the scenario tests.
#![allow(dead_code)]

use kplay_core::{Report, Scenario, Sim, SimTime};
use serde_json::{json, Value};

/// A 3-broker, 3-ZooKeeper cluster with one topic, one producer and one consumer; `patch`
/// overrides fields (merged recursively).
pub fn scenario(seed: u64, patch: Value) -> Scenario {
    let mut base = json!({
        "seed": seed,
        "topics": [{"name": "orders", "partitions": 3, "replication_factor": 3, "config": {"min.insync.replicas": 2}}],
        "producers": [{"topic": "orders", "rate_per_sec": 500, "keys": {"kind": "random", "count": 50}}],
        "consumers": [{"topic": "orders", "config": {"auto.offset.reset": "earliest"}}]
    });
    merge(&mut base, patch);
    Scenario::from_json(&base.to_string()).expect("test scenario is valid")
}

pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

pub fn run(scenario: Scenario, secs: u64) -> (Sim, Report) {
    let mut sim = Sim::new(scenario).expect("scenario builds");
    sim.run_until(SimTime::from_secs(secs));
    let report = sim.report();
    (sim, report)
}

/// The broker leading a partition, per ZooKeeper.
pub fn leader_of(sim: &Sim, topic: &str, partition: u32) -> Option<u32> {
    sim.partition_state(topic, partition)
        .and_then(|s| s.0)
        .map(|b| b.0)
}

/// A live broker's log of a partition; panics with the names if there is none.
pub fn log_of<'a>(
    sim: &'a Sim,
    broker: u32,
    topic: &str,
    partition: u32,
) -> &'a kplay_core::log::PartitionLog {
    sim.broker(broker)
        .and_then(|b| b.log(&kplay_core::TopicPartition::new(&topic.into(), partition)))
        .unwrap_or_else(|| panic!("broker {broker} has no live log of {topic}-{partition}"))
}
