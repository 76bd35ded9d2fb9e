//! A Kafka consumer and the application around it. Without `group.id` it reads every partition
//! of its topic itself; with one it joins the group and reads what the group assigns it,
//! starting from the group's committed offsets.
//!
//! The application loop is Kafka's: `poll()` returns up to `max.poll.records` fetched records,
//! the application processes them (taking `processing_us` each) and commits — before
//! processing (at-most-once), after it (at-least-once), or through auto-commit inside the next
//! `poll()`. A scheduled crash can stop it between receiving and processing or between
//! processing and committing, which is where the delivery guarantees differ.
//!
//! This file holds the consumer's state and routes its events; the work is split as Kafka's
//! classes split it: [`fetcher`] (`Fetcher`: fetches, ListOffsets, buffered records),
//! [`poll`] (`KafkaConsumer.poll` and the application loop around it), [`commit`] (auto-commit,
//! commitSync/commitAsync, offsets inside a transaction) and [`rebalance`] (what
//! `ConsumerCoordinator` does with the group's answers: revoking, assigning, committed
//! positions).

mod commit;
mod fetcher;
mod poll;
mod rebalance;

use super::group_member::{GroupMember, MemberState};
use super::metadata::ClientMetadata;
use super::transactional::{TxnOutcome, TxnProducer};
use crate::config::ConsumerConfig;
use crate::config::IsolationLevel;
use crate::histogram::Histogram;
use crate::ids::{BrokerId, NodeId, Offset, TopicName};
use crate::node::{Ctx, TimerId};
use crate::protocol::msg;
use crate::protocol::{Correlation, FetchPartition, Message};
use crate::scenario::{CommitMode, ConsumerSpec, CrashPoint};
use crate::time::SimTime;
use crate::vec_map::VecMap;
use fetcher::Fetched;
use poll::{App, Polled};
use std::collections::VecDeque;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerTimer {
    /// Wake the application loop (processing done, pause over, retry due).
    Poll,
    /// The heartbeat thread: heartbeats, auto-commit deadlines and the poll-interval check.
    Heartbeat,
    RequestTimeout {
        broker: BrokerId,
        correlation: Correlation,
    },
}

#[derive(Clone, Debug, Default)]
pub struct ConsumerStats {
    /// Records the application finished processing.
    pub consumed: u64,
    pub commits: u64,
    pub failed_commits: u64,
    pub end_to_end_latency_us: Histogram,
}

/// Where the consumer stands in one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Position {
    /// Ask the group for its committed offset.
    Committed,
    /// Ask the leader for the offset `auto.offset.reset` names.
    Reset,
    At(Offset),
    /// No committed offset and `auto.offset.reset=none`.
    Stuck,
}

#[derive(Clone, Debug)]
struct PartitionState {
    position: Position,
    /// Fetched records not yet returned by poll.
    buffered: VecDeque<Fetched>,
}

#[derive(Clone, Debug)]
pub struct Consumer {
    pub index: u32,
    pub config: ConsumerConfig,
    pub topic: TopicName,
    /// Where an exactly-once application writes its results.
    pub output_topic: Option<TopicName>,
    /// The exactly-once application's transactional producer.
    pub txn: Option<TxnProducer>,
    commit_mode: CommitMode,
    processing_us: u64,
    metadata: ClientMetadata,
    pub group: Option<GroupMember>,
    partitions: VecMap<u32, PartitionState>,
    /// One fetch or ListOffsets at a time per broker, with its timeout.
    in_flight: VecMap<BrokerId, (Correlation, TimerId)>,
    next_correlation: Correlation,
    app: App,
    /// `group.id`, shared by the events that name it.
    group_name: Option<Arc<str>>,
    /// The vectors of the last records processed, emptied, for the next poll.
    spare: Polled,
    /// The fetches of one round by leader, emptied after it (kept for its memory).
    fetches: VecMap<BrokerId, Vec<FetchPartition>>,
    paused_until: SimTime,
    last_poll: SimTime,
    next_auto_commit: SimTime,
    crash_at: Option<CrashPoint>,
    pause_at: Option<(CrashPoint, u64)>,
    wake_at: Option<SimTime>,
    heartbeat_running: bool,
    pub stats: ConsumerStats,
}

