//! Every lesson loads, shares as a short URL, and its run proves the lesson's answer.

mod common;

use kplay_core::{lessons, share, Event, Report, Sim, SimTime};

fn run_lesson(name: &str) -> (Sim, Report) {
    finish(name, lesson_sim(name))
}

/// A lesson's simulation, not yet run, keeping its whole trace in memory.
fn lesson_sim(name: &str) -> Sim {
    let mut scenario = lessons::get(name).unwrap_or_else(|| panic!("lesson {name} loads"));
    scenario.trace.window = 10_000_000;
    Sim::new(scenario).expect("lesson builds")
}

/// Runs to `secs` simulated seconds.
fn run_to(sim: &mut Sim, secs: f64) {
    sim.run_until(SimTime::from_ms((secs * 1000.0).round() as u64));
}

/// Runs the rest of the lesson and checks that no invariant broke.
fn finish(name: &str, mut sim: Sim) -> (Sim, Report) {
    let end = SimTime::from_ms(sim.scenario().duration_ms);
    sim.run_until(end);
    let report = sim.report();
    assert!(
        report.violations.is_empty(),
        "{name}: {:?}",
        report.violations
    );
    (sim, report)
}

/// The trace as (seconds, event).
fn events(sim: &Sim) -> impl Iterator<Item = (f64, &Event)> {
    sim.trace().iter().map(|e| (e.at.as_secs_f64(), &e.event))
}

/// When the controller last chose a leader for `topic`-`partition` (None: the partition went
/// offline) between `from` and `to` seconds, and who.
fn leader_elections(sim: &Sim, topic: &str, p: u32, from: f64, to: f64) -> Vec<(f64, Option<u32>)> {
    events(sim)
        .filter(|(t, _)| *t >= from && *t < to)
        .filter_map(|(t, e)| match e {
            Event::LeaderElected {
                topic: tp,
                partition,
                leader,
                ..
            } if &**tp == topic && *partition == p => Some((t, leader.map(|b| b.0))),
            _ => None,
        })
        .collect()
}

/// Records a producer had acknowledged on `topic`-`partition` (any partition: None) between
/// `from` and `to` seconds.
fn acked(sim: &Sim, producer: u32, p: Option<u32>, from: f64, to: f64) -> u64 {
    events(sim)
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|(_, e)| match e {
            Event::ProducerAcked {
                producer: pr,
                partition,
                records,
                ..
            } if *pr == producer && p.is_none_or(|p| p == *partition) => *records as u64,
            _ => 0,
        })
        .sum()
}

/// Records consumer application `consumer` processed (of partition `p`, or any) between
/// `from` and `to` seconds.
fn processed(sim: &Sim, consumer: u32, p: Option<u32>, from: f64, to: f64) -> u64 {
    events(sim)
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|(_, e)| match e {
            Event::ConsumerProcessed {
                consumer: c,
                partition,
                records,
                ..
            } if *c == consumer && p.is_none_or(|p| p == *partition) => *records as u64,
            _ => 0,
        })
        .sum()
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
fn replication_and_isr_moves_the_dead_leaders_partition_when_its_session_expires() {
    let mut sim = lesson_sim("replication-and-isr");
    run_to(&mut sim, 14.9);
    let leaders: Vec<Option<u32>> = (0..3)
        .map(|p| common::leader_of(&sim, "orders", p))
        .collect();
    let mut sorted = leaders.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [Some(1), Some(2), Some(3)],
        "each broker leads one partition: {leaders:?}"
    );
    let p = leaders.iter().position(|l| *l == Some(1)).unwrap() as u32;
    assert_eq!(p, 2, "the text says broker 1 leads orders-2");
    run_to(&mut sim, 31.0);
    assert_eq!(
        common::leader_of(&sim, "orders", p),
        Some(1),
        "nothing moves before the ZooKeeper session expires"
    );
    let (sim, r) = finish("replication-and-isr", sim);
    let moved = leader_elections(&sim, "orders", p, 15.0, 60.0);
    assert_eq!(moved.len(), 1, "{moved:?}");
    let (at, leader) = moved[0];
    assert!(
        (32.0..36.0).contains(&at) && leader.is_some_and(|b| b != 1),
        "a new leader about 18 s after the crash: {moved:?}"
    );
    assert_eq!(
        common::leader_of(&sim, "orders", p),
        Some(3),
        "the text says broker 3"
    );
    // Every partition waits: orders-2 for a leader, the others for broker 1 to leave their ISR.
    for q in 0..3 {
        assert_eq!(
            acked(&sim, 0, Some(q), 15.1, at),
            0,
            "orders-{q} acknowledges nothing"
        );
        assert_eq!(
            processed(&sim, 0, Some(q), 15.1, at),
            0,
            "orders-{q} gives nothing to read"
        );
        assert!(
            acked(&sim, 0, Some(q), at, at + 2.0) > 0,
            "orders-{q} goes on after"
        );
    }
    for q in 0..3 {
        let (_, _, isr) = sim.partition_state("orders", q).unwrap();
        assert!(
            !isr.iter().any(|b| b.0 == 1),
            "broker 1 left the ISR of orders-{q}"
        );
        assert_eq!(isr.len(), 2);
    }
    assert_eq!(r.acked_lost, 0);
}

