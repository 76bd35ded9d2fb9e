//! The tools against a running cluster: Kafka's formats, line by line.

use super::*;
use crate::{Scenario, SimTime};

const BOOT: &str = "--bootstrap-server localhost:9092";

/// Three brokers, `orders` with 3 partitions and RF 3, a two-member group, after 20 s.
fn cluster() -> Sim {
    let scenario = Scenario::from_json(
        r#"{
        "seed": 3,
        "topics": [{"name": "orders", "partitions": 3, "replication_factor": 3,
                    "config": {"min.insync.replicas": 2}}],
        "producers": [{"topic": "orders", "rate_per_sec": 50, "keys": {"kind": "random", "count": 10}}],
        "consumers": [
            {"topic": "orders", "config": {"group.id": "billing", "auto.offset.reset": "earliest"}},
            {"topic": "orders", "config": {"group.id": "billing", "auto.offset.reset": "earliest"}}
        ]
    }"#,
    )
    .unwrap();
    let mut sim = Sim::new(scenario).unwrap();
    sim.run_until(SimTime::from_secs(20));
    sim
}

fn run(shell: &mut Shell, sim: &mut Sim, line: &str) -> Output {
    shell.execute(sim, &line.replace("BOOT", BOOT))
}

/// Runs the simulation until the shell has printed what it waited for.
fn settle(shell: &mut Shell, sim: &mut Sim) -> Output {
    let mut out = Output::default();
    for _ in 0..1000 {
        let next = sim.now().plus_ms(10);
        sim.run_until(next);
        out.append(shell.poll(sim));
        if !shell.busy() {
            break;
        }
    }
    out
}

#[test]
fn describe_prints_kafkas_topic_and_partition_lines() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let out = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --describe --topic orders",
    );
    assert_eq!((out.exit_code, out.stderr.as_str()), (0, ""));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    let head: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(head[0], "Topic: orders");
    assert!(head[1].starts_with("TopicId: ") && head[1].len() == "TopicId: ".len() + 22);
    assert_eq!(
        head[2..],
        [
            "PartitionCount: 3",
            "ReplicationFactor: 3",
            "Configs: min.insync.replicas=2"
        ]
    );
    for (p, line) in lines[1..].iter().enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols[0], "", "partition lines start with a tab");
        assert_eq!(cols[1], "Topic: orders");
        assert_eq!(cols[2], format!("Partition: {p}"));
        let (leader, _, isr) = sim.partition_state("orders", p as u32).unwrap();
        assert_eq!(cols[3], format!("Leader: {}", leader.unwrap()));
        assert!(cols[4].starts_with("Replicas: ") && cols[4].split(',').count() == 3);
        let isr: Vec<String> = isr.iter().map(|b| b.to_string()).collect();
        assert_eq!(cols[5], format!("Isr: {}", isr.join(",")));
        assert_eq!(cols[6..], ["Elr: N/A", "LastKnownElr: N/A"]);
    }
}

#[test]
fn a_dead_leader_shows_in_describe_and_the_reports() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let (leader, _, _) = sim.partition_state("orders", 0).unwrap();
    let leader = leader.unwrap();
    let out = run(&mut shell, &mut sim, &format!("kill broker {leader}"));
    assert!(
        out.stdout
            .starts_with(&format!("kill broker {leader} at 20.001 s")),
        "{out:?}"
    );
    // Before its ZooKeeper session expires, the controller has not moved anything.
    sim.run_until(SimTime::from_secs(21));
    let healthy = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --describe --under-replicated-partitions",
    );
    assert_eq!(healthy.stdout, "", "the ISR has not shrunk yet");
    // After it: the leader moved, the ISR shrank, and the reports list what is under-replicated.
    sim.run_until(SimTime::from_secs(60));
    let under = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --describe --topic orders --under-replicated-partitions",
    );
    assert_eq!(
        under
            .stdout
            .lines()
            .filter(|l| l.contains("Partition: "))
            .count(),
        3,
        "{}",
        under.stdout
    );
    assert!(
        !under.stdout.contains("PartitionCount"),
        "reports print partition lines only"
    );
    assert!(!under.stdout.contains(&format!("Leader: {leader}\t")));
    let unavailable = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --describe --unavailable-partitions --exclude-internal",
    );
    assert_eq!(unavailable.stdout, "");
    let at_min = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --describe --topic orders --at-min-isr-partitions",
    );
    assert_eq!(
        at_min.stdout.lines().count(),
        3,
        "2 in-sync replicas = min.insync.replicas"
    );
}

#[test]
fn list_create_alter_delete_round_trip_through_the_controller() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let list = run(&mut shell, &mut sim, "kafka-topics.sh BOOT --list");
    assert_eq!(list.stdout, "__consumer_offsets\norders\n");
    let list = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --list --exclude-internal",
    );
    assert_eq!(list.stdout, "orders\n");

    let out = run(&mut shell, &mut sim, "kafka-topics.sh BOOT --create --topic payments --partitions 2 --replication-factor 3 --config retention.ms=60000");
    assert_eq!(
        out,
        Output::default(),
        "nothing until the controller answers"
    );
    assert!(shell.busy());
    assert_eq!(
        settle(&mut shell, &mut sim).stdout,
        "Created topic payments.\n"
    );
    let describe = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --describe --topic payments",
    );
    assert!(
        describe
            .stdout
            .contains("PartitionCount: 2\tReplicationFactor: 3\tConfigs: retention.ms=60000"),
        "{}",
        describe.stdout
    );
    // The change is in the action log, so a share link replays it.
    assert!(
        matches!(&sim.scenario().actions.last().unwrap().command, Command::CreateTopic { name, .. } if name == "payments")
    );

    let again = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --create --topic payments",
    );
    assert_eq!(
        again.stdout,
        "Error while executing topic command : Topic 'payments' already exists.\n"
    );
    assert_eq!(again.exit_code, 1);
    let quiet = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --create --topic payments --if-not-exists",
    );
    assert_eq!(quiet, Output::default());

    let fewer = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --alter --topic payments --partitions 1",
    );
    assert_eq!(fewer.stdout, "Error while executing topic command : Topic currently has 2 partitions, which is higher than the requested 1.\n");
    run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --alter --topic payments --partitions 4",
    );
    assert_eq!(
        settle(&mut shell, &mut sim),
        Output::default(),
        "alter prints nothing"
    );
    assert!(run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --describe --topic payments"
    )
    .stdout
    .contains("PartitionCount: 4"));

    run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --delete --topic payments",
    );
    assert_eq!(settle(&mut shell, &mut sim), Output::default());
    sim.run_until(sim.now().plus_ms(2000));
    assert_eq!(
        run(
            &mut shell,
            &mut sim,
            "kafka-topics.sh BOOT --list --exclude-internal"
        )
        .stdout,
        "orders\n"
    );
    let gone = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --describe --topic payments",
    );
    assert_eq!(gone.stdout, "Error while executing topic command : Topic 'Optional[payments]' does not exist as expected\n");
}

#[test]
fn create_refuses_what_kafka_refuses() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let out = |shell: &mut Shell, sim: &mut Sim, line: &str| run(shell, sim, line);
    let rf = out(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --create --topic big --replication-factor 4",
    );
    assert_eq!(rf.stdout, "Error while executing topic command : Replication factor: 4 larger than available brokers: 3.\n");
    let warn = out(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --create --topic a.b --partitions 0",
    );
    assert_eq!(
        warn.stdout,
        "Error while executing topic command : The partitions must be greater than 0\n"
    );
    let warn = out(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --create --topic my_topic",
    );
    assert!(warn
        .stdout
        .starts_with("WARNING: Due to limitations in metric names"));
    let bad = out(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --create --topic 'a b'",
    );
    assert!(bad.stdout.contains("Topic name \"a b\" is illegal"));
    let config = out(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --create --topic c --config compression.type=lz4",
    );
    assert!(
        config
            .stdout
            .contains("Unknown topic config name: compression.type"),
        "{config:?}"
    );
    let config = out(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --create --topic c --config retention.ms",
    );
    assert!(config.stdout.contains("must be in the format \"key=val\""));
    let internal = out(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --delete --topic __consumer_offsets",
    );
    assert!(internal.stdout.contains("is a kafka internal topic"));
}

