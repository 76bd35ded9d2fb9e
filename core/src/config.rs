//! Configuration, spelled with Kafka's own property names (`linger.ms`, `min.insync.replicas`)
//! and Kafka 3.9's defaults (the last release line with ZooKeeper mode). Where older versions
//! differ, the field's doc says so: many tutorials describe the older defaults.

use crate::group::assignor::Assignor;
use serde::{Deserialize, Serialize};

/// `transaction.max.timeout.ms`.
pub const MAX_TRANSACTION_TIMEOUT_MS: u64 = 900_000;

/// Broker-wide settings (`server.properties`); topic settings fall back to these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerConfig {
    #[serde(rename = "num.partitions")]
    pub num_partitions: u32,
    #[serde(rename = "default.replication.factor")]
    pub default_replication_factor: u32,
    #[serde(rename = "min.insync.replicas")]
    pub min_insync_replicas: u32,
    #[serde(rename = "unclean.leader.election.enable")]
    pub unclean_leader_election_enable: bool,
    /// 10000 before Kafka 2.5.
    #[serde(rename = "replica.lag.time.max.ms")]
    pub replica_lag_time_max_ms: u64,
    #[serde(rename = "replica.fetch.wait.max.ms")]
    pub replica_fetch_wait_max_ms: u64,
    #[serde(rename = "replica.fetch.backoff.ms")]
    pub replica_fetch_backoff_ms: u64,
    /// `log.retention.hours=168` in Kafka's file; milliseconds here.
    #[serde(rename = "log.retention.ms")]
    pub log_retention_ms: i64,
    #[serde(rename = "log.retention.bytes")]
    pub log_retention_bytes: i64,
    #[serde(rename = "log.segment.bytes")]
    pub log_segment_bytes: u64,
    #[serde(rename = "log.roll.ms")]
    pub log_roll_ms: u64,
    #[serde(rename = "log.retention.check.interval.ms")]
    pub log_retention_check_interval_ms: u64,
    #[serde(rename = "log.cleanup.policy")]
    pub log_cleanup_policy: CleanupPolicy,
    #[serde(rename = "auto.leader.rebalance.enable")]
    pub auto_leader_rebalance_enable: bool,
    #[serde(rename = "leader.imbalance.check.interval.seconds")]
    pub leader_imbalance_check_interval_seconds: u64,
    #[serde(rename = "leader.imbalance.per.broker.percentage")]
    pub leader_imbalance_per_broker_percentage: u32,
    #[serde(rename = "auto.create.topics.enable")]
    pub auto_create_topics_enable: bool,
    /// 6000 before Kafka 2.5.
    #[serde(rename = "zookeeper.session.timeout.ms")]
    pub zookeeper_session_timeout_ms: u64,
    #[serde(rename = "offsets.topic.num.partitions")]
    pub offsets_topic_num_partitions: u32,
    #[serde(rename = "offsets.topic.replication.factor")]
    pub offsets_topic_replication_factor: u32,
    #[serde(rename = "group.initial.rebalance.delay.ms")]
    pub group_initial_rebalance_delay_ms: u64,
    #[serde(rename = "group.min.session.timeout.ms")]
    pub group_min_session_timeout_ms: u64,
    #[serde(rename = "group.max.session.timeout.ms")]
    pub group_max_session_timeout_ms: u64,
    #[serde(rename = "offsets.commit.timeout.ms")]
    pub offsets_commit_timeout_ms: u64,
    /// The log cleaner compacts a log once this share of it is dirty (written since it last
    /// cleaned it); `min.cleanable.dirty.ratio` per topic in Kafka.
    #[serde(rename = "log.cleaner.min.cleanable.ratio")]
    pub log_cleaner_min_cleanable_ratio: f64,
    /// How long the log cleaner sleeps when no log needs cleaning.
    #[serde(rename = "log.cleaner.backoff.ms")]
    pub log_cleaner_backoff_ms: u64,
    /// What `kafka-server-stop.sh` (SIGTERM) does first: move leadership away.
    #[serde(rename = "controlled.shutdown.enable")]
    pub controlled_shutdown_enable: bool,
    #[serde(rename = "controlled.shutdown.max.retries")]
    pub controlled_shutdown_max_retries: u32,
    #[serde(rename = "controlled.shutdown.retry.backoff.ms")]
    pub controlled_shutdown_retry_backoff_ms: u64,
    #[serde(rename = "transaction.state.log.replication.factor")]
    pub transaction_state_log_replication_factor: u32,
    #[serde(rename = "transaction.state.log.min.isr")]
    pub transaction_state_log_min_isr: u32,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            num_partitions: 1,
            default_replication_factor: 1,
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_backoff_ms: 1_000,
            log_retention_ms: 168 * 3_600_000,
            log_retention_bytes: -1,
            log_segment_bytes: 1_073_741_824,
            log_roll_ms: 168 * 3_600_000,
            log_retention_check_interval_ms: 300_000,
            log_cleanup_policy: CleanupPolicy::Delete,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_seconds: 300,
            leader_imbalance_per_broker_percentage: 10,
            auto_create_topics_enable: true,
            zookeeper_session_timeout_ms: 18_000,
            offsets_topic_num_partitions: 50,
            offsets_topic_replication_factor: 3,
            group_initial_rebalance_delay_ms: 3_000,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            offsets_commit_timeout_ms: 5_000,
            log_cleaner_min_cleanable_ratio: 0.5,
            log_cleaner_backoff_ms: 15_000,
            controlled_shutdown_enable: true,
            controlled_shutdown_max_retries: 3,
            controlled_shutdown_retry_backoff_ms: 5_000,
            transaction_state_log_replication_factor: 3,
            transaction_state_log_min_isr: 2,
        }
    }
}