#[test]
fn replication_and_isr_try_this_restart_then_preferred_election_gives_broker_1_its_partition_back()
{
    let mut sim = lesson_sim("replication-and-isr");
    run_to(&mut sim, 40.0);
    let steps = &sim.scenario().lesson.as_ref().unwrap().steps;
    let (restart, elect) = (
        steps[4].action.clone().unwrap(),
        steps[5].action.clone().unwrap(),
    );
    sim.apply(restart).unwrap();
    run_to(&mut sim, 42.0);
    for q in 0..3 {
        let (leader, _, isr) = sim.partition_state("orders", q).unwrap();
        assert!(
            isr.iter().any(|b| b.0 == 1),
            "broker 1 back in the ISR of orders-{q}"
        );
        assert_ne!(leader.map(|b| b.0), Some(1), "but it leads nothing");
    }
    sim.apply(elect).unwrap();
    run_to(&mut sim, 43.0);
    assert_eq!(common::leader_of(&sim, "orders", 2), Some(1));
    let (_, r) = finish("replication-and-isr", sim);
    assert_eq!(r.acked_lost, 0);
}

#[test]
fn acks_zero_and_one_lose_acked_records_acks_all_does_not() {
    let mut sim = lesson_sim("acks-and-leader-crash");
    run_to(&mut sim, 9.9);
    assert_eq!(
        common::leader_of(&sim, "orders", 0),
        Some(1),
        "broker 1 leads"
    );
    let (sim, r) = finish("acks-and-leader-crash", sim);
    let lost = |acks: &str| r.acked_lost_by_acks.get(acks).copied().unwrap_or(0);
    // 300 records/s: the leader's last second alone.
    assert!(
        (250..=350).contains(&lost("1")),
        "acks=1 loses its last second: {:?}",
        r.acked_lost_by_acks
    );
    assert!(
        lost("0") >= lost("1"),
        "acks=0 loses at least as much: {:?}",
        r.acked_lost_by_acks
    );
    assert_eq!(lost("all"), 0);
    // Between the cut and the new leader acks=all gets no answer, then its records go through.
    assert!(
        acked(&sim, 0, None, 10.1, 11.0) > 200,
        "acks=0 goes on alone"
    );
    assert!(
        acked(&sim, 1, None, 10.1, 11.0) > 200,
        "acks=1 goes on alone"
    );
    assert_eq!(acked(&sim, 2, None, 10.1, 27.0), 0, "acks=all waits");
    assert!(
        acked(&sim, 2, None, 27.0, 35.0) > 3_000,
        "and gets through on the new leader"
    );
    assert_eq!(
        r.duplicates_in_log, 0,
        "idempotence: no duplicates from its retries"
    );
    assert_eq!(common::leader_of(&sim, "orders", 0), Some(2));
}

