//! Determinism, key placement and retention.

mod common;

use common::{log_of, run, scenario};
use kplay_core::partitioner::partition_for_key;
use kplay_core::{Event, SimTime};
use serde_json::json;

#[test]
fn same_seed_same_trace_and_different_seeds_differ() {
    let faults = json!({"actions": [{"at_ms": 4000, "action": "kill_broker", "broker": 2}, {"at_ms": 9000, "action": "restart_broker", "broker": 2}]});
    let (a, ra) = run(scenario(42, faults.clone()), 15);
    let (b, rb) = run(scenario(42, faults.clone()), 15);
    let (c, _) = run(scenario(43, faults), 15);
    assert_eq!(a.trace_hash(), b.trace_hash());
    assert_eq!(a.trace(), b.trace());
    assert_eq!(ra, rb);
    assert_ne!(a.trace_hash(), c.trace_hash());
}

#[test]
fn a_key_always_lands_in_the_partition_murmur2_picks() {
    let keys: Vec<String> = (0..40).map(|i| format!("customer-{i}")).collect();
    let s = scenario(
        7,
        json!({
            "topics": [{"name": "orders", "partitions": 6, "replication_factor": 3}],
            "producers": [{"topic": "orders", "rate_per_sec": 400, "keys": {"kind": "fixed", "keys": keys}}]
        }),
    );
    let (sim, report) = run(s, 10);
    assert!(report.acked > 2_000);
    let mut checked = 0;
    for p in 0..6 {
        let leader = common::leader_of(&sim, "orders", p).unwrap();
        let log = log_of(&sim, leader, "orders", p);
        log.for_each_batch(0, u64::MAX, |b| {
            for r in b.iter() {
                assert_eq!(
                    partition_for_key(r.key.unwrap(), 6),
                    p,
                    "key {:?}",
                    String::from_utf8_lossy(r.key.unwrap())
                );
                checked += 1;
            }
            true
        });
    }
    assert!(
        checked as u64 >= report.acked,
        "every acknowledged record was checked"
    );
}

#[test]
fn retention_deletes_old_records_while_offsets_keep_growing() {
    let s = scenario(
        8,
        json!({
            "cluster": {"broker_config": {"log.retention.check.interval.ms": 1000}},
            "topics": [{"name": "orders", "partitions": 1, "replication_factor": 3, "config": {"retention.ms": 10000, "segment.ms": 2000}}],
            "producers": [{"topic": "orders", "rate_per_sec": 50}]
        }),
    );
    let (mut sim, _) = run(s, 30);
    let leader = common::leader_of(&sim, "orders", 0).unwrap();
    let (start_a, end_a) = {
        let log = log_of(&sim, leader, "orders", 0);
        (log.log_start_offset(), log.log_end_offset())
    };
    assert!(start_a > 0, "old segments were deleted");
    assert!(
        end_a - start_a < 50 * 14,
        "only about retention.ms worth remains: {start_a}..{end_a}"
    );
    sim.run_until(SimTime::from_secs(40));
    let log = log_of(&sim, leader, "orders", 0);
    assert!(
        log.log_start_offset() > start_a && log.log_end_offset() > end_a,
        "both ends keep moving"
    );
    assert!(sim
        .trace()
        .iter()
        .any(|e| matches!(e.event, Event::RecordsExpired { .. })));
    // Every replica expires on its own; followers also learn the leader's log start.
    for b in 1..=3 {
        assert!(
            log_of(&sim, b, "orders", 0).log_start_offset() > 0,
            "broker {b}"
        );
    }
    assert!(sim.report().violations.is_empty());
}

/// As Kafka's accumulator: a record that does not fit in the open batch's batch.size starts
/// a new batch, so no batch of small records outgrows batch.size, and a busy producer's
/// batches are full to within a record. One record larger than batch.size travels alone.
#[test]
fn batches_stay_within_batch_size() {
    let batch_size = 2_000;
    let (sim, r) = common::run(
        common::scenario(
            3,
            json!({"producers": [
                {"topic": "orders", "rate_per_sec": 20_000, "value_bytes": 90,
                 "config": {"batch.size": batch_size, "linger.ms": 50}},
                {"topic": "orders", "rate_per_sec": 5, "value_bytes": 3_000,
                 "config": {"batch.size": batch_size}}]}),
        ),
        8,
    );
    assert!(r.acked > 50_000, "{r:?}");
    let record = 24 + 90;
    let (mut small, mut full, mut large) = (0, 0, 0);
    for p in 0..3 {
        let leader = common::leader_of(&sim, "orders", p).unwrap();
        common::log_of(&sim, leader, "orders", p).for_each_batch(0, u64::MAX, |b| {
            let size = b.size_bytes();
            if b.records.len() > 3_000 {
                assert_eq!(b.header.record_count, 1, "a large record travels alone");
                large += 1;
            } else {
                assert!(size <= batch_size, "batch of {size} bytes over batch.size");
                small += 1;
                full += usize::from(size + record > batch_size);
            }
            true
        });
    }
    assert!(large > 0 && small > 0);
    assert!(full * 10 > small * 9, "{full} of {small} batches full");
}
