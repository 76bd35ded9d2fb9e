//! `kafka-topics.sh`: list, describe, create, alter (partition count) and delete topics, with
//! Kafka 3.9's options, checks, messages and `--describe` format.

use super::args::{self, Opt, Parsed};
use super::{AdminWait, Output, Shell};
use crate::config::TopicConfig;
use crate::controller::zk_data;
use crate::ids::BrokerId;
use crate::scenario::valid_topic_name;
use crate::sim::AdminResponse;
use crate::sim::Sim;
use crate::vec_map::VecMap;
use crate::zookeeper::paths;
use crate::Command;

pub(super) const OPTS: &[Opt] = &[
    Opt::flag("alter", "Alter the number of partitions and replica assignment. (To alter topic configurations, the kafka-configs tool can be used.)"),
    Opt::flag("at-min-isr-partitions", "If set when describing topics, only show partitions whose isr count is equal to the configured minimum."),
    Opt::with_arg("bootstrap-server", "String: server to connect to", "REQUIRED: The Kafka server to connect to."),
    Opt::with_arg("config", "String: name=value", "A topic configuration override for the topic being created. It is supported only in combination with --create."),
    Opt::flag("create", "Create a new topic."),
    Opt::flag("delete", "Delete a topic."),
    Opt::flag("describe", "List details for the given topics."),
    Opt::flag("exclude-internal", "Exclude internal topics when listing or describing topics. By default, the internal topics are included."),
    Opt::flag("help", "Print usage information."),
    Opt::flag("if-exists", "If set when altering or deleting or describing topics, the action will only execute if the topic exists."),
    Opt::flag("if-not-exists", "If set when creating topics, the action will only execute if the topic does not already exist."),
    Opt::flag("list", "List all available topics."),
    Opt::with_arg("partitions", "Integer: # of partitions", "The number of partitions for the topic being created or altered. If not supplied with --create, the topic uses the cluster default. (WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering of the messages will be affected)."),
    Opt::with_arg("replication-factor", "Integer: replication factor", "The replication factor for each partition in the topic being created. If not supplied, the topic uses the cluster default."),
    Opt::flag("topics-with-overrides", "If set when describing topics, only show topics that have overridden configs."),
    Opt::with_arg("topic", "String: topic", "The topic to create, alter, describe or delete. When listing or describing, a comma-separated list of names; a name ending in .* matches every topic it starts."),
    Opt::flag("unavailable-partitions", "If set when describing topics, only show partitions whose leader is not available."),
    Opt::flag("under-min-isr-partitions", "If set when describing topics, only show partitions whose isr count is less than the configured minimum."),
    Opt::flag("under-replicated-partitions", "If set when describing topics, only show under-replicated partitions."),
];

const ACTIONS: [&str; 5] = ["create", "list", "alter", "describe", "delete"];
const REPORTS: [&str; 4] = [
    "under-replicated-partitions",
    "unavailable-partitions",
    "under-min-isr-partitions",
    "at-min-isr-partitions",
];
const ERROR_PREFIX: &str = "Error while executing topic command : ";

/// The usage error Kafka prints (`CommandLineUtils.printUsageAndExit`): the message, then help.
fn usage_error(message: &str) -> Output {
    Output::error(format!("{message}\n{}", help()))
}

fn help() -> String {
    args::help(
        "This tool helps to create, delete, describe, or change a topic.",
        OPTS,
    )
}

fn failed(message: impl std::fmt::Display) -> Output {
    Output {
        stdout: format!("{ERROR_PREFIX}{message}\n"),
        exit_code: 1,
        ..Output::default()
    }
}

