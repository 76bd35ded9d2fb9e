//! The leader's side of `Produce`: append, answer at once for acks=1, park the answer for
//! acks=all until the HW passes the batch (Kafka's `DelayedProduce` purgatory), and keep the
//! ISR honest (shrink laggards, expand caught-up followers) through the controller.

use super::fetch::Watch;
use super::replica::{Replica, SequenceCheck};
use super::{Broker, BrokerTimer};
use crate::config::{Acks, CleanupPolicy};
use crate::group::coordinator::AfterWrite;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::log::record::RecordBatch;
use crate::node::{Ctx, TimerId};
use crate::protocol::msg;
use crate::protocol::{
    Correlation, ErrorCode, Message, OffsetSpec, PartitionState, ProducePartitionResponse,
};
use crate::trace::Event;

/// An acks=all answer waiting for replication.
#[derive(Clone, Debug)]
pub struct DelayedProduce {
    pub(super) waiter: Waiter,
    /// Per partition: the answer so far, and the offset the HW must reach (None = answered).
    pub(super) partitions: Vec<(ProducePartitionResponse, Option<Offset>)>,
    timeout: TimerId,
}

/// Who asks for an append: a client's produce is checked for duplicates and fencing; a
/// coordinator's own records are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Client,
    Coordinator,
}

/// Who is told when a delayed produce completes.
#[derive(Clone, Debug)]
pub enum Waiter {
    /// A producer, with a ProduceResponse.
    Client {
        client: NodeId,
        correlation: Correlation,
    },
    /// The group coordinator's own write to `__consumer_offsets`.
    Coordinator(AfterWrite),
    /// The transaction coordinator's write to `__transaction_state`.
    TxnCoordinator {
        reply: Option<(NodeId, crate::txn::Reply)>,
        markers_for: Option<String>,
    },
    /// Transaction markers, answered to the transaction coordinator.
    Markers {
        client: NodeId,
        correlation: Correlation,
        producer_id: i64,
    },
}

/// A partition's answer to an append, and the HW it waits for (acks=all).
pub(super) fn pending_answer(
    tp: TopicPartition,
    result: Result<(Offset, Option<Offset>), ErrorCode>,
) -> (ProducePartitionResponse, Option<Offset>) {
    let (error, base_offset, required) = match result {
        Ok((base, required)) => (None, base, required),
        Err(e) => (Some(e), 0, None),
    };
    let answer = ProducePartitionResponse {
        tp,
        error,
        base_offset,
    };
    (answer, required)
}

/// How long an AlterPartition may stay unanswered before the leader tries again.
const ALTER_PARTITION_TIMEOUT_MS: u64 = 30_000;

impl Broker {
    pub(super) fn handle_produce(
        &mut self,
        client: NodeId,
        request: msg::ProduceRequest,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let msg::ProduceRequest {
            correlation,
            acks,
            timeout_ms,
            partitions,
        } = request;
        let mut answers = Vec::with_capacity(partitions.len());
        let mut waiting = false;
        for (mut tp, mut batch) in partitions {
            // A parked produce looks its partitions up at every HW move: by pointer, then.
            self.replicas.use_own_name(&mut tp);
            let result = self.append_to_leader(&tp, &mut batch, acks, ctx);
            let answer = pending_answer(tp, result);
            waiting |= answer.1.is_some();
            answers.push(answer);
        }
        if waiting {
            let waiter = Waiter::Client {
                client,
                correlation,
            };
            self.park_delayed_produce(waiter, answers, timeout_ms, ctx);
        } else if acks != Acks::None {
            let partitions = answers.into_iter().map(|(a, _)| a).collect();
            ctx.send(
                client,
                Message::ProduceResponse(msg::ProduceResponse {
                    correlation,
                    partitions,
                }),
            );
        } else if answers.iter().any(|(a, _)| a.error.is_some()) {
            // acks=0 expects no answer, so an error closes the connection: the producer
            // learns something is wrong and refreshes its metadata (KafkaApis
            // `handleProduceRequest`).
            ctx.close_connection(client);
        }
        // Whatever the acks, parked fetches of the partitions just written wake now.
        self.complete_delayed(Watch::Moved, ctx);
    }

