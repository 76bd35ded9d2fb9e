//! `Fetch` on both sides. As leader: answer followers (tracking their LEO for ISR and HW) and
//! consumers (only below the HW), parking a fetch with no data for up to `max_wait_ms`. As
//! follower: one fetcher per leader, truncating where its log diverged (KIP-101/KIP-595).

use super::produce::advance_high_watermark;
use super::replica::Replica;
use super::{Broker, BrokerTimer};
use crate::config::IsolationLevel;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::protocol::{Correlation, ErrorCode, FetchPartition, FetchPartitionResponse, Message};
use crate::sim::ctx::{Ctx, Timer, TimerId};
use crate::trace::Event;
use crate::vec_map::VecSet;

/// Replication's socket timeout: a fetch with no answer is sent again after this long.
const REPLICA_FETCH_TIMEOUT_MS: u64 = 30_000;
const REPLICA_FETCH_MAX_BYTES: u32 = 10 * 1024 * 1024;

/// A follower's fetcher for one leader (Kafka's `ReplicaFetcherThread`).
#[derive(Clone, Debug, Default)]
pub struct Fetcher {
    pub partitions: VecSet<TopicPartition>,
    /// The fetch awaiting its answer, and its timeout.
    pub in_flight: Option<(Correlation, TimerId)>,
}

