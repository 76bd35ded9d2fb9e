//! The metadata log of the quorum (Kafka's `ReplicatedLog`, `KafkaMetadataLog`): entries of
//! `(offset, epoch, record)`, the leader-epoch cache that finds where a follower's log
//! diverges, the log start offset and the high watermark.
//!
//! Snapshots (KIP-630): the host hands the log a snapshot of its committed image; the log
//! keeps the latest and may then delete the entries below it (`KafkaMetadataLog.maybeClean`).

use super::{Epoch, ReplicaId};
use crate::ids::Offset;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// Kafka's `OffsetAndEpoch`, ordered epoch first (`compareTo`), as vote granting compares logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetAndEpoch {
    pub offset: Offset,
    pub epoch: Epoch,
}

impl PartialOrd for OffsetAndEpoch {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OffsetAndEpoch {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.epoch, self.offset).cmp(&(other.epoch, other.offset))
    }
}

/// `PartitionChangeRecord.Leader`: unchanged.
pub const NO_LEADER_CHANGE: i32 = -2;
/// `PartitionChangeRecord.Leader` / `PartitionRecord.Leader`: no leader.
pub const NO_LEADER: i32 = -1;

/// KRaft's metadata records as data (`metadata/src/main/resources/common/metadata/*.json`),
/// with the control record `LeaderChange`. The fields are those kplay uses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MetadataRecord {
    /// Control record a new leader appends first, so it can commit an entry of its own epoch.
    LeaderChange {
        leader_id: ReplicaId,
        voters: Vec<ReplicaId>,
        granting_voters: Vec<ReplicaId>,
    },
    /// Written every `metadata.max.idle.interval.ms` (500) so the HW moves on an idle cluster.
    NoOp,
    RegisterBroker {
        broker_id: u32,
        incarnation_id: u64,
        /// The offset of this record.
        broker_epoch: u64,
        rack: Option<String>,
        /// A new registration is fenced until its first heartbeat catches up.
        fenced: bool,
        in_controlled_shutdown: bool,
    },
    /// Fencing, unfencing and controlled shutdown (MV ≥ 3.3-IV2); `None` = unchanged.
    BrokerRegistrationChange {
        broker_id: u32,
        broker_epoch: u64,
        fenced: Option<bool>,
        in_controlled_shutdown: Option<bool>,
    },
    Topic {
        name: String,
        topic_id: u128,
    },
    Partition {
        partition_id: u32,
        topic_id: u128,
        replicas: Vec<u32>,
        isr: Vec<u32>,
        /// [`NO_LEADER`] when none.
        leader: i32,
        leader_epoch: u32,
        partition_epoch: u32,
        eligible_leader_replicas: Vec<u32>,
        last_known_elr: Vec<u32>,
    },
    /// Only the changed fields; `leader` is [`NO_LEADER_CHANGE`] when unchanged.
    PartitionChange {
        partition_id: u32,
        topic_id: u128,
        isr: Option<Vec<u32>>,
        leader: i32,
        replicas: Option<Vec<u32>>,
        eligible_leader_replicas: Option<Vec<u32>>,
        last_known_elr: Option<Vec<u32>>,
    },
    /// `value: None` deletes the config.
    Config {
        resource_type: u8,
        resource_name: String,
        name: String,
        value: Option<String>,
    },
    ProducerIds {
        broker_id: u32,
        broker_epoch: u64,
        next_producer_id: u64,
    },
    /// New logs begin with `metadata.version`'s level.
    FeatureLevel {
        name: String,
        feature_level: u16,
    },
    /// A topic is deleted, with its partitions and configs.
    RemoveTopic {
        topic_id: u128,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogEntry {
    pub offset: Offset,
    pub epoch: Epoch,
    pub record: MetadataRecord,
}

/// A record batch's header (`DefaultRecordBatch.RECORD_BATCH_OVERHEAD`): each entry is
/// counted as a batch of its own, as an idle controller's NoOps are.
const BATCH_OVERHEAD_BYTES: u64 = 61;

impl LogEntry {
    /// The entry's size in the log: a batch header and the record's fields at their
    /// encoded widths (ids and epochs 4 or 8 bytes, strings and lists their contents).
    pub fn size_bytes(&self) -> u64 {
        BATCH_OVERHEAD_BYTES + 8 + self.record.size_bytes()
    }
}

impl MetadataRecord {
    fn size_bytes(&self) -> u64 {
        let list = |l: &[u32]| 4 + 4 * l.len() as u64;
        let opt = |l: &Option<Vec<u32>>| l.as_deref().map_or(1, list);
        match self {
            MetadataRecord::NoOp => 2,
            MetadataRecord::LeaderChange {
                voters,
                granting_voters,
                ..
            } => 8 + list(voters) + list(granting_voters),
            MetadataRecord::RegisterBroker { rack, .. } => {
                40 + rack.as_ref().map_or(0, |r| r.len() as u64)
            }
            MetadataRecord::BrokerRegistrationChange { .. } => 16,
            MetadataRecord::Topic { name, .. } => 20 + name.len() as u64,
            MetadataRecord::Partition {
                replicas,
                isr,
                eligible_leader_replicas,
                last_known_elr,
                ..
            } => {
                32 + list(replicas)
                    + list(isr)
                    + list(eligible_leader_replicas)
                    + list(last_known_elr)
            }
            MetadataRecord::PartitionChange {
                isr,
                replicas,
                eligible_leader_replicas,
                last_known_elr,
                ..
            } => {
                24 + opt(isr) + opt(replicas) + opt(eligible_leader_replicas) + opt(last_known_elr)
            }
            MetadataRecord::Config {
                resource_name,
                name,
                value,
                ..
            } => {
                4 + (resource_name.len() + name.len() + value.as_ref().map_or(0, |v| v.len()))
                    as u64
            }
            MetadataRecord::ProducerIds { .. } => 20,
            MetadataRecord::FeatureLevel { name, .. } => 4 + name.len() as u64,
            MetadataRecord::RemoveTopic { .. } => 16,
        }
    }
}

/// A snapshot of the committed image (KIP-630): its records rebuild the image as of
/// `id.offset`, the offset of the first record not in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub id: OffsetAndEpoch,
    pub records: Vec<MetadataRecord>,
    /// When this replica took or received it: every entry below it is at least this old.
    pub created_at: SimTime,
}