    /// Parks a produce until its partitions' HWs reach what it needs, or `timeout_ms` passes.
    pub(super) fn park_delayed_produce(
        &mut self,
        waiter: Waiter,
        partitions: Vec<(ProducePartitionResponse, Option<Offset>)>,
        timeout_ms: u64,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        self.next_delayed_id += 1;
        let id = self.next_delayed_id;
        let timeout = ctx.timeout_in_ms(timeout_ms, BrokerTimer::DelayedProduceExpired { id });
        let parked = DelayedProduce {
            waiter,
            partitions,
            timeout,
        };
        self.delayed_produces.insert(id, parked);
    }

    /// Appends as leader. Returns the base offset and, for acks=all, the HW to wait for.
    pub(super) fn append_to_leader(
        &mut self,
        tp: &TopicPartition,
        batch: &mut RecordBatch,
        acks: Acks,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) -> Result<(Offset, Option<Offset>), ErrorCode> {
        self.append_as_leader(tp, batch, acks, Origin::Client, ctx)
    }

    /// Appends as leader. Returns the base offset and, for acks=all, the HW to wait for.
    /// Coordinator writes (offsets, transaction state, markers) skip the sequence checks.
    pub(super) fn append_as_leader(
        &mut self,
        tp: &TopicPartition,
        batch: &mut RecordBatch,
        acks: Acks,
        origin: Origin,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) -> Result<(Offset, Option<Offset>), ErrorCode> {
        let Some(replica) = self.replicas.get_mut(tp) else {
            return Err(if self.metadata.topics.contains_key(&tp.topic) {
                ErrorCode::NotLeaderOrFollower
            } else {
                ErrorCode::UnknownTopicOrPartition
            });
        };
        if let Some(e) =
            replica.produce_error(acks == Acks::All, replica.log.config.min_insync_replicas)
        {
            return Err(e);
        }
        if replica.log.config.cleanup_policy == CleanupPolicy::Compact
            && batch.iter().any(|r| r.key.is_none())
        {
            return Err(ErrorCode::InvalidRecord);
        }
        let check = match origin {
            Origin::Client => replica.check_sequence(batch),
            Origin::Coordinator => SequenceCheck::Append,
        };
        match check {
            SequenceCheck::Duplicate(offset) => {
                let required =
                    (acks == Acks::All).then_some(offset + batch.last_offset_delta as u64 + 1);
                return Ok((
                    offset,
                    required.filter(|r| *r > replica.log.high_watermark()),
                ));
            }
            SequenceCheck::OutOfOrder => return Err(ErrorCode::OutOfOrderSequenceNumber),
            SequenceCheck::Fenced => return Err(ErrorCode::ProducerFenced),
            SequenceCheck::Append => {}
        }
        replica
            .log
            .append_as_leader(batch, replica.leader_epoch, ctx.now);
        replica.record_producer_batch(batch);
        ctx.trace(Event::RecordsAppended {
            broker: self.id,
            topic: tp.topic.clone(),
            partition: tp.partition,
            base_offset: batch.base_offset,
            last_offset: batch.last_offset(),
            records: batch.record_count,
            leader: true,
        });
        self.moved.push(tp.clone());
        self.settle_lazy(Some(tp));
        let required = (acks == Acks::All).then_some(batch.last_offset() + 1);
        self.advance_high_watermark(tp, ctx);
        Ok((batch.base_offset, required))
    }

    /// Recomputes a leader's HW; answers whatever was waiting on it.
    pub(super) fn advance_high_watermark(
        &mut self,
        tp: &TopicPartition,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        if let Some(replica) = self.replicas.get_mut(tp) {
            if advance_high_watermark(self.id, replica, ctx) {
                self.moved.push(tp.clone());
                self.settle_lazy(Some(tp));
            }
        }
    }

