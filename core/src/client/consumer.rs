//! A Kafka consumer and the application around it. Without `group.id` it reads every partition
//! of its topic itself; with one it joins the group and reads what the group assigns it,
//! starting from the group's committed offsets.
//!
//! The application loop is Kafka's: `poll()` returns up to `max.poll.records` fetched records,
//! the application processes them (taking `processing_us` each) and commits — before
//! processing (at-most-once), after it (at-least-once), or through auto-commit inside the next
//! `poll()`. A scheduled crash can stop it between receiving and processing or between
//! processing and committing, which is where the delivery guarantees differ.

use super::group_member::{GroupMember, MemberEvent, MemberState};
use super::metadata::ClientMetadata;
use super::transactional::{GroupContext, TxnOutcome, TxnProducer};
use crate::config::IsolationLevel;
use crate::config::{AutoOffsetReset, ConsumerConfig};
use crate::histogram::Histogram;
use crate::ids::{BrokerId, NodeId, Offset, TopicName, TopicPartition};
use crate::node::{Ctx, TimerId};
use crate::protocol::{
    Correlation, ErrorCode, FetchPartition, FetchPartitionResponse, Message, OffsetSpec,
    FINAL_EPOCH, INVALID_SESSION_ID,
};
use crate::scenario::{CommitMode, ConsumerSpec, CrashPoint};
use crate::time::SimTime;
use crate::trace::Event;
use crate::vec_map::{VecMap, VecSet};
use std::collections::VecDeque;
use std::sync::Arc;

const FETCH_MAX_BYTES: u32 = 52_428_800;

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

#[derive(Clone, Copy, Debug)]
struct Fetched {
    offset: Offset,
    timestamp_us: u64,
    record_id: u64,
}

/// Records handed to the application by one poll.
#[derive(Clone, Debug, Default)]
struct Polled {
    /// Per partition: first and last offset, record count.
    ranges: Vec<(u32, Offset, Offset, u32)>,
    timestamps: Vec<u64>,
    record_ids: Vec<u64>,
}

/// What an armed fault did at its point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Crashed,
    Paused,
}

#[derive(Clone, Debug)]
enum App {
    /// Ready to call poll.
    Idle,
    /// Waiting for a synchronous commit, then process these records (at-most-once) or go on.
    Committing {
        correlation: Correlation,
        then: Option<Polled>,
    },
    Processing {
        records: Polled,
        done_at: SimTime,
    },
    /// Exactly-once: the transaction carrying these records' outputs and offsets is running.
    Transacting,
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

    /// Stop calling poll for a while (a long GC pause or a stuck handler).
    /// Pause when the application next reaches this point.
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

    fn auto_commit(&self) -> bool {
        self.commit_mode == CommitMode::Auto && self.config.enable_auto_commit
    }

    /// Reaching a crash point: returns true if the consumer crashed.
    /// Reaching a point where a crash or a pause may be armed.
    fn stop_here(&mut self, point: CrashPoint, ctx: &mut Ctx<'_, ConsumerTimer>) -> Option<Stop> {
        if self.crash_at == Some(point) {
            self.crash_at = None;
            ctx.crash_self();
            return Some(Stop::Crashed);
        }
        match self.pause_at {
            Some((at, ms)) if at == point => {
                self.pause_at = None;
                self.pause(ms, ctx);
                Some(Stop::Paused)
            }
            _ => None,
        }
    }

    // ---- The application loop ----