/// `cleanup.policy`: delete old segments, or keep the latest record per key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanupPolicy {
    #[default]
    Delete,
    Compact,
}

/// Per-topic overrides (`kafka-topics.sh --config k=v`); unset values use the broker's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopicConfig {
    #[serde(
        rename = "min.insync.replicas",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_insync_replicas: Option<u32>,
    #[serde(
        rename = "unclean.leader.election.enable",
        skip_serializing_if = "Option::is_none"
    )]
    pub unclean_leader_election_enable: Option<bool>,
    #[serde(rename = "retention.ms", skip_serializing_if = "Option::is_none")]
    pub retention_ms: Option<i64>,
    #[serde(rename = "retention.bytes", skip_serializing_if = "Option::is_none")]
    pub retention_bytes: Option<i64>,
    #[serde(rename = "segment.bytes", skip_serializing_if = "Option::is_none")]
    pub segment_bytes: Option<u64>,
    #[serde(rename = "segment.ms", skip_serializing_if = "Option::is_none")]
    pub segment_ms: Option<u64>,
    #[serde(rename = "cleanup.policy", skip_serializing_if = "Option::is_none")]
    pub cleanup_policy: Option<CleanupPolicy>,
    #[serde(
        rename = "delete.retention.ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub delete_retention_ms: Option<u64>,
}

/// Broker settings changed at run time (`kafka-configs.sh --entity-type brokers --alter`):
/// for one broker, or as the cluster-wide default (`--entity-default`). Kafka keeps them in
/// `/config/brokers/<id>` and `/config/brokers/<default>`; they override `server.properties`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DynamicBrokerConfig {
    #[serde(
        rename = "min.insync.replicas",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_insync_replicas: Option<u32>,
    #[serde(
        rename = "unclean.leader.election.enable",
        skip_serializing_if = "Option::is_none"
    )]
    pub unclean_leader_election_enable: Option<bool>,
    #[serde(rename = "log.retention.ms", skip_serializing_if = "Option::is_none")]
    pub log_retention_ms: Option<i64>,
    #[serde(
        rename = "log.retention.bytes",
        skip_serializing_if = "Option::is_none"
    )]
    pub log_retention_bytes: Option<i64>,
    #[serde(rename = "log.segment.bytes", skip_serializing_if = "Option::is_none")]
    pub log_segment_bytes: Option<u64>,
    #[serde(rename = "log.roll.ms", skip_serializing_if = "Option::is_none")]
    pub log_roll_ms: Option<u64>,
    #[serde(rename = "log.cleanup.policy", skip_serializing_if = "Option::is_none")]
    pub log_cleanup_policy: Option<CleanupPolicy>,
}

