//! `kafka-configs.sh`: describe topic and broker configs with their sources (Kafka's
//! `synonyms={DYNAMIC_TOPIC_CONFIG:…, STATIC_BROKER_CONFIG:…, DEFAULT_CONFIG:…}`), and alter a
//! topic's overrides (`--add-config`, `--delete-config`); the brokers apply them at once.

use super::args::{self, Opt, Parsed};
use super::{AdminWait, Output, Shell};
use crate::config::{BrokerConfig, TopicConfig};
use crate::controller::zk_data;
use crate::sim::{AdminResponse, Sim};
use crate::zookeeper::paths;
use crate::Command;
use serde_json::{Map, Value};

pub(super) const OPTS: &[Opt] = &[
    Opt::with_arg("add-config", "String", "Key Value pairs of configs to add. Square brackets can be used to group values which contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'."),
    Opt::flag("all", "List all configs for the given topic or broker, including those not overridden (with --describe)."),
    Opt::flag("alter", "Alter the configuration for the entity."),
    Opt::with_arg("bootstrap-server", "String: server to connect to", "The Kafka server to connect to. This is required for describing and altering broker configs."),
    Opt::with_arg("broker", "String", "The broker's ID."),
    Opt::with_arg("delete-config", "String", "config keys to remove 'k1,k2'"),
    Opt::flag("describe", "List configs for the given entity."),
    Opt::with_arg("entity-name", "String", "Name of entity (topic name/broker id)"),
    Opt::with_arg("entity-type", "String", "Type of entity (topics/brokers)"),
    Opt::flag("help", "Print usage information."),
    Opt::with_arg("topic", "String", "The topic's name."),
];

/// Each topic config kplay models, the broker setting it falls back to, and Kafka's default.
const TOPIC_TO_BROKER: &[(&str, &str)] = &[
    ("cleanup.policy", "log.cleanup.policy"),
    ("delete.retention.ms", "log.cleaner.delete.retention.ms"),
    ("min.insync.replicas", "min.insync.replicas"),
    ("retention.bytes", "log.retention.bytes"),
    ("retention.ms", "log.retention.ms"),
    ("segment.bytes", "log.segment.bytes"),
    ("segment.ms", "log.roll.ms"),
    (
        "unclean.leader.election.enable",
        "unclean.leader.election.enable",
    ),
];

fn help() -> String {
    args::help(
        "This tool helps to manipulate and describe entity config for a topic or broker.",
        OPTS,
    )
}

fn usage_error(message: &str) -> Output {
    Output::error(format!("{message}\n{}", help()))
}