    /// Answers delayed produces and fetches that can be answered now: parked fetches of the
    /// partitions that `moved`, or with `Watch::All` every one (leadership changed).
    pub(super) fn complete_delayed(&mut self, watch: Watch, ctx: &mut Ctx<'_, BrokerTimer>) {
        let mut done = std::mem::take(&mut self.completed);
        for (id, delayed) in self.delayed_produces.iter_mut() {
            let mut all = true;
            for (answer, required) in delayed.partitions.iter_mut() {
                let Some(offset) = *required else { continue };
                match self.replicas.get(&answer.tp) {
                    Some(r) if r.is_leader() && r.log.high_watermark() >= offset => {
                        // Replicated, but Kafka still refuses if the ISR fell below the minimum.
                        if (r.isr.len() as u32) < r.log.config.min_insync_replicas {
                            answer.error = Some(ErrorCode::NotEnoughReplicasAfterAppend);
                        }
                        *required = None;
                    }
                    Some(r) if r.is_leader() => all = false,
                    _ => {
                        answer.error = Some(ErrorCode::NotLeaderOrFollower);
                        *required = None;
                    }
                }
            }
            if all {
                done.push(*id);
            }
        }
        for &id in &done {
            if let Some(d) = self.delayed_produces.remove(&id) {
                self.answer_produce(d, ctx);
            }
        }
        done.clear();
        self.completed = done;
        self.complete_delayed_fetches(watch, ctx);
    }

    pub(super) fn expire_delayed_produce(&mut self, id: u64, ctx: &mut Ctx<'_, BrokerTimer>) {
        let Some(d) = self.delayed_produces.remove(&id) else {
            return;
        };
        let mut d = d;
        for (a, required) in d.partitions.iter_mut() {
            if required.take().is_some() {
                a.error = Some(ErrorCode::RequestTimedOut);
            }
        }
        self.answer_produce(d, ctx);
    }

    fn answer_produce(&mut self, d: DelayedProduce, ctx: &mut Ctx<'_, BrokerTimer>) {
        ctx.cancel(d.timeout);
        let partitions: Vec<ProducePartitionResponse> =
            d.partitions.into_iter().map(|(a, _)| a).collect();
        match d.waiter {
            Waiter::Client {
                client,
                correlation,
            } => ctx.send(
                client,
                Message::ProduceResponse(msg::ProduceResponse {
                    correlation,
                    partitions,
                }),
            ),
            Waiter::Coordinator(then) => {
                let error = partitions.iter().find_map(|p| p.error);
                ctx.scoped(BrokerTimer::Group, |ctx| {
                    self.groups.on_write_done(then, error, ctx)
                });
            }
            Waiter::TxnCoordinator { reply, markers_for } => {
                let error = partitions.iter().find_map(|p| p.error);
                self.on_txn_write_done(reply, markers_for, error, ctx);
            }
            Waiter::Markers {
                client,
                correlation,
                producer_id,
            } => ctx.send(
                client,
                Message::WriteTxnMarkersResponse(msg::WriteTxnMarkersResponse {
                    correlation,
                    producer_id,
                    partitions: partitions.into_iter().map(|p| (p.tp, p.error)).collect(),
                }),
            ),
        }
    }

    /// Kafka's `maybeShrinkIsr` and `maybeExpandIsr`, sent to the controller as AlterPartition.
    pub(super) fn check_isr(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        // The followers' progress is read here: lazily recorded fetches count.
        self.settle_lazy(None);
        let lag_max_ms = self.config.replica_lag_time_max_ms;
        let tps: Vec<TopicPartition> = self
            .replicas
            .iter()
            .filter(|(_, r)| r.is_leader())
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in tps {
            let Some(replica) = self.replicas.get_mut(&tp) else {
                continue;
            };
            if replica
                .pending_isr
                .as_ref()
                .is_some_and(|(_, at)| ctx.now.since(*at) < ALTER_PARTITION_TIMEOUT_MS * 1_000)
            {
                continue;
            }
            replica.pending_isr = None;
            let lagging = replica.lagging_isr_members(self.id, ctx.now, lag_max_ms);
            if !lagging.is_empty() {
                let new_isr: Vec<BrokerId> = replica
                    .isr
                    .iter()
                    .copied()
                    .filter(|b| !lagging.contains(b))
                    .collect();
                self.send_alter_partition(&tp, new_isr, ctx);
            }
        }
    }