impl DynamicBrokerConfig {
    /// `base` with these settings over it.
    pub fn apply(&self, base: &BrokerConfig) -> BrokerConfig {
        BrokerConfig {
            min_insync_replicas: self.min_insync_replicas.unwrap_or(base.min_insync_replicas),
            unclean_leader_election_enable: self
                .unclean_leader_election_enable
                .unwrap_or(base.unclean_leader_election_enable),
            log_retention_ms: self.log_retention_ms.unwrap_or(base.log_retention_ms),
            log_retention_bytes: self.log_retention_bytes.unwrap_or(base.log_retention_bytes),
            log_segment_bytes: self.log_segment_bytes.unwrap_or(base.log_segment_bytes),
            log_roll_ms: self.log_roll_ms.unwrap_or(base.log_roll_ms),
            log_cleanup_policy: self.log_cleanup_policy.unwrap_or(base.log_cleanup_policy),
            ..base.clone()
        }
    }
}

/// A topic's effective settings: its overrides resolved against the broker defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct LogConfig {
    pub min_insync_replicas: u32,
    pub unclean_leader_election_enable: bool,
    pub retention_ms: i64,
    pub retention_bytes: i64,
    pub segment_bytes: u64,
    pub segment_ms: u64,
    pub cleanup_policy: CleanupPolicy,
    pub delete_retention_ms: u64,
    pub min_cleanable_dirty_ratio: f64,
}

impl LogConfig {
    pub fn resolve(topic: &TopicConfig, broker: &BrokerConfig) -> LogConfig {
        LogConfig {
            min_insync_replicas: topic
                .min_insync_replicas
                .unwrap_or(broker.min_insync_replicas),
            unclean_leader_election_enable: topic
                .unclean_leader_election_enable
                .unwrap_or(broker.unclean_leader_election_enable),
            retention_ms: topic.retention_ms.unwrap_or(broker.log_retention_ms),
            retention_bytes: topic.retention_bytes.unwrap_or(broker.log_retention_bytes),
            segment_bytes: topic.segment_bytes.unwrap_or(broker.log_segment_bytes),
            segment_ms: topic.segment_ms.unwrap_or(broker.log_roll_ms),
            cleanup_policy: topic.cleanup_policy.unwrap_or(broker.log_cleanup_policy),
            delete_retention_ms: topic.delete_retention_ms.unwrap_or(86_400_000),
            min_cleanable_dirty_ratio: broker.log_cleaner_min_cleanable_ratio,
        }
    }
}

/// `acks`: how many replicas must have a record before the producer hears back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Acks {
    /// `acks=0`: fire and forget; the producer counts a record as sent once it is on the wire.
    #[serde(rename = "0")]
    None,
    /// `acks=1`: the leader wrote it (the default before Kafka 3.0).
    #[serde(rename = "1")]
    Leader,
    /// `acks=all` (`-1`): every in-sync replica has it (the default since Kafka 3.0).
    #[default]
    #[serde(rename = "all", alias = "-1")]
    All,
}

