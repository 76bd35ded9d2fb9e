//! The trace: everything that happened, as data. The UI animates it, tests assert on it, and
//! its hash proves that a seed reproduces a run exactly, natively and in wasm.

use crate::config::Acks;
use crate::group::assignor::Assignor;
use crate::ids::{BrokerId, LeaderEpoch, NodeId, Offset, TopicName};
use crate::protocol::{ErrorCode, MessageKind};
use crate::time::SimTime;
use serde::Serialize;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Hash, Serialize)]
pub struct TraceEvent {
    pub at: SimTime,
    #[serde(flatten)]
    pub event: Event,
}

/// Why a message never arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The link between sender and receiver is cut (network partition).
    LinkCut,
    /// The receiver is down.
    NodeDown,
}

#[derive(Clone, Debug, PartialEq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A message left `from`; it arrives at `arrives_at` unless dropped. The UI draws it moving.
    MessageSent {
        id: u64,
        from: NodeId,
        to: NodeId,
        kind: MessageKind,
        api: &'static str,
        bytes: u32,
        arrives_at: SimTime,
    },
    MessageDropped {
        id: u64,
        reason: DropReason,
    },
    NodeCrashed {
        node: NodeId,
    },
    /// A client shut down cleanly (`close()`).
    NodeClosed {
        node: NodeId,
    },
    NodeStarted {
        node: NodeId,
        disk_lost: bool,
    },
    LinkCut {
        from: NodeId,
        to: NodeId,
    },
    LinkHealed {
        from: NodeId,
        to: NodeId,
    },
    LinkSlowed {
        from: NodeId,
        to: NodeId,
        extra_latency_us: u64,
    },
    /// A scenario action or live command took effect.
    CommandApplied {
        description: String,
    },
    /// ZooKeeper: a server won the leader election for `epoch`.
    ZkLeaderElected {
        server: u32,
        epoch: u32,
    },
    /// ZooKeeper: a server left its role and is looking for a leader again.
    ZkLookingForLeader {
        server: u32,
    },
    ZnodeCreated {
        path: String,
        ephemeral: bool,
    },
    ZnodeDeleted {
        path: String,
    },
    ZkSessionExpired {
        session: u64,
    },
    /// A broker won the `/controller` race.
    ControllerElected {
        broker: BrokerId,
        epoch: u32,
    },
    ControllerResigned {
        broker: BrokerId,
    },
    TopicCreated {
        topic: TopicName,
        partitions: u32,
        replication_factor: u32,
    },
    /// A broker asked for an internal topic (`__consumer_offsets`, `__transaction_state`)
    /// would not create it: fewer brokers are alive than its replication factor asks.
    InternalTopicRefused {
        broker: BrokerId,
        topic: TopicName,
        alive_brokers: u32,
        replication_factor: u32,
        /// The property that sets the replication factor.
        property: &'static str,
    },
    /// `kafka-configs.sh --alter`: a topic's overrides are now `overrides`.
    TopicConfigChanged {
        topic: TopicName,
        overrides: String,
    },
    PartitionsAdded {
        topic: TopicName,
        from: u32,
        to: u32,
    },
    TopicDeleted {
        topic: TopicName,
    },
    /// The controller chose a leader (or none: the partition is offline).
    LeaderElected {
        topic: TopicName,
        partition: u32,
        leader: Option<BrokerId>,
        leader_epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
        unclean: bool,
    },
    IsrShrunk {
        topic: TopicName,
        partition: u32,
        leader: BrokerId,
        isr: Vec<BrokerId>,
    },
    IsrExpanded {
        topic: TopicName,
        partition: u32,
        leader: BrokerId,
        isr: Vec<BrokerId>,
    },
    RecordsAppended {
        broker: BrokerId,
        topic: TopicName,
        partition: u32,
        base_offset: Offset,
        last_offset: Offset,
        records: u32,
        leader: bool,
    },
    HighWatermarkAdvanced {
        broker: BrokerId,
        topic: TopicName,
        partition: u32,
        high_watermark: Offset,
    },
    /// A replica cut its log back to a leader-epoch boundary (KIP-101) or on unclean election.
    LogTruncated {
        broker: BrokerId,
        topic: TopicName,
        partition: u32,
        from: Offset,
        to: Offset,
    },
    /// Retention deleted segments: the log start moved up, offsets were not reused.
    RecordsExpired {
        broker: BrokerId,
        topic: TopicName,
        partition: u32,
        records: u64,
        log_start_offset: Offset,
    },
    RecordsCompacted {
        broker: BrokerId,
        topic: TopicName,
        partition: u32,
        records: u64,
    },
    /// A produce request was acknowledged for `records` records (offset -1 style for acks=0).
    ProducerAcked {
        producer: u32,
        topic: TopicName,
        partition: u32,
        base_offset: Option<Offset>,
        records: u32,
        /// Records of a batch have consecutive ids from this one.
        first_record_id: u64,
        acks: Acks,
    },
    ProducerRetry {
        producer: u32,
        topic: TopicName,
        partition: u32,
        error: ErrorCode,
    },
    /// The producer gave up on records (non-retriable error or `delivery.timeout.ms`).
    ProducerFailed {
        producer: u32,
        topic: TopicName,
        partition: u32,
        records: u32,
        error: ErrorCode,
    },
    ConsumerProcessed {
        consumer: u32,
        /// The consumer's group; None for a consumer without `group.id`.
        group: Option<Arc<str>>,
        topic: TopicName,
        partition: u32,
        first_offset: Offset,
        last_offset: Offset,
        records: u32,
    },
    /// A consumer found its position outside the log (`auto.offset.reset` applies).
    ConsumerOffsetReset {
        consumer: u32,
        topic: TopicName,
        partition: u32,
        offset: Offset,
    },
    /// A consumer has no committed offset and `auto.offset.reset=none`: it cannot start.
    ConsumerNoOffset {
        consumer: u32,
        topic: TopicName,
        partition: u32,
    },
    /// A group member's new assignment after SyncGroup.
    ConsumerAssigned {
        consumer: u32,
        group: String,
        generation: i32,
        assigned: Vec<(TopicName, u32)>,
        revoked: Vec<(TopicName, u32)>,
        /// How many partitions it owns now.
        owns: u32,
    },
    /// A consumer did not call poll within `max.poll.interval.ms` and left its group.
    ConsumerPollTimeout {
        consumer: u32,
        group: String,
    },
    /// A broker became coordinator of the groups in `__consumer_offsets-partition`.
    CoordinatorLoaded {
        broker: BrokerId,
        partition: u32,
        groups: u32,
    },
    CoordinatorUnloaded {
        broker: BrokerId,
        partition: u32,
        groups: u32,
    },
    GroupRebalanceStarted {
        group: String,
        /// The generation being left.
        generation: i32,
        reason: String,
    },
    /// Joining finished: a new generation, its leader and members (SyncGroup follows).
    GroupRebalanced {
        group: String,
        generation: i32,
        protocol: Option<Assignor>,
        leader: Option<String>,
        members: Vec<String>,
    },
    /// The leader's assignment reached every member.
    GroupStable {
        group: String,
        generation: i32,
        assignment: Vec<(String, Vec<(TopicName, u32)>)>,
    },
    GroupMemberRemoved {
        group: String,
        member: String,
        reason: String,
    },
    OffsetsCommitted {
        group: String,
        offsets: Vec<(TopicName, u32, Offset)>,
    },
    /// The transaction coordinator decided: PrepareCommit or PrepareAbort (markers follow).
    TransactionEnding {
        transactional_id: String,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        /// Why the coordinator aborted on its own (timeout, a new producer instance).
        reason: Option<String>,
    },
    /// A transactional producer learnt a newer epoch of its id exists: it is a zombie.
    ProducerFenced {
        transactional_id: String,
    },
    /// Every partition has its marker: CompleteCommit or CompleteAbort.
    TransactionEnded {
        transactional_id: String,
        producer_id: i64,
        committed: bool,
        partitions: u32,
    },
    InvariantViolated {
        invariant: &'static str,
        detail: String,
    },
    // New variants go last: the trace hash covers each variant's index.
    /// KRaft: a voter became a candidate for `epoch` (after its pre-vote passed).
    QuorumElectionStarted {
        node: u32,
        epoch: u32,
    },
    /// KRaft: a voter won the election for `epoch` and leads the metadata log.
    QuorumLeaderElected {
        node: u32,
        epoch: u32,
    },
    /// KRaft: the leader gave up its epoch: shutting down, or check-quorum (no fetches from a
    /// majority of voters within 1.5 × `controller.quorum.fetch.timeout.ms`).
    QuorumResigned {
        node: u32,
        epoch: u32,
        check_quorum: bool,
    },
    /// KRaft: the leader's high watermark moved; the metadata log below it is committed.
    QuorumHighWatermark {
        node: u32,
        epoch: u32,
        offset: u64,
    },
    /// KRaft: the quorum leader committed its epoch's first record and is the active
    /// controller.
    KRaftControllerActivated {
        node: u32,
        epoch: u32,
    },
    /// KRaft: the active controller unfenced a broker that caught up with the metadata log.
    KRaftBrokerUnfenced {
        broker: u32,
        broker_epoch: u64,
    },
    /// KRaft: the active controller fenced a broker: its session expired (no heartbeat for
    /// `broker.session.timeout.ms`), or its controlled shutdown is done.
    KRaftBrokerFenced {
        broker: u32,
        session_expired: bool,
    },
}

