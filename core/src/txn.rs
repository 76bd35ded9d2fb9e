//! The transaction coordinator (KIP-98), as Kafka runs it on the leader of a
//! `__transaction_state` partition: it maps a `transactional.id` to a producer id and epoch,
//! bumps the epoch on every InitProducerId (fencing zombies), records which partitions a
//! transaction touched, and ends it in two phases: PrepareCommit/PrepareAbort is written to its
//! log, then COMMIT/ABORT markers go to every partition, then CompleteCommit/CompleteAbort.
//! Transactions left open longer than their timeout are aborted with a bumped epoch.

use crate::config::BrokerConfig;
use crate::group::coordinator_partition;
use crate::ids::{BrokerId, NodeId, TopicName, TopicPartition};
use crate::log::PartitionLog;
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{Correlation, ErrorCode, Message};
use crate::time::SimTime;
use crate::trace::Event;
use crate::vec_map::{VecMap, VecSet};
use serde::{Deserialize, Serialize};

pub const TRANSACTION_TOPIC: &str = "__transaction_state";
/// `transaction.state.log.num.partitions`.
pub const TRANSACTION_TOPIC_PARTITIONS: u32 = 50;
/// `transaction.abort.timed.out.transaction.cleanup.interval.ms`.
pub const EXPIRY_CHECK_INTERVAL_MS: u64 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
}

/// What `__transaction_state` holds per transactional id (the latest record wins).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: u64,
    pub state: TxnState,
    pub partitions: VecSet<TopicPartition>,
    pub started_at_us: u64,
}

impl TxnMetadata {
    pub fn encode(&self) -> (Vec<u8>, Vec<u8>) {
        let key = serde_json::json!(["txn", self.transactional_id]).to_string();
        let value = serde_json::to_string(self).unwrap_or_default();
        (key.into_bytes(), value.into_bytes())
    }

    /// Parsed as text, with the one JSON parser the page's code has.
    pub fn decode(value: &[u8]) -> Option<TxnMetadata> {
        serde_json::from_str(std::str::from_utf8(value).ok()?).ok()
    }
}

/// A record for `__transaction_state` and what follows once the ISR has it.
#[derive(Clone, Debug)]
pub struct TxnWrite {
    pub partition: u32,
    pub record: TxnMetadata,
    /// The client answer that waits for this write.
    pub reply: Option<(NodeId, Reply)>,
    /// Prepare* is durable: send the markers.
    pub send_markers: bool,
}

#[derive(Clone, Debug)]
pub enum Reply {
    InitProducerId {
        correlation: Correlation,
        producer_id: i64,
        producer_epoch: i16,
    },
    AddPartitions {
        correlation: Correlation,
    },
    AddOffsets {
        correlation: Correlation,
    },
    EndTxn {
        correlation: Correlation,
    },
}

impl Reply {
    pub fn message(&self, error: Option<ErrorCode>) -> Message {
        match *self {
            Reply::InitProducerId {
                correlation,
                producer_id,
                producer_epoch,
            } => Message::InitProducerIdResponse(msg::InitProducerIdResponse {
                correlation,
                error,
                producer_id: if error.is_none() { producer_id } else { -1 },
                producer_epoch: if error.is_none() { producer_epoch } else { -1 },
            }),
            Reply::AddPartitions { correlation } => {
                Message::AddPartitionsToTxnResponse(msg::AddPartitionsToTxnResponse {
                    correlation,
                    error,
                })
            }
            Reply::AddOffsets { correlation } => {
                Message::AddOffsetsToTxnResponse(msg::AddOffsetsToTxnResponse {
                    correlation,
                    error,
                })
            }
            Reply::EndTxn { correlation } => {
                Message::EndTxnResponse(msg::EndTxnResponse { correlation, error })
            }
        }
    }
}

/// Markers to send: to `leader`, for these partitions of one producer's transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerBatch {
    pub leader: BrokerId,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    pub partitions: Vec<TopicPartition>,
}

#[derive(Clone, Debug)]
struct Txn {
    meta: TxnMetadata,
    /// The `__transaction_state` partition holding it.
    partition: u32,
    /// Partitions whose marker is not written yet (during Prepare*).
    markers_pending: VecSet<TopicPartition>,
}

#[derive(Clone, Debug)]
pub struct TxnCoordinator {
    txns: VecMap<String, Txn>,
    /// `__transaction_state` partitions this broker leads and has loaded.
    pub partitions: VecSet<u32>,
    offsets_topic_partitions: u32,
}

impl TxnCoordinator {
    pub fn new(config: &BrokerConfig) -> TxnCoordinator {
        TxnCoordinator {
            txns: VecMap::new(),
            partitions: VecSet::new(),
            offsets_topic_partitions: config.offsets_topic_num_partitions.max(1),
        }
    }

