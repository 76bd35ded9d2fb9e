//! `kplay exec` and `kplay shell`: Kafka's tools against a scenario, run as a user would.

mod common;

use common::{kplay, temp};
use std::io::Write;
use std::process::{Command, Stdio};

const SCENARIO: &str = r#"{"seed": 4, "topics": [{"name": "orders", "partitions": 2, "replication_factor": 3}],
  "producers": [{"topic": "orders", "rate_per_sec": 100}],
  "consumers": [{"topic": "orders", "config": {"group.id": "g", "auto.offset.reset": "earliest"}}]}"#;

#[test]
fn exec_runs_each_command_and_waits_for_the_controller() {
    let file = temp("tools.json", SCENARIO);
    let (code, out, err) = kplay(&[
        "exec",
        &file,
        "--at",
        "10",
        "kafka-topics.sh --bootstrap-server localhost:9092 --create --topic audit --partitions 4 --replication-factor 2",
        "kafka-topics.sh --bootstrap-server localhost:9092 --list --exclude-internal",
        "kill broker 1",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Created topic audit.");
    assert_eq!(lines[1..3], ["audit", "orders"]);
    assert!(lines[3].starts_with("kill broker 1 at "), "{out}");
}

#[test]
fn exec_exits_with_the_tools_exit_code_and_refuses_bad_times() {
    let file = temp("tools-bad.json", SCENARIO);
    let (code, out, _) = kplay(&[
        "exec",
        &file,
        "--at",
        "10",
        "kafka-topics.sh --bootstrap-server x --describe --topic nope",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "Error while executing topic command : Topic 'Optional[nope]' does not exist as expected\n"
    );
    let (code, _, err) = kplay(&["exec", &file, "--at", "1e9", "help"]);
    assert_eq!(code, 2);
    assert!(err.contains("--at 1000000000 is not a time"), "{err}");
}

#[test]
fn shell_reads_commands_moves_time_and_shares_what_was_done() {
    let file = temp("tools-shell.json", SCENARIO);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kplay"))
        .args(["shell", &file])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kplay shell starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"time\nkill broker 2\nsleep 1.5\ntime\nsleep soon\nshare\n")
        .expect("write");
    let out = child
        .wait_with_output()
        .expect("kplay shell ends at end of input");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "10.000 s");
    assert_eq!(lines[1], "kill broker 2 at 10.001 s");
    assert_eq!(lines[2], "11.500 s");
    assert!(stderr.contains("sleep: 'soon' is not a number of seconds"));
    // The share string replays the kill.
    let (code, json, err) = kplay(&["url", "decode", lines[3]]);
    assert_eq!(code, 0, "{err}");
    assert!(
        json.contains("\"kill_broker\"") && json.contains("10001"),
        "{json}"
    );
}