impl Acks {
    pub fn as_str(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

/// How a producer picks a partition for a record without a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NullKeyPartitioner {
    /// Before Kafka 2.4: one record per partition in turn.
    RoundRobin,
    /// Kafka 3.3+ (KIP-794; 2.4 to 3.2 switched at every new batch, KIP-480): stay on one
    /// partition until `batch.size` bytes went to it, then switch, favouring partitions whose
    /// queues are shorter.
    #[default]
    Sticky,
}

/// Producer settings (`producer.properties`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerConfig {
    pub acks: Acks,
    /// As set by the user: `None` means Kafka's default, which is on since Kafka 3.0 (off
    /// before) unless the rest of the config conflicts with it; see
    /// [`ProducerConfig::idempotence`].
    #[serde(rename = "enable.idempotence", skip_serializing_if = "Option::is_none")]
    pub enable_idempotence: Option<bool>,
    /// As set by the user: `None` means 0 (Kafka 3.9, ZooKeeper mode) or 5 (Kafka 4.0 and
    /// later, KRaft mode); see [`ProducerConfig::in_mode`].
    #[serde(rename = "linger.ms", skip_serializing_if = "Option::is_none")]
    pub linger_ms: Option<u64>,
    #[serde(rename = "batch.size")]
    pub batch_size: u32,
    pub retries: u32,
    /// As set by the user: `None` means 120 s, raised to `linger.ms + request.timeout.ms`
    /// when that is longer; see [`ProducerConfig::delivery_timeout_ms`].
    #[serde(
        rename = "delivery.timeout.ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub delivery_timeout_ms: Option<u64>,
    #[serde(rename = "request.timeout.ms")]
    pub request_timeout_ms: u64,
    #[serde(rename = "retry.backoff.ms")]
    pub retry_backoff_ms: u64,
    #[serde(rename = "max.in.flight.requests.per.connection")]
    pub max_in_flight_requests_per_connection: u32,
    #[serde(rename = "metadata.max.age.ms")]
    pub metadata_max_age_ms: u64,
    /// Not a Kafka property: which null-key strategy (by Kafka version) this producer uses.
    #[serde(rename = "partitioner")]
    pub null_key_partitioner: NullKeyPartitioner,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            enable_idempotence: None,
            linger_ms: None,
            batch_size: 16_384,
            retries: 2_147_483_647,
            delivery_timeout_ms: None,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            max_in_flight_requests_per_connection: 5,
            metadata_max_age_ms: 300_000,
            null_key_partitioner: NullKeyPartitioner::Sticky,
        }
    }
}

/// `delivery.timeout.ms`'s default.
const DELIVERY_TIMEOUT_MS_DEFAULT: u64 = 120_000;

/// `linger.ms`'s default from Kafka 4.0 (KIP-1030); 0 before.
const LINGER_MS_DEFAULT_4_0: u64 = 5;

impl ProducerConfig {
    /// The config with the defaults of the Kafka release a cluster mode stands for: KRaft
    /// mode is Kafka 4.x, where an unset `linger.ms` is 5.
    pub fn in_mode(mut self, kraft: bool) -> ProducerConfig {
        if kraft {
            self.linger_ms.get_or_insert(LINGER_MS_DEFAULT_4_0);
        }
        self
    }

    /// `linger.ms` in force (unset: 3.9's 0; [`ProducerConfig::in_mode`] sets 4.x's).
    pub fn linger_ms(&self) -> u64 {
        self.linger_ms.unwrap_or(0)
    }

    /// Whether the producer is idempotent. Unset, Kafka 3.x turns it on unless acks is not
    /// `all`, retries is 0 or more than 5 requests may be in flight, when it quietly turns it
    /// off (`ProducerConfig.postProcessAndValidateIdempotenceConfigs`); set to true with any of
    /// those, the config is refused ([`ProducerConfig::validate`]).
    pub fn idempotence(&self) -> bool {
        self.enable_idempotence
            .unwrap_or_else(|| self.idempotence_conflict().is_none())
    }

    /// `delivery.timeout.ms` in force: unset, the default, but at least `linger.ms +
    /// request.timeout.ms` (`KafkaProducer.configureDeliveryTimeout`).
    pub fn delivery_timeout_ms(&self) -> u64 {
        self.delivery_timeout_ms.unwrap_or_else(|| {
            DELIVERY_TIMEOUT_MS_DEFAULT.max(self.linger_ms() + self.request_timeout_ms)
        })
    }

