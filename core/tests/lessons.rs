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
