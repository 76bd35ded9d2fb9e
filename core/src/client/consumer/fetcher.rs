//! The consumer's `Fetcher`: one Fetch per partition leader for the partitions whose buffers
//! are empty, their records (past aborted transactions, for read_committed) into the
//! buffers poll drains, and ListOffsets for a partition whose position `auto.offset.reset`
//! decides. One request is in flight per broker, with its timeout.

use super::{Consumer, ConsumerTimer, Position};
use crate::config::AutoOffsetReset;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{
    Correlation, ErrorCode, FetchPartition, FetchPartitionResponse, Message, OffsetSpec,
    FINAL_EPOCH, INVALID_SESSION_ID,
};
use crate::trace::Event;
use crate::vec_map::{VecMap, VecSet};

/// `fetch.max.bytes`: 50 MiB.
const FETCH_MAX_BYTES: u32 = 52_428_800;

/// A fetched record waiting in its partition's buffer for poll.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fetched {
    pub(super) offset: Offset,
    pub(super) timestamp_us: u64,
    pub(super) record_id: u64,
}

impl Consumer {
    /// Fetches every owned partition whose buffer is empty, one request per leader.
    pub(super) fn send_fetches(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
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
                Message::ListOffsetsRequest(msg::ListOffsetsRequest {
                    correlation,
                    partitions,
                }),
            );
            self.await_answer(broker, correlation, self.config.request_timeout_ms, ctx);
        }
        for (broker, partitions) in fetches.drain() {
            let correlation = self.correlation();
            ctx.send(
                NodeId::Broker(broker),
                Message::FetchRequest(msg::FetchRequest {
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
                }),
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
    pub(super) fn finish_request(
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

    pub(super) fn on_fetch_response(&mut self, partitions: Vec<FetchPartitionResponse>) {
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

    /// ListOffsets answered: the positions `auto.offset.reset` picked.
    pub(super) fn on_list_offsets_response(
        &mut self,
        partitions: Vec<(TopicPartition, Result<Offset, ErrorCode>)>,
        ctx: &mut Ctx<'_, ConsumerTimer>,
    ) {
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
