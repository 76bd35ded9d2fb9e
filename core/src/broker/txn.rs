//! The broker's side of transactions: FindCoordinator for a transactional id (creating
//! `__transaction_state` on first use), handing requests to its `TxnCoordinator`, persisting
//! its records with acks=all, sending WriteTxnMarkers, and, as a partition leader, writing the
//! markers it is sent.

use super::fetch::Watch;
use super::produce::{pending_answer, Origin, Waiter};
use super::{Broker, BrokerTimer};
use crate::config::{Acks, CleanupPolicy, TopicConfig};
use crate::group::coordinator::OFFSETS_TOPIC;
use crate::ids::{NodeId, TopicName, TopicPartition};
use crate::log::record::{BatchBuilder, RecordBatch, NO_PRODUCER_ID};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{Correlation, ErrorCode, Message, NewTopic, ProducePartitionResponse};
use crate::txn::{Reply, TxnWrite, TRANSACTION_TOPIC, TRANSACTION_TOPIC_PARTITIONS};

/// How long before markers that found no leader are tried again.
const MARKER_RETRY_MS: u64 = 100;

impl Broker {
    /// Asks the controller for `__transaction_state` as Kafka creates it: compacted, 100 MiB
    /// segments, `min.insync.replicas` = `transaction.state.log.min.isr`.
    pub(super) fn create_transaction_topic(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        let topic = NewTopic {
            name: TopicName::from(TRANSACTION_TOPIC),
            partitions: TRANSACTION_TOPIC_PARTITIONS,
            replication_factor: self.config.transaction_state_log_replication_factor,
            config: TopicConfig {
                cleanup_policy: Some(CleanupPolicy::Compact),
                min_insync_replicas: Some(self.config.transaction_state_log_min_isr),
                segment_bytes: Some(super::group::INTERNAL_TOPIC_SEGMENT_BYTES),
                unclean_leader_election_enable: Some(false),
                ..TopicConfig::default()
            },
        };
        self.create_internal_topic(topic, "transaction.state.log.replication.factor", ctx);
    }

    pub(super) fn handle_txn_request(
        &mut self,
        from: NodeId,
        msg: Message,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let next = &mut self.next_producer_id;
        let (writes, reply) = self.txns.handle(
            from,
            msg,
            || {
                *next += 1;
                *next
            },
            ctx,
        );
        if let Some(reply) = reply {
            ctx.send(from, reply);
        }
        self.write_txn_records(writes, ctx);
    }

    /// Appends transaction-state records with acks=all.
    pub(super) fn write_txn_records(
        &mut self,
        writes: Vec<TxnWrite>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        for write in writes {
            let tp = TopicPartition::new(&TopicName::from(TRANSACTION_TOPIC), write.partition);
            let (key, value) = write.record.encode();
            let mut builder = BatchBuilder::default();
            builder.push(ctx.now.0, 0, Some(&key), &value);
            let mut batch = builder.finish(NO_PRODUCER_ID, -1, -1);
            let markers_for = write
                .send_markers
                .then(|| write.record.transactional_id.clone());
            match self.append_as_leader(&tp, &mut batch, Acks::All, Origin::Coordinator, ctx) {
                Err(e) => self.on_txn_write_done(write.reply, markers_for, Some(e), ctx),
                Ok((_, None)) => self.on_txn_write_done(write.reply, markers_for, None, ctx),
                Ok((base_offset, Some(required))) => {
                    let waiter = Waiter::TxnCoordinator {
                        reply: write.reply,
                        markers_for,
                    };
                    self.delay(tp, base_offset, required, waiter, ctx);
                }
            }
        }
    }

    /// Parks an internal write until the HW reaches `required`.
    pub(super) fn delay(
        &mut self,
        tp: TopicPartition,
        base_offset: u64,
        required: u64,
        waiter: Waiter,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let answer = ProducePartitionResponse {
            tp,
            error: None,
            base_offset,
        };
        let timeout_ms = self.config.offsets_commit_timeout_ms;
        self.park_delayed_produce(waiter, vec![(answer, Some(required))], timeout_ms, ctx);
        self.complete_delayed(Watch::Moved, ctx);
    }