#[test]
fn usage_errors_name_the_problem_and_print_help() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let cases = [
        ("kafka-topics.sh BOOT", "Command must include exactly one action: --list, --describe, --create, --alter or --delete"),
        ("kafka-topics.sh BOOT --list --describe", "Command must include exactly one action"),
        ("kafka-topics.sh --list", "--bootstrap-server must be specified"),
        ("kafka-topics.sh BOOT --create", "Missing required argument \"[topic]\""),
        ("kafka-topics.sh BOOT --alter --topic orders", "Missing required argument \"[partitions]\""),
        ("kafka-topics.sh BOOT --list --partitions 3", "Option \"[partitions]\" can't be used with option \"[list]\""),
        ("kafka-topics.sh BOOT --lisst", "lisst is not a recognized option"),
        ("kafka-topics.sh BOOT --create --topic t --partitions x", "Cannot parse argument 'x' of option partitions"),
        ("kafka-consumer-groups.sh BOOT", "Command must include exactly one action"),
        ("kafka-consumer-groups.sh BOOT --describe", "Option [describe] takes one of these options: [all-groups], [group]"),
    ];
    for (line, message) in cases {
        let out = run(&mut shell, &mut sim, line);
        assert_eq!(out.exit_code, 1, "{line}");
        assert!(out.stderr.starts_with(message), "{line}: {}", out.stderr);
    }
    let help = run(&mut shell, &mut sim, "bin/kafka-topics.sh --help");
    assert_eq!(help.exit_code, 0);
    assert!(help.stdout.contains("--under-replicated-partitions"));
    let unknown = run(&mut shell, &mut sim, "kafka-frobnicate.sh");
    assert!(unknown.stderr.contains("command not found"));
    assert!(run(&mut shell, &mut sim, "kafka-topics.sh 'oops")
        .stderr
        .contains("quote"));
}

#[test]
fn consumer_groups_describe_prints_kafkas_table() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    assert_eq!(
        run(&mut shell, &mut sim, "kafka-consumer-groups.sh BOOT --list").stdout,
        "billing\n"
    );
    let out = run(
        &mut shell,
        &mut sim,
        "kafka-consumer-groups.sh BOOT --describe --group billing",
    );
    assert_eq!(out.stderr, "");
    let lines: Vec<&str> = out.stdout.split('\n').collect();
    assert_eq!(lines[0], "", "the table starts with an empty line");
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID"
        ]
    );
    let rows: Vec<Vec<&str>> = lines[2..]
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{}", out.stdout);
    for row in &rows {
        assert_eq!(row[..2], ["billing", "orders"]);
        let (current, end, lag): (u64, u64, u64) = (
            row[3].parse().unwrap(),
            row[4].parse().unwrap(),
            row[5].parse().unwrap(),
        );
        assert_eq!(lag, end - current);
        assert!(
            row[6].starts_with(&format!("{}-", row[8])),
            "member ids start with the client id"
        );
        assert!(row[7].starts_with("/10.0.1."), "{}", row[7]);
    }
    // Columns line up: every row's PARTITION starts where the header's does.
    let column = lines[1].find("PARTITION").unwrap();
    assert!(lines[2..]
        .iter()
        .filter(|l| !l.is_empty())
        .all(|l| l[column..].starts_with(|c: char| c.is_ascii_digit())));

    let members = run(
        &mut shell,
        &mut sim,
        "kafka-consumer-groups.sh BOOT --describe --group billing --members --verbose",
    );
    let lines: Vec<&str> = members.stdout.lines().collect();
    assert!(
        lines[1].starts_with("GROUP") && lines[1].ends_with("#PARTITIONS     ASSIGNMENT"),
        "{:?}",
        lines[1]
    );
    assert_eq!(lines.len(), 4);
    assert!(lines[2..]
        .iter()
        .all(|l| l.contains(" (") && !l.contains("orders(")));
    let state = run(
        &mut shell,
        &mut sim,
        "kafka-consumer-groups.sh BOOT --describe --group billing --state",
    );
    let row: Vec<&str> = state
        .stdout
        .lines()
        .nth(2)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(row[0], "billing");
    assert_eq!(row[3..], ["range", "Stable", "2"]);
    let missing = run(
        &mut shell,
        &mut sim,
        "kafka-consumer-groups.sh BOOT --describe --group nobody",
    );
    assert_eq!(
        missing.stdout,
        "\nError: Consumer group 'nobody' does not exist.\n"
    );
}

#[test]
fn an_empty_group_keeps_its_offsets_and_says_it_has_no_members() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    run(&mut shell, &mut sim, "close consumer 0");
    run(&mut shell, &mut sim, "close consumer 1");
    sim.run_until(SimTime::from_secs(25));
    let out = run(
        &mut shell,
        &mut sim,
        "kafka-consumer-groups.sh BOOT --describe --group billing",
    );
    assert!(
        out.stdout
            .starts_with("\nConsumer group 'billing' has no active members.\n\nGROUP "),
        "the note comes before the table: {out:?}"
    );
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .skip(4)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|r| r[6..] == ["-", "-", "-"]),
        "{}",
        out.stdout
    );
}

#[test]
fn zookeeper_shell_reads_the_znodes_kafka_wrote() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let ls = run(
        &mut shell,
        &mut sim,
        "zookeeper-shell.sh localhost:2181 ls /brokers/ids",
    );
    assert_eq!(
        ls.stdout,
        "Connecting to localhost:2181\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n[1, 2, 3]\n"
    );
    let controller = run(
        &mut shell,
        &mut sim,
        "zookeeper-shell.sh localhost:2181 get /controller",
    );
    let json = controller.stdout.lines().last().unwrap();
    let (id, _) = sim.controller().unwrap();
    assert!(json.contains(&format!("\"brokerid\":{id}")), "{json}");
    let state = run(
        &mut shell,
        &mut sim,
        "zookeeper-shell.sh localhost:2181 get /brokers/topics/orders/partitions/0/state",
    );
    assert!(state.stdout.contains("\"leader\":") && state.stdout.contains("\"isr\":"));
    let tree = run(
        &mut shell,
        &mut sim,
        "zookeeper-shell.sh localhost:2181 ls -R /brokers/topics/orders",
    );
    assert!(tree
        .stdout
        .contains("/brokers/topics/orders/partitions/2/state\n"));
    let missing = run(
        &mut shell,
        &mut sim,
        "zookeeper-shell.sh localhost:2181 get /nope",
    );
    assert_eq!(
        (missing.stderr.as_str(), missing.exit_code),
        ("Node does not exist: /nope\n", 1)
    );
    // Without a quorum no server answers (a leader steps down once it stops hearing from a
    // majority, within syncLimit ticks).
    for zk in 1..=2 {
        run(&mut shell, &mut sim, &format!("kill zookeeper {zk}"));
    }
    sim.run_until(sim.now().plus_ms(10_000));
    let lost = run(
        &mut shell,
        &mut sim,
        "zookeeper-shell.sh localhost:2181 ls /brokers/ids",
    );
    assert!(
        lost.stderr
            .starts_with("KeeperErrorCode = ConnectionLoss for /brokers/ids"),
        "{lost:?}"
    );
}

