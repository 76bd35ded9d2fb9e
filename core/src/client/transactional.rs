//! The transactional producer inside an exactly-once consume-transform-produce application
//! (KIP-98, KIP-447): for each batch of processed input records it runs one transaction —
//! AddPartitionsToTxn and AddOffsetsToTxn, transactional Produce to the output topic,
//! TxnOffsetCommit of the input positions (fenced by the group generation), EndTxn — so the
//! outputs and the input offsets become visible together or not at all.

use super::{find_coordinator, random_correlation};
use crate::ids::{BrokerId, NodeId, Offset, TopicName, TopicPartition};
use crate::log::record::{BatchBuilder, RecordBatch};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{CoordinatorType, Correlation, ErrorCode, Message};
use crate::time::SimTime;
use crate::trace::Event;
use crate::vec_map::{VecMap, VecSet};

/// Bytes of each output record's value (the transformed input).
const OUTPUT_VALUE_BYTES: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// AddPartitionsToTxn and AddOffsetsToTxn answers outstanding.
    Adding(VecSet<Correlation>),
    /// Produce requests outstanding, by correlation: the output partitions they carry.
    Producing(VecMap<Correlation, Vec<u32>>),
    CommittingOffsets(Correlation),
    Ending {
        correlation: Option<Correlation>,
        commit: bool,
    },
}

/// One transaction: its output batches and the input offsets it commits.
#[derive(Clone, Debug)]
struct Run {
    step: Step,
    batches: VecMap<u32, RecordBatch>,
    offsets: Vec<(TopicPartition, Offset)>,
    /// Output partitions whose batch is acknowledged.
    produced: VecSet<u32>,
}

/// What the application learns when a transaction ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnOutcome {
    Committed,
    /// Aborted (the group moved on, or the producer was fenced): rewind to committed offsets.
    Aborted,
}

/// The group context a transaction commits offsets into.
#[derive(Clone, Debug)]
pub struct GroupContext {
    pub group_id: String,
    pub coordinator: Option<BrokerId>,
    pub generation: i32,
    pub member_id: String,
}

#[derive(Clone, Debug)]
pub struct TxnProducer {
    pub transactional_id: String,
    timeout_ms: u64,
    retry_backoff_ms: u64,
    output: TopicName,
    coordinator: Option<BrokerId>,
    finding: Option<Correlation>,
    init: Option<Correlation>,
    pub producer: Option<(i64, i16)>,
    sequences: VecMap<u32, i32>,
    run: Option<Run>,
    next_try: SimTime,
    pub committed: u64,
    pub aborted: u64,
}

impl TxnProducer {
    pub fn new(
        transactional_id: String,
        output: TopicName,
        timeout_ms: u64,
        retry_backoff_ms: u64,
    ) -> TxnProducer {
        TxnProducer {
            transactional_id,
            timeout_ms,
            retry_backoff_ms,
            output,
            coordinator: None,
            finding: None,
            init: None,
            producer: None,
            sequences: VecMap::new(),
            run: None,
            next_try: SimTime::ZERO,
            committed: 0,
            aborted: 0,
        }
    }

    pub fn is_ready(&self) -> bool {
        self.producer.is_some() && self.run.is_none()
    }
    pub fn in_transaction(&self) -> bool {
        self.run.is_some()
    }
    pub fn next_try(&self) -> SimTime {
        self.next_try
    }

    fn backoff(&mut self, ctx: &Ctx<'_, impl Sized>) {
        self.next_try = ctx.now.plus_ms(self.retry_backoff_ms);
    }

    fn lost_coordinator(&mut self, ctx: &Ctx<'_, impl Sized>) {
        self.coordinator = None;
        self.finding = None;
        self.backoff(ctx);
    }

    /// Finds the transaction coordinator and gets a producer id and epoch (which fences any
    /// earlier instance with the same transactional id).
    pub fn prepare(&mut self, brokers: &[BrokerId], ctx: &mut Ctx<'_, impl Sized>) {
        if ctx.now < self.next_try {
            return;
        }
        match self.coordinator {
            None if self.finding.is_none() => {
                self.finding = find_coordinator(
                    &self.transactional_id,
                    CoordinatorType::Transaction,
                    brokers,
                    ctx,
                );
            }
            Some(coordinator) if self.init.is_none() && self.producer.is_none() => {
                let correlation = random_correlation(ctx);
                self.init = Some(correlation);
                ctx.send(
                    NodeId::Broker(coordinator),
                    Message::InitProducerIdRequest(msg::InitProducerIdRequest {
                        correlation,
                        transactional_id: Some(self.transactional_id.clone()),
                        transaction_timeout_ms: self.timeout_ms,
                    }),
                );
            }
            _ => {}
        }
    }

