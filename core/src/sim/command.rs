//! Commands: faults and actions, scheduled in a scenario or applied live (`Sim::apply`).

use crate::config::{DynamicBrokerConfig, TopicConfig};
use crate::ids::NodeId;
use crate::scenario::{ConsumerSpec, CrashPoint, ProducerSpec};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// The broker process crashes (its disk survives).
    KillBroker {
        broker: u32,
    },
    /// Starts a dead broker again; with `disk_lost` it comes back with empty logs.
    RestartBroker {
        broker: u32,
        #[serde(default)]
        disk_lost: bool,
    },
    KillZookeeper {
        server: u32,
    },
    RestartZookeeper {
        server: u32,
    },
    /// Cuts the network between two sets of nodes (both ways unless `one_way`: then only
    /// messages from `between` to `and` are lost).
    CutLinks {
        between: Vec<NodeId>,
        and: Vec<NodeId>,
        #[serde(default)]
        one_way: bool,
    },
    HealLinks {
        between: Vec<NodeId>,
        and: Vec<NodeId>,
    },
    HealAllLinks,
    /// Adds latency to the links between two sets of nodes (both directions).
    SlowLinks {
        between: Vec<NodeId>,
        and: Vec<NodeId>,
        extra_latency_us: u64,
    },
    /// Cuts a broker off from every other node (ZooKeeper, brokers, clients).
    IsolateBroker {
        broker: u32,
    },
    /// A consumer application crashes, now or when it next reaches `at`.
    CrashConsumer {
        consumer: u32,
        #[serde(default)]
        at: CrashPoint,
    },
    /// The application closes its consumer: it commits (with auto-commit) and leaves its group,
    /// so the group rebalances at once instead of after the session timeout.
    CloseConsumer {
        consumer: u32,
    },
    /// Starts a crashed or closed consumer again (a new member unless it has `group.instance.id`).
    RestartConsumer {
        consumer: u32,
    },
    /// The consumer stops calling poll for a while (a long GC pause or a stuck handler); past
    /// `max.poll.interval.ms` it leaves its group.
    PauseConsumer {
        consumer: u32,
        ms: u64,
        /// Pause now, or when the application next reaches this point.
        #[serde(default)]
        at: CrashPoint,
    },
    /// Produces one record by hand: through the playground's console producer, or through
    /// `producer` (one a `kafka-console-producer.sh` session added, with its own settings).
    Produce {
        topic: String,
        #[serde(default)]
        key: Option<String>,
        #[serde(default)]
        value: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        producer: Option<u32>,
    },
    CreateTopic {
        name: String,
        partitions: u32,
        replication_factor: u32,
        #[serde(default)]
        config: TopicConfig,
    },
    /// Raises a topic's partition count (keys may then map to other partitions).
    AddPartitions {
        topic: String,
        partitions: u32,
    },
    DeleteTopic {
        topic: String,
    },
    /// Starts another producer application (it gets the next producer index).
    AddProducer {
        producer: ProducerSpec,
    },
    /// A producer application stops sending new records (those sent are still delivered).
    StopProducer {
        producer: u32,
    },
    /// Starts another consumer application now (it gets the next consumer index).
    AddConsumer {
        consumer: ConsumerSpec,
    },
    /// `kafka-leader-election.sh`: elect preferred leaders, or (unclean) any live replica for
    /// leaderless partitions; `partitions` absent means every partition.
    ElectLeaders {
        #[serde(default)]
        unclean: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partitions: Option<Vec<(String, u32)>>,
    },
    /// `kafka-configs.sh --entity-type brokers --alter`: the dynamic settings of one broker,
    /// or (no `broker`) the cluster-wide default, become `config`.
    AlterBrokerConfig {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        broker: Option<u32>,
        #[serde(default)]
        config: DynamicBrokerConfig,
    },
    /// `kafka-configs.sh --alter`: the topic's overrides become `config`.
    AlterTopicConfig {
        topic: String,
        #[serde(default)]
        config: TopicConfig,
    },
    /// `kafka-consumer-groups.sh --reset-offsets --execute`: commits these offsets for an
    /// inactive group, from outside the group protocol.
    ResetOffsets {
        group: String,
        offsets: Vec<(String, u32, u64)>,
    },
}

