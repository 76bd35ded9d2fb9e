//! A scenario: everything needed to reproduce a run (cluster, topics, clients, scheduled
//! faults, seed). JSON on disk; every field has a default so older scenarios keep loading.

pub mod command;
pub(crate) mod tagged;
mod validate;

pub use validate::{valid_topic_name, ScenarioError, LIMITS};

use crate::config::{
    BrokerConfig, ConsumerConfig, KRaftConfig, ProducerConfig, TopicConfig, ZooKeeperConfig,
};
use crate::scenario::command::Command;
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub seed: u64,
    pub cluster: ClusterSpec,
    pub topics: Vec<TopicSpec>,
    pub producers: Vec<ProducerSpec>,
    pub consumers: Vec<ConsumerSpec>,
    /// Faults and actions at given simulated times.
    pub actions: Vec<ScheduledAction>,
    pub trace: TraceSpec,
    /// How long a run lasts unless told otherwise (`kplay run`, `kplay check`).
    pub duration_ms: u64,
    /// What this scenario teaches, step by step, when it is a lesson.
    pub lesson: Option<Lesson>,
}

/// A lesson: the text a learner follows, what to look at, and the question the run answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lesson {
    pub title: String,
    pub steps: Vec<LessonStep>,
    pub question: String,
    /// The answer, as the trace and Report prove it.
    pub answer: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LessonStep {
    pub text: String,
    /// Where to look in the playground (a panel, a broker, a partition).
    pub look_at: String,
    /// What a "try this" button does, if the step has one.
    pub action: Option<Command>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: String::new(),
            seed: 0,
            cluster: ClusterSpec::default(),
            topics: Vec::new(),
            producers: Vec::new(),
            consumers: Vec::new(),
            actions: Vec::new(),
            trace: TraceSpec::default(),
            duration_ms: 60_000,
            lesson: None,
        }
    }
}

/// Where the cluster keeps its metadata: ZooKeeper (Kafka 3.9 and before) or KRaft's
/// controller quorum (the only mode since Kafka 4.0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterMode {
    #[default]
    ZooKeeper,
    KRaft,
}

impl ClusterMode {
    pub fn is_kraft(self) -> bool {
        self == ClusterMode::KRaft
    }

    pub fn name(self) -> &'static str {
        match self {
            ClusterMode::ZooKeeper => "zookeeper",
            ClusterMode::KRaft => "kraft",
        }
    }

    /// `zookeeper` or `kraft`, as a scenario writes it.
    pub fn parse(s: &str) -> Result<ClusterMode, String> {
        match s {
            "zookeeper" => Ok(ClusterMode::ZooKeeper),
            "kraft" => Ok(ClusterMode::KRaft),
            _ => Err(format!(
                "'{s}' is not a cluster mode: use zookeeper or kraft"
            )),
        }
    }
}

