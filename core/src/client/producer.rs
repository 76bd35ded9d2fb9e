//! A Kafka producer: partitioner → accumulator (batches per partition, `linger.ms`,
//! `batch.size`) → sender (one request per leader, `max.in.flight.requests.per.connection`),
//! with acks 0/1/all, retries with backoff, metadata refresh on NOT_LEADER, `delivery.timeout.ms`
//! and idempotence (producer id + per-partition sequence numbers).

use super::metadata::ClientMetadata;
use crate::config::{Acks, ProducerConfig};
use crate::histogram::Histogram;
use crate::ids::{BrokerId, NodeId, TopicName, TopicPartition};
use crate::log::record::{BatchBuilder, RecordBatch, NO_PRODUCER_ID, RECORD_HEADER_BYTES};
use crate::node::{Ctx, TimerId};
use crate::partition_map::PartitionMap;
use crate::partitioner::{partition_for_key, NullKeyChooser};
use crate::protocol::msg;
use crate::protocol::{Correlation, ErrorCode, Message, ProducePartitionResponse};
use crate::scenario::{KeySpec, ProducerSpec};
use crate::time::SimTime;
use crate::trace::Event;
use crate::vec_map::VecMap;
use std::collections::VecDeque;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProducerTimer {
    /// The next records of the load are due.
    Generate,
    /// Something may be sendable now: a linger ran out, a retry backoff ended, metadata is due.
    Wake,
    RequestTimeout {
        correlation: Correlation,
    },
    /// A connection's ApiVersions handshake went unanswered
    /// (`socket.connection.setup.timeout.ms`).
    ConnectTimeout {
        broker: BrokerId,
        correlation: Correlation,
    },
}

/// `socket.connection.setup.timeout.ms`.
const CONNECTION_SETUP_TIMEOUT_MS: u64 = 10_000;

/// A connection to a broker, as Kafka's `NetworkClient` keeps it: batches go only to a ready
/// one, so while a leader is unreachable they wait in the accumulator instead of being sent
/// into the void.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connection {
    /// ApiVersions sent, not yet answered.
    Connecting {
        correlation: Correlation,
    },
    Ready,
}

/// A closed batch, waiting to be sent or in flight.
#[derive(Clone, Debug)]
struct ProducerBatch {
    tp: TopicPartition,
    batch: RecordBatch,
    created_at: SimTime,
    first_record_id: u64,
    attempts: u32,
    retry_at: SimTime,
    sequence_assigned: bool,
}

#[derive(Clone, Debug, Default)]
struct PartitionQueue {
    open: Option<(BatchBuilder, SimTime, u64)>,
    ready: VecDeque<ProducerBatch>,
    next_sequence: i32,
    next_record_seq: u32,
}

#[derive(Clone, Debug)]
struct InFlight {
    broker: BrokerId,
    batches: Vec<ProducerBatch>,
    timeout: TimerId,
}

/// What a producer has done, for the report.
#[derive(Clone, Debug, Default)]
pub struct ProducerStats {
    pub produced: u64,
    pub acked: u64,
    pub failed: u64,
    pub retries: u64,
    pub ack_latency_us: Histogram,
}

#[derive(Clone, Debug)]
pub struct Producer {
    pub index: u32,
    pub config: ProducerConfig,
    spec: Option<ProducerSpec>,
    metadata: ClientMetadata,
    topics: Vec<TopicName>,
    queues: PartitionMap<PartitionQueue>,
    in_flight: VecMap<Correlation, InFlight>,
    next_correlation: Correlation,
    producer_id: Option<(i64, i16)>,
    /// The broker and correlation an InitProducerId is waiting on, if any.
    init_pid_in_flight: Option<(BrokerId, Correlation)>,
    /// No InitProducerId before this (backoff after a failed one).
    init_pid_not_before: SimTime,
    chooser: NullKeyChooser,
    keys: Vec<Vec<u8>>,
    load_start: SimTime,
    generated: u64,
    blocked: bool,
    manual: VecDeque<(TopicName, Option<Vec<u8>>, Vec<u8>)>,
    wake_at: Option<SimTime>,
    /// The sender's batches by leader, emptied after each round (kept for its memory).
    per_broker: VecMap<BrokerId, Vec<ProducerBatch>>,
    connections: VecMap<BrokerId, Connection>,
    pub stats: ProducerStats,
}

