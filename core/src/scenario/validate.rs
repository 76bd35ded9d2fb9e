//! Scenario validation: every value a user (or a share URL) can set is checked against a
//! range that keeps a browser tab responsive, with an error that names the field.

use super::{ClusterSpec, ConsumerSpec, KeySpec, ProducerSpec, Scenario};
use crate::config::TopicConfig;
use crate::scenario::command::Command;
use crate::vec_map::VecSet;
use thiserror::Error;

/// The limits, in one place.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub brokers: u32,
    pub zookeepers: u32,
    pub controllers: u32,
    pub partitions: u32,
    pub topics: usize,
    pub producers: usize,
    pub consumers: usize,
    pub actions: usize,
    pub rate_per_sec: f64,
    pub value_bytes: u32,
    pub keys: u32,
    pub latency_us: u64,
    pub topic_name_chars: usize,
    pub json_bytes: usize,
    /// A run's length: 30 simulated days.
    pub duration_ms: u64,
    pub lesson_steps: usize,
    /// Any one text: a name, a lesson's title, step, question or answer.
    pub text_chars: usize,
}

pub const LIMITS: Limits = Limits {
    brokers: 9,
    zookeepers: 7,
    controllers: 7,
    partitions: 64,
    topics: 32,
    producers: 32,
    consumers: 32,
    actions: 1_000,
    rate_per_sec: 100_000_000.0,
    value_bytes: 65_536,
    keys: 10_000,
    latency_us: 10_000_000,
    topic_name_chars: 249,
    json_bytes: 1 << 20,
    duration_ms: 30 * 86_400_000,
    lesson_steps: 20,
    text_chars: 4_000,
};

#[derive(Clone, Debug, PartialEq, Error)]
pub enum ScenarioError {
    #[error("invalid scenario JSON: {0}")]
    Json(String),
    #[error("scenario is {bytes} bytes; at most {max} are allowed")]
    TooLarge { bytes: usize, max: usize },
    #[error("{field} is {value}; allowed: {allowed}")]
    OutOfRange {
        field: String,
        value: String,
        allowed: String,
    },
    #[error("{what} names topic '{topic}', which the scenario does not define")]
    UnknownTopic { what: String, topic: String },
    #[error("topic '{0}' is defined twice")]
    DuplicateTopic(String),
    #[error("topic name '{0}' is invalid: use 1-249 of a-z A-Z 0-9 . _ - (and not '.' or '..')")]
    InvalidTopicName(String),
    #[error("topic '{topic}' has replication factor {replication_factor} but the cluster has only {brokers} brokers")]
    ReplicationFactorTooLarge {
        topic: String,
        replication_factor: u32,
        brokers: u32,
    },
    #[error("{what} names {node}, which the cluster does not have")]
    UnknownNode { what: String, node: String },
    #[error("{what}: {problem}")]
    Invalid { what: String, problem: String },
}

fn range<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> Result<(), ScenarioError> {
    if value < min || value > max {
        return Err(ScenarioError::OutOfRange {
            field: field.to_string(),
            value: value.to_string(),
            allowed: format!("{min} to {max}"),
        });
    }
    Ok(())
}