#[test]
fn fault_commands_are_recorded_actions() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let out = run(&mut shell, &mut sim, "isolate broker 2");
    assert_eq!(out.stdout, "isolate broker 2 at 20.001 s\n");
    assert_eq!(
        sim.scenario().actions.last().unwrap().command,
        Command::IsolateBroker { broker: 2 }
    );
    let bad = run(&mut shell, &mut sim, "kill broker 9");
    assert!(bad.stderr.contains("broker is 9"), "{bad:?}");
    assert!(run(&mut shell, &mut sim, "help")
        .stdout
        .contains("kafka-consumer-groups.sh"));
}

#[test]
fn console_producer_lines_reach_the_console_consumer_with_their_keys() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --create --topic greetings --partitions 2 --replication-factor 3",
    );
    settle(&mut shell, &mut sim);
    let start = run(&mut shell, &mut sim, "kafka-console-producer.sh BOOT --topic greetings --property parse.key=true --property key.separator=: --producer-property acks=1");
    assert_eq!(start, Output::default());
    assert_eq!(shell.mode(), Mode::ProducerInput);
    for line in ["alice:hello", "bob:hi:there", "alice:again"] {
        assert_eq!(run(&mut shell, &mut sim, line), Output::default());
    }
    assert!(matches!(
        &sim.scenario().actions.last().unwrap().command,
        Command::Produce { key: Some(k), value, producer: Some(_), .. } if k == "alice" && value == "again"
    ));
    // An empty line ends the input: the next line is a command again.
    run(&mut shell, &mut sim, "");
    assert_eq!(shell.mode(), Mode::Command);
    // The console's linger.ms is 1 s: give the batch time to go.
    sim.run_until(sim.now().plus_ms(3000));

    run(&mut shell, &mut sim, "kafka-console-consumer.sh BOOT --topic greetings --from-beginning --property print.key=true --max-messages 3");
    assert_eq!(shell.mode(), Mode::Consuming);
    assert!(run(&mut shell, &mut sim, "kafka-topics.sh BOOT --list")
        .stderr
        .contains("Ctrl-C"));
    let out = settle(&mut shell, &mut sim);
    assert_eq!(shell.mode(), Mode::Command);
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    // Ordered within a partition (alice's two records), not across partitions.
    let alice: Vec<&&str> = lines.iter().filter(|l| l.starts_with("alice")).collect();
    assert_eq!(alice, [&"alice\thello", &"alice\tagain"]);
    lines.sort_unstable();
    assert_eq!(lines, ["alice\tagain", "alice\thello", "bob\thi:there"]);
    assert_eq!(out.stderr, "Processed a total of 3 messages\n");
    // Without --group it was a throwaway group that commits nothing.
    let groups = run(&mut shell, &mut sim, "kafka-consumer-groups.sh BOOT --list").stdout;
    assert!(
        groups.lines().any(|g| g.starts_with("console-consumer-")),
        "{groups}"
    );
}

#[test]
fn a_console_consumer_stops_on_ctrl_c_and_bad_input_ends_the_producer() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    run(
        &mut shell,
        &mut sim,
        "kafka-console-consumer.sh BOOT --topic orders --group audit",
    );
    sim.run_until(sim.now().plus_ms(8000));
    let streamed = shell.poll(&mut sim);
    assert!(
        streamed.stdout.lines().count() > 10,
        "the load generator's records flow: {streamed:?}"
    );
    assert!(
        streamed.stdout.lines().all(|l| l.chars().all(|c| c == 'v')),
        "their values"
    );
    let stopped = shell.interrupt(&mut sim);
    assert!(
        stopped.stderr.starts_with("Processed a total of "),
        "{stopped:?}"
    );
    assert_eq!(shell.mode(), Mode::Command);

    run(
        &mut shell,
        &mut sim,
        "kafka-console-producer.sh BOOT --topic orders --property parse.key=true",
    );
    let bad = run(&mut shell, &mut sim, "no separator here");
    assert_eq!(bad.stderr, "org.apache.kafka.common.KafkaException: No key separator found on line number 1: 'no separator here'\n");
    assert_eq!(shell.mode(), Mode::Command);
    let unknown = run(
        &mut shell,
        &mut sim,
        "kafka-console-producer.sh BOOT --topic orders --producer-property compression.type=lz4",
    );
    assert!(
        unknown
            .stderr
            .starts_with("Unknown producer config name: compression.type (kplay models acks,"),
        "{unknown:?}"
    );
    let acks = run(
        &mut shell,
        &mut sim,
        "kafka-console-producer.sh BOOT --topic orders --producer-property acks=2",
    );
    assert!(
        acks.stderr.contains("Invalid value for a producer config"),
        "{acks:?}"
    );
    let missing = run(&mut shell, &mut sim, "kafka-console-consumer.sh BOOT");
    assert!(missing
        .stderr
        .starts_with("Exactly one of whitelist/topic is required."));
}

#[test]
fn tab_completes_tools_options_topics_groups_and_znodes() {
    let sim = cluster();
    assert_eq!(complete(&sim, "kafka-to"), ["kafka-topics.sh"]);
    assert!(complete(&sim, "").contains(&"kill".to_string()));
    assert_eq!(
        complete(&sim, "kafka-topics.sh --desc"),
        ["kafka-topics.sh --describe"]
    );
    assert_eq!(
        complete(&sim, "kafka-topics.sh --describe --topic o"),
        ["kafka-topics.sh --describe --topic orders"]
    );
    assert_eq!(
        complete(&sim, "kafka-consumer-groups.sh --describe --group "),
        ["kafka-consumer-groups.sh --describe --group billing"]
    );
    assert_eq!(
        complete(&sim, "zookeeper-shell.sh localhost:2181 ls /brokers/i"),
        ["zookeeper-shell.sh localhost:2181 ls /brokers/ids"]
    );
    assert!(complete(&sim, "kafka-topics.sh --list --nonsense").is_empty());
    assert!(complete(&sim, "'unclosed").is_empty());
    // Quoted or multibyte endings are left alone, never cut mid-character.
    for line in [
        "x 'é'",
        "kafka-topics.sh --topic \"or\"",
        "é",
        "a\\ b",
        "zookeeper-shell.sh h ls /ü",
    ] {
        let _ = complete(&sim, line);
    }
    assert!(complete(&sim, "kafka-topics.sh --topic \"or\"").is_empty());
}

#[test]
fn kafka_configs_alters_a_topic_and_the_brokers_apply_it() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let before = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --describe --entity-type topics --entity-name orders",
    );
    assert_eq!(
        before.stdout,
        "Dynamic configs for topic orders are:\n  min.insync.replicas=2 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:min.insync.replicas=2, DEFAULT_CONFIG:min.insync.replicas=1}\n"
    );
    run(&mut shell, &mut sim, "kafka-configs.sh BOOT --alter --topic orders --add-config retention.ms=60000,min.insync.replicas=3");
    assert_eq!(
        settle(&mut shell, &mut sim).stdout,
        "Completed updating config for topic orders.\n"
    );
    // Every replica's log now runs with the new settings.
    let tp = crate::TopicPartition::new(&"orders".into(), 0);
    for b in sim.brokers() {
        let log = b.log(&tp).expect("RF 3 on 3 brokers");
        assert_eq!(
            (log.config.retention_ms, log.config.min_insync_replicas),
            (60_000, 3)
        );
    }
    run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --alter --topic orders --delete-config min.insync.replicas",
    );
    settle(&mut shell, &mut sim);
    let after = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --describe --topic orders",
    );
    assert!(
        after.stdout.contains("Configs: retention.ms=60000\n"),
        "{}",
        after.stdout
    );
    let all = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --describe --topic orders --all",
    );
    assert!(all.stdout.contains(
        "  min.insync.replicas=1 sensitive=false synonyms={DEFAULT_CONFIG:min.insync.replicas=1}\n"
    ));
    assert_eq!(
        all.stdout.lines().count(),
        9,
        "a header and the 8 topic configs kplay models"
    );
    let missing = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --alter --topic orders --delete-config nope",
    );
    assert_eq!(
        missing.stderr,
        "Error while executing config command with args: Invalid config(s): nope\n"
    );
    let unknown = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --alter --topic orders --add-config compression.type=lz4",
    );
    assert!(unknown
        .stderr
        .contains("Unknown topic config name: compression.type"));
    let brokers = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --describe --entity-type brokers --entity-name 2",
    );
    assert_eq!(brokers.stdout, "Dynamic configs for broker 2 are:\n");
}