/// A config map as Kafka's property names → values as Kafka prints them.
fn properties<T: serde::Serialize>(config: &T) -> Map<String, Value> {
    match serde_json::to_value(config) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn run(shell: &mut Shell, sim: &mut Sim, argv: &[String]) -> Output {
    if argv.is_empty() {
        return usage_error(
            "This tool helps to manipulate and describe entity config for a topic or broker.",
        );
    }
    let o = match args::parse(OPTS, argv) {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    if o.has("help") {
        return Output::out(help());
    }
    if o.has("describe") == o.has("alter") {
        return usage_error("Command must include exactly one action: --describe, --alter");
    }
    if !o.has("bootstrap-server") {
        return usage_error("One of the required bootstrap-server or bootstrap-controller arguments must be specified");
    }
    let (entity_type, name) = match (o.value("entity-type"), o.value("topic"), o.value("broker")) {
        (Some(t), None, None) => (t.to_string(), o.value("entity-name").map(str::to_string)),
        (None, Some(t), None) => ("topics".to_string(), Some(t.to_string())),
        (None, None, Some(b)) => ("brokers".to_string(), Some(b.to_string())),
        (None, None, None) => return usage_error("At least one entity type must be specified"),
        _ => return usage_error("Only one entity type may be specified"),
    };
    match (entity_type.as_str(), o.has("alter")) {
        ("topics", false) => describe_topics(sim, name.as_deref(), o.has("all")),
        ("topics", true) => match name {
            Some(topic) => alter_topic(shell, sim, &o, &topic),
            None => usage_error("An entity name must be specified with --alter of topics"),
        },
        ("brokers", false) => describe_brokers(sim, name.as_deref(), o.has("all")),
        ("brokers", true) => Output::error(
            "kplay's brokers take their settings from the scenario (cluster.broker_config in the Config tab): dynamic broker configs are not simulated. Per-topic overrides are: --entity-type topics.\n",
        ),
        (other, _) => usage_error(&format!("Invalid entity type {other}, the entity type must be one of topics, brokers, users, clients, ips, broker-loggers, client-metrics, groups")),
    }
}

fn topic_overrides(sim: &Sim, topic: &str) -> Option<TopicConfig> {
    let tree = sim.zookeeper_tree()?;
    tree.get(&paths::topic(topic))?;
    Some(
        tree.get(&paths::topic_config(topic))
            .and_then(|n| zk_data::parse_topic_config(&n.data))
            .unwrap_or_default(),
    )
}

fn describe_topics(sim: &Sim, name: Option<&str>, all: bool) -> Output {
    let topics: Vec<String> = match name {
        Some(n) => vec![n.to_string()],
        None => sim.topics().keys().map(|t| t.to_string()).collect(),
    };
    let broker = properties(&sim.scenario().cluster.broker_config);
    let defaults = properties(&BrokerConfig::default());
    let mut out = Output::default();
    for topic in topics {
        let Some(config) = topic_overrides(sim, &topic) else {
            out.stderr.push_str(&format!("Error while executing config command with args: The topic '{topic}' does not exist.\n"));
            out.exit_code = 1;
            continue;
        };
        let overrides = properties(&config);
        out.stdout.push_str(&format!(
            "{} configs for topic {topic} are:\n",
            if all { "All" } else { "Dynamic" }
        ));
        for (name, broker_name) in TOPIC_TO_BROKER {
            let dynamic = overrides.get(*name).map(text);
            if dynamic.is_none() && !all {
                continue;
            }
            let default = defaults.get(*broker_name).map(text).unwrap_or_else(|| {
                // Not a broker setting kplay has: Kafka's fixed default.
                "86400000".to_string()
            });
            let static_value = broker.get(*broker_name).map(text).filter(|v| *v != default);
            let mut synonyms = Vec::new();
            if let Some(v) = &dynamic {
                synonyms.push(format!("DYNAMIC_TOPIC_CONFIG:{name}={v}"));
            }
            if let Some(v) = &static_value {
                synonyms.push(format!("STATIC_BROKER_CONFIG:{broker_name}={v}"));
            }
            synonyms.push(format!("DEFAULT_CONFIG:{broker_name}={default}"));
            let value = dynamic.or(static_value).unwrap_or(default);
            out.stdout.push_str(&format!(
                "  {name}={value} sensitive=false synonyms={{{}}}\n",
                synonyms.join(", ")
            ));
        }
    }
    out
}

fn describe_brokers(sim: &Sim, name: Option<&str>, all: bool) -> Output {
    let ids: Vec<String> = match name {
        Some(n) => {
            if n.parse::<u32>().is_err() {
                return Output::error(format!(
                    "The entity name for brokers must be a valid integer broker id, found: {n}\n"
                ));
            }
            vec![n.to_string()]
        }
        None => (1..=sim.scenario().cluster.brokers)
            .map(|b| b.to_string())
            .collect(),
    };
    let broker = properties(&sim.scenario().cluster.broker_config);
    let defaults = properties(&BrokerConfig::default());
    let mut out = String::new();
    for id in ids {
        out.push_str(&format!(
            "{} configs for broker {id} are:\n",
            if all { "All" } else { "Dynamic" }
        ));
        if !all {
            continue;
        }
        for (name, value) in &broker {
            let value = text(value);
            let default = defaults.get(name).map(text).unwrap_or_default();
            let synonyms = if value == default {
                format!("DEFAULT_CONFIG:{name}={default}")
            } else {
                format!("STATIC_BROKER_CONFIG:{name}={value}, DEFAULT_CONFIG:{name}={default}")
            };
            out.push_str(&format!(
                "  {name}={value} sensitive=false synonyms={{{synonyms}}}\n"
            ));
        }
    }
    if name.is_none() {
        out.push_str("Default configs for brokers in the cluster are:\n");
    }
    Output::out(out)
}

/// `k1=v1,k2=[a,b],k3=v3`: pairs split on commas outside square brackets.
fn split_configs(text: &str) -> Result<Vec<String>, String> {
    let mut pairs = Vec::new();
    let (mut current, mut depth) = (String::new(), 0i32);
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                pairs.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(format!("Invalid config list '{text}': unbalanced brackets"));
        }
        current.push(c);
    }
    if depth != 0 {
        return Err(format!("Invalid config list '{text}': unbalanced brackets"));
    }
    pairs.push(current);
    Ok(pairs.into_iter().filter(|p| !p.trim().is_empty()).collect())
}

