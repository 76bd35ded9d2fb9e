//! A Kafka consumer reading every partition of one topic (a manually assigned consumer; groups
//! come with the group coordinator). It fetches from each partition's leader, sees only records
//! below the HW, follows leader changes, and keeps its position per partition.

use super::metadata::ClientMetadata;
use crate::config::{AutoOffsetReset, ConsumerConfig};
use crate::ids::{BrokerId, NodeId, Offset, TopicName, TopicPartition};
use crate::protocol::{
    Correlation, ErrorCode, FetchPartition, FetchPartitionResponse, Message, OffsetSpec,
};
use crate::report::Histogram;
use crate::sim::ctx::{Ctx, Timer};
use crate::time::SimTime;
use crate::trace::Event;
use std::collections::BTreeMap;

const FETCH_MAX_BYTES: u32 = 52_428_800;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerTimer {
    Poll,
    RequestTimeout {
        broker: BrokerId,
        correlation: Correlation,
    },
}

#[derive(Clone, Debug, Default)]
pub struct ConsumerStats {
    pub consumed: u64,
    /// Records delivered again at an offset this consumer had already processed.
    pub duplicates: u64,
    pub end_to_end_latency_us: Histogram,
}

#[derive(Clone, Debug, Default)]
struct PartitionProgress {
    position: Option<Offset>,
    highest_processed: Option<Offset>,
}

#[derive(Clone, Debug)]
pub struct Consumer {
    pub index: u32,
    pub config: ConsumerConfig,
    pub topic: TopicName,
    metadata: ClientMetadata,
    partitions: BTreeMap<u32, PartitionProgress>,
    /// One request at a time per broker: correlation and whether it is a ListOffsets.
    in_flight: BTreeMap<BrokerId, Correlation>,
    next_correlation: Correlation,
    poll_scheduled: bool,
    pub stats: ConsumerStats,
}

impl Consumer {
    pub fn new(
        index: u32,
        topic: TopicName,
        config: ConsumerConfig,
        bootstrap: Vec<BrokerId>,
    ) -> Consumer {
        Consumer {
            index,
            config,
            topic,
            metadata: ClientMetadata::new(bootstrap),
            partitions: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            next_correlation: 0,
            poll_scheduled: false,
            stats: ConsumerStats::default(),
        }
    }

    /// Positions by partition (the next offset this consumer will read).
    pub fn positions(&self) -> BTreeMap<u32, Option<Offset>> {
        self.partitions
            .iter()
            .map(|(p, s)| (*p, s.position))
            .collect()
    }

    fn correlation(&mut self) -> Correlation {
        self.next_correlation += 1;
        self.next_correlation
    }

