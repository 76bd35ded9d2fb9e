//! `kafka-configs.sh`: describe topic and broker configs with their sources (Kafka's
//! `synonyms={DYNAMIC_TOPIC_CONFIG:…, DYNAMIC_BROKER_CONFIG:…, STATIC_BROKER_CONFIG:…,
//! DEFAULT_CONFIG:…}`), and alter a topic's overrides or a broker's dynamic settings (one
//! broker, or `--entity-default` for all) with `--add-config`/`--delete-config`; the brokers
//! apply them at once.

use super::args::{self, Opt, Parsed};
use super::{AdminWait, Output, Shell};
use crate::config::BrokerConfig;
use crate::sim::{AdminResponse, Sim};
use crate::Command;
use serde_json::{Map, Value};

pub(super) const OPTS: &[Opt] = &[
    Opt::with_arg("add-config", "String", "Key Value pairs of configs to add. Square brackets can be used to group values which contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'."),
    Opt::flag("all", "List all configs for the given topic or broker, including those not overridden (with --describe)."),
    Opt::flag("alter", "Alter the configuration for the entity."),
    Opt::with_arg("bootstrap-server", "String: server to connect to", "The Kafka server to connect to. This is required for describing and altering broker configs."),
    Opt::with_arg("broker", "String", "The broker's ID."),
    Opt::flag("broker-defaults", "The config defaults for all brokers."),
    Opt::with_arg("delete-config", "String", "config keys to remove 'k1,k2'"),
    Opt::flag("describe", "List configs for the given entity."),
    Opt::flag("entity-default", "Default entity name for brokers (applies to corresponding entity type)"),
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
    let default = o.has("entity-default") || o.has("broker-defaults");
    let (entity_type, name) = match (o.value("entity-type"), o.value("topic"), o.value("broker")) {
        (Some(t), None, None) if !o.has("broker-defaults") => {
            (t.to_string(), o.value("entity-name").map(str::to_string))
        }
        (None, Some(t), None) => ("topics".to_string(), Some(t.to_string())),
        (None, None, Some(b)) => ("brokers".to_string(), Some(b.to_string())),
        (None, None, None) if o.has("broker-defaults") => ("brokers".to_string(), None),
        (None, None, None) => return usage_error("At least one entity type must be specified"),
        _ => return usage_error("Only one entity type may be specified"),
    };
    if default && (entity_type != "brokers" || name.is_some()) {
        return usage_error("--entity-default applies to brokers, without --entity-name");
    }
    match (entity_type.as_str(), o.has("alter")) {
        ("topics", false) => describe_topics(sim, name.as_deref(), o.has("all")),
        ("topics", true) => match name {
            Some(topic) => alter_topic(shell, sim, &o, &topic),
            None => usage_error("An entity name must be specified with --alter of topics"),
        },
        ("brokers", false) if default => describe_broker_defaults(sim),
        ("brokers", false) => describe_brokers(sim, name.as_deref(), o.has("all")),
        ("brokers", true) => match (name, default) {
            (Some(n), _) => match n.parse::<u32>() {
                Ok(id) => alter_broker(shell, sim, &o, Some(id)),
                Err(_) => Output::error(format!("The entity name for brokers must be a valid integer broker id, found: {n}\n")),
            },
            (None, true) => alter_broker(shell, sim, &o, None),
            (None, false) => usage_error("An entity name must be specified with --alter of brokers"),
        },
        (other, _) => usage_error(&format!("Invalid entity type {other}, the entity type must be one of topics, brokers, users, clients, ips, broker-loggers, client-metrics, groups")),
    }
}

/// The dynamic broker settings kplay models.
const DYNAMIC_BROKER_CONFIGS: &[&str] = &[
    "log.cleanup.policy",
    "log.retention.bytes",
    "log.retention.ms",
    "log.roll.ms",
    "log.segment.bytes",
    "min.insync.replicas",
    "unclean.leader.election.enable",
];

/// Kafka's config sources, strongest first, as `ConfigHelper.configSynonyms` walks them.
const DYNAMIC_TOPIC: &str = "DYNAMIC_TOPIC_CONFIG";
const DYNAMIC_BROKER: &str = "DYNAMIC_BROKER_CONFIG";
const DYNAMIC_DEFAULT: &str = "DYNAMIC_DEFAULT_BROKER_CONFIG";
const STATIC: &str = "STATIC_BROKER_CONFIG";
const DEFAULT: &str = "DEFAULT_CONFIG";
const BROKER_SOURCES: [&str; 4] = [DYNAMIC_BROKER, DYNAMIC_DEFAULT, STATIC, DEFAULT];