#[test]
fn dynamic_broker_configs_apply_to_every_broker_or_one_and_survive_a_restart() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let tp = crate::TopicPartition::new(&"orders".into(), 1);
    run(&mut shell, &mut sim, "kafka-configs.sh BOOT --alter --entity-type brokers --entity-default --add-config log.retention.ms=120000");
    assert_eq!(
        settle(&mut shell, &mut sim).stdout,
        "Completed updating default config for brokers in the cluster.\n"
    );
    run(&mut shell, &mut sim, "kafka-configs.sh BOOT --alter --broker 2 --add-config log.retention.ms=30000,log.segment.bytes=100000");
    assert_eq!(
        settle(&mut shell, &mut sim).stdout,
        "Completed updating config for broker 2.\n"
    );
    sim.run_until(sim.now().plus_ms(100));
    let retention = |sim: &Sim, b: u32| {
        sim.broker(b)
            .and_then(|b| b.log(&tp))
            .map(|l| l.config.retention_ms)
    };
    assert_eq!(
        [retention(&sim, 1), retention(&sim, 2), retention(&sim, 3)],
        [Some(120_000), Some(30_000), Some(120_000)]
    );
    let described = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --describe --entity-type brokers --entity-name 2",
    );
    assert_eq!(
        described.stdout,
        "Dynamic configs for broker 2 are:\n  log.retention.ms=30000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=30000, DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=120000, DEFAULT_CONFIG:log.retention.hours=168}\n  log.segment.bytes=100000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.segment.bytes=100000, DEFAULT_CONFIG:log.segment.bytes=1073741824}\n"
    );
    let defaults = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --describe --entity-type brokers --entity-default",
    );
    assert_eq!(defaults.stdout, "Default configs for brokers in the cluster are:\n  log.retention.ms=120000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=120000}\n");
    let topic = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --describe --topic orders --all",
    );
    assert!(topic.stdout.contains("  retention.ms=120000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=120000, DEFAULT_CONFIG:log.retention.hours=168}\n"), "{}", topic.stdout);
    // A restarted broker reads its dynamic settings back from ZooKeeper.
    run(&mut shell, &mut sim, "kill broker 2");
    sim.run_until(sim.now().plus_ms(1000));
    run(&mut shell, &mut sim, "restart broker 2");
    sim.run_until(sim.now().plus_ms(5000));
    assert_eq!(
        sim.broker(2).map(|b| b.config.log_retention_ms),
        Some(30_000)
    );
    let bad = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --alter --broker 7 --add-config log.retention.ms=1",
    );
    assert!(
        bad.stderr.contains("broker 7 is not in this cluster"),
        "{bad:?}"
    );
    let unknown = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --alter --broker 1 --add-config num.partitions=3",
    );
    assert!(
        unknown
            .stderr
            .contains("Unknown broker config name: num.partitions"),
        "{unknown:?}"
    );
}

#[test]
fn leader_election_moves_leaders_back_and_unclean_election_revives_an_offline_partition() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    // The preferred replica: the first in the partition's assignment.
    let preferred = |sim: &Sim, p: u32| {
        let data = &sim.zookeeper_tree()?.get("/brokers/topics/orders")?.data;
        Some(crate::controller::zk_data::parse_topic_assignment(data)?[&p][0])
    };
    // Kill partition 0's preferred leader, wait for the move, bring it back.
    let first = preferred(&sim, 0).unwrap();
    run(&mut shell, &mut sim, &format!("kill broker {first}"));
    sim.run_until(sim.now().plus_ms(30_000));
    run(&mut shell, &mut sim, &format!("restart broker {first}"));
    sim.run_until(sim.now().plus_ms(15_000));
    assert_ne!(
        sim.partition_state("orders", 0).unwrap().0,
        Some(first),
        "leadership stays away until asked back"
    );
    run(
        &mut shell,
        &mut sim,
        "kafka-leader-election.sh BOOT --election-type preferred --topic orders --partition 0",
    );
    let out = settle(&mut shell, &mut sim);
    assert_eq!(
        out.stdout,
        "Successfully completed leader election (PREFERRED) for partitions orders-0\n"
    );
    sim.run_until(sim.now().plus_ms(100));
    assert_eq!(sim.partition_state("orders", 0).unwrap().0, Some(first));
    run(
        &mut shell,
        &mut sim,
        "kafka-leader-election.sh BOOT --election-type preferred --topic orders --partition 0",
    );
    assert_eq!(
        settle(&mut shell, &mut sim).stdout,
        "Valid replica already elected for partitions orders-0\n"
    );
    run(
        &mut shell,
        &mut sim,
        "kafka-leader-election.sh BOOT --election-type preferred --topic orders --partition 9",
    );
    let unknown = settle(&mut shell, &mut sim);
    assert!(unknown.stdout.starts_with("Error completing leader election (PREFERRED) for partition: orders-9: org.apache.kafka.common.errors.UnknownTopicOrPartitionException"));
    assert_eq!(
        (unknown.stderr.as_str(), unknown.exit_code),
        ("1 replica(s) could not be elected\n", 1)
    );

    // Unclean: an offline partition whose ISR is all dead gets a live out-of-sync leader.
    let bad = run(
        &mut shell,
        &mut sim,
        "kafka-leader-election.sh BOOT --topic orders --partition 0",
    );
    assert_eq!(bad.stderr, "Missing required option(s): election-type\n");
    let both = run(&mut shell, &mut sim, "kafka-leader-election.sh BOOT --election-type unclean --topic orders --all-topic-partitions");
    assert!(both
        .stderr
        .starts_with("One and only one of the following options is required"));
    run(
        &mut shell,
        &mut sim,
        "kafka-leader-election.sh BOOT --election-type unclean --all-topic-partitions",
    );
    assert_eq!(
        settle(&mut shell, &mut sim).stdout,
        "",
        "every partition has a live leader: nothing to elect"
    );
}

#[test]
fn reset_offsets_rewinds_an_inactive_group() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let stable = run(&mut shell, &mut sim, "kafka-consumer-groups.sh BOOT --reset-offsets --group billing --all-topics --to-earliest --execute");
    assert_eq!(stable.stdout, "\nError: Assignments can only be reset if the group 'billing' is inactive, but the current state is Stable.\n\n");
    run(&mut shell, &mut sim, "close consumer 0");
    run(&mut shell, &mut sim, "close consumer 1");
    sim.run_until(sim.now().plus_ms(2000));
    let actions = sim.scenario().actions.len();
    let dry = run(&mut shell, &mut sim, "kafka-consumer-groups.sh BOOT --reset-offsets --group billing --topic orders:0,1 --to-offset 5");
    assert!(dry
        .stderr
        .starts_with("WARN: No action will be performed as the --execute option is missing."));
    assert_eq!(
        dry.stdout,
        format!(
            "\n{:<30} {:<30} {:<10} {:<15}\n{:<30} {:<30} {:<10} {:<15}\n{:<30} {:<30} {:<10} {:<15}\n",
            "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET", "billing", "orders", 0, 5, "billing", "orders", 1, 5
        )
    );
    assert_eq!(
        actions,
        sim.scenario().actions.len(),
        "a dry run changes nothing"
    );
    run(&mut shell, &mut sim, "kafka-consumer-groups.sh BOOT --reset-offsets --group billing --all-topics --to-earliest --execute");
    let done = settle(&mut shell, &mut sim);
    assert!(
        done.stdout
            .contains("billing                        orders                         2          0"),
        "{done:?}"
    );
    let described = run(
        &mut shell,
        &mut sim,
        "kafka-consumer-groups.sh BOOT --describe --group billing",
    );
    for row in described
        .stdout
        .lines()
        .filter(|l| l.starts_with("billing "))
    {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cols[3], "0",
            "every committed offset is back at the start: {row}"
        );
    }
    let far = run(&mut shell, &mut sim, "kafka-consumer-groups.sh BOOT --reset-offsets --group billing --all-topics --shift-by 1000000000 --dry-run");
    assert!(
        far.stderr
            .contains("is higher than latest offset for topic partition orders-0"),
        "{far:?}"
    );
    let two = run(&mut shell, &mut sim, "kafka-consumer-groups.sh BOOT --reset-offsets --group billing --all-topics --to-earliest --to-latest");
    assert!(
        two.stderr
            .starts_with("Option \"[to-earliest]\" can't be used with option \"[to-latest]\""),
        "{two:?}"
    );
}