    /// Starts a transaction for processed records: (output partition, record id, timestamp)
    /// each, committing `offsets` for `group`.
    pub fn begin(
        &mut self,
        records: &[(u32, u64, u64)],
        offsets: Vec<(TopicPartition, Offset)>,
        group: &GroupContext,
        ctx: &mut Ctx<'_, impl Sized>,
    ) {
        let Some((pid, epoch)) = self.producer else {
            return;
        };
        let mut builders: VecMap<u32, BatchBuilder> = VecMap::new();
        for &(partition, record_id, ts) in records {
            builders.entry(partition).or_default().push(
                ts,
                record_id,
                None,
                &[0u8; OUTPUT_VALUE_BYTES],
            );
        }
        let batches: VecMap<u32, RecordBatch> = builders
            .into_iter()
            .map(|(p, b)| {
                let seq = self.sequences.entry(p).or_insert(0);
                let count = b.record_count() as i32;
                let mut batch = b.finish(pid, epoch, *seq);
                *seq = seq.wrapping_add(count);
                batch.is_transactional = true;
                (p, batch)
            })
            .collect();
        self.run = Some(Run {
            step: Step::Adding(VecSet::new()),
            batches,
            offsets,
            produced: VecSet::new(),
        });
        self.send_adds(group, ctx);
    }

    /// Moves the current transaction on: sends what its step needs (also after a backoff).
    pub fn advance(
        &mut self,
        leader_of: impl Fn(&TopicPartition) -> Option<BrokerId>,
        group: &GroupContext,
        ctx: &mut Ctx<'_, impl Sized>,
    ) {
        if ctx.now < self.next_try {
            return;
        }
        let (Some((pid, epoch)), Some(run)) = (self.producer, self.run.as_mut()) else {
            return;
        };
        match &mut run.step {
            Step::Adding(_) | Step::CommittingOffsets(_) => {}
            Step::Producing(in_flight) => {
                let sent: VecSet<u32> = in_flight.values().flatten().copied().collect();
                let mut by_leader: VecMap<BrokerId, Vec<u32>> = VecMap::new();
                for p in run.batches.keys() {
                    if run.produced.contains(p) || sent.contains(p) {
                        continue;
                    }
                    if let Some(l) = leader_of(&TopicPartition::new(&self.output, *p)) {
                        by_leader.entry(l).or_default().push(*p);
                    }
                }
                for (leader, parts) in by_leader {
                    let c = random_correlation(ctx);
                    let partitions = parts
                        .iter()
                        .map(|p| {
                            (
                                TopicPartition::new(&self.output, *p),
                                run.batches[p].clone(),
                            )
                        })
                        .collect();
                    in_flight.insert(c, parts);
                    ctx.send(
                        NodeId::Broker(leader),
                        Message::ProduceRequest(msg::ProduceRequest {
                            correlation: c,
                            acks: crate::config::Acks::All,
                            timeout_ms: 30_000,
                            partitions,
                        }),
                    );
                }
                if in_flight.is_empty() && run.produced.len() == run.batches.len() {
                    let Some(coordinator) = group.coordinator else {
                        return;
                    };
                    let c = random_correlation(ctx);
                    run.step = Step::CommittingOffsets(c);
                    ctx.send(
                        NodeId::Broker(coordinator),
                        Message::TxnOffsetCommitRequest(msg::TxnOffsetCommitRequest {
                            correlation: c,
                            transactional_id: self.transactional_id.as_str().into(),
                            group_id: group.group_id.clone(),
                            producer_id: pid,
                            producer_epoch: epoch,
                            generation: group.generation,
                            member_id: group.member_id.as_str().into(),
                            offsets: run.offsets.clone(),
                        }),
                    );
                }
            }
            Step::Ending {
                correlation: None,
                commit,
            } => {
                let Some(coordinator) = self.coordinator else {
                    return;
                };
                let commit = *commit;
                let c = random_correlation(ctx);
                run.step = Step::Ending {
                    correlation: Some(c),
                    commit,
                };
                ctx.send(
                    NodeId::Broker(coordinator),
                    Message::EndTxnRequest(msg::EndTxnRequest {
                        correlation: c,
                        transactional_id: self.transactional_id.clone(),
                        producer_id: pid,
                        producer_epoch: epoch,
                        commit,
                    }),
                );
            }
            Step::Ending { .. } => {}
        }
    }

