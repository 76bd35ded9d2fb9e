//! `Fetch` on both sides. As leader: answer followers (tracking their LEO for ISR and HW) and
//! consumers (only below the HW), parking a fetch with no data for up to `max_wait_ms`. As
//! follower: one fetcher per leader, truncating where its log diverged (KIP-101/KIP-595).

use super::fetch_session::{CachedPartition, FetchContext, FetchSessionHandler};
use super::produce::advance_high_watermark;
use super::replica::Replica;
use super::{Broker, BrokerTimer};
use crate::config::IsolationLevel;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::node::{Ctx, TimerId};
use crate::partition_map::{PartitionMap, PartitionSet};
use crate::protocol::msg;
use crate::protocol::{
    Correlation, ErrorCode, FetchPartition, FetchPartitionResponse, Message, INVALID_SESSION_ID,
};
use crate::time::SimTime;
use crate::trace::Event;
use crate::vec_map::VecSet;

/// Replication's socket timeout: a fetch with no answer is sent again after this long.
const REPLICA_FETCH_TIMEOUT_MS: u64 = 30_000;
const REPLICA_FETCH_MAX_BYTES: u32 = 10 * 1024 * 1024;

/// A follower's fetcher for one leader (Kafka's `ReplicaFetcherThread`).
#[derive(Clone, Debug, Default)]
pub struct Fetcher {
    partitions: PartitionSet,
    /// The fetch awaiting its answer, and its timeout.
    pub in_flight: Option<(Correlation, TimerId)>,
    session: FetchSessionHandler,
}

impl Fetcher {
    pub(super) fn follow(&mut self, tp: &TopicPartition) {
        self.partitions.add(tp);
        self.session.added(tp);
    }

    pub(super) fn unfollow(&mut self, tp: &TopicPartition) {
        if self.partitions.remove(tp).is_some() {
            self.session.removed(tp);
        }
    }

    /// Ends the fetch in flight if it is `correlation` (answered or timed out): its timeout.
    pub(super) fn finish(&mut self, correlation: Correlation) -> Option<TimerId> {
        let (_, timeout) = self.in_flight.take_if(|(c, _)| *c == correlation)?;
        Some(timeout)
    }

    /// The fetch in flight failed (timed out, or its connection closed): the next one is full.
    pub(super) fn failed(&mut self) -> Option<TimerId> {
        self.session.reset();
        self.in_flight.take().map(|(_, timeout)| timeout)
    }
}

/// Which parked fetches `complete_delayed` checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Watch {
    /// Those of partitions whose log end or HW moved (`Broker::moved`).
    Moved,
    /// All of them: leadership or the ISR changed.
    All,
}

