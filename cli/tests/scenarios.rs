//! `kplay run`, `check`, `url`, `lessons`, `lesson` and `export`, run as a user would.

mod common;

use common::{kplay, temp};

const SCENARIO: &str = r#"{"seed": 4, "topics": [{"name": "orders", "partitions": 2, "replication_factor": 3}],
  "producers": [{"topic": "orders", "rate_per_sec": 100}],
  "consumers": [{"topic": "orders", "config": {"group.id": "g", "auto.offset.reset": "earliest"}}]}"#;

#[test]
fn run_prints_the_report_and_writes_the_trace() {
    let file = temp("s.json", SCENARIO);
    let trace = temp("t.jsonl", "");
    let (code, out, err) = kplay(&[
        "run", &file, "--until", "10", "--seed", "9", "--trace", &trace,
    ]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    for key in [
        "seed",
        "sim_seconds",
        "produced",
        "acked",
        "acked_lost",
        "consumed",
        "duplicates_consumed",
        "leader_changes",
        "violations",
        "trace_hash",
    ] {
        assert!(report.get(key).is_some(), "report has {key}");
    }
    assert_eq!(report["seed"], 9);
    assert_eq!(report["sim_seconds"], 10.0);
    assert!(report["consumed"].as_u64().unwrap() > 500);
    let lines = std::fs::read_to_string(&trace).unwrap();
    let n = lines.lines().count();
    assert!(n > 1_000, "{n} trace lines");
    for line in lines.lines().take(50) {
        let e: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(e.get("at").is_some() && e.get("type").is_some());
    }
    // Same seed, same hash.
    let (_, again, _) = kplay(&["run", &file, "--until", "10", "--seed", "9"]);
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["trace_hash"], report["trace_hash"]);
}

#[test]
fn check_sweeps_seeds_and_summarises() {
    let (code, out, err) = kplay(&[
        "check",
        "replication-and-isr",
        "--seeds",
        "3",
        "--until",
        "25",
    ]);
    assert_eq!(code, 0, "{err}");
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["runs"], 3);
    assert_eq!(s["runs_with_violations"], 0);
    assert_eq!(s["acked_lost"], 0);
}

#[test]
fn url_encode_and_decode_round_trip_and_lessons_are_listed() {
    let file = temp("u.json", SCENARIO);
    let (code, code_out, _) = kplay(&["url", "encode", &file]);
    assert_eq!(code, 0);
    let s = code_out.trim();
    assert!(s.starts_with("v1."));
    let (code, json, _) = kplay(&["url", "decode", &format!("https://kplay.example/#s={s}")]);
    assert_eq!(code, 0);
    let decoded: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(decoded["seed"], 4);
    // The share string also works as a SCENARIO.
    let (code, _, err) = kplay(&["run", s, "--until", "2"]);
    assert_eq!(code, 0, "{err}");

    let (code, list, _) = kplay(&["lessons"]);
    assert_eq!(code, 0);
    let first = list.lines().next().unwrap();
    let (name, title) = first.split_once('\t').unwrap();
    assert!(!name.contains(' ') && !title.is_empty());
    let (code, json, _) = kplay(&["lesson", name]);
    assert_eq!(code, 0);
    let lesson: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(lesson["name"], name);
}

#[test]
fn export_prints_real_kafka_commands() {
    let (code, out, _) = kplay(&["export", "replication-and-isr"]);
    assert_eq!(code, 0);
    assert!(out.contains("kafka-topics.sh --bootstrap-server localhost:9092 --create --topic orders --partitions 3 --replication-factor 3 --config min.insync.replicas=2"), "{out}");
    assert!(
        out.contains("acks=all") && out.contains("group.id=billing"),
        "{out}"
    );
    assert!(out
        .contains("partition.assignment.strategy=org.apache.kafka.clients.consumer.RangeAssignor"));
}

#[test]
fn export_in_kraft_mode_writes_the_quorums_server_properties() {
    let (code, out, _) = kplay(&["export", "replication-and-isr", "--mode", "kraft"]);
    assert_eq!(code, 0);
    for line in [
        "process.roles=controller\nnode.id=3000\n",
        "controller.quorum.voters=3000@controller-3000:9093,3001@controller-3001:9093,3002@controller-3002:9093\n",
        "process.roles=broker\nnode.id=1\n",
        "kafka-storage.sh format --cluster-id ",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    assert!(!out.contains("ZooKeeper"), "{out}");
    let (code, _, err) = kplay(&["run", "zookeeper-quorum", "--mode", "kraft"]);
    assert_eq!(code, 2);
    assert!(err.contains("zookeeper-quorum in kraft mode"), "{err}");
    let (code, _, err) = kplay(&["run", "zookeeper-quorum", "--mode", "raft"]);
    assert_eq!(code, 2);
    assert!(err.contains("'raft' is not a cluster mode"), "{err}");
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let bad_json = temp("bad.json", r#"{"cluster": {"brokers": 12}}"#);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", "no-such-thing"], "not a scenario file"),
        (vec!["run", &bad_json], "cluster.brokers is 12"),
        (
            vec!["run", "replication-and-isr", "--until", "0"],
            "--until",
        ),
        (
            vec!["run", "replication-and-isr", "--until", "NaN"],
            "--until",
        ),
        (
            vec!["check", "replication-and-isr", "--seeds", "0"],
            "--seeds",
        ),
        (vec!["url", "decode", "v1.%%%"], "base64"),
        (vec!["url", "decode", "v2.abc"], "v2"),
        (
            vec!["url", "encode", "/nonexistent.json"],
            "/nonexistent.json",
        ),
        (vec!["lesson", "nope"], "no lesson named 'nope'"),
        (vec!["export", "v1.AAAA"], "inflate"),
    ];
    for (args, needle) in cases {
        let (code, out, err) = kplay(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
        assert!(
            err.starts_with("error:") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line: {err}"
        );
    }
}