impl Consumer {
    pub fn new(index: u32, spec: &ConsumerSpec, bootstrap: Vec<BrokerId>) -> Consumer {
        let mut config = spec.config.clone();
        let txn = match (&spec.output_topic, &config.group_id) {
            (Some(output), Some(group)) if spec.commit == CommitMode::Transactional => {
                // An exactly-once application reads committed data and commits offsets only
                // inside its transactions.
                config.isolation_level = IsolationLevel::ReadCommitted;
                config.enable_auto_commit = false;
                Some(TxnProducer::new(
                    format!("{group}-{index}"),
                    output.as_str().into(),
                    spec.transaction_timeout_ms,
                    config.retry_backoff_ms,
                ))
            }
            _ => None,
        };
        let group = config
            .group_id
            .clone()
            .map(|g| GroupMember::new(g, config.clone()));
        Consumer {
            index,
            topic: spec.topic.as_str().into(),
            output_topic: spec.output_topic.as_deref().map(TopicName::from),
            txn,
            commit_mode: spec.commit,
            processing_us: spec.processing_us,
            metadata: ClientMetadata::new(bootstrap),
            group,
            partitions: VecMap::new(),
            in_flight: VecMap::new(),
            next_correlation: 0,
            app: App::Idle,
            group_name: config.group_id.as_deref().map(Arc::from),
            spare: Polled::default(),
            fetches: VecMap::new(),
            paused_until: SimTime::ZERO,
            last_poll: SimTime::ZERO,
            next_auto_commit: SimTime::ZERO,
            crash_at: None,
            pause_at: None,
            wake_at: None,
            heartbeat_running: false,
            stats: ConsumerStats::default(),
            config,
        }
    }

    pub fn group_id(&self) -> Option<&str> {
        self.group.as_ref().map(|g| g.group_id.as_str())
    }

    /// Positions by partition (the next offset this consumer will read), for what it owns.
    pub fn positions(&self) -> VecMap<u32, Option<Offset>> {
        self.partitions
            .iter()
            .map(|(p, s)| {
                let at = match s.position {
                    Position::At(o) => Some(o),
                    _ => None,
                };
                (*p, at)
            })
            .collect()
    }

    /// Owns partitions but none of the group's: more members than partitions.
    pub fn is_idle(&self) -> bool {
        self.group
            .as_ref()
            .is_some_and(|g| g.state == MemberState::Stable && g.owned.is_empty())
    }

    /// Crash when the application next reaches this point.
    pub fn arm_crash(&mut self, point: CrashPoint) {
        self.crash_at = Some(point);
    }

    /// Stop calling poll for a while (a long GC pause or a stuck handler) when the application
    /// next reaches this point.
    pub fn arm_pause(&mut self, point: CrashPoint, ms: u64) {
        self.pause_at = Some((point, ms));
    }

    pub fn pause(&mut self, ms: u64, ctx: &mut Ctx<'_, ConsumerTimer>) {
        self.paused_until = ctx.now.plus_ms(ms);
        self.wake(self.paused_until, ctx);
    }

    /// `close()`: commit what was processed (with auto-commit), leave the group, shut down.
    pub fn close(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        if self.auto_commit() {
            self.commit_positions(None, ctx);
        }
        if let Some(group) = self.group.as_mut() {
            group.leave("the consumer is closing", ctx);
        }
        ctx.close_self();
    }

    fn correlation(&mut self) -> Correlation {
        self.next_correlation += 1;
        self.next_correlation
    }

    pub fn start(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        self.last_poll = ctx.now;
        self.next_auto_commit = ctx.now.plus_ms(self.config.auto_commit_interval_ms);
        if self.group.is_some() && !self.heartbeat_running {
            self.heartbeat_running = true;
            ctx.timer_in_ms(self.config.heartbeat_interval_ms, ConsumerTimer::Heartbeat);
        }
        self.run(ctx);
    }

    fn wake(&mut self, at: SimTime, ctx: &mut Ctx<'_, ConsumerTimer>) {
        if self.wake_at.is_some_and(|w| w <= at && w > ctx.now) {
            return;
        }
        self.wake_at = Some(at);
        ctx.timer_at(at, ConsumerTimer::Poll);
    }