/// Moves `queue`'s open batch to its ready ones (the accumulator closes it: full, or its
/// linger ran out).
fn close_open_batch(tp: &TopicPartition, queue: &mut PartitionQueue) {
    let Some((builder, created_at, first_record_id)) = queue.open.take() else {
        return;
    };
    let batch = builder.finish(NO_PRODUCER_ID, -1, -1);
    queue.ready.push_back(ProducerBatch {
        tp: tp.clone(),
        batch,
        created_at,
        first_record_id,
        attempts: 0,
        retry_at: created_at,
        sequence_assigned: false,
    });
}

/// Whether the sender would drain a partition's open batch now. Kafka seals a batch when the
/// sender drains it: while earlier batches wait or the leader's connection is not ready, the
/// last batch takes records until it is full.
fn drainable(
    tp: &TopicPartition,
    queue: &PartitionQueue,
    metadata: &ClientMetadata,
    connections: &VecMap<BrokerId, Connection>,
) -> bool {
    queue.ready.is_empty()
        && metadata
            .leader_for(tp)
            .is_some_and(|l| connections.get(&l) == Some(&Connection::Ready))
}

/// Batches waiting in the producer for a partition (Kafka's deque length, which adaptive
/// partitioning weighs).
fn queued_batches(queues: &PartitionMap<PartitionQueue>, tp: &TopicPartition) -> usize {
    queues
        .get(tp)
        .map_or(0, |q| q.ready.len() + usize::from(q.open.is_some()))
}

/// Value bytes for generated records (their content does not matter, only their size).
static VALUE_PAD: [u8; 65_536] = [b'v'; 65_536];

/// The load generator wakes at most this often: above 10,000 records/s it hands over all the
/// records due since its last wake-up at once, instead of one event per record.
const GENERATE_TICK_US: u64 = 100;

impl Producer {
    pub fn new(
        index: u32,
        spec: Option<ProducerSpec>,
        config: ProducerConfig,
        bootstrap: Vec<BrokerId>,
        ctx: &mut Ctx<'_, ProducerTimer>,
    ) -> Producer {
        let keys = match spec.as_ref().map(|s| &s.keys) {
            Some(KeySpec::Random { count } | KeySpec::Sequential { count }) => (0..*count)
                .map(|i| format!("key-{i}").into_bytes())
                .collect(),
            Some(KeySpec::Fixed { keys }) => keys.iter().map(|k| k.clone().into_bytes()).collect(),
            Some(KeySpec::None) | None => Vec::new(),
        };
        let topics = spec
            .iter()
            .map(|s| TopicName::from(s.topic.as_str()))
            .collect();
        Producer {
            index,
            chooser: NullKeyChooser::new(config.null_key_partitioner, ctx.rng),
            config,
            spec,
            metadata: ClientMetadata::new(bootstrap),
            topics,
            queues: PartitionMap::default(),
            in_flight: VecMap::new(),
            next_correlation: 0,
            producer_id: None,
            init_pid_in_flight: None,
            init_pid_not_before: SimTime::ZERO,
            keys,
            load_start: SimTime::ZERO,
            generated: 0,
            blocked: false,
            manual: VecDeque::new(),
            wake_at: None,
            per_broker: VecMap::new(),
            connections: VecMap::new(),
            stats: ProducerStats::default(),
        }
    }

    pub fn in_flight_requests(&self) -> usize {
        self.in_flight.len()
    }
    pub fn queued_batches(&self) -> usize {
        self.queues
            .values()
            .map(|q| q.ready.len() + q.open.is_some() as usize)
            .sum()
    }
    pub fn producer_id(&self) -> Option<i64> {
        self.producer_id.map(|p| p.0)
    }

    /// The partition for a record without a key: the chooser, weighing each partition's queue.
    fn choose_null_key(
        &mut self,
        topic: &TopicName,
        num_partitions: u32,
        available: &[u32],
        ctx: &mut Ctx<'_, ProducerTimer>,
    ) -> u32 {
        let queues = &self.queues;
        let queued = |p| queued_batches(queues, &TopicPartition::new(topic, p));
        self.chooser
            .choose(num_partitions, available, queued, ctx.rng)
    }

