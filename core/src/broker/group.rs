//! The broker's side of consumer groups: FindCoordinator (creating `__consumer_offsets` on
//! first use, as Kafka does), handing group requests to its `GroupCoordinator`, and appending
//! the coordinator's records to `__consumer_offsets` with acks=all.

use super::produce::{Origin, Waiter};
use super::Broker;
use super::BrokerTimer;
use crate::config::{Acks, CleanupPolicy, TopicConfig};
use crate::group::coordinator::{CoordinatorWrite, OFFSETS_TOPIC};
use crate::ids::{NodeId, TopicName, TopicPartition};
use crate::log::record::{BatchBuilder, NO_PRODUCER_ID};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{CoordinatorType, Correlation, ErrorCode, Message, NewTopic};
use crate::trace::Event;
use crate::txn::{TxnCoordinator, TRANSACTION_TOPIC};

/// `offsets.topic.segment.bytes` and `transaction.state.log.segment.bytes`: 100 MiB.
pub(super) const INTERNAL_TOPIC_SEGMENT_BYTES: u64 = 104_857_600;

impl Broker {
    pub(super) fn handle_find_coordinator(
        &mut self,
        from: NodeId,
        correlation: Correlation,
        key: &str,
        key_type: CoordinatorType,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let answer = |ctx: &mut Ctx<'_, BrokerTimer>,
                      result: Result<crate::ids::BrokerId, ErrorCode>| {
            let (error, coordinator) = match result {
                Ok(b) => (None, Some(b)),
                Err(e) => (Some(e), None),
            };
            ctx.send(
                from,
                Message::FindCoordinatorResponse(msg::FindCoordinatorResponse {
                    correlation,
                    error,
                    coordinator,
                }),
            );
        };
        let (topic, partition) = match key_type {
            CoordinatorType::Group => (OFFSETS_TOPIC, self.groups.partition_for(key)),
            CoordinatorType::Transaction => (TRANSACTION_TOPIC, TxnCoordinator::partition_for(key)),
        };
        let Some(partitions) = self.metadata.topics.get(topic) else {
            match key_type {
                CoordinatorType::Group => self.create_offsets_topic(ctx),
                CoordinatorType::Transaction => self.create_transaction_topic(ctx),
            }
            return answer(ctx, Err(ErrorCode::CoordinatorNotAvailable));
        };
        let leader = partitions.get(&partition).and_then(|p| p.leader);
        answer(ctx, leader.ok_or(ErrorCode::CoordinatorNotAvailable));
    }

    /// Asks the controller for `__consumer_offsets` as Kafka creates it: compacted, 100 MiB
    /// segments (`offsets.topic.segment.bytes`).
    fn create_offsets_topic(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        let topic = NewTopic {
            name: TopicName::from(OFFSETS_TOPIC),
            partitions: self.config.offsets_topic_num_partitions,
            replication_factor: self.config.offsets_topic_replication_factor,
            config: TopicConfig {
                cleanup_policy: Some(CleanupPolicy::Compact),
                segment_bytes: Some(INTERNAL_TOPIC_SEGMENT_BYTES),
                ..TopicConfig::default()
            },
        };
        self.create_internal_topic(topic, "offsets.topic.replication.factor", ctx);
    }

    /// Asks the controller for an internal topic, unless fewer brokers are alive than its
    /// replication factor: then Kafka 3.9 refuses ("This error can be ignored if the cluster is
    /// starting up and not all brokers are up yet", `KafkaApis.createInternalTopic`) and the
    /// client keeps getting COORDINATOR_NOT_AVAILABLE — the one-broker quickstart trap.
    pub(super) fn create_internal_topic(
        &mut self,
        topic: NewTopic,
        property: &'static str,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let Some(controller) = self.controller_node() else {
            return;
        };
        let alive_brokers = self.metadata.live_brokers.len() as u32;
        if alive_brokers < topic.replication_factor {
            if self.refused_internal_topics.insert(topic.name.clone()) {
                ctx.trace(Event::InternalTopicRefused {
                    broker: self.id,
                    topic: topic.name,
                    alive_brokers,
                    replication_factor: topic.replication_factor,
                    property,
                });
            }
            return;
        }
        let correlation = self.correlation();
        ctx.send(
            controller,
            Message::CreateTopicsRequest(msg::CreateTopicsRequest {
                correlation,
                topic: Box::new(topic),
            }),
        );
    }

    /// Loads or unloads groups as leadership of `__consumer_offsets` partitions changes.
    pub(super) fn update_coordinator(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        let leading: Vec<u32> = self
            .replicas
            .iter()
            .filter(|(tp, r)| &*tp.topic == OFFSETS_TOPIC && r.is_leader())
            .map(|(tp, _)| tp.partition)
            .collect();
        let loaded: Vec<u32> = self.groups.partitions.iter().copied().collect();
        for p in loaded {
            if !leading.contains(&p) {
                ctx.scoped(BrokerTimer::Group, |ctx| self.groups.unload(p, ctx));
            }
        }
        for p in leading {
            let tp = TopicPartition::new(&TopicName::from(OFFSETS_TOPIC), p);
            if let Some(replica) = self.replicas.get(&tp) {
                ctx.scoped(BrokerTimer::Group, |ctx| {
                    self.groups.load(p, &replica.log, ctx)
                });
            }
        }
    }

    /// Appends the coordinator's records as leader with acks=all; the coordinator hears back
    /// once they are replicated to the ISR (or the append failed).
    pub(super) fn write_to_offsets_topic(
        &mut self,
        writes: Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        for write in writes {
            let tp = TopicPartition::new(&TopicName::from(OFFSETS_TOPIC), write.partition);
            let mut builder = BatchBuilder::default();
            for record in &write.records {
                let (key, value) = record.encode();
                builder.push(ctx.now.0, 0, Some(&key), &value);
            }
            let mut batch = match write.transactional {
                None => builder.finish(NO_PRODUCER_ID, -1, -1),
                Some((producer_id, epoch)) => {
                    let mut b = builder.finish(producer_id, epoch, -1);
                    b.is_transactional = true;
                    b
                }
            };
            match self.append_as_leader(&tp, &mut batch, Acks::All, Origin::Coordinator, ctx) {
                Err(e) => ctx.scoped(BrokerTimer::Group, |ctx| {
                    self.groups.on_write_done(write.then, Some(e), ctx)
                }),
                Ok((_, None)) => ctx.scoped(BrokerTimer::Group, |ctx| {
                    self.groups.on_write_done(write.then, None, ctx)
                }),
                Ok((base_offset, Some(required))) => {
                    self.delay(
                        tp,
                        base_offset,
                        required,
                        Waiter::Coordinator(write.then),
                        ctx,
                    );
                }
            }
        }
    }
}
