//! KRaft mode end to end: the controller quorum elects an active controller, brokers register,
//! catch up with `__cluster_metadata` and are unfenced; a dead broker is fenced after
//! `broker.session.timeout.ms`; the active controller fails over to a hot standby; a clean stop
//! moves leadership first; and what KRaft mode refuses.

// The ignored measurement prints its figures.
#![allow(clippy::print_stdout)]

mod common;

use common::{leader_of, run, scenario};
use kplay_core::kraft::image::PartitionRegistration;
use kplay_core::scenario::ClusterMode;
use kplay_core::{lessons, Command, Event, NodeId, Scenario, Sim, SimTime, TopicPartition};
use serde_json::json;

fn kraft(seed: u64, patch: serde_json::Value) -> Scenario {
    let mut s = scenario(
        seed,
        json!({"producers": [{"topic": "orders", "rate_per_sec": 200, "config": {"acks": "all"}}]}),
    );
    s = s
        .with_mode(ClusterMode::KRaft)
        .expect("valid in KRaft mode");
    let mut value = serde_json::to_value(&s).unwrap();
    common::merge(&mut value, patch);
    Scenario::from_json(&value.to_string()).expect("valid")
}

/// Every `(time, event)` of the trace matching `f`.
fn events(sim: &Sim, f: impl Fn(&Event) -> bool) -> Vec<(SimTime, Event)> {
    sim.trace()
        .iter()
        .filter(|e| f(&e.event))
        .map(|e| (e.at, e.event.clone()))
        .collect()
}