    fn correlation(&mut self) -> Correlation {
        self.next_correlation += 1;
        self.next_correlation
    }

    pub fn start(&mut self, ctx: &mut Ctx<'_, ProducerTimer>) {
        if let Some(spec) = &self.spec {
            self.load_start = ctx.now.max(SimTime::from_ms(spec.start_ms));
            ctx.timer_at(self.load_start, ProducerTimer::Generate);
        }
        self.poll(ctx);
    }

    /// A record produced by hand (`Command::Produce`).
    pub fn produce(
        &mut self,
        topic: TopicName,
        key: Option<Vec<u8>>,
        value: Vec<u8>,
        ctx: &mut Ctx<'_, ProducerTimer>,
    ) {
        if !self.topics.contains(&topic) {
            self.topics.push(topic.clone());
            self.metadata.invalidate();
        }
        self.manual.push_back((topic, key, value));
        self.poll(ctx);
    }

    // ---- Load generation ----

    /// The application stops producing: records already sent are still delivered.
    pub fn stop_load(&mut self, now: SimTime) {
        if let Some(spec) = &mut self.spec {
            let now_ms = now.as_us().div_ceil(1_000);
            spec.stop_ms = Some(spec.stop_ms.map_or(now_ms, |s| s.min(now_ms)));
        }
    }

    fn generate(&mut self, ctx: &mut Ctx<'_, ProducerTimer>) {
        let Some(spec) = &self.spec else {
            return;
        };
        if spec
            .stop_ms
            .is_some_and(|stop| ctx.now >= SimTime::from_ms(stop))
            || spec.max_records.is_some_and(|m| self.generated >= m)
        {
            return;
        }
        /// How a record gets its key (the spec's `KeySpec`, without borrowing the spec).
        #[derive(Clone, Copy, PartialEq)]
        enum Keys {
            None,
            Drawn,
            InTurn,
        }
        let keys = match spec.keys {
            KeySpec::None => Keys::None,
            KeySpec::Random { .. } | KeySpec::Fixed { .. } => Keys::Drawn,
            KeySpec::Sequential { .. } => Keys::InTurn,
        };
        let (rate_per_sec, value_bytes, max_records) =
            (spec.rate_per_sec, spec.value_bytes, spec.max_records);
        // The Arc the producer already holds: its partitions' queues are found by pointer.
        let Some(topic) = self.topics.iter().find(|t| ***t == *spec.topic).cloned() else {
            return;
        };
        let Some(num_partitions) = self.metadata.partitions(&topic).map(|p| p.len() as u32) else {
            // send() blocks until metadata is known; the load resumes where it stopped.
            self.blocked = true;
            self.poll(ctx);
            return;
        };
        if self.blocked {
            self.blocked = false;
            self.load_start = ctx.now;
            self.generated = 0;
        }
        let interval_us = 1e6 / rate_per_sec.max(1e-6);
        let elapsed = ctx.now.since(self.load_start) as f64;
        let mut due = (elapsed / interval_us).floor() as u64 + 1;
        if let Some(max) = max_records {
            due = due.min(
                max.saturating_sub(self.stats.produced)
                    .saturating_add(self.generated),
            );
        }
        // Only records without a key choose among the partitions that have a leader.
        let available: Vec<u32> = match keys {
            Keys::None => self
                .metadata
                .partitions(&topic)
                .unwrap_or_default()
                .iter()
                .filter(|p| p.leader.is_some())
                .map(|p| p.partition)
                .collect(),
            Keys::Drawn | Keys::InTurn => Vec::new(),
        };
        let value_len = (value_bytes as usize).min(VALUE_PAD.len());
        // One TopicPartition for the whole run: only its index changes per record.
        let mut tp = TopicPartition::new(&topic, 0);
        while self.generated < due {
            let key_index = match keys {
                Keys::None => None,
                Keys::Drawn => Some(ctx.rng.below(self.keys.len() as u64) as usize),
                Keys::InTurn => Some((self.stats.produced % self.keys.len() as u64) as usize),
            };
            let partition = match key_index {
                Some(i) => partition_for_key(&self.keys[i], num_partitions),
                None => self.choose_null_key(&topic, num_partitions, &available, ctx),
            };
            let key = key_index.map(|i| std::mem::take(&mut self.keys[i]));
            tp.partition = partition;
            // Records without a key stay on the sticky partition until `batch.size` bytes
            // went to it: append them as one run (`append` stops where it switches).
            let run = if key.is_none() && self.chooser.is_sticky() {
                due - self.generated
            } else {
                1
            };
            self.generated += self.append(&tp, key.as_deref(), &VALUE_PAD[..value_len], run, ctx);
            if let (Some(i), Some(k)) = (key_index, key) {
                self.keys[i] = k;
            }
        }
        let next_us = (self.generated as f64 * interval_us).ceil() as u64;
        ctx.timer_at(
            self.load_start
                .plus_us(next_us)
                .max(ctx.now.plus_us(GENERATE_TICK_US)),
            ProducerTimer::Generate,
        );
        self.poll(ctx);
    }