impl Scenario {
    /// The same scenario in the other mode, everything else kept (`kplay run --mode`, the
    /// page's mode switch): KRaft drops the ZooKeeper ensemble, ZooKeeper mode the
    /// controllers. A scenario whose faults need ZooKeeper cannot run in KRaft mode: the
    /// error says which.
    pub fn with_mode(mut self, mode: ClusterMode) -> Result<Scenario, ScenarioError> {
        if self.cluster.mode == mode {
            return Ok(self);
        }
        let defaults = ClusterSpec::default();
        let before = self.cluster.control_nodes();
        self.cluster.mode = mode;
        match mode {
            ClusterMode::KRaft => {
                self.cluster.zookeepers = defaults.zookeepers;
                self.cluster.zookeeper_config = defaults.zookeeper_config;
            }
            ClusterMode::ZooKeeper => {
                self.cluster.controllers = defaults.controllers;
                self.cluster.combined = defaults.combined;
                self.cluster.kraft_config = defaults.kraft_config;
            }
        }
        // Links to the control plane stay links to the control plane: a broker cut from
        // ZooKeeper is cut from the controllers, and the other way round.
        let after = self.cluster.control_nodes();
        let translate = |command: &mut Command| {
            if let Command::CutLinks { between, and, .. }
            | Command::HealLinks { between, and }
            | Command::SlowLinks { between, and, .. } = command
            {
                for nodes in [between, and] {
                    if nodes.iter().any(|n| before.contains(n)) {
                        nodes.retain(|n| !before.contains(n));
                        for n in &after {
                            if !nodes.contains(n) {
                                nodes.push(*n);
                            }
                        }
                    }
                }
            }
        };
        for action in &mut self.actions {
            translate(&mut action.command);
        }
        if let Some(lesson) = &mut self.lesson {
            for step in &mut lesson.steps {
                if let Some(action) = &mut step.action {
                    translate(action);
                }
            }
        }
        self.validate()?;
        Ok(self)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSpec {
    /// `"zookeeper"` (the default) or `"kraft"`. Written only when KRaft, so ZooKeeper-mode
    /// scenarios and share links read as they always did.
    #[serde(skip_serializing_if = "is_default")]
    pub mode: ClusterMode,
    pub brokers: u32,
    /// ZooKeeper servers (ZooKeeper mode only).
    pub zookeepers: u32,
    /// KRaft mode: the controller quorum's voters, 1–7. Separate nodes `node.id` 3000, 3001,
    /// …, or with `combined` brokers 1..N with `process.roles=broker,controller`.
    #[serde(skip_serializing_if = "is_default_controllers")]
    pub controllers: u32,
    #[serde(skip_serializing_if = "is_default")]
    pub combined: bool,
    /// One-way network latency between any two nodes.
    pub latency_us: u64,
    /// Each message's latency varies by up to this much either way.
    pub jitter_us: u64,
    pub broker_config: BrokerConfig,
    pub zookeeper_config: ZooKeeperConfig,
    #[serde(skip_serializing_if = "is_default")]
    pub kraft_config: KRaftConfig,
}

/// How many controllers a KRaft cluster has unless told.
pub const DEFAULT_CONTROLLERS: u32 = 3;

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
fn is_default_controllers(n: &u32) -> bool {
    *n == DEFAULT_CONTROLLERS
}

impl ClusterSpec {
    /// The nodes of the control plane's own quorum: ZooKeeper servers, or KRaft's
    /// controllers (brokers 1..N in combined mode).
    pub fn control_nodes(&self) -> Vec<crate::ids::NodeId> {
        use crate::ids::NodeId;
        match (self.mode, self.combined) {
            (ClusterMode::ZooKeeper, _) => (1..=self.zookeepers).map(NodeId::ZooKeeper).collect(),
            (ClusterMode::KRaft, true) => self
                .controller_ids()
                .into_iter()
                .map(NodeId::broker)
                .collect(),
            (ClusterMode::KRaft, false) => self
                .controller_ids()
                .into_iter()
                .map(NodeId::Controller)
                .collect(),
        }
    }

    /// The quorum's voters' `node.id`s.
    pub fn controller_ids(&self) -> Vec<u32> {
        if !self.mode.is_kraft() {
            return Vec::new();
        }
        let base = if self.combined {
            1
        } else {
            crate::ids::CONTROLLER_ID_BASE
        };
        (base..base + self.controllers).collect()
    }
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            mode: ClusterMode::ZooKeeper,
            brokers: 3,
            zookeepers: 3,
            controllers: DEFAULT_CONTROLLERS,
            combined: false,
            kraft_config: KRaftConfig::default(),
            latency_us: 1_000,
            jitter_us: 200,
            broker_config: BrokerConfig::default(),
            zookeeper_config: ZooKeeperConfig::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u32,
    pub config: TopicConfig,
}

impl Default for TopicSpec {
    fn default() -> Self {
        TopicSpec {
            name: String::new(),
            partitions: 1,
            replication_factor: 1,
            config: TopicConfig::default(),
        }
    }
}

/// Which keys a producer's records carry: an object tagged by `kind`
/// (`{"kind": "random", "count": 8}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeySpec {
    /// Null keys: the null-key partitioner spreads them.
    #[default]
    None,
    /// `key-0` … `key-{count-1}`, picked at random.
    Random { count: u32 },
    /// `key-0` … `key-{count-1}` in turn.
    Sequential { count: u32 },
    /// These keys, picked at random.
    Fixed { keys: Vec<String> },
}

impl<'de> Deserialize<'de> for KeySpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeySpec, D::Error> {
        tagged::deserialize(deserializer, "kind", |mut f| {
            let keys = match f.tag() {
                "none" => KeySpec::None,
                "random" => KeySpec::Random {
                    count: f.required("count")?,
                },
                "sequential" => KeySpec::Sequential {
                    count: f.required("count")?,
                },
                "fixed" => KeySpec::Fixed {
                    keys: f.required("keys")?,
                },
                _ => return Err(f.unknown(&["none", "random", "sequential", "fixed"])),
            };
            f.finish()?;
            Ok(keys)
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerSpec {
    pub topic: String,
    pub rate_per_sec: f64,
    pub keys: KeySpec,
    pub value_bytes: u32,
    pub start_ms: u64,
    pub stop_ms: Option<u64>,
    pub max_records: Option<u64>,
    pub config: ProducerConfig,
}

impl Default for ProducerSpec {
    fn default() -> Self {
        ProducerSpec {
            topic: String::new(),
            rate_per_sec: 10.0,
            keys: KeySpec::None,
            value_bytes: 100,
            start_ms: 0,
            stop_ms: None,
            max_records: None,
            config: ProducerConfig::default(),
        }
    }
}

/// A consumer application: what it reads, how long each record takes, and when it commits.
/// With `group.id` set in `config` it is a member of that group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerSpec {
    pub topic: String,
    pub start_ms: u64,
    /// Time the application spends processing each record, in microseconds.
    pub processing_us: u64,
    pub commit: CommitMode,
    /// With `commit: transactional`: the topic the application writes its results to.
    pub output_topic: Option<String>,
    /// With `commit: transactional`: `transaction.timeout.ms` of its producer.
    pub transaction_timeout_ms: u64,
    pub config: ConsumerConfig,
}

impl Default for ConsumerSpec {
    fn default() -> Self {
        ConsumerSpec {
            topic: String::new(),
            start_ms: 0,
            processing_us: 0,
            commit: CommitMode::Auto,
            output_topic: None,
            transaction_timeout_ms: 60_000,
            config: ConsumerConfig::default(),
        }
    }
}

/// When the application commits its position: the delivery guarantee it gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitMode {
    /// `enable.auto.commit`: poll() commits what earlier polls returned, every
    /// `auto.commit.interval.ms` (at-least-once, as the application processes between polls).
    #[default]
    Auto,
    /// commitSync right after poll, then process: at-most-once (a crash loses records).
    BeforeProcessing,
    /// Process, then commitSync: at-least-once (a crash re-delivers records).
    AfterProcessing,
    /// Process, then commitAsync without waiting: at-least-once, faster, and a failed
    /// commit is not retried (the next one covers it).
    AfterProcessingAsync,
    /// Exactly-once consume-transform-produce: each batch's outputs (to `output_topic`) and
    /// input offsets commit in one transaction; the application reads `read_committed`.
    Transactional,
}

/// Where a consumer application can be made to crash (`crash_consumer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashPoint {
    /// At once.
    #[default]
    Now,
    /// Records received (and, at-most-once, committed) but not processed.
    BeforeProcess,
    /// Records processed but their offsets not yet committed.
    BeforeCommit,
}

/// A command at a simulated time: `{"at_ms": 5000, "action": "kill_broker", "broker": 1}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScheduledAction {
    pub at_ms: u64,
    #[serde(flatten)]
    pub command: Command,
}

impl<'de> Deserialize<'de> for ScheduledAction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ScheduledAction, D::Error> {
        tagged::deserialize(deserializer, "action", |mut f| {
            let at_ms = f.required("at_ms")?;
            let command = Command::from_fields(f)?;
            Ok(ScheduledAction { at_ms, command })
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TraceSpec {
    /// Record every network message (what the UI animates). Off for raw throughput runs.
    pub messages: bool,
    /// How many recent events to keep in memory; the hash still covers all of them.
    pub window: usize,
}

impl Default for TraceSpec {
    fn default() -> Self {
        TraceSpec {
            messages: true,
            window: 200_000,
        }
    }
}

impl Scenario {
    /// Parses and validates a scenario from JSON.
    pub fn from_json(json: &str) -> Result<Scenario, ScenarioError> {
        if json.len() > LIMITS.json_bytes {
            return Err(ScenarioError::TooLarge {
                bytes: json.len(),
                max: LIMITS.json_bytes,
            });
        }
        let scenario: Scenario =
            serde_json::from_str(json).map_err(|e| ScenarioError::Json(e.to_string()))?;
        scenario.validate()?;
        Ok(scenario)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