    pub fn start(&mut self, ctx: &mut Ctx<'_>) {
        self.poll(ctx);
    }

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        let correlation = self.next_correlation + 1;
        let topics = [self.topic.clone()];
        if self.metadata.maybe_refresh(
            &topics,
            correlation,
            self.config.metadata_max_age_ms,
            self.config.request_timeout_ms,
            ctx,
        ) {
            self.next_correlation = correlation;
        }
        if let Some(partitions) = self.metadata.partitions(&self.topic) {
            for p in partitions {
                self.partitions.entry(p.partition).or_default();
            }
        }
        let mut fetches: BTreeMap<BrokerId, Vec<FetchPartition>> = BTreeMap::new();
        let mut resets: BTreeMap<BrokerId, Vec<(TopicPartition, OffsetSpec)>> = BTreeMap::new();
        let spec = match self.config.auto_offset_reset {
            AutoOffsetReset::Earliest => OffsetSpec::Earliest,
            AutoOffsetReset::Latest | AutoOffsetReset::None => OffsetSpec::Latest,
        };
        for (&p, progress) in &self.partitions {
            let tp = TopicPartition::new(&self.topic, p);
            let Some(leader) = self.metadata.leader_for(&tp) else {
                continue;
            };
            if self.in_flight.contains_key(&leader) {
                continue;
            }
            match progress.position {
                Some(offset) => fetches.entry(leader).or_default().push(FetchPartition {
                    tp,
                    fetch_offset: offset,
                    last_fetched_epoch: None,
                }),
                None => resets.entry(leader).or_default().push((tp, spec)),
            }
        }
        for (broker, partitions) in resets {
            let correlation = self.correlation();
            self.in_flight.insert(broker, correlation);
            fetches.remove(&broker);
            ctx.send(
                NodeId::Broker(broker),
                Message::ListOffsetsRequest {
                    correlation,
                    partitions,
                },
            );
            ctx.timer_in_ms(
                self.config.request_timeout_ms,
                Timer::Consumer(ConsumerTimer::RequestTimeout {
                    broker,
                    correlation,
                }),
            );
        }
        for (broker, partitions) in fetches {
            let correlation = self.correlation();
            self.in_flight.insert(broker, correlation);
            ctx.send(
                NodeId::Broker(broker),
                Message::FetchRequest {
                    correlation,
                    replica_id: None,
                    max_wait_ms: self.config.fetch_max_wait_ms,
                    min_bytes: self.config.fetch_min_bytes,
                    max_bytes: FETCH_MAX_BYTES,
                    partitions,
                },
            );
            ctx.timer_in_ms(
                self.config.request_timeout_ms + self.config.fetch_max_wait_ms,
                Timer::Consumer(ConsumerTimer::RequestTimeout {
                    broker,
                    correlation,
                }),
            );
        }
        self.schedule_poll(ctx);
    }

    /// Wakes up again for metadata refreshes and for partitions that had no leader.
    fn schedule_poll(&mut self, ctx: &mut Ctx<'_>) {
        if self.poll_scheduled {
            return;
        }
        let at = self
            .metadata
            .next_refresh(self.config.metadata_max_age_ms)
            .unwrap_or(ctx.now.plus_ms(self.config.retry_backoff_ms))
            .max(ctx.now.plus_ms(self.config.retry_backoff_ms));
        self.poll_scheduled = true;
        ctx.timer_at(at, Timer::Consumer(ConsumerTimer::Poll));
    }

    fn on_fetch_response(&mut self, partitions: Vec<FetchPartitionResponse>, ctx: &mut Ctx<'_>) {
        for p in partitions {
            let Some(progress) = self.partitions.get_mut(&p.tp.partition) else {
                continue;
            };
            match p.error {
                Some(ErrorCode::OffsetOutOfRange) => {
                    progress.position = None;
                    continue;
                }
                Some(_) => {
                    self.metadata.invalidate();
                    continue;
                }
                None => {}
            }
            let Some(mut position) = progress.position else {
                continue;
            };
            let (mut first, mut count) = (None, 0u32);
            for batch in &p.batches {
                for r in batch.iter() {
                    let offset = batch.base_offset + r.offset_delta as u64;
                    if offset < position {
                        continue;
                    }
                    if progress.highest_processed.is_some_and(|h| offset <= h) {
                        self.stats.duplicates += 1;
                    }
                    progress.highest_processed =
                        Some(progress.highest_processed.map_or(offset, |h| h.max(offset)));
                    self.stats.consumed += 1;
                    self.stats
                        .end_to_end_latency_us
                        .record(ctx.now.since(SimTime(r.timestamp_us)));
                    first.get_or_insert(offset);
                    count += 1;
                    position = offset + 1;
                }
                // Past the whole batch, even where compaction left gaps.
                position = position.max(batch.last_offset() + 1);
            }
            progress.position = Some(position);
            if let Some(first) = first {
                ctx.trace(Event::ConsumerProcessed {
                    consumer: self.index,
                    topic: p.tp.topic.clone(),
                    partition: p.tp.partition,
                    first_offset: first,
                    last_offset: position - 1,
                    records: count,
                });
            }
        }
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx<'_>) {
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
                if self.in_flight.get(&broker) == Some(&correlation) {
                    self.in_flight.remove(&broker);
                    self.on_fetch_response(partitions, ctx);
                }
            }
            Message::ListOffsetsResponse {
                correlation,
                partitions,
            } => {
                if self.in_flight.get(&broker) == Some(&correlation) {
                    self.in_flight.remove(&broker);
                    for (tp, result) in partitions {
                        match result {
                            Ok(offset) => {
                                if let Some(progress) = self.partitions.get_mut(&tp.partition) {
                                    progress.position = Some(offset);
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
            _ => {}
        }
        self.poll(ctx);
    }

    pub fn on_timer(&mut self, timer: ConsumerTimer, ctx: &mut Ctx<'_>) {
        match timer {
            ConsumerTimer::Poll => self.poll_scheduled = false,
            ConsumerTimer::RequestTimeout {
                broker,
                correlation,
            } => {
                if self.in_flight.get(&broker) != Some(&correlation) {
                    return;
                }
                self.in_flight.remove(&broker);
                self.metadata.invalidate();
            }
        }
        self.poll(ctx);
    }

    pub fn on_disconnect(&mut self, broker: BrokerId, ctx: &mut Ctx<'_>) {
        self.metadata.on_disconnect(broker);
        if self.in_flight.remove(&broker).is_some() {
            self.metadata.invalidate();
        }
        self.poll(ctx);
    }
}
