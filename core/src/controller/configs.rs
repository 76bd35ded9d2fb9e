//! Dynamic configs (Kafka's `AdminZkClient.changeConfigs`): a topic's overrides in
//! `/config/topics/<topic>`, a broker's settings in `/config/brokers/<id>` (or `<default>` for
//! all). Once written, every live broker hears of them, as Kafka's brokers do through their
//! watch on `/config/changes`.

use super::{zk_data, Controller, ControllerTimer, Ops, Requester, WriteTag};
use crate::config::{DynamicBrokerConfig, LogConfig, TopicConfig};
use crate::ids::{BrokerId, NodeId, TopicName};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{ErrorCode, Message};
use crate::trace::Event;
use crate::zookeeper::messages::{ZkError, ZkOp, ZkReply};
use crate::zookeeper::paths;

/// Writes of configs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigWrite {
    Topic {
        topic: TopicName,
        config: TopicConfig,
        requester: Requester,
    },
    Broker {
        broker: Option<BrokerId>,
        config: DynamicBrokerConfig,
        requester: Requester,
    },
}

impl Controller {
    /// A topic's settings: its overrides over this broker's defaults.
    pub(super) fn topic_config(&self, topic: &str) -> LogConfig {
        let config = self
            .topics
            .get(topic)
            .map(|t| t.config.clone())
            .unwrap_or_default();
        LogConfig::resolve(&config, &self.config)
    }

    /// AlterConfigs for a topic.
    pub(super) fn alter_topic_config(
        &mut self,
        topic: TopicName,
        config: TopicConfig,
        (from, correlation): Requester,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        if !self.topics.contains_key(&topic) {
            ctx.send(
                from,
                Message::AlterConfigsResponse(msg::AlterConfigsResponse {
                    correlation,
                    topic,
                    error: Some(ErrorCode::UnknownTopicOrPartition),
                }),
            );
            return;
        }
        self.write(
            ops,
            ZkOp::SetData {
                path: paths::topic_config(&topic),
                data: zk_data::topic_config(&config),
                version: None,
            },
            WriteTag::Config(ConfigWrite::Topic {
                topic,
                config,
                requester: (from, correlation),
            }),
        );
    }

    /// AlterConfigs for a broker, or for every broker's default.
    pub(super) fn alter_broker_config(
        &mut self,
        broker: Option<BrokerId>,
        config: DynamicBrokerConfig,
        requester: Requester,
        ops: &mut Ops,
    ) {
        self.write(
            ops,
            ZkOp::SetData {
                path: paths::broker_config(broker.map(|b| b.0)),
                data: zk_data::broker_config(&config),
                version: None,
            },
            WriteTag::Config(ConfigWrite::Broker {
                broker,
                config,
                requester,
            }),
        );
    }

    pub(super) fn on_config_write_response(
        &mut self,
        tag: ConfigWrite,
        result: Result<ZkReply, ZkError>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        match tag {
            ConfigWrite::Topic {
                topic,
                config,
                requester,
            } => {
                if result.is_ok() {
                    if let Some(info) = self.topics.get_mut(&topic) {
                        info.config = config.clone();
                    }
                    ctx.trace(Event::TopicConfigChanged {
                        topic: topic.clone(),
                        overrides: crate::config::overrides_text(&config),
                    });
                }
                let notice = Message::TopicConfigChanged(msg::TopicConfigChanged {
                    topic: topic.clone(),
                    config: Box::new(config),
                });
                self.announce_config(result.is_ok(), notice, requester, topic, ctx);
            }
            ConfigWrite::Broker {
                broker,
                config,
                requester,
            } => {
                // Kafka creates `/config/brokers/<id>` the first time it is set.
                if let Err(ZkError::NoNode) = result {
                    self.write(
                        ops,
                        ZkOp::Create {
                            path: paths::broker_config(broker.map(|b| b.0)),
                            data: zk_data::broker_config(&config),
                            ephemeral: false,
                        },
                        WriteTag::Config(ConfigWrite::Broker {
                            broker,
                            config,
                            requester,
                        }),
                    );
                    return;
                }
                let notice = Message::BrokerConfigChanged(msg::BrokerConfigChanged {
                    broker,
                    config: Box::new(config),
                });
                let resource = crate::protocol::broker_resource(broker).into();
                self.announce_config(result.is_ok(), notice, requester, resource, ctx);
            }
        }
    }

    /// A config write is done: every live broker hears of it (Kafka's brokers watch
    /// `/config/changes`) and the admin client gets its answer.
    fn announce_config(
        &self,
        written: bool,
        notice: Message,
        (client, correlation): Requester,
        resource: TopicName,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        if written {
            for &broker in &self.live_brokers {
                ctx.send(NodeId::Broker(broker), notice.clone());
            }
        }
        ctx.send(
            client,
            Message::AlterConfigsResponse(msg::AlterConfigsResponse {
                correlation,
                topic: resource,
                error: (!written).then_some(ErrorCode::RequestTimedOut),
            }),
        );
    }
}