    /// What makes idempotence impossible, in Kafka 3.9's words and order.
    fn idempotence_conflict(&self) -> Option<&'static str> {
        if self.retries == 0 {
            Some("Must set retries to non-zero when using the idempotent producer.")
        } else if self.acks != Acks::All {
            Some("Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence.")
        } else if self.max_in_flight_requests_per_connection > 5 {
            Some("Must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer.")
        } else {
            None
        }
    }

    /// Refuses what `KafkaProducer`'s constructor refuses, with the `ConfigException` message
    /// it throws.
    pub fn validate(&self) -> Result<(), String> {
        if self.enable_idempotence == Some(true) {
            if let Some(conflict) = self.idempotence_conflict() {
                return Err(conflict.to_string());
            }
        }
        if let Some(delivery) = self.delivery_timeout_ms {
            if delivery < self.linger_ms() + self.request_timeout_ms {
                return Err(
                    "delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms"
                        .to_string(),
                );
            }
        }
        Ok(())
    }
}

/// `auto.offset.reset`: where to start when there is no committed offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoOffsetReset {
    Earliest,
    #[default]
    Latest,
    None,
}

/// Consumer settings (`consumer.properties`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerConfig {
    #[serde(rename = "auto.offset.reset")]
    pub auto_offset_reset: AutoOffsetReset,
    #[serde(rename = "fetch.min.bytes")]
    pub fetch_min_bytes: u32,
    #[serde(rename = "fetch.max.wait.ms")]
    pub fetch_max_wait_ms: u64,
    #[serde(rename = "max.poll.records")]
    pub max_poll_records: u32,
    #[serde(rename = "request.timeout.ms")]
    pub request_timeout_ms: u64,
    #[serde(rename = "retry.backoff.ms")]
    pub retry_backoff_ms: u64,
    #[serde(rename = "metadata.max.age.ms")]
    pub metadata_max_age_ms: u64,
    /// No group: the consumer reads every partition itself and commits nothing.
    #[serde(rename = "group.id")]
    pub group_id: Option<String>,
    /// Static membership (KIP-345): a restart within the session timeout keeps the assignment.
    #[serde(rename = "group.instance.id")]
    pub group_instance_id: Option<String>,
    #[serde(rename = "session.timeout.ms")]
    pub session_timeout_ms: u64,
    #[serde(rename = "heartbeat.interval.ms")]
    pub heartbeat_interval_ms: u64,
    #[serde(rename = "max.poll.interval.ms")]
    pub max_poll_interval_ms: u64,
    #[serde(rename = "enable.auto.commit")]
    pub enable_auto_commit: bool,
    #[serde(rename = "auto.commit.interval.ms")]
    pub auto_commit_interval_ms: u64,
    #[serde(rename = "partition.assignment.strategy")]
    pub partition_assignment_strategy: Assignor,
    #[serde(rename = "isolation.level")]
    pub isolation_level: IsolationLevel,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            auto_offset_reset: AutoOffsetReset::Latest,
            fetch_min_bytes: 1,
            fetch_max_wait_ms: 500,
            max_poll_records: 500,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            metadata_max_age_ms: 300_000,
            group_id: None,
            group_instance_id: None,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            partition_assignment_strategy: Assignor::Range,
            isolation_level: IsolationLevel::ReadUncommitted,
        }
    }
}

/// `isolation.level`: whether a consumer sees records of open and aborted transactions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLevel {
    #[default]
    ReadUncommitted,
    ReadCommitted,
}

/// ZooKeeper ensemble settings (`zoo.cfg`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZooKeeperConfig {
    #[serde(rename = "tickTime")]
    pub tick_time_ms: u64,
    #[serde(rename = "initLimit")]
    pub init_limit: u32,
    #[serde(rename = "syncLimit")]
    pub sync_limit: u32,
}

impl Default for ZooKeeperConfig {
    fn default() -> Self {
        ZooKeeperConfig {
            tick_time_ms: 2_000,
            init_limit: 10,
            sync_limit: 5,
        }
    }
}