    fn run(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        self.refresh_metadata(ctx);
        self.drive_group(ctx);
        self.send_fetches(ctx);
        loop {
            if ctx.now < self.paused_until {
                return;
            }
            match std::mem::replace(&mut self.app, App::Idle) {
                App::Committing { correlation, then } => {
                    self.app = App::Committing { correlation, then };
                    return;
                }
                App::Processing { records, done_at } if ctx.now < done_at => {
                    self.app = App::Processing { records, done_at };
                    self.wake(done_at, ctx);
                    return;
                }
                App::Transacting => {
                    self.app = App::Transacting;
                    if self.txn.as_ref().is_some_and(|t| t.about_to_commit())
                        && self.stop_here(CrashPoint::BeforeCommit, ctx).is_some()
                    {
                        return;
                    }
                    self.drive_transaction(ctx);
                    return;
                }
                App::Processing { records, .. } => {
                    self.finish_processing(&records, ctx);
                    let transactional = self.commit_mode == CommitMode::Transactional;
                    if transactional {
                        self.begin_transaction(&records, ctx);
                    }
                    self.recycle(records);
                    if transactional {
                        continue;
                    }
                    match self.stop_here(CrashPoint::BeforeCommit, ctx) {
                        Some(Stop::Crashed) => return,
                        // Resume with nothing left to process: the commit follows the pause.
                        Some(Stop::Paused) => {
                            self.app = App::Processing {
                                records: Polled::default(),
                                done_at: self.paused_until,
                            };
                            return;
                        }
                        None => {}
                    }
                    if self.commit_mode == CommitMode::AfterProcessingAsync {
                        // commitAsync: fire and go on polling.
                        self.commit_positions(None, ctx);
                    }
                    if self.commit_mode == CommitMode::AfterProcessing {
                        if let Some(correlation) = self.commit_positions(None, ctx) {
                            self.app = App::Committing {
                                correlation,
                                then: None,
                            };
                            return;
                        }
                    }
                }
                App::Idle => {
                    if !self.poll(ctx) {
                        return;
                    }
                }
            }
        }
    }

    /// Kafka's `poll()`: group work, auto-commit, then hand buffered records to the
    /// application. Returns whether the application has something to do.
    fn poll(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) -> bool {
        self.last_poll = ctx.now;
        if let Some(txn) = self.txn.as_mut() {
            if !txn.is_ready() {
                let brokers = self.metadata.brokers.clone();
                txn.prepare(&brokers, ctx);
                let at = txn
                    .next_try()
                    .max(ctx.now.plus_ms(self.config.retry_backoff_ms));
                self.wake(at, ctx);
                return false;
            }
        }
        if self.auto_commit() && ctx.now >= self.next_auto_commit {
            self.next_auto_commit = ctx.now.plus_ms(self.config.auto_commit_interval_ms);
            self.commit_positions(None, ctx);
        }
        if self.group.as_ref().is_some_and(|g| !g.can_consume()) {
            return false;
        }
        let polled = self.take_records();
        if polled.timestamps.is_empty() {
            self.recycle(polled);
            self.send_fetches(ctx);
            return false;
        }
        if self.commit_mode == CommitMode::BeforeProcessing {
            if let Some(correlation) = self.commit_positions(None, ctx) {
                self.app = App::Committing {
                    correlation,
                    then: Some(polled),
                };
                return false;
            }
        }
        self.start_processing(polled, ctx)
    }

    fn start_processing(&mut self, records: Polled, ctx: &mut Ctx<'_, ConsumerTimer>) -> bool {
        let start = match self.stop_here(CrashPoint::BeforeProcess, ctx) {
            Some(Stop::Crashed) => return false,
            Some(Stop::Paused) => self.paused_until,
            None => ctx.now,
        };
        let done_at = start.plus_us(
            self.processing_us
                .saturating_mul(records.timestamps.len() as u64),
        );
        self.app = App::Processing { records, done_at };
        self.send_fetches(ctx);
        true
    }

    /// Exactly-once: one transaction for the outputs of these records and their offsets.
    fn begin_transaction(&mut self, records: &Polled, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let outputs = self
            .output_topic
            .as_ref()
            .and_then(|t| self.metadata.partitions(t))
            .map_or(0, |p| p.len() as u32);
        let (Some(txn), Some(member), true) = (self.txn.as_mut(), self.group.as_ref(), outputs > 0)
        else {
            // No output metadata yet: these records will be fetched again.
            self.rewind();
            return;
        };
        let mut out = Vec::with_capacity(records.record_ids.len());
        let mut i = 0;
        for &(partition, _, _, count) in &records.ranges {
            for _ in 0..count {
                out.push((
                    partition % outputs,
                    records.record_ids[i],
                    records.timestamps[i],
                ));
                i += 1;
            }
        }
        let offsets: Vec<(TopicPartition, Offset)> = records
            .ranges
            .iter()
            .map(|&(p, _, last, _)| (TopicPartition::new(&self.topic, p), last + 1))
            .collect();
        let group = group_context(member);
        txn.begin(&out, offsets, &group, ctx);
        if txn.in_transaction() {
            self.app = App::Transacting;
        } else {
            self.rewind();
        }
    }

