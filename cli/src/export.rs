//! `kplay export`: the real-Kafka commands and properties that set up what a scenario
//! describes, so a learner can repeat it on a real cluster.

use kplay_core::config::{BrokerConfig, ConsumerConfig, ProducerConfig};
use kplay_core::scenario::{CommitMode, KeySpec};
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
    let _ = writeln!(
        w,
        "# {} brokers (ids 1..{}), a {}-server ZooKeeper ensemble; bootstrap: {BOOTSTRAP}",
        s.cluster.brokers, s.cluster.brokers, s.cluster.zookeepers
    );
    let broker = properties(&s.cluster.broker_config, &BrokerConfig::default(), false);
    if !broker.is_empty() {
        let _ = writeln!(
            w,
            "\n# server.properties (every broker), besides broker.id and listeners:"
        );
        for line in broker {
            let _ = writeln!(w, "{line}");
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
                other => other.describe(),
            };
            let _ = writeln!(w, "#   at {:.3} s: {how}", a.at_ms as f64 / 1000.0);
        }
    }
    out
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