    /// Adds up to `count` records with this key and value to their partition's open batch
    /// (the accumulator), stopping early when the batch fills and closes. Returns how many.
    fn append(
        &mut self,
        tp: &TopicPartition,
        key: Option<&[u8]>,
        value: &[u8],
        count: u64,
        ctx: &mut Ctx<'_, ProducerTimer>,
    ) -> u64 {
        let batch_size = self.config.batch_size as usize;
        let index = self.index as u64;
        let record = RECORD_HEADER_BYTES + key.map_or(0, <[u8]>::len) + value.len();
        let linger = self.config.linger_ms() > 0;
        let queue = self.queues.get_or_insert_with(tp, PartitionQueue::default);
        let mut appended = 0;
        loop {
            // Kafka's `hasRoomFor`: a batch takes a record only within batch.size (an empty
            // one takes any record); one that cannot is closed and a new one started.
            if queue
                .open
                .as_ref()
                .is_some_and(|(b, _, _)| !b.is_empty() && b.size_bytes() + record > batch_size)
            {
                close_open_batch(tp, queue);
            }
            let record_id =
                (index << 48) | ((tp.partition as u64) << 32) | queue.next_record_seq as u64;
            queue.next_record_seq = queue.next_record_seq.wrapping_add(1);
            let (builder, _, _) = queue.open.get_or_insert_with(|| {
                // A batch that lingers may fill up: batch.size at once (up to 1 MiB; a larger
                // one grows), not grown and copied. With linger.ms = 0 it is sent with the
                // records at hand: room for those.
                let capacity = if linger {
                    batch_size.min(1 << 20)
                } else {
                    let wanted = (record as u64).saturating_mul(count - appended);
                    wanted.min(batch_size as u64) as usize
                };
                (
                    BatchBuilder::with_capacity(capacity.max(record)),
                    ctx.now,
                    record_id,
                )
            });
            builder.push(ctx.now.as_us(), record_id, key, value);
            appended += 1;
            // Full: another such record would not fit (Kafka sends a full batch at once).
            let full = builder.size_bytes() + record > batch_size;
            if full {
                close_open_batch(tp, queue);
            }
            if key.is_none()
                && self
                    .chooser
                    .on_append(record as u64, full, batch_size as u64)
            {
                break;
            }
            if full || appended >= count {
                break;
            }
        }
        self.stats.produced += appended;
        appended
    }

    // ---- Sending ----