#[test]
fn a_lesson_with_a_dozen_terminal_actions_shares_in_under_2000_characters() {
    let mut sim = Sim::new(crate::lessons::get("replication-and-isr").unwrap()).unwrap();
    sim.run_until(SimTime::from_secs(5));
    let mut shell = Shell::new();
    let lines = [
        "kafka-topics.sh BOOT --create --topic audit --partitions 3 --replication-factor 3 --config min.insync.replicas=2",
        "kafka-configs.sh BOOT --alter --topic audit --add-config retention.ms=600000",
        "kafka-console-producer.sh BOOT --topic audit --property parse.key=true --property key.separator=: --producer-property acks=1",
        "alice:signed in",
        "bob:signed in",
        "alice:paid",
        "",
        "kafka-console-consumer.sh BOOT --topic audit --group auditors --from-beginning --max-messages 3",
        "kill broker 1",
        "restart broker 1",
        "kafka-leader-election.sh BOOT --election-type preferred --all-topic-partitions",
        "kafka-topics.sh BOOT --alter --topic audit --partitions 6",
    ];
    for line in lines {
        run(&mut shell, &mut sim, line);
        settle(&mut shell, &mut sim);
    }
    let recorded = sim.scenario().actions.len()
        - crate::lessons::get("replication-and-isr")
            .unwrap()
            .actions
            .len();
    assert_eq!(recorded, 12, "{:#?}", sim.scenario().actions);
    let url = format!(
        "https://kplay.example/#s={}&t={:.3}",
        crate::share::encode(sim.scenario()),
        sim.now().as_secs_f64()
    );
    assert!(url.len() < 2_000, "{} characters: {url}", url.len());
    // And it replays what happened: the same trace.
    let mut replay = Sim::new(crate::share::decode(&url).unwrap()).unwrap();
    replay.run_until(sim.now());
    assert_eq!(replay.trace_hash(), sim.trace_hash());
}

#[test]
fn thousands_of_random_command_lines_get_an_answer_never_a_panic() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let words = [
        "kafka-topics.sh",
        "kafka-consumer-groups.sh",
        "kafka-configs.sh",
        "kafka-leader-election.sh",
        "kafka-console-producer.sh",
        "kafka-console-consumer.sh",
        "zookeeper-shell.sh",
        "kill",
        "restart",
        "cut",
        "links",
        "broker",
        "zookeeper",
        "consumer",
        "pause",
        "for",
        "s",
        "<->",
        "->",
        "broker:1",
        "zk:2",
        "--bootstrap-server",
        "x:9092",
        "--create",
        "--delete",
        "--describe",
        "--alter",
        "--list",
        "--topic",
        "orders",
        "t",
        "__consumer_offsets",
        "--partitions",
        "--partition",
        "-1",
        "0",
        "3",
        "99999999999",
        "--replication-factor",
        "--config",
        "retention.ms=1",
        "a=b=c",
        "=",
        "--group",
        "billing",
        "--reset-offsets",
        "--to-offset",
        "--shift-by",
        "--to-earliest",
        "--execute",
        "--all-topics",
        "--election-type",
        "preferred",
        "unclean",
        "--all-topic-partitions",
        "--entity-type",
        "topics",
        "brokers",
        "--entity-name",
        "--entity-default",
        "--add-config",
        "--delete-config",
        "k1=[a,b]",
        "[",
        "]",
        "--max-messages",
        "--from-beginning",
        "--property",
        "parse.key=true",
        "ls",
        "get",
        "stat",
        "-R",
        "/",
        "/brokers",
        "/nope",
        "localhost:2181",
        "é",
        "'",
        "\"",
        "\\",
        "--",
        "-",
        "--help",
        "",
        "🦀",
        "alice:hi",
    ];
    let mut rng = crate::rng::Rng::new(42);
    for _ in 0..3_000 {
        let n = 1 + rng.below(8) as usize;
        // Mostly a tool or a fault verb first, then anything.
        let firsts = if rng.below(10) == 0 { words.len() } else { 11 };
        let first = words[rng.below(firsts as u64) as usize];
        let rest = (1..n).map(|_| words[rng.below(words.len() as u64) as usize]);
        let line: Vec<&str> = std::iter::once(first).chain(rest).collect();
        let out = shell.execute(&mut sim, &line.join(" "));
        // Every answer is printable text; a failure says something.
        assert!(
            out.exit_code == 0 || !(out.stdout.is_empty() && out.stderr.is_empty()),
            "{line:?}: {out:?}"
        );
        if rng.below(20) == 0 {
            let next = sim.now().plus_ms(50);
            sim.run_until(next);
            shell.poll(&mut sim);
        }
        if rng.below(50) == 0 {
            shell.interrupt(&mut sim);
        }
        let _ = complete(&sim, &line.join(" "));
    }
}

/// What `zookeeper-shell.sh localhost:2181 COMMAND` printed after its connection banner.
fn zk(shell: &mut Shell, sim: &mut Sim, command: &str) -> String {
    let out = run(
        shell,
        sim,
        &format!("zookeeper-shell.sh localhost:2181 {command}"),
    );
    let banner = "WatchedEvent state:SyncConnected type:None path:null\n";
    let at = out.stdout.find(banner).expect("connected") + banner.len();
    out.stdout[at..].to_string()
}