    fn drive_transaction(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let (Some(txn), Some(member)) = (self.txn.as_mut(), self.group.as_ref()) else {
            return;
        };
        let group = group_context(member);
        let metadata = &self.metadata;
        txn.prepare(&metadata.brokers, ctx);
        txn.send_adds(&group, ctx);
        txn.advance(|tp| metadata.leader_for(tp), &group, ctx);
        if !txn.in_transaction() {
            self.app = App::Idle;
        } else {
            let at = txn
                .next_try()
                .max(ctx.now.plus_ms(self.config.retry_backoff_ms));
            self.wake(at, ctx);
        }
    }

    /// Forgets positions and buffered records: start again from the committed offsets.
    fn rewind(&mut self) {
        for state in self.partitions.values_mut() {
            state.position = Position::Committed;
            state.buffered.clear();
        }
    }

    fn take_records(&mut self) -> Polled {
        let mut polled = std::mem::take(&mut self.spare);
        let mut budget = self.config.max_poll_records.max(1) as usize;
        for (&p, state) in self.partitions.iter_mut() {
            if budget == 0 {
                break;
            }
            let n = state.buffered.len().min(budget);
            if n == 0 {
                continue;
            }
            let mut first = None;
            let mut last = 0;
            for f in state.buffered.drain(..n) {
                first.get_or_insert(f.offset);
                last = f.offset;
                polled.timestamps.push(f.timestamp_us);
                polled.record_ids.push(f.record_id);
            }
            state.position = Position::At(last + 1);
            polled
                .ranges
                .push((p, first.unwrap_or(last), last, n as u32));
            budget -= n;
        }
        polled
    }

    /// Keeps a poll's vectors for the next one.
    fn recycle(&mut self, mut records: Polled) {
        records.ranges.clear();
        records.timestamps.clear();
        records.record_ids.clear();
        self.spare = records;
    }

    fn finish_processing(&mut self, records: &Polled, ctx: &mut Ctx<'_, ConsumerTimer>) {
        for &ts in &records.timestamps {
            self.stats
                .end_to_end_latency_us
                .record(ctx.now.since(SimTime(ts)));
        }
        self.stats.consumed += records.timestamps.len() as u64;
        for &(partition, first, last, count) in &records.ranges {
            ctx.trace(Event::ConsumerProcessed {
                consumer: self.index,
                group: self.group_name.clone(),
                topic: self.topic.clone(),
                partition,
                first_offset: first,
                last_offset: last,
                records: count,
            });
        }
    }

    /// Commits the current positions (of `only` these partitions, if given).
    fn commit_positions(
        &mut self,
        only: Option<&[TopicPartition]>,
        ctx: &mut Ctx<'_, ConsumerTimer>,
    ) -> Option<Correlation> {
        let offsets: Vec<(TopicPartition, Offset)> = self
            .partitions
            .iter()
            .filter_map(|(&p, s)| match s.position {
                Position::At(o) => Some((TopicPartition::new(&self.topic, p), o)),
                _ => None,
            })
            .filter(|(tp, _)| only.is_none_or(|o| o.contains(tp)))
            .collect();
        let group = self.group.as_mut()?;
        let correlation = group.commit(offsets, ctx);
        if correlation.is_some() {
            self.stats.commits += 1;
        }
        correlation
    }

    // ---- Group membership ----

    fn drive_group(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let brokers = &self.metadata.brokers;
        let Some(group) = self.group.as_mut() else {
            return;
        };
        if matches!(group.state, MemberState::Failed(_)) || ctx.now < group.next_try() {
            if ctx.now < group.next_try() {
                let at = group.next_try();
                self.wake(at, ctx);
            }
            return;
        }
        if !group.ensure_coordinator(brokers, ctx) {
            let at = group
                .next_try()
                .max(ctx.now.plus_ms(self.config.retry_backoff_ms));
            self.wake(at, ctx);
            return;
        }
        // Rejoin happens inside poll: a busy application delays it (up to the rebalance
        // timeout, max.poll.interval.ms).
        let polling = matches!(self.app, App::Idle) && ctx.now >= self.paused_until;
        let joinable = matches!(group.state, MemberState::Unjoined | MemberState::Stable);
        if group.rejoin_needed
            && joinable
            && polling
            && self.metadata.partitions(&self.topic).is_some()
        {
            if !group.is_cooperative() {
                // Eager: `onPartitionsRevoked` for everything before rejoining.
                let generation = group.generation;
                let revoked = group.revoke_all();
                self.on_revoked(&revoked, true, ctx);
                if !revoked.is_empty() {
                    ctx.trace(Event::ConsumerAssigned {
                        consumer: self.index,
                        group: self.group_id().unwrap_or_default().to_string(),
                        generation,
                        assigned: Vec::new(),
                        revoked: revoked
                            .iter()
                            .map(|tp| (tp.topic.clone(), tp.partition))
                            .collect(),
                        owns: self.partitions.len() as u32,
                    });
                }
            }
            let group = self.group.as_mut().expect("checked above");
            group.join(&self.topic.clone(), ctx);
        }
        self.fetch_committed_offsets(ctx);
    }