fn alter_topic(shell: &mut Shell, sim: &mut Sim, o: &Parsed, topic: &str) -> Output {
    let Some(current) = topic_overrides(sim, topic) else {
        return Output::error(format!(
            "Error while executing config command with args: The topic '{topic}' does not exist.\n"
        ));
    };
    if !o.has("add-config") && !o.has("delete-config") {
        return usage_error(
            "At least one of --add-config or --delete-config must be specified with --alter",
        );
    }
    let mut adds = Vec::new();
    for list in o.values("add-config") {
        match split_configs(list) {
            Ok(pairs) => adds.extend(pairs),
            Err(e) => return usage_error(&e),
        }
    }
    if let Some(bad) = adds.iter().find(|p| !p.contains('=')) {
        return usage_error(&format!("Invalid entity config: all configs to be added must be in the format \"key=val\". Found: {bad}"));
    }
    let deletes: Vec<String> = o
        .values("delete-config")
        .iter()
        .flat_map(|d| d.split(','))
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    let mut overrides = properties(&current);
    let missing: Vec<&str> = deletes
        .iter()
        .filter(|d| !overrides.contains_key(d.as_str()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Output::error(format!(
            "Error while executing config command with args: Invalid config(s): {}\n",
            missing.join(",")
        ));
    }
    for d in &deletes {
        overrides.remove(d);
    }
    let base: TopicConfig = match serde_json::from_value(Value::Object(overrides)) {
        Ok(c) => c,
        Err(e) => return Output::error(format!("{e}\n")),
    };
    let modeled: Vec<&str> = TOPIC_TO_BROKER.iter().map(|(t, _)| *t).collect();
    let config = match args::apply_properties(&base, &adds, "topic", &modeled) {
        Ok(c) => c,
        Err(e) => {
            return Output::error(format!(
                "Error while executing config command with args: {e}\n"
            ))
        }
    };
    let wait = AdminWait::new(
        "AlterConfigs",
        topic,
        super::Answer::Config(Answer {
            entity: format!("topic {topic}"),
        }),
    );
    let command = Command::AlterTopicConfig {
        topic: topic.to_string(),
        config,
    };
    shell.send_admin(sim, command, wait)
}

/// What the tool prints when the change is done.
#[derive(Clone, Debug)]
pub(super) struct Answer {
    entity: String,
}

impl Answer {
    pub(super) fn render(&self, response: Option<&AdminResponse>) -> Output {
        match response.map(|r| r.error) {
            Some(None) => Output::out(format!("Completed updating config for {}.\n", self.entity)),
            Some(Some(e)) => Output::error(format!(
                "Error while executing config command with args: {}\n",
                super::exception_name(e)
            )),
            None => Output::error(format!(
                "Error while executing config command with args: {}\n",
                super::timed_out("AlterConfigs")
            )),
        }
    }
}