/// Broker settings kplay keeps in milliseconds whose coarser synonyms Kafka lists too; the
/// `.ms` ones default to null, so `log.retention.hours=168` and `log.roll.hours=168` are what
/// a cluster without overrides runs on.
const HOUR_SYNONYMS: [&str; 3] = [
    "log.retention.hours",
    "log.retention.minutes",
    "log.roll.hours",
];

/// `DynamicBrokerConfig.brokerConfigSynonyms`: the names a broker setting goes by, strongest
/// first.
fn broker_synonyms(name: &str) -> Vec<&str> {
    match name {
        "log.roll.ms" | "log.roll.hours" => vec!["log.roll.ms", "log.roll.hours"],
        "log.retention.ms" | "log.retention.minutes" | "log.retention.hours" => vec![
            "log.retention.ms",
            "log.retention.minutes",
            "log.retention.hours",
        ],
        other => vec![other],
    }
}

/// Kafka 3.9's default for a broker setting, as `DEFAULT_CONFIG` reports it: none for those
/// whose default is null (`ConfigDef.convertToStringMapWithPasswordValues` drops them).
fn kafka_default(name: &str) -> Option<String> {
    match name {
        "log.retention.ms" | "log.retention.minutes" | "log.roll.ms" => None,
        "log.retention.hours" | "log.roll.hours" => Some("168".to_string()),
        "log.cleaner.delete.retention.ms" => Some("86400000".to_string()),
        _ => properties(&BrokerConfig::default()).get(name).map(text),
    }
}

/// What one source holds for a broker setting: `broker`'s own dynamic value (`None`: no
/// broker's), the dynamic cluster default, `server.properties` (the scenario's broker config
/// where it differs from the default), Kafka's default.
fn source_value(sim: &Sim, source: &str, broker: Option<u32>, name: &str) -> Option<String> {
    match source {
        DYNAMIC_BROKER => broker.and_then(|b| {
            properties(&sim.dynamic_broker_config(Some(b)))
                .get(name)
                .map(text)
        }),
        DYNAMIC_DEFAULT => properties(&sim.dynamic_broker_config(None))
            .get(name)
            .map(text),
        STATIC => {
            let configured = properties(&sim.scenario().cluster.broker_config)
                .get(name)
                .map(text);
            let default = properties(&BrokerConfig::default()).get(name).map(text);
            configured.filter(|v| Some(v) != default.as_ref())
        }
        _ => kafka_default(name),
    }
}

/// `ConfigHelper.configSynonyms`: each source's value of each of the setting's names (sources
/// strongest first, then names strongest first), dropping whatever comes before the first
/// entry for `name` itself, as Kafka does. So `log.retention.ms` with nothing set anywhere
/// has no synonyms at all: its default is null, and `DEFAULT_CONFIG:log.retention.hours=168`
/// comes before no `log.retention.ms` entry.
fn config_synonyms(sim: &Sim, broker: Option<u32>, name: &str) -> Vec<Synonym> {
    let names = broker_synonyms(name);
    let mut all = Vec::new();
    for source in BROKER_SOURCES {
        for n in &names {
            if let Some(v) = source_value(sim, source, broker, n) {
                all.push((source, n.to_string(), v));
            }
        }
    }
    let first = all
        .iter()
        .position(|(_, n, _)| n == name)
        .unwrap_or(all.len());
    all.split_off(first)
}