    /// Metadata for the topics this consumer reads and writes; without a group, every
    /// partition of its topic is its own.
    fn refresh_metadata(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let correlation = self.next_correlation + 1;
        // Called at every poll: the topics are borrowed, not collected into a new list.
        let both;
        let topics = match &self.output_topic {
            Some(output) => {
                both = [self.topic.clone(), output.clone()];
                &both[..]
            }
            None => std::slice::from_ref(&self.topic),
        };
        if self.metadata.maybe_refresh(
            topics,
            correlation,
            self.config.metadata_max_age_ms,
            self.config.request_timeout_ms,
            ctx,
        ) {
            self.next_correlation = correlation;
        }
        if self.group.is_none() {
            if let Some(partitions) = self.metadata.partitions(&self.topic) {
                for p in partitions {
                    self.partitions
                        .entry(p.partition)
                        .or_insert(PartitionState {
                            position: Position::Reset,
                            buffered: VecDeque::new(),
                        });
                }
            }
        }
        if let Some(at) = self
            .metadata
            .next_refresh(self.config.metadata_max_age_ms, ctx.now)
        {
            let at = at.max(ctx.now.plus_ms(self.config.retry_backoff_ms));
            self.wake(at, ctx);
        }
    }

    // ---- Events ----

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let NodeId::Broker(broker) = from else {
            debug_assert!(false, "a consumer talks only to brokers, not {from:?}");
            return;
        };
        match msg {
            Message::MetadataResponse(msg::MetadataResponse {
                correlation,
                brokers,
                topics,
                ..
            }) => {
                self.metadata.on_response(
                    correlation,
                    brokers,
                    topics,
                    self.config.retry_backoff_ms,
                    ctx.now,
                );
            }
            Message::FetchResponse(msg::FetchResponse {
                correlation,
                partitions,
                ..
            }) => {
                if self.finish_request(broker, correlation, ctx) {
                    self.on_fetch_response(partitions);
                }
            }
            Message::ListOffsetsResponse(msg::ListOffsetsResponse {
                correlation,
                partitions,
            }) => {
                if self.finish_request(broker, correlation, ctx) {
                    self.on_list_offsets_response(partitions, ctx);
                }
            }
            group_response => {
                if let Some(txn) = self.txn.as_mut() {
                    if let Message::ProduceResponse(msg::ProduceResponse { partitions, .. }) =
                        &group_response
                    {
                        if partitions
                            .iter()
                            .any(|p| p.error.is_some_and(|e| e.invalidates_metadata()))
                        {
                            self.metadata.invalidate();
                        }
                    }
                    match txn.on_message(&group_response, ctx) {
                        Some(TxnOutcome::Committed) => self.app = App::Idle,
                        Some(TxnOutcome::Aborted) => {
                            self.app = App::Idle;
                            self.rewind();
                        }
                        None => {}
                    }
                }
                let partitions_per_topic: VecMap<TopicName, u32> = self
                    .metadata
                    .partitions(&self.topic)
                    .map(|p| (self.topic.clone(), p.len() as u32))
                    .into_iter()
                    .collect();
                if let Some(group) = self.group.as_mut() {
                    let events =
                        group.on_message(broker, group_response, &partitions_per_topic, ctx);
                    self.on_member_events(events, ctx);
                }
            }
        }
        self.run(ctx);
    }

    pub fn on_timer(&mut self, timer: ConsumerTimer, ctx: &mut Ctx<'_, ConsumerTimer>) {
        match timer {
            ConsumerTimer::Poll => {
                if self.wake_at.is_some_and(|w| w <= ctx.now) {
                    self.wake_at = None;
                }
            }
            ConsumerTimer::Heartbeat => {
                ctx.timer_in_ms(self.config.heartbeat_interval_ms, ConsumerTimer::Heartbeat);
                self.heartbeat_thread(ctx);
            }
            ConsumerTimer::RequestTimeout {
                broker,
                correlation,
            } => {
                if !self.finish_request(broker, correlation, ctx) {
                    return;
                }
                // Kafka closes the connection of a timed-out request; the group's coordinator
                // connection is a separate one and stays.
                self.metadata.on_disconnect(broker, ctx.now);
            }
        }
        self.run(ctx);
    }

    pub fn on_disconnect(&mut self, broker: BrokerId, ctx: &mut Ctx<'_, ConsumerTimer>) {
        self.metadata.on_disconnect(broker, ctx.now);
        if let Some((_, timeout)) = self.in_flight.remove(&broker) {
            ctx.cancel(timeout);
            self.metadata.invalidate();
        }
        if let Some(group) = self.group.as_mut() {
            let events = group.on_disconnect(broker, ctx);
            self.on_member_events(events, ctx);
        }
        if let Some(txn) = self.txn.as_mut() {
            txn.on_disconnect(broker, ctx);
        }
        self.run(ctx);
    }
}
