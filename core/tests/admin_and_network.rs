//! Topic administration, hand-produced records, and network partitions.

mod common;

use common::{leader_of, log_of, run, scenario};
use kplay_core::partitioner::partition_for_key;
use kplay_core::{Command, Event, NodeId, SimTime};
use serde_json::json;

fn applied(sim: &kplay_core::Sim, needle: &str) -> bool {
    sim.trace().iter().any(|e| matches!(&e.event, Event::CommandApplied { description } if description.contains(needle)))
}

#[test]
fn topics_are_created_extended_and_deleted_through_the_controller() {
    let (mut sim, _) = run(scenario(1, json!({})), 3);
    sim.apply(Command::CreateTopic {
        name: "payments".into(),
        partitions: 4,
        replication_factor: 2,
        config: Default::default(),
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(4));
    assert!(applied(&sim, "create topic payments: done"));
    sim.apply(Command::CreateTopic {
        name: "payments".into(),
        partitions: 1,
        replication_factor: 1,
        config: Default::default(),
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(5));
    assert!(applied(
        &sim,
        "create topic payments failed: TOPIC_ALREADY_EXISTS"
    ));
    sim.apply(Command::KillBroker { broker: 3 }).unwrap();
    sim.run_until(SimTime::from_secs(30));
    sim.apply(Command::CreateTopic {
        name: "wide".into(),
        partitions: 1,
        replication_factor: 3,
        config: Default::default(),
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(31));
    assert!(
        applied(&sim, "create topic wide failed: INVALID_REPLICATION_FACTOR"),
        "RF 3 with two live brokers"
    );
    assert_eq!(sim.topics().get("payments"), Some(&4));
    for p in 0..4 {
        let (leader, _, isr) = sim.partition_state("payments", p).unwrap();
        assert!(leader.is_some() && !isr.is_empty());
    }
    // Leaders are spread, not piled on one broker.
    let leaders: kplay_core::vec_map::VecSet<_> = (0..4)
        .filter_map(|p| leader_of(&sim, "payments", p))
        .collect();
    assert!(leaders.len() >= 2, "{leaders:?}");

    sim.apply(Command::AddPartitions {
        topic: "payments".into(),
        partitions: 6,
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(32));
    assert_eq!(sim.topics().get("payments"), Some(&6));
    assert!(sim
        .trace()
        .iter()
        .any(|e| matches!(&e.event, Event::PartitionsAdded { from: 4, to: 6, .. })));

    sim.apply(Command::DeleteTopic {
        topic: "payments".into(),
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(33));
    assert_eq!(sim.topics().get("payments"), None);
    assert!(sim
        .brokers()
        .all(|b| b.replicas.keys().all(|tp| &*tp.topic != "payments")));
    assert!(sim.report().violations.is_empty());
}

#[test]
fn a_hand_produced_record_lands_where_its_key_says() {
    let (mut sim, _) = run(scenario(2, json!({"producers": []})), 3);
    sim.apply(Command::Produce {
        topic: "orders".into(),
        key: Some("alice".into()),
        value: "hello".into(),
        producer: None,
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(4));
    let p = partition_for_key(b"alice", 3);
    let leader = leader_of(&sim, "orders", p).unwrap();
    let log = log_of(&sim, leader, "orders", p);
    let mut found = Vec::new();
    log.for_each_batch(0, u64::MAX, |b| {
        found.extend(
            b.iter()
                .map(|r| (r.key.map(<[u8]>::to_vec), r.value.to_vec())),
        );
        true
    });
    assert_eq!(found, vec![(Some(b"alice".to_vec()), b"hello".to_vec())]);
    assert_eq!(sim.report().acked, 1);
    assert!(
        sim.apply(Command::KillBroker { broker: 12 }).is_err(),
        "no broker 12"
    );
}

#[test]
fn an_isolated_leader_loses_leadership_and_acks_all_loses_nothing() {
    let s = scenario(
        3,
        json!({"producers": [{"topic": "orders", "rate_per_sec": 500, "keys": {"kind": "random", "count": 50}}]}),
    );
    let (mut sim, _) = run(s, 6);
    let old = leader_of(&sim, "orders", 0).unwrap();
    sim.apply(Command::IsolateBroker { broker: old }).unwrap();
    sim.run_until(SimTime::from_secs(40));
    let new = leader_of(&sim, "orders", 0).unwrap();
    assert_ne!(
        new, old,
        "the controller moved leadership after the isolated broker's session expired"
    );
    assert!(sim
        .trace()
        .iter()
        .any(|e| matches!(&e.event, Event::MessageDropped { .. })));
    sim.apply(Command::HealAllLinks).unwrap();
    sim.run_until(SimTime::from_secs(70));
    let report = sim.report();
    assert_eq!(report.acked_lost, 0);
    assert_eq!(report.failed, 0);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    // The old leader came back as a follower and rejoined the ISR.
    let (_, _, isr) = sim.partition_state("orders", 0).unwrap();
    assert!(isr.iter().any(|b| b.0 == old), "{isr:?}");
    assert!(sim.is_alive(NodeId::broker(old)));
}

/// Clients back off a broker whose connection failed (reconnect.backoff.ms, doubling to
/// reconnect.backoff.max.ms) instead of retrying it at once: until a dead leader's ZooKeeper
/// session expires, its clients keep trying it, and that must stay a trickle, not a storm.
#[test]
fn clients_back_off_a_dead_broker_until_its_session_expires() {
    let s = scenario(
        11,
        json!({"consumers": [{"topic": "orders", "config": {"group.id": "g", "auto.offset.reset": "earliest"}}],
               "actions": [{"at_ms": 4000, "action": "kill_broker", "broker": 2},
                           {"at_ms": 5000, "action": "kill_broker", "broker": 1}]}),
    );
    let (sim, report) = run(s, 40);
    // 36 s with dead brokers and two clients: a few per second per client, not thousands.
    assert!(
        report.messages_dropped < 2_000,
        "{} messages to dead brokers",
        report.messages_dropped
    );
    assert!(sim.steps() < 2_000_000, "{} events", sim.steps());
}