    /// Runs the sender: metadata, producer id, batches whose linger ran out, retries.
    fn poll(&mut self, ctx: &mut Ctx<'_, ProducerTimer>) {
        let correlation = self.next_correlation + 1;
        if self.metadata.maybe_refresh(
            &self.topics,
            correlation,
            self.config.metadata_max_age_ms,
            self.config.request_timeout_ms,
            ctx,
        ) {
            self.next_correlation = correlation;
        }
        self.drain_manual(ctx);
        if self.config.idempotence()
            && self.producer_id.is_none()
            && self.init_pid_in_flight.is_none()
            && ctx.now >= self.init_pid_not_before
        {
            // Any broker answers; spread the tries so a dead one is not asked forever.
            let brokers = &self.metadata.brokers;
            let pick = (!brokers.is_empty())
                .then(|| brokers[ctx.rng.below(brokers.len() as u64) as usize]);
            if let Some(broker) = pick {
                let correlation = self.correlation();
                self.init_pid_in_flight = Some((broker, correlation));
                ctx.send(
                    NodeId::Broker(broker),
                    Message::InitProducerIdRequest(msg::InitProducerIdRequest {
                        correlation,
                        transactional_id: None,
                        transaction_timeout_ms: 0,
                    }),
                );
                ctx.timer_in_ms(
                    self.config.request_timeout_ms,
                    ProducerTimer::RequestTimeout { correlation },
                );
            }
        }
        let linger_us = self.config.linger_ms() * 1_000;
        let (metadata, connections) = (&self.metadata, &self.connections);
        for (tp, queue) in self.queues.iter_mut() {
            let lingered = queue
                .open
                .as_ref()
                .is_some_and(|(_, created, _)| ctx.now.since(*created) >= linger_us);
            if lingered && drainable(tp, queue, metadata, connections) {
                close_open_batch(tp, queue);
            }
        }
        self.expire_batches(ctx);
        self.send_ready(ctx);
        self.schedule_wake(ctx);
    }

    fn drain_manual(&mut self, ctx: &mut Ctx<'_, ProducerTimer>) {
        while let Some((topic, key, value)) = self.manual.front().cloned() {
            let Some(partitions) = self.metadata.partitions(&topic) else {
                return;
            };
            let n = partitions.len() as u32;
            let available: Vec<u32> = partitions
                .iter()
                .filter(|p| p.leader.is_some())
                .map(|p| p.partition)
                .collect();
            let partition = match &key {
                Some(k) => partition_for_key(k, n),
                None => self.choose_null_key(&topic, n, &available, ctx),
            };
            self.manual.pop_front();
            self.append(
                &TopicPartition::new(&topic, partition),
                key.as_deref(),
                &value,
                1,
                ctx,
            );
        }
    }

    /// Sends what can be sent: as Kafka's sender loop, drains again while a drain sent
    /// something (a backlog goes out up to the in-flight limit; with acks=0, all of it).
    fn send_ready(&mut self, ctx: &mut Ctx<'_, ProducerTimer>) {
        while self.drain(ctx) {}
    }

    /// Groups sendable batches by leader into one Produce request per broker (the first ready
    /// batch of each partition). Returns whether it sent anything.
    fn drain(&mut self, ctx: &mut Ctx<'_, ProducerTimer>) -> bool {
        if self.config.idempotence() && self.producer_id.is_none() {
            return false;
        }
        let mut per_broker = std::mem::take(&mut self.per_broker);
        let mut connect: Vec<BrokerId> = Vec::new();
        let max_in_flight = self.config.max_in_flight_requests_per_connection as usize;
        let pid = self.producer_id;
        for (tp, queue) in self.queues.iter_mut() {
            if queue.ready.is_empty() && queue.open.is_none() {
                continue;
            }
            let Some(leader) = self.metadata.leader_for(tp) else {
                self.metadata.invalidate();
                continue;
            };
            if self.connections.get(&leader) != Some(&Connection::Ready) {
                if !self.connections.contains_key(&leader) {
                    connect.push(leader);
                }
                continue;
            }
            if queue.ready.is_empty() {
                continue;
            }
            let in_flight = self.in_flight.values().filter(|f| f.broker == leader);
            if in_flight.count() >= max_in_flight {
                continue;
            }
            if queue.ready.front().is_some_and(|b| b.retry_at <= ctx.now) {
                let mut batch = queue.ready.pop_front().expect("checked");
                if let (Some((id, epoch)), false) = (pid, batch.sequence_assigned) {
                    batch.batch.producer_id = id;
                    batch.batch.producer_epoch = epoch;
                    batch.batch.base_sequence = queue.next_sequence;
                    queue.next_sequence = queue
                        .next_sequence
                        .wrapping_add(batch.batch.record_count as i32);
                    batch.sequence_assigned = true;
                }
                per_broker.entry(leader).or_default().push(batch);
            }
        }
        let sent = !per_broker.is_empty();
        for (broker, batches) in per_broker.drain() {
            let correlation = self.correlation();
            let partitions = batches
                .iter()
                .map(|b| (b.tp.clone(), b.batch.clone()))
                .collect();
            ctx.send(
                NodeId::Broker(broker),
                Message::ProduceRequest(msg::ProduceRequest {
                    correlation,
                    acks: self.config.acks,
                    timeout_ms: self.config.request_timeout_ms,
                    partitions,
                }),
            );
            if self.config.acks == Acks::None {
                for b in batches {
                    self.acked(&b, None, ctx);
                }
                continue;
            }
            let timeout = ctx.timeout_in_ms(
                self.config.request_timeout_ms,
                ProducerTimer::RequestTimeout { correlation },
            );
            self.in_flight.insert(
                correlation,
                InFlight {
                    broker,
                    batches,
                    timeout,
                },
            );
        }
        self.per_broker = per_broker;
        for broker in connect {
            self.connect(broker, ctx);
        }
        sent
    }

