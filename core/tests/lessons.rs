//! Every lesson loads, shares as a short URL, and its run proves the lesson's answer.

mod common;

use kplay_core::{lessons, share, Report, Sim, SimTime};

fn run_lesson(name: &str) -> (Sim, Report) {
    let scenario = lessons::get(name).unwrap_or_else(|| panic!("lesson {name} loads"));
    let end = SimTime::from_ms(scenario.duration_ms);
    let mut sim = Sim::new(scenario).expect("lesson builds");
    sim.run_until(end);
    let report = sim.report();
    assert!(
        report.violations.is_empty(),
        "{name}: {:?}",
        report.violations
    );
    (sim, report)
}

#[test]
fn every_lesson_is_complete_and_shares_as_a_short_url() {
    assert_eq!(lessons::list().len(), lessons::LESSONS.len());
    for (name, json) in lessons::LESSONS {
        let scenario =
            kplay_core::Scenario::from_json(json).unwrap_or_else(|e| panic!("lesson {name}: {e}"));
        assert_eq!(scenario.name, *name, "a lesson's name is its slug");
        assert!(!name.contains(' '));
        let lesson = scenario.lesson.as_ref().expect("has lesson text");
        assert!(
            !lesson.title.is_empty() && !lesson.question.is_empty() && !lesson.answer.is_empty()
        );
        assert!(!lesson.steps.is_empty());
        let url = format!("https://kplay.example/#s={}", share::encode(&scenario));
        assert!(url.len() < 2_000, "{name}: {} characters", url.len());
        assert_eq!(share::decode(&url).as_ref(), Ok(&scenario));
    }
}

#[test]
fn replication_and_isr_moves_leaders_and_loses_nothing() {
    let (sim, r) = run_lesson("replication-and-isr");
    for p in 0..3 {
        let (leader, _, isr) = sim.partition_state("orders", p).unwrap();
        assert_ne!(
            leader.map(|b| b.0),
            Some(1),
            "orders-{p} moved off broker 1"
        );
        assert!(
            !isr.iter().any(|b| b.0 == 1),
            "broker 1 left the ISR of orders-{p}"
        );
        assert_eq!(isr.len(), 2);
    }
    assert!(r.leader_changes >= 1);
    assert_eq!(r.acked_lost, 0);
}

#[test]
fn acks_zero_and_one_lose_acked_records_acks_all_does_not() {
    let (_, r) = run_lesson("acks-and-leader-crash");
    let lost = |acks: &str| r.acked_lost_by_acks.get(acks).copied().unwrap_or(0);
    assert!(lost("0") > 0, "acks=0 loses: {:?}", r.acked_lost_by_acks);
    assert!(lost("1") > 0, "acks=1 loses: {:?}", r.acked_lost_by_acks);
    assert_eq!(lost("all"), 0);
}

fn partition(name: &str, p: u32) -> kplay_core::TopicPartition {
    kplay_core::TopicPartition::new(&name.into(), p)
}

#[test]
fn offsets_count_per_partition() {
    let (sim, r) = run_lesson("topics-partitions-offsets");
    let ends: Vec<u64> = r.partitions.iter().map(|p| p.log_end_offset).collect();
    assert_eq!(ends.len(), 3);
    assert!(
        ends.iter().all(|e| *e > 50),
        "every partition fills: {ends:?}"
    );
    assert_eq!(
        ends.iter().sum::<u64>(),
        r.acked,
        "each record has one offset in one partition"
    );
    let log = common::log_of(
        &sim,
        common::leader_of(&sim, "orders", 0).unwrap(),
        "orders",
        0,
    );
    let offsets: Vec<u64> = log
        .records_below(log.log_end_offset())
        .iter()
        .map(|(o, _)| *o)
        .collect();
    assert_eq!(
        offsets,
        (0..log.log_end_offset()).collect::<Vec<_>>(),
        "0, 1, 2, … without gaps"
    );
}

#[test]
fn retention_moves_the_log_start_and_offsets_keep_growing() {
    let (_, r) = run_lesson("retention");
    let p = &r.partitions[0];
    assert!(p.log_start_offset > 3_000, "{p:?}");
    assert!(p.log_end_offset > 5_500, "{p:?}");
    assert!(
        p.log_end_offset - p.log_start_offset < 2_000,
        "only ~10-12 s of records kept: {p:?}"
    );
}