    pub(super) fn on_txn_write_done(
        &mut self,
        reply: Option<(NodeId, Reply)>,
        markers_for: Option<String>,
        error: Option<ErrorCode>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        if let Some((client, reply)) = reply {
            let error = error.map(|e| match e {
                ErrorCode::NotLeaderOrFollower => ErrorCode::NotCoordinator,
                ErrorCode::NotEnoughReplicas
                | ErrorCode::NotEnoughReplicasAfterAppend
                | ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
                other => other,
            });
            ctx.send(client, reply.message(error));
        }
        // The decision stands in memory even if its record failed: markers go out regardless.
        if let Some(id) = markers_for {
            self.send_markers(&id, ctx);
        }
    }

    /// Sends WriteTxnMarkers to the leaders of a preparing transaction's partitions.
    pub(super) fn send_markers(&mut self, transactional_id: &str, ctx: &mut Ctx<'_, BrokerTimer>) {
        let metadata = &self.metadata;
        let batches = self.txns.markers(transactional_id, |tp| {
            metadata.topics.get(&tp.topic)?.get(&tp.partition)?.leader
        });
        let pending = self.txns.awaits_markers(transactional_id);
        let covered: usize = batches.iter().map(|b| b.partitions.len()).sum();
        for b in batches {
            let correlation = self.correlation();
            ctx.send(
                NodeId::Broker(b.leader),
                Message::WriteTxnMarkersRequest(msg::WriteTxnMarkersRequest {
                    correlation,
                    producer_id: b.producer_id,
                    producer_epoch: b.producer_epoch,
                    commit: b.commit,
                    partitions: b.partitions,
                }),
            );
        }
        if pending && covered == 0 {
            ctx.timer_in_ms(
                MARKER_RETRY_MS,
                BrokerTimer::TxnRetryMarkers {
                    transactional_id: transactional_id.to_string(),
                },
            );
        }
    }

    pub(super) fn on_markers_response(
        &mut self,
        producer_id: i64,
        partitions: Vec<(TopicPartition, Option<ErrorCode>)>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let (writes, retry) = self.txns.on_markers_written(producer_id, partitions, ctx);
        self.write_txn_records(writes, ctx);
        for id in retry {
            ctx.timer_in_ms(
                MARKER_RETRY_MS,
                BrokerTimer::TxnRetryMarkers {
                    transactional_id: id,
                },
            );
        }
    }

    /// As a partition leader: write the markers, answer once replicated.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_write_markers(
        &mut self,
        from: NodeId,
        correlation: Correlation,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        partitions: Vec<TopicPartition>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let mut answers = Vec::new();
        for tp in partitions {
            let mut marker = RecordBatch::control(producer_id, producer_epoch, commit, ctx.now.0);
            let result =
                self.append_as_leader(&tp, &mut marker, Acks::All, Origin::Coordinator, ctx);
            if result.is_ok() && &*tp.topic == OFFSETS_TOPIC {
                ctx.scoped(BrokerTimer::Group, |ctx| {
                    self.groups
                        .on_txn_marker(tp.partition, producer_id, commit, ctx)
                });
            }
            answers.push(pending_answer(tp, result));
        }
        let waiter = Waiter::Markers {
            client: from,
            correlation,
            producer_id,
        };
        let timeout_ms = self.config.offsets_commit_timeout_ms;
        self.park_delayed_produce(waiter, answers, timeout_ms, ctx);
        self.complete_delayed(Watch::Moved, ctx);
    }

    /// Every `transaction.abort.timed.out.transaction.cleanup.interval.ms`: abort expired
    /// transactions and retry markers that are still owed.
    pub(super) fn on_txn_expiry_check(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        ctx.timer_in_ms(crate::txn::EXPIRY_CHECK_INTERVAL_MS, BrokerTimer::TxnExpiry);
        let writes = self.txns.expire(ctx);
        self.write_txn_records(writes, ctx);
    }

    /// Loads or unloads transactions as leadership of `__transaction_state` partitions moves.
    pub(super) fn update_txn_coordinator(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        let leading: Vec<u32> = self
            .replicas
            .iter()
            .filter(|(tp, r)| &*tp.topic == TRANSACTION_TOPIC && r.is_leader())
            .map(|(tp, _)| tp.partition)
            .collect();
        let loaded: Vec<u32> = self.txns.partitions.iter().copied().collect();
        for p in loaded {
            if !leading.contains(&p) {
                self.txns.unload(p);
            }
        }
        for p in leading {
            let tp = TopicPartition::new(&TopicName::from(TRANSACTION_TOPIC), p);
            let resend = match self.replicas.get(&tp) {
                Some(replica) => self.txns.load(p, &replica.log),
                None => continue,
            };
            for id in resend {
                self.send_markers(&id, ctx);
            }
        }
    }
}