/// What the leader makes of a follower's `(FetchOffset, LastFetchedEpoch)`
/// (`ReplicatedLog.validateOffsetAndEpoch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidOffsetAndEpoch {
    Valid,
    /// The largest epoch and its end offset the two logs share; later records diverge.
    Diverging(OffsetAndEpoch),
    /// Below the log start: fetch this snapshot.
    Snapshot(OffsetAndEpoch),
}

/// One replica's copy of `__cluster_metadata-0`. Controllers fsync every append, so all of it
/// survives a restart except the high watermark, which is learned again from the leader.
#[derive(Clone, Debug, Default)]
pub struct RaftLog {
    /// Entries from `log_start_offset` on.
    entries: Vec<LogEntry>,
    log_start_offset: Offset,
    /// The leader-epoch cache: each epoch with its first offset, ascending.
    epochs: Vec<(Epoch, Offset)>,
    high_watermark: Offset,
    /// The epoch of the entry just below the log start (the snapshot it was deleted behind).
    log_start_epoch: Epoch,
    /// The latest snapshot, at or above the log start.
    snapshot: Option<Snapshot>,
    /// The entries' total size.
    size_bytes: u64,
}

impl RaftLog {
    pub fn new() -> RaftLog {
        RaftLog::default()
    }
    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset
    }
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }
    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }
    pub fn entry(&self, offset: Offset) -> Option<&LogEntry> {
        let i = offset.checked_sub(self.log_start_offset)?;
        self.entries.get(i as usize)
    }
    /// The log end offset and the epoch of the last entry (of the snapshot for an empty log).
    pub fn end_offset(&self) -> OffsetAndEpoch {
        OffsetAndEpoch {
            offset: self.log_start_offset + self.entries.len() as Offset,
            epoch: self.last_fetched_epoch(),
        }
    }
    pub fn last_fetched_epoch(&self) -> Epoch {
        match self.entries.last() {
            Some(e) => e.epoch,
            None => self.log_start_epoch,
        }
    }

    /// The leader appends with its own epoch; returns the new entry's offset.
    pub fn append_as_leader(&mut self, epoch: Epoch, record: MetadataRecord) -> Offset {
        let offset = self.end_offset().offset;
        self.push(LogEntry {
            offset,
            epoch,
            record,
        });
        offset
    }

    /// A follower appends what the leader sent, which continues its log exactly.
    pub fn append_as_follower(&mut self, entries: Vec<LogEntry>) {
        for entry in entries {
            self.push(entry);
        }
    }

    fn push(&mut self, entry: LogEntry) {
        debug_assert_eq!(
            entry.offset,
            self.end_offset().offset,
            "offsets are contiguous"
        );
        debug_assert!(
            entry.epoch >= self.last_fetched_epoch(),
            "epochs never go back"
        );
        if self.epochs.last().is_none_or(|&(e, _)| e < entry.epoch) {
            self.epochs.push((entry.epoch, entry.offset));
        }
        self.size_bytes += entry.size_bytes();
        self.entries.push(entry);
    }

    /// Up to `max` entries from `offset` on.
    pub fn read(&self, offset: Offset, max: usize) -> Vec<LogEntry> {
        let from = offset.saturating_sub(self.log_start_offset) as usize;
        self.entries.iter().skip(from).take(max).cloned().collect()
    }

    /// The largest epoch ≤ `epoch` in this log and where it ends (`endOffsetForEpoch`, from
    /// `LeaderEpochFileCache.endOffsetFor`): the start of the next epoch, or the log end.
    pub fn end_offset_for_epoch(&self, epoch: Epoch) -> OffsetAndEpoch {
        let i = self.epochs.partition_point(|&(e, _)| e <= epoch);
        if i == 0 {
            // Older than anything here: only the log start is shared.
            return OffsetAndEpoch {
                offset: self.log_start_offset,
                epoch: self.log_start_epoch,
            };
        }
        let offset = match self.epochs.get(i) {
            Some(&(_, next_start)) => next_start,
            None => self.end_offset().offset,
        };
        OffsetAndEpoch {
            offset,
            epoch: self.epochs[i - 1].0,
        }
    }

    /// The leader's check of a follower's fetch position.
    pub fn validate_offset_and_epoch(&self, offset: Offset, epoch: Epoch) -> ValidOffsetAndEpoch {
        if self.log_start_offset == 0 && offset == 0 {
            return ValidOffsetAndEpoch::Valid;
        }
        // Below the log start, or at it with another epoch: only a snapshot can help, and
        // the answer names the latest.
        if let Some(snapshot) = &self.snapshot {
            let start = self.log_start_offset;
            if offset < start || (offset == start && start > 0 && epoch != self.log_start_epoch) {
                return ValidOffsetAndEpoch::Snapshot(snapshot.id);
            }
        }
        let end = self.end_offset_for_epoch(epoch);
        if end.epoch != epoch || end.offset < offset {
            ValidOffsetAndEpoch::Diverging(end)
        } else {
            ValidOffsetAndEpoch::Valid
        }
    }

    /// Truncates to where the leader's `DivergingEpoch` says the logs agree
    /// (`truncateToEndOffset`): the lower of its end offset and this log's end of that epoch.
    /// Returns the new log end offset.
    pub fn truncate_to_end_offset(&mut self, diverging: OffsetAndEpoch) -> Offset {
        let local = self.end_offset_for_epoch(diverging.epoch);
        let to = diverging
            .offset
            .min(local.offset)
            .max(self.log_start_offset);
        // Kafka treats this as fatal: a committed record would be lost.
        assert!(
            to >= self.high_watermark,
            "The leader requested truncation to offset {to}, below the high watermark {}",
            self.high_watermark
        );
        let cut = (to - self.log_start_offset) as usize;
        self.size_bytes -= self.entries[cut..]
            .iter()
            .map(LogEntry::size_bytes)
            .sum::<u64>();
        self.entries.truncate(cut);
        self.epochs.retain(|&(_, start)| start < to);
        to
    }

    /// Keeps `records`, the committed image as of `end` (`createNewSnapshot`): only committed
    /// offsets, and only forward.
    pub fn create_snapshot(&mut self, end: Offset, records: Vec<MetadataRecord>, now: SimTime) {
        assert!(
            end <= self.high_watermark,
            "a snapshot holds committed records only"
        );
        assert!(
            end > self.log_start_offset && self.snapshot.as_ref().is_none_or(|s| s.id.offset < end)
        );
        let epoch = self
            .entry(end - 1)
            .map_or(self.log_start_epoch, |e| e.epoch);
        self.snapshot = Some(Snapshot {
            id: OffsetAndEpoch { offset: end, epoch },
            records,
            created_at: now,
        });
    }

    /// `maybeClean`: once the log outgrows `retention_bytes`, or the entries below the
    /// latest snapshot are older than `retention_ms`, they are deleted (soft limits: never
    /// past the snapshot). Returns whether the log start moved.
    pub fn delete_before_snapshot(
        &mut self,
        retention_bytes: u64,
        retention_ms: u64,
        now: SimTime,
    ) -> bool {
        let Some(snapshot) = &self.snapshot else {
            return false;
        };
        let too_big = self.size_bytes > retention_bytes;
        let too_old = now.since(snapshot.created_at) >= SimTime::from_ms(retention_ms).0;
        if snapshot.id.offset <= self.log_start_offset || !(too_big || too_old) {
            return false;
        }
        let (end, epoch) = (snapshot.id.offset, snapshot.id.epoch);
        let cut = (end - self.log_start_offset) as usize;
        self.size_bytes -= self.entries[..cut]
            .iter()
            .map(LogEntry::size_bytes)
            .sum::<u64>();
        self.entries.drain(..cut);
        self.log_start_offset = end;
        self.log_start_epoch = epoch;
        // The epoch cache keeps the epoch that spans the new start.
        let kept = self.epochs.partition_point(|&(_, start)| start <= end);
        self.epochs.drain(..kept.saturating_sub(1));
        true
    }

    /// A follower that fetched a snapshot (`truncateToLatestSnapshot`): the log restarts at
    /// its end, empty; what it held is replaced by the snapshot.
    pub fn install_snapshot(&mut self, snapshot: Snapshot) {
        let end = snapshot.id;
        self.entries.clear();
        self.epochs.clear();
        self.size_bytes = 0;
        self.log_start_offset = end.offset;
        self.log_start_epoch = end.epoch;
        self.high_watermark = self.high_watermark.max(end.offset);
        self.snapshot = Some(snapshot);
    }

    /// Moves the high watermark up (never past the log end, never back).
    pub fn update_high_watermark(&mut self, offset: Offset) -> bool {
        let offset = offset.min(self.end_offset().offset);
        if offset > self.high_watermark {
            self.high_watermark = offset;
            true
        } else {
            false
        }
    }

    /// After a restart the high watermark is unknown until the leader says it again; what
    /// the latest snapshot holds was committed.
    pub fn forget_high_watermark(&mut self) {
        let snapshot_end = self.snapshot.as_ref().map_or(0, |s| s.id.offset);
        self.high_watermark = self.log_start_offset.max(snapshot_end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(epochs: &[Epoch]) -> RaftLog {
        let mut log = RaftLog::new();
        for &e in epochs {
            log.append_as_leader(e, MetadataRecord::NoOp);
        }
        log
    }

    #[test]
    fn the_epoch_cache_finds_where_a_follower_diverges() {
        // Leader: offsets 0..2 epoch 1, 2..5 epoch 3.
        let leader = log_of(&[1, 1, 3, 3, 3]);
        let end = |offset, epoch| OffsetAndEpoch { offset, epoch };
        assert_eq!(leader.end_offset_for_epoch(1), end(2, 1));
        assert_eq!(leader.end_offset_for_epoch(2), end(2, 1));
        assert_eq!(leader.end_offset_for_epoch(3), end(5, 3));
        assert_eq!(
            leader.validate_offset_and_epoch(5, 3),
            ValidOffsetAndEpoch::Valid
        );
        // A follower with offsets 2..4 of a lost epoch 2 diverges at (2, epoch 1).
        assert_eq!(
            leader.validate_offset_and_epoch(4, 2),
            ValidOffsetAndEpoch::Diverging(end(2, 1))
        );
        let mut follower = log_of(&[1, 1, 2, 2]);
        assert_eq!(follower.truncate_to_end_offset(end(2, 1)), 2);
        assert_eq!(follower.end_offset(), end(2, 1));
        // A follower with more of epoch 1 than the leader holds diverges too.
        assert_eq!(
            leader.validate_offset_and_epoch(3, 1),
            ValidOffsetAndEpoch::Diverging(end(2, 1))
        );
    }

    #[test]
    fn vote_granting_compares_logs_epoch_first() {
        let a = OffsetAndEpoch {
            offset: 9,
            epoch: 1,
        };
        let b = OffsetAndEpoch {
            offset: 2,
            epoch: 2,
        };
        assert!(b > a);
    }

    #[test]
    fn the_log_is_cut_behind_a_snapshot_and_a_follower_below_it_is_sent_there() {
        let mut log = log_of(&[1, 1, 2, 2, 2]);
        log.update_high_watermark(4);
        let size = log.size_bytes();
        assert!(
            !log.delete_before_snapshot(0, u64::MAX, SimTime::ZERO),
            "no snapshot yet"
        );
        log.create_snapshot(3, vec![MetadataRecord::NoOp], SimTime::ZERO);
        // Under both limits nothing goes.
        assert!(!log.delete_before_snapshot(size, 1000, SimTime::from_ms(999)));
        assert!(log.delete_before_snapshot(size - 1, 1000, SimTime::from_ms(999)));
        assert_eq!((log.log_start_offset(), log.entries().len()), (3, 2));
        let id = OffsetAndEpoch {
            offset: 3,
            epoch: 2,
        };
        assert_eq!(
            log.validate_offset_and_epoch(1, 1),
            ValidOffsetAndEpoch::Snapshot(id)
        );
        assert_eq!(
            log.validate_offset_and_epoch(3, 2),
            ValidOffsetAndEpoch::Valid
        );
        let mut follower = log_of(&[1]);
        follower.install_snapshot(log.snapshot().cloned().expect("taken"));
        assert_eq!(follower.end_offset(), id);
        assert_eq!(follower.high_watermark(), 3);
    }

    #[test]
    #[should_panic(expected = "below the high watermark")]
    fn truncating_a_committed_record_is_fatal() {
        let mut log = log_of(&[1, 1, 1]);
        log.update_high_watermark(3);
        log.truncate_to_end_offset(OffsetAndEpoch {
            offset: 1,
            epoch: 1,
        });
    }
}