pub fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= LIMITS.topic_name_chars
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Scenario {
    pub fn validate(&self) -> Result<(), ScenarioError> {
        range("duration_ms", self.duration_ms, 1, LIMITS.duration_ms)?;
        range("name length", self.name.len(), 0, LIMITS.text_chars)?;
        if let Some(lesson) = &self.lesson {
            range("lesson.steps", lesson.steps.len(), 0, LIMITS.lesson_steps)?;
            for (field, text) in [
                ("lesson.title", &lesson.title),
                ("lesson.question", &lesson.question),
                ("lesson.answer", &lesson.answer),
            ] {
                range(&format!("{field} length"), text.len(), 0, LIMITS.text_chars)?;
            }
            for (i, step) in lesson.steps.iter().enumerate() {
                let what = format!("lesson.steps[{i}]");
                range(
                    &format!("{what}.text length"),
                    step.text.len(),
                    0,
                    LIMITS.text_chars,
                )?;
                range(
                    &format!("{what}.look_at length"),
                    step.look_at.len(),
                    0,
                    LIMITS.text_chars,
                )?;
                if let Some(action) = &step.action {
                    self.validate_command(&format!("{what}.action"), action)?;
                }
            }
        }
        let c = &self.cluster;
        range("cluster.brokers", c.brokers, 1, LIMITS.brokers)?;
        if c.mode.is_kraft() {
            self.validate_kraft()?;
        } else {
            range("cluster.zookeepers", c.zookeepers, 1, LIMITS.zookeepers)?;
            if c.controllers != super::DEFAULT_CONTROLLERS
                || c.combined
                || c.kraft_config != Default::default()
            {
                return Err(ScenarioError::Invalid {
                    what: "cluster".into(),
                    problem: "controllers, combined and kraft_config need \"mode\": \"kraft\""
                        .into(),
                });
            }
        }
        range("cluster.latency_us", c.latency_us, 0, LIMITS.latency_us)?;
        range("cluster.jitter_us", c.jitter_us, 0, c.latency_us)?;
        let b = &c.broker_config;
        range(
            "broker_config.min.insync.replicas",
            b.min_insync_replicas,
            1,
            LIMITS.brokers,
        )?;
        range(
            "broker_config.num.partitions",
            b.num_partitions,
            1,
            LIMITS.partitions,
        )?;
        range(
            "broker_config.default.replication.factor",
            b.default_replication_factor,
            1,
            c.brokers,
        )?;
        range(
            "broker_config.replica.lag.time.max.ms",
            b.replica_lag_time_max_ms,
            100,
            3_600_000,
        )?;
        range(
            "broker_config.replica.fetch.wait.max.ms",
            b.replica_fetch_wait_max_ms,
            // At least 1 ms, so idle fetch loops cannot spin in simulated time.
            1,
            60_000,
        )?;
        range(
            "broker_config.replica.fetch.backoff.ms",
            b.replica_fetch_backoff_ms,
            1,
            60_000,
        )?;
        range(
            "broker_config.log.retention.check.interval.ms",
            b.log_retention_check_interval_ms,
            100,
            86_400_000,
        )?;
        range(
            "broker_config.log.segment.bytes",
            b.log_segment_bytes,
            100,
            1 << 31,
        )?;
        range(
            "broker_config.leader.imbalance.check.interval.seconds",
            b.leader_imbalance_check_interval_seconds,
            1,
            86_400,
        )?;
        range(
            "broker_config.zookeeper.session.timeout.ms",
            b.zookeeper_session_timeout_ms,
            100,
            600_000,
        )?;
        range(
            "broker_config.offsets.topic.num.partitions",
            b.offsets_topic_num_partitions,
            1,
            64,
        )?;
        let z = &c.zookeeper_config;
        range("zookeeper_config.tickTime", z.tick_time_ms, 10, 60_000)?;
        range("zookeeper_config.initLimit", z.init_limit, 1, 100)?;
        range("zookeeper_config.syncLimit", z.sync_limit, 1, 100)?;
        range("topics", self.topics.len(), 0, LIMITS.topics)?;
        range("producers", self.producers.len(), 0, LIMITS.producers)?;
        range("consumers", self.consumers.len(), 0, LIMITS.consumers)?;
        range("actions", self.actions.len(), 0, LIMITS.actions)?;
        range("trace.window", self.trace.window, 1_000, 10_000_000)?;
        let mut names = VecSet::new();
        for t in &self.topics {
            if !valid_topic_name(&t.name) {
                return Err(ScenarioError::InvalidTopicName(t.name.clone()));
            }
            if !names.insert(t.name.as_str()) {
                return Err(ScenarioError::DuplicateTopic(t.name.clone()));
            }
            range(
                &format!("topic '{}' partitions", t.name),
                t.partitions,
                1,
                LIMITS.partitions,
            )?;
            range(
                &format!("topic '{}' replication_factor", t.name),
                t.replication_factor,
                1,
                LIMITS.brokers,
            )?;
            if t.replication_factor > c.brokers {
                return Err(ScenarioError::ReplicationFactorTooLarge {
                    topic: t.name.clone(),
                    replication_factor: t.replication_factor,
                    brokers: c.brokers,
                });
            }
            self.validate_topic_config(&format!("topic '{}'", t.name), &t.config)?;
        }
        let known = |topic: &str| names.contains(topic);
        for (i, p) in self.producers.iter().enumerate() {
            self.validate_producer(&format!("producers[{i}]"), p, &known)?;
        }
        for (i, c) in self.consumers.iter().enumerate() {
            self.validate_consumer(&format!("consumers[{i}]"), c, &known)?;
        }
        for (i, a) in self.actions.iter().enumerate() {
            self.validate_command(&format!("actions[{i}]"), &a.command)?;
        }
        Ok(())
    }

    /// A topic's overrides: min.insync.replicas within the cluster's limit, segments not tiny.
    fn validate_topic_config(&self, what: &str, config: &TopicConfig) -> Result<(), ScenarioError> {
        if let Some(m) = config.min_insync_replicas {
            range(&format!("{what} min.insync.replicas"), m, 1, LIMITS.brokers)?;
        }
        if let Some(s) = config.segment_bytes {
            range(&format!("{what} segment.bytes"), s, 100, 1 << 31)?;
        }
        Ok(())
    }

    fn validate_producer(
        &self,
        what: &str,
        p: &ProducerSpec,
        known: &dyn Fn(&str) -> bool,
    ) -> Result<(), ScenarioError> {
        let what = what.to_string();
        if !known(&p.topic) {
            return Err(ScenarioError::UnknownTopic {
                what,
                topic: p.topic.clone(),
            });
        }
        if !(p.rate_per_sec > 0.0 && p.rate_per_sec <= LIMITS.rate_per_sec) {
            return Err(ScenarioError::OutOfRange {
                field: format!("{what}.rate_per_sec"),
                value: p.rate_per_sec.to_string(),
                allowed: format!("more than 0, at most {}", LIMITS.rate_per_sec),
            });
        }
        range(
            &format!("{what}.value_bytes"),
            p.value_bytes,
            0,
            LIMITS.value_bytes,
        )?;
        range(
            &format!("{what}.config.batch.size"),
            p.config.batch_size,
            1,
            16 << 20,
        )?;
        range(
            &format!("{what}.config.max.in.flight.requests.per.connection"),
            p.config.max_in_flight_requests_per_connection,
            1,
            100,
        )?;
        range(
            &format!("{what}.config.request.timeout.ms"),
            p.config.request_timeout_ms,
            1,
            3_600_000,
        )?;
        range(
            &format!("{what}.config.linger.ms"),
            p.config.linger_ms(),
            0,
            600_000,
        )?;
        range(
            &format!("{what}.config.metadata.max.age.ms"),
            p.config.metadata_max_age_ms,
            100,
            86_400_000,
        )?;
        if let Some(ms) = p.config.delivery_timeout_ms {
            range(
                &format!("{what}.config.delivery.timeout.ms"),
                ms,
                1,
                86_400_000,
            )?;
        }
        // What KafkaProducer's constructor refuses, refused with its message.
        p.config
            .clone()
            .in_mode(self.cluster.mode.is_kraft())
            .validate()
            .map_err(|problem| ScenarioError::Invalid {
                what: format!("{what}.config"),
                problem: format!("ConfigException: {problem}"),
            })?;
        match &p.keys {
            KeySpec::Random { count } | KeySpec::Sequential { count } => {
                range(&format!("{what}.keys.count"), *count, 1, LIMITS.keys)?
            }
            KeySpec::Fixed { keys } => {
                range(
                    &format!("{what}.keys.keys"),
                    keys.len() as u32,
                    1,
                    LIMITS.keys,
                )?;
                if let Some(k) = keys.iter().find(|k| k.len() > 256) {
                    return Err(ScenarioError::OutOfRange {
                        field: format!("{what}.keys"),
                        value: format!("a key of {} bytes", k.len()),
                        allowed: "keys of at most 256 bytes".into(),
                    });
                }
            }
            KeySpec::None => {}
        }
        Ok(())
    }

    fn validate_consumer(
        &self,
        what: &str,
        c: &ConsumerSpec,
        known: &dyn Fn(&str) -> bool,
    ) -> Result<(), ScenarioError> {
        let what = what.to_string();
        if !known(&c.topic) {
            return Err(ScenarioError::UnknownTopic {
                what,
                topic: c.topic.clone(),
            });
        }
        range(
            &format!("{what}.config.fetch.max.wait.ms"),
            c.config.fetch_max_wait_ms,
            1,
            60_000,
        )?;
        range(
            &format!("{what}.config.request.timeout.ms"),
            c.config.request_timeout_ms,
            1,
            3_600_000,
        )?;
        range(
            &format!("{what}.config.metadata.max.age.ms"),
            c.config.metadata_max_age_ms,
            100,
            86_400_000,
        )?;
        range(
            &format!("{what}.processing_us"),
            c.processing_us,
            0,
            60_000_000,
        )?;
        range(
            &format!("{what}.config.max.poll.records"),
            c.config.max_poll_records,
            1,
            100_000,
        )?;
        let cluster = &self.cluster.broker_config;
        range(
            &format!("{what}.config.session.timeout.ms"),
            c.config.session_timeout_ms,
            cluster.group_min_session_timeout_ms,
            cluster.group_max_session_timeout_ms,
        )?;
        range(
            &format!("{what}.config.heartbeat.interval.ms"),
            c.config.heartbeat_interval_ms,
            1,
            c.config.session_timeout_ms.saturating_sub(1).max(1),
        )?;
        range(
            &format!("{what}.config.max.poll.interval.ms"),
            c.config.max_poll_interval_ms,
            1,
            86_400_000,
        )?;
        range(
            &format!("{what}.config.auto.commit.interval.ms"),
            c.config.auto_commit_interval_ms,
            1,
            86_400_000,
        )?;
        for (field, id) in [
            ("group.id", &c.config.group_id),
            ("group.instance.id", &c.config.group_instance_id),
        ] {
            if let Some(id) = id {
                if id.is_empty() || id.len() > 249 {
                    return Err(ScenarioError::Invalid {
                        what: format!("{what}.config.{field}"),
                        problem: "must be 1 to 249 characters".into(),
                    });
                }
            }
        }
        let transactional = c.commit == crate::scenario::CommitMode::Transactional;
        match (&c.output_topic, transactional) {
            (None, true) => {
                return Err(ScenarioError::Invalid {
                    what: format!("{what}.output_topic"),
                    problem: "commit \"transactional\" needs an output_topic to write to".into(),
                })
            }
            (Some(_), false) => {
                return Err(ScenarioError::Invalid {
                    what: format!("{what}.output_topic"),
                    problem: "only a \"transactional\" application writes to an output topic"
                        .into(),
                })
            }
            (Some(out), true) => {
                if !known(out) {
                    return Err(ScenarioError::UnknownTopic {
                        what: format!("{what}.output_topic"),
                        topic: out.clone(),
                    });
                }
                if *out == c.topic {
                    return Err(ScenarioError::Invalid {
                        what: format!("{what}.output_topic"),
                        problem: "must differ from the topic it reads".into(),
                    });
                }
            }
            (None, false) => {}
        }
        range(
            &format!("{what}.transaction_timeout_ms"),
            c.transaction_timeout_ms,
            1,
            crate::config::MAX_TRANSACTION_TIMEOUT_MS,
        )?;
        if c.config.group_id.is_none() && c.commit != crate::scenario::CommitMode::Auto {
            return Err(ScenarioError::Invalid {
                what: format!("{what}.commit"),
                problem: "committing offsets needs a group: set config.\"group.id\"".into(),
            });
        }
        Ok(())
    }

    /// KRaft mode: a controller quorum of 1–7 voters and no ZooKeeper at all.
    fn validate_kraft(&self) -> Result<(), ScenarioError> {
        let c = &self.cluster;
        range("cluster.controllers", c.controllers, 1, LIMITS.controllers)?;
        if c.combined {
            return Err(ScenarioError::Invalid {
                what: "cluster.combined".into(),
                problem: "combined mode (process.roles=broker,controller) is not built yet: \
                          kplay runs KRaft's controllers as separate nodes (3000, 3001, …)"
                    .into(),
            });
        }
        let no_zookeeper = |what: &str| ScenarioError::Invalid {
            what: what.into(),
            problem: "KRaft mode runs no ZooKeeper: remove it, or use \"mode\": \"zookeeper\""
                .into(),
        };
        if c.zookeepers != ClusterSpec::default().zookeepers {
            return Err(no_zookeeper("cluster.zookeepers"));
        }
        if c.zookeeper_config != Default::default() {
            return Err(no_zookeeper("cluster.zookeeper_config"));
        }
        if c.broker_config != Default::default() {
            let zk = c.broker_config.zookeeper_session_timeout_ms
                != crate::config::BrokerConfig::default().zookeeper_session_timeout_ms;
            if zk {
                return Err(no_zookeeper(
                    "cluster.broker_config.zookeeper.session.timeout.ms",
                ));
            }
        }
        let k = &c.kraft_config;
        const YEAR_MS: u64 = 365 * 24 * 3_600_000;
        for (field, value, min, max) in [
            (
                "controller.quorum.election.timeout.ms",
                k.election_timeout_ms,
                10,
                600_000,
            ),
            (
                "controller.quorum.fetch.timeout.ms",
                k.fetch_timeout_ms,
                10,
                600_000,
            ),
            (
                "controller.quorum.election.backoff.max.ms",
                k.election_backoff_max_ms,
                10,
                600_000,
            ),
            (
                "controller.quorum.request.timeout.ms",
                k.request_timeout_ms,
                10,
                600_000,
            ),
            (
                "controller.quorum.retry.backoff.ms",
                k.retry_backoff_ms,
                1,
                600_000,
            ),
            (
                "controller.quorum.append.linger.ms",
                k.append_linger_ms,
                0,
                60_000,
            ),
            (
                "broker.heartbeat.interval.ms",
                k.broker_heartbeat_interval_ms,
                10,
                600_000,
            ),
            (
                "broker.session.timeout.ms",
                k.broker_session_timeout_ms,
                100,
                3_600_000,
            ),
            (
                "metadata.max.idle.interval.ms",
                k.metadata_max_idle_interval_ms,
                0,
                3_600_000,
            ),
            (
                "metadata.log.max.record.bytes.between.snapshots",
                k.metadata_log_max_record_bytes_between_snapshots,
                1,
                1 << 40,
            ),
            (
                "metadata.log.max.snapshot.interval.ms",
                k.metadata_log_max_snapshot_interval_ms,
                0,
                YEAR_MS,
            ),
            (
                "metadata.max.retention.bytes",
                k.metadata_max_retention_bytes,
                0,
                1 << 40,
            ),
            (
                "metadata.max.retention.ms",
                k.metadata_max_retention_ms,
                0,
                YEAR_MS,
            ),
        ] {
            range(&format!("kraft_config.{field}"), value, min, max)?;
        }
        if k.broker_heartbeat_interval_ms >= k.broker_session_timeout_ms {
            return Err(ScenarioError::Invalid {
                what: "kraft_config.broker.heartbeat.interval.ms".into(),
                problem: "must be less than broker.session.timeout.ms".into(),
            });
        }
        Ok(())
    }

    /// Checks a command against this scenario's cluster (also used for live commands).
    pub fn validate_command(&self, what: &str, command: &Command) -> Result<(), ScenarioError> {
        let brokers = self.cluster.brokers;
        let kraft = self.cluster.mode.is_kraft();
        let zks = if kraft { 0 } else { self.cluster.zookeepers };
        let controllers = self.cluster.controller_ids();
        let broker = |b: u32| range(&format!("{what}.broker"), b, 1, brokers);
        if kraft
            && matches!(
                command,
                Command::KillZookeeper { .. } | Command::RestartZookeeper { .. }
            )
        {
            return Err(ScenarioError::Invalid {
                what: what.to_string(),
                problem: "KRaft mode runs no ZooKeeper: there is no server to kill or restart"
                    .into(),
            });
        }
        let added =
            |is: fn(&Command) -> bool| self.actions.iter().filter(|a| is(&a.command)).count();
        let consumers = self.consumers.len() + added(|c| matches!(c, Command::AddConsumer { .. }));
        // The console producer sits between the scenario's producers and added ones.
        let producers =
            self.producers.len() + 1 + added(|c| matches!(c, Command::AddProducer { .. }));
        let producer_index = |p: u32| {
            if (p as usize) < producers {
                Ok(())
            } else {
                Err(ScenarioError::UnknownNode {
                    what: what.to_string(),
                    node: format!("producer:{p}"),
                })
            }
        };
        let consumer_index = |c: u32| {
            if (c as usize) < consumers {
                Ok(())
            } else {
                Err(ScenarioError::UnknownNode {
                    what: what.to_string(),
                    node: format!("consumer:{c}"),
                })
            }
        };
        match command {
            Command::KillBroker { broker: b }
            | Command::StopBroker { broker: b }
            | Command::RestartBroker { broker: b, .. }
            | Command::IsolateBroker { broker: b } => broker(*b),
            Command::KillZookeeper { server } | Command::RestartZookeeper { server } => {
                range(&format!("{what}.server"), *server, 1, zks)
            }
            Command::KillController { controller } | Command::RestartController { controller } => {
                if !kraft {
                    return Err(ScenarioError::Invalid {
                        what: what.to_string(),
                        problem: "controllers are KRaft's: this cluster runs in ZooKeeper mode \
                                  (its controller is a broker: kill that broker)"
                            .into(),
                    });
                }
                if !controllers.contains(controller) {
                    return Err(ScenarioError::UnknownNode {
                        what: what.to_string(),
                        node: format!("controller:{controller}"),
                    });
                }
                Ok(())
            }
            Command::CutLinks { between, and, .. }
            | Command::HealLinks { between, and }
            | Command::SlowLinks { between, and, .. } => {
                for node in between.iter().chain(and) {
                    let ok = match node {
                        crate::ids::NodeId::Broker(b) => (1..=brokers).contains(&b.0),
                        crate::ids::NodeId::ZooKeeper(z) => (1..=zks).contains(z),
                        crate::ids::NodeId::Producer(p) => (*p as usize) <= self.producers.len(),
                        crate::ids::NodeId::Consumer(c) => (*c as usize) < self.consumers.len(),
                        crate::ids::NodeId::Admin => true,
                        crate::ids::NodeId::Controller(id) => controllers.contains(id),
                        // Real clients exist only while `kplay serve` runs.
                        crate::ids::NodeId::Client(_) => false,
                    };
                    if !ok {
                        return Err(ScenarioError::UnknownNode {
                            what: what.to_string(),
                            node: node.to_string(),
                        });
                    }
                }
                if let Command::SlowLinks {
                    extra_latency_us, ..
                } = command
                {
                    range(
                        &format!("{what}.extra_latency_us"),
                        *extra_latency_us,
                        0,
                        LIMITS.latency_us,
                    )?;
                }
                Ok(())
            }
            Command::HealAllLinks => Ok(()),
            Command::CrashConsumer { consumer, .. }
            | Command::CloseConsumer { consumer }
            | Command::RestartConsumer { consumer } => consumer_index(*consumer),
            Command::PauseConsumer { consumer, ms, .. } => {
                consumer_index(*consumer)?;
                range(&format!("{what}.ms"), *ms, 1, 86_400_000)
            }
            Command::Produce {
                topic,
                key,
                value,
                producer,
            } => {
                if !valid_topic_name(topic) {
                    return Err(ScenarioError::InvalidTopicName(topic.clone()));
                }
                if let Some(p) = producer {
                    producer_index(*p)?;
                }
                range(
                    &format!("{what}.key length"),
                    key.as_ref().map_or(0, String::len),
                    0,
                    256,
                )?;
                range(
                    &format!("{what}.value length"),
                    value.len(),
                    0,
                    LIMITS.value_bytes as usize,
                )
            }
            Command::CreateTopic {
                name,
                partitions,
                replication_factor,
                config,
            } => {
                if !valid_topic_name(name) {
                    return Err(ScenarioError::InvalidTopicName(name.clone()));
                }
                self.validate_topic_config(&format!("{what}.config"), config)?;
                range(
                    &format!("{what}.partitions"),
                    *partitions,
                    1,
                    LIMITS.partitions,
                )?;
                range(
                    &format!("{what}.replication_factor"),
                    *replication_factor,
                    1,
                    LIMITS.brokers,
                )
            }
            Command::AddPartitions { topic, partitions } => {
                if !valid_topic_name(topic) {
                    return Err(ScenarioError::InvalidTopicName(topic.clone()));
                }
                range(
                    &format!("{what}.partitions"),
                    *partitions,
                    1,
                    LIMITS.partitions,
                )
            }
            Command::ElectLeaders { partitions, .. } => {
                for (topic, _) in partitions.iter().flatten() {
                    if !valid_topic_name(topic) {
                        return Err(ScenarioError::InvalidTopicName(topic.clone()));
                    }
                }
                range(
                    &format!("{what}.partitions"),
                    partitions.as_ref().map_or(0, Vec::len),
                    0,
                    LIMITS.partitions as usize * LIMITS.topics,
                )
            }
            Command::AlterBrokerConfig { broker: b, config } => {
                if let Some(b) = b {
                    broker(*b)?;
                }
                let as_topic = TopicConfig {
                    min_insync_replicas: config.min_insync_replicas,
                    segment_bytes: config.log_segment_bytes,
                    ..TopicConfig::default()
                };
                self.validate_topic_config(&format!("{what}.config"), &as_topic)
            }
            Command::AlterTopicConfig { topic, config } => {
                if !valid_topic_name(topic) {
                    return Err(ScenarioError::InvalidTopicName(topic.clone()));
                }
                self.validate_topic_config(&format!("{what}.config"), config)
            }
            Command::ResetOffsets { group, offsets } => {
                range(&format!("{what}.group length"), group.len(), 1, 255)?;
                range(
                    &format!("{what}.offsets"),
                    offsets.len(),
                    1,
                    LIMITS.partitions as usize * LIMITS.topics,
                )?;
                match offsets.iter().find(|(t, _, _)| !valid_topic_name(t)) {
                    Some((t, _, _)) => Err(ScenarioError::InvalidTopicName(t.clone())),
                    None => Ok(()),
                }
            }
            Command::DeleteTopic { topic } => {
                if valid_topic_name(topic) {
                    Ok(())
                } else {
                    Err(ScenarioError::InvalidTopicName(topic.clone()))
                }
            }
            Command::AddProducer { producer } => {
                let producers =
                    self.producers.len() + added(|c| matches!(c, Command::AddProducer { .. }));
                range("producers", producers + 1, 0, LIMITS.producers)?;
                self.validate_producer(&format!("{what}.producer"), producer, &|t| {
                    self.defines_topic(t)
                })
            }
            Command::StopProducer { producer } => producer_index(*producer),
            Command::AddConsumer { consumer } => {
                range("consumers", consumers + 1, 0, LIMITS.consumers)?;
                self.validate_consumer(&format!("{what}.consumer"), consumer, &|t| {
                    self.defines_topic(t)
                })
            }
        }
    }

    /// A topic the scenario defines or one of its actions creates.
    fn defines_topic(&self, topic: &str) -> bool {
        self.topics.iter().any(|t| t.name == topic)
            || self
                .actions
                .iter()
                .any(|a| matches!(&a.command, Command::CreateTopic { name, .. } if name == topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(json: &str) -> String {
        Scenario::from_json(json).expect_err("invalid").to_string()
    }

    #[test]
    fn bad_scenarios_get_errors_that_name_the_problem() {
        assert_eq!(
            error(r#"{"cluster": {"brokers": 12}}"#),
            "cluster.brokers is 12; allowed: 1 to 9"
        );
        assert!(error(r#"{"cluster": {"brokerz": 3}}"#).contains("unknown field `brokerz`"));
        assert!(error(r#"{"topics": [{"name": "a b"}]}"#).contains("topic name 'a b' is invalid"));
        assert_eq!(
            error(
                r#"{"cluster": {"brokers": 2}, "topics": [{"name": "t", "replication_factor": 3}]}"#
            ),
            "topic 't' has replication factor 3 but the cluster has only 2 brokers"
        );
        assert_eq!(
            error(r#"{"producers": [{"topic": "nope"}]}"#),
            "producers[0] names topic 'nope', which the scenario does not define"
        );
        assert!(error(
            r#"{"topics": [{"name": "t"}], "producers": [{"topic": "t", "rate_per_sec": -1}]}"#
        )
        .contains("rate_per_sec"));
        assert!(error(r#"{"topics": [{"name": "t"}], "consumers": [{"topic": "t", "config": {"fetch.max.wait.ms": 0}}]}"#).contains("fetch.max.wait.ms is 0"));
        assert!(
            error(r#"{"actions": [{"at_ms": 1, "action": "kill_broker", "broker": 7}]}"#)
                .contains("actions[0].broker is 7")
        );
        assert!(error(r#"{"actions": [{"at_ms": 1, "action": "explode"}]}"#).contains("explode"));
        assert!(error("[1, 2").starts_with("invalid scenario JSON"));
        assert!(error(&" ".repeat(2 << 20)).contains("at most"));
    }

    #[test]
    fn the_empty_scenario_is_a_valid_three_broker_cluster() {
        let s = Scenario::from_json("{}").expect("defaults are valid");
        assert_eq!((s.cluster.brokers, s.cluster.zookeepers), (3, 3));
    }
}