impl Command {
    pub fn describe(&self) -> String {
        let list = |nodes: &[NodeId]| {
            nodes
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Command::KillBroker { broker } => format!("kill broker {broker}"),
            Command::RestartBroker {
                broker,
                disk_lost: false,
            } => format!("restart broker {broker}"),
            Command::RestartBroker {
                broker,
                disk_lost: true,
            } => format!("restart broker {broker} with an empty disk"),
            Command::KillZookeeper { server } => format!("kill zookeeper {server}"),
            Command::RestartZookeeper { server } => format!("restart zookeeper {server}"),
            Command::CutLinks {
                between,
                and,
                one_way,
            } => {
                format!(
                    "cut links {} {} {}",
                    list(between),
                    if *one_way { "->" } else { "<->" },
                    list(and)
                )
            }
            Command::HealLinks { between, and } => {
                format!("heal links {} <-> {}", list(between), list(and))
            }
            Command::HealAllLinks => "heal all links".to_string(),
            Command::CrashConsumer {
                consumer,
                at: CrashPoint::Now,
            } => format!("crash consumer {consumer}"),
            Command::CrashConsumer {
                consumer,
                at: CrashPoint::BeforeProcess,
            } => format!(
                "crash consumer {consumer} after it next receives records, before processing them"
            ),
            Command::CrashConsumer {
                consumer,
                at: CrashPoint::BeforeCommit,
            } => format!(
                "crash consumer {consumer} after it next processes records, before committing them"
            ),
            Command::CloseConsumer { consumer } => format!("close consumer {consumer}"),
            Command::RestartConsumer { consumer } => format!("restart consumer {consumer}"),
            Command::PauseConsumer { consumer, ms, at } => {
                let when = match at {
                    CrashPoint::Now => "",
                    CrashPoint::BeforeProcess => " when it next receives records",
                    CrashPoint::BeforeCommit => " when it is next about to commit",
                };
                format!(
                    "pause consumer {consumer} for {} s{when}",
                    *ms as f64 / 1000.0
                )
            }
            Command::SlowLinks {
                between,
                and,
                extra_latency_us,
            } => format!(
                "slow links {} <-> {} by {extra_latency_us} us",
                list(between),
                list(and)
            ),
            Command::IsolateBroker { broker } => format!("isolate broker {broker}"),
            Command::Produce {
                topic,
                key,
                value,
                producer,
            } => format!(
                "produce to {topic}: key={} value={value}{}",
                key.as_deref().unwrap_or("null"),
                producer.map_or(String::new(), |p| format!(" (producer {p})"))
            ),
            Command::CreateTopic {
                name,
                partitions,
                replication_factor,
                ..
            } => format!("create topic {name} ({partitions} partitions, RF {replication_factor})"),
            Command::AddPartitions { topic, partitions } => {
                format!("alter topic {topic} to {partitions} partitions")
            }
            Command::DeleteTopic { topic } => format!("delete topic {topic}"),
            Command::ElectLeaders {
                unclean,
                partitions,
            } => format!(
                "{} leader election for {}",
                if *unclean { "unclean" } else { "preferred" },
                partitions
                    .as_ref()
                    .map_or("every partition".to_string(), |ps| ps
                        .iter()
                        .map(|(t, p)| format!("{t}-{p}"))
                        .collect::<Vec<_>>()
                        .join(", "))
            ),
            Command::AlterBrokerConfig { broker, config } => format!(
                "set {}'s dynamic config to {{{}}}",
                broker.map_or("every broker".to_string(), |b| format!("broker {b}")),
                crate::controller::zk_data::dynamic_text(config)
            ),
            Command::AlterTopicConfig { topic, config } => format!(
                "set topic {topic}'s config to {{{}}}",
                crate::controller::zk_data::overrides_text(config)
            ),
            Command::ResetOffsets { group, offsets } => format!(
                "reset group {group}'s offsets: {}",
                offsets
                    .iter()
                    .map(|(t, p, o)| format!("{t}-{p}→{o}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            // A console producer session: records come only as typed.
            Command::AddProducer { producer } if producer.max_records == Some(0) => format!(
                "start a console producer for {} (acks={})",
                producer.topic,
                producer.config.acks.as_str()
            ),
            Command::AddProducer { producer } => format!(
                "add a producer to {} at {} records/s",
                producer.topic, producer.rate_per_sec
            ),
            Command::StopProducer { producer } => format!("stop producer {producer}"),
            Command::AddConsumer { consumer } => match &consumer.config.group_id {
                Some(group) => format!("add a consumer of {} to group {group}", consumer.topic),
                None => format!("add a consumer of {}", consumer.topic),
            },
        }
    }
}