#[test]
fn kafka_configs_shows_the_hour_defaults_as_kafka_3_9_and_filters_broker_entries_by_source() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    // log.retention.ms and log.roll.ms default to null: ConfigHelper.configSynonyms drops
    // everything before the first entry named log.retention.ms, so no synonym is left.
    let topic = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --describe --entity-type topics --entity-name orders --all",
    );
    for line in [
        "  retention.ms=604800000 sensitive=false synonyms={}\n",
        "  segment.ms=604800000 sensitive=false synonyms={}\n",
        "  retention.bytes=-1 sensitive=false synonyms={DEFAULT_CONFIG:log.retention.bytes=-1}\n",
    ] {
        assert!(topic.stdout.contains(line), "{line}{}", topic.stdout);
    }
    let broker = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --describe --entity-type brokers --entity-name 1 --all",
    );
    for line in [
        "  log.retention.hours=168 sensitive=false synonyms={DEFAULT_CONFIG:log.retention.hours=168}\n",
        "  log.retention.minutes=null sensitive=false synonyms={}\n",
        "  log.retention.ms=null sensitive=false synonyms={}\n",
        "  log.roll.hours=168 sensitive=false synonyms={DEFAULT_CONFIG:log.roll.hours=168}\n",
        "  log.roll.ms=null sensitive=false synonyms={}\n",
    ] {
        assert!(broker.stdout.contains(line), "{line}{}", broker.stdout);
    }
    let names: Vec<&str> = broker
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.trim_start().split('=').next().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "ConfigCommand sorts entries by name");

    run(&mut shell, &mut sim, "kafka-configs.sh BOOT --alter --entity-type brokers --entity-default --add-config log.retention.ms=60000,min.insync.replicas=2");
    settle(&mut shell, &mut sim);
    // Once a log.retention.ms is set, the hours default follows it.
    let topic = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --describe --topic orders --all",
    );
    assert!(topic.stdout.contains("  retention.ms=60000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=60000, DEFAULT_CONFIG:log.retention.hours=168}\n"), "{}", topic.stdout);
    // A broker id lists that broker's own dynamic settings only (configSourceFilter).
    let one = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --describe --entity-type brokers --entity-name 1",
    );
    assert_eq!(one.stdout, "Dynamic configs for broker 1 are:\n");
    let defaults = run(
        &mut shell,
        &mut sim,
        "kafka-configs.sh BOOT --describe --entity-type brokers --entity-default",
    );
    assert_eq!(
        defaults.stdout,
        "Default configs for brokers in the cluster are:\n  log.retention.ms=60000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=60000}\n  min.insync.replicas=2 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:min.insync.replicas=2}\n"
    );
    let entries = topic_config_entries(&sim, "orders").unwrap();
    let retention = entries.iter().find(|e| e.name == "retention.ms").unwrap();
    assert_eq!(
        (retention.value.as_str(), retention.source),
        ("60000", "DYNAMIC_DEFAULT_BROKER_CONFIG")
    );
    let segment = entries.iter().find(|e| e.name == "segment.ms").unwrap();
    assert_eq!(
        (
            segment.value.as_str(),
            segment.source,
            segment.synonyms.len()
        ),
        ("604800000", "DEFAULT_CONFIG", 0)
    );
    assert_eq!(
        segment.layers[0].2, "604800000",
        "the first layer is the value"
    );
}

#[test]
fn config_znodes_hold_kafkas_string_values_and_still_parse() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    assert_eq!(
        zk(&mut shell, &mut sim, "get /config/topics/orders"),
        "{\"version\":1,\"config\":{\"min.insync.replicas\":\"2\"}}\n"
    );
    run(&mut shell, &mut sim, "kafka-configs.sh BOOT --alter --topic orders --add-config retention.ms=60000,unclean.leader.election.enable=true,cleanup.policy=compact");
    settle(&mut shell, &mut sim);
    assert_eq!(
        zk(&mut shell, &mut sim, "get /config/topics/orders"),
        "{\"version\":1,\"config\":{\"cleanup.policy\":\"compact\",\"min.insync.replicas\":\"2\",\"retention.ms\":\"60000\",\"unclean.leader.election.enable\":\"true\"}}\n"
    );
    let expected = crate::config::TopicConfig {
        min_insync_replicas: Some(2),
        retention_ms: Some(60_000),
        unclean_leader_election_enable: Some(true),
        cleanup_policy: Some(crate::config::CleanupPolicy::Compact),
        ..Default::default()
    };
    assert_eq!(sim.topic_overrides("orders"), Some(expected.clone()));
    run(&mut shell, &mut sim, "kafka-configs.sh BOOT --alter --entity-type brokers --entity-default --add-config log.retention.ms=120000,min.insync.replicas=2");
    settle(&mut shell, &mut sim);
    assert_eq!(
        zk(&mut shell, &mut sim, "get /config/brokers/<default>"),
        "{\"version\":1,\"config\":{\"log.retention.ms\":\"120000\",\"min.insync.replicas\":\"2\"}}\n"
    );
    assert_eq!(
        sim.dynamic_broker_config(None).log_retention_ms,
        Some(120_000)
    );
    // Numbers and booleans, as older kplay versions wrote them, still read back.
    use crate::controller::zk_data;
    let old = r#"{"config":{"cleanup.policy":"compact","min.insync.replicas":2,"retention.ms":60000,"unclean.leader.election.enable":true},"version":1}"#;
    assert_eq!(zk_data::parse_topic_config(old), Some(expected.clone()));
    assert_eq!(
        zk_data::parse_topic_config(&zk_data::topic_config(&expected)),
        Some(expected)
    );
    let broker = zk_data::parse_broker_config(
        r#"{"version":1,"config":{"log.retention.ms":"-1","log.roll.ms":3600000}}"#,
    )
    .unwrap();
    assert_eq!(
        (broker.log_retention_ms, broker.log_roll_ms),
        (Some(-1), Some(3_600_000))
    );
}

#[test]
fn zookeeper_shell_shows_kafkas_znodes_in_kafkas_format() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    assert_eq!(
        zk(&mut shell, &mut sim, "ls /"),
        "[admin, brokers, cluster, config, consumers, controller, controller_epoch, feature, isr_change_notification, latest_producer_id_block, log_dir_event_notification, zookeeper]\n"
    );
    assert_eq!(
        zk(&mut shell, &mut sim, "ls /brokers"),
        "[ids, seqid, topics]\n"
    );
    assert_eq!(
        zk(&mut shell, &mut sim, "ls /config"),
        "[brokers, changes, clients, ips, topics, users]\n"
    );
    assert_eq!(
        zk(&mut shell, &mut sim, "ls /zookeeper"),
        "[config, quota]\n"
    );
    // Kafka's persistent paths hold null; ZooKeeper's own nodes hold empty data.
    assert_eq!(zk(&mut shell, &mut sim, "get /brokers/ids"), "null\n");
    assert_eq!(
        zk(&mut shell, &mut sim, "get /latest_producer_id_block"),
        "null\n"
    );
    assert_eq!(zk(&mut shell, &mut sim, "get /zookeeper"), "\n");
    assert_eq!(
        zk(&mut shell, &mut sim, "get /feature"),
        "{\"features\":{},\"version\":2,\"status\":1}\n"
    );
    let cluster_id = zk(&mut shell, &mut sim, "get /cluster/id");
    let id = cluster_id
        .strip_prefix("{\"version\":\"1\",\"id\":\"")
        .and_then(|rest| rest.strip_suffix("\"}\n"))
        .unwrap_or_else(|| panic!("{cluster_id}"));
    assert_eq!(id.len(), 22);
    assert_eq!(
        zk(&mut Shell::new(), &mut cluster(), "get /cluster/id"),
        cluster_id,
        "the same id every run"
    );

    // /controller: ControllerZNode.encode's key order, an epoch-milliseconds timestamp.
    let controller = zk(&mut shell, &mut sim, "get /controller");
    let (broker, _) = sim.controller().unwrap();
    let value: serde_json::Value = serde_json::from_str(&controller).unwrap();
    let timestamp = value["timestamp"].as_str().unwrap().to_string();
    assert_eq!(
        controller,
        format!("{{\"version\":2,\"brokerid\":{broker},\"timestamp\":\"{timestamp}\",\"kraftControllerEpoch\":-1}}\n")
    );
    let ms: u64 = timestamp.parse().unwrap();
    let epoch = crate::controller::zk_data::WALL_CLOCK_EPOCH_MS;
    assert!((epoch..=epoch + sim.now().as_ms()).contains(&ms), "{ms}");

    // The topic znode carries the id kafka-topics.sh prints, in TopicZNode.encode's order.
    let describe = run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --describe --topic orders",
    );
    let topic_id = describe
        .stdout
        .split('\t')
        .find_map(|c| c.strip_prefix("TopicId: "))
        .unwrap()
        .to_string();
    let data = &sim
        .zookeeper_tree()
        .unwrap()
        .get("/brokers/topics/orders")
        .unwrap()
        .data;
    let assignment = crate::controller::zk_data::parse_topic_assignment(data).unwrap();
    let partitions: Vec<String> = assignment
        .iter()
        .map(|(p, r)| {
            let r: Vec<String> = r.iter().map(|b| b.to_string()).collect();
            format!("\"{p}\":[{}]", r.join(","))
        })
        .collect();
    let topic = zk(&mut shell, &mut sim, "get /brokers/topics/orders");
    assert_eq!(
        topic,
        format!("{{\"partitions\":{{{}}},\"topic_id\":\"{topic_id}\",\"adding_replicas\":{{}},\"removing_replicas\":{{}},\"version\":3}}\n", partitions.join(","))
    );
    assert_eq!(
        zk(
            &mut shell,
            &mut sim,
            "get /brokers/topics/orders/partitions/0/state"
        )
        .split('"')
        .skip(1)
        .step_by(2)
        .collect::<Vec<_>>(),
        [
            "controller_epoch",
            "leader",
            "version",
            "leader_epoch",
            "isr"
        ]
    );
    let registration = zk(&mut shell, &mut sim, "get /brokers/ids/1");
    assert!(
        registration.starts_with("{\"features\":{},\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":[\"PLAINTEXT://broker1:9092\"],\"jmx_port\":-1,\"port\":9092,\"host\":\"broker1\",\"version\":5,\"timestamp\":\"17672"),
        "{registration}"
    );

    // stat: ZooKeeper 3.8's eleven fields, in its order.
    let stat = zk(&mut shell, &mut sim, "stat /brokers/ids");
    let fields: Vec<&str> = stat
        .lines()
        .map(|l| l.split(" = ").next().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "cZxid",
            "ctime",
            "mZxid",
            "mtime",
            "pZxid",
            "cversion",
            "dataVersion",
            "aclVersion",
            "ephemeralOwner",
            "dataLength",
            "numChildren"
        ]
    );
    assert!(
        stat.contains("\nctime = Thu Jan 01 00:00:00 UTC 2026\n"),
        "{stat}"
    );
    assert!(stat.contains("\naclVersion = 0\n") && stat.contains("\ndataLength = 0\n"));
    assert!(stat.ends_with("numChildren = 3\n"), "{stat}");
    let topic_stat = zk(&mut shell, &mut sim, "stat /brokers/topics/orders");
    assert!(
        topic_stat.contains(&format!("\ndataLength = {}\n", topic.len() - 1)),
        "dataLength counts what get prints: {topic_stat}"
    );
    let with_stat = zk(&mut shell, &mut sim, "get -s /brokers/topics/orders");
    assert_eq!(with_stat, format!("{topic}{topic_stat}"));
}

