//! Producer acks against a leader crash, and failover of leaders and the controller.

mod common;

use common::{leader_of, log_of, run, scenario};
use kplay_core::{Command, Event, Sim, SimTime};
use serde_json::json;

/// Kills the leader of orders-0 mid-stream and runs until well after failover. A 6 s ZooKeeper
/// session (the pre-2.5 default) and no message trace keep the 100-seed sweep short.
fn kill_leader_run(seed: u64, acks: &str) -> kplay_core::Report {
    let s = scenario(
        seed,
        json!({
            "cluster": {"broker_config": {"zookeeper.session.timeout.ms": 6000}},
            "producers": [{"topic": "orders", "rate_per_sec": 2000, "keys": {"kind": "random", "count": 50},
                            "config": {"acks": acks, "enable.idempotence": acks == "all"}}],
            "trace": {"messages": false}
        }),
    );
    let mut sim = Sim::new(s).unwrap();
    // Vary the crash moment with the seed so it hits different points of the replication cycle.
    sim.run_until(SimTime::from_ms(6_000 + (seed * 37) % 1_000));
    let leader = leader_of(&sim, "orders", 0).unwrap_or_else(|| {
        panic!(
            "seed {seed} acks={acks}: orders-0 has no leader; zk leader {:?}, state {:?}",
            sim.zookeeper_leader(),
            sim.partition_state("orders", 0)
        )
    });
    sim.apply(Command::KillBroker { broker: leader }).unwrap();
    sim.run_until(SimTime::from_secs(18));
    sim.report()
}

#[test]
fn acks_all_with_min_isr_2_never_loses_acked_records_but_acks_1_and_0_do() {
    let seeds = 100;
    let mut lost = [0u64; 3];
    let mut seeds_losing = [0u32; 3];
    for seed in 0..seeds {
        for (i, acks) in ["0", "1", "all"].iter().enumerate() {
            // acks=0 and acks=1 are swept over fewer seeds: they lose often enough.
            if i < 2 && seed >= 30 {
                continue;
            }
            let r = kill_leader_run(seed, acks);
            assert!(
                r.violations.is_empty(),
                "seed {seed} acks={acks}: {:?}",
                r.violations
            );
            assert!(
                r.acked > 1_000,
                "seed {seed} acks={acks}: only {} acked",
                r.acked
            );
            lost[i] += r.acked_lost;
            seeds_losing[i] += (r.acked_lost > 0) as u32;
        }
    }
    assert_eq!(
        lost[2], 0,
        "acks=all, RF=3, min.insync.replicas=2 lost acknowledged records"
    );
    assert!(
        seeds_losing[1] > 0,
        "acks=1 never lost an acknowledged record in 30 seeds"
    );
    assert!(
        seeds_losing[0] > 0,
        "acks=0 never lost a record in 30 seeds"
    );
    assert!(
        lost[0] > lost[1],
        "acks=0 should lose more than acks=1: {lost:?}"
    );
}

#[test]
fn killing_a_partition_leader_moves_leadership_to_an_isr_replica_and_producers_recover() {
    let (mut sim, _) = run(scenario(3, json!({})), 8);
    let old = leader_of(&sim, "orders", 0).unwrap();
    let (_, _, isr_before) = sim.partition_state("orders", 0).unwrap();
    let acked_before = sim.report().acked;
    sim.apply(Command::KillBroker { broker: old }).unwrap();
    sim.run_until(SimTime::from_secs(40));
    let new = leader_of(&sim, "orders", 0).expect("a new leader");
    assert_ne!(new, old);
    assert!(
        isr_before.iter().any(|b| b.0 == new),
        "new leader {new} was in the ISR {isr_before:?}"
    );
    let report = sim.report();
    assert!(
        report.acked > acked_before + 5_000,
        "producer recovered: {} → {}",
        acked_before,
        report.acked
    );
    assert_eq!(report.failed, 0, "no record given up");
    assert_eq!(report.acked_lost, 0);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert!(sim.trace().iter().any(|e| matches!(&e.event, Event::LeaderElected { partition: 0, leader: Some(l), unclean: false, .. } if l.0 == new)));
}

