//! A broker's metadata cache: what the controller last told it with `UpdateMetadata`. Any
//! broker answers `Metadata` from it, so a client can bootstrap from any broker; it may be
//! briefly stale, as in Kafka.

use crate::ids::{BrokerId, TopicName};
use crate::protocol::msg;
use crate::protocol::{
    Correlation, ErrorCode, Message, PartitionMetadata, PartitionState, TopicMetadata,
};
use crate::vec_map::VecMap;

#[derive(Clone, Debug, Default)]
pub struct MetadataCache {
    pub controller: Option<BrokerId>,
    pub live_brokers: Vec<BrokerId>,
    pub topics: VecMap<TopicName, VecMap<u32, PartitionState>>,
}

impl MetadataCache {
    pub fn update(
        &mut self,
        controller: BrokerId,
        live_brokers: Vec<BrokerId>,
        partitions: Vec<PartitionState>,
        deleted: Vec<TopicName>,
    ) {
        self.controller = Some(controller);
        self.live_brokers = live_brokers;
        for topic in deleted {
            self.topics.remove(&topic);
        }
        for state in partitions {
            self.topics
                .entry(state.tp.topic.clone())
                .or_default()
                .insert(state.tp.partition, state);
        }
    }

    /// Answers a `Metadata` request. Also returns topics to auto-create
    /// (`auto.create.topics.enable`): Kafka answers `LEADER_NOT_AVAILABLE` meanwhile.
    pub fn respond(
        &self,
        correlation: Correlation,
        requested: &[TopicName],
        auto_create: bool,
    ) -> (Message, Vec<TopicName>) {
        let names: Vec<TopicName> = if requested.is_empty() {
            self.topics
                .keys()
                .filter(|t| !t.starts_with("__"))
                .cloned()
                .collect()
        } else {
            requested.to_vec()
        };
        let mut to_create = Vec::new();
        let topics = names
            .into_iter()
            .map(|name| match self.topics.get(&name) {
                Some(partitions) => TopicMetadata {
                    name,
                    error: None,
                    partitions: partitions
                        .values()
                        .map(|s| {
                            let live = |b: &BrokerId| self.live_brokers.contains(b);
                            PartitionMetadata {
                                partition: s.tp.partition,
                                leader: s.leader.filter(live),
                                leader_epoch: s.leader_epoch,
                                replicas: s.replicas.clone(),
                                isr: s.isr.clone(),
                                offline_replicas: s
                                    .replicas
                                    .iter()
                                    .copied()
                                    .filter(|b| !live(b))
                                    .collect(),
                            }
                        })
                        .collect(),
                },
                None => {
                    let creatable =
                        auto_create && !name.starts_with("__") && self.controller.is_some();
                    if creatable {
                        to_create.push(name.clone());
                    }
                    let error = if creatable {
                        ErrorCode::LeaderNotAvailable
                    } else {
                        ErrorCode::UnknownTopicOrPartition
                    };
                    TopicMetadata {
                        name,
                        error: Some(error),
                        partitions: Vec::new(),
                    }
                }
            })
            .collect();
        let response = Message::MetadataResponse(msg::MetadataResponse {
            correlation,
            brokers: self.live_brokers.clone(),
            controller: self.controller,
            topics,
        });
        (response, to_create)
    }
}