/// KRaft mode's settings, for controllers and brokers alike, with Kafka 4.x's names and
/// defaults (`QuorumConfig`, `KRaftConfigs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KRaftConfig {
    /// The quorum's election timeout is random in `[T, 2T)`.
    #[serde(rename = "controller.quorum.election.timeout.ms")]
    pub election_timeout_ms: u64,
    /// A voter with no successful fetch for this long starts an election; a leader resigns
    /// after 1.5× this without fetches from a majority (check-quorum).
    #[serde(rename = "controller.quorum.fetch.timeout.ms")]
    pub fetch_timeout_ms: u64,
    #[serde(rename = "controller.quorum.election.backoff.max.ms")]
    pub election_backoff_max_ms: u64,
    #[serde(rename = "controller.quorum.request.timeout.ms")]
    pub request_timeout_ms: u64,
    #[serde(rename = "controller.quorum.retry.backoff.ms")]
    pub retry_backoff_ms: u64,
    #[serde(rename = "controller.quorum.append.linger.ms")]
    pub append_linger_ms: u64,
    #[serde(rename = "broker.heartbeat.interval.ms")]
    pub broker_heartbeat_interval_ms: u64,
    /// A broker that has not heartbeated for this long is fenced by the active controller.
    #[serde(rename = "broker.session.timeout.ms")]
    pub broker_session_timeout_ms: u64,
    /// The active controller writes a NoOp record this often so the log's high watermark
    /// moves on an idle cluster (0: never).
    #[serde(rename = "metadata.max.idle.interval.ms")]
    pub metadata_max_idle_interval_ms: u64,
    /// Every node snapshots its committed image once this many bytes of records were
    /// applied since its last snapshot (KIP-630).
    #[serde(rename = "metadata.log.max.record.bytes.between.snapshots")]
    pub metadata_log_max_record_bytes_between_snapshots: u64,
    /// … or once this long has passed since it, with new records (0: never by time).
    #[serde(rename = "metadata.log.max.snapshot.interval.ms")]
    pub metadata_log_max_snapshot_interval_ms: u64,
    /// The log is cut behind the latest snapshot once it is bigger than this…
    #[serde(rename = "metadata.max.retention.bytes")]
    pub metadata_max_retention_bytes: u64,
    /// … or once the records behind the snapshot are this old.
    #[serde(rename = "metadata.max.retention.ms")]
    pub metadata_max_retention_ms: u64,
}

impl Default for KRaftConfig {
    fn default() -> Self {
        KRaftConfig {
            election_timeout_ms: 1_000,
            fetch_timeout_ms: 2_000,
            election_backoff_max_ms: 1_000,
            request_timeout_ms: 2_000,
            retry_backoff_ms: 20,
            append_linger_ms: 25,
            broker_heartbeat_interval_ms: 2_000,
            broker_session_timeout_ms: 9_000,
            metadata_max_idle_interval_ms: 500,
            metadata_log_max_record_bytes_between_snapshots: 20 * 1024 * 1024,
            metadata_log_max_snapshot_interval_ms: 3_600_000,
            metadata_max_retention_bytes: 100 * 1024 * 1024,
            metadata_max_retention_ms: 7 * 24 * 3_600_000,
        }
    }
}

impl ZooKeeperConfig {
    /// The server clamps a client's requested session timeout to [2, 20] ticks.
    pub fn negotiate_session_timeout_ms(&self, requested_ms: u64) -> u64 {
        requested_ms.clamp(2 * self.tick_time_ms, 20 * self.tick_time_ms)
    }
}

/// A topic's overrides as `name=value,…`, Kafka's property names, in name order.
pub fn overrides_text(config: &TopicConfig) -> String {
    properties_text(config)
}

/// Dynamic broker settings as `name=value,…`, in name order.
pub fn dynamic_text(config: &DynamicBrokerConfig) -> String {
    properties_text(config)
}

fn properties_text<T: serde::Serialize>(config: &T) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(config) else {
        return String::new();
    };
    let mut pairs: Vec<String> = map
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    crate::sort::sort(&mut pairs);
    pairs.join(",")
}