    /// Opens a connection to `broker` (its ApiVersions handshake), unless it is in reconnect
    /// backoff or already opening.
    fn connect(&mut self, broker: BrokerId, ctx: &mut Ctx<'_, ProducerTimer>) {
        if self.connections.contains_key(&broker) || !self.metadata.connectable(broker, ctx.now) {
            return;
        }
        let correlation = self.correlation();
        self.connections
            .insert(broker, Connection::Connecting { correlation });
        ctx.send(
            NodeId::Broker(broker),
            Message::ApiVersionsRequest(msg::ApiVersionsRequest { correlation }),
        );
        ctx.timer_in_ms(
            CONNECTION_SETUP_TIMEOUT_MS,
            ProducerTimer::ConnectTimeout {
                broker,
                correlation,
            },
        );
    }

    fn expire_batches(&mut self, ctx: &mut Ctx<'_, ProducerTimer>) {
        let timeout_us = self.config.delivery_timeout_ms() * 1_000;
        let mut expired = Vec::new();
        for queue in self.queues.values_mut() {
            while queue
                .ready
                .front()
                .is_some_and(|b| ctx.now.since(b.created_at) >= timeout_us)
            {
                expired.push(queue.ready.pop_front().expect("checked"));
            }
        }
        for b in expired {
            self.failed(&b, ErrorCode::DeliveryTimeout, ctx);
        }
    }

    fn schedule_wake(&mut self, ctx: &mut Ctx<'_, ProducerTimer>) {
        let linger_us = self.config.linger_ms() * 1_000;
        let mut next: Option<SimTime> = self
            .metadata
            .next_refresh(self.config.metadata_max_age_ms, ctx.now);
        let mut consider = |t: SimTime| next = Some(next.map_or(t, |n| n.min(t)));
        if let Some(t) = self.metadata.next_reconnect(ctx.now) {
            consider(t);
        }
        for (tp, q) in self.queues.iter() {
            // A batch that cannot be drained yet waits for an answer or a connection, not
            // for its linger (long over).
            if let Some((_, created, _)) = &q.open {
                if drainable(tp, q, &self.metadata, &self.connections) {
                    consider(created.plus_us(linger_us));
                }
            }
            if let Some(b) = q.ready.front() {
                if b.retry_at > ctx.now {
                    consider(b.retry_at);
                }
                consider(b.created_at.plus_ms(self.config.delivery_timeout_ms()));
            }
        }
        let Some(at) = next.map(|t| t.max(ctx.now.plus_us(1))) else {
            return;
        };
        if self.wake_at.is_none_or(|w| w <= ctx.now || at < w) {
            self.wake_at = Some(at);
            ctx.timer_at(at, ProducerTimer::Wake);
        }
    }

