//! One partition replica on one broker: its log, its role, and (as leader) what it knows of its
//! followers: their LEO and when they were last caught up, which drive the ISR and the HW.

use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::log::record::RecordBatch;
use crate::log::PartitionLog;
use crate::protocol::ErrorCode;
use crate::time::SimTime;
use crate::vec_map::VecMap;
use std::collections::VecDeque;

/// What the leader knows of one follower (Kafka's `Replica` state on the leader).
#[derive(Clone, Debug, PartialEq)]
pub struct FollowerProgress {
    /// None until the follower's first fetch from this leader (Kafka's `UnknownOffset`).
    pub log_end_offset: Option<Offset>,
    pub last_caught_up: SimTime,
    pub last_fetch: SimTime,
    /// The leader's LEO when this follower last fetched.
    pub leader_leo_at_last_fetch: Offset,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    Leader {
        followers: VecMap<BrokerId, FollowerProgress>,
    },
    Follower {
        leader: BrokerId,
    },
    /// No leader known (offline partition) or not started yet.
    None,
}

/// Idempotent producer state for one producer id (Kafka's `ProducerStateEntry`): the last five
/// batches' sequences, so a retried batch is recognised and answered with its first offset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProducerEntry {
    pub epoch: i16,
    /// (first sequence, last sequence, base offset) of recent batches, oldest first.
    pub batches: VecDeque<(i32, i32, Offset)>,
}

pub const PRODUCER_BATCHES_KEPT: usize = 5;

impl ProducerEntry {
    /// Remembers one batch's sequence range; a newer producer epoch starts afresh.
    fn record(
        &mut self,
        producer_epoch: i16,
        base_sequence: i32,
        record_count: u32,
        base_offset: Offset,
    ) {
        if producer_epoch > self.epoch {
            self.batches.clear();
            self.epoch = producer_epoch;
        }
        let last_seq = base_sequence + record_count as i32 - 1;
        self.batches
            .push_back((base_sequence, last_seq, base_offset));
        while self.batches.len() > PRODUCER_BATCHES_KEPT {
            self.batches.pop_front();
        }
    }
}

/// The outcome of checking an idempotent batch's sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    Append,
    /// Already appended at this base offset: answer success without appending again.
    Duplicate(Offset),
    OutOfOrder,
    /// From an older epoch of this producer id: a zombie the coordinator has fenced.
    Fenced,
}

#[derive(Clone, Debug)]
pub struct Replica {
    pub tp: TopicPartition,
    pub log: PartitionLog,
    pub role: Role,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: u32,
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    /// An ISR change sent to the controller and not answered yet, and when it was sent.
    pub pending_isr: Option<(Vec<BrokerId>, SimTime)>,
    pub producers: VecMap<i64, ProducerEntry>,
    /// Open transactions: producer id → offset of its first record here. The last stable
    /// offset (what `read_committed` consumers may read up to) cannot pass the earliest.
    pub ongoing_txns: VecMap<i64, Offset>,
    /// Aborted transactions as (producer id, first offset, marker offset): Kafka's
    /// transaction index, sent to `read_committed` fetchers so they skip those records.
    pub aborted_txns: Vec<(i64, Offset, Offset)>,
    /// KRaft mode with ELR (KIP-966): the HW stays put while the ISR is below
    /// `min.insync.replicas`, so every replica the controller puts in the ELR holds every
    /// committed record.
    pub strict_min_isr: bool,
}

impl Replica {
    pub fn new(tp: TopicPartition, log: PartitionLog) -> Replica {
        Replica {
            tp,
            log,
            role: Role::None,
            leader_epoch: 0,
            partition_epoch: 0,
            replicas: Vec::new(),
            isr: Vec::new(),
            pending_isr: None,
            producers: VecMap::new(),
            ongoing_txns: VecMap::new(),
            aborted_txns: Vec::new(),
            strict_min_isr: false,
        }
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }

    pub fn leader(&self) -> Option<BrokerId> {
        match self.role {
            Role::Follower { leader } => Some(leader),
            _ => None,
        }
    }