/// The trace's fingerprint: a word at a time (every event is hashed, so byte-at-a-time FNV
/// cost more than the rest of recording it). Integers of every width, `usize` included, are
/// hashed as one `u64`, so the hash is the same on 32-bit wasm and 64-bit native targets.
#[derive(Clone, Debug)]
pub struct TraceHasher(u64);

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(23) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Integers go in as one word each.
macro_rules! write_words {
    ($($name:ident: $t:ty),*) => {
        $(fn $name(&mut self, i: $t) {
            self.mix(i as u64);
        })*
    };
}

impl Hasher for TraceHasher {
    fn finish(&self) -> u64 {
        // One more round, so the last word reaches every bit.
        let h = self.0 ^ (self.0 >> 29);
        h.wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (h >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        // The length goes in too: "ab" then "" differs from "a" then "b".
        self.mix(u64::from_le_bytes(last) ^ ((bytes.len() as u64) << 56));
    }
    // Sign-extended, so `isize` hashes alike at both widths.
    write_words!(
        write_u8: u8,
        write_u16: u16,
        write_u32: u32,
        write_u64: u64,
        write_usize: usize,
        write_i8: i8,
        write_i16: i16,
        write_i32: i32,
        write_i64: i64,
        write_isize: isize
    );
}

/// The trace kept in memory: a window of the latest events (so long runs stay bounded) and a
/// running hash over every event ever recorded.
#[derive(Clone, Debug)]
pub struct Trace {
    events: Vec<TraceEvent>,
    window: usize,
    dropped: u64,
    hasher: TraceHasher,
}

impl Trace {
    pub fn new(window: usize) -> Trace {
        Trace {
            events: Vec::new(),
            window: window.max(1),
            dropped: 0,
            hasher: TraceHasher::default(),
        }
    }

