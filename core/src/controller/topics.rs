//! Topic changes (Kafka's TopicChangeHandler, `AdminZkClient.createTopic`, `addPartitions`
//! and TopicDeletionManager): a new topic's replicas are assigned and written with its config in
//! one `multi`, its partitions then come online; added partitions extend the assignment; a
//! deleted topic's znodes go and its replicas hear StopReplica.

use super::{
    assignment, zk_data, Controller, ControllerTimer, Ops, Requester, TopicInfo, WriteTag,
};
use crate::config::TopicConfig;
use crate::ids::{BrokerId, NodeId, TopicName, TopicPartition};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{ErrorCode, Message, NewTopic};
use crate::trace::Event;
use crate::vec_map::VecMap;
use crate::zookeeper::messages::{ZkError, ZkOp, ZkReply};
use crate::zookeeper::paths;

/// Writes of topics' znodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicWrite {
    Create {
        topic: NewTopic,
        assignment: VecMap<u32, Vec<BrokerId>>,
        config: TopicConfig,
        requester: Option<Requester>,
    },
    AddPartitions {
        topic: TopicName,
        assignment: VecMap<u32, Vec<BrokerId>>,
        requester: Option<Requester>,
    },
    Delete {
        topic: TopicName,
        requester: Option<Requester>,
    },
}

impl Controller {
    pub(super) fn create_topic(
        &mut self,
        topic: NewTopic,
        requester: Option<Requester>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        let config = topic.config.clone();
        let error = if self.topics.contains_key(&topic.name) {
            Some(ErrorCode::TopicAlreadyExists)
        } else if topic.partitions == 0 {
            Some(ErrorCode::InvalidPartitions)
        } else if topic.replication_factor == 0
            || topic.replication_factor as usize > self.live_brokers.len()
        {
            Some(ErrorCode::InvalidReplicationFactor)
        } else {
            None
        };
        if let Some(error) = error {
            if let Some((client, correlation)) = requester {
                ctx.send(
                    client,
                    Message::CreateTopicsResponse(msg::CreateTopicsResponse {
                        correlation,
                        topic: topic.name,
                        error: Some(error),
                    }),
                );
            }
            return;
        }
        let brokers: Vec<BrokerId> = self.live_brokers.iter().copied().collect();
        let n = brokers.len() as u64;
        let (start, shift) = (ctx.rng.below(n) as usize, ctx.rng.below(n) as usize);
        let assignment = assignment::assign_replicas(
            &brokers,
            0,
            topic.partitions,
            topic.replication_factor,
            start,
            shift,
        );
        let mut creates = vec![
            ZkOp::Create {
                path: paths::topic(&topic.name),
                data: zk_data::topic_assignment(&assignment),
                ephemeral: false,
            },
            ZkOp::Create {
                path: format!("{}/partitions", paths::topic(&topic.name)),
                data: String::new(),
                ephemeral: false,
            },
        ];
        for p in assignment.keys() {
            creates.push(ZkOp::Create {
                path: format!("{}/partitions/{p}", paths::topic(&topic.name)),
                data: String::new(),
                ephemeral: false,
            });
        }
        creates.push(ZkOp::Create {
            path: paths::topic_config(&topic.name),
            data: zk_data::topic_config(&config),
            ephemeral: false,
        });
        self.write(
            ops,
            ZkOp::Multi(creates),
            WriteTag::Topic(TopicWrite::Create {
                topic,
                assignment,
                config,
                requester,
            }),
        );
    }

    pub(super) fn add_partitions(
        &mut self,
        topic: TopicName,
        count: u32,
        requester: Option<Requester>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        let Some(info) = self.topics.get(&topic) else {
            if let Some((client, correlation)) = requester {
                ctx.send(
                    client,
                    Message::CreatePartitionsResponse(msg::CreatePartitionsResponse {
                        correlation,
                        topic,
                        error: Some(ErrorCode::UnknownTopicOrPartition),
                    }),
                );
            }
            return;
        };
        let current = info.assignment.len() as u32;
        if count <= current {
            if let Some((client, correlation)) = requester {
                ctx.send(
                    client,
                    Message::CreatePartitionsResponse(msg::CreatePartitionsResponse {
                        correlation,
                        topic,
                        error: Some(ErrorCode::InvalidPartitions),
                    }),
                );
            }
            return;
        }
        let rf = info.assignment.get(&0).map_or(1, |r| r.len() as u32);
        let brokers: Vec<BrokerId> = self.live_brokers.iter().copied().collect();
        // Kafka continues from partition 0's first replica so the spread stays even.
        let start = info
            .assignment
            .get(&0)
            .and_then(|r| brokers.iter().position(|b| *b == r[0]))
            .unwrap_or(0);
        let mut assignment = info.assignment.clone();
        assignment.extend(assignment::assign_replicas(
            &brokers,
            current,
            count - current,
            rf.min(brokers.len() as u32),
            start,
            0,
        ));
        let mut ops_list = vec![ZkOp::SetData {
            path: paths::topic(&topic),
            data: zk_data::topic_assignment(&assignment),
            version: None,
        }];
        for p in current..count {
            ops_list.push(ZkOp::Create {
                path: format!("{}/partitions/{p}", paths::topic(&topic)),
                data: String::new(),
                ephemeral: false,
            });
        }
        self.write(
            ops,
            ZkOp::Multi(ops_list),
            WriteTag::Topic(TopicWrite::AddPartitions {
                topic,
                assignment,
                requester,
            }),
        );
    }