    /// Asks the controller to change the ISR (KIP-497 AlterPartition), one request in flight.
    pub(super) fn send_alter_partition(
        &mut self,
        tp: &TopicPartition,
        new_isr: Vec<BrokerId>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let Some(controller) = self.controller_node() else {
            return;
        };
        let correlation = self.correlation();
        let Some(replica) = self.replicas.get_mut(tp) else {
            return;
        };
        replica.pending_isr = Some((new_isr.clone(), ctx.now));
        ctx.send(
            controller,
            Message::AlterPartition(msg::AlterPartition {
                correlation,
                broker_id: self.id,
                tp: tp.clone(),
                leader_epoch: replica.leader_epoch,
                new_isr,
                partition_epoch: replica.partition_epoch,
            }),
        );
    }

    pub(super) fn on_alter_partition_response(
        &mut self,
        tp: TopicPartition,
        result: Result<PartitionState, ErrorCode>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        self.settle_lazy(Some(&tp));
        let Some(replica) = self.replicas.get_mut(&tp) else {
            return;
        };
        replica.pending_isr = None;
        let Ok(state) = result else { return };
        if state.leader_epoch != replica.leader_epoch || !replica.is_leader() {
            return;
        }
        let shrunk = state.isr.len() < replica.isr.len();
        replica.isr = state.isr.clone();
        replica.partition_epoch = state.partition_epoch;
        let event = if shrunk {
            Event::IsrShrunk {
                topic: tp.topic.clone(),
                partition: tp.partition,
                leader: self.id,
                isr: state.isr,
            }
        } else {
            Event::IsrExpanded {
                topic: tp.topic.clone(),
                partition: tp.partition,
                leader: self.id,
                isr: state.isr,
            }
        };
        ctx.trace(event);
        self.advance_high_watermark(&tp, ctx);
        self.complete_delayed(Watch::All, ctx);
    }

    pub(super) fn handle_list_offsets(
        &mut self,
        client: NodeId,
        correlation: Correlation,
        partitions: Vec<(TopicPartition, OffsetSpec)>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let partitions = partitions
            .into_iter()
            .map(|(tp, spec)| {
                let result = match self.replicas.get(&tp).filter(|r| r.is_leader()) {
                    Some(r) => Ok(match spec {
                        OffsetSpec::Earliest => r.log.log_start_offset(),
                        OffsetSpec::Latest => r.log.high_watermark(),
                    }),
                    None => Err(ErrorCode::NotLeaderOrFollower),
                };
                (tp, result)
            })
            .collect();
        ctx.send(
            client,
            Message::ListOffsetsResponse(msg::ListOffsetsResponse {
                correlation,
                partitions,
            }),
        );
    }

    /// Test hook: a leader replica, to break invariants on purpose.
    #[doc(hidden)]
    pub fn replica_mut(&mut self, tp: &TopicPartition) -> Option<&mut Replica> {
        self.replicas.get_mut(tp)
    }
}

/// Moves a leader's HW up to the smallest LEO in its ISR, and traces the move. Returns
/// whether it moved.
pub(super) fn advance_high_watermark(
    me: BrokerId,
    replica: &mut Replica,
    ctx: &mut Ctx<'_, BrokerTimer>,
) -> bool {
    let Some(hw) = replica.maybe_advance_high_watermark(me) else {
        return false;
    };
    ctx.trace(Event::HighWatermarkAdvanced {
        broker: me,
        topic: replica.tp.topic.clone(),
        partition: replica.tp.partition,
        high_watermark: hw,
    });
    true
}
