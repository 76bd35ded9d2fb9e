//! The delivery guarantees a consumer application gets from where it commits, proven over many
//! seeds: a consumer crashes at a seed-dependent moment at the worst point for its mode, the
//! other member of its group takes over from the committed offsets, and the Report's delivery
//! ledger counts what was lost and what was processed twice.

mod common;

use common::{run, scenario};
use serde_json::json;

const SEEDS: u64 = 50;

/// Two members of group `g` read 3 partitions; member 0 crashes at `point` between 10 and 20 s.
fn crash_scenario(seed: u64, commit: &str, point: &str) -> kplay_core::Scenario {
    let member = json!({
        "topic": "orders",
        "processing_us": 1_000,
        "commit": commit,
        "config": {"group.id": "g", "auto.offset.reset": "earliest",
                   "session.timeout.ms": 10_000, "heartbeat.interval.ms": 1_000}
    });
    scenario(
        seed,
        json!({
            "producers": [{"topic": "orders", "rate_per_sec": 200, "keys": {"kind": "random", "count": 50}}],
            "consumers": [member.clone(), member],
            "actions": [{"at_ms": 10_000 + seed * 7_919 % 10_000, "action": "crash_consumer", "consumer": 0, "at": point}],
            "trace": {"messages": false}
        }),
    )
}

#[test]
fn at_most_once_loses_records_at_least_once_duplicates_them() {
    let (mut most_lost, mut least_duplicates) = (0, 0);
    for seed in 0..SEEDS {
        let (_, r) = run(
            crash_scenario(seed, "before_processing", "before_process"),
            40,
        );
        assert!(
            r.lost_by_consumers > 0,
            "seed {seed}: at-most-once lost nothing: {:?}",
            r.readers
        );
        assert_eq!(
            r.duplicates_consumed, 0,
            "seed {seed}: at-most-once never re-delivers"
        );
        assert!(r.violations.is_empty(), "seed {seed}: {:?}", r.violations);
        most_lost += r.lost_by_consumers;

        let (_, r) = run(
            crash_scenario(seed, "after_processing", "before_commit"),
            40,
        );
        assert_eq!(
            r.lost_by_consumers, 0,
            "seed {seed}: at-least-once lost records: {:?}",
            r.readers
        );
        assert!(
            r.duplicates_consumed > 0,
            "seed {seed}: no re-delivery: {:?}",
            r.readers
        );
        assert!(r.violations.is_empty(), "seed {seed}: {:?}", r.violations);
        least_duplicates += r.duplicates_consumed;
    }
    assert!(most_lost >= SEEDS && least_duplicates >= SEEDS);
}

#[test]
fn auto_commit_without_crashes_loses_nothing_and_repeats_nothing() {
    let member =
        json!({"topic": "orders", "config": {"group.id": "g", "auto.offset.reset": "earliest"}});
    let (_, r) = run(
        scenario(
            3,
            json!({"consumers": [member.clone(), member], "trace": {"messages": false}}),
        ),
        30,
    );
    assert!(r.consumed > 10_000, "{r:?}");
    assert_eq!((r.lost_by_consumers, r.duplicates_consumed), (0, 0));
    assert_eq!(r.readers.len(), 1);
    assert_eq!(r.readers[0].reader, "group g");
    assert_eq!(r.readers[0].committed.len(), 3);
}