    /// DeleteTopics: the topic's znodes go in one `multi`.
    pub(super) fn delete_topic(
        &mut self,
        topic: TopicName,
        (from, correlation): Requester,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        if !self.topics.contains_key(&topic) {
            ctx.send(
                from,
                Message::DeleteTopicsResponse(msg::DeleteTopicsResponse {
                    correlation,
                    topic,
                    error: Some(ErrorCode::UnknownTopicOrPartition),
                }),
            );
            return;
        }
        let mut delete = vec![];
        let assignment = self
            .topics
            .get(&topic)
            .map(|t| t.assignment.clone())
            .unwrap_or_default();
        for p in assignment.keys() {
            delete.push(ZkOp::Delete {
                path: paths::partition_state(&topic, *p),
                version: None,
            });
            delete.push(ZkOp::Delete {
                path: format!("{}/partitions/{p}", paths::topic(&topic)),
                version: None,
            });
        }
        delete.push(ZkOp::Delete {
            path: format!("{}/partitions", paths::topic(&topic)),
            version: None,
        });
        delete.push(ZkOp::Delete {
            path: paths::topic(&topic),
            version: None,
        });
        delete.push(ZkOp::Delete {
            path: paths::topic_config(&topic),
            version: None,
        });
        self.write(
            ops,
            ZkOp::Multi(delete),
            WriteTag::Topic(TopicWrite::Delete {
                topic,
                requester: Some((from, correlation)),
            }),
        );
    }

    pub(super) fn on_topic_write_response(
        &mut self,
        tag: TopicWrite,
        result: Result<ZkReply, ZkError>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        match tag {
            TopicWrite::Create {
                topic,
                assignment,
                config,
                requester,
            } => {
                let error = match result {
                    Ok(_) => {
                        ctx.trace(Event::TopicCreated {
                            topic: topic.name.clone(),
                            partitions: topic.partitions,
                            replication_factor: topic.replication_factor,
                        });
                        self.topics.insert(
                            topic.name.clone(),
                            TopicInfo {
                                assignment: assignment.clone(),
                                config,
                            },
                        );
                        for p in assignment.keys() {
                            self.init_partition(&TopicPartition::new(&topic.name, *p), ops);
                        }
                        None
                    }
                    Err(ZkError::NodeExists) => Some(ErrorCode::TopicAlreadyExists),
                    Err(_) => Some(ErrorCode::RequestTimedOut),
                };
                if let Some((client, correlation)) = requester {
                    ctx.send(
                        client,
                        Message::CreateTopicsResponse(msg::CreateTopicsResponse {
                            correlation,
                            topic: topic.name,
                            error,
                        }),
                    );
                }
            }
            TopicWrite::AddPartitions {
                topic,
                assignment,
                requester,
            } => {
                let error = match result {
                    Ok(_) => {
                        let info = self.topics.entry(topic.clone()).or_default();
                        let from = info.assignment.len() as u32;
                        let new: Vec<u32> = assignment
                            .keys()
                            .copied()
                            .filter(|p| !info.assignment.contains_key(p))
                            .collect();
                        info.assignment = assignment;
                        ctx.trace(Event::PartitionsAdded {
                            topic: topic.clone(),
                            from,
                            to: from + new.len() as u32,
                        });
                        for p in new {
                            self.init_partition(&TopicPartition::new(&topic, p), ops);
                        }
                        None
                    }
                    Err(_) => Some(ErrorCode::RequestTimedOut),
                };
                if let Some((client, correlation)) = requester {
                    ctx.send(
                        client,
                        Message::CreatePartitionsResponse(msg::CreatePartitionsResponse {
                            correlation,
                            topic,
                            error,
                        }),
                    );
                }
            }
            TopicWrite::Delete { topic, requester } => {
                let error = match result {
                    Ok(_) => {
                        self.delete_topic_state(&topic, ctx);
                        None
                    }
                    Err(_) => Some(ErrorCode::RequestTimedOut),
                };
                if let Some((client, correlation)) = requester {
                    ctx.send(
                        client,
                        Message::DeleteTopicsResponse(msg::DeleteTopicsResponse {
                            correlation,
                            topic,
                            error,
                        }),
                    );
                }
            }
        }
    }

    fn delete_topic_state(&mut self, topic: &TopicName, ctx: &mut Ctx<'_, ControllerTimer>) {
        let Some(info) = self.topics.remove(topic) else {
            return;
        };
        let mut stop: VecMap<BrokerId, Vec<TopicPartition>> = VecMap::new();
        for (p, replicas) in info.assignment {
            let tp = TopicPartition::new(topic, p);
            self.states.remove(&tp);
            for b in replicas {
                stop.entry(b).or_default().push(tp.clone());
            }
        }
        for (broker, partitions) in stop {
            if self.live_brokers.contains(&broker) {
                ctx.send(
                    NodeId::Broker(broker),
                    Message::StopReplica(msg::StopReplica {
                        controller_id: self.me,
                        controller_epoch: self.epoch,
                        partitions,
                    }),
                );
            }
        }
        self.deleted.push(topic.clone());
        ctx.trace(Event::TopicDeleted {
            topic: topic.clone(),
        });
    }
}