    pub fn push(&mut self, event: TraceEvent) {
        event.hash(&mut self.hasher);
        if self.events.len() >= self.window * 2 {
            // Drop the older half at once: amortised O(1) per event.
            let cut = self.events.len() - self.window;
            self.events.drain(..cut);
            self.dropped += cut as u64;
        }
        self.events.push(event);
    }

    /// The retained events, oldest first.
    pub fn events(&self) -> &[TraceEvent] {
        &self.events
    }
    /// How many early events were let go to keep memory bounded.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
    pub fn len_total(&self) -> u64 {
        self.dropped + self.events.len() as u64
    }
    pub fn hash(&self) -> u64 {
        self.hasher.finish()
    }
}

impl Event {
    /// A human-readable line for event logs ("broker 2 died", "controller moved to broker 3
    /// (epoch 4)"); None for the per-message and per-batch noise a log leaves out.
    pub fn describe(&self) -> Option<String> {
        let ids = |v: &[BrokerId]| {
            format!(
                "[{}]",
                v.iter()
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        Some(match self {
            Event::MessageSent { .. } | Event::RecordsAppended { .. } | Event::HighWatermarkAdvanced { .. } => return None,
            Event::ProducerAcked { .. } | Event::ConsumerProcessed { .. } | Event::ProducerRetry { .. } => return None,
            Event::MessageDropped { .. } => return None,
            Event::NodeCrashed { node } => format!("{} died", node.label()),
            Event::NodeClosed { node } => format!("{} closed", node.label()),
            Event::NodeStarted { node, disk_lost: false } => format!("{} started", node.label()),
            Event::NodeStarted { node, disk_lost: true } => format!("{} started with an empty disk", node.label()),
            Event::LinkCut { from, to } => format!("network: {} → {} cut", from.label(), to.label()),
            Event::LinkHealed { from, to } => format!("network: {} → {} healed", from.label(), to.label()),
            Event::LinkSlowed { from, to, extra_latency_us } => format!("network: {} → {} slowed by {} ms",
                from.label(),
                to.label(), *extra_latency_us as f64 / 1000.0),
            Event::CommandApplied { description } => description.clone(),
            Event::ZkLeaderElected { server, epoch } => format!("ZooKeeper: server {server} leads (epoch {epoch})"),
            Event::ZkLookingForLeader { server } => format!("ZooKeeper: server {server} lost its leader and is electing"),
            Event::ZnodeCreated { path, ephemeral } => format!("znode {path} created{}", if *ephemeral { " (ephemeral)" } else { "" }),
            Event::ZnodeDeleted { path } => format!("znode {path} deleted"),
            Event::ZkSessionExpired { session } => format!("ZooKeeper session 0x{session:x} expired"),
            Event::QuorumElectionStarted { node, epoch } => format!("KRaft: controller {node} is a candidate for epoch {epoch}"),
            Event::QuorumLeaderElected { node, epoch } => format!("KRaft: controller {node} leads the metadata quorum (epoch {epoch})"),
            Event::QuorumResigned { node, epoch, check_quorum: true } => format!("KRaft: controller {node} resigned epoch {epoch}: no fetches from a majority of voters"),
            Event::QuorumResigned { node, epoch, check_quorum: false } => format!("KRaft: controller {node} resigned epoch {epoch} to shut down"),
            Event::QuorumHighWatermark { .. } => return None,
            Event::KRaftControllerActivated { node, epoch } => format!("KRaft: controller {node} is the active controller (epoch {epoch})"),
            Event::KRaftBrokerUnfenced { broker, broker_epoch } => format!("KRaft: broker {broker} caught up with the metadata log and is unfenced (broker epoch {broker_epoch})"),
            Event::KRaftBrokerFenced { broker, session_expired: true } => format!("KRaft: broker {broker} is fenced: no heartbeat for broker.session.timeout.ms"),
            Event::KRaftBrokerFenced { broker, session_expired: false } => format!("KRaft: broker {broker} finished its controlled shutdown and is fenced"),
            Event::ControllerElected { broker, epoch } => format!("controller moved to broker {broker} (epoch {epoch})"),
            Event::ControllerResigned { broker } => format!("broker {broker} is no longer controller"),
            Event::TopicCreated { topic, partitions, replication_factor } => format!("topic {topic} created: {partitions} partitions, RF {replication_factor}"),
            Event::InternalTopicRefused { broker, topic, alive_brokers, replication_factor, property } => format!("broker {broker} will not create {topic}: {alive_brokers} alive broker{} < {property}={replication_factor}; clients get COORDINATOR_NOT_AVAILABLE", if *alive_brokers == 1 { "" } else { "s" }),
            Event::PartitionsAdded { topic, from, to } => format!("topic {topic} grew from {from} to {to} partitions: keys may move"),
            Event::TopicDeleted { topic } => format!("topic {topic} deleted"),
            Event::TopicConfigChanged { topic, overrides } if overrides.is_empty() => format!("topic {topic} config: no overrides (broker defaults)"),
            Event::TopicConfigChanged { topic, overrides } => format!("topic {topic} config: {overrides}"),
            Event::LeaderElected { topic, partition, leader: Some(l), leader_epoch, isr, unclean } => {
                format!("partition {topic}-{partition} leader → {l} (epoch {leader_epoch}), ISR {}{}", ids(isr), if *unclean { " — UNCLEAN: acknowledged records may be lost" } else { "" })
            }
            Event::LeaderElected { topic, partition, leader: None, isr, .. } => format!("partition {topic}-{partition} is offline: no live in-sync replica (ISR {})", ids(isr)),
            Event::IsrShrunk { topic, partition, isr, .. } => format!("partition {topic}-{partition} ISR shrank to {}", ids(isr)),
            Event::IsrExpanded { topic, partition, isr, .. } => format!("partition {topic}-{partition} ISR grew to {}", ids(isr)),
            Event::LogTruncated { broker, topic, partition, from, to } => format!("broker {broker} truncated {topic}-{partition} from offset {from} to {to}"),
            Event::RecordsExpired { broker, topic, partition, records, log_start_offset } => format!("broker {broker}: retention deleted {records} records of {topic}-{partition}; log starts at {log_start_offset}"),
            Event::RecordsCompacted { broker, topic, partition, records } => format!("broker {broker}: compaction removed {records} records of {topic}-{partition}"),
            Event::ProducerFailed { producer, topic, partition, records, error } => format!("producer {producer} gave up on {records} records for {topic}-{partition}: {error:?}"),
            Event::ConsumerOffsetReset { consumer, topic, partition, offset } => format!("consumer {consumer} starts {topic}-{partition} at offset {offset}"),
            Event::ConsumerNoOffset { consumer, topic, partition } => format!("consumer {consumer} has no committed offset for {topic}-{partition} and auto.offset.reset=none: it cannot start there"),
            Event::ConsumerAssigned { consumer, group, generation, assigned, revoked, owns } => {
                let tps = |v: &[(TopicName, u32)]| v.iter().map(|(t, p)| format!("{t}-{p}")).collect::<Vec<_>>().join(", ");
                match (assigned.is_empty(), revoked.is_empty()) {
                    (true, true) if *owns == 0 => format!("consumer {consumer} in group {group} (generation {generation}) is idle: no partitions"),
                    (true, true) => format!("consumer {consumer} in group {group} (generation {generation}) keeps its {owns} partitions"),
                    (false, true) => format!("consumer {consumer} in group {group} (generation {generation}) got {}", tps(assigned)),
                    (true, false) => format!("consumer {consumer} in group {group} (generation {generation}) gave up {}", tps(revoked)),
                    (false, false) => format!("consumer {consumer} in group {group} (generation {generation}) got {}, gave up {}", tps(assigned), tps(revoked)),
                }
            }
            Event::ConsumerPollTimeout { consumer, group } => format!("consumer {consumer} did not poll within max.poll.interval.ms and left group {group}"),
            Event::CoordinatorLoaded { groups: 0, .. } | Event::CoordinatorUnloaded { groups: 0, .. } => return None,
            Event::CoordinatorLoaded { broker, partition, groups } => format!("broker {broker} is now coordinator for __consumer_offsets-{partition} ({groups} groups loaded)"),
            Event::CoordinatorUnloaded { broker, partition, groups } => format!("broker {broker} is no longer coordinator for __consumer_offsets-{partition} ({groups} groups moved away)"),
            Event::GroupRebalanceStarted { group, reason, .. } => format!("group {group} is rebalancing: {reason}"),
            Event::GroupRebalanced { group, generation, members, .. } if members.is_empty() => format!("group {group} is empty (generation {generation})"),
            Event::GroupRebalanced { group, generation, protocol, members, .. } => format!("group {group} rebalanced: generation {generation}, {} members, {} assignor", members.len(), protocol.map_or("no", |p| p.name())),
            Event::GroupStable { group, generation, .. } => format!("group {group} is stable in generation {generation}"),
            Event::GroupMemberRemoved { group, member, reason } => format!("group {group} removed member {member}: {reason}"),
            Event::OffsetsCommitted { .. } => return None,
            Event::TransactionEnding { transactional_id, producer_epoch, reason: Some(why), .. } => format!("transaction of {transactional_id} aborted by its coordinator because {why}; epoch bumped to {producer_epoch}, fencing the old producer"),
            Event::TransactionEnding { transactional_id, commit: false, .. } => format!("transaction of {transactional_id} is aborting"),
            Event::TransactionEnding { .. } => return None,
            Event::TransactionEnded { committed: true, .. } => return None,
            Event::ProducerFenced { transactional_id } => format!("producer {transactional_id} was fenced: a newer epoch of its transactional id exists, so its transaction is void"),
            Event::TransactionEnded { transactional_id, partitions, .. } => format!("transaction of {transactional_id} aborted: ABORT markers in {partitions} partitions"),
            Event::InvariantViolated { invariant, detail } => format!("INVARIANT VIOLATED {invariant}: {detail}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_the_same_on_every_target_and_tells_splits_apart() {
        let hash = |f: &dyn Fn(&mut TraceHasher)| {
            let mut h = TraceHasher::default();
            f(&mut h);
            h.finish()
        };
        // usize is 4 bytes in wasm32 and 8 natively: both hash as the same u64.
        assert_eq!(hash(&|h| h.write_usize(7)), hash(&|h| h.write_u64(7)));
        assert_ne!(
            hash(&|h| {
                h.write(b"ab");
                h.write(b"");
            }),
            hash(&|h| {
                h.write(b"a");
                h.write(b"b");
            })
        );
        assert_ne!(hash(&|h| h.write(b"a")), hash(&|h| h.write(b"a\0")));
        assert_ne!(hash(&|h| h.write_u8(1)), hash(&|h| h.write_u8(2)));
        assert_ne!(hash(&|_| {}), hash(&|h| h.write_u8(0)));
    }

    #[test]
    fn window_keeps_latest_events_and_the_hash_covers_all() {
        let ev = |i| TraceEvent {
            at: SimTime(i),
            event: Event::MessageDropped {
                id: i,
                reason: DropReason::LinkCut,
            },
        };
        let mut small = Trace::new(4);
        let mut large = Trace::new(1_000);
        for i in 0..100 {
            small.push(ev(i));
            large.push(ev(i));
        }
        assert!(small.events().len() <= 8);
        assert_eq!(small.events().last().map(|e| e.at), Some(SimTime(99)));
        assert_eq!(small.len_total(), 100);
        assert_eq!(small.hash(), large.hash());
    }

    #[test]
    fn event_log_lines_read_like_kafka_operations() {
        let elected = Event::LeaderElected {
            topic: "orders".into(),
            partition: 1,
            leader: Some(BrokerId(3)),
            leader_epoch: 4,
            isr: vec![BrokerId(3), BrokerId(1)],
            unclean: false,
        };
        assert_eq!(
            elected.describe().unwrap(),
            "partition orders-1 leader → 3 (epoch 4), ISR [3,1]"
        );
        assert_eq!(
            Event::ControllerElected {
                broker: BrokerId(3),
                epoch: 4
            }
            .describe()
            .unwrap(),
            "controller moved to broker 3 (epoch 4)"
        );
        assert_eq!(
            Event::NodeCrashed {
                node: NodeId::broker(2)
            }
            .describe()
            .unwrap(),
            "broker 2 died"
        );
        assert!(Event::MessageDropped {
            id: 1,
            reason: DropReason::NodeDown
        }
        .describe()
        .is_none());
    }
}