    /// The ISR used for the HW: the committed one plus a pending expansion (KIP-497: a replica
    /// joining counts at once; one leaving counts until the controller agrees).
    pub fn maximal_isr(&self) -> impl Iterator<Item = BrokerId> + '_ {
        let joining = self
            .pending_isr
            .iter()
            .flat_map(|(pending, _)| pending)
            .filter(|b| !self.isr.contains(b));
        self.isr.iter().chain(joining).copied()
    }

    /// Recomputes the HW as the smallest LEO in the ISR. Returns the new HW if it moved.
    pub fn maybe_advance_high_watermark(&mut self, me: BrokerId) -> Option<Offset> {
        let Role::Leader { followers } = &self.role else {
            return None;
        };
        // `Partition.isUnderMinIsr`, against the min ISR capped by the replication factor.
        let min_isr = (self.log.config.min_insync_replicas as usize).min(self.replicas.len());
        if self.strict_min_isr && self.isr.len() < min_isr {
            return None;
        }
        let mut hw = self.log.log_end_offset();
        for b in self.maximal_isr() {
            if b == me {
                continue;
            }
            match followers.get(&b) {
                Some(FollowerProgress {
                    log_end_offset: Some(leo),
                    ..
                }) => hw = hw.min(*leo),
                _ => return None,
            }
        }
        (hw > self.log.high_watermark()).then(|| {
            self.log.set_high_watermark(hw);
            hw
        })
    }

    /// Records a follower's fetch: its LEO is the fetch offset (Kafka's `updateFetchState`).
    /// Returns whether that LEO moved.
    pub fn record_follower_fetch(
        &mut self,
        follower: BrokerId,
        fetch_offset: Offset,
        now: SimTime,
    ) -> bool {
        let leader_leo = self.log.log_end_offset();
        let Role::Leader { followers } = &mut self.role else {
            return false;
        };
        let f = followers.entry(follower).or_insert(FollowerProgress {
            log_end_offset: None,
            last_caught_up: SimTime::ZERO,
            last_fetch: now,
            leader_leo_at_last_fetch: 0,
        });
        if fetch_offset >= leader_leo {
            f.last_caught_up = now;
        } else if fetch_offset >= f.leader_leo_at_last_fetch {
            f.last_caught_up = f.last_fetch;
        }
        let moved = f.log_end_offset != Some(fetch_offset);
        f.log_end_offset = Some(fetch_offset);
        f.last_fetch = now;
        f.leader_leo_at_last_fetch = leader_leo;
        moved
    }

    /// A follower's fetches up to `at` found it at `fetch_offset`, this leader's LEO all along,
    /// without recording each (its session's lazy partitions): what recording them one by one
    /// would have left.
    pub fn settle_follower(&mut self, follower: BrokerId, fetch_offset: Offset, at: SimTime) {
        let Role::Leader { followers } = &mut self.role else {
            return;
        };
        if let Some(f) = followers.get_mut(&follower) {
            f.last_caught_up = at;
            f.last_fetch = at;
            f.leader_leo_at_last_fetch = fetch_offset;
        }
    }

    /// ISR members that have not caught up within `replica.lag.time.max.ms`.
    pub fn lagging_isr_members(
        &self,
        me: BrokerId,
        now: SimTime,
        lag_max_ms: u64,
    ) -> Vec<BrokerId> {
        let Role::Leader { followers } = &self.role else {
            return Vec::new();
        };
        self.isr
            .iter()
            .copied()
            .filter(|b| *b != me)
            .filter(|b| {
                followers
                    .get(b)
                    .is_none_or(|f| now.since(f.last_caught_up) > lag_max_ms * 1_000)
            })
            .collect()
    }

    /// A follower out of the ISR that has caught up to the HW within the current leader epoch.
    pub fn can_join_isr(&self, follower: BrokerId) -> bool {
        let Role::Leader { followers } = &self.role else {
            return false;
        };
        let epoch_start = self.log.epoch_cache().last().map_or(0, |e| e.1);
        !self.maximal_isr().any(|b| b == follower)
            && self.replicas.contains(&follower)
            && followers
                .get(&follower)
                .and_then(|f| f.log_end_offset)
                .is_some_and(|leo| leo >= self.log.high_watermark() && leo >= epoch_start)
    }

    pub fn check_sequence(&self, batch: &RecordBatch) -> SequenceCheck {
        if batch.producer_id < 0 {
            return SequenceCheck::Append;
        }
        // A producer id's (or a new epoch's) first batch must start at sequence 0: a later
        // batch overtaking a failed first one is out of order, as in Kafka.
        let first = |seq: i32| {
            if seq == 0 {
                SequenceCheck::Append
            } else {
                SequenceCheck::OutOfOrder
            }
        };
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            return first(batch.base_sequence);
        };
        if batch.producer_epoch < entry.epoch {
            return SequenceCheck::Fenced;
        }
        if batch.producer_epoch > entry.epoch {
            return first(batch.base_sequence);
        }
        let last_seq = batch.base_sequence + batch.record_count as i32 - 1;
        if let Some(&(_, _, offset)) = entry
            .batches
            .iter()
            .find(|(first, last, _)| *first == batch.base_sequence && *last == last_seq)
        {
            return SequenceCheck::Duplicate(offset);
        }
        match entry.batches.back() {
            Some(&(_, last, _)) if batch.base_sequence != last.wrapping_add(1) => {
                SequenceCheck::OutOfOrder
            }
            _ => SequenceCheck::Append,
        }
    }

    /// Remembers an appended batch's producer sequence (leaders and followers both do, so a new
    /// leader still recognises retries).
    pub fn record_producer_batch(&mut self, batch: &RecordBatch) {
        if batch.producer_id < 0 {
            return;
        }
        self.track_transaction(
            batch.producer_id,
            batch.is_transactional,
            batch.marker_commits(),
            batch.base_offset,
        );
        if batch.is_control {
            let entry = self.producers.entry(batch.producer_id).or_default();
            entry.epoch = entry.epoch.max(batch.producer_epoch);
            return;
        }
        let entry = self.producers.entry(batch.producer_id).or_default();
        entry.record(
            batch.producer_epoch,
            batch.base_sequence,
            batch.record_count,
            batch.base_offset,
        );
    }

    /// A transactional batch opens its producer's transaction here; a marker closes it (and
    /// an abort goes into the transaction index).
    fn track_transaction(
        &mut self,
        producer_id: i64,
        is_transactional: bool,
        marker: Option<bool>,
        base_offset: Offset,
    ) {
        match marker {
            Some(commits) => {
                if let Some(first) = self.ongoing_txns.remove(&producer_id) {
                    if !commits {
                        self.aborted_txns.push((producer_id, first, base_offset));
                    }
                }
            }
            None if is_transactional => {
                self.ongoing_txns.entry(producer_id).or_insert(base_offset);
            }
            None => {}
        }
    }

    /// The last stable offset: the HW, held back by the earliest open transaction.
    pub fn last_stable_offset(&self) -> Offset {
        let hw = self.log.high_watermark();
        self.ongoing_txns
            .values()
            .fold(hw, |lso, &first| lso.min(first))
    }

    /// Aborted transactions that overlap `[from, to)`, as (producer id, first offset).
    pub fn aborted_between(&self, from: Offset, to: Offset) -> Vec<(i64, Offset)> {
        self.aborted_txns
            .iter()
            .filter(|(_, first, marker)| *marker >= from && *first < to)
            .map(|(pid, first, _)| (*pid, *first))
            .collect()
    }

    /// Rebuilds producer state from the batch headers in the log (after truncation or at
    /// start-up), as Kafka does from its log.
    pub fn rebuild_producer_state(&mut self) {
        self.producers.clear();
        self.ongoing_txns.clear();
        self.aborted_txns.clear();
        let mut any_transactional = false;
        for h in self.log.batch_headers().filter(|h| h.producer_id >= 0) {
            let entry = self.producers.entry(h.producer_id).or_default();
            if h.is_control {
                entry.epoch = entry.epoch.max(h.producer_epoch);
            } else {
                entry.record(
                    h.producer_epoch,
                    h.base_sequence,
                    h.record_count,
                    h.base_offset,
                );
            }
            if h.is_transactional {
                any_transactional = true;
            }
        }
        if !any_transactional {
            return;
        }
        // Transactions need the markers' records (commit or abort): walk those batches.
        let mut seen = Vec::new();
        self.log
            .for_each_batch(self.log.log_start_offset(), u64::MAX, |b| {
                if b.header.is_transactional {
                    seen.push((
                        b.header.producer_id,
                        b.marker_commits(),
                        b.header.base_offset,
                    ));
                }
                true
            });
        for (pid, marker, offset) in seen {
            self.track_transaction(pid, true, marker, offset);
        }
    }

    /// Why this replica cannot take a produce request, if it cannot.
    pub fn produce_error(&self, needs_isr: bool, min_insync: u32) -> Option<ErrorCode> {
        if !self.is_leader() {
            return Some(ErrorCode::NotLeaderOrFollower);
        }
        if needs_isr && (self.isr.len() as u32) < min_insync {
            return Some(ErrorCode::NotEnoughReplicas);
        }
        None
    }
}
