//! `kplay export`: the real-Kafka commands and properties that set up what a scenario
//! describes, so a learner can repeat it on a real cluster.

use kplay_core::config::{BrokerConfig, ConsumerConfig, KRaftConfig, ProducerConfig};
use kplay_core::scenario::{CommitMode, KeySpec};
use kplay_core::tools::controller_endpoint;
use kplay_core::{Command, Scenario};
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write;

const BOOTSTRAP: &str = "localhost:9092";

/// `key=value` lines for every property that differs from `default` (all when `all`).
fn properties<T: Serialize>(config: &T, default: &T, all: bool) -> Vec<String> {
    let (Ok(Value::Object(c)), Ok(Value::Object(d))) =
        (serde_json::to_value(config), serde_json::to_value(default))
    else {
        return Vec::new();
    };
    c.iter()
        .filter(|(k, v)| all || d.get(*k) != Some(v))
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect()
}

pub fn export(s: &Scenario) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "# kplay scenario '{}' (seed {}) on a real Kafka cluster",
        s.name, s.seed
    );
    let broker = properties(&s.cluster.broker_config, &BrokerConfig::default(), false);
    if s.cluster.mode.is_kraft() {
        kraft_properties(w, s, &broker);
    } else {
        let _ = writeln!(
            w,
            "# {} brokers (ids 1..{}), a {}-server ZooKeeper ensemble; bootstrap: {BOOTSTRAP}",
            s.cluster.brokers, s.cluster.brokers, s.cluster.zookeepers
        );
        if !broker.is_empty() {
            let _ = writeln!(
                w,
                "\n# server.properties (every broker), besides broker.id and listeners:"
            );
            for line in broker {
                let _ = writeln!(w, "{line}");
            }
        }
    }
    let _ = writeln!(w, "\n# Topics");
    for t in &s.topics {
        let mut cmd = format!(
            "kafka-topics.sh --bootstrap-server {BOOTSTRAP} --create --topic {} --partitions {} --replication-factor {}",
            t.name, t.partitions, t.replication_factor
        );
        for p in properties(&t.config, &Default::default(), false) {
            let _ = write!(cmd, " --config {p}");
        }
        let _ = writeln!(w, "{cmd}");
    }
    for (i, p) in s.producers.iter().enumerate() {
        let _ = writeln!(
            w,
            "\n# Producer {i}: {} records/s to {}, {}-byte values, {}",
            p.rate_per_sec,
            p.topic,
            p.value_bytes,
            keys(&p.keys)
        );
        let _ = writeln!(
            w,
            "cat > producer-{i}.properties <<'EOF'\nbootstrap.servers={BOOTSTRAP}"
        );
        for line in properties(&p.config, &ProducerConfig::default(), true) {
            if line.starts_with("partitioner=") {
                // Kafka 2.4+ is sticky for null keys; round-robin is `partitioner.class`.
                if line.ends_with("round_robin") {
                    let _ = writeln!(
                        w,
                        "partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner"
                    );
                }
                continue;
            }
            let _ = writeln!(w, "{line}");
        }
        let _ = writeln!(w, "EOF");
        let parse_key = if matches!(p.keys, KeySpec::None) {
            String::new()
        } else {
            " --property parse.key=true --property key.separator=:".to_string()
        };
        let _ = writeln!(
            w,
            "kafka-console-producer.sh --bootstrap-server {BOOTSTRAP} --topic {} --producer.config producer-{i}.properties{parse_key}",
            p.topic
        );
    }
    for (i, c) in s.consumers.iter().enumerate() {
        let mode = match c.commit {
            CommitMode::Auto => "auto-commit",
            CommitMode::BeforeProcessing => "commitSync before processing (at-most-once)",
            CommitMode::AfterProcessing => "commitSync after processing (at-least-once)",
            CommitMode::AfterProcessingAsync => "commitAsync after processing",
            CommitMode::Transactional => "transactions (exactly-once)",
        };
        let _ = writeln!(w, "\n# Consumer {i}: reads {}, commits by {mode}", c.topic);
        let _ = writeln!(
            w,
            "cat > consumer-{i}.properties <<'EOF'\nbootstrap.servers={BOOTSTRAP}"
        );
        for line in properties(&c.config, &ConsumerConfig::default(), true) {
            // The Java client names assignors by class.
            let line = match line.split_once('=') {
                Some(("partition.assignment.strategy", name)) => format!(
                    "partition.assignment.strategy=org.apache.kafka.clients.consumer.{}",
                    match name {
                        "roundrobin" => "RoundRobinAssignor",
                        "sticky" => "StickyAssignor",
                        "cooperative-sticky" => "CooperativeStickyAssignor",
                        _ => "RangeAssignor",
                    }
                ),
                _ => line,
            };
            let _ = writeln!(w, "{line}");
        }
        let _ = writeln!(w, "EOF");
        let group = c
            .config
            .group_id
            .as_ref()
            .map(|g| format!(" --group {g}"))
            .unwrap_or_default();
        let _ = writeln!(
            w,
            "kafka-console-consumer.sh --bootstrap-server {BOOTSTRAP} --topic {}{group} --consumer.config consumer-{i}.properties",
            c.topic
        );
        if let Some(out) = &c.output_topic {
            let _ = writeln!(
                w,
                "# The exactly-once application is your own code (a transactional producer with transactional.id={}-{i} writing to {out}); the console tools do not do this.",
                c.config.group_id.as_deref().unwrap_or("app")
            );
        }
    }
    if !s.actions.is_empty() {
        let _ = writeln!(w, "\n# Faults and actions to repeat by hand:");
        for a in &s.actions {
            let how = match &a.command {
                // kafka-server-stop.sh sends SIGTERM: a controlled shutdown, not a crash.
                Command::KillBroker { broker } => {
                    format!("kill -9 <pid of broker {broker}>   (a crash: no controlled shutdown)")
                }
                Command::StopBroker { broker } => format!(
                    "kill <pid of broker {broker}>   (SIGTERM, as kafka-server-stop.sh sends: a controlled shutdown)"
                ),
                Command::KillController { controller } => format!(
                    "kill -9 <pid of controller {controller}>   (a crash: the other voters elect a leader)"
                ),
                other => other.describe(),
            };
            let _ = writeln!(w, "#   at {:.3} s: {how}", a.at_ms as f64 / 1000.0);
        }
    }
    out
}