#[test]
fn a_clean_stop_moves_leaders_at_once_a_crash_waits_for_the_session() {
    let mut sim = lesson_sim("controlled-shutdown");
    run_to(&mut sim, 9.9);
    let leaders: Vec<Option<u32>> = (0..3)
        .map(|p| common::leader_of(&sim, "orders", p))
        .collect();
    assert_eq!(leaders, [Some(1), Some(2), Some(3)], "as the text says");
    run_to(&mut sim, 39.9);
    let led_by_2: Vec<u32> = (0..3)
        .filter(|p| common::leader_of(&sim, "orders", *p) == Some(2))
        .collect();
    assert_eq!(led_by_2, [0, 1], "broker 2 took orders-0 from broker 1");
    let (sim, r) = finish("controlled-shutdown", sim);
    // The clean stop: orders-0 moved within milliseconds, and nobody waited.
    let moved = leader_elections(&sim, "orders", 0, 9.0, 11.0);
    assert!(
        moved.len() == 1 && moved[0].0 < 10.05 && moved[0].1 == Some(2),
        "{moved:?}"
    );
    for producer in 0..2 {
        for p in 0..3 {
            for s in 8..14 {
                let (from, to) = (s as f64 * 0.5 + 6.0, s as f64 * 0.5 + 6.5);
                assert!(
                    acked(&sim, producer, Some(p), from, to) > 0,
                    "producer {producer}, orders-{p}: acks from {from} to {to} s"
                );
            }
        }
    }
    let retried_at_stop = events(&sim)
        .any(|(t, e)| (10.0..12.0).contains(&t) && matches!(e, Event::ProducerRetry { .. }));
    assert!(!retried_at_stop, "no error at the clean stop");
    // The crash: nothing moves until the session expires, and the partitions wait.
    for p in led_by_2 {
        let moved = leader_elections(&sim, "orders", p, 39.0, 75.0);
        assert!(
            moved.len() == 1 && (56.0..60.0).contains(&moved[0].0),
            "orders-{p}: {moved:?}"
        );
        let at = moved[0].0;
        for producer in 0..2 {
            assert_eq!(
                acked(&sim, producer, Some(p), 40.1, at),
                0,
                "orders-{p} waits"
            );
            assert!(
                acked(&sim, producer, Some(p), at, at + 2.0) > 0,
                "then goes on"
            );
        }
    }
    assert_eq!(
        acked(&sim, 1, Some(2), 40.1, 56.0),
        0,
        "acks=all waits on orders-2 too"
    );
    assert!(acked(&sim, 0, Some(2), 40.1, 56.0) > 500, "acks=1 does not");
    assert_eq!(r.acked_lost, 0);
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
    let mut sim = lesson_sim("controller-failover");
    run_to(&mut sim, 9.9);
    assert_eq!(
        sim.controller().map(|(b, epoch)| (b.0, epoch)),
        Some((3, 1)),
        "the lesson kills the controller, broker 3"
    );
    let (sim, r) = finish("controller-failover", sim);
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
fn at_most_once_loses_a_batch_at_least_once_processes_it_twice() {
    let (sim, r) = run_lesson("at-most-once");
    assert!(
        r.lost_by_consumers >= 400 && r.duplicates_consumed == 0,
        "a whole poll of 500 lost: {:?}",
        r.readers
    );
    assert_eq!(
        processed(&sim, 0, None, 0.0, 40.0),
        0,
        "consumer 0 processed nothing"
    );
    let (sim, r) = run_lesson("at-least-once");
    assert!(
        r.lost_by_consumers == 0 && r.duplicates_consumed >= 400,
        "a whole poll of 500 twice: {:?}",
        r.readers
    );
    assert!(
        processed(&sim, 0, None, 0.0, 40.0) >= 400,
        "consumer 0 processed its batch"
    );
}

#[test]
fn exactly_once_aborts_on_the_coordinators_sweep_and_read_committed_waits() {
    let (sim, r) = run_lesson("exactly-once");
    let eos = &r.exactly_once[0];
    assert_eq!((eos.duplicates, eos.missing), (0, 0), "{eos:?}");
    assert!(
        eos.aborted_records > 0 && eos.input_records > 3_000,
        "{eos:?}"
    );
    // transaction.timeout.ms is 5 s, but the coordinator looks every 10 s: the abort comes at 20 s.
    let aborted_at = events(&sim).find_map(|(t, e)| match e {
        Event::TransactionEnding {
            commit: false,
            reason: Some(_),
            ..
        } => Some(t),
        _ => None,
    });
    assert!(
        aborted_at.is_some_and(|t| (19.5..20.5).contains(&t)),
        "{aborted_at:?}"
    );
    // The read_committed reader (consumer 2) stops at the LSO of the partitions the open
    // transaction wrote to, and resumes after the abort.
    let stalled: Vec<u32> = (0..3)
        .filter(|p| processed(&sim, 2, Some(*p), 12.5, 19.5) == 0)
        .collect();
    assert!(!stalled.is_empty());
    for p in stalled {
        assert!(
            processed(&sim, 2, Some(p), 19.5, 22.0) > 0,
            "results-{p} resumes"
        );
    }
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
    // Runs of consecutive records on one partition, in acknowledgement order.
    let runs = |producer: u32| -> Vec<u64> {
        let mut runs: Vec<(u32, u64)> = Vec::new();
        for (t, e) in events(&sim) {
            if let Event::ProducerAcked {
                producer: p,
                partition,
                records,
                ..
            } = e
            {
                if *p != producer || t < 2.0 {
                    continue;
                }
                match runs.last_mut() {
                    Some((last, n)) if last == partition => *n += *records as u64,
                    _ => runs.push((*partition, *records as u64)),
                }
            }
        }
        let mut runs: Vec<u64> = runs.into_iter().map(|r| r.1).collect();
        runs.pop(); // the last run is cut short by the end of the lesson
        runs.sort();
        runs
    };
    let rr = runs(0);
    assert!(
        rr.iter().all(|n| *n <= 3),
        "round-robin: every batch elsewhere: {rr:?}"
    );
    let st = runs(1);
    let per_batch = st_records / st_batches;
    let median = st[st.len() / 2];
    assert!(
        median >= 200 && median > 20 * per_batch,
        "sticky stays on a partition for many batches ({per_batch} records each): {st:?}"
    );
    // Over time both spread records over every partition.
    for topic in ["round-robin", "sticky"] {
        for p in 0..3 {
            let leader = common::leader_of(&sim, topic, p).unwrap();
            let n = common::log_of(&sim, leader, topic, p).log_end_offset();
            assert!(n > 900, "{topic}-{p}: {n} records");
        }
    }
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

/// (seconds, ISR) of each ISR change of `topic`-`p` between `from` and `to` seconds.
fn isr_changes(sim: &Sim, topic: &str, p: u32, from: f64, to: f64) -> Vec<(f64, Vec<u32>)> {
    events(sim)
        .filter(|(t, _)| *t >= from && *t < to)
        .filter_map(|(t, e)| match e {
            Event::IsrShrunk {
                topic: tp,
                partition,
                isr,
                ..
            }
            | Event::IsrExpanded {
                topic: tp,
                partition,
                isr,
                ..
            }
            | Event::LeaderElected {
                topic: tp,
                partition,
                isr,
                ..
            } if &**tp == topic && *partition == p => {
                let mut isr: Vec<u32> = isr.iter().map(|b| b.0).collect();
                isr.sort();
                Some((t, isr))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn min_insync_replicas_a_lagging_follower_leaves_after_30_s_a_dead_one_at_session_expiry() {
    let mut sim = lesson_sim("min-insync-replicas");
    run_to(&mut sim, 9.9);
    assert_eq!(
        common::leader_of(&sim, "orders", 0),
        Some(3),
        "broker 3 leads"
    );
    let (sim, r) = finish("min-insync-replicas", sim);
    let changes = isr_changes(&sim, "orders", 0, 1.0, 90.0);
    assert_eq!(changes.len(), 2, "{changes:?}");
    // The live follower cut off at 10 s: the leader drops it after replica.lag.time.max.ms.
    assert!(
        (40.0..=46.0).contains(&changes[0].0) && changes[0].1 == [2, 3],
        "{changes:?}"
    );
    // The follower killed at 50 s: the controller drops it when its session expires.
    assert!(
        (66.0..=71.0).contains(&changes[1].0) && changes[1].1 == [3],
        "{changes:?}"
    );
    let shrunk_alone = changes[1].0;
    // acks=all waits while a stuck replica is in the ISR, then is refused below min ISR.
    assert_eq!(
        acked(&sim, 0, None, 10.1, changes[0].0),
        0,
        "acks=all waits for broker 1"
    );
    assert!(
        acked(&sim, 0, None, changes[0].0, changes[0].0 + 1.0) > 1_000,
        "then all at once"
    );
    assert_eq!(acked(&sim, 0, None, shrunk_alone, 90.0), 0);
    let refused = events(&sim).any(|(t, e)| {
        t > shrunk_alone
            && matches!(e, Event::ProducerRetry { producer: 0, error, .. }
                if *error == kplay_core::protocol::ErrorCode::NotEnoughReplicas)
    });
    assert!(
        refused,
        "NOT_ENOUGH_REPLICAS once the ISR is the leader alone"
    );
    let acks_all = sim.producer(0).unwrap();
    assert!(
        acks_all.stats.failed > 2_500,
        "gave up: {}",
        acks_all.stats.failed
    );
    // acks=1 is taken throughout.
    for s in (0..88).step_by(2) {
        let (from, to) = (s as f64 + 1.0, s as f64 + 3.0);
        assert!(
            acked(&sim, 1, None, from, to) > 100,
            "acks=1 from {from} to {to} s"
        );
    }
    assert_eq!(r.acked_lost, 0);
}

#[test]
fn unclean_election_takes_an_offline_partition_back_and_loses_acked_records() {
    let mut sim = lesson_sim("unclean-leader-election");
    run_to(&mut sim, 7.9);
    assert_eq!(
        common::leader_of(&sim, "orders", 0),
        Some(1),
        "broker 1 leads"
    );
    let (mut sim, r) = finish("unclean-leader-election", sim);
    let elections = leader_elections(&sim, "orders", 0, 1.0, 90.0);
    assert_eq!(elections.len(), 2, "{elections:?}");
    // The leader died at 40 s: offline when its session expires, until broker 2 returns at 70 s.
    assert!(
        (56.0..60.0).contains(&elections[0].0) && elections[0].1.is_none(),
        "offline: {elections:?}"
    );
    assert!(
        (70.0..70.5).contains(&elections[1].0) && elections[1].1 == Some(2),
        "unclean at 70 s: {elections:?}"
    );
    assert_eq!(r.unclean_elections, 1);
    let shrunk = isr_changes(&sim, "orders", 0, 1.0, 40.0);
    assert!(
        shrunk.len() == 1 && (26.0..30.0).contains(&shrunk[0].0) && shrunk[0].1 == [1],
        "the dead follower leaves the ISR at its session expiry: {shrunk:?}"
    );
    assert_eq!(
        acked(&sim, 0, None, 40.1, 70.0),
        0,
        "nothing is written while offline"
    );
    // 8 s to 40 s at 200 records/s, acknowledged by broker 1 alone.
    assert!((6_000..=6_800).contains(&r.acked_lost), "{}", r.acked_lost);
    // Try this: broker 1 returns and truncates them away.
    let restart = sim.scenario().lesson.as_ref().unwrap().steps[3]
        .action
        .clone()
        .unwrap();
    sim.apply(restart).unwrap();
    run_to(&mut sim, 95.0);
    let truncated = events(&sim).find_map(|(t, e)| match e {
        Event::LogTruncated {
            broker, from, to, ..
        } if t > 90.0 && broker.0 == 1 => Some(from - to),
        _ => None,
    });
    assert!(truncated.is_some_and(|n| n >= 6_000), "{truncated:?}");
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
    // Everything acknowledged is read once (a record acknowledged just after the end may
    // already be read).
    assert!(
        r.consumed >= r.acked && r.consumed <= r.produced && r.duplicates_consumed == 0,
        "{} acknowledged, {} read",
        r.acked,
        r.consumed
    );
}

/// The longest time between two batches a group processed, within `from`..`to` seconds:
/// (start, length).
fn longest_pause(sim: &Sim, group: &str, from: f64, to: f64) -> (f64, f64) {
    let mut times: Vec<f64> = events(sim)
        .filter(|(t, _)| *t >= from && *t < to)
        .filter(
            |(_, e)| matches!(e, Event::ConsumerProcessed { group: Some(g), .. } if &**g == group),
        )
        .map(|(t, _)| t)
        .collect();
    times.insert(0, from);
    times.push(to);
    times
        .windows(2)
        .map(|w| (w[0], w[1] - w[0]))
        .fold(
            (from, 0.0),
            |best, gap| if gap.1 > best.1 { gap } else { best },
        )
}

#[test]
fn eager_stops_the_whole_group_cooperative_keeps_consuming() {
    let (sim, r) = run_lesson("rebalances");
    // (group, consumer, generation, assigned, revoked) after the newcomer joins at 12 s.
    let assigned: Vec<(String, u32, i32, usize, usize)> = events(&sim)
        .filter(|(t, _)| *t > 11.0)
        .filter_map(|(_, e)| match e {
            Event::ConsumerAssigned {
                consumer,
                group,
                generation,
                assigned,
                revoked,
                ..
            } => Some((
                group.clone(),
                *consumer,
                *generation,
                assigned.len(),
                revoked.len(),
            )),
            _ => None,
        })
        .collect();
    let of = |g: &str| -> Vec<(u32, i32, usize, usize)> {
        assigned
            .iter()
            .filter(|a| a.0 == g)
            .map(|a| (a.1, a.2, a.3, a.4))
            .collect()
    };
    let eager = of("eager");
    // Each old member gave up its 2 partitions (traced), then generation 2 handed out all 6.
    let revoked: usize = eager.iter().filter(|a| a.1 == 1).map(|a| a.3).sum();
    let handed: usize = eager.iter().filter(|a| a.1 == 2).map(|a| a.2).sum();
    assert_eq!((revoked, handed), (6, 6), "{eager:?}");
    assert!(eager.iter().all(|a| a.1 <= 2), "one rebalance: {eager:?}");
    // Cooperative: generation 2 takes one partition from its owner, generation 3 gives it on.
    let coop = of("cooperative");
    let moved = |generation: i32| -> (usize, usize) {
        coop.iter()
            .filter(|a| a.1 == generation)
            .fold((0, 0), |(n, m), a| (n + a.2, m + a.3))
    };
    assert_eq!((moved(2), moved(3)), ((0, 1), (1, 0)), "{coop:?}");
    // Stop-the-world: the eager group processes nothing from its members' revocation (at
    // their heartbeat, 12.4 s) until the paused member rejoins (16.1 s).
    let (start, length) = longest_pause(&sim, "eager", 11.0, 20.0);
    assert!(
        length > 3.0 && (12.2..12.6).contains(&start),
        "eager paused {length} s from {start} s"
    );
    let (start, length) = longest_pause(&sim, "cooperative", 11.0, 20.0);
    assert!(length < 0.5, "cooperative paused {length} s from {start} s");
    for reader in &r.readers {
        assert_eq!((reader.duplicates, reader.lost), (0, 0), "{reader:?}");
    }
}

#[test]
fn without_a_zookeeper_quorum_metadata_freezes_and_acks_all_stops_everywhere() {
    let mut sim = lesson_sim("zookeeper-quorum");
    run_to(&mut sim, 7.9);
    assert_eq!(
        common::leader_of(&sim, "orders", 0),
        Some(2),
        "broker 2 leads orders-0"
    );
    assert_ne!(
        sim.controller().map(|c| c.0 .0),
        Some(2),
        "the controller stays up"
    );
    let (sim, r) = finish("zookeeper-quorum", sim);
    let changed_while_down = events(&sim).any(|(t, e)| {
        t > 8.0
            && t < 60.0
            && matches!(
                e,
                Event::LeaderElected { .. }
                    | Event::ControllerElected { .. }
                    | Event::IsrShrunk { .. }
                    | Event::IsrExpanded { .. }
            )
    });
    assert!(!changed_while_down, "no metadata change without a quorum");
    // acks=all: nothing acknowledged on any partition; the reader gets nothing new.
    assert_eq!(acked(&sim, 0, None, 10.0, 60.0), 0);
    assert_eq!(processed(&sim, 0, None, 10.0, 60.0), 0);
    // acks=1: the live leaders of orders-1 and orders-2 still acknowledge.
    assert!(acked(&sim, 1, None, 10.0, 60.0) > 4_000);
    assert_eq!(acked(&sim, 1, Some(0), 8.1, 60.0), 0, "not the dead leader");
    // Quorum back: the waiting records go through and the reader catches up.
    assert!(acked(&sim, 0, None, 60.0, 62.0) > 3_000);
    assert!(processed(&sim, 0, None, 60.0, 62.0) > 8_000);
    let moved = leader_elections(&sim, "orders", 0, 60.0, 100.0);
    assert!(
        moved.len() == 1 && (78.0..82.0).contains(&moved[0].0) && moved[0].1 != Some(2),
        "orders-0 moves when broker 2's session expires, ~20 s after the quorum: {moved:?}"
    );
    assert!(sim.zookeeper_leader().is_some());
    assert_eq!(r.acked_lost, 0);
}

#[test]
fn an_isolated_leader_acknowledges_nothing_and_loses_nothing() {
    let mut sim = lesson_sim("network-partition");
    run_to(&mut sim, 9.9);
    assert_eq!(
        common::leader_of(&sim, "orders", 0),
        Some(1),
        "broker 1 leads orders-0"
    );
    let (sim, r) = finish("network-partition", sim);
    // Broker 1 is in every ISR: nothing is acknowledged anywhere until the controller acts.
    let moved = leader_elections(&sim, "orders", 0, 10.0, 80.0);
    assert!(
        moved.len() == 1 && (26.0..30.0).contains(&moved[0].0) && moved[0].1 != Some(1),
        "{moved:?}"
    );
    let at = moved[0].0;
    assert_eq!(
        acked(&sim, 0, None, 10.1, at),
        0,
        "no partition takes records"
    );
    for p in 1..3 {
        assert!(
            acked(&sim, 0, Some(p), at, at + 3.0) > 0,
            "orders-{p} goes on at once"
        );
    }
    // orders-0 waits for the request to broker 1 to time out (request.timeout.ms).
    assert_eq!(acked(&sim, 0, Some(0), 10.1, 39.0), 0);
    assert!(acked(&sim, 0, Some(0), 39.0, 45.0) > 0);
    assert_eq!(r.acked_lost, 0);
    // Healed: broker 1 is back in every ISR.
    for p in 0..3 {
        let (_, _, isr) = sim.partition_state("orders", p).unwrap();
        assert_eq!(isr.len(), 3, "orders-{p}: {isr:?}");
    }
}

#[test]
fn a_leader_the_producers_still_reach_loses_acks_1_records_not_acks_all() {
    let mut sim = lesson_sim("partial-partition");
    run_to(&mut sim, 9.9);
    assert_eq!(
        common::leader_of(&sim, "orders", 0),
        Some(1),
        "broker 1 leads orders-0"
    );
    run_to(&mut sim, 45.0);
    assert_eq!(
        common::leader_of(&sim, "orders", 0),
        Some(2),
        "the controller moved it"
    );
    let zombie = sim
        .broker(1)
        .and_then(|b| b.log(&partition("orders", 0)))
        .map(|l| l.log_end_offset());
    let (sim, r) = finish("partial-partition", sim);
    let lost = |acks: &str| r.acked_lost_by_acks.get(acks).copied().unwrap_or(0);
    // The acks=1 producer kept writing orders-0 to broker 1 from 10 s until about 54 s.
    assert!(
        acked(&sim, 0, Some(0), 29.0, 50.0) > 800,
        "broker 1 still acknowledges"
    );
    assert!(lost("1") >= 1_500, "{:?}", r.acked_lost_by_acks);
    assert_eq!(lost("all"), 0, "{:?}", r.acked_lost_by_acks);
    assert_eq!(
        acked(&sim, 1, None, 10.1, 27.0),
        0,
        "acks=all: no answer anywhere"
    );
    assert_eq!(
        acked(&sim, 1, Some(0), 10.1, 39.0),
        0,
        "acks=all: no answer from broker 1"
    );
    let truncated = events(&sim).find_map(|(t, e)| match e {
        Event::LogTruncated {
            broker,
            partition: 0,
            from,
            to,
            ..
        } if t > 50.0 && broker.0 == 1 => Some((*from, *to)),
        _ => None,
    });
    assert!(
        truncated.is_some_and(|(from, to)| from - to >= 1_500 && zombie.is_some_and(|z| z > to)),
        "{truncated:?}, broker 1's log end at 45 s: {zombie:?}"
    );
    for p in 0..3 {
        let (_, _, isr) = sim.partition_state("orders", p).unwrap();
        assert_eq!(isr.len(), 3, "healed: orders-{p}: {isr:?}");
    }
}

#[test]
fn kraft_fences_a_dead_broker_9_s_after_its_last_heartbeat_zookeeper_waits_18_s() {
    let (sim, report) = run_lesson("kraft-quorum");
    assert!(sim.zookeeper(1).is_none());
    let fenced: Vec<f64> = events(&sim)
        .filter_map(|(at, e)| match e {
            Event::KRaftBrokerFenced {
                broker: 2,
                session_expired: true,
            } => Some(at),
            _ => None,
        })
        .collect();
    assert_eq!(fenced.len(), 1, "{fenced:?}");
    assert!(
        (27.0..=30.2).contains(&fenced[0]),
        "fenced at {}",
        fenced[0]
    );
    // Broker 2's partitions had new leaders right after, and none before.
    for p in 0..3 {
        let moved = leader_elections(&sim, "orders", p, 20.0, 40.0);
        assert!(
            moved.iter().all(|(at, _)| *at >= fenced[0]),
            "orders-{p}: {moved:?}"
        );
    }
    // It came back with a new broker epoch and was unfenced once caught up.
    let unfenced: Vec<f64> = events(&sim)
        .filter_map(|(at, e)| match e {
            Event::KRaftBrokerUnfenced { broker: 2, .. } => Some(at),
            _ => None,
        })
        .collect();
    assert!(
        unfenced.iter().any(|at| (40.0..42.0).contains(at)),
        "{unfenced:?}"
    );
    assert_eq!(report.acked_lost, 0);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    // The same lesson in ZooKeeper mode waits for the 18 s session.
    let zk = lessons::get("kraft-quorum")
        .unwrap()
        .with_mode(kplay_core::scenario::ClusterMode::ZooKeeper)
        .unwrap();
    let mut sim = Sim::new(zk).unwrap();
    sim.run_until(SimTime::from_secs(60));
    let first = (0..3)
        .flat_map(|p| leader_elections(&sim, "orders", p, 20.0, 60.0))
        .map(|(at, _)| at)
        .fold(f64::MAX, f64::min);
    assert!(
        (38.0..=41.0).contains(&first),
        "first new leader at {first}"
    );
}

/// (seconds, controller, epoch) of every KRaft controller activation.
fn activations(sim: &Sim) -> Vec<(f64, u32, u32)> {
    events(sim)
        .filter_map(|(at, e)| match e {
            Event::KRaftControllerActivated { node, epoch } => Some((at, *node, *epoch)),
            _ => None,
        })
        .collect()
}

#[test]
fn kraft_controller_failover_is_a_hot_standby_taking_over_in_under_2_s() {
    let (sim, report) = run_lesson("kraft-controller-failover");
    let active = activations(&sim);
    assert_eq!(active.first().map(|a| a.1), Some(3000), "{active:?}");
    let after: Vec<_> = active.iter().filter(|a| a.0 > 10.0).collect();
    assert_eq!(after.len(), 1, "{active:?}");
    let (at, node, epoch) = *after[0];
    assert!(at < 12.0 && node != 3000 && epoch == 2, "{active:?}");
    // The new active controller handles the broker crash at 20 s as the first would have.
    let fenced: Vec<f64> = events(&sim)
        .filter_map(|(at, e)| match e {
            Event::KRaftBrokerFenced { broker: 3, .. } => Some(at),
            _ => None,
        })
        .collect();
    assert!(
        fenced.len() == 1 && (27.0..=30.2).contains(&fenced[0]),
        "{fenced:?}"
    );
    // The restarted controller follows the new epoch and holds the committed log.
    let old = sim.kraft_controller(3000).unwrap();
    let new = sim.kraft_controller(node).unwrap();
    assert_eq!(old.raft.epoch(), epoch);
    assert!(!old.controller.is_active());
    assert!(old.raft.high_watermark() + 3 >= new.raft.high_watermark());
    assert_eq!(report.acked_lost, 0);
    // ZooKeeper mode: the new controller waits for the dead one's session (18 s).
    let (zk, _) = run_lesson("controller-failover");
    let elected: Vec<f64> = events(&zk)
        .filter_map(|(at, e)| matches!(e, Event::ControllerElected { epoch: 2, .. }).then_some(at))
        .collect();
    assert!(
        elected.len() == 1 && (25.0..=30.5).contains(&elected[0]),
        "{elected:?}"
    );
}

#[test]
fn a_quorum_split_elects_a_new_leader_and_the_old_one_resigns_and_rejoins() {
    let mut sim = lesson_sim("kraft-quorum-split");
    run_to(&mut sim, 9.9);
    assert_eq!(sim.active_controller(), Some((3000, 1)));
    run_to(&mut sim, 29.9);
    // The majority side elected a leader in a higher epoch; the cut-off leader resigned
    // (check-quorum) and, failing its pre-votes, never raised its epoch.
    let (leader, epoch) = sim.active_controller().unwrap();
    assert!(leader != 3000 && epoch == 2);
    let old = sim.kraft_controller(3000).unwrap();
    assert_eq!(old.raft.epoch(), 1);
    assert!(!old.controller.is_active());
    let resigned: Vec<f64> = events(&sim)
        .filter_map(|(at, e)| match e {
            Event::QuorumResigned { node: 3000, .. } => Some(at),
            _ => None,
        })
        .collect();
    assert!(
        resigned.len() == 1 && (12.0..13.5).contains(&resigned[0]),
        "{resigned:?}"
    );
    // What it appended alone in epoch 1 was never committed.
    let uncommitted = old.raft.log().end_offset().offset - old.raft.high_watermark();
    assert!(uncommitted > 0, "the isolated leader's NoOps");
    let (sim, report) = finish("kraft-quorum-split", sim);
    // After the heal it follows epoch 2 and its log matches the leader's (its own epoch-1
    // tail truncated away).
    let old = sim.kraft_controller(3000).unwrap();
    let new = sim.kraft_controller(leader).unwrap();
    assert_eq!(old.raft.epoch(), 2);
    let hw = old.raft.high_watermark();
    assert!(hw + 3 >= new.raft.high_watermark());
    for offset in 0..hw {
        assert_eq!(
            old.raft.log().entry(offset).map(|e| e.epoch),
            new.raft.log().entry(offset).map(|e| e.epoch),
            "offset {offset}"
        );
    }
    assert_eq!(report.acked_lost, 0);
}