/// Where a fetch of one partition may read (`fetch_bounds`).
enum Bounds<'a> {
    Read {
        replica: &'a Replica,
        max_offset: Offset,
    },
    Error(ErrorCode),
    /// The follower's log diverged from the leader's at this (epoch, end offset).
    Diverging(&'a Replica, (u32, Offset)),
    OutOfRange(&'a Replica),
}

enum Truncation {
    To(u64),
    StartAt(u64),
}

/// What recording a follower's fetch of one partition found.
enum Recorded {
    /// Records to read, something new to send, or an error.
    Busy,
    /// Nothing new for the follower; `in_sync` if it is an ISR member.
    Idle { in_sync: bool },
}

/// A fetch parked until data arrives or its wait runs out (Kafka's `DelayedFetch`).
#[derive(Clone, Debug)]
pub struct DelayedFetch {
    client: NodeId,
    correlation: Correlation,
    replica_id: Option<BrokerId>,
    isolation: IsolationLevel,
    min_bytes: u32,
    max_bytes: u32,
    context: FetchContext,
    /// For a follower's incremental fetch, the only partitions of its session that can have
    /// something to send when it completes: those with news when it parked, and those that
    /// moved since. `None`: any can (read them all).
    recheck: Option<Vec<TopicPartition>>,
    timeout: TimerId,
}

impl Broker {
    /// Answers a `Message::FetchRequest` now, or parks it (anything else is ignored).
    pub(super) fn handle_fetch(
        &mut self,
        client: NodeId,
        request: msg::FetchRequest,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let msg::FetchRequest {
            correlation,
            replica_id,
            isolation_level: isolation,
            max_wait_ms,
            min_bytes,
            max_bytes,
            session_id,
            session_epoch,
            partitions,
            forgotten,
        } = request;
        let partitions = self.canonical(partitions);
        let replicas = &mut self.replicas;
        let context = match self.fetch_sessions.new_context(
            replica_id,
            session_id,
            session_epoch,
            partitions,
            forgotten,
            ctx.now,
            &mut |tp, follower, offset, at| settle_follower(replicas, tp, follower, offset, at),
        ) {
            Ok(context) => context,
            Err(error) => return session_error(client, correlation, error, ctx),
        };
        let response = match (replica_id, &context) {
            (None, _) => self.read_for_fetch(None, isolation, max_bytes, &context),
            (Some(follower), FetchContext::Sessionless(partitions)) => {
                for p in partitions {
                    self.record_follower_fetch(p, follower, None, ctx);
                }
                self.read_for_fetch(replica_id, isolation, max_bytes, &context)
            }
            (Some(follower), FetchContext::Session { id, full }) => {
                // Every partition of the session, named in this fetch or not (as Kafka does),
                // read in the same pass: reading changes nothing the next one records.
                let mut session = self.fetch_sessions.take_partitions(*id);
                let mut budget = max_bytes as usize;
                let mut response = Vec::new();
                for cached in session.values_mut().filter(|c| !c.lazy) {
                    let idle = match self.record_follower_fetch(
                        &cached.fetch,
                        follower,
                        Some(cached),
                        ctx,
                    ) {
                        Recorded::Idle { in_sync } => {
                            cached.lazy = in_sync && !*full;
                            true
                        }
                        Recorded::Busy => false,
                    };
                    if *full || !idle {
                        response.extend(self.read_cached(replica_id, *full, cached, &mut budget));
                    }
                }
                self.fetch_sessions.put_back(*id, session);
                response
            }
        };
        // Only a HW that moved can answer a parked produce or consumer fetch.
        if replica_id.is_some() && !self.moved.is_empty() {
            self.complete_delayed(Watch::Moved, ctx);
        }
        let bytes: usize = response
            .iter()
            .map(|p| p.batches.iter().map(|b| b.size_bytes()).sum::<usize>())
            .sum();
        let has_error = response
            .iter()
            .any(|p| p.error.is_some() || p.diverging_epoch.is_some());
        if bytes >= min_bytes as usize || has_error || max_wait_ms == 0 {
            self.answer_fetch(client, correlation, replica_id, &context, response, ctx);
            return;
        }
        let recheck = match context {
            FetchContext::Session { full: false, .. } => {
                Some(response.into_iter().map(|p| p.tp).collect())
            }
            _ => None,
        };
        self.next_delayed_id += 1;
        let id = self.next_delayed_id;
        let timeout = ctx.timeout_in_ms(max_wait_ms, BrokerTimer::DelayedFetchExpired { id });
        self.delayed_fetches.insert(
            id,
            DelayedFetch {
                client,
                correlation,
                replica_id,
                isolation,
                min_bytes,
                max_bytes,
                context,
                recheck,
                timeout,
            },
        );
    }

    /// Sends a fetch's answer; its session remembers what it sent.
    fn answer_fetch(
        &mut self,
        client: NodeId,
        correlation: Correlation,
        replica_id: Option<BrokerId>,
        context: &FetchContext,
        partitions: Vec<FetchPartitionResponse>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let session_id = context.session_id();
        self.fetch_sessions.sent(session_id, &partitions);
        ctx.send(
            client,
            Message::FetchResponse(msg::FetchResponse {
                correlation,
                to_replica: replica_id.is_some(),
                error: None,
                session_id,
                partitions,
            }),
        );
    }

    /// A follower fetched `p.tp` from `p.fetch_offset`: its LEO, then the HW and an ISR
    /// expansion that may follow, with one lookup. Says whether the partition has nothing new
    /// for the follower (no records past its position, the HW and log start it was `sent`),
    /// so an incremental fetch need not read it.
    fn record_follower_fetch(
        &mut self,
        p: &FetchPartition,
        follower: BrokerId,
        sent: Option<&CachedPartition>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) -> Recorded {
        let FetchPartition {
            tp,
            fetch_offset,
            last_fetched_epoch,
        } = p;
        let (fetch_offset, last_fetched_epoch) = (*fetch_offset, *last_fetched_epoch);
        let Some(replica) = self.replicas.get_mut(tp).filter(|r| r.is_leader()) else {
            return Recorded::Busy;
        };
        // A fetch from a diverged log says nothing about the follower's progress.
        if let Some(epoch) = last_fetched_epoch {
            if replica
                .log
                .end_offset_for_epoch(epoch)
                .is_none_or(|(e, end)| e != epoch || end < fetch_offset)
            {
                return Recorded::Busy;
            }
        }
        // As in Kafka's `updateFollowerFetchState`, the HW is recomputed only when the
        // follower's LEO moved (most partitions of a session are idle at any moment).
        let leo_moved = replica.record_follower_fetch(follower, fetch_offset, ctx.now);
        let hw_moved = leo_moved && advance_high_watermark(self.id, replica, ctx);
        let log = &replica.log;
        let recorded = if fetch_offset == log.log_end_offset()
            && sent.is_some_and(|c| c.is_current(log.high_watermark(), log.log_start_offset()))
        {
            Recorded::Idle {
                in_sync: replica.isr.contains(&follower),
            }
        } else {
            Recorded::Busy
        };
        // A follower caught up: ask the controller to add it to the ISR.
        let join = (replica.pending_isr.is_none() && replica.can_join_isr(follower))
            .then(|| [replica.isr.as_slice(), &[follower]].concat());
        if hw_moved {
            self.moved.push(tp.clone());
            self.settle_lazy(Some(tp));
        }
        if let Some(new_isr) = join {
            self.send_alter_partition(tp, new_isr, ctx);
        }
        recorded
    }

    /// Ends the lazy recording of `tp`'s followers (all partitions' with `None`), writing the
    /// progress they made meanwhile (`CachedPartition::lazy`): its log end, HW, log start,
    /// ISR or leadership moved, or the leader is about to read the followers' progress.
    pub(super) fn settle_lazy(&mut self, tp: Option<&TopicPartition>) {
        let replicas = &mut self.replicas;
        self.fetch_sessions
            .take_lazy(tp, &mut |tp, follower, offset, at| {
                settle_follower(replicas, tp, follower, offset, at)
            });
    }

    /// Where a fetch of one partition may read, or why it gets no records. Shared by the
    /// answer and by a parked fetch's "can it complete?" check, which must agree.
    fn fetch_bounds(
        &self,
        replica_id: Option<BrokerId>,
        isolation: IsolationLevel,
        p: &FetchPartition,
    ) -> Bounds<'_> {
        let Some(replica) = self.replicas.get(&p.tp).filter(|r| r.is_leader()) else {
            return Bounds::Error(if self.metadata.topics.contains_key(&p.tp.topic) {
                ErrorCode::NotLeaderOrFollower
            } else {
                ErrorCode::UnknownTopicOrPartition
            });
        };
        let log = &replica.log;
        if replica_id.is_some() {
            if let Some(epoch) = p.last_fetched_epoch {
                match log.end_offset_for_epoch(epoch) {
                    Some((e, end)) if e == epoch && end >= p.fetch_offset => {}
                    Some(diverging) => return Bounds::Diverging(replica, diverging),
                    None => return Bounds::Diverging(replica, (0, log.log_start_offset())),
                }
            }
        }
        if p.fetch_offset < log.log_start_offset() || p.fetch_offset > log.log_end_offset() {
            return Bounds::OutOfRange(replica);
        }
        // Followers read up to the LEO; consumers only what is committed (below the HW),
        // and read_committed consumers only below the last stable offset.
        let max_offset = match (replica_id, isolation) {
            (Some(_), _) => log.log_end_offset(),
            (None, IsolationLevel::ReadUncommitted) => log.high_watermark(),
            (None, IsolationLevel::ReadCommitted) => replica.last_stable_offset(),
        };
        Bounds::Read {
            replica,
            max_offset,
        }
    }

    /// The partitions a fetch reads: those it names, or every partition of its session.
    fn fetched<'a>(
        &'a self,
        context: &'a FetchContext,
    ) -> impl Iterator<Item = &'a FetchPartition> + Clone {
        let (named, session) = match context {
            FetchContext::Sessionless(partitions) => (partitions.as_slice(), None),
            FetchContext::Session { id, .. } => (&[][..], Some(*id)),
        };
        let cached = session
            .into_iter()
            .flat_map(|id| self.session_partitions(id));
        named.iter().chain(cached.map(|c| &c.fetch))
    }

    /// Every partition of fetch session `id` (none if it is gone).
    fn session_partitions(&self, id: u32) -> impl Iterator<Item = &CachedPartition> + Clone {
        self.fetch_sessions
            .get(id)
            .into_iter()
            .flat_map(|s| s.partitions.values())
    }

    /// The answer to a fetch as things are now: every partition of a sessionless or full
    /// fetch; of an incremental one, only those its session must be told about.
    fn read_for_fetch(
        &self,
        replica_id: Option<BrokerId>,
        isolation: IsolationLevel,
        max_bytes: u32,
        context: &FetchContext,
    ) -> Vec<FetchPartitionResponse> {
        let mut budget = max_bytes as usize;
        let (full, session) = match context {
            FetchContext::Sessionless(partitions) => {
                return partitions
                    .iter()
                    .map(|p| self.read_partition(replica_id, isolation, p, &mut budget))
                    .collect();
            }
            FetchContext::Session { id, full } => (*full, *id),
        };
        self.session_partitions(session)
            .filter_map(|c| self.read_cached(replica_id, full, c, &mut budget))
            .collect()
    }

    /// A follower session partition's answer, if the fetch must list it: always in a `full`
    /// fetch, else only with something new (`CachedPartition::must_respond`).
    fn read_cached(
        &self,
        replica_id: Option<BrokerId>,
        full: bool,
        c: &CachedPartition,
        budget: &mut usize,
    ) -> Option<FetchPartitionResponse> {
        let isolation = IsolationLevel::ReadUncommitted;
        // Most partitions of a session are idle at any moment: no records past the fetcher's
        // position, and the HW and log start it was sent. Seen without building the answer.
        if !full {
            if let Bounds::Read {
                replica,
                max_offset,
            } = self.fetch_bounds(replica_id, isolation, &c.fetch)
            {
                let log = &replica.log;
                if c.fetch.fetch_offset >= max_offset
                    && c.is_current(log.high_watermark(), log.log_start_offset())
                {
                    return None;
                }
            }
        }
        let out = self.read_partition(replica_id, isolation, &c.fetch, budget);
        (full || c.must_respond(&out)).then_some(out)
    }

    /// The fetched partitions with the topic names of this broker's replicas, so that looking
    /// them up compares pointers, not names (a session keeps them).
    fn canonical(&self, mut partitions: Vec<FetchPartition>) -> Vec<FetchPartition> {
        for p in &mut partitions {
            self.replicas.use_own_name(&mut p.tp);
        }
        partitions
    }

    /// One partition's answer, reading at most `budget` bytes (what is read comes off it).
    fn read_partition(
        &self,
        replica_id: Option<BrokerId>,
        isolation: IsolationLevel,
        p: &FetchPartition,
        budget: &mut usize,
    ) -> FetchPartitionResponse {
        let mut out = FetchPartitionResponse {
            tp: p.tp.clone(),
            error: None,
            high_watermark: 0,
            last_stable_offset: 0,
            aborted_transactions: Vec::new(),
            log_start_offset: 0,
            diverging_epoch: None,
            batches: Vec::new(),
        };
        let (replica, max_offset) = match self.fetch_bounds(replica_id, isolation, p) {
            Bounds::Read {
                replica,
                max_offset,
            } => (replica, max_offset),
            Bounds::Error(code) => {
                out.error = Some(code);
                return out;
            }
            Bounds::Diverging(replica, diverging) => {
                out.high_watermark = replica.log.high_watermark();
                out.log_start_offset = replica.log.log_start_offset();
                out.diverging_epoch = Some(diverging);
                return out;
            }
            Bounds::OutOfRange(replica) => {
                out.high_watermark = replica.log.high_watermark();
                out.log_start_offset = replica.log.log_start_offset();
                out.last_stable_offset = replica.last_stable_offset();
                out.error = Some(ErrorCode::OffsetOutOfRange);
                return out;
            }
        };
        out.high_watermark = replica.log.high_watermark();
        out.log_start_offset = replica.log.log_start_offset();
        out.last_stable_offset = replica.last_stable_offset();
        if *budget > 0 {
            out.batches = replica.log.read(p.fetch_offset, max_offset, *budget);
            *budget = budget.saturating_sub(out.batches.iter().map(|b| b.size_bytes()).sum());
        }
        if isolation == IsolationLevel::ReadCommitted && replica_id.is_none() {
            if let Some(last) = out.batches.last() {
                out.aborted_transactions =
                    replica.aborted_between(p.fetch_offset, last.last_offset() + 1);
            }
        }
        out
    }

    /// Whether a parked fetch can be answered now: an error or a divergence to report, or at
    /// least `min_bytes` to read. Counts bytes in place, as Kafka's `DelayedFetch.tryComplete`
    /// does, instead of building a response it may not send yet. The partitions in `moved`
    /// are counted first: the answer is the same in any order, and with the usual `min_bytes`
    /// of 1 a moved one decides it without visiting the idle rest.
    fn can_complete(&self, d: &DelayedFetch, moved: &[TopicPartition], watch: Watch) -> bool {
        let min_bytes = d.min_bytes as usize;
        let mut bytes = 0usize;
        let enough = |p: &FetchPartition| match self.fetch_bounds(d.replica_id, d.isolation, p) {
            Bounds::Read {
                replica,
                max_offset,
            } => {
                replica.log.for_each_batch(p.fetch_offset, max_offset, |b| {
                    bytes += b.size_bytes();
                    bytes < min_bytes
                });
                bytes >= min_bytes
            }
            Bounds::Error(_) | Bounds::Diverging(..) | Bounds::OutOfRange(_) => true,
        };
        // A follower's fetch parked with nothing to read and no error anywhere (min_bytes 1):
        // until leadership changes (`Watch::All`), only a partition whose log end moved can
        // have something for it now.
        if watch == Watch::Moved && d.replica_id.is_some() && min_bytes <= 1 {
            return match &d.context {
                FetchContext::Sessionless(partitions) => partitions
                    .iter()
                    .filter(|p| moved.contains(&p.tp))
                    .any(enough),
                FetchContext::Session { id, .. } => {
                    let session = self.fetch_sessions.get(*id);
                    let cached = moved.iter().filter_map(|tp| session?.partitions.get(tp));
                    cached.map(|c| &c.fetch).any(enough)
                }
            };
        }
        let fetched = self.fetched(&d.context);
        let first = fetched.clone().filter(|p| moved.contains(&p.tp));
        let idle = fetched.filter(|p| !moved.contains(&p.tp));
        first.chain(idle).any(enough)
    }

    pub(super) fn complete_delayed_fetches(
        &mut self,
        watch: Watch,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let moved = std::mem::take(&mut self.moved);
        let watched = |d: &DelayedFetch| match watch {
            Watch::All => true,
            Watch::Moved => match &d.context {
                FetchContext::Sessionless(partitions) => {
                    partitions.iter().any(|p| moved.contains(&p.tp))
                }
                FetchContext::Session { id, .. } => self
                    .fetch_sessions
                    .get(*id)
                    .is_some_and(|s| moved.iter().any(|tp| s.partitions.contains_key(tp))),
            },
        };
        for d in self.delayed_fetches.values_mut() {
            match (watch, &mut d.recheck, &d.context) {
                (Watch::All, recheck, _) => *recheck = None,
                (Watch::Moved, Some(recheck), FetchContext::Session { id, .. }) => {
                    if let Some(session) = self.fetch_sessions.get(*id) {
                        let ours = moved
                            .iter()
                            .filter(|tp| session.partitions.contains_key(tp));
                        recheck.extend(ours.cloned());
                    }
                }
                _ => {}
            }
        }
        let mut ready = std::mem::take(&mut self.completed);
        ready.extend(
            self.delayed_fetches
                .iter()
                .filter(|(_, d)| watched(d) && self.can_complete(d, &moved, watch))
                .map(|(id, _)| *id),
        );
        for &id in &ready {
            self.expire_delayed_fetch(id, ctx);
        }
        ready.clear();
        self.completed = ready;
        // Keep the list's memory if nothing was added meanwhile.
        if self.moved.is_empty() {
            let mut moved = moved;
            moved.clear();
            self.moved = moved;
        }
    }

    /// Answers a parked fetch with whatever is there now.
    pub(super) fn expire_delayed_fetch(&mut self, id: u64, ctx: &mut Ctx<'_, BrokerTimer>) {
        let Some(d) = self.delayed_fetches.remove(&id) else {
            return;
        };
        ctx.cancel(d.timeout);
        if let FetchContext::Session { id, .. } = d.context {
            // The fetcher opened a new session meanwhile (it gave up on this fetch).
            if self.fetch_sessions.get(id).is_none() {
                let error = ErrorCode::FetchSessionIdNotFound;
                return session_error(d.client, d.correlation, error, ctx);
            }
        }
        let partitions = match (&d.context, d.recheck) {
            (FetchContext::Session { id, .. }, Some(mut recheck)) => {
                // Moves not yet seen by `complete_delayed_fetches` count too.
                recheck.extend(self.moved.iter().cloned());
                let session = self.fetch_sessions.get(*id);
                let recheck: VecSet<TopicPartition> = recheck.into_iter().collect();
                let mut budget = d.max_bytes as usize;
                recheck
                    .iter()
                    .filter_map(|tp| session?.partitions.get(tp))
                    .filter_map(|c| self.read_cached(d.replica_id, false, c, &mut budget))
                    .collect()
            }
            (context, _) => self.read_for_fetch(d.replica_id, d.isolation, d.max_bytes, context),
        };
        self.answer_fetch(
            d.client,
            d.correlation,
            d.replica_id,
            &d.context,
            partitions,
            ctx,
        );
    }

    /// Logs changed in ways `moved` does not record (retention, compaction, a replica
    /// removed): every parked fetch reads all its partitions when it completes.
    pub(super) fn recheck_all_parked(&mut self) {
        for d in self.delayed_fetches.values_mut() {
            d.recheck = None;
        }
    }

    /// Sends the next fetch to `leader` for the partitions followed from it: all of them in
    /// a full fetch, those whose position moved in an incremental one.
    pub(super) fn maybe_fetch(&mut self, leader: BrokerId, ctx: &mut Ctx<'_, BrokerTimer>) {
        let idle = |f: &Fetcher| f.in_flight.is_none() && !f.partitions.is_empty();
        if !self.fetchers.get(&leader).is_some_and(idle) {
            return;
        }
        let correlation = self.correlation();
        let Some(fetcher) = self.fetchers.get_mut(&leader) else {
            return;
        };
        let replicas = &self.replicas;
        let next = fetcher.session.next_fetch(&fetcher.partitions, |tp| {
            replicas
                .get(tp)
                .map(|r| (r.log.log_end_offset(), r.log.latest_epoch()))
        });
        ctx.send(
            NodeId::Broker(leader),
            Message::FetchRequest(msg::FetchRequest {
                correlation,
                replica_id: Some(self.id),
                isolation_level: IsolationLevel::ReadUncommitted,
                max_wait_ms: self.config.replica_fetch_wait_max_ms,
                min_bytes: 1,
                max_bytes: REPLICA_FETCH_MAX_BYTES,
                session_id: next.session_id,
                session_epoch: next.session_epoch,
                partitions: next.partitions,
                forgotten: next.forgotten,
            }),
        );
        let timeout = ctx.timeout_in_ms(
            REPLICA_FETCH_TIMEOUT_MS,
            BrokerTimer::FetchTimeout {
                leader,
                correlation,
            },
        );
        fetcher.in_flight = Some((correlation, timeout));
    }

    pub(super) fn on_fetch_response(
        &mut self,
        leader: BrokerId,
        correlation: Correlation,
        response: (Option<ErrorCode>, u32, Vec<FetchPartitionResponse>),
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let (error, session_id, partitions) = response;
        let Some(fetcher) = self.fetchers.get_mut(&leader) else {
            return;
        };
        let Some(timeout) = fetcher.finish(correlation) else {
            return;
        };
        ctx.cancel(timeout);
        if error.is_some() {
            // The session is gone (the leader restarted) or out of step: start a new one.
            fetcher.session.reset();
            self.maybe_fetch(leader, ctx);
            return;
        }
        fetcher.session.answered(session_id);
        let mut back_off = false;
        for p in partitions {
            let Some(replica) = self.replicas.get_mut(&p.tp) else {
                continue;
            };
            if replica.leader() != Some(leader) {
                continue;
            }
            fetcher.session.touched(&p.tp);
            let before = replica.log.log_end_offset();
            // Where the log must be cut back to: a diverging epoch (KIP-101), behind the
            // leader's retention (start over at its log start), or ahead of its end.
            let cut = match (p.diverging_epoch, p.error) {
                (Some((_, end_offset)), _) => Some(Truncation::To(end_offset.min(before))),
                (None, Some(ErrorCode::OffsetOutOfRange)) if before < p.log_start_offset => {
                    Some(Truncation::StartAt(p.log_start_offset))
                }
                (None, Some(ErrorCode::OffsetOutOfRange)) => Some(Truncation::To(
                    p.high_watermark.max(replica.log.high_watermark()),
                )),
                (None, Some(_)) => {
                    back_off = true;
                    continue;
                }
                (None, None) => None,
            };
            if let Some(cut) = cut {
                let to = match cut {
                    Truncation::To(offset) => replica.log.truncate_to(offset),
                    Truncation::StartAt(offset) => {
                        replica.log.truncate_fully_and_start_at(offset, ctx.now);
                        offset
                    }
                };
                replica.rebuild_producer_state();
                if to != before {
                    ctx.trace(Event::LogTruncated {
                        broker: self.id,
                        topic: p.tp.topic.clone(),
                        partition: p.tp.partition,
                        from: before,
                        to,
                    });
                }
                continue;
            }
            for batch in &p.batches {
                if replica.log.append_as_follower(batch, ctx.now) {
                    replica.record_producer_batch(batch);
                    ctx.trace(Event::RecordsAppended {
                        broker: self.id,
                        topic: p.tp.topic.clone(),
                        partition: p.tp.partition,
                        base_offset: batch.base_offset,
                        last_offset: batch.last_offset(),
                        records: batch.record_count,
                        leader: false,
                    });
                }
            }
            let hw = p.high_watermark.min(replica.log.log_end_offset());
            if hw > replica.log.high_watermark() {
                replica.log.set_high_watermark(hw);
                ctx.trace(Event::HighWatermarkAdvanced {
                    broker: self.id,
                    topic: p.tp.topic.clone(),
                    partition: p.tp.partition,
                    high_watermark: hw,
                });
            }
            replica.log.increment_log_start_offset(p.log_start_offset);
        }
        if back_off {
            ctx.timer_in_ms(
                self.config.replica_fetch_backoff_ms,
                BrokerTimer::FetchBackoff { leader },
            );
        } else {
            self.maybe_fetch(leader, ctx);
        }
    }
}

/// Answers a follower's fetch whose session is unknown or out of step: it starts a new one.
fn session_error(
    client: NodeId,
    correlation: Correlation,
    error: ErrorCode,
    ctx: &mut Ctx<'_, BrokerTimer>,
) {
    ctx.send(
        client,
        Message::FetchResponse(msg::FetchResponse {
            correlation,
            to_replica: true,
            error: Some(error),
            session_id: INVALID_SESSION_ID,
            partitions: Vec::new(),
        }),
    );
}

/// Writes what a follower's lazily recorded fetches of `tp` amounted to.
fn settle_follower(
    replicas: &mut PartitionMap<Replica>,
    tp: &TopicPartition,
    follower: BrokerId,
    fetch_offset: Offset,
    at: SimTime,
) {
    if let Some(replica) = replicas.get_mut(tp) {
        replica.settle_follower(follower, fetch_offset, at);
    }
}