    /// Revoked partitions: commit their progress (if this application commits), drop buffers.
    fn on_revoked(
        &mut self,
        revoked: &[TopicPartition],
        commit: bool,
        ctx: &mut Ctx<'_, ConsumerTimer>,
    ) {
        if revoked.is_empty() {
            return;
        }
        let commits = match self.commit_mode {
            CommitMode::Auto => self.auto_commit(),
            CommitMode::BeforeProcessing
            | CommitMode::AfterProcessing
            | CommitMode::AfterProcessingAsync => true,
            // Offsets go only through transactions.
            CommitMode::Transactional => false,
        };
        if commit && commits {
            self.commit_positions(Some(revoked), ctx);
        }
        for tp in revoked {
            self.partitions.remove(&tp.partition);
        }
    }

    fn fetch_committed_offsets(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let wanted: Vec<TopicPartition> = self
            .partitions
            .iter()
            .filter(|(_, s)| s.position == Position::Committed)
            .map(|(&p, _)| TopicPartition::new(&self.topic, p))
            .collect();
        if let Some(group) = self.group.as_mut() {
            if !group.offset_fetch_pending() {
                group.fetch_offsets(wanted, ctx);
            }
        }
    }

    fn on_member_events(&mut self, events: Vec<MemberEvent>, ctx: &mut Ctx<'_, ConsumerTimer>) {
        for event in events {
            match event {
                MemberEvent::Assigned {
                    generation,
                    added,
                    revoked,
                } => {
                    self.on_revoked(&revoked, true, ctx);
                    for tp in &added {
                        self.partitions.insert(
                            tp.partition,
                            PartitionState {
                                position: Position::Committed,
                                buffered: VecDeque::new(),
                            },
                        );
                    }
                    let list = |v: &[TopicPartition]| {
                        v.iter()
                            .map(|tp| (tp.topic.clone(), tp.partition))
                            .collect()
                    };
                    ctx.trace(Event::ConsumerAssigned {
                        consumer: self.index,
                        group: self.group_id().unwrap_or_default().to_string(),
                        generation,
                        assigned: list(&added),
                        revoked: list(&revoked),
                        owns: self.partitions.len() as u32,
                    });
                }
                MemberEvent::Lost(lost) => self.on_revoked(&lost, false, ctx),
                MemberEvent::Committed {
                    correlation,
                    result,
                } => {
                    if result.is_err() {
                        self.stats.failed_commits += 1;
                    }
                    if let App::Committing {
                        correlation: waiting,
                        then,
                    } = &mut self.app
                    {
                        if *waiting == correlation {
                            let then = then.take();
                            self.app = App::Idle;
                            // The commit failed (e.g. a rebalance): at-most-once still goes on
                            // to process, as an application catching CommitFailedException would.
                            if let Some(records) = then {
                                self.start_processing(records, ctx);
                            }
                        }
                    }
                }
                MemberEvent::OffsetsFetched(offsets) => {
                    for (tp, committed) in offsets {
                        if let Some(state) = self.partitions.get_mut(&tp.partition) {
                            if state.position == Position::Committed {
                                state.position = committed.map_or(Position::Reset, Position::At);
                            }
                        }
                    }
                }
                MemberEvent::Failed(_) => self.partitions.clear(),
            }
        }
    }

    // ---- Fetching ----

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

