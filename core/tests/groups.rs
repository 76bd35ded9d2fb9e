//! Consumer groups end to end: coordinator discovery, rebalances, committed offsets, failover
//! of the coordinator, and what each commit mode does when a consumer crashes.

mod common;

use common::{run, scenario};
use kplay_core::trace::Event;
use kplay_core::{Command, Sim, SimTime};
use serde_json::json;

fn group_scenario(seed: u64, members: usize, extra: serde_json::Value) -> kplay_core::Scenario {
    let consumers: Vec<serde_json::Value> = (0..members)
        .map(|i| {
            json!({"topic": "orders", "start_ms": i as u64 * 10_000,
                   "config": {"group.id": "billing", "auto.offset.reset": "earliest"}})
        })
        .collect();
    let mut patch = json!({
        "topics": [{"name": "orders", "partitions": 6, "replication_factor": 3, "config": {"min.insync.replicas": 2}}],
        "producers": [{"topic": "orders", "rate_per_sec": 300, "keys": {"kind": "random", "count": 100}}],
        "consumers": consumers,
        // Keep the whole story in the trace window: no per-message events.
        "trace": {"messages": false},
    });
    common::merge(&mut patch, extra);
    scenario(seed, patch)
}

fn debug_events(sim: &Sim) -> String {
    sim.trace()
        .iter()
        .filter_map(|e| {
            e.event
                .describe()
                .map(|d| format!("{:>10.3}s {d}", e.at.as_secs_f64()))
        })
        .filter(|l| l.contains("group") || l.contains("consumer") || l.contains("coordinator"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_group_shares_partitions_and_rebalances_as_members_join() {
    let (sim, report) = run(group_scenario(1, 3, json!({})), 60);
    let groups = kplay_core::view::GroupView::all(&sim);
    assert_eq!(groups.len(), 1, "{}", debug_events(&sim));
    let g = &groups[0];
    assert_eq!(g.id, "billing");
    assert_eq!(format!("{:?}", g.state), "Stable", "{}", debug_events(&sim));
    assert_eq!(g.members.len(), 3);
    for m in &g.members {
        assert_eq!(m.assignment.len(), 2, "{g:?}");
    }
    assert!(g.generation >= 3, "one rebalance per joiner: {g:?}");
    assert!(report.consumed > 5_000, "{report:?}");
    assert!(report.violations.is_empty());
}

fn events(sim: &Sim) -> impl Iterator<Item = (f64, &Event)> {
    sim.trace().iter().map(|e| (e.at.as_secs_f64(), &e.event))
}

#[test]
fn members_beyond_the_partition_count_are_idle() {
    let (sim, _) = run(
        group_scenario(
            2,
            4,
            json!({"topics": [{"name": "orders", "partitions": 3, "replication_factor": 3}]}),
        ),
        60,
    );
    let view = sim.view();
    let idle: Vec<u32> = view
        .consumers
        .iter()
        .filter(|c| c.idle)
        .map(|c| c.index)
        .collect();
    assert_eq!(idle.len(), 1, "{:?}", view.consumers);
    let g = &view.groups[0];
    assert_eq!(g.members.len(), 4);
    assert_eq!(
        g.members.iter().map(|m| m.assignment.len()).sum::<usize>(),
        3
    );
}

#[test]
fn a_crashed_member_is_removed_after_its_session_timeout_and_others_take_over() {
    let mut sim = Sim::new(group_scenario(3, 2, json!({}))).unwrap();
    sim.run_until(SimTime::from_secs(30));
    sim.apply(Command::CrashConsumer {
        consumer: 1,
        at: Default::default(),
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(100));
    let removed: Vec<f64> = events(&sim)
        .filter_map(|(t, e)| match e {
            Event::GroupMemberRemoved { reason, .. } if reason.contains("session timeout") => {
                Some(t)
            }
            _ => None,
        })
        .collect();
    // session.timeout.ms defaults to 45 s: the crash at 30 s is noticed 45 s after the last
    // heartbeat.
    assert_eq!(removed.len(), 1, "{}", debug_events(&sim));
    // The last heartbeat was at most heartbeat.interval.ms (3 s) before the crash.
    assert!((72.0..75.5).contains(&removed[0]), "{removed:?}");
    let g = &sim.view().groups[0];
    assert_eq!(g.members.len(), 1);
    assert_eq!(g.members[0].assignment.len(), 6);
    let report = sim.report();
    assert_eq!(
        report.lost_by_consumers, 0,
        "auto-commit never skips records"
    );
}

#[test]
fn a_consumer_that_stops_polling_leaves_after_max_poll_interval_and_rejoins() {
    let consumer = json!({"topic": "orders", "config": {"group.id": "billing", "max.poll.interval.ms": 10_000}});
    let mut sim = Sim::new(group_scenario(
        4,
        0,
        json!({"consumers": [consumer.clone(), consumer]}),
    ))
    .unwrap();
    sim.run_until(SimTime::from_secs(20));
    sim.apply(Command::PauseConsumer {
        consumer: 0,
        ms: 30_000,
        at: Default::default(),
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(90));
    let left: Vec<f64> = events(&sim)
        .filter_map(|(t, e)| {
            matches!(e, Event::ConsumerPollTimeout { consumer: 0, .. }).then_some(t)
        })
        .collect();
    assert_eq!(left.len(), 1, "{}", debug_events(&sim));
    assert!((30.0..34.0).contains(&left[0]), "{left:?}");
    let g = &sim.view().groups[0];
    assert_eq!(g.members.len(), 2, "it rejoined after the pause");
    assert!(g.members.iter().all(|m| m.assignment.len() == 3));
}

#[test]
fn killing_the_coordinator_moves_the_group_with_its_committed_offsets() {
    let mut sim = Sim::new(group_scenario(5, 2, json!({}))).unwrap();
    sim.run_until(SimTime::from_secs(30));
    let before = sim.view().groups[0].clone();
    sim.apply(Command::KillBroker {
        broker: before.coordinator.0,
    })
    .unwrap();
    let processed_at_kill = sim.report().consumed;
    sim.run_until(SimTime::from_secs(90));
    let after = sim.view().groups[0].clone();
    assert_ne!(
        after.coordinator,
        before.coordinator,
        "{}",
        debug_events(&sim)
    );
    assert_eq!(after.offsets_partition, before.offsets_partition);
    for o in &before.offsets {
        let now = after
            .offsets
            .iter()
            .find(|a| a.partition == o.partition)
            .unwrap();
        assert!(now.committed >= o.committed, "{o:?} → {now:?}");
    }
    assert_eq!(after.members.len(), 2);
    let report = sim.report();
    assert!(
        report.consumed > processed_at_kill + 5_000,
        "consumption went on"
    );
    assert_eq!(report.lost_by_consumers, 0);
    assert!(report.violations.is_empty());
}

/// (generation, consumer, assigned, revoked) of every assignment.
fn assignments(sim: &Sim) -> Vec<(i32, u32, usize, usize)> {
    events(sim)
        .filter_map(|(_, e)| match e {
            Event::ConsumerAssigned {
                consumer,
                generation,
                assigned,
                revoked,
                ..
            } => Some((*generation, *consumer, assigned.len(), revoked.len())),
            _ => None,
        })
        .collect()
}

#[test]
fn cooperative_sticky_moves_partitions_over_two_rebalances_and_range_over_one() {
    let strategy = |s: &str| {
        json!({"consumers": [
            {"topic": "orders", "config": {"group.id": "g", "partition.assignment.strategy": s}},
            {"topic": "orders", "start_ms": 10_000, "config": {"group.id": "g", "partition.assignment.strategy": s}}
        ]})
    };
    let (sim, _) = run(group_scenario(6, 0, strategy("cooperative-sticky")), 30);
    let mut a = assignments(&sim);
    // Members of one generation hear their assignments in whichever order SyncGroup answers.
    a.sort_by_key(|(generation, consumer, _, _)| (*generation, *consumer));
    // Generation 1: consumer 0 takes all six. Generation 2: it gives up three (and keeps
    // consuming the others); the newcomer gets nothing yet. Generation 3: the newcomer gets them.
    // Consumer 0 keeps its three in generation 3.
    assert_eq!(
        a,
        vec![
            (1, 0, 6, 0),
            (2, 0, 0, 3),
            (2, 1, 0, 0),
            (3, 0, 0, 0),
            (3, 1, 3, 0)
        ],
        "{}",
        debug_events(&sim)
    );
    let (sim, _) = run(group_scenario(6, 0, strategy("range")), 30);
    let a = assignments(&sim);
    // Eager: consumer 0 gives up all six before it rejoins (onPartitionsRevoked), then
    // generation 2 hands out the new assignment.
    assert_eq!(a.len(), 4, "{a:?}");
    assert_eq!(a[0], (1, 0, 6, 0));
    assert_eq!(a[1], (1, 0, 0, 6));
    assert!(
        a[2..].iter().all(|(g, _, n, _)| *g == 2 && *n == 3),
        "{a:?}"
    );
}

#[test]
fn a_static_member_restarting_within_its_session_timeout_causes_no_rebalance() {
    let member = |i: u32| json!({"topic": "orders", "config": {"group.id": "g", "group.instance.id": format!("host-{i}")}});
    let mut sim = Sim::new(group_scenario(
        7,
        0,
        json!({"consumers": [member(0), member(1)]}),
    ))
    .unwrap();
    sim.run_until(SimTime::from_secs(30));
    let before = sim.view().groups[0].clone();
    sim.apply(Command::CrashConsumer {
        consumer: 1,
        at: Default::default(),
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(40));
    sim.apply(Command::RestartConsumer { consumer: 1 }).unwrap();
    sim.run_until(SimTime::from_secs(90));
    let after = sim.view().groups[0].clone();
    assert_eq!(
        after.generation,
        before.generation,
        "{}",
        debug_events(&sim)
    );
    let assignment = |g: &kplay_core::view::GroupView, host: &str| {
        g.members
            .iter()
            .find(|m| m.group_instance_id.as_deref() == Some(host))
            .unwrap()
            .assignment
            .clone()
    };
    assert_eq!(assignment(&after, "host-1"), assignment(&before, "host-1"));
    assert!(sim.view().consumers[1]
        .positions
        .iter()
        .all(|(_, p)| p.is_some()));
}

#[test]
fn a_closing_member_leaves_at_once_and_its_partitions_move_without_waiting() {
    let mut sim = Sim::new(group_scenario(8, 2, json!({}))).unwrap();
    sim.run_until(SimTime::from_secs(30));
    sim.apply(Command::CloseConsumer { consumer: 1 }).unwrap();
    // The survivor hears of the rebalance at its next heartbeat (every 3 s), then rejoins.
    sim.run_until(SimTime::from_secs(36));
    let removed: Vec<f64> = events(&sim)
        .filter_map(|(t, e)| match e {
            Event::GroupMemberRemoved { reason, .. } if reason.contains("closing") => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(removed.len(), 1, "{}", debug_events(&sim));
    assert!(removed[0] < 30.1);
    let g = &sim.view().groups[0];
    assert_eq!(g.members.len(), 1);
    assert_eq!(g.members[0].assignment.len(), 6, "{}", debug_events(&sim));
    assert_eq!(sim.report().lost_by_consumers, 0);
}

#[test]
fn two_groups_read_the_same_topic_independently() {
    let member = |g: &str, commit: &str| {
        json!({"topic": "orders", "commit": commit,
               "config": {"group.id": g, "auto.offset.reset": "earliest"}})
    };
    let (sim, r) = run(
        group_scenario(
            9,
            0,
            json!({"consumers": [
                member("billing", "auto"), member("billing", "auto"),
                member("audit", "after_processing_async")
            ]}),
        ),
        40,
    );
    let groups = sim.view().groups;
    assert_eq!(
        groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        ["audit", "billing"]
    );
    assert_eq!(groups[0].members.len(), 1);
    assert_eq!(groups[1].members.len(), 2);
    // Each group reads every record on its own: both process about as much.
    let processed: Vec<u64> = r.readers.iter().map(|x| x.processed).collect();
    assert_eq!(r.readers.len(), 2);
    assert!(processed.iter().all(|p| *p > 8_000), "{:?}", r.readers);
    assert!(
        processed[0].abs_diff(processed[1]) < 2_000,
        "{:?}",
        r.readers
    );
    // commitAsync committed every partition too.
    assert_eq!(groups[0].offsets.len(), 6);
    assert_eq!((r.lost_by_consumers, r.duplicates_consumed), (0, 0));
}

#[test]
fn auto_offset_reset_none_without_a_committed_offset_cannot_start() {
    let member =
        json!({"topic": "orders", "config": {"group.id": "strict", "auto.offset.reset": "none"}});
    let (sim, r) = run(group_scenario(10, 0, json!({"consumers": [member]})), 20);
    let stuck = events(&sim)
        .filter(|(_, e)| matches!(e, Event::ConsumerNoOffset { .. }))
        .count();
    assert_eq!(stuck, 6, "one per partition: {}", debug_events(&sim));
    assert_eq!(r.consumed, 0);
}