#[test]
fn killing_the_controller_elects_a_new_controller_with_a_higher_epoch() {
    let (mut sim, _) = run(scenario(4, json!({})), 5);
    let (controller, epoch) = sim.controller().expect("a controller");
    sim.apply(Command::KillBroker {
        broker: controller.0,
    })
    .unwrap();
    // The controller's ephemeral /controller goes when its session expires (18 s).
    sim.run_until(SimTime::from_secs(15));
    assert!(
        sim.controller().is_none(),
        "no controller until the old session expires"
    );
    sim.run_until(SimTime::from_secs(30));
    let (new, new_epoch) = sim.controller().expect("a new controller");
    assert_ne!(new, controller);
    assert_eq!(new_epoch, epoch + 1);
    assert!(sim.report().violations.is_empty());
}

#[test]
fn a_restarted_follower_truncates_and_catches_up_to_rejoin_the_isr() {
    let (mut sim, _) = run(
        scenario(
            5,
            json!({"producers": [{"topic": "orders", "rate_per_sec": 1000, "config": {"acks": "1"}}]}),
        ),
        6,
    );
    let leader = leader_of(&sim, "orders", 0).unwrap();
    let follower = (1..=3).find(|b| *b != leader).unwrap();
    sim.apply(Command::KillBroker { broker: follower }).unwrap();
    sim.run_until(SimTime::from_secs(40));
    let (_, _, isr) = sim.partition_state("orders", 0).unwrap();
    assert!(
        !isr.iter().any(|b| b.0 == follower),
        "dead follower left the ISR: {isr:?}"
    );
    sim.apply(Command::RestartBroker {
        broker: follower,
        disk_lost: false,
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(60));
    let (_, _, isr) = sim.partition_state("orders", 0).unwrap();
    assert!(
        isr.iter().any(|b| b.0 == follower),
        "follower rejoined the ISR: {isr:?}"
    );
    let leader_log = log_of(&sim, leader, "orders", 0).high_watermark();
    let follower_leo = log_of(&sim, follower, "orders", 0).log_end_offset();
    assert!(
        follower_leo + 200 >= leader_log,
        "follower caught up: {follower_leo} vs HW {leader_log}"
    );
    assert!(sim.report().violations.is_empty());
}

#[test]
fn unclean_leader_election_brings_a_stale_replica_back_and_loses_acked_records() {
    let s = scenario(
        6,
        json!({
            "topics": [{"name": "orders", "partitions": 1, "replication_factor": 2, "config": {"unclean.leader.election.enable": true}}],
            "producers": [{"topic": "orders", "rate_per_sec": 200, "config": {"acks": "1", "enable.idempotence": false}}]
        }),
    );
    let (mut sim, _) = run(s, 8);
    let leader = leader_of(&sim, "orders", 0).unwrap();
    let (_, _, isr) = sim.partition_state("orders", 0).unwrap();
    let follower = isr.iter().map(|b| b.0).find(|b| *b != leader).unwrap();
    sim.apply(Command::KillBroker { broker: follower }).unwrap();
    sim.run_until(SimTime::from_secs(40)); // the follower leaves the ISR; the leader takes writes alone
    sim.apply(Command::KillBroker { broker: leader }).unwrap();
    sim.apply(Command::RestartBroker {
        broker: follower,
        disk_lost: false,
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(80));
    let report = sim.report();
    assert_eq!(leader_of(&sim, "orders", 0), Some(follower));
    assert!(report.unclean_elections >= 1);
    assert!(
        report.acked_lost > 0,
        "the stale replica lacks what the old leader acknowledged"
    );
    assert!(
        report
            .acked_lost_examples
            .iter()
            .all(|l| l.why.contains("unclean")),
        "{:?}",
        report.acked_lost_examples.first()
    );
    assert!(
        report.violations.is_empty(),
        "unclean loss is allowed: {:?}",
        report.violations
    );
}

#[test]
fn a_broker_that_lost_its_disk_copies_the_log_back_from_the_leader() {
    let (mut sim, _) = run(scenario(7, json!({})), 8);
    let leader = leader_of(&sim, "orders", 0).unwrap();
    let follower = (1..=3).find(|b| *b != leader).unwrap();
    sim.apply(Command::KillBroker { broker: follower }).unwrap();
    sim.run_until(SimTime::from_secs(10));
    sim.apply(Command::RestartBroker {
        broker: follower,
        disk_lost: true,
    })
    .unwrap();
    // The old session still holds /brokers/ids/N: the broker retries until it expires.
    sim.run_until(SimTime::from_secs(45));
    let copy = log_of(&sim, follower, "orders", 0);
    let original = log_of(&sim, leader, "orders", 0);
    assert_eq!(copy.log_start_offset(), 0);
    assert!(
        copy.log_end_offset() + 200 >= original.high_watermark(),
        "{} vs {}",
        copy.log_end_offset(),
        original.high_watermark()
    );
    let (_, _, isr) = sim.partition_state("orders", 0).unwrap();
    assert!(isr.iter().any(|b| b.0 == follower), "{isr:?}");
    let report = sim.report();
    assert_eq!(report.acked_lost, 0);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

/// KIP-227: after the first (full) fetch, a follower's fetch names only the partitions whose
/// position moved and the answer lists only those with news, so replication traffic shrinks
/// from every followed partition (fifty of `__consumer_offsets` among them) to a few; the
/// replicas still converge and the ISR stays whole.
#[test]
fn followers_fetch_in_sessions_that_name_only_what_moved_and_replicas_still_converge() {
    let (sim, report) = run(
        scenario(
            7,
            json!({"consumers": [{"topic": "orders", "config": {"group.id": "billing", "auto.offset.reset": "earliest"}}]}),
        ),
        20,
    );
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    let replication = |from_s: u64, to_s: u64| -> Vec<u32> {
        sim.trace()
            .iter()
            .filter(|e| e.at >= SimTime::from_secs(from_s) && e.at < SimTime::from_secs(to_s))
            .filter_map(|e| match &e.event {
                Event::MessageSent {
                    kind: kplay_core::protocol::MessageKind::Replication,
                    bytes,
                    ..
                } => Some(*bytes),
                _ => None,
            })
            .collect()
    };
    // The full fetches that open sessions name every followed partition (about 35 here).
    let opening = replication(0, 10);
    assert!(
        opening.iter().any(|b| *b > 1_000),
        "a full fetch names every followed partition: largest {:?}",
        opening.iter().max()
    );
    let mut steady = replication(15, 20);
    steady.sort_unstable();
    assert!(steady.len() > 1_000, "replication runs: {}", steady.len());
    // Without sessions every fetch and every answer would list ~17 partitions: over 700 bytes.
    let (quarter, median) = (steady[steady.len() / 4], steady[steady.len() / 2]);
    assert!(
        quarter < 100 && median < 400,
        "incremental fetches and answers carry only what moved: quartile {quarter}, median {median} bytes"
    );
    for partition in 0..3 {
        let (_, _, isr) = sim.partition_state("orders", partition).unwrap();
        assert_eq!(isr.len(), 3, "orders-{partition} ISR {isr:?}");
        let leader = leader_of(&sim, "orders", partition).unwrap();
        let hw = log_of(&sim, leader, "orders", partition).high_watermark();
        for b in 1..=3 {
            let leo = log_of(&sim, b, "orders", partition).log_end_offset();
            assert!(
                leo + 100 >= hw,
                "broker {b} orders-{partition}: LEO {leo}, HW {hw}"
            );
        }
    }
}
