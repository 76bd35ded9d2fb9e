//! Commands: faults and actions, scheduled in a scenario or applied live (`Sim::apply`).

use crate::config::{DynamicBrokerConfig, TopicConfig};
use crate::ids::NodeId;
use crate::scenario::tagged::Fields;
use crate::scenario::{ConsumerSpec, CrashPoint, ProducerSpec};
use serde::{Deserialize, Deserializer, Serialize};

/// In JSON an object tagged by `action`: `{"action": "kill_broker", "broker": 1}`, read by
/// `Command::from_fields` (which says the fields that may be left out).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Command {
    /// The broker process crashes (`kill -9`; its disk survives): its ZooKeeper session
    /// lingers until it times out, and only then does the controller move its leaderships.
    KillBroker {
        broker: u32,
    },
    /// The broker stops cleanly (`kafka-server-stop.sh`): a controlled shutdown moves its
    /// leaderships first, then it closes its ZooKeeper session and ends.
    StopBroker {
        broker: u32,
    },
    /// Starts a dead broker again; with `disk_lost` it comes back with empty logs.
    RestartBroker {
        broker: u32,
        disk_lost: bool,
    },
    KillZookeeper {
        server: u32,
    },
    RestartZookeeper {
        server: u32,
    },
    /// KRaft: a controller process crashes (its log and `quorum-state` survive on disk).
    KillController {
        controller: u32,
    },
    /// KRaft: starts a dead controller again; it catches up from the quorum's leader.
    RestartController {
        controller: u32,
    },
    /// Cuts the network between two sets of nodes (both ways unless `one_way`: then only
    /// messages from `between` to `and` are lost).
    CutLinks {
        between: Vec<NodeId>,
        and: Vec<NodeId>,
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
        at: CrashPoint,
    },
    /// Produces one record by hand: through the playground's console producer, or through
    /// `producer` (one a `kafka-console-producer.sh` session added, with its own settings).
    Produce {
        topic: String,
        key: Option<String>,
        value: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        producer: Option<u32>,
    },
    CreateTopic {
        name: String,
        partitions: u32,
        replication_factor: u32,
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
        unclean: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        partitions: Option<Vec<(String, u32)>>,
    },
    /// `kafka-configs.sh --entity-type brokers --alter`: the dynamic settings of one broker,
    /// or (no `broker`) the cluster-wide default, become `config`.
    AlterBrokerConfig {
        #[serde(skip_serializing_if = "Option::is_none")]
        broker: Option<u32>,
        config: DynamicBrokerConfig,
    },
    /// `kafka-configs.sh --alter`: the topic's overrides become `config`.
    AlterTopicConfig {
        topic: String,
        config: TopicConfig,
    },
    /// `kafka-consumer-groups.sh --reset-offsets --execute`: commits these offsets for an
    /// inactive group, from outside the group protocol.
    ResetOffsets {
        group: String,
        offsets: Vec<(String, u32, u64)>,
    },
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Command, D::Error> {
        crate::scenario::tagged::deserialize(deserializer, "action", Command::from_fields)
    }
}

