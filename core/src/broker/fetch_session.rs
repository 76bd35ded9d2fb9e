//! KIP-227 incremental fetch sessions between a follower's fetcher and its leader. Both sides
//! remember the fetcher's partitions and positions, so a fetch names only the partitions whose
//! position moved, and its answer lists only the partitions with records, a new HW or log
//! start, or an error. The leader still reads, and records the follower's progress on, every
//! partition of the session at each fetch, as Kafka does: what is left out is only what would
//! have been said again.

use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::protocol::{
    ErrorCode, FetchPartition, FetchPartitionResponse, FINAL_EPOCH, INITIAL_EPOCH,
    INVALID_SESSION_ID,
};
use crate::vec_map::{VecMap, VecSet};

/// Kafka's `FetchMetadata.nextEpoch`: epochs count up from 1 and wrap to 1.
fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

/// What the leader remembers of one partition of a session (Kafka's `CachedPartition`).
#[derive(Clone, Debug)]
pub struct CachedPartition {
    /// The fetcher's position, as its requests last gave it.
    pub fetch: FetchPartition,
    /// The HW and log start last sent: `None` before the first answer, and the HW after an
    /// error, so the partition is sent again once the error clears.
    high_watermark: Option<Offset>,
    log_start_offset: Option<Offset>,
}

impl CachedPartition {
    fn new(fetch: FetchPartition) -> CachedPartition {
        CachedPartition {
            fetch,
            high_watermark: None,
            log_start_offset: None,
        }
    }

    /// Whether an incremental answer must list this partition (Kafka's
    /// `maybeUpdateResponseData`): records, an error or a divergence, a HW or log start the
    /// fetcher has not been sent.
    pub fn must_respond(&self, out: &FetchPartitionResponse) -> bool {
        !out.batches.is_empty()
            || out.error.is_some()
            || out.diverging_epoch.is_some()
            || !self.is_current(out.high_watermark, out.log_start_offset)
    }

    /// Whether the fetcher was last sent this HW and log start.
    pub fn is_current(&self, high_watermark: Offset, log_start_offset: Offset) -> bool {
        self.high_watermark == Some(high_watermark)
            && self.log_start_offset == Some(log_start_offset)
    }

    /// Remembers what an answer sent.
    fn sent(&mut self, out: &FetchPartitionResponse) {
        self.high_watermark = out.error.is_none().then_some(out.high_watermark);
        self.log_start_offset = Some(out.log_start_offset);
    }
}

/// One follower's session on its leader (Kafka's `FetchSession`).
#[derive(Clone, Debug)]
pub struct FetchSession {
    follower: BrokerId,
    /// The epoch the next incremental fetch must carry.
    epoch: i32,
    pub partitions: VecMap<TopicPartition, CachedPartition>,
}

/// Which partitions a fetch reads, once its session is resolved (Kafka's `FetchContext`).
#[derive(Clone, Debug)]
pub enum FetchContext {
    /// A fetch without a session (every consumer's here): the partitions it names.
    Sessionless(Vec<FetchPartition>),
    /// Every partition of session `id`; a `full` fetch (the one that opened it) is answered
    /// with all of them, an incremental one with those that must be.
    Session { id: u32, full: bool },
}

impl FetchContext {
    pub fn session_id(&self) -> u32 {
        match self {
            FetchContext::Sessionless(_) => INVALID_SESSION_ID,
            FetchContext::Session { id, .. } => *id,
        }
    }
}

/// The leader's sessions (Kafka's `FetchSessionCache`). Only followers open sessions here, one
/// per follower at most, so the cache stays as small as the cluster and never evicts.
#[derive(Clone, Debug, Default)]
pub struct FetchSessionCache {
    sessions: VecMap<u32, FetchSession>,
    last_id: u32,
}

impl FetchSessionCache {
    /// Resolves a fetch's session (Kafka's `FetchManager.newContext`): opens one for a
    /// follower's full fetch (closing its previous one), or applies an incremental fetch's
    /// changes to its session; an unknown session or an out-of-turn epoch is an error the
    /// fetcher answers with a full fetch.
    pub fn new_context(
        &mut self,
        follower: Option<BrokerId>,
        session_id: u32,
        epoch: i32,
        partitions: Vec<FetchPartition>,
        forgotten: Vec<TopicPartition>,
    ) -> Result<FetchContext, ErrorCode> {
        let Some(follower) = follower.filter(|_| epoch != FINAL_EPOCH) else {
            return Ok(FetchContext::Sessionless(partitions));
        };
        if epoch == INITIAL_EPOCH {
            self.sessions.retain(|_, s| s.follower != follower);
            self.last_id = self.last_id.checked_add(1).unwrap_or(1);
            let id = self.last_id;
            let partitions = partitions
                .into_iter()
                .map(|p| (p.tp.clone(), CachedPartition::new(p)))
                .collect();
            self.sessions.insert(
                id,
                FetchSession {
                    follower,
                    epoch: next_epoch(INITIAL_EPOCH),
                    partitions,
                },
            );
            return Ok(FetchContext::Session { id, full: true });
        }
        let session = self
            .sessions
            .get_mut(&session_id)
            .filter(|s| s.follower == follower)
            .ok_or(ErrorCode::FetchSessionIdNotFound)?;
        if session.epoch != epoch {
            return Err(ErrorCode::InvalidFetchSessionEpoch);
        }
        for p in partitions {
            match session.partitions.get_mut(&p.tp) {
                Some(cached) => cached.fetch = p,
                None => {
                    session
                        .partitions
                        .insert(p.tp.clone(), CachedPartition::new(p));
                }
            }
        }
        for tp in &forgotten {
            session.partitions.remove(tp);
        }
        session.epoch = next_epoch(epoch);
        Ok(FetchContext::Session {
            id: session_id,
            full: false,
        })
    }