/// A KRaft cluster's `server.properties` (Kafka 4.x, a static quorum): one file per
/// controller and per broker, and the storage format every node needs first.
fn kraft_properties(w: &mut String, s: &Scenario, broker: &[String]) {
    let ids = s.cluster.controller_ids();
    let voters: Vec<String> = ids
        .iter()
        .map(|id| format!("{id}@{}", controller_endpoint(*id, false)))
        .collect();
    let voters = voters.join(",");
    let _ = writeln!(
        w,
        "# {} brokers (node.id 1..{}) and a {}-controller KRaft quorum (node.id {}..{}); bootstrap: {BOOTSTRAP}\n# Hosts are named broker-N and controller-N, as on a Docker Compose network.",
        s.cluster.brokers,
        s.cluster.brokers,
        ids.len(),
        ids.first().copied().unwrap_or_default(),
        ids.last().copied().unwrap_or_default(),
    );
    let kraft = properties(&s.cluster.kraft_config, &KRaftConfig::default(), false);
    let _ = writeln!(
        w,
        "\n# Each controller's server.properties (node.id {} for controller-{}, and so on):",
        ids[0], ids[0]
    );
    let _ = writeln!(
        w,
        "process.roles=controller\nnode.id={}\ncontroller.quorum.voters={voters}\ncontroller.listener.names=CONTROLLER\nlisteners=CONTROLLER://{}",
        ids[0],
        controller_endpoint(ids[0], false)
    );
    for line in &kraft {
        let _ = writeln!(w, "{line}");
    }
    let _ = writeln!(
        w,
        "\n# Each broker's server.properties (node.id 1 for broker-1, and so on):"
    );
    let _ = writeln!(
        w,
        "process.roles=broker\nnode.id=1\ncontroller.quorum.voters={voters}\ncontroller.listener.names=CONTROLLER\nlisteners=PLAINTEXT://broker-1:9092"
    );
    for line in kraft.iter().chain(broker) {
        let _ = writeln!(w, "{line}");
    }
    let _ = writeln!(
        w,
        "\n# Before the first start, on every node:\nkafka-storage.sh format --cluster-id {} --config server.properties",
        kplay_core::controller::zk_data::cluster_id()
    );
}

fn keys(k: &KeySpec) -> String {
    match k {
        KeySpec::None => "null keys".into(),
        KeySpec::Random { count } => format!("random keys key-0..key-{}", count.saturating_sub(1)),
        KeySpec::Sequential { count } => {
            format!("keys key-0..key-{} in turn", count.saturating_sub(1))
        }
        KeySpec::Fixed { keys } => format!("keys {}", keys.join(", ")),
    }
}