#[test]
fn adding_partitions_moves_some_keys() {
    use kplay_core::partitioner::partition_for_key;
    let moved: Vec<&str> = ["alice", "bob", "carol", "dave", "erin"]
        .into_iter()
        .filter(|k| partition_for_key(k.as_bytes(), 3) != partition_for_key(k.as_bytes(), 6))
        .collect();
    assert!(!moved.is_empty());
    let (sim, r) = run_lesson("keys-and-partitions");
    assert_eq!(r.partitions.len(), 6);
    // Before the change each key is in hash % 3; after, in hash % 6.
    for p in 0..6 {
        let leader = common::leader_of(&sim, "payments", p).unwrap();
        let Some(log) = sim
            .broker(leader)
            .and_then(|b| b.log(&partition("payments", p)))
        else {
            continue;
        };
        log.for_each_batch(0, u64::MAX, |b| {
            for rec in b.iter() {
                let key = rec.key.unwrap();
                let at = rec.timestamp_us;
                let expected = if at < 20_000_000 {
                    partition_for_key(key, 3)
                } else if at > 22_000_000 {
                    partition_for_key(key, 6)
                } else {
                    p
                };
                assert_eq!(expected, p, "{} at {at}", String::from_utf8_lossy(key));
            }
            true
        });
    }
    assert!(
        r.partitions[3..].iter().any(|p| p.log_end_offset > 0),
        "new partitions get keys"
    );
}

#[test]
fn rf3_survives_two_broker_failures_without_loss() {
    let (sim, r) = run_lesson("tolerate-failures");
    assert_eq!(r.acked_lost, 0);
    for p in 0..3 {
        assert_eq!(
            common::leader_of(&sim, "orders", p),
            Some(3),
            "orders-{p} on the last broker"
        );
    }
    // Still taking writes at the end.
    let last = sim
        .trace()
        .iter()
        .rev()
        .find(|e| matches!(e.event, kplay_core::Event::ProducerAcked { .. }));
    assert!(last.is_some_and(|e| e.at.as_secs_f64() > 85.0));
}

#[test]
fn the_controller_moves_with_a_higher_epoch() {
    let (sim, r) = run_lesson("controller-failover");
    let (controller, epoch) = sim.controller().unwrap();
    assert_ne!(controller.0, 3);
    assert!(epoch >= 2);
    assert!(r.controller_elections >= 2);
    assert_eq!(r.acked_lost, 0);
}

#[test]
fn a_fourth_member_of_a_group_on_three_partitions_is_idle() {
    let (sim, _) = run_lesson("consumer-groups");
    let view = sim.view();
    assert_eq!(view.consumers.iter().filter(|c| c.idle).count(), 1);
    assert_eq!(view.groups[0].members.len(), 4);
    assert!(view.groups[0].generation >= 4);
}

#[test]
fn a_crashed_members_partition_resumes_from_the_committed_offset() {
    let (sim, r) = run_lesson("committed-offsets");
    assert_eq!(r.lost_by_consumers, 0);
    let g = &sim.view().groups[0];
    assert_eq!(g.members.len(), 1);
    assert_eq!(g.members[0].assignment.len(), 2);
    assert!(g.lag < 200, "caught up: {g:?}");
}

#[test]
fn at_most_once_loses_at_least_once_duplicates_exactly_once_neither() {
    let (_, r) = run_lesson("at-most-once");
    assert!(
        r.lost_by_consumers > 0 && r.duplicates_consumed == 0,
        "{:?}",
        r.readers
    );
    let (_, r) = run_lesson("at-least-once");
    assert!(
        r.lost_by_consumers == 0 && r.duplicates_consumed > 0,
        "{:?}",
        r.readers
    );
    let (_, r) = run_lesson("exactly-once");
    let eos = &r.exactly_once[0];
    assert_eq!((eos.duplicates, eos.missing), (0, 0), "{eos:?}");
    assert!(
        eos.aborted_records > 0 && eos.input_records > 3_000,
        "{eos:?}"
    );
}

#[test]
fn end_to_end_latency_is_under_10_ms() {
    let (_, r) = run_lesson("latency");
    let l = &r.latency;
    let (p50, p99) = (l.end_to_end_p50_ms.unwrap(), l.end_to_end_p99_ms.unwrap());
    assert!(p50 < 10.0 && p99 < 10.0, "{l:?}");
    assert!(r.consumed > 20_000);
}

/// Batches and records per batch a producer's topic got, from the leaders' logs.
fn batches(sim: &Sim, topic: &str) -> (u64, u64) {
    let (mut batches, mut records) = (0, 0);
    for p in 0..3 {
        let leader = common::leader_of(sim, topic, p).unwrap();
        let log = common::log_of(sim, leader, topic, p);
        log.for_each_batch(0, u64::MAX, |b| {
            batches += 1;
            records += b.header.record_count as u64;
            true
        });
    }
    (batches, records)
}

#[test]
fn sticky_null_keys_make_fewer_fuller_batches_than_round_robin() {
    let (sim, _) = run_lesson("null-keys");
    let (rr_batches, rr_records) = batches(&sim, "round-robin");
    let (st_batches, st_records) = batches(&sim, "sticky");
    assert!(
        rr_records.abs_diff(st_records) < 100,
        "same load: {rr_records} vs {st_records}"
    );
    assert!(
        st_batches * 2 < rr_batches,
        "sticky {st_batches} batches, round-robin {rr_batches}"
    );
}

