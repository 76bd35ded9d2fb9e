//! The delivery guarantees a consumer application gets from where it commits, proven over many
//! seeds: a consumer crashes at a seed-dependent moment at the worst point for its mode, the
//! other member of its group takes over from the committed offsets, and the Report's delivery
//! ledger counts what was lost and what was processed twice.

mod common;

use common::{run, scenario};
use serde_json::json;

const SEEDS: u64 = 50;

/// Two members of group `g` read 3 partitions; member 0 crashes at `point` between 8 and 13 s.
fn crash_scenario(seed: u64, commit: &str, point: &str) -> kplay_core::Scenario {
    let member = json!({
        "topic": "orders",
        "processing_us": 1_000,
        "commit": commit,
        "config": {"group.id": "g", "auto.offset.reset": "earliest",
                   "session.timeout.ms": 6_000, "heartbeat.interval.ms": 1_000}
    });
    scenario(
        seed,
        json!({
            "producers": [{"topic": "orders", "rate_per_sec": 200, "keys": {"kind": "random", "count": 50}}],
            "consumers": [member.clone(), member],
            "actions": [{"at_ms": 8_000 + seed * 7_919 % 5_000, "action": "crash_consumer", "consumer": 0, "at": point}],
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

/// An exactly-once application (two members of group `eos`) copies `orders` into `results`;
/// member 0 crashes at `point` between 8 and 13 s; its open transaction is aborted when its
/// 5 s timeout is found expired. Production stops at 25 s so every transaction has ended by
/// the time the logs are checked.
fn eos_scenario(seed: u64, point: &str) -> kplay_core::Scenario {
    let member = json!({
        "topic": "orders",
        "processing_us": 1_000,
        "commit": "transactional",
        "output_topic": "results",
        "transaction_timeout_ms": 5_000,
        "config": {"group.id": "eos", "auto.offset.reset": "earliest",
                   "session.timeout.ms": 6_000, "heartbeat.interval.ms": 1_000}
    });
    scenario(
        seed,
        json!({
            "topics": [
                {"name": "orders", "partitions": 3, "replication_factor": 3, "config": {"min.insync.replicas": 2}},
                {"name": "results", "partitions": 3, "replication_factor": 3, "config": {"min.insync.replicas": 2}}
            ],
            "producers": [{"topic": "orders", "rate_per_sec": 200, "stop_ms": 25_000,
                           "keys": {"kind": "random", "count": 50}}],
            "consumers": [
                member.clone(), member,
                {"topic": "results", "config": {"isolation.level": "read_committed", "auto.offset.reset": "earliest"}}
            ],
            "actions": [{"at_ms": 8_000 + seed * 7_919 % 5_000, "action": "crash_consumer", "consumer": 0, "at": point}],
            "trace": {"messages": false}
        }),
    )
}

#[test]
fn exactly_once_copies_every_input_record_once_despite_a_crash_mid_transaction() {
    for seed in 0..SEEDS {
        let (sim, r) = run(eos_scenario(seed, "before_commit"), 40);
        let eos = &r.exactly_once[0];
        let log = sim
            .trace()
            .iter()
            .filter_map(|e| {
                e.event
                    .describe()
                    .map(|d| format!("{:.3} {d}", e.at.as_secs_f64()))
            })
            .filter(|l| !l.contains("znode") && !l.contains("leader →"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(eos.input_records > 3_000, "seed {seed}: {eos:?}\n{log}");
        assert_eq!(
            (eos.duplicates, eos.missing),
            (0, 0),
            "seed {seed}: {eos:?}"
        );
        assert!(
            eos.aborted_records > 0,
            "seed {seed}: the crashed transaction was aborted: {eos:?}"
        );
        assert!(r.violations.is_empty(), "seed {seed}: {:?}", r.violations);
        // The read_committed reader of the output sees exactly the committed records.
        let reader = r.readers.iter().find(|x| x.reader == "consumer 2").unwrap();
        assert_eq!(reader.processed, eos.output_records, "seed {seed}");
    }
}

#[test]
fn a_restarted_or_paused_instance_fences_its_zombie_and_exactly_once_holds() {
    use kplay_core::trace::Event;
    // Restart within the session timeout: the new instance's InitProducerId aborts the open
    // transaction and bumps the epoch.
    let mut s = eos_scenario(11, "before_commit");
    s.actions.push(
        serde_json::from_value(
            json!({"at_ms": 15_000, "action": "restart_consumer", "consumer": 0}),
        )
        .unwrap(),
    );
    let (sim, r) = run(s, 40);
    let restarted = sim.trace().iter().any(|e| {
        matches!(&e.event, Event::TransactionEnding { reason: Some(why), .. } if why.contains("restarted"))
    });
    assert!(restarted, "the restart aborted the zombie's transaction");
    let eos = &r.exactly_once[0];
    assert_eq!((eos.duplicates, eos.missing), (0, 0), "{eos:?}");
    // Paused just before committing, longer than max.poll.interval.ms and the transaction
    // timeout: the group moves on, the coordinator aborts with a bumped epoch, and the
    // instance that wakes up is fenced.
    let mut s = eos_scenario(12, "before_commit");
    s.consumers[0].config.max_poll_interval_ms = 8_000;
    s.actions = vec![serde_json::from_value(json!(
        {"at_ms": 9_000, "action": "pause_consumer", "consumer": 0, "ms": 15_000, "at": "before_commit"}
    ))
    .unwrap()];
    let (sim, r) = run(s, 40);
    let eos = &r.exactly_once[0];
    assert_eq!((eos.duplicates, eos.missing), (0, 0), "{eos:?}");
    assert!(eos.input_records > 3_000);
    let fenced = sim
        .trace()
        .iter()
        .any(|e| matches!(&e.event, Event::ProducerFenced { transactional_id } if transactional_id == "eos-0"));
    assert!(fenced, "the paused instance was fenced when it woke up");
    // The view shows both transactional ids (epoch 0 → 1 for the fenced one) and the counts.
    let view = sim.view();
    let ids: Vec<(&str, i16)> = view
        .transactions
        .iter()
        .map(|t| (t.transactional_id.as_str(), t.producer_epoch))
        .collect();
    assert!(
        ids.contains(&("eos-0", 2)) && ids.iter().any(|(id, _)| *id == "eos-1"),
        "{ids:?}"
    );
    assert!(view.consumers[1].transactions_committed > 100);
    assert!(view.consumers[0].transactions_aborted >= 1);
}
