//! The ZooKeeper ensemble: leader election, quorum loss, and why even sizes add nothing.

mod common;

use common::{leader_of, run, scenario};
use kplay_core::{Command, Event, Sim, SimTime};
use serde_json::json;

fn ensemble(seed: u64, zookeepers: u32) -> Sim {
    let s = scenario(
        seed,
        json!({"cluster": {"zookeepers": zookeepers}, "producers": [{"topic": "orders", "rate_per_sec": 100, "config": {"acks": "1"}}]}),
    );
    let (sim, _) = run(s, 3);
    sim
}

/// Kills `n` ZooKeeper servers (the leader first) and reports whether the ensemble still has a
/// leader 30 s later.
fn survives(zookeepers: u32, n: u32) -> bool {
    let mut sim = ensemble(11, zookeepers);
    let leader = sim.zookeeper_leader().expect("an elected ZooKeeper leader");
    let victims: Vec<u32> = std::iter::once(leader)
        .chain((1..=zookeepers).filter(|s| *s != leader))
        .take(n as usize)
        .collect();
    for v in victims {
        sim.apply(Command::KillZookeeper { server: v }).unwrap();
    }
    sim.run_until(SimTime::from_secs(33));
    sim.zookeeper_leader().is_some()
}

#[test]
fn killing_the_zookeeper_leader_elects_a_new_one_in_a_higher_epoch() {
    let mut sim = ensemble(1, 3);
    let leader = sim.zookeeper_leader().unwrap();
    let epoch = sim.zookeeper(leader).unwrap().current_epoch();
    sim.apply(Command::KillZookeeper { server: leader })
        .unwrap();
    sim.run_until(SimTime::from_secs(20));
    let new = sim.zookeeper_leader().expect("a new ZooKeeper leader");
    assert_ne!(new, leader);
    assert!(sim.zookeeper(new).unwrap().current_epoch() > epoch);
    // The brokers moved their sessions to the surviving servers and stayed registered.
    assert!(sim.brokers().all(|b| b.registered));
    assert!(sim.report().violations.is_empty());
    // The restarted server rejoins as a follower of the new leader.
    sim.apply(Command::RestartZookeeper { server: leader })
        .unwrap();
    sim.run_until(SimTime::from_secs(30));
    assert_eq!(sim.zookeeper_leader(), Some(new));
    assert!(sim.zookeeper(leader).unwrap().is_serving());
}

#[test]
fn losing_quorum_freezes_elections_but_existing_leaders_keep_serving() {
    let mut sim = ensemble(2, 3);
    for z in [1, 2] {
        sim.apply(Command::KillZookeeper { server: z }).unwrap();
    }
    sim.run_until(SimTime::from_secs(8));
    assert!(
        sim.zookeeper_leader().is_none(),
        "one server of three is no quorum"
    );
    let victim = leader_of(&sim, "orders", 0).unwrap();
    sim.apply(Command::KillBroker { broker: victim }).unwrap();
    let acked = sim.report().acked;
    sim.run_until(SimTime::from_secs(60));
    let elected_after_kill = sim.trace().iter().any(|e| {
        e.at > SimTime::from_secs(8)
            && matches!(
                e.event,
                Event::LeaderElected { .. } | Event::ControllerElected { .. }
            )
    });
    assert!(
        !elected_after_kill,
        "no controller or leader election without a ZooKeeper quorum"
    );
    assert_eq!(
        leader_of(&sim, "orders", 0),
        Some(victim),
        "metadata is frozen: the dead leader stays leader"
    );
    assert!(
        sim.report().acked > acked + 1_000,
        "partitions led by live brokers keep taking writes"
    );
    // Quorum back: the dead broker's session expires and orders-0 moves.
    sim.apply(Command::RestartZookeeper { server: 1 }).unwrap();
    sim.run_until(SimTime::from_secs(100));
    assert!(sim.zookeeper_leader().is_some());
    assert_ne!(leader_of(&sim, "orders", 0), Some(victim));
    assert!(
        sim.report().violations.is_empty(),
        "{:?}",
        sim.report().violations
    );
}

#[test]
fn an_even_ensemble_tolerates_no_more_failures_than_the_odd_one_below_it() {
    assert!(survives(3, 1));
    assert!(!survives(3, 2));
    assert!(survives(4, 1));
    assert!(
        !survives(4, 2),
        "four servers lose quorum with two down, like three"
    );
    assert!(survives(5, 2));
    assert!(!survives(5, 3));
}