impl Fetcher {
    /// Ends the fetch in flight if it is `correlation` (answered or timed out): its timeout.
    pub(super) fn finish(&mut self, correlation: Correlation) -> Option<TimerId> {
        let (_, timeout) = self.in_flight.take_if(|(c, _)| *c == correlation)?;
        Some(timeout)
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

/// A fetch parked until data arrives or its wait runs out (Kafka's `DelayedFetch`).
#[derive(Clone, Debug)]
pub struct DelayedFetch {
    client: NodeId,
    correlation: Correlation,
    replica_id: Option<BrokerId>,
    isolation: IsolationLevel,
    min_bytes: u32,
    max_bytes: u32,
    partitions: Vec<FetchPartition>,
    timeout: TimerId,
}

impl Broker {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_fetch(
        &mut self,
        client: NodeId,
        correlation: Correlation,
        replica_id: Option<BrokerId>,
        isolation: IsolationLevel,
        max_wait_ms: u64,
        min_bytes: u32,
        max_bytes: u32,
        partitions: Vec<FetchPartition>,
        ctx: &mut Ctx<'_>,
    ) {
        if let Some(follower) = replica_id {
            for p in &partitions {
                self.record_follower_fetch(
                    &p.tp,
                    follower,
                    p.fetch_offset,
                    p.last_fetched_epoch,
                    ctx,
                );
            }
            // Only a HW that moved can answer a parked produce or consumer fetch.
            if !self.moved.is_empty() {
                self.complete_delayed(Watch::Moved, ctx);
            }
        }
        let response = self.read_for_fetch(replica_id, isolation, max_bytes, &partitions);
        let bytes: usize = response
            .iter()
            .map(|p| p.batches.iter().map(|b| b.size_bytes()).sum::<usize>())
            .sum();
        let has_error = response
            .iter()
            .any(|p| p.error.is_some() || p.diverging_epoch.is_some());
        if bytes >= min_bytes as usize || has_error || max_wait_ms == 0 {
            ctx.send(
                client,
                Message::FetchResponse {
                    correlation,
                    to_replica: replica_id.is_some(),
                    partitions: response,
                },
            );
            return;
        }
        self.next_delayed_id += 1;
        let id = self.next_delayed_id;
        let timeout = ctx.timeout_in_ms(
            max_wait_ms,
            Timer::Broker(BrokerTimer::DelayedFetchExpired { id }),
        );
        self.delayed_fetches.insert(
            id,
            DelayedFetch {
                client,
                correlation,
                replica_id,
                isolation,
                min_bytes,
                max_bytes,
                partitions,
                timeout,
            },
        );
    }

    /// A follower fetched `tp` from `fetch_offset`: its LEO, then the HW and an ISR expansion
    /// that may follow, with one lookup (its fetch names every partition it follows).
    fn record_follower_fetch(
        &mut self,
        tp: &TopicPartition,
        follower: BrokerId,
        fetch_offset: u64,
        last_fetched_epoch: Option<u32>,
        ctx: &mut Ctx<'_>,
    ) {
        let Some(replica) = self.replicas.get_mut(tp).filter(|r| r.is_leader()) else {
            return;
        };
        // A fetch from a diverged log says nothing about the follower's progress.
        if let Some(epoch) = last_fetched_epoch {
            if replica
                .log
                .end_offset_for_epoch(epoch)
                .is_none_or(|(e, end)| e != epoch || end < fetch_offset)
            {
                return;
            }
        }
        replica.record_follower_fetch(follower, fetch_offset, ctx.now);
        if advance_high_watermark(self.id, replica, ctx) {
            self.moved.push(tp.clone());
        }
        // A follower caught up: ask the controller to add it to the ISR.
        if replica.pending_isr.is_none() && replica.can_join_isr(follower) {
            let mut new_isr = replica.isr.clone();
            new_isr.push(follower);
            self.send_alter_partition(tp, new_isr, ctx);
        }
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

    fn read_for_fetch(
        &self,
        replica_id: Option<BrokerId>,
        isolation: IsolationLevel,
        max_bytes: u32,
        partitions: &[FetchPartition],
    ) -> Vec<FetchPartitionResponse> {
        let mut budget = max_bytes as usize;
        partitions
            .iter()
            .map(|p| {
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
                if budget > 0 {
                    out.batches = replica.log.read(p.fetch_offset, max_offset, budget);
                    budget =
                        budget.saturating_sub(out.batches.iter().map(|b| b.size_bytes()).sum());
                }
                if isolation == IsolationLevel::ReadCommitted && replica_id.is_none() {
                    if let Some(last) = out.batches.last() {
                        out.aborted_transactions =
                            replica.aborted_between(p.fetch_offset, last.last_offset() + 1);
                    }
                }
                out
            })
            .collect()
    }

    /// Whether a parked fetch can be answered now: an error or a divergence to report, or at
    /// least `min_bytes` to read. Counts bytes in place, as Kafka's `DelayedFetch.tryComplete`
    /// does, instead of building a response it may not send yet. The partitions in `first`
    /// (those that moved) are counted first: the answer is the same in any order, and with
    /// the usual `min_bytes` of 1 a moved one decides it without visiting the idle rest.
    fn can_complete(&self, d: &DelayedFetch, first: &[TopicPartition]) -> bool {
        let min_bytes = d.min_bytes as usize;
        let mut bytes = 0usize;
        let moved = d.partitions.iter().filter(|p| first.contains(&p.tp));
        let idle = d.partitions.iter().filter(|p| !first.contains(&p.tp));
        for p in moved.chain(idle) {
            match self.fetch_bounds(d.replica_id, d.isolation, p) {
                Bounds::Read {
                    replica,
                    max_offset,
                } => replica.log.for_each_batch(p.fetch_offset, max_offset, |b| {
                    bytes += b.size_bytes();
                    bytes < min_bytes
                }),
                Bounds::Error(_) | Bounds::Diverging(..) | Bounds::OutOfRange(_) => return true,
            }
            if bytes >= min_bytes {
                return true;
            }
        }
        false
    }

    pub(super) fn complete_delayed_fetches(&mut self, watch: Watch, ctx: &mut Ctx<'_>) {
        let moved = std::mem::take(&mut self.moved);
        let watched = |d: &DelayedFetch| match watch {
            Watch::All => true,
            Watch::Moved => d.partitions.iter().any(|p| moved.contains(&p.tp)),
        };
        let ready: Vec<u64> = self
            .delayed_fetches
            .iter()
            .filter(|(_, d)| watched(d) && self.can_complete(d, &moved))
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            self.expire_delayed_fetch(id, ctx);
        }
    }

    /// Answers a parked fetch with whatever is there now.
    pub(super) fn expire_delayed_fetch(&mut self, id: u64, ctx: &mut Ctx<'_>) {
        let Some(d) = self.delayed_fetches.remove(&id) else {
            return;
        };
        ctx.cancel(d.timeout);
        let partitions = self.read_for_fetch(d.replica_id, d.isolation, d.max_bytes, &d.partitions);
        ctx.send(
            d.client,
            Message::FetchResponse {
                correlation: d.correlation,
                to_replica: d.replica_id.is_some(),
                partitions,
            },
        );
    }

    /// Sends the next fetch to `leader` for every partition followed from it.
    pub(super) fn maybe_fetch(&mut self, leader: BrokerId, ctx: &mut Ctx<'_>) {
        let Some(fetcher) = self.fetchers.get(&leader) else {
            return;
        };
        if fetcher.in_flight.is_some() || fetcher.partitions.is_empty() {
            return;
        }
        let partitions: Vec<FetchPartition> = fetcher
            .partitions
            .iter()
            .filter_map(|tp| {
                self.replicas.get(tp).map(|r| FetchPartition {
                    tp: tp.clone(),
                    fetch_offset: r.log.log_end_offset(),
                    last_fetched_epoch: r.log.latest_epoch(),
                })
            })
            .collect();
        let correlation = self.correlation();
        ctx.send(
            NodeId::Broker(leader),
            Message::FetchRequest {
                correlation,
                replica_id: Some(self.id),
                isolation_level: IsolationLevel::ReadUncommitted,
                max_wait_ms: self.config.replica_fetch_wait_max_ms,
                min_bytes: 1,
                max_bytes: REPLICA_FETCH_MAX_BYTES,
                partitions,
            },
        );
        let timeout = ctx.timeout_in_ms(
            REPLICA_FETCH_TIMEOUT_MS,
            Timer::Broker(BrokerTimer::FetchTimeout {
                leader,
                correlation,
            }),
        );
        self.fetchers.entry(leader).or_default().in_flight = Some((correlation, timeout));
    }

    pub(super) fn on_fetch_response(
        &mut self,
        leader: BrokerId,
        correlation: Correlation,
        partitions: Vec<FetchPartitionResponse>,
        ctx: &mut Ctx<'_>,
    ) {
        let Some(timeout) = self
            .fetchers
            .get_mut(&leader)
            .and_then(|f| f.finish(correlation))
        else {
            return;
        };
        ctx.cancel(timeout);
        let mut back_off = false;
        for p in partitions {
            let Some(replica) = self.replicas.get_mut(&p.tp) else {
                continue;
            };
            if replica.leader() != Some(leader) {
                continue;
            }
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
                Timer::Broker(BrokerTimer::FetchBackoff { leader }),
            );
        } else {
            self.maybe_fetch(leader, ctx);
        }
    }
}