    pub fn partition_for(transactional_id: &str) -> u32 {
        coordinator_partition(transactional_id, TRANSACTION_TOPIC_PARTITIONS)
    }

    fn owned_partition(&self, transactional_id: &str) -> Result<u32, ErrorCode> {
        let p = Self::partition_for(transactional_id);
        if self.partitions.contains(&p) {
            Ok(p)
        } else {
            Err(ErrorCode::NotCoordinator)
        }
    }

    /// Every transactional id this coordinator holds, for the view.
    pub fn transactions(&self) -> impl Iterator<Item = &TxnMetadata> + '_ {
        self.txns.values().map(|t| &t.meta)
    }

    /// Leading a `__transaction_state` partition: load its transactions; those caught in
    /// Prepare* get their markers sent again.
    pub fn load(&mut self, partition: u32, log: &PartitionLog) -> Vec<String> {
        if !self.partitions.insert(partition) {
            return Vec::new();
        }
        let mut latest: VecMap<String, TxnMetadata> = VecMap::new();
        log.for_each_batch(log.log_start_offset(), u64::MAX, |b| {
            for r in b.iter() {
                if let Some(meta) = TxnMetadata::decode(r.value) {
                    latest.insert(meta.transactional_id.clone(), meta);
                }
            }
            true
        });
        let mut resend = Vec::new();
        for (id, meta) in latest {
            let preparing = matches!(meta.state, TxnState::PrepareCommit | TxnState::PrepareAbort);
            let markers_pending = if preparing {
                resend.push(id.clone());
                meta.partitions.clone()
            } else {
                VecSet::new()
            };
            self.txns.insert(
                id,
                Txn {
                    meta,
                    partition,
                    markers_pending,
                },
            );
        }
        resend
    }

    pub fn unload(&mut self, partition: u32) {
        if self.partitions.remove(&partition) {
            self.txns.retain(|_, t| t.partition != partition);
        }
    }

    // ---- Requests ----

    /// Handles a transactional request: the records to write, and an answer to send now (the
    /// other answers go out once their write is replicated).
    pub fn handle(
        &mut self,
        client: NodeId,
        msg: Message,
        allocate_producer_id: impl FnOnce() -> i64,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> (Vec<TxnWrite>, Option<Message>) {
        match msg {
            Message::InitProducerIdRequest(msg::InitProducerIdRequest {
                correlation,
                transactional_id: Some(id),
                transaction_timeout_ms,
            }) => {
                let reply = |e| {
                    Reply::InitProducerId {
                        correlation,
                        producer_id: -1,
                        producer_epoch: -1,
                    }
                    .message(Some(e))
                };
                match self.init_producer_id(
                    client,
                    correlation,
                    &id,
                    transaction_timeout_ms,
                    allocate_producer_id,
                    ctx,
                ) {
                    Ok(writes) => (writes, None),
                    Err((writes, e)) => (writes, Some(reply(e))),
                }
            }
            Message::AddPartitionsToTxnRequest(msg::AddPartitionsToTxnRequest {
                correlation,
                transactional_id,
                producer_id,
                producer_epoch,
                partitions,
            }) => {
                let reply = Reply::AddPartitions { correlation };
                self.add_partitions(
                    client,
                    &transactional_id,
                    producer_id,
                    producer_epoch,
                    partitions,
                    reply,
                    ctx,
                )
            }
            Message::AddOffsetsToTxnRequest(msg::AddOffsetsToTxnRequest {
                correlation,
                transactional_id,
                producer_id,
                producer_epoch,
                group_id,
            }) => {
                let p = coordinator_partition(&group_id, self.offsets_topic_partitions);
                let tp = TopicPartition::new(&TopicName::from(crate::group::OFFSETS_TOPIC), p);
                let reply = Reply::AddOffsets { correlation };
                self.add_partitions(
                    client,
                    &transactional_id,
                    producer_id,
                    producer_epoch,
                    vec![tp],
                    reply,
                    ctx,
                )
            }
            Message::EndTxnRequest(msg::EndTxnRequest {
                correlation,
                transactional_id,
                producer_id,
                producer_epoch,
                commit,
            }) => self.end_txn(
                client,
                correlation,
                &transactional_id,
                producer_id,
                producer_epoch,
                commit,
                ctx,
            ),
            _ => (Vec::new(), None),
        }
    }

    #[allow(clippy::type_complexity)]
    fn init_producer_id(
        &mut self,
        client: NodeId,
        correlation: Correlation,
        transactional_id: &str,
        timeout_ms: u64,
        allocate: impl FnOnce() -> i64,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> Result<Vec<TxnWrite>, (Vec<TxnWrite>, ErrorCode)> {
        let partition = self
            .owned_partition(transactional_id)
            .map_err(|e| (Vec::new(), e))?;
        if timeout_ms == 0 || timeout_ms > crate::config::MAX_TRANSACTION_TIMEOUT_MS {
            return Err((Vec::new(), ErrorCode::InvalidTxnState));
        }
        let meta = match self.txns.get(transactional_id) {
            None => TxnMetadata {
                transactional_id: transactional_id.to_string(),
                producer_id: allocate(),
                producer_epoch: 0,
                timeout_ms,
                state: TxnState::Empty,
                partitions: VecSet::new(),
                started_at_us: ctx.now.0,
            },
            Some(t) => match t.meta.state {
                TxnState::PrepareCommit | TxnState::PrepareAbort => {
                    return Err((Vec::new(), ErrorCode::ConcurrentTransactions))
                }
                TxnState::Ongoing => {
                    // A new incarnation of the producer: abort what the old one left open,
                    // with a bumped epoch so the old one is fenced everywhere. The client
                    // retries on CONCURRENT_TRANSACTIONS until the abort completes.
                    let writes = self.begin_abort(transactional_id, "its producer restarted", ctx);
                    return Err((writes, ErrorCode::ConcurrentTransactions));
                }
                _ => TxnMetadata {
                    producer_epoch: t.meta.producer_epoch.saturating_add(1),
                    timeout_ms,
                    state: TxnState::Empty,
                    partitions: VecSet::new(),
                    ..t.meta.clone()
                },
            },
        };
        let reply = Reply::InitProducerId {
            correlation,
            producer_id: meta.producer_id,
            producer_epoch: meta.producer_epoch,
        };
        Ok(vec![self.stage(partition, meta, Some((client, reply)))])
    }

    /// The producer id and epoch must match the current ones.
    fn check_producer(&self, id: &str, producer_id: i64, epoch: i16) -> Result<u32, ErrorCode> {
        let partition = self.owned_partition(id)?;
        let t = self
            .txns
            .get(id)
            .ok_or(ErrorCode::InvalidProducerIdMapping)?;
        if t.meta.producer_id != producer_id {
            return Err(ErrorCode::InvalidProducerIdMapping);
        }
        if epoch < t.meta.producer_epoch {
            return Err(ErrorCode::ProducerFenced);
        }
        if epoch > t.meta.producer_epoch {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        Ok(partition)
    }

    #[allow(clippy::too_many_arguments)]
    fn add_partitions(
        &mut self,
        client: NodeId,
        id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: Vec<TopicPartition>,
        reply: Reply,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> (Vec<TxnWrite>, Option<Message>) {
        let partition = match self.check_producer(id, producer_id, epoch) {
            Ok(p) => p,
            Err(e) => return (Vec::new(), Some(reply.message(Some(e)))),
        };
        let t = &self.txns[id];
        if matches!(
            t.meta.state,
            TxnState::PrepareCommit | TxnState::PrepareAbort
        ) {
            return (
                Vec::new(),
                Some(reply.message(Some(ErrorCode::ConcurrentTransactions))),
            );
        }
        if t.meta.state == TxnState::Ongoing
            && partitions.iter().all(|p| t.meta.partitions.contains(p))
        {
            return (Vec::new(), Some(reply.message(None)));
        }
        let mut meta = t.meta.clone();
        if meta.state != TxnState::Ongoing {
            meta.partitions.clear();
            meta.started_at_us = ctx.now.0;
        }
        meta.state = TxnState::Ongoing;
        meta.partitions.extend(partitions);
        let write = self.stage(partition, meta, Some((client, reply)));
        (vec![write], None)
    }

    #[allow(clippy::too_many_arguments)]
    fn end_txn(
        &mut self,
        client: NodeId,
        correlation: Correlation,
        id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> (Vec<TxnWrite>, Option<Message>) {
        let reply = Reply::EndTxn { correlation };
        let partition = match self.check_producer(id, producer_id, epoch) {
            Ok(p) => p,
            Err(e) => return (Vec::new(), Some(reply.message(Some(e)))),
        };
        let t = &self.txns[id];
        let error = match (t.meta.state, commit) {
            (TxnState::Ongoing, _) => None,
            // A retry of an end already under way or done.
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                Some(ErrorCode::ConcurrentTransactions)
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => {
                return (Vec::new(), Some(reply.message(None)))
            }
            _ => Some(ErrorCode::InvalidTxnState),
        };
        if let Some(e) = error {
            return (Vec::new(), Some(reply.message(Some(e))));
        }
        let mut meta = t.meta.clone();
        meta.state = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        ctx.trace(Event::TransactionEnding {
            transactional_id: id.to_string(),
            producer_id,
            producer_epoch: epoch,
            commit,
            reason: None,
        });
        (
            vec![self.stage(partition, meta, Some((client, reply)))],
            None,
        )
    }

    /// Aborts an open transaction with a bumped epoch (timeout, or a new producer instance).
    fn begin_abort(&mut self, id: &str, why: &str, ctx: &mut Ctx<'_, impl Sized>) -> Vec<TxnWrite> {
        let Some(t) = self.txns.get(id) else {
            return Vec::new();
        };
        if t.meta.state != TxnState::Ongoing {
            return Vec::new();
        }
        let mut meta = t.meta.clone();
        meta.producer_epoch = meta.producer_epoch.saturating_add(1);
        meta.state = TxnState::PrepareAbort;
        ctx.trace(Event::TransactionEnding {
            transactional_id: id.to_string(),
            producer_id: meta.producer_id,
            producer_epoch: meta.producer_epoch,
            commit: false,
            reason: Some(why.to_string()),
        });
        let partition = t.partition;
        vec![self.stage(partition, meta, None)]
    }

    /// Takes a new state into memory (Kafka keeps it pending until the write lands; here a
    /// failed write leaves the client to retry) and returns its record to write.
    fn stage(
        &mut self,
        partition: u32,
        meta: TxnMetadata,
        reply: Option<(NodeId, Reply)>,
    ) -> TxnWrite {
        let preparing = matches!(meta.state, TxnState::PrepareCommit | TxnState::PrepareAbort);
        let markers_pending = if preparing {
            meta.partitions.clone()
        } else {
            VecSet::new()
        };
        self.txns.insert(
            meta.transactional_id.clone(),
            Txn {
                meta: meta.clone(),
                partition,
                markers_pending,
            },
        );
        TxnWrite {
            partition,
            record: meta,
            reply,
            send_markers: preparing,
        }
    }

    // ---- Markers ----

    /// The markers still to write for a transaction in Prepare*, grouped by partition leader.
    pub fn markers(
        &self,
        id: &str,
        leader_of: impl Fn(&TopicPartition) -> Option<BrokerId>,
    ) -> Vec<MarkerBatch> {
        let Some(t) = self.txns.get(id) else {
            return Vec::new();
        };
        let commit = match t.meta.state {
            TxnState::PrepareCommit => true,
            TxnState::PrepareAbort => false,
            _ => return Vec::new(),
        };
        let mut by_leader: VecMap<BrokerId, Vec<TopicPartition>> = VecMap::new();
        for tp in &t.markers_pending {
            if let Some(leader) = leader_of(tp) {
                by_leader.entry(leader).or_default().push(tp.clone());
            }
        }
        by_leader
            .into_iter()
            .map(|(leader, partitions)| MarkerBatch {
                leader,
                producer_id: t.meta.producer_id,
                producer_epoch: t.meta.producer_epoch,
                commit,
                partitions,
            })
            .collect()
    }

    /// Markers landed (or failed). When every partition has one: Complete*.
    pub fn on_markers_written(
        &mut self,
        producer_id: i64,
        results: Vec<(TopicPartition, Option<ErrorCode>)>,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> (Vec<TxnWrite>, Vec<String>) {
        let Some((id, t)) = self
            .txns
            .iter_mut()
            .find(|(_, t)| t.meta.producer_id == producer_id)
        else {
            return (Vec::new(), Vec::new());
        };
        let id = id.clone();
        for (tp, error) in &results {
            if error.is_none() {
                t.markers_pending.remove(tp);
            }
        }
        if !t.markers_pending.is_empty() {
            return (Vec::new(), vec![id]);
        }
        let mut meta = t.meta.clone();
        let committed = match meta.state {
            TxnState::PrepareCommit => true,
            TxnState::PrepareAbort => false,
            _ => return (Vec::new(), Vec::new()),
        };
        meta.state = if committed {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        ctx.trace(Event::TransactionEnded {
            transactional_id: id.clone(),
            producer_id,
            committed,
            partitions: meta.partitions.len() as u32,
        });
        meta.partitions.clear();
        let partition = t.partition;
        (vec![self.stage(partition, meta, None)], Vec::new())
    }

    /// Aborts transactions open longer than their timeout.
    pub fn expire(&mut self, ctx: &mut Ctx<'_, impl Sized>) -> Vec<TxnWrite> {
        let now = ctx.now;
        let expired: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, t)| {
                t.meta.state == TxnState::Ongoing
                    && now.since(SimTime(t.meta.started_at_us)) >= t.meta.timeout_ms * 1_000
            })
            .map(|(id, _)| id.clone())
            .collect();
        expired
            .into_iter()
            .flat_map(|id| self.begin_abort(&id, "it timed out (transaction.timeout.ms)", ctx))
            .collect()
    }

    /// Whether a transaction still owes markers to some partition.
    pub fn awaits_markers(&self, id: &str) -> bool {
        self.txns
            .get(id)
            .is_some_and(|t| !t.markers_pending.is_empty())
    }
}
