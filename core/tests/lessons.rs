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
