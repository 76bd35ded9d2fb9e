//! Seed sweeps with `kplay check`: every fault lesson, random fault schedules, and the cases
//! where Kafka can and cannot lose acknowledged records. `make test` sweeps a few seeds;
//! `make check-deep` sets KPLAY_SEEDS / KPLAY_RANDOM_RUNS to 1,000 and runs the release build.

// A sweep prints its summaries for the log of `make check-deep`.
#![allow(clippy::print_stdout)]

mod common;

use common::kplay;
use serde_json::Value;

/// Seeds per scenario (KPLAY_SEEDS, default 10).
fn seeds() -> u64 {
    env_count("KPLAY_SEEDS", 10)
}

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a count"))
        })
        .unwrap_or(default)
}

fn scenario(file: &str) -> String {
    format!("{}/../scenarios/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// `kplay check` over `seeds` seeds; the summary, after printing it for the sweep's log.
fn check(source: &str, seeds: u64, extra: &[&str]) -> Value {
    let n = seeds.to_string();
    let mut args = vec!["check", source, "--seeds", &n];
    args.extend_from_slice(extra);
    let (code, out, err) = kplay(&args);
    let summary: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    println!(
        "{source} {}: {}",
        extra.join(" "),
        serde_json::to_string(&summary).expect("json")
    );
    assert_eq!(summary["runs"], seeds);
    assert_eq!(
        (code, &summary["runs_with_violations"]),
        (0, &Value::from(0)),
        "{source}: {summary}"
    );
    summary
}

fn lost(summary: &Value, acks: &str) -> u64 {
    summary["acked_lost_by_acks"][acks].as_u64().unwrap_or(0)
}

/// Lessons with a fault in them: crashes, cut links, crashed consumers.
const FAULT_LESSONS: &[&str] = &[
    "acks-and-leader-crash",
    "at-least-once",
    "at-most-once",
    "bootstrap-and-metadata",
    "committed-offsets",
    "controller-failover",
    "controlled-shutdown",
    "exactly-once",
    "kraft-controller-failover",
    "kraft-quorum",
    "kraft-quorum-split",
    "min-insync-replicas",
    "network-partition",
    "partial-partition",
    "replication-and-isr",
    "tolerate-failures",
    "unclean-leader-election",
    "zookeeper-quorum",
];

#[test]
fn every_fault_lesson_keeps_every_invariant_and_loses_only_where_kafka_allows() {
    let (code, list, _) = kplay(&["lessons"]);
    assert_eq!(code, 0);
    for lesson in FAULT_LESSONS {
        assert!(list.lines().any(|l| l.starts_with(&format!("{lesson}\t"))));
        let s = check(lesson, seeds(), &[]);
        let causes = s["acked_lost_why"].as_object().expect("causes");
        match *lesson {
            // acks=0 and acks=1 lose what only the old leader had; acks=all loses nothing.
            "acks-and-leader-crash" => {
                assert!(lost(&s, "1") > 0 && lost(&s, "0") > 0, "{s}");
                assert_eq!(lost(&s, "all"), 0);
                assert!(causes.contains_key("acks=1: only the old leader had it when it failed"));
            }
            // A stale replica becomes leader (and acks=1 loses what a dying leader alone had).
            "unclean-leader-election" => {
                assert!(s["runs_with_acked_lost"].as_u64() > Some(0), "{s}");
                assert!(causes.contains_key("unclean leader election"), "{s}");
                assert!(causes.keys().all(|c| c == "unclean leader election"
                    || c == "acks=1: only the old leader had it when it failed"));
            }
            // Where no election is unclean, acks=all loses nothing.
            _ => assert_eq!(lost(&s, "all"), 0, "{lesson}: {s}"),
        }
    }
}

#[test]
fn every_fault_lesson_in_kraft_mode_keeps_every_invariant_and_loses_only_where_kafka_allows() {
    for lesson in FAULT_LESSONS {
        if *lesson == "zookeeper-quorum" {
            // ZooKeeper's own lesson: KRaft mode refuses it (tested in core/tests/kraft.rs).
            continue;
        }
        let s = check(lesson, seeds(), &["--mode", "kraft"]);
        let causes = s["acked_lost_why"].as_object().expect("causes");
        match *lesson {
            "acks-and-leader-crash" => {
                assert!(lost(&s, "1") > 0 && lost(&s, "0") > 0, "{s}");
                assert_eq!(lost(&s, "all"), 0);
            }
            "unclean-leader-election" => {
                assert!(s["runs_with_acked_lost"].as_u64() > Some(0), "{s}");
                assert!(causes.keys().all(|c| c == "unclean leader election"
                    || c == "acks=1: only the old leader had it when it failed"));
            }
            _ => assert_eq!(lost(&s, "all"), 0, "{lesson}: {s}"),
        }
    }
}

#[test]
fn random_fault_schedules_in_kraft_mode_lose_no_record_acknowledged_with_acks_all() {
    // The same promise with KRaft's controllers crashing and the quorum splitting.
    let runs = env_count("KPLAY_RANDOM_RUNS", 20);
    let s = check(
        &scenario("no-acked-loss.json"),
        runs,
        &["--random-faults", "--mode", "kraft"],
    );
    assert_eq!(s["acked_lost"], 0, "{s}");
    assert_eq!(s["lost_by_consumers"], 0, "{s}");
}

#[test]
fn random_fault_schedules_lose_no_record_acknowledged_with_acks_all() {
    // RF 3, min.insync.replicas=2, no unclean election, no lost disk: Kafka promises that no
    // acks=all record is lost, whatever crashes or partitions happen.
    let runs = env_count("KPLAY_RANDOM_RUNS", 20);
    let s = check(&scenario("no-acked-loss.json"), runs, &["--random-faults"]);
    assert_eq!(s["random_faults"], true);
    assert_eq!(s["acked_lost"], 0, "{s}");
    assert_eq!(s["lost_by_consumers"], 0, "{s}");
}

#[test]
fn acks_all_loses_with_min_insync_replicas_1_and_an_unclean_election_not_with_2() {
    let seeds = seeds();
    // acks=all with min.insync.replicas=1: the leader alone acknowledges, then dies, and an
    // unclean election loses what it had. (In the odd seed the producer's first metadata named
    // only the brokers that later die, so, like Kafka 3.9's client without rebootstrap, it
    // never reaches the lone leader and nothing is acknowledged to lose.)
    let s = check(&scenario("acks-all-min-isr-1.json"), seeds, &[]);
    let runs = s["runs_with_acked_lost"].as_u64().unwrap_or(0);
    assert!(runs * 4 >= seeds * 3, "{s}");
    assert!(lost(&s, "all") > 0);
    let why = &s["acked_lost_why"]["unclean leader election"];
    assert_eq!(
        why["runs"], runs,
        "every loss is explained by the unclean election: {s}"
    );
    assert_eq!(why["example"]["acks"], "all");
    // The same faults with min.insync.replicas=2: the lone leader refused to acknowledge.
    let s = check(&scenario("acks-all-min-isr-2.json"), seeds, &[]);
    assert_eq!(s["acked_lost"], 0, "{s}");
}

#[test]
fn a_sweep_does_not_depend_on_the_thread_count() {
    let one = kplay(&[
        "check",
        "controller-failover",
        "--seeds",
        "4",
        "--jobs",
        "1",
        "--hashes",
    ]);
    let two = kplay(&[
        "check",
        "controller-failover",
        "--seeds",
        "4",
        "--jobs",
        "3",
        "--hashes",
    ]);
    assert_eq!(one.0, 0);
    assert_eq!(one, two);
    let hashes: Value = serde_json::from_str(&one.1).expect("json");
    assert_eq!(hashes["trace_hashes"].as_array().map(Vec::len), Some(4));
    let (code, _, err) = kplay(&[
        "check",
        "controller-failover",
        "--seeds",
        "2",
        "--jobs",
        "0",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--jobs 0 is out of range"), "{err}");
}