    /// Whether the transaction is about to send EndTxn(commit): the `before_commit` crash point.
    pub fn about_to_commit(&self) -> bool {
        matches!(
            self.run.as_ref().map(|r| &r.step),
            Some(Step::Ending {
                correlation: None,
                commit: true
            })
        )
    }

    fn abort(&mut self) {
        if let Some(run) = self.run.as_mut() {
            run.step = Step::Ending {
                correlation: None,
                commit: false,
            };
        }
    }

    /// A fenced producer can do nothing more: start again with a new epoch.
    fn fenced(&mut self, ctx: &mut Ctx<'_, impl Sized>) -> Option<TxnOutcome> {
        ctx.trace(Event::ProducerFenced {
            transactional_id: self.transactional_id.clone(),
        });
        self.producer = None;
        self.init = None;
        self.sequences.clear();
        self.run.take().map(|_| {
            self.aborted += 1;
            TxnOutcome::Aborted
        })
    }

    /// Handles a response; returns the transaction's outcome when it ends.
    pub fn on_message(
        &mut self,
        msg: &Message,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> Option<TxnOutcome> {
        match msg {
            Message::FindCoordinatorResponse(msg::FindCoordinatorResponse {
                correlation,
                error,
                coordinator,
            }) if self.finding == Some(*correlation) => {
                self.finding = None;
                match (error, coordinator) {
                    (None, Some(b)) => self.coordinator = Some(*b),
                    _ => self.backoff(ctx),
                }
                None
            }
            Message::InitProducerIdResponse(msg::InitProducerIdResponse {
                correlation,
                error,
                producer_id,
                producer_epoch,
            }) if self.init == Some(*correlation) => {
                self.init = None;
                match error {
                    None => {
                        self.producer = Some((*producer_id, *producer_epoch));
                        self.sequences.clear();
                    }
                    Some(e) if e.needs_coordinator_lookup() => self.lost_coordinator(ctx),
                    Some(_) => self.backoff(ctx),
                }
                None
            }
            Message::AddPartitionsToTxnResponse(msg::AddPartitionsToTxnResponse {
                correlation,
                error,
            })
            | Message::AddOffsetsToTxnResponse(msg::AddOffsetsToTxnResponse {
                correlation,
                error,
            }) => {
                let run = self.run.as_mut()?;
                let Step::Adding(waiting) = &mut run.step else {
                    return None;
                };
                if !waiting.remove(correlation) {
                    return None;
                }
                match error {
                    None if waiting.is_empty() => run.step = Step::Producing(VecMap::new()),
                    None => {}
                    Some(ErrorCode::ProducerFenced) => return self.fenced(ctx),
                    Some(e) if e.is_retriable() => {
                        // Ask again: both adds are idempotent.
                        let batches = run.batches.clone();
                        let offsets = run.offsets.clone();
                        self.run = None;
                        if e.needs_coordinator_lookup() {
                            self.lost_coordinator(ctx);
                        } else {
                            self.backoff(ctx);
                        }
                        self.retry_adds(batches, offsets);
                    }
                    Some(_) => self.abort(),
                }
                None
            }
            Message::ProduceResponse(msg::ProduceResponse {
                correlation,
                partitions,
            }) => {
                let run = self.run.as_mut()?;
                let Step::Producing(in_flight) = &mut run.step else {
                    return None;
                };
                in_flight.remove(correlation)?;
                for p in partitions {
                    match p.error {
                        None => {
                            run.produced.insert(p.tp.partition);
                        }
                        Some(ErrorCode::ProducerFenced) => return self.fenced(ctx),
                        Some(e) if e.is_retriable() => {
                            self.next_try = ctx.now.plus_ms(self.retry_backoff_ms)
                        }
                        Some(_) => {
                            self.abort();
                            return None;
                        }
                    }
                }
                None
            }
            Message::TxnOffsetCommitResponse(msg::TxnOffsetCommitResponse {
                correlation,
                partitions,
            }) => {
                let run = self.run.as_mut()?;
                if run.step != Step::CommittingOffsets(*correlation) {
                    return None;
                }
                match partitions.iter().find_map(|(_, e)| *e) {
                    None => {
                        run.step = Step::Ending {
                            correlation: None,
                            commit: true,
                        }
                    }
                    Some(ErrorCode::ProducerFenced) => return self.fenced(ctx),
                    Some(e)
                        if e.needs_coordinator_lookup()
                            || e == ErrorCode::CoordinatorLoadInProgress =>
                    {
                        // Send the offsets again once the group coordinator is found.
                        run.step = Step::Producing(VecMap::new());
                        self.backoff(ctx);
                    }
                    // The group moved on (KIP-447 fencing): these outputs must not count.
                    Some(_) => self.abort(),
                }
                None
            }
            Message::EndTxnResponse(msg::EndTxnResponse { correlation, error }) => {
                let run = self.run.as_ref()?;
                let Step::Ending {
                    correlation: Some(waiting),
                    commit,
                } = run.step
                else {
                    return None;
                };
                if waiting != *correlation {
                    return None;
                }
                match error {
                    None => {
                        self.run = None;
                        if commit {
                            self.committed += 1;
                            Some(TxnOutcome::Committed)
                        } else {
                            self.aborted += 1;
                            Some(TxnOutcome::Aborted)
                        }
                    }
                    Some(ErrorCode::ProducerFenced) | Some(ErrorCode::InvalidProducerEpoch) => {
                        self.fenced(ctx)
                    }
                    Some(e) => {
                        if let Some(run) = self.run.as_mut() {
                            run.step = Step::Ending {
                                correlation: None,
                                commit,
                            };
                        }
                        if e.needs_coordinator_lookup() {
                            self.lost_coordinator(ctx);
                        } else {
                            self.backoff(ctx);
                        }
                        None
                    }
                }
            }
            _ => None,
        }
    }

    /// Restarts a transaction at its first step (after a coordinator error on the adds).
    fn retry_adds(
        &mut self,
        batches: VecMap<u32, RecordBatch>,
        offsets: Vec<(TopicPartition, Offset)>,
    ) {
        self.run = Some(Run {
            step: Step::Adding(VecSet::new()),
            batches,
            offsets,
            produced: VecSet::new(),
        });
    }

    /// Sends AddPartitionsToTxn and AddOffsetsToTxn for a transaction at its first step with
    /// nothing in flight (when it begins, and again after a coordinator error).
    pub fn send_adds(&mut self, group: &GroupContext, ctx: &mut Ctx<'_, impl Sized>) {
        let (Some((pid, epoch)), Some(coordinator)) = (self.producer, self.coordinator) else {
            return;
        };
        if ctx.now < self.next_try {
            return;
        }
        let Some(run) = self.run.as_mut() else { return };
        if run.step != Step::Adding(VecSet::new()) {
            return;
        }
        let partitions: Vec<TopicPartition> = run
            .batches
            .keys()
            .map(|p| TopicPartition::new(&self.output, *p))
            .collect();
        let (add, add_offsets) = (random_correlation(ctx), random_correlation(ctx));
        run.step = Step::Adding([add, add_offsets].into());
        ctx.send(
            NodeId::Broker(coordinator),
            Message::AddPartitionsToTxnRequest(msg::AddPartitionsToTxnRequest {
                correlation: add,
                transactional_id: self.transactional_id.clone(),
                producer_id: pid,
                producer_epoch: epoch,
                partitions,
            }),
        );
        ctx.send(
            NodeId::Broker(coordinator),
            Message::AddOffsetsToTxnRequest(msg::AddOffsetsToTxnRequest {
                correlation: add_offsets,
                transactional_id: self.transactional_id.clone(),
                producer_id: pid,
                producer_epoch: epoch,
                group_id: group.group_id.clone(),
            }),
        );
    }

    /// A broker connection closed: requests to it are lost.
    pub fn on_disconnect(&mut self, broker: BrokerId, ctx: &mut Ctx<'_, impl Sized>) {
        if self.coordinator == Some(broker) {
            self.lost_coordinator(ctx);
            self.init = None;
            if let Some(run) = self.run.as_mut() {
                match run.step {
                    Step::Adding(_) => run.step = Step::Adding(VecSet::new()),
                    Step::Ending { commit, .. } => {
                        run.step = Step::Ending {
                            correlation: None,
                            commit,
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(run) = self.run.as_mut() {
            if let Step::Producing(in_flight) = &mut run.step {
                // Resent with the same sequence numbers: the leader drops duplicates.
                in_flight.clear();
                self.next_try = ctx.now.plus_ms(self.retry_backoff_ms);
            }
        }
    }
}