pub fn run(shell: &mut Shell, sim: &mut Sim, argv: &[String]) -> Output {
    if argv.is_empty() {
        return usage_error("Create, delete, describe, or change a topic.");
    }
    let o = match args::parse(OPTS, argv) {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    if o.has("help") {
        return Output::out(help());
    }
    if let Err(e) = check_args(&o) {
        return e;
    }
    let cluster = Cluster::read(sim);
    if cluster.registered.is_empty() {
        // The admin client finds no broker to ask (kplay answers at once; the real tool
        // waits default.api.timeout.ms first).
        let call = if o.has("create") {
            "createTopics"
        } else {
            "listTopics"
        };
        return failed(format!(
            "Timed out waiting for a node assignment. Call: {call}"
        ));
    }
    if o.has("list") {
        let names = cluster.matching(o.value("topic"), o.has("exclude-internal"));
        return Output::out(names.iter().map(|n| format!("{n}\n")).collect::<String>());
    }
    if o.has("describe") {
        return describe(&cluster, &o);
    }
    let Some(topic) = o.value("topic").map(str::to_string) else {
        return usage_error("Missing required argument \"[topic]\"");
    };
    if o.has("create") {
        create(shell, sim, &cluster, &o, topic)
    } else if o.has("alter") {
        alter(shell, sim, &cluster, &o, topic)
    } else {
        delete(shell, sim, &cluster, &o, topic)
    }
}

/// TopicCommandOptions.checkArgs: one action, the bootstrap server, options only where they
/// mean something.
fn check_args(o: &Parsed) -> Result<(), Output> {
    let actions = ACTIONS.iter().filter(|a| o.has(a)).count();
    if actions != 1 {
        return Err(usage_error("Command must include exactly one action: --list, --describe, --create, --alter or --delete"));
    }
    if !o.has("bootstrap-server") {
        return Err(Output::error("--bootstrap-server must be specified\n"));
    }
    if o.has("alter") && !o.has("partitions") {
        if o.has("config") {
            return Err(usage_error("Option combination \"[alter],[config]\" can't be used with option \"[alter]\" (To alter topic configurations, the kafka-configs tool can be used.)"));
        }
        return Err(usage_error("Missing required argument \"[partitions]\""));
    }
    let only = |option: &str, allowed: &[&str]| -> Result<(), Output> {
        if !o.has(option) {
            return Ok(());
        }
        match ACTIONS.iter().find(|a| o.has(a) && !allowed.contains(a)) {
            Some(bad) => Err(usage_error(&format!(
                "Option \"[{option}]\" can't be used with option \"[{bad}]\""
            ))),
            None => Ok(()),
        }
    };
    only("config", &["alter", "create"])?;
    only("partitions", &["alter", "create"])?;
    only("replication-factor", &["create"])?;
    for report in REPORTS {
        only(report, &["describe"])?;
        if o.has(report) && o.has("topics-with-overrides") {
            return Err(usage_error(&format!(
                "Option \"[{report}]\" can't be used with option \"[topics-with-overrides]\""
            )));
        }
    }
    only("topics-with-overrides", &["describe"])?;
    only("if-exists", &["alter", "delete", "describe"])?;
    only("if-not-exists", &["create"])?;
    only("exclude-internal", &["list", "describe"])?;
    Ok(())
}

/// What the admin client learns from the cluster's metadata: topics, their assignments,
/// partition states and configs, and the registered (live) brokers.
struct Cluster {
    topics: VecMap<String, TopicState>,
    registered: Vec<BrokerId>,
    default_min_isr: u32,
    /// Read from KRaft's metadata image (which knows ELR) rather than ZooKeeper.
    kraft: bool,
}

struct TopicState {
    /// Kafka's topic id: kplay derives it from the topic znode's creation, so a topic deleted
    /// and created again gets a new one, as in Kafka.
    id: String,
    partitions: VecMap<u32, PartitionState>,
    config: TopicConfig,
}

struct PartitionState {
    replicas: Vec<BrokerId>,
    leader: Option<BrokerId>,
    isr: Vec<BrokerId>,
    elr: Vec<BrokerId>,
    last_known_elr: Vec<BrokerId>,
}

impl Cluster {
    fn read(sim: &Sim) -> Cluster {
        let mut cluster = Cluster {
            topics: VecMap::new(),
            registered: Vec::new(),
            default_min_isr: sim.scenario().cluster.broker_config.min_insync_replicas,
            kraft: false,
        };
        if sim.scenario().cluster.mode.is_kraft() {
            cluster.kraft = true;
            if let Some(image) = sim.metadata_image() {
                cluster.read_image(image);
            }
            return cluster;
        }
        let Some(tree) = sim.zookeeper_tree() else {
            return cluster;
        };
        cluster.registered = tree
            .children(paths::BROKER_IDS)
            .iter()
            .filter_map(|id| id.parse().ok().map(BrokerId))
            .collect();
        for name in tree.children(paths::BROKER_TOPICS) {
            let Some(node) = tree.get(&paths::topic(&name)) else {
                continue;
            };
            let assignment = zk_data::parse_topic_assignment(&node.data).unwrap_or_default();
            let partitions = assignment
                .into_iter()
                .map(|(p, replicas)| {
                    let (leader, _, isr) = sim.partition_state(&name, p).unwrap_or_default();
                    (
                        p,
                        PartitionState {
                            replicas,
                            leader,
                            isr,
                            elr: Vec::new(),
                            last_known_elr: Vec::new(),
                        },
                    )
                })
                .collect();
            let config = sim.topic_overrides(&name).unwrap_or_default();
            // The id the znode holds, or the one zookeeper-shell shows it with.
            let id = zk_data::parse_topic_id(&node.data)
                .unwrap_or_else(|| zk_data::topic_id(&name, node.stat.czxid));
            cluster.topics.insert(
                name,
                TopicState {
                    id,
                    partitions,
                    config,
                },
            );
        }
        cluster
    }

    /// What the brokers' metadata (the committed image) says: unfenced brokers are the live
    /// ones; topics carry their ids and ELRs.
    fn read_image(&mut self, image: &crate::kraft::image::MetadataImage) {
        let ids = |v: &[u32]| v.iter().copied().map(BrokerId).collect::<Vec<_>>();
        self.registered = image.unfenced_brokers();
        for topic in image.topics.values() {
            let partitions = topic
                .partitions
                .iter()
                .map(|(p, r)| {
                    let state = PartitionState {
                        replicas: ids(&r.replicas),
                        leader: r.leader(),
                        isr: ids(&r.isr),
                        elr: ids(&r.elr),
                        last_known_elr: ids(&r.last_known_elr),
                    };
                    (*p, state)
                })
                .collect();
            self.topics.insert(
                topic.name.to_string(),
                TopicState {
                    id: crate::kraft::image::topic_id_text(topic.id),
                    partitions,
                    config: image.topic_config(&topic.name),
                },
            );
        }
    }

    /// Topic names for `--topic` (a comma-separated list; `prefix.*` matches a prefix), sorted;
    /// internal topics (`__…`) unless excluded.
    fn matching(&self, filter: Option<&str>, exclude_internal: bool) -> Vec<String> {
        self.topics
            .keys()
            .filter(|t| !(exclude_internal && t.starts_with("__")))
            .filter(|t| {
                filter.is_none_or(|f| {
                    f.split([',', '|']).map(str::trim).any(|pattern| {
                        match pattern.strip_suffix(".*") {
                            Some(prefix) => t.starts_with(prefix),
                            None => pattern == t.as_str(),
                        }
                    })
                })
            })
            .cloned()
            .collect()
    }
}

fn ids(list: &[BrokerId]) -> String {
    list.iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn describe(cluster: &Cluster, o: &Parsed) -> Output {
    let names = cluster.matching(o.value("topic"), o.has("exclude-internal"));
    if let (Some(requested), true) = (o.value("topic"), names.is_empty()) {
        if !o.has("if-exists") {
            return missing(o, requested);
        }
    }
    let reports: Vec<&str> = REPORTS.iter().copied().filter(|r| o.has(r)).collect();
    let with_overrides = o.has("topics-with-overrides");
    let mut out = String::new();
    for name in names {
        let topic = &cluster.topics[&name];
        let configs = crate::config::overrides_text(&topic.config);
        let min_isr = topic
            .config
            .min_insync_replicas
            .unwrap_or(cluster.default_min_isr) as usize;
        if reports.is_empty() && (!with_overrides || !configs.is_empty()) {
            let rf = topic
                .partitions
                .values()
                .next()
                .map_or(0, |p| p.replicas.len());
            out.push_str(&format!(
                "Topic: {name}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: {rf}\tConfigs: {}\n",
                topic.id,
                topic.partitions.len(),
                configs
            ));
        }
        if with_overrides {
            continue;
        }
        for (p, state) in &topic.partitions {
            let leader = state.leader.filter(|l| cluster.registered.contains(l));
            let shown = reports.is_empty()
                || reports.iter().any(|r| match *r {
                    "under-replicated-partitions" => state.isr.len() < state.replicas.len(),
                    "unavailable-partitions" => leader.is_none(),
                    "under-min-isr-partitions" => leader.is_none() || state.isr.len() < min_isr,
                    _ => state.isr.len() == min_isr,
                });
            if shown {
                // ZooKeeper-mode brokers lack DescribeTopicPartitions: the tool falls back to
                // Metadata and prints N/A; KRaft's answer carries the (maybe empty) ELRs.
                let (elr, last_known_elr) = if cluster.kraft {
                    (ids(&state.elr), ids(&state.last_known_elr))
                } else {
                    ("N/A".to_string(), "N/A".to_string())
                };
                out.push_str(&format!(
                    "\tTopic: {name}\tPartition: {p}\tLeader: {}\tReplicas: {}\tIsr: {}\tElr: {elr}\tLastKnownElr: {last_known_elr}\n",
                    leader.map_or("none".to_string(), |l| l.to_string()),
                    ids(&state.replicas),
                    ids(&state.isr)
                ));
            }
        }
    }
    Output::out(out)
}

/// The topic configs kplay models (`--config`).
pub const TOPIC_CONFIGS: &[&str] = &[
    "cleanup.policy",
    "delete.retention.ms",
    "min.insync.replicas",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.ms",
    "unclean.leader.election.enable",
];

/// `--config k=v` pairs as the topic's overrides; unknown names get Kafka's message.
pub fn parse_configs(pairs: &[String]) -> Result<TopicConfig, String> {
    if pairs.iter().any(|p| !p.contains('=')) {
        return Err("requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".".into());
    }
    args::apply_properties(&TopicConfig::default(), pairs, "topic", TOPIC_CONFIGS)
}

fn number(o: &Parsed, name: &str) -> Result<Option<i64>, Output> {
    o.int(name).map_err(|e| usage_error(&e))
}

fn create(
    shell: &mut Shell,
    sim: &mut Sim,
    cluster: &Cluster,
    o: &Parsed,
    topic: String,
) -> Output {
    let defaults = &sim.scenario().cluster.broker_config;
    let (partitions, rf) = match (number(o, "partitions"), number(o, "replication-factor")) {
        (Ok(p), Ok(r)) => (p, r),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    if rf.is_some_and(|r| !(1..=i16::MAX as i64).contains(&r)) {
        return failed("The replication factor must be between 1 and 32767 inclusive");
    }
    if partitions.is_some_and(|p| p < 1) {
        return failed("The partitions must be greater than 0");
    }
    let partitions = partitions.map_or(defaults.num_partitions, |p| p as u32);
    let rf = rf.map_or(defaults.default_replication_factor, |r| r as u32);
    let config = match parse_configs(o.values("config")) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let mut out = Output::default();
    // Kafka's Topic.hasCollisionChars: metric names turn '.' into '_'.
    if topic.contains(['.', '_']) {
        out.stdout.push_str("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.\n");
    }
    if !valid_topic_name(&topic) {
        out.append(failed(format!(
            "Topic name \"{topic}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        )));
        return out;
    }
    // The controller's answers, given at once where the metadata already decides them.
    if cluster.topics.contains_key(&topic) {
        if !o.has("if-not-exists") {
            out.append(failed(format!("Topic '{topic}' already exists.")));
        }
        return out;
    }
    if rf as usize > cluster.registered.len() {
        out.append(failed(format!(
            "Replication factor: {rf} larger than available brokers: {}.",
            cluster.registered.len()
        )));
        return out;
    }
    let wait = AdminWait::new(
        "CreateTopics",
        &topic,
        super::Answer::Topic(Answer {
            on_success: format!("Created topic {topic}.\n"),
            if_not_exists: o.has("if-not-exists"),
        }),
    );
    let command = Command::CreateTopic {
        name: topic,
        partitions,
        replication_factor: rf,
        config,
    };
    out.append(shell.send_admin(sim, command, wait));
    out
}

/// A topic that is not there: nothing with `--if-exists`, else Kafka's error (which formats
/// the `Optional` itself into the message).
fn missing(o: &Parsed, topic: &str) -> Output {
    if o.has("if-exists") {
        Output::default()
    } else {
        failed(format!(
            "Topic 'Optional[{topic}]' does not exist as expected"
        ))
    }
}

fn alter(shell: &mut Shell, sim: &mut Sim, cluster: &Cluster, o: &Parsed, topic: String) -> Output {
    let Some(current) = cluster.topics.get(&topic) else {
        return missing(o, &topic);
    };
    let partitions = match number(o, "partitions") {
        Ok(Some(p)) => p,
        Ok(None) => return usage_error("Missing required argument \"[partitions]\""),
        Err(e) => return e,
    };
    let count = current.partitions.len() as i64;
    if partitions <= count {
        return failed(format!(
            "Topic currently has {count} partitions, which is higher than the requested {partitions}."
        ));
    }
    let wait = AdminWait::new(
        "CreatePartitions",
        &topic,
        super::Answer::Topic(Answer::quiet()),
    );
    let command = Command::AddPartitions {
        topic,
        partitions: partitions as u32,
    };
    shell.send_admin(sim, command, wait)
}

fn delete(
    shell: &mut Shell,
    sim: &mut Sim,
    cluster: &Cluster,
    o: &Parsed,
    topic: String,
) -> Output {
    if !cluster.topics.contains_key(&topic) {
        return missing(o, &topic);
    }
    if topic.starts_with("__") {
        return failed(format!(
            "Topic {topic} is a kafka internal topic and is not allowed to be marked for deletion."
        ));
    }
    let wait = AdminWait::new(
        "DeleteTopics",
        &topic,
        super::Answer::Topic(Answer::quiet()),
    );
    shell.send_admin(sim, Command::DeleteTopic { topic }, wait)
}

/// What `kafka-topics.sh` prints when the controller answers.
#[derive(Clone, Debug)]
pub(super) struct Answer {
    /// Printed when the controller says yes.
    on_success: String,
    /// `--if-not-exists`: an existing topic is not an error.
    if_not_exists: bool,
}

impl Answer {
    /// Alter and delete print nothing on success.
    fn quiet() -> Answer {
        Answer {
            on_success: String::new(),
            if_not_exists: false,
        }
    }

    pub(super) fn render(
        &self,
        topic: &str,
        api: &str,
        response: Option<&AdminResponse>,
    ) -> Output {
        use crate::protocol::ErrorCode as E;
        let Some(response) = response else {
            return failed(super::timed_out(api));
        };
        let message = match response.error {
            None => return Output::out(self.on_success.clone()),
            Some(E::TopicAlreadyExists) if self.if_not_exists => return Output::default(),
            Some(E::TopicAlreadyExists) => format!("Topic '{topic}' already exists."),
            Some(E::UnknownTopicOrPartition) => {
                "This server does not host this topic-partition.".to_string()
            }
            Some(E::InvalidReplicationFactor) => {
                "Replication factor is larger than the number of available brokers.".to_string()
            }
            Some(E::InvalidPartitions) => format!(
                "Topic '{topic}': the partition count can only be increased, and only up to kplay's limit."
            ),
            Some(E::InvalidTopicException) => format!("Topic name '{topic}' is illegal."),
            Some(E::NotController) => {
                "This is not the correct controller for this cluster.".to_string()
            }
            Some(other) => super::exception_name(other),
        };
        failed(message)
    }
}