    fn acked(
        &mut self,
        b: &ProducerBatch,
        base_offset: Option<u64>,
        ctx: &mut Ctx<'_, ProducerTimer>,
    ) {
        self.stats.acked += b.batch.record_count as u64;
        // Records generated together share a timestamp: one histogram update per run of them.
        let latency = &mut self.stats.ack_latency_us;
        let mut record = |(ts, n): (u64, u64)| latency.record_n(ctx.now.since(SimTime(ts)), n);
        let mut run: Option<(u64, u64)> = None;
        for r in b.batch.iter() {
            match &mut run {
                Some((ts, n)) if *ts == r.timestamp_us => *n += 1,
                _ => {
                    if let Some(done) = run.replace((r.timestamp_us, 1)) {
                        record(done);
                    }
                }
            }
        }
        if let Some(done) = run {
            record(done);
        }
        ctx.trace(Event::ProducerAcked {
            producer: self.index,
            topic: b.tp.topic.clone(),
            partition: b.tp.partition,
            base_offset,
            records: b.batch.record_count,
            first_record_id: b.first_record_id,
            acks: self.config.acks,
        });
    }

    fn failed(&mut self, b: &ProducerBatch, error: ErrorCode, ctx: &mut Ctx<'_, ProducerTimer>) {
        self.stats.failed += b.batch.record_count as u64;
        ctx.trace(Event::ProducerFailed {
            producer: self.index,
            topic: b.tp.topic.clone(),
            partition: b.tp.partition,
            records: b.batch.record_count,
            error,
        });
        if self.config.idempotence() {
            // KIP-360: a failed batch leaves a sequence gap; start again with a new producer id.
            self.producer_id = None;
            for q in self.queues.values_mut() {
                q.next_sequence = 0;
                for r in q.ready.iter_mut() {
                    r.sequence_assigned = false;
                }
            }
        }
    }

    fn retry_or_fail(
        &mut self,
        mut b: ProducerBatch,
        error: ErrorCode,
        ctx: &mut Ctx<'_, ProducerTimer>,
    ) {
        let retriable = error.is_retriable()
            || (error == ErrorCode::OutOfOrderSequenceNumber && self.config.idempotence());
        let in_time = ctx.now.since(b.created_at) < self.config.delivery_timeout_ms() * 1_000;
        if error.invalidates_metadata() {
            self.metadata.invalidate();
        }
        if retriable && in_time && b.attempts < self.config.retries {
            b.attempts += 1;
            b.retry_at = ctx.now.plus_ms(self.config.retry_backoff_ms);
            self.stats.retries += 1;
            ctx.trace(Event::ProducerRetry {
                producer: self.index,
                topic: b.tp.topic.clone(),
                partition: b.tp.partition,
                error,
            });
            let queue = self
                .queues
                .get_or_insert_with(&b.tp, PartitionQueue::default);
            // Keep sequence order: retried batches go back before newer ones.
            let pos = queue
                .ready
                .iter()
                .position(|r| r.first_record_id > b.first_record_id)
                .unwrap_or(queue.ready.len());
            queue.ready.insert(pos, b);
        } else {
            self.failed(
                &b,
                if in_time {
                    error
                } else {
                    ErrorCode::DeliveryTimeout
                },
                ctx,
            );
        }
    }

    fn on_produce_response(
        &mut self,
        correlation: Correlation,
        partitions: Vec<ProducePartitionResponse>,
        ctx: &mut Ctx<'_, ProducerTimer>,
    ) {
        let Some(request) = self.in_flight.remove(&correlation) else {
            return;
        };
        ctx.cancel(request.timeout);
        for b in request.batches {
            let answer = partitions.iter().find(|p| p.tp == b.tp);
            match answer.and_then(|a| a.error).or(if answer.is_none() {
                Some(ErrorCode::NetworkException)
            } else {
                None
            }) {
                None => {
                    let base = answer.map(|a| a.base_offset);
                    self.acked(&b, base, ctx);
                }
                Some(error) => self.retry_or_fail(b, error, ctx),
            }
        }
    }

    fn fail_request(
        &mut self,
        correlation: Correlation,
        error: ErrorCode,
        ctx: &mut Ctx<'_, ProducerTimer>,
    ) {
        if let Some(request) = self.in_flight.remove(&correlation) {
            ctx.cancel(request.timeout);
            for b in request.batches {
                self.retry_or_fail(b, error, ctx);
            }
        }
    }

