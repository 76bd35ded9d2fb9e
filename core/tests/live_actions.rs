//! What a person does while the simulation runs: actions recorded into the scenario replay to
//! the same trace; producers and consumers added and stopped; the log strips the UI draws.

mod common;

use common::{leader_of, scenario};
use kplay_core::view::CellKind;
use kplay_core::view::PartitionLogView;
use kplay_core::{Command, Sim, SimTime};
use serde_json::json;

/// Acts at awkward moments (mid-millisecond, on a ZooKeeper tick) and checks that a fresh
/// simulation of the recorded scenario reproduces the run event for event.
#[test]
fn live_actions_are_recorded_and_replay_to_the_same_trace() {
    for seed in 1..=5 {
        let mut live = Sim::new(scenario(seed, json!({}))).unwrap();
        // Just before whole half-seconds (the action lands on them, with timers that fire
        // there), and mid-millisecond.
        let mut steps: Vec<(u64, Command)> = (1..20)
            .map(|k| {
                let produce = Command::Produce {
                    topic: "orders".into(),
                    key: Some(format!("key-{k}")),
                    value: "hi".into(),
                    producer: None,
                };
                (k * 500_000 - 1, produce)
            })
            .collect();
        steps.insert(4, (2_345_678, Command::KillBroker { broker: 2 }));
        steps.insert(
            12,
            (
                6_500_001,
                Command::RestartBroker {
                    broker: 2,
                    disk_lost: false,
                },
            ),
        );
        steps.sort_by_key(|s| s.0);
        for (at_us, command) in steps {
            live.run_until(SimTime(at_us));
            let at = live.act(command).unwrap();
            assert!(
                at > live.now(),
                "an action runs after what already happened"
            );
            assert_eq!(at.as_us() % 1_000, 0, "actions land on whole milliseconds");
        }
        live.run_until(SimTime::from_secs(12));
        assert_eq!(live.scenario().actions.len(), 21);

        let mut replay = Sim::new(live.scenario().clone()).unwrap();
        replay.run_until(SimTime::from_secs(12));
        assert_eq!(replay.trace_hash(), live.trace_hash(), "seed {seed}");
        assert_eq!(replay.report(), live.report(), "seed {seed}");
    }
}

#[test]
fn bad_live_actions_are_refused_and_not_recorded() {
    let mut sim = Sim::new(scenario(1, json!({}))).unwrap();
    let error = sim.act(Command::KillBroker { broker: 7 }).unwrap_err();
    assert_eq!(error.to_string(), "actions[0].broker is 7; allowed: 1 to 3");
    let error = sim.act(Command::StopProducer { producer: 9 }).unwrap_err();
    assert!(error.to_string().contains("producer:9"), "{error}");
    assert!(sim.scenario().actions.is_empty());
}

#[test]
fn producers_and_consumers_can_be_added_and_stopped_while_running() {
    let mut sim = Sim::new(scenario(
        3,
        json!({"consumers": [{"topic": "orders", "config": {"group.id": "billing", "auto.offset.reset": "earliest"}}]}),
    ))
    .unwrap();
    sim.run_until(SimTime::from_secs(8));
    let producer = serde_json::from_value(json!({"topic": "orders", "rate_per_sec": 200})).unwrap();
    sim.act(Command::AddProducer { producer }).unwrap();
    let consumer = serde_json::from_value(
        json!({"topic": "orders", "config": {"group.id": "billing", "auto.offset.reset": "earliest"}}),
    )
    .unwrap();
    sim.act(Command::AddConsumer { consumer }).unwrap();
    sim.run_until(SimTime::from_secs(20));

    let view = sim.view();
    // Producers 0 (scenario), 1 (console), 2 (added).
    let added = view.producers.iter().find(|p| p.index == 2).unwrap();
    assert!(added.acked > 1_500, "added producer acked {}", added.acked);
    let group = view.groups.iter().find(|g| g.id == "billing").unwrap();
    assert_eq!(
        group.members.len(),
        2,
        "the added consumer joined the group"
    );
    assert!(view.consumers[1].consumed > 0);
    // A later action can name the added consumer.
    sim.act(Command::CrashConsumer {
        consumer: 1,
        at: Default::default(),
    })
    .unwrap();

    sim.act(Command::StopProducer { producer: 2 }).unwrap();
    sim.run_until(SimTime::from_secs(22));
    let produced = sim.view().producers[2].produced;
    sim.run_until(SimTime::from_secs(30));
    assert_eq!(
        sim.view().producers[2].produced,
        produced,
        "a stopped producer sends nothing new"
    );
    assert_eq!(sim.report().acked_lost, 0);

    let mut replay = Sim::new(sim.scenario().clone()).unwrap();
    replay.run_until(SimTime::from_secs(30));
    assert_eq!(replay.trace_hash(), sim.trace_hash());
}

#[test]
fn the_partition_log_view_shows_keys_expired_records_and_markers() {
    let mut sim = Sim::new(scenario(
        5,
        json!({
            "topics": [{"name": "orders", "partitions": 1, "replication_factor": 3,
                        "config": {"retention.ms": 3000, "segment.bytes": 2000}}],
            "producers": [{"topic": "orders", "rate_per_sec": 50, "keys": {"kind": "fixed", "keys": ["alice", "bob"]}}],
            "cluster": {"broker_config": {"log.retention.check.interval.ms": 1000}}
        }),
    ))
    .unwrap();
    sim.run_until(SimTime::from_secs(15));
    let log = PartitionLogView::of(&sim, "orders", 0, 400).unwrap();
    assert_eq!(Some(log.source.0), leader_of(&sim, "orders", 0));
    assert!(log.log_start_offset > 0, "retention deleted segments");
    assert_eq!(
        log.cells.len() as u64,
        log.log_end_offset - log.first_offset
    );
    for (i, cell) in log.cells.iter().enumerate() {
        assert_eq!(cell.offset, log.first_offset + i as u64);
        let expired = cell.offset < log.log_start_offset;
        assert_eq!(
            cell.kind == CellKind::Expired,
            expired,
            "offset {}",
            cell.offset
        );
        if !expired {
            assert_eq!(cell.kind, CellKind::Record);
            let key = cell.key.as_deref().unwrap();
            assert!(key == "alice" || key == "bob", "{key}");
        }
    }
    assert!(PartitionLogView::of(&sim, "nope", 0, 10).is_none());
}

#[test]
fn transaction_markers_show_in_the_log_view() {
    let mut sim = Sim::new(scenario(
        2,
        json!({
            "topics": [{"name": "orders", "partitions": 1, "replication_factor": 3, "config": {"min.insync.replicas": 2}},
                       {"name": "out", "partitions": 1, "replication_factor": 3, "config": {"min.insync.replicas": 2}}],
            "consumers": [{"topic": "orders", "commit": "transactional", "output_topic": "out",
                           "config": {"group.id": "eos", "auto.offset.reset": "earliest"}}]
        }),
    ))
    .unwrap();
    sim.run_until(SimTime::from_secs(15));
    let log = PartitionLogView::of(&sim, "out", 0, 10_000).unwrap();
    let markers = log
        .cells
        .iter()
        .filter(|c| matches!(c.kind, CellKind::Marker { commits: true }))
        .count();
    let records = log
        .cells
        .iter()
        .filter(|c| c.kind == CellKind::Transactional)
        .count();
    assert!(
        markers > 0 && records > markers,
        "{markers} markers, {records} records"
    );
}