#[test]
fn a_kraft_cluster_elects_an_active_controller_and_unfences_every_broker() {
    let (sim, report) = run(kraft(1, json!({})), 15);
    assert!(
        sim.zookeeper(1).is_none(),
        "KRaft mode runs no ZooKeeper server"
    );
    let (active, epoch) = sim.active_controller().expect("an active controller");
    assert!((3000..3003).contains(&active));
    let elected = events(&sim, |e| matches!(e, Event::QuorumLeaderElected { .. }));
    assert!(elected.iter().any(
        |(_, e)| matches!(e, Event::QuorumLeaderElected { node, epoch: ep } if *node == active && *ep == epoch)
    ));
    let unfenced = events(&sim, |e| matches!(e, Event::KRaftBrokerUnfenced { .. }));
    assert_eq!(unfenced.len(), 3, "{unfenced:?}");
    // Every broker applied the committed log: their images agree with the controller's.
    let controller_image = sim.metadata_image().expect("an image");
    for b in sim.brokers() {
        let image = &b.kraft.as_ref().expect("a KRaft broker").image;
        assert_eq!(image.unfenced_brokers().len(), 3);
        assert!(image.topic("orders").is_some());
        assert!(image.offset <= controller_image.offset.map(|o| o + 1));
    }
    assert!(leader_of(&sim, "orders", 0).is_some());
    assert!(report.acked > 1_000, "{}", report.acked);
    assert_eq!(report.acked_lost, 0);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

#[test]
fn a_dead_broker_is_fenced_a_session_timeout_after_its_last_heartbeat() {
    let mut fenced_after = Vec::new();
    for seed in 0..5 {
        let mut sim = Sim::new(kraft(seed, json!({}))).unwrap();
        sim.run_until(SimTime::from_secs(20));
        let victim = leader_of(&sim, "orders", 0).unwrap();
        sim.apply(Command::KillBroker { broker: victim }).unwrap();
        sim.run_until(SimTime::from_secs(40));
        let fenced = events(
            &sim,
            |e| matches!(e, Event::KRaftBrokerFenced { broker, session_expired: true } if *broker == victim),
        );
        let (at, _) = fenced.first().expect("the dead broker is fenced");
        let after = at.as_secs_f64() - 20.0;
        fenced_after.push(after);
        // 9 s after its last heartbeat (sent every 2 s), found by a check every 1.125 s.
        assert!(
            (7.0..=10.2).contains(&after),
            "seed {seed}: fenced {after} s after the crash"
        );
        // New leaders come from the ISR, and never the fenced broker.
        let new_leader = leader_of(&sim, "orders", 0).expect("a new leader");
        assert_ne!(new_leader, victim);
        let report = sim.report();
        assert_eq!(report.acked_lost, 0, "seed {seed}");
        assert!(
            report.violations.is_empty(),
            "seed {seed}: {:?}",
            report.violations
        );
    }
    eprintln!("fenced after the crash (s): {fenced_after:?}");
}

#[test]
fn the_active_controller_fails_over_to_a_standby_that_already_holds_the_log() {
    let mut sim = Sim::new(kraft(3, json!({}))).unwrap();
    sim.run_until(SimTime::from_secs(10));
    let (old, epoch) = sim.active_controller().unwrap();
    let offset = sim.metadata_image().unwrap().offset;
    sim.apply(Command::KillController { controller: old })
        .unwrap();
    sim.run_until(SimTime::from_secs(20));
    let (new, new_epoch) = sim.active_controller().expect("a new active controller");
    assert_ne!(new, old);
    assert!(new_epoch > epoch);
    // The standby had every committed record before it took over.
    let activated = events(
        &sim,
        |e| matches!(e, Event::KRaftControllerActivated { node, .. } if *node == new),
    );
    let (at, _) = activated.last().unwrap();
    assert!(
        at.as_secs_f64() - 10.0 < 5.0,
        "took over {} s after the crash",
        at.as_secs_f64() - 10.0
    );
    assert!(sim.metadata_image().unwrap().offset > offset);
    // The cluster still works: a topic created now gets leaders.
    sim.apply(Command::CreateTopic {
        name: "later".into(),
        partitions: 2,
        replication_factor: 3,
        config: Default::default(),
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(22));
    assert!(leader_of(&sim, "later", 1).is_some());
    // The old controller comes back as a follower and catches up.
    sim.apply(Command::RestartController { controller: old })
        .unwrap();
    sim.run_until(SimTime::from_secs(30));
    let back = sim.kraft_controller(old).unwrap();
    assert_eq!(back.raft.leader_id(), Some(new));
    assert!(back.controller.image().topic("later").is_some());
    assert!(sim.report().violations.is_empty());
}

#[test]
fn a_clean_stop_moves_leadership_away_before_the_broker_goes() {
    let mut sim = Sim::new(kraft(4, json!({}))).unwrap();
    sim.run_until(SimTime::from_secs(15));
    let victim = leader_of(&sim, "orders", 0).unwrap();
    sim.apply(Command::StopBroker { broker: victim }).unwrap();
    sim.run_until(SimTime::from_secs(25));
    assert!(sim.broker(victim).is_none(), "the broker stopped");
    let fenced = events(
        &sim,
        |e| matches!(e, Event::KRaftBrokerFenced { broker, .. } if *broker == victim),
    );
    assert!(
        fenced.iter().all(|(_, e)| matches!(
            e,
            Event::KRaftBrokerFenced {
                session_expired: false,
                ..
            }
        )),
        "{fenced:?}"
    );
    let closed = events(&sim, |e| matches!(e, Event::NodeClosed { .. }));
    let (closed_at, _) = closed.first().expect("a clean close");
    // Leadership moved before the process ended: the election precedes the close.
    let moved = events(
        &sim,
        |e| matches!(e, Event::LeaderElected { topic, partition: 0, .. } if &**topic == "orders"),
    );
    assert!(moved.iter().any(|(at, _)| at <= closed_at), "{moved:?}");
    assert!(closed_at.as_secs_f64() - 15.0 < 3.0, "took {closed_at:?}");
    let report = sim.report();
    assert_eq!(report.acked_lost, 0);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

#[test]
fn every_lesson_but_zookeepers_own_runs_in_kraft_mode_with_no_violation() {
    for (name, _) in lessons::list() {
        let scenario = lessons::get(name).unwrap();
        match scenario.clone().with_mode(ClusterMode::KRaft) {
            Ok(kraft) => {
                let (_, report) = run(kraft, 60);
                assert!(
                    report.violations.is_empty(),
                    "{name}: {:?}",
                    report.violations
                );
            }
            Err(e) => {
                assert_eq!(name, "zookeeper-quorum", "{name}: {e}");
                assert!(
                    e.to_string().contains("KRaft mode runs no ZooKeeper"),
                    "{e}"
                );
            }
        }
    }
}

#[test]
fn links_to_zookeeper_become_links_to_the_controllers_and_back() {
    let zk = lessons::get("partial-partition").unwrap();
    let kraft = zk.clone().with_mode(ClusterMode::KRaft).unwrap();
    let cut = |s: &Scenario| {
        s.actions
            .iter()
            .find_map(|a| match &a.command {
                Command::CutLinks { and, .. } => {
                    Some(and.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                }
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(
        cut(&kraft),
        [
            "broker:2",
            "broker:3",
            "controller:3000",
            "controller:3001",
            "controller:3002"
        ]
    );
    let back = kraft.with_mode(ClusterMode::ZooKeeper).unwrap();
    assert_eq!(cut(&back), ["broker:2", "broker:3", "zk:1", "zk:2", "zk:3"]);
}

#[test]
fn kraft_mode_refuses_what_it_cannot_run_and_says_why() {
    let refused = |patch: serde_json::Value, says: &str| {
        let mut value = json!({"cluster": {"mode": "kraft"}});
        common::merge(&mut value, patch);
        let e = Scenario::from_json(&value.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{value}: {e}");
    };
    refused(
        json!({"cluster": {"controllers": 0}}),
        "cluster.controllers is 0; allowed: 1 to 7",
    );
    refused(
        json!({"cluster": {"controllers": 8}}),
        "cluster.controllers is 8",
    );
    refused(
        json!({"cluster": {"combined": true}}),
        "combined mode (process.roles=broker,controller) is not built yet",
    );
    refused(
        json!({"cluster": {"zookeepers": 5}}),
        "KRaft mode runs no ZooKeeper",
    );
    refused(
        json!({"cluster": {"zookeeper_config": {"tickTime": 500}}}),
        "cluster.zookeeper_config",
    );
    refused(
        json!({"actions": [{"at_ms": 1, "action": "kill_zookeeper", "server": 1}]}),
        "KRaft mode runs no ZooKeeper",
    );
    refused(
        json!({"actions": [{"at_ms": 1, "action": "kill_controller", "controller": 3007}]}),
        "controller:3007",
    );
    refused(
        json!({"cluster": {"kraft_config": {"broker.session.timeout.ms": 1000, "broker.heartbeat.interval.ms": 2000}}}),
        "must be less than broker.session.timeout.ms",
    );
    refused(
        json!({"cluster": {"kraft_config": {"metadata.log.max.record.bytes.between.snapshots": 0}}}),
        "kraft_config.metadata.log.max.record.bytes.between.snapshots",
    );
    let zk = Scenario::from_json(r#"{"cluster": {"controllers": 5}}"#).unwrap_err();
    assert!(zk.to_string().contains("need \"mode\": \"kraft\""), "{zk}");
    let zk = Scenario::from_json(
        r#"{"actions": [{"at_ms": 1, "action": "kill_controller", "controller": 3000}]}"#,
    )
    .unwrap_err();
    assert!(zk.to_string().contains("ZooKeeper mode"), "{zk}");
}

#[test]
fn the_same_seed_gives_the_same_kraft_trace() {
    let hash = |seed| {
        let (sim, _) = run(kraft(seed, json!({})), 20);
        sim.trace_hash()
    };
    assert_eq!(hash(7), hash(7));
    assert_ne!(hash(7), hash(8));
}

#[test]
fn kafkas_tools_read_the_kraft_quorum_and_its_metadata() {
    use kplay_core::tools::Shell;
    let mut sim = Sim::new(kraft(5, json!({}))).unwrap();
    sim.run_until(SimTime::from_secs(12));
    let mut shell = Shell::new();
    let mut run = |line: &str| shell.execute(&mut sim, line);
    let status =
        run("kafka-metadata-quorum.sh --bootstrap-server localhost:9092 describe --status");
    assert_eq!(status.exit_code, 0, "{status:?}");
    let lines: Vec<&str> = status.stdout.lines().collect();
    let labels: Vec<&str> = lines.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        labels,
        [
            "ClusterId",
            "LeaderId",
            "LeaderEpoch",
            "HighWatermark",
            "MaxFollowerLag",
            "MaxFollowerLagTimeMs",
            "CurrentVoters",
            "CurrentObservers"
        ]
    );
    // Values start at column 24.
    assert!(lines
        .iter()
        .all(|l| l.as_bytes()[23] == b' ' && l.as_bytes()[24] != b' '));
    let (leader, _) = sim_leader(&status.stdout);
    assert!((3000..3003).contains(&leader));
    assert!(status
        .stdout
        .contains("CurrentObservers:       [{\"id\": 1, \"directoryId\": null}, {\"id\": 2"));
    let replication =
        run("kafka-metadata-quorum.sh --bootstrap-server localhost:9092 describe --replication");
    let rows: Vec<&str> = replication.stdout.lines().collect();
    assert!(rows[0].starts_with("NodeId\tDirectoryId"));
    assert!(rows[1].starts_with(&leader.to_string()) && rows[1].ends_with("Leader  \t"));
    assert_eq!(rows.iter().filter(|r| r.contains("Follower")).count(), 2);
    assert_eq!(rows.iter().filter(|r| r.contains("Observer")).count(), 3);
    let bad = run("kafka-metadata-quorum.sh --bootstrap-server localhost:9092 describe");
    assert_eq!(bad.exit_code, 1);
    assert!(bad
        .stderr
        .contains("one of the arguments --status --replication is required"));
    let describe =
        run("kafka-topics.sh --bootstrap-server localhost:9092 --describe --topic orders");
    assert!(
        describe.stdout.contains("\tElr: \tLastKnownElr: \n"),
        "{}",
        describe.stdout
    );
    assert!(describe.stdout.contains("Isr: "));
    let zk = run("zookeeper-shell.sh localhost:2181 ls /brokers/ids");
    assert_eq!(zk.exit_code, 1);
    assert!(zk.stderr.contains("KRaft mode"), "{}", zk.stderr);
    let kill = run("kill controller 3001");
    assert_eq!(kill.exit_code, 0, "{kill:?}");
    sim.run_until(SimTime::from_secs(13));
    assert!(!sim.is_alive(kplay_core::NodeId::Controller(3001)));
}

/// The `LeaderId:` a `describe --status` printed, and its epoch.
fn sim_leader(status: &str) -> (u32, u32) {
    let value = |label: &str| {
        status
            .lines()
            .find(|l| l.starts_with(label))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (value("LeaderId:"), value("LeaderEpoch:"))
}

// ---- ELR (KIP-966 part 1) ----

/// One partition, RF 3, `min.insync.replicas` 2, acks=all; `config` adds topic settings.
fn elr_cluster(seed: u64, config: serde_json::Value) -> Sim {
    let mut topic_config = json!({"min.insync.replicas": 2});
    common::merge(&mut topic_config, config);
    let topics = json!([{"name": "orders", "partitions": 1, "replication_factor": 3, "config": topic_config}]);
    let mut sim = Sim::new(kraft(seed, json!({"topics": topics}))).unwrap();
    sim.run_until(SimTime::from_secs(15));
    sim
}

fn orders_0(sim: &Sim) -> PartitionRegistration {
    let tp = TopicPartition::new(&"orders".into(), 0);
    sim.metadata_image()
        .and_then(|i| i.partition(&tp))
        .cloned()
        .expect("orders-0 exists")
}

/// Cuts the leader of orders-0 from the other brokers until its ISR is itself alone (after
/// `replica.lag.time.max.ms`); returns the leader and the others.
fn shrink_isr_to_the_leader(sim: &mut Sim) -> (u32, Vec<u32>) {
    let leader = leader_of(sim, "orders", 0).unwrap();
    let others: Vec<u32> = (1..=3).filter(|b| *b != leader).collect();
    sim.apply(Command::CutLinks {
        between: vec![NodeId::broker(leader)],
        and: others.iter().map(|b| NodeId::broker(*b)).collect(),
        one_way: false,
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(60));
    let p = orders_0(sim);
    assert_eq!(p.isr, vec![leader]);
    assert_eq!(p.elr, others, "ISR members that left below min ISR");
    (leader, others)
}

fn elections(sim: &Sim, after: SimTime) -> Vec<(Option<u32>, bool)> {
    events(
        sim,
        |e| matches!(e, Event::LeaderElected { topic, .. } if &**topic == "orders"),
    )
    .into_iter()
    .filter(|(at, _)| *at > after)
    .filter_map(|(_, e)| match e {
        Event::LeaderElected {
            leader, unclean, ..
        } => Some((leader.map(|b| b.0), unclean)),
        _ => None,
    })
    .collect()
}

#[test]
fn elr_keeps_a_partition_electable_after_its_last_in_sync_member_dies() {
    let mut sim = elr_cluster(11, json!({}));
    let (leader, others) = shrink_isr_to_the_leader(&mut sim);
    // Strict min ISR: below min.insync.replicas the leader's high watermark stays put, so
    // the ELR members hold every committed record.
    let hw = common::log_of(&sim, leader, "orders", 0).high_watermark();
    sim.run_until(SimTime::from_secs(65));
    assert_eq!(
        common::log_of(&sim, leader, "orders", 0).high_watermark(),
        hw
    );
    let killed_at = sim.now();
    sim.apply(Command::KillBroker { broker: leader }).unwrap();
    sim.run_until(SimTime::from_secs(80));
    // Without ELR the dead leader would stay the ISR's last member and the partition would
    // wait for it (or for an unclean election).
    let elected = elections(&sim, killed_at);
    let (new_leader, unclean) = elected.first().copied().expect("a new leader");
    assert!(
        others.contains(&new_leader.expect("a leader")),
        "{elected:?}"
    );
    assert!(!unclean, "elected from the ELR, cleanly");
    let report = sim.report();
    assert_eq!(report.acked_lost, 0);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

#[test]
fn the_last_known_leader_is_elected_only_when_isr_and_elr_are_empty() {
    let mut sim = elr_cluster(12, json!({}));
    let (leader, others) = shrink_isr_to_the_leader(&mut sim);
    // The others first, and fenced (9 s after their last heartbeat) before the leader dies:
    // the controller fences one stale broker per check, the oldest heartbeat first.
    for b in &others {
        sim.apply(Command::KillBroker { broker: *b }).unwrap();
    }
    sim.run_until(SimTime::from_secs(72));
    sim.apply(Command::KillBroker { broker: leader }).unwrap();
    sim.run_until(SimTime::from_secs(90));
    let p = orders_0(&sim);
    assert_eq!((p.leader, p.isr.len()), (-1, 0), "{p:?}");
    assert_eq!(p.elr, vec![1, 2, 3]);
    assert_eq!(p.last_known_elr, vec![leader], "the last known leader");
    // The others come back after an unclean shutdown: they leave the ELR and, the dead
    // leader still being in it, are not elected.
    let restarted_at = sim.now();
    for b in &others {
        sim.apply(Command::RestartBroker {
            broker: *b,
            disk_lost: false,
        })
        .unwrap();
    }
    sim.run_until(SimTime::from_secs(110));
    assert_eq!(orders_0(&sim).elr, vec![leader]);
    assert!(elections(&sim, restarted_at).is_empty());
    // The last leader comes back too: it leaves the ELR, which empties, and leads again as
    // the last known leader.
    sim.apply(Command::RestartBroker {
        broker: leader,
        disk_lost: false,
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(130));
    assert_eq!(elections(&sim, restarted_at), vec![(Some(leader), true)]);
    let p = orders_0(&sim);
    assert!(p.elr.is_empty() && p.last_known_elr.is_empty(), "{p:?}");
    assert!(sim.report().violations.is_empty());
}

#[test]
fn an_unclean_election_clears_the_elr() {
    let mut sim = elr_cluster(13, json!({"unclean.leader.election.enable": true}));
    let (leader, others) = shrink_isr_to_the_leader(&mut sim);
    for b in others.iter().copied().chain([leader]) {
        sim.apply(Command::KillBroker { broker: b }).unwrap();
    }
    sim.run_until(SimTime::from_secs(90));
    assert_eq!(orders_0(&sim).elr, vec![1, 2, 3]);
    // One ELR member returns after an unclean shutdown: out of the ELR, it can only lead
    // through an unclean election, which clears the ELR.
    let restarted_at = sim.now();
    sim.apply(Command::RestartBroker {
        broker: others[0],
        disk_lost: false,
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(110));
    assert_eq!(elections(&sim, restarted_at), vec![(Some(others[0]), true)]);
    let p = orders_0(&sim);
    assert_eq!(p.isr, vec![others[0]]);
    assert!(p.elr.is_empty() && p.last_known_elr.is_empty(), "{p:?}");
}

#[test]
fn a_new_min_insync_replicas_clears_the_elr() {
    let mut sim = elr_cluster(14, json!({}));
    shrink_isr_to_the_leader(&mut sim);
    let config = kplay_core::config::TopicConfig {
        min_insync_replicas: Some(3),
        ..Default::default()
    };
    sim.apply(Command::AlterTopicConfig {
        topic: "orders".into(),
        config,
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(62));
    let p = orders_0(&sim);
    assert!(p.elr.is_empty() && p.last_known_elr.is_empty(), "{p:?}");
    // The cluster-wide value too.
    let mut sim = elr_cluster(15, json!({}));
    shrink_isr_to_the_leader(&mut sim);
    let config = kplay_core::config::DynamicBrokerConfig {
        min_insync_replicas: Some(1),
        ..Default::default()
    };
    sim.apply(Command::AlterBrokerConfig {
        broker: None,
        config,
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(62));
    let p = orders_0(&sim);
    assert!(p.elr.is_empty() && p.last_known_elr.is_empty(), "{p:?}");
}
// ---- Snapshots (KIP-630) ----

/// A KRaft cluster with `kraft_config` patched (small snapshot and retention limits).
fn snapshot_cluster(seed: u64, kraft_config: serde_json::Value) -> Sim {
    Sim::new(kraft(
        seed,
        json!({"cluster": {"kraft_config": kraft_config}}),
    ))
    .unwrap()
}

/// Every node's latest snapshot end offset: controllers then brokers.
fn snapshot_ends(sim: &Sim) -> Vec<Option<u64>> {
    let controllers = sim.kraft_controllers().map(|c| c.raft.log());
    let brokers = sim
        .brokers()
        .map(|b| b.kraft.as_ref().expect("KRaft").raft.log());
    controllers
        .chain(brokers)
        .map(|log| log.snapshot().map(|s| s.id.offset))
        .collect()
}

#[test]
fn every_node_snapshots_by_bytes_and_by_time() {
    // By bytes: about 42 NoOp batches (71 bytes each) between snapshots.
    let mut sim = snapshot_cluster(
        21,
        json!({"metadata.log.max.record.bytes.between.snapshots": 3000}),
    );
    sim.run_until(SimTime::from_secs(30));
    let first = snapshot_ends(&sim);
    assert_eq!(first.len(), 6);
    assert!(first.iter().all(|e| e.is_some()), "{first:?}");
    sim.run_until(SimTime::from_secs(60));
    let later = snapshot_ends(&sim);
    assert!(
        later.iter().zip(&first).all(|(l, f)| l > f),
        "{first:?} {later:?}"
    );
    // By time: no byte limit reached, one snapshot every 5 s.
    let mut sim = snapshot_cluster(22, json!({"metadata.log.max.snapshot.interval.ms": 5000}));
    sim.run_until(SimTime::from_secs(4));
    assert!(snapshot_ends(&sim).iter().all(|e| e.is_none()));
    sim.run_until(SimTime::from_secs(12));
    let ends = snapshot_ends(&sim);
    assert!(ends.iter().all(|e| e.is_some()), "{ends:?}");
    // The defaults (20 MiB, 1 h) take none in a minute.
    let mut sim = snapshot_cluster(23, json!({}));
    sim.run_until(SimTime::from_secs(60));
    assert!(snapshot_ends(&sim).iter().all(|e| e.is_none()));
    assert!(sim.report().violations.is_empty());
}

#[test]
fn nodes_down_past_retention_catch_up_with_fetch_snapshot() {
    let mut sim = snapshot_cluster(
        24,
        json!({
            "metadata.log.max.record.bytes.between.snapshots": 2000,
            "metadata.max.retention.bytes": 3000,
        }),
    );
    sim.run_until(SimTime::from_secs(15));
    let (active, _) = sim.active_controller().expect("an active controller");
    let controller = (3000..3003).find(|c| *c != active).unwrap();
    sim.apply(Command::KillController { controller }).unwrap();
    sim.apply(Command::KillBroker { broker: 3 }).unwrap();
    sim.run_until(SimTime::from_secs(60));
    let leader_log = sim.kraft_controller(active).unwrap().raft.log();
    let stale_end = 15 * 2 + 20;
    assert!(
        leader_log.log_start_offset() > stale_end,
        "the leader's log starts past what the dead nodes hold: {}",
        leader_log.log_start_offset()
    );
    let restarted_at = sim.now();
    sim.apply(Command::RestartController { controller })
        .unwrap();
    sim.apply(Command::RestartBroker {
        broker: 3,
        disk_lost: false,
    })
    .unwrap();
    sim.run_until(SimTime::from_secs(75));
    let fetched: Vec<NodeId> = events(&sim, |e| {
        matches!(
            e,
            Event::MessageSent {
                api: "FetchSnapshot",
                ..
            }
        )
    })
    .into_iter()
    .filter(|(at, _)| *at > restarted_at)
    .filter_map(|(_, e)| match e {
        Event::MessageSent { from, .. } => Some(from),
        _ => None,
    })
    .collect();
    assert!(
        fetched.contains(&NodeId::Controller(controller)),
        "{fetched:?}"
    );
    assert!(fetched.contains(&NodeId::broker(3)), "{fetched:?}");
    // Both end with the leader's image (NoOps aside, nothing changes at rest).
    let leader_image = sim
        .kraft_controller(active)
        .unwrap()
        .controller
        .image()
        .to_records();
    let back = sim.kraft_controller(controller).unwrap();
    assert_eq!(back.controller.image().to_records(), leader_image);
    let broker = sim.broker(3).unwrap().kraft.as_ref().unwrap();
    assert_eq!(broker.image.to_records(), leader_image);
    assert!(!broker.fenced, "the broker caught up and was unfenced");
    let report = sim.report();
    assert_eq!(report.acked_lost, 0);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

#[test]
fn a_restarted_controller_loads_its_snapshot_and_replays_the_log_after_it() {
    let mut sim = snapshot_cluster(
        25,
        json!({"metadata.log.max.record.bytes.between.snapshots": 2000}),
    );
    sim.run_until(SimTime::from_secs(20));
    let (active, _) = sim.active_controller().expect("an active controller");
    let controller = (3000..3003).find(|c| *c != active).unwrap();
    let snapshot = sim
        .kraft_controller(controller)
        .unwrap()
        .raft
        .log()
        .snapshot()
        .map(|s| s.id);
    assert!(snapshot.is_some());
    sim.apply(Command::KillController { controller }).unwrap();
    sim.apply(Command::RestartController { controller })
        .unwrap();
    sim.run_until(SimTime::from_secs(21));
    let back = sim.kraft_controller(controller).unwrap();
    assert!(back.controller.image().offset >= snapshot.map(|s| s.offset));
    let leader_image = sim
        .kraft_controller(active)
        .unwrap()
        .controller
        .image()
        .to_records();
    assert_eq!(back.controller.image().to_records(), leader_image);
}

/// The figures in docs/kraft.md, in both modes, with Kafka's defaults:
/// `cargo test --release -p kplay-core --test kraft -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_failover_times_in_both_modes() {
    fn stats(mut v: Vec<f64>) -> String {
        v.sort_by(f64::total_cmp);
        format!(
            "min {:.2} s, median {:.2} s, max {:.2} s over {} seeds",
            v[0],
            v[v.len() / 2],
            v[v.len() - 1],
            v.len()
        )
    }
    for mode in [ClusterMode::ZooKeeper, ClusterMode::KRaft] {
        let (mut broker, mut controller) = (Vec::new(), Vec::new());
        for seed in 0..100 {
            let base = scenario(
                seed,
                json!({"producers": [{"topic": "orders", "rate_per_sec": 200, "config": {"acks": "all"}}]}),
            )
            .with_mode(mode)
            .unwrap();
            // A broker crash: the time until orders-0 has a new leader.
            let mut sim = Sim::new(base.clone()).unwrap();
            sim.run_until(SimTime::from_secs(20));
            let victim = leader_of(&sim, "orders", 0).unwrap();
            sim.apply(Command::KillBroker { broker: victim }).unwrap();
            sim.run_until(SimTime::from_secs(45));
            let elected = events(&sim, |e| {
                matches!(e, Event::LeaderElected { topic, partition: 0, leader: Some(l), .. }
                    if &**topic == "orders" && l.0 != victim)
            });
            let (at, _) = elected
                .iter()
                .find(|(at, _)| at.as_secs_f64() > 20.0)
                .unwrap();
            broker.push(at.as_secs_f64() - 20.0);
            // The active controller's crash: the time until another is active.
            let mut sim = Sim::new(base).unwrap();
            sim.run_until(SimTime::from_secs(20));
            let took_over = if mode.is_kraft() {
                let (old, _) = sim.active_controller().unwrap();
                sim.apply(Command::KillController { controller: old })
                    .unwrap();
                sim.run_until(SimTime::from_secs(60));
                events(
                    &sim,
                    |e| matches!(e, Event::KRaftControllerActivated { node, .. } if *node != old),
                )
            } else {
                let (old, _) = sim.controller().unwrap();
                sim.apply(Command::KillBroker { broker: old.0 }).unwrap();
                sim.run_until(SimTime::from_secs(60));
                events(
                    &sim,
                    |e| matches!(e, Event::ControllerElected { broker, .. } if *broker != old),
                )
            };
            let (at, _) = took_over
                .iter()
                .find(|(at, _)| at.as_secs_f64() > 20.0)
                .unwrap();
            controller.push(at.as_secs_f64() - 20.0);
        }
        println!(
            "{} mode: a leader's crash to a new leader: {}",
            mode.name(),
            stats(broker)
        );
        println!(
            "{} mode: the controller's crash to a new active controller: {}",
            mode.name(),
            stats(controller)
        );
    }
}

/// The metadata log and its snapshots after an hour of the default scenario:
/// `cargo test --release -p kplay-core --test kraft -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_the_metadata_log_and_its_snapshots() {
    let mut sim = Sim::new(kraft(0, json!({}))).unwrap();
    sim.run_until(SimTime::from_secs(3_600));
    let (id, _) = sim.active_controller().unwrap();
    let log = sim.kraft_controller(id).unwrap().raft.log();
    let mut kinds = kplay_core::vec_map::VecMap::<String, usize>::new();
    for e in log.entries() {
        // The record type's name: what its Debug form starts with.
        let debug = format!("{:?}", e.record);
        let kind = debug
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_string();
        *kinds.entry(kind).or_default() += 1;
    }
    println!(
        "KRaft mode: __cluster_metadata after 1 h: {} records, {} bytes {kinds:?}",
        log.entries().len(),
        log.size_bytes()
    );
    // `metadata.log.max.snapshot.interval.ms` (1 h) fires on the next record.
    sim.run_until(SimTime::from_secs(3_601));
    for c in sim.kraft_controllers() {
        let log = c.raft.log();
        let snapshot = log.snapshot().expect("an hourly snapshot");
        println!(
            "controller {}: snapshot {:?} of {} records taken at {:?}; log start {}",
            c.node_id(),
            snapshot.id,
            snapshot.records.len(),
            snapshot.created_at,
            log.log_start_offset()
        );
    }
}