    /// Fetches every owned partition whose buffer is empty, one request per leader.
    fn send_fetches(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        if self.group.as_ref().is_some_and(|g| !g.can_consume()) {
            return;
        }
        let mut fetches = std::mem::take(&mut self.fetches);
        let mut resets: VecMap<BrokerId, Vec<(TopicPartition, OffsetSpec)>> = VecMap::new();
        let spec = match self.config.auto_offset_reset {
            AutoOffsetReset::Earliest => OffsetSpec::Earliest,
            AutoOffsetReset::Latest | AutoOffsetReset::None => OffsetSpec::Latest,
        };
        let mut stuck = Vec::new();
        let mut reconnect = false;
        // One lookup of the topic for all its partitions.
        let leaders = self.metadata.partitions(&self.topic).unwrap_or_default();
        for (&p, state) in self.partitions.iter_mut() {
            if state.position == Position::Reset
                && self.config.auto_offset_reset == AutoOffsetReset::None
            {
                state.position = Position::Stuck;
                stuck.push(p);
                continue;
            }
            let Some(leader) = leaders
                .iter()
                .find(|m| m.partition == p)
                .and_then(|m| m.leader)
            else {
                continue;
            };
            if !self.metadata.connectable(leader, ctx.now) {
                reconnect = true;
                continue;
            }
            if self.in_flight.contains_key(&leader) || !state.buffered.is_empty() {
                continue;
            }
            let tp = TopicPartition::new(&self.topic, p);
            match state.position {
                Position::At(offset) => fetches.entry(leader).or_default().push(FetchPartition {
                    tp,
                    fetch_offset: offset,
                    last_fetched_epoch: None,
                }),
                Position::Reset => resets.entry(leader).or_default().push((tp, spec)),
                Position::Committed | Position::Stuck => {}
            }
        }
        if reconnect {
            // A leader in reconnect backoff: fetch from it when the backoff ends.
            if let Some(at) = self.metadata.next_reconnect(ctx.now) {
                self.wake(at, ctx);
            }
        }
        for partition in stuck {
            ctx.trace(Event::ConsumerNoOffset {
                consumer: self.index,
                topic: self.topic.clone(),
                partition,
            });
        }
        for (broker, partitions) in resets {
            let correlation = self.correlation();
            fetches.remove(&broker);
            ctx.send(
                NodeId::Broker(broker),
                Message::ListOffsetsRequest {
                    correlation,
                    partitions,
                },
            );
            self.await_answer(broker, correlation, self.config.request_timeout_ms, ctx);
        }
        for (broker, partitions) in fetches.drain() {
            let correlation = self.correlation();
            ctx.send(
                NodeId::Broker(broker),
                Message::FetchRequest {
                    correlation,
                    replica_id: None,
                    isolation_level: self.config.isolation_level,
                    max_wait_ms: self.config.fetch_max_wait_ms,
                    min_bytes: self.config.fetch_min_bytes,
                    max_bytes: FETCH_MAX_BYTES,
                    // Consumers here fetch without a session (followers keep one, KIP-227):
                    // they name one to three partitions per broker.
                    session_id: INVALID_SESSION_ID,
                    session_epoch: FINAL_EPOCH,
                    partitions,
                    forgotten: Vec::new(),
                },
            );
            let timeout = self.config.request_timeout_ms + self.config.fetch_max_wait_ms;
            self.await_answer(broker, correlation, timeout, ctx);
        }
        self.fetches = fetches;
    }

    /// The request just sent to `broker` is in flight, and times out after `ms`.
    fn await_answer(
        &mut self,
        broker: BrokerId,
        correlation: Correlation,
        ms: u64,
        ctx: &mut Ctx<'_, ConsumerTimer>,
    ) {
        let timeout = ctx.timeout_in_ms(
            ms,
            ConsumerTimer::RequestTimeout {
                broker,
                correlation,
            },
        );
        self.in_flight.insert(broker, (correlation, timeout));
    }

    /// Ends the request in flight to `broker` if it is `correlation` (answered or timed out).
    /// Returns whether it was.
    fn finish_request(
        &mut self,
        broker: BrokerId,
        correlation: Correlation,
        ctx: &mut Ctx<'_, ConsumerTimer>,
    ) -> bool {
        if self
            .in_flight
            .get(&broker)
            .is_none_or(|(c, _)| *c != correlation)
        {
            return false;
        }
        if let Some((_, timeout)) = self.in_flight.remove(&broker) {
            ctx.cancel(timeout);
        }
        true
    }