#[test]
fn stat_prints_java_dates_from_the_trees_clock() {
    use super::zookeeper_shell::{java_date, stat_text};
    use crate::zookeeper::messages::{Txn, ZkOp};
    use crate::zookeeper::tree::DataTree;
    assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
    assert_eq!(java_date(1_767_225_600_000), "Thu Jan 01 00:00:00 UTC 2026");
    assert_eq!(java_date(1_772_326_923_000), "Sun Mar 01 01:02:03 UTC 2026");
    assert_eq!(java_date(1_709_164_800_000), "Thu Feb 29 00:00:00 UTC 2024");
    let mut tree = DataTree::default();
    tree.set_time_ms(90_061_001);
    tree.ensure_path("/a", "x");
    tree.set_time_ms(90_062_000);
    let set = Txn::Write {
        session: 0,
        op: ZkOp::SetData {
            path: "/a".into(),
            data: "yz".into(),
            version: None,
        },
    };
    tree.apply(0x1_0000_0005, &set).unwrap();
    let node = tree.get("/a").unwrap();
    assert_eq!(
        stat_text(node, Some(&node.data)),
        "cZxid = 0x0\nctime = Fri Jan 02 01:01:01 UTC 2026\nmZxid = 0x100000005\nmtime = Fri Jan 02 01:01:02 UTC 2026\npZxid = 0x0\ncversion = 0\ndataVersion = 1\naclVersion = 0\nephemeralOwner = 0x0\ndataLength = 2\nnumChildren = 0\n"
    );
    assert_eq!(
        tree.get("/").unwrap().stat.cversion,
        1,
        "a child was created"
    );
}

#[test]
fn consumer_groups_show_kafkas_member_ids_and_the_topicless_assignment() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let members = run(
        &mut shell,
        &mut sim,
        "kafka-consumer-groups.sh BOOT --describe --group billing --members --verbose",
    );
    let rows: Vec<Vec<&str>> = members
        .stdout
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{}", members.stdout);
    let mut clients: Vec<(&str, &str)> = rows.iter().map(|r| (r[3], r[2])).collect();
    clients.sort_unstable();
    assert_eq!(
        clients,
        [
            ("consumer-billing-1", "/10.0.1.1"),
            ("consumer-billing-2", "/10.0.1.2")
        ]
    );
    for r in &rows {
        // consumer-billing-1-3db3e761-…: the client id, then a java.util.UUID.
        let uuid = r[1].strip_prefix(&format!("{}-", r[3])).unwrap();
        let parts: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12],
            "{uuid}"
        );
        assert!(parts
            .iter()
            .all(|p| p.bytes().all(|c| c.is_ascii_hexdigit())));
        assert!(parts[2].starts_with('4'), "{uuid}");
        // Kafka 3.8+ prints the partitions without the topic's name.
        assert!(r[5].starts_with('(') && r[5].ends_with(')'), "{r:?}");
    }
    let offsets = run(
        &mut shell,
        &mut sim,
        "kafka-consumer-groups.sh BOOT --describe --group billing",
    );
    for (id, _, _) in rows.iter().map(|r| (r[1], r[2], r[3])) {
        assert!(offsets.stdout.contains(id), "the same ids in both tables");
    }
    let again = run(
        &mut shell,
        &mut sim,
        "kafka-consumer-groups.sh BOOT --describe --group billing --members --verbose",
    );
    assert_eq!(again.stdout, members.stdout, "the ids are stable");
}

#[test]
fn an_empty_group_says_so_before_its_tables() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    run(&mut shell, &mut sim, "close consumer 0");
    run(&mut shell, &mut sim, "close consumer 1");
    sim.run_until(SimTime::from_secs(25));
    let note = "\nConsumer group 'billing' has no active members.\n";
    // printMembers prints its header even with no member to list.
    let members = run(
        &mut shell,
        &mut sim,
        "kafka-consumer-groups.sh BOOT --describe --group billing --members",
    );
    assert_eq!(
        members,
        Output::out(format!(
            "{note}\n{:<15} {:<15} {:<15} {:<15} {:<15} \n",
            "GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"
        ))
    );
    let state = run(
        &mut shell,
        &mut sim,
        "kafka-consumer-groups.sh BOOT --describe --group billing --state",
    );
    assert!(
        state.stdout.starts_with(&format!("{note}\nGROUP ")),
        "{state:?}"
    );
    assert_eq!(state.stderr, "");
}

#[test]
fn leader_election_for_all_partitions_lists_only_what_it_elected() {
    // Kafka 3.9 in ZooKeeper mode: with no partitions named, KafkaApis.handleElectLeaders drops
    // the ELECTION_NOT_NEEDED results, so "Valid replica already elected" never shows.
    let (mut sim, mut shell) = (cluster(), Shell::new());
    let data = sim
        .zookeeper_tree()
        .unwrap()
        .get("/brokers/topics/orders")
        .unwrap()
        .data
        .clone();
    let first = crate::controller::zk_data::parse_topic_assignment(&data).unwrap()[&0][0];
    run(&mut shell, &mut sim, &format!("kill broker {first}"));
    sim.run_until(sim.now().plus_ms(30_000));
    run(&mut shell, &mut sim, &format!("restart broker {first}"));
    sim.run_until(sim.now().plus_ms(15_000));
    run(
        &mut shell,
        &mut sim,
        "kafka-leader-election.sh BOOT --election-type preferred --all-topic-partitions",
    );
    let out = settle(&mut shell, &mut sim);
    assert!(
        out.stdout
            .starts_with("Successfully completed leader election (PREFERRED) for partitions "),
        "{out:?}"
    );
    assert!(out.stdout.contains("orders-0"), "{out:?}");
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
}