/// A synonym as `DescribeConfigs` reports it: (Kafka's `ConfigSource` name, the setting's
/// name in that source, its value there).
type Synonym = (&'static str, String, String);

/// One setting's line: `name=value sensitive=false synonyms={SOURCE:name=value, …}`.
fn entry_line(name: &str, value: &str, synonyms: &[Synonym]) -> String {
    let synonyms: Vec<String> = synonyms
        .iter()
        .map(|(source, key, v)| format!("{source}:{key}={v}"))
        .collect();
    format!(
        "  {name}={value} sensitive=false synonyms={{{}}}\n",
        synonyms.join(", ")
    )
}

/// A topic setting as `ConfigHelper.createTopicConfigEntry` reports it: the topic's override,
/// then the synonyms of the broker setting it falls back to (no broker's own dynamic values:
/// kplay answers as the cluster, not as one broker).
fn topic_entry(
    sim: &Sim,
    overrides: &Map<String, Value>,
    name: &'static str,
    broker_name: &str,
) -> ConfigEntry {
    let mut synonyms = config_synonyms(sim, None, broker_name);
    if let Some(v) = overrides.get(name) {
        synonyms.insert(0, (DYNAMIC_TOPIC, name.to_string(), text(v)));
    }
    let value = synonyms
        .first()
        .map(|(_, _, v)| v.clone())
        .unwrap_or_else(|| {
            // Nothing in any source under the setting's own name (retention.ms, segment.ms with
            // null defaults): the value the broker's config resolves to.
            let effective = sim
                .dynamic_broker_config(None)
                .apply(&sim.scenario().cluster.broker_config);
            properties(&effective)
                .get(broker_name)
                .map(text)
                .unwrap_or_default()
        });
    let source = synonyms.first().map_or(DEFAULT, |(s, _, _)| *s);
    let layers = if synonyms.is_empty() {
        vec![(source, name.to_string(), value.clone())]
    } else {
        synonyms.clone()
    };
    ConfigEntry {
        name,
        value,
        source,
        synonyms,
        layers,
    }
}

/// One topic setting as Kafka's `DescribeConfigs` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: &'static str,
    /// The value in force.
    pub value: String,
    /// Where it comes from (Kafka's `ConfigSource` name): the first synonym's source, or
    /// `DEFAULT_CONFIG` when there is none.
    pub source: &'static str,
    /// Kafka's synonyms, strongest first, as (source, the setting's name there, value); may be
    /// empty (`retention.ms` on a cluster without overrides: Kafka lists none).
    pub synonyms: Vec<Synonym>,
    /// The synonyms, or when there are none the value in force as one `(source, name, value)`
    /// layer: the first layer is always the value in force.
    pub layers: Vec<(&'static str, String, String)>,
}

/// Every topic setting kplay models, with its value and where it comes from; `None` for a
/// topic that does not exist.
pub fn topic_config_entries(sim: &Sim, topic: &str) -> Option<Vec<ConfigEntry>> {
    let overrides = properties(&sim.topic_overrides(topic)?);
    Some(
        TOPIC_TO_BROKER
            .iter()
            .map(|(name, broker_name)| topic_entry(sim, &overrides, name, broker_name))
            .collect(),
    )
}

/// A broker setting as `ConfigHelper.createBrokerConfigEntry` reports it for one broker: its
/// synonyms from every source, the value of the first (or `null`).
fn broker_entry(sim: &Sim, broker: u32, name: &str) -> (String, &'static str, Vec<Synonym>) {
    let synonyms = config_synonyms(sim, Some(broker), name);
    let value = synonyms
        .first()
        .map_or_else(|| "null".to_string(), |(_, _, v)| v.clone());
    let source = synonyms.first().map_or(DEFAULT, |(s, _, _)| *s);
    (value, source, synonyms)
}

fn describe_broker_defaults(sim: &Sim) -> Output {
    let mut out = String::from("Default configs for brokers in the cluster are:\n");
    for (name, value) in properties(&sim.dynamic_broker_config(None)) {
        out.push_str(&format!(
            "  {name}={} sensitive=false synonyms={{DYNAMIC_DEFAULT_BROKER_CONFIG:{name}={}}}\n",
            text(&value),
            text(&value)
        ));
    }
    Output::out(out)
}

fn alter_broker(shell: &mut Shell, sim: &mut Sim, o: &Parsed, broker: Option<u32>) -> Output {
    if broker.is_some_and(|b| !(1..=sim.scenario().cluster.brokers).contains(&b)) {
        return Output::error(format!(
            "Error while executing config command with args: broker {} is not in this cluster (brokers 1 to {})\n",
            broker.unwrap_or_default(),
            sim.scenario().cluster.brokers
        ));
    }
    let current = sim.dynamic_broker_config(broker);
    let config = match changed(o, &current, DYNAMIC_BROKER_CONFIGS, "broker") {
        Ok(c) => c,
        Err(e) => return e,
    };
    let (entity, done) = match broker {
        Some(b) => (
            format!("broker:{b}"),
            format!("Completed updating config for broker {b}.\n"),
        ),
        None => (
            "broker:<default>".to_string(),
            "Completed updating default config for brokers in the cluster.\n".to_string(),
        ),
    };
    let wait = AdminWait::new(
        "AlterConfigs",
        &entity,
        super::Answer::Config(Answer { done }),
    );
    shell.send_admin(sim, Command::AlterBrokerConfig { broker, config }, wait)
}

/// `current` with `--add-config` and `--delete-config` applied; Kafka's messages for names
/// that are not set (delete) or not known (add).
fn changed<T: serde::Serialize + serde::de::DeserializeOwned>(
    o: &Parsed,
    current: &T,
    modeled: &[&str],
    what: &str,
) -> Result<T, Output> {
    if !o.has("add-config") && !o.has("delete-config") {
        return Err(usage_error(
            "At least one of --add-config or --delete-config must be specified with --alter",
        ));
    }
    let mut adds = Vec::new();
    for list in o.values("add-config") {
        adds.extend(split_configs(list).map_err(|e| usage_error(&e))?);
    }
    if let Some(bad) = adds.iter().find(|p| !p.contains('=')) {
        return Err(usage_error(&format!("Invalid entity config: all configs to be added must be in the format \"key=val\". Found: {bad}")));
    }
    let deletes: Vec<String> = o
        .values("delete-config")
        .iter()
        .flat_map(|d| d.split(','))
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    let mut set = properties(current);
    let missing: Vec<&str> = deletes
        .iter()
        .filter(|d| !set.contains_key(d.as_str()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Output::error(format!(
            "Error while executing config command with args: Invalid config(s): {}\n",
            missing.join(",")
        )));
    }
    for d in &deletes {
        set.remove(d);
    }
    let base: T =
        serde_json::from_value(Value::Object(set)).map_err(|e| Output::error(format!("{e}\n")))?;
    args::apply_properties(&base, &adds, what, modeled).map_err(|e| {
        Output::error(format!(
            "Error while executing config command with args: {e}\n"
        ))
    })
}

fn describe_topics(sim: &Sim, name: Option<&str>, all: bool) -> Output {
    let topics: Vec<String> = match name {
        Some(n) => vec![n.to_string()],
        None => sim.topics().keys().map(|t| t.to_string()).collect(),
    };
    let mut out = Output::default();
    for topic in topics {
        let Some(config) = sim.topic_overrides(&topic) else {
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
            let e = topic_entry(sim, &overrides, name, broker_name);
            // Without --all, ConfigCommand keeps the entries whose source is the topic's own.
            if !all && e.source != DYNAMIC_TOPIC {
                continue;
            }
            out.stdout
                .push_str(&entry_line(name, &e.value, &e.synonyms));
        }
    }
    out
}

fn describe_brokers(sim: &Sim, name: Option<&str>, all: bool) -> Output {
    let ids: Vec<u32> = match name {
        Some(n) => match n.parse::<u32>() {
            Ok(id) => vec![id],
            Err(_) => {
                return Output::error(format!(
                    "The entity name for brokers must be a valid integer broker id, found: {n}\n"
                ))
            }
        },
        None => (1..=sim.scenario().cluster.brokers).collect(),
    };
    let names: Vec<String> = if all {
        let mut names: Vec<String> = properties(&sim.scenario().cluster.broker_config)
            .keys()
            .cloned()
            .chain(HOUR_SYNONYMS.iter().map(|n| n.to_string()))
            .collect();
        crate::sort::sort(&mut names);
        names
    } else {
        DYNAMIC_BROKER_CONFIGS
            .iter()
            .map(|n| n.to_string())
            .collect()
    };
    let mut out = String::new();
    for id in &ids {
        out.push_str(&format!(
            "{} configs for broker {id} are:\n",
            if all { "All" } else { "Dynamic" }
        ));
        for n in &names {
            let (value, source, synonyms) = broker_entry(sim, *id, n);
            // Without --all, ConfigCommand keeps this broker's own dynamic settings only
            // (`configSourceFilter`): the cluster-wide defaults are listed under the default
            // entity.
            if !all && source != DYNAMIC_BROKER {
                continue;
            }
            out.push_str(&entry_line(n, &value, &synonyms));
        }
    }
    if name.is_none() {
        out.push_str(&describe_broker_defaults(sim).stdout);
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
    let Some(current) = sim.topic_overrides(topic) else {
        return Output::error(format!(
            "Error while executing config command with args: The topic '{topic}' does not exist.\n"
        ));
    };
    let modeled: Vec<&str> = TOPIC_TO_BROKER.iter().map(|(t, _)| *t).collect();
    let config = match changed(o, &current, &modeled, "topic") {
        Ok(c) => c,
        Err(e) => return e,
    };
    let done = format!("Completed updating config for topic {topic}.\n");
    let wait = AdminWait::new(
        "AlterConfigs",
        topic,
        super::Answer::Config(Answer { done }),
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
    /// `Completed updating config for topic orders.` and the like.
    done: String,
}

impl Answer {
    pub(super) fn render(&self, response: Option<&AdminResponse>) -> Output {
        match response.map(|r| r.error) {
            Some(None) => Output::out(self.done.clone()),
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