    pub fn on_message(&mut self, msg: Message, ctx: &mut Ctx<'_, ProducerTimer>) {
        match msg {
            Message::MetadataResponse(msg::MetadataResponse {
                correlation,
                brokers,
                topics,
                ..
            }) => {
                if self.metadata.on_response(
                    correlation,
                    brokers,
                    topics,
                    self.config.retry_backoff_ms,
                    ctx.now,
                ) && self.blocked
                {
                    self.generate(ctx);
                }
            }
            Message::ProduceResponse(msg::ProduceResponse {
                correlation,
                partitions,
            }) => self.on_produce_response(correlation, partitions, ctx),
            Message::ApiVersionsResponse(msg::ApiVersionsResponse { correlation }) => {
                let broker = self.connections.iter().find_map(|(b, c)| {
                    (*c == Connection::Connecting { correlation }).then_some(*b)
                });
                if let Some(broker) = broker {
                    self.connections.insert(broker, Connection::Ready);
                }
            }
            Message::InitProducerIdResponse(msg::InitProducerIdResponse {
                error,
                producer_id,
                producer_epoch,
                ..
            }) => {
                self.init_pid_in_flight = None;
                match error {
                    None => self.producer_id = Some((producer_id, producer_epoch)),
                    Some(_) => self.init_pid_backoff(ctx),
                }
            }
            other => debug_assert!(false, "producer {} got {other:?}", self.index),
        }
        self.poll(ctx);
    }

    pub fn on_timer(&mut self, timer: ProducerTimer, ctx: &mut Ctx<'_, ProducerTimer>) {
        match timer {
            ProducerTimer::Generate => return self.generate(ctx),
            // Only the wake-up `wake_at` names is pending still: forgetting it on an earlier,
            // superseded one would let every stale wake-up schedule another, without end.
            ProducerTimer::Wake => {
                if self.wake_at == Some(ctx.now) {
                    self.wake_at = None;
                }
            }
            ProducerTimer::ConnectTimeout {
                broker,
                correlation,
            } => {
                if self.connections.get(&broker) == Some(&Connection::Connecting { correlation }) {
                    return self.connection_closed(broker, ErrorCode::NetworkException, ctx);
                }
            }
            ProducerTimer::RequestTimeout { correlation } => {
                if let Some(request) = self.in_flight.get(&correlation) {
                    // Kafka closes the connection of a timed-out request: every request in
                    // flight on it fails, and the metadata is refreshed from another broker.
                    let broker = request.broker;
                    return self.connection_closed(broker, ErrorCode::RequestTimedOut, ctx);
                } else if self
                    .init_pid_in_flight
                    .is_some_and(|(_, c)| c == correlation)
                {
                    self.init_pid_in_flight = None;
                    self.init_pid_backoff(ctx);
                }
            }
        }
        self.poll(ctx);
    }

    /// The connection to a broker closed (its process died): in-flight requests fail.
    pub fn on_disconnect(&mut self, broker: BrokerId, ctx: &mut Ctx<'_, ProducerTimer>) {
        self.connection_closed(broker, ErrorCode::NetworkException, ctx);
    }

    /// The connection to `broker` is gone, closed by it or by us: what was in flight on it
    /// fails with `error` (to be retried), and the metadata is refreshed.
    fn connection_closed(
        &mut self,
        broker: BrokerId,
        error: ErrorCode,
        ctx: &mut Ctx<'_, ProducerTimer>,
    ) {
        self.connections.remove(&broker);
        self.metadata.on_disconnect(broker, ctx.now);
        let lost: Vec<Correlation> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.broker == broker)
            .map(|(c, _)| *c)
            .collect();
        for c in lost {
            self.fail_request(c, error, ctx);
        }
        if self.init_pid_in_flight.is_some_and(|(b, _)| b == broker) {
            self.init_pid_in_flight = None;
            self.init_pid_backoff(ctx);
        }
        self.poll(ctx);
    }

    /// A failed InitProducerId is tried again after `retry.backoff.ms`, with fresh metadata.
    fn init_pid_backoff(&mut self, ctx: &mut Ctx<'_, ProducerTimer>) {
        self.init_pid_not_before = ctx.now.plus_ms(self.config.retry_backoff_ms);
        self.metadata.invalidate();
        ctx.timer_at(self.init_pid_not_before, ProducerTimer::Wake);
    }
}