#[test]
fn console_consumer_prints_the_create_time_first() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    run(&mut shell, &mut sim, "kafka-console-consumer.sh BOOT --topic orders --from-beginning --max-messages 3 --property print.timestamp=true --property print.offset=true --property print.key=true");
    let out = settle(&mut shell, &mut sim);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{out:?}");
    let epoch = crate::controller::zk_data::WALL_CLOCK_EPOCH_MS;
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "{line}");
        let ms: u64 = cols[0]
            .strip_prefix("CreateTime:")
            .unwrap()
            .parse()
            .unwrap();
        assert!((epoch..=epoch + sim.now().as_ms()).contains(&ms), "{line}");
        assert!(
            cols[1].starts_with("Offset:") && cols[2].starts_with("key-"),
            "{line}"
        );
    }
    // Without the value, the key ends the line (DefaultMessageFormatter.writeTo's separators).
    run(&mut shell, &mut sim, "kafka-console-consumer.sh BOOT --topic orders --from-beginning --max-messages 1 --property print.timestamp=TRUE --property print.key=true --property print.value=false");
    let out = settle(&mut shell, &mut sim);
    let cols: Vec<&str> = out.stdout.trim_end_matches('\n').split('\t').collect();
    assert!(
        cols.len() == 2 && cols[0].starts_with("CreateTime:") && cols[1].starts_with("key-"),
        "{out:?}"
    );
}

#[test]
fn a_null_key_to_a_compacted_topic_is_refused_with_the_brokers_message() {
    let (mut sim, mut shell) = (cluster(), Shell::new());
    run(
        &mut shell,
        &mut sim,
        "kafka-topics.sh BOOT --create --topic users --partitions 1 --replication-factor 3 --config cleanup.policy=compact",
    );
    settle(&mut shell, &mut sim);
    run(
        &mut shell,
        &mut sim,
        "kafka-console-producer.sh BOOT --topic users",
    );
    run(&mut shell, &mut sim, "no key here");
    let mut out = Output::default();
    for _ in 0..300 {
        let next = sim.now().plus_ms(10);
        sim.run_until(next);
        out.append(shell.poll(&mut sim));
    }
    assert!(
        out.stderr.contains(
            "org.apache.kafka.common.InvalidRecordException: Compacted topic cannot accept message without key in topic partition users-0."
        ),
        "{out:?}"
    );
}

/// The same cluster in KRaft mode.
fn kraft_cluster() -> Sim {
    let scenario = cluster()
        .scenario()
        .clone()
        .with_mode(crate::scenario::ClusterMode::KRaft)
        .unwrap();
    let mut sim = Sim::new(scenario).unwrap();
    sim.run_until(SimTime::from_secs(20));
    sim
}

#[test]
fn the_metadata_shell_browses_a_nodes_image_as_kafkas_tree() {
    let mut sim = kraft_cluster();
    let mut shell = Shell::new();
    let mut run = |line: &str| shell.execute(&mut sim, line);
    let ls = run("kafka-metadata-shell.sh --snapshot controller-3000 ls /image");
    assert_eq!(
        ls.stdout, "cluster\nconfigs\nfeatures\nproducerIds\ntopics\n",
        "{ls:?}"
    );
    let topics = run("kafka-metadata-shell.sh -s /var/lib/kafka/broker-2/__cluster_metadata-0/x.checkpoint ls /image/topics/byName/orders");
    assert_eq!(topics.stdout, "0\n1\n2\nid\nname\n");
    let partition = run("kafka-metadata-shell.sh -s broker-1 cat /image/topics/byName/orders/0");
    assert!(
        partition
            .stdout
            .starts_with("PartitionRegistration(replicas=[")
            && partition
                .stdout
                .contains(", leaderRecoveryState=RECOVERED, leaderEpoch=")
            && partition.stdout.ends_with(")\n"),
        "{partition:?}"
    );
    let two = run("kafka-metadata-shell.sh -s broker-1 ls /image/cluster/brokers /image/features");
    assert_eq!(
        two.stdout,
        "brokers:\n1\n2\n3\n\nfeatures:\nfinalized_eligible.leader.replicas.version\nmetadataVersion\nzkMigrationState\n"
    );
    let version = run("kafka-metadata-shell.sh -s broker-1 cat /image/features/metadataVersion");
    assert_eq!(version.stdout, "4.1-IV1\n");
    let globbed = run("kafka-metadata-shell.sh -s broker-1 cat /image/topics/byName/orders/?");
    assert_eq!(globbed.stdout.lines().count(), 3);
    let find = run("kafka-metadata-shell.sh -s broker-1 find /image/producerIds");
    assert_eq!(
        find.stdout,
        "/image/producerIds\n/image/producerIds/nextProducerId\n"
    );
    let tree = run("kafka-metadata-shell.sh -s broker-1 tree /image/configs");
    assert!(
        tree.stdout
            .contains("TOPIC:orders:\n  min.insync.replicas:\n    2\n"),
        "{tree:?}"
    );
    let missing = run("kafka-metadata-shell.sh -s broker-1 cat /image/nothing");
    assert_eq!(
        missing.stdout,
        "cat: /image/nothing: No such file or directory.\n"
    );
    let dir = run("kafka-metadata-shell.sh -s broker-1 cat /image/topics");
    assert_eq!(dir.stdout, "cat: /image/topics: Is a directory\n");
    let no_snapshot = run("kafka-metadata-shell.sh ls /");
    assert_eq!(no_snapshot.exit_code, 1);
    assert!(no_snapshot
        .stderr
        .contains("You must specify either a raft manager or a snapshot"));
    let no_node = run("kafka-metadata-shell.sh -s broker-9 ls /");
    assert_eq!(no_node.exit_code, 1);
    assert!(no_node.stderr.contains("No such file or directory"));

    let mut zk = cluster();
    let zk = Shell::new().execute(&mut zk, "kafka-metadata-shell.sh -s broker-1 ls /");
    assert!(
        zk.exit_code == 1 && zk.stderr.contains("ZooKeeper mode"),
        "{zk:?}"
    );
}

#[test]
fn kafka_features_describes_the_finalized_levels() {
    let mut sim = kraft_cluster();
    let out = Shell::new().execute(
        &mut sim,
        "kafka-features.sh --bootstrap-server localhost:9092 describe",
    );
    assert_eq!(out.exit_code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with(
        "Feature: eligible.leader.replicas.version\tSupportedMinVersion: 0\tSupportedMaxVersion: 1\tFinalizedVersionLevel: 1\tEpoch: "
    ));
    assert!(lines[3].starts_with(
        "Feature: metadata.version\tSupportedMinVersion: 3.3-IV3\tSupportedMaxVersion: 4.1-IV1\tFinalizedVersionLevel: 4.1-IV1\tEpoch: "
    ));
    let epoch: u64 = lines[0].rsplit(' ').next().unwrap().parse().unwrap();
    assert!(epoch > 10, "the broker's applied offset: {epoch}");
    let bad = Shell::new().execute(&mut sim, "kafka-features.sh describe");
    assert_eq!(bad.exit_code, 1);
    let zk = Shell::new().execute(
        &mut cluster(),
        "kafka-features.sh --bootstrap-server x:9092 describe",
    );
    assert!(zk.exit_code == 1 && zk.stderr.contains("ZooKeeper mode"));
}