    fn on_fetch_response(&mut self, partitions: Vec<FetchPartitionResponse>) {
        for p in partitions {
            let Some(state) = self.partitions.get_mut(&p.tp.partition) else {
                continue;
            };
            match p.error {
                Some(ErrorCode::OffsetOutOfRange) => {
                    state.position = Position::Reset;
                    continue;
                }
                Some(_) => {
                    self.metadata.invalidate();
                    continue;
                }
                None => {}
            }
            let Position::At(position) = state.position else {
                continue;
            };
            let mut next = position;
            // read_committed: Kafka's fetcher walks the aborted transactions in offset order,
            // skipping a producer's batches from its first aborted offset to its ABORT marker.
            let mut aborted = p.aborted_transactions.clone();
            crate::sort::sort_by_key(&mut aborted, |(_, first)| *first);
            let mut aborted = aborted.into_iter().peekable();
            let mut aborting: VecSet<i64> = VecSet::new();
            for batch in &p.batches {
                while let Some((pid, _)) =
                    aborted.next_if(|(_, first)| *first <= batch.last_offset())
                {
                    aborting.insert(pid);
                }
                if batch.is_control {
                    if batch.marker_commits() == Some(false) {
                        aborting.remove(&batch.producer_id);
                    }
                    continue;
                }
                if batch.is_transactional && aborting.contains(&batch.producer_id) {
                    continue;
                }
                for r in batch.iter() {
                    let offset = batch.base_offset + r.offset_delta as u64;
                    if offset >= next {
                        state.buffered.push_back(Fetched {
                            offset,
                            timestamp_us: r.timestamp_us,
                            record_id: r.record_id,
                        });
                        next = offset + 1;
                    }
                }
            }
            // A batch emptied by compaction still moves the position past it.
            if state.buffered.is_empty() {
                if let Some(last) = p.batches.last() {
                    state.position = Position::At(position.max(last.last_offset() + 1));
                }
            }
        }
    }

    // ---- Events ----

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let NodeId::Broker(broker) = from else { return };
        match msg {
            Message::MetadataResponse {
                correlation,
                brokers,
                topics,
                ..
            } => {
                self.metadata.on_response(
                    correlation,
                    brokers,
                    topics,
                    self.config.retry_backoff_ms,
                    ctx.now,
                );
            }
            Message::FetchResponse {
                correlation,
                partitions,
                ..
            } => {
                if self.finish_request(broker, correlation, ctx) {
                    self.on_fetch_response(partitions);
                }
            }
            Message::ListOffsetsResponse {
                correlation,
                partitions,
            } => {
                if self.finish_request(broker, correlation, ctx) {
                    for (tp, result) in partitions {
                        match result {
                            Ok(offset) => {
                                if let Some(state) = self.partitions.get_mut(&tp.partition) {
                                    state.position = Position::At(offset);
                                    ctx.trace(Event::ConsumerOffsetReset {
                                        consumer: self.index,
                                        topic: tp.topic.clone(),
                                        partition: tp.partition,
                                        offset,
                                    });
                                }
                            }
                            Err(_) => self.metadata.invalidate(),
                        }
                    }
                }
            }
            group_response => {
                if let Some(txn) = self.txn.as_mut() {
                    if let Message::ProduceResponse { partitions, .. } = &group_response {
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

    /// Kafka's heartbeat thread: keeps the session alive, and leaves the group when the
    /// application has not polled within `max.poll.interval.ms`.
    fn heartbeat_thread(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let stalled = ctx.now.since(self.last_poll) > self.config.max_poll_interval_ms * 1_000;
        let Some(group) = self.group.as_mut() else {
            return;
        };
        if stalled && group.state == MemberState::Stable {
            let group_id = group.group_id.clone();
            let revoked = group.leave("consumer poll timeout has expired", ctx);
            ctx.trace(Event::ConsumerPollTimeout {
                consumer: self.index,
                group: group_id,
            });
            self.on_revoked(&revoked, false, ctx);
            return;
        }
        group.heartbeat(ctx);
        let events = group.check_timeouts(ctx);
        self.on_member_events(events, ctx);
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

fn group_context(member: &GroupMember) -> GroupContext {
    GroupContext {
        group_id: member.group_id.clone(),
        coordinator: member.coordinator,
        generation: member.generation,
        member_id: member.member_id.clone(),
    }
}
