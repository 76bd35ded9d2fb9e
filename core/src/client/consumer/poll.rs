//! Kafka's `KafkaConsumer.poll` and the application loop around it: poll hands the
//! application up to `max.poll.records` buffered records, which it processes
//! (`processing_us` each) and commits in the order its delivery semantics choose; a pause
//! (a GC pause, a stuck handler) stops it calling poll, and the heartbeat thread leaves the
//! group once `max.poll.interval.ms` passes without one. Armed crashes and pauses strike at
//! the application's points.

use super::{Consumer, ConsumerTimer, Position};
use crate::client::group_member::MemberState;
use crate::ids::Offset;
use crate::node::Ctx;
use crate::protocol::Correlation;
use crate::scenario::{CommitMode, CrashPoint};
use crate::time::SimTime;
use crate::trace::Event;

/// Records handed to the application by one poll.
#[derive(Clone, Debug, Default)]
pub(super) struct Polled {
    /// Per partition: first and last offset, record count.
    pub(super) ranges: Vec<(u32, Offset, Offset, u32)>,
    pub(super) timestamps: Vec<u64>,
    pub(super) record_ids: Vec<u64>,
}

/// What an armed fault did at its point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Crashed,
    Paused,
}

#[derive(Clone, Debug)]
pub(super) enum App {
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

impl Consumer {
    /// Reaching a point where a crash or a pause may be armed: what it did, if anything.
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

    pub(super) fn run(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
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

    pub(super) fn start_processing(
        &mut self,
        records: Polled,
        ctx: &mut Ctx<'_, ConsumerTimer>,
    ) -> bool {
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

    /// Kafka's heartbeat thread: keeps the session alive, and leaves the group when the
    /// application has not polled within `max.poll.interval.ms`.
    pub(super) fn heartbeat_thread(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
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
}