#[test]
fn clients_follow_metadata_to_new_leaders() {
    let (sim, r) = run_lesson("bootstrap-and-metadata");
    for p in 0..6 {
        assert_ne!(common::leader_of(&sim, "orders", p), Some(1));
    }
    let last_ack = sim
        .trace()
        .iter()
        .rev()
        .find(|e| matches!(e.event, kplay_core::Event::ProducerAcked { .. }));
    assert!(
        last_ack.is_some_and(|e| e.at.as_secs_f64() > 39.0),
        "still producing at the end"
    );
    assert_eq!(r.acked_lost, 0);
}

#[test]
fn min_insync_replicas_refuses_acks_all_when_alone() {
    let (sim, r) = run_lesson("min-insync-replicas");
    let acks_all = sim.producer(0).unwrap();
    let acks_one = sim.producer(1).unwrap();
    assert!(
        acks_all.stats.failed > 0,
        "acks=all gave up: {:?}",
        acks_all.stats.failed
    );
    assert!(
        acks_one.stats.acked > 7_000,
        "acks=1 kept going: {}",
        acks_one.stats.acked
    );
    let refused = sim.trace().iter().any(|e| {
        matches!(&e.event, kplay_core::Event::ProducerFailed { producer: 0, error, .. }
            if matches!(error, kplay_core::protocol::ErrorCode::NotEnoughReplicas | kplay_core::protocol::ErrorCode::DeliveryTimeout))
    });
    assert!(refused);
    assert_eq!(r.acked_lost_by_acks.get("all").copied().unwrap_or(0), 0);
}

#[test]
fn unclean_election_comes_back_and_loses_acked_records() {
    let (sim, r) = run_lesson("unclean-leader-election");
    assert_eq!(common::leader_of(&sim, "orders", 0), Some(2));
    assert!(r.unclean_elections >= 1);
    assert!(r.acked_lost > 0);
}

#[test]
fn order_holds_per_partition_only() {
    let (sim, r) = run_lesson("ordering");
    // Each key lives in one partition, so per-key order is the partition's offset order.
    use kplay_core::partitioner::partition_for_key;
    for p in 0..3 {
        let leader = common::leader_of(&sim, "events", p).unwrap();
        let log = common::log_of(&sim, leader, "events", p);
        let mut last_ts = 0;
        log.for_each_batch(0, u64::MAX, |b| {
            for rec in b.iter() {
                assert_eq!(partition_for_key(rec.key.unwrap(), 3), p);
                assert!(
                    rec.timestamp_us >= last_ts,
                    "send order within the partition"
                );
                last_ts = rec.timestamp_us;
            }
            true
        });
    }
    assert_eq!(r.consumed, r.acked);
}

#[test]
fn eager_revokes_everything_cooperative_moves_only_what_changes_owner() {
    let (sim, _) = run_lesson("rebalances");
    let assigned: Vec<(String, i32, usize, usize)> = sim
        .trace()
        .iter()
        .filter_map(|e| match &e.event {
            kplay_core::Event::ConsumerAssigned {
                group,
                generation,
                assigned,
                revoked,
                ..
            } => Some((group.clone(), *generation, assigned.len(), revoked.len())),
            _ => None,
        })
        .collect();
    let of = |g: &str| {
        assigned
            .iter()
            .filter(|a| a.0 == g)
            .map(|a| (a.1, a.2, a.3))
            .collect::<Vec<_>>()
    };
    // Eager: generation 2 hands out 3 + 3 after everything was revoked.
    assert_eq!(
        of("eager")[1..]
            .iter()
            .filter(|(g, n, _)| *g == 2 && *n == 3)
            .count(),
        2,
        "{:?}",
        of("eager")
    );
    // Cooperative: generation 2 revokes 3, generation 3 assigns them.
    let coop = of("cooperative");
    assert!(
        coop.contains(&(2, 0, 3)) && coop.contains(&(3, 3, 0)),
        "{coop:?}"
    );
}

#[test]
fn without_a_zookeeper_quorum_metadata_freezes_until_it_returns() {
    let (sim, r) = run_lesson("zookeeper-quorum");
    let elected_while_down = sim.trace().iter().any(|e| {
        e.at.as_secs_f64() > 8.0
            && e.at.as_secs_f64() < 60.0
            && matches!(
                e.event,
                kplay_core::Event::LeaderElected { .. }
                    | kplay_core::Event::ControllerElected { .. }
            )
    });
    assert!(!elected_while_down);
    assert!(sim.zookeeper_leader().is_some());
    assert_ne!(
        common::leader_of(&sim, "orders", 0),
        Some(2),
        "moved once quorum returned"
    );
    assert_eq!(r.acked_lost, 0);
}

#[test]
fn an_isolated_leader_cannot_lose_acks_all_records() {
    let (sim, r) = run_lesson("network-partition");
    assert_eq!(r.acked_lost, 0);
    assert!(r.leader_changes >= 1);
    // Healed: broker 1 is back in every ISR.
    for p in 0..3 {
        let (_, _, isr) = sim.partition_state("orders", p).unwrap();
        assert_eq!(isr.len(), 3, "orders-{p}: {isr:?}");
    }
}