    pub fn get(&self, id: u32) -> Option<&FetchSession> {
        self.sessions.get(&id)
    }

    /// Takes a session's partitions out (to update the leader's replicas while walking
    /// them); `put_back` returns them.
    pub fn take_partitions(&mut self, id: u32) -> VecMap<TopicPartition, CachedPartition> {
        self.sessions
            .get_mut(&id)
            .map(|s| std::mem::take(&mut s.partitions))
            .unwrap_or_default()
    }

    pub fn put_back(&mut self, id: u32, partitions: VecMap<TopicPartition, CachedPartition>) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.partitions = partitions;
        }
    }

    /// Remembers what an answer sent.
    pub fn sent(&mut self, id: u32, answer: &[FetchPartitionResponse]) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        for out in answer {
            if let Some(cached) = session.partitions.get_mut(&out.tp) {
                cached.sent(out);
            }
        }
    }
}

/// A fetch to send: its session, epoch, the partitions it names and those it drops.
pub struct NextFetch {
    pub session_id: u32,
    pub session_epoch: i32,
    pub partitions: Vec<FetchPartition>,
    pub forgotten: Vec<TopicPartition>,
}

/// A fetcher's side of its session with one leader (Kafka's `FetchSessionHandler`).
#[derive(Clone, Debug, Default)]
pub struct FetchSessionHandler {
    session_id: u32,
    /// The epoch of the next fetch: `INITIAL_EPOCH` (a full fetch) until the leader opens a
    /// session, and again after any error.
    next_epoch: i32,
    /// Each partition's position as the session holds it (what the fetches sent).
    sent: VecMap<TopicPartition, (Offset, Option<LeaderEpoch>)>,
    /// Partitions whose position may have moved since the last fetch (those in its answer,
    /// and newly followed ones): the only ones an incremental fetch can need to name.
    dirty: VecSet<TopicPartition>,
    /// Partitions no longer followed that the session still holds.
    forgotten: Vec<TopicPartition>,
}

impl FetchSessionHandler {
    /// `tp` is now followed from this leader.
    pub fn added(&mut self, tp: &TopicPartition) {
        self.forgotten.retain(|f| f != tp);
        self.dirty.insert(tp.clone());
    }

    /// `tp` is no longer followed from this leader.
    pub fn removed(&mut self, tp: &TopicPartition) {
        self.dirty.remove(tp);
        if self.sent.remove(tp).is_some() {
            self.forgotten.push(tp.clone());
        }
    }

    /// `tp`'s position may have moved (it was in an answer).
    pub fn touched(&mut self, tp: &TopicPartition) {
        self.dirty.insert(tp.clone());
    }

    /// The next fetch of `followed`, whose positions `position` gives (Kafka's
    /// `FetchSessionHandler.Builder.build`).
    pub fn next_fetch(
        &mut self,
        followed: &VecSet<TopicPartition>,
        position: impl Fn(&TopicPartition) -> Option<(Offset, Option<LeaderEpoch>)>,
    ) -> NextFetch {
        let fetch = |tp: &TopicPartition, (fetch_offset, last_fetched_epoch)| FetchPartition {
            tp: tp.clone(),
            fetch_offset,
            last_fetched_epoch,
        };
        let dirty = std::mem::take(&mut self.dirty);
        if self.next_epoch == INITIAL_EPOCH {
            self.forgotten.clear();
            self.sent = followed
                .iter()
                .filter_map(|tp| Some((tp.clone(), position(tp)?)))
                .collect();
            return NextFetch {
                session_id: self.session_id,
                session_epoch: INITIAL_EPOCH,
                partitions: self.sent.iter().map(|(tp, at)| fetch(tp, *at)).collect(),
                forgotten: Vec::new(),
            };
        }
        let mut partitions = Vec::new();
        for tp in dirty {
            let Some(at) = position(&tp).filter(|_| followed.contains(&tp)) else {
                continue;
            };
            if self.sent.get(&tp) != Some(&at) {
                partitions.push(fetch(&tp, at));
                self.sent.insert(tp, at);
            }
        }
        NextFetch {
            session_id: self.session_id,
            session_epoch: self.next_epoch,
            partitions,
            forgotten: std::mem::take(&mut self.forgotten),
        }
    }

    /// The leader answered the last fetch without a session error.
    pub fn answered(&mut self, session_id: u32) {
        if self.next_epoch == INITIAL_EPOCH {
            self.session_id = session_id;
            if session_id != INVALID_SESSION_ID {
                self.next_epoch = next_epoch(INITIAL_EPOCH);
            }
        } else {
            self.next_epoch = next_epoch(self.next_epoch);
        }
    }

    /// The last fetch failed (a session error, a timeout, a lost connection): the next one is
    /// full and opens a new session (Kafka's `handleError`).
    pub fn reset(&mut self) {
        self.next_epoch = INITIAL_EPOCH;
    }
}