impl Command {
    /// Every `action` tag, for the error that names an unknown one.
    pub const ACTIONS: &'static [&'static str] = &[
        "kill_broker",
        "stop_broker",
        "restart_broker",
        "kill_zookeeper",
        "restart_zookeeper",
        "kill_controller",
        "restart_controller",
        "cut_links",
        "heal_links",
        "heal_all_links",
        "slow_links",
        "isolate_broker",
        "crash_consumer",
        "close_consumer",
        "restart_consumer",
        "pause_consumer",
        "produce",
        "create_topic",
        "add_partitions",
        "delete_topic",
        "add_producer",
        "stop_producer",
        "add_consumer",
        "elect_leaders",
        "alter_broker_config",
        "alter_topic_config",
        "reset_offsets",
    ];

    /// The command an `action`-tagged object describes; `optional` fields take their default.
    pub(crate) fn from_fields(mut f: Fields) -> Result<Command, String> {
        let command = match f.tag() {
            "kill_broker" => Command::KillBroker {
                broker: f.required("broker")?,
            },
            "stop_broker" => Command::StopBroker {
                broker: f.required("broker")?,
            },
            "restart_broker" => Command::RestartBroker {
                broker: f.required("broker")?,
                disk_lost: f.optional("disk_lost")?,
            },
            "kill_zookeeper" => Command::KillZookeeper {
                server: f.required("server")?,
            },
            "restart_zookeeper" => Command::RestartZookeeper {
                server: f.required("server")?,
            },
            "kill_controller" => Command::KillController {
                controller: f.required("controller")?,
            },
            "restart_controller" => Command::RestartController {
                controller: f.required("controller")?,
            },
            "cut_links" => Command::CutLinks {
                between: f.required("between")?,
                and: f.required("and")?,
                one_way: f.optional("one_way")?,
            },
            "heal_links" => Command::HealLinks {
                between: f.required("between")?,
                and: f.required("and")?,
            },
            "heal_all_links" => Command::HealAllLinks,
            "slow_links" => Command::SlowLinks {
                between: f.required("between")?,
                and: f.required("and")?,
                extra_latency_us: f.required("extra_latency_us")?,
            },
            "isolate_broker" => Command::IsolateBroker {
                broker: f.required("broker")?,
            },
            "crash_consumer" => Command::CrashConsumer {
                consumer: f.required("consumer")?,
                at: f.optional("at")?,
            },
            "close_consumer" => Command::CloseConsumer {
                consumer: f.required("consumer")?,
            },
            "restart_consumer" => Command::RestartConsumer {
                consumer: f.required("consumer")?,
            },
            "pause_consumer" => Command::PauseConsumer {
                consumer: f.required("consumer")?,
                ms: f.required("ms")?,
                at: f.optional("at")?,
            },
            "produce" => Command::Produce {
                topic: f.required("topic")?,
                key: f.optional("key")?,
                value: f.optional("value")?,
                producer: f.optional("producer")?,
            },
            "create_topic" => Command::CreateTopic {
                name: f.required("name")?,
                partitions: f.required("partitions")?,
                replication_factor: f.required("replication_factor")?,
                config: f.optional("config")?,
            },
            "add_partitions" => Command::AddPartitions {
                topic: f.required("topic")?,
                partitions: f.required("partitions")?,
            },
            "delete_topic" => Command::DeleteTopic {
                topic: f.required("topic")?,
            },
            "add_producer" => Command::AddProducer {
                producer: f.required("producer")?,
            },
            "stop_producer" => Command::StopProducer {
                producer: f.required("producer")?,
            },
            "add_consumer" => Command::AddConsumer {
                consumer: f.required("consumer")?,
            },
            "elect_leaders" => Command::ElectLeaders {
                unclean: f.optional("unclean")?,
                partitions: f.optional("partitions")?,
            },
            "alter_broker_config" => Command::AlterBrokerConfig {
                broker: f.optional("broker")?,
                config: f.optional("config")?,
            },
            "alter_topic_config" => Command::AlterTopicConfig {
                topic: f.required("topic")?,
                config: f.optional("config")?,
            },
            "reset_offsets" => Command::ResetOffsets {
                group: f.required("group")?,
                offsets: f.required("offsets")?,
            },
            _ => return Err(f.unknown(Command::ACTIONS)),
        };
        f.finish()?;
        Ok(command)
    }

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
            Command::StopBroker { broker } => format!("stop broker {broker}"),
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
            Command::KillController { controller } => format!("kill controller {controller}"),
            Command::RestartController { controller } => {
                format!("restart controller {controller}")
            }
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
                crate::config::dynamic_text(config)
            ),
            Command::AlterTopicConfig { topic, config } => format!(
                "set topic {topic}'s config to {{{}}}",
                crate::config::overrides_text(config)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{KeySpec, ScheduledAction};

    /// One command of each kind, with every field set away from its default.
    fn one_of_each() -> Vec<Command> {
        let producer = ProducerSpec {
            topic: "orders".into(),
            keys: KeySpec::Fixed {
                keys: vec!["a".into(), "b".into()],
            },
            ..ProducerSpec::default()
        };
        let nodes = vec![NodeId::broker(1), NodeId::ZooKeeper(2)];
        let config = TopicConfig {
            min_insync_replicas: Some(2),
            ..TopicConfig::default()
        };
        vec![
            Command::KillBroker { broker: 1 },
            Command::StopBroker { broker: 1 },
            Command::RestartBroker {
                broker: 2,
                disk_lost: true,
            },
            Command::KillZookeeper { server: 1 },
            Command::RestartZookeeper { server: 1 },
            Command::KillController { controller: 3001 },
            Command::RestartController { controller: 3001 },
            Command::CutLinks {
                between: nodes.clone(),
                and: vec![NodeId::broker(3)],
                one_way: true,
            },
            Command::HealLinks {
                between: nodes.clone(),
                and: vec![NodeId::broker(3)],
            },
            Command::HealAllLinks,
            Command::SlowLinks {
                between: nodes,
                and: vec![],
                extra_latency_us: 500,
            },
            Command::IsolateBroker { broker: 3 },
            Command::CrashConsumer {
                consumer: 0,
                at: CrashPoint::BeforeCommit,
            },
            Command::CloseConsumer { consumer: 1 },
            Command::RestartConsumer { consumer: 1 },
            Command::PauseConsumer {
                consumer: 0,
                ms: 15_000,
                at: CrashPoint::BeforeProcess,
            },
            Command::Produce {
                topic: "orders".into(),
                key: Some("k".into()),
                value: "v".into(),
                producer: Some(2),
            },
            Command::CreateTopic {
                name: "t".into(),
                partitions: 3,
                replication_factor: 2,
                config: config.clone(),
            },
            Command::AddPartitions {
                topic: "t".into(),
                partitions: 4,
            },
            Command::DeleteTopic { topic: "t".into() },
            Command::AddProducer { producer },
            Command::StopProducer { producer: 0 },
            Command::AddConsumer {
                consumer: ConsumerSpec {
                    topic: "orders".into(),
                    ..ConsumerSpec::default()
                },
            },
            Command::ElectLeaders {
                unclean: true,
                partitions: Some(vec![("t".into(), 0)]),
            },
            Command::AlterBrokerConfig {
                broker: Some(1),
                config: DynamicBrokerConfig::default(),
            },
            Command::AlterTopicConfig {
                topic: "t".into(),
                config,
            },
            Command::ResetOffsets {
                group: "g".into(),
                offsets: vec![("t".into(), 0, 7)],
            },
        ]
    }

    #[test]
    fn every_command_reads_back_what_it_writes_and_its_tag_is_listed() {
        let commands = one_of_each();
        assert_eq!(commands.len(), Command::ACTIONS.len());
        for command in commands {
            let json = serde_json::to_string(&command).unwrap();
            let back: Command = serde_json::from_str(&json).expect(&json);
            assert_eq!(back, command);
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert!(
                Command::ACTIONS.contains(&value["action"].as_str().unwrap()),
                "{json}"
            );
            let scheduled = ScheduledAction { at_ms: 5, command };
            let json = serde_json::to_string(&scheduled).unwrap();
            assert_eq!(
                serde_json::from_str::<ScheduledAction>(&json).unwrap(),
                scheduled
            );
        }
    }

    #[test]
    fn defaults_apply_and_mistakes_are_named() {
        let read = |json: &str| serde_json::from_str::<Command>(json).map_err(|e| e.to_string());
        assert_eq!(
            read(r#"{"action": "restart_broker", "broker": 2}"#),
            Ok(Command::RestartBroker {
                broker: 2,
                disk_lost: false
            })
        );
        assert_eq!(
            read(r#"{"action": "heal_all_links"}"#),
            Ok(Command::HealAllLinks)
        );
        let e = read(r#"{"action": "kill_brokers", "broker": 2}"#).unwrap_err();
        assert!(
            e.contains("unknown variant `kill_brokers`, expected one of `kill_broker`"),
            "{e}"
        );
        let e = read(r#"{"action": "kill_broker"}"#).unwrap_err();
        assert!(
            e.contains("action `kill_broker`: missing field `broker`"),
            "{e}"
        );
        let e = read(r#"{"action": "heal_all_links", "broker": 1}"#).unwrap_err();
        assert!(
            e.contains("action `heal_all_links`: unknown field `broker`"),
            "{e}"
        );
        let e = read(r#"{"broker": 1}"#).unwrap_err();
        assert!(e.contains("missing field `action`"), "{e}");
        let e = serde_json::from_str::<ScheduledAction>(r#"{"action": "heal_all_links"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `at_ms`"), "{e}");
        let e = serde_json::from_str::<KeySpec>(r#"{"kind": "random"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("kind `random`: missing field `count`"), "{e}");
        let e = serde_json::from_str::<KeySpec>(r#"{"kind": "sorted"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `sorted`"), "{e}");
    }
}
