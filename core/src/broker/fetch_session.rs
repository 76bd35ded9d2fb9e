//! KIP-227 incremental fetch sessions between a follower's fetcher and its leader. Both sides
//! remember the fetcher's partitions and positions, so a fetch names only the partitions whose
//! position moved, and its answer lists only the partitions with records, a new HW or log
//! start, or an error. The leader still reads, and records the follower's progress on, every
//! partition of the session at each fetch, as Kafka does: what is left out is only what would
//! have been said again.

use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::partition_map::{PartitionMap, PartitionSet};
use crate::protocol::{
    ErrorCode, FetchPartition, FetchPartitionResponse, FINAL_EPOCH, INITIAL_EPOCH,
    INVALID_SESSION_ID,
};
use crate::time::SimTime;
use crate::vec_map::VecMap;

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
    /// The follower was an in-sync replica at the leader's LEO with nothing new to be sent at
    /// the last fetch that recorded it, and nothing has moved since: each fetch of the session
    /// would record it caught up at that fetch and leave it out of the answer. So fetches skip
    /// it, and its progress is written once, as of the session's last fetch, when anything
    /// moves (`Broker::settle_lazy`): exact, and no per-partition work while it is quiet.
    pub lazy: bool,
}

impl CachedPartition {
    fn new(fetch: FetchPartition) -> CachedPartition {
        CachedPartition {
            fetch,
            high_watermark: None,
            log_start_offset: None,
            lazy: false,
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
    /// When its last fetch arrived.
    pub last_fetch: SimTime,
    pub partitions: PartitionMap<CachedPartition>,
}

impl FetchSession {
    fn take_lazy(
        &mut self,
        tp: Option<&TopicPartition>,
        settle: &mut dyn FnMut(&TopicPartition, BrokerId, Offset, SimTime),
    ) {
        let mut end = |c: &mut CachedPartition| {
            if c.lazy {
                c.lazy = false;
                settle(
                    &c.fetch.tp,
                    self.follower,
                    c.fetch.fetch_offset,
                    self.last_fetch,
                );
            }
        };
        match tp {
            Some(tp) => {
                if let Some(c) = self.partitions.get_mut(tp) {
                    end(c);
                }
            }
            None => self.partitions.values_mut().for_each(end),
        }
    }
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
    /// Partitions it drops or names again stop being lazy: `settle` writes their progress.
    #[allow(clippy::too_many_arguments)]
    pub fn new_context(
        &mut self,
        follower: Option<BrokerId>,
        session_id: u32,
        epoch: i32,
        partitions: Vec<FetchPartition>,
        forgotten: Vec<TopicPartition>,
        now: SimTime,
        settle: &mut dyn FnMut(&TopicPartition, BrokerId, Offset, SimTime),
    ) -> Result<FetchContext, ErrorCode> {
        let Some(follower) = follower.filter(|_| epoch != FINAL_EPOCH) else {
            return Ok(FetchContext::Sessionless(partitions));
        };
        if epoch == INITIAL_EPOCH {
            for old in self
                .sessions
                .values_mut()
                .filter(|s| s.follower == follower)
            {
                old.take_lazy(None, settle);
            }
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
                    last_fetch: now,
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
        for tp in partitions.iter().map(|p| &p.tp).chain(&forgotten) {
            session.take_lazy(Some(tp), settle);
        }
        session.last_fetch = now;
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

    /// Ends the lazy recording of `tp` (every partition with `None`) in every session, handing
    /// each follower's due progress to `settle`: something about the partition moved.
    pub fn take_lazy(
        &mut self,
        tp: Option<&TopicPartition>,
        settle: &mut dyn FnMut(&TopicPartition, BrokerId, Offset, SimTime),
    ) {
        for session in self.sessions.values_mut() {
            session.take_lazy(tp, settle);
        }
    }

    /// Takes a session's partitions out (to update the leader's replicas while walking
    /// them); `put_back` returns them.
    pub fn take_partitions(&mut self, id: u32) -> PartitionMap<CachedPartition> {
        self.sessions
            .get_mut(&id)
            .map(|s| std::mem::take(&mut s.partitions))
            .unwrap_or_default()
    }

    pub fn put_back(&mut self, id: u32, partitions: PartitionMap<CachedPartition>) {
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
    sent: PartitionMap<(Offset, Option<LeaderEpoch>)>,
    /// Partitions whose position may have moved since the last fetch (those in its answer,
    /// and newly followed ones): the only ones an incremental fetch can need to name.
    dirty: PartitionSet,
    /// Partitions no longer followed that the session still holds.
    forgotten: Vec<TopicPartition>,
}

impl FetchSessionHandler {
    /// `tp` is now followed from this leader.
    pub fn added(&mut self, tp: &TopicPartition) {
        self.forgotten.retain(|f| f != tp);
        self.dirty.add(tp);
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
        self.dirty.add(tp);
    }

    /// The next fetch of `followed`, whose positions `position` gives (Kafka's
    /// `FetchSessionHandler.Builder.build`).
    pub fn next_fetch(
        &mut self,
        followed: &PartitionSet,
        position: impl Fn(&TopicPartition) -> Option<(Offset, Option<LeaderEpoch>)>,
    ) -> NextFetch {
        let fetch = |tp: &TopicPartition, (fetch_offset, last_fetched_epoch)| FetchPartition {
            tp: tp.clone(),
            fetch_offset,
            last_fetched_epoch,
        };
        if self.next_epoch == INITIAL_EPOCH {
            // Emptied by every fetch (`clear` keeps its memory for the next).
            self.dirty.clear();
            self.forgotten.clear();
            self.sent = followed
                .keys()
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
        for tp in self.dirty.keys() {
            let Some(at) = position(tp).filter(|_| followed.contains_key(tp)) else {
                continue;
            };
            let mut new = false;
            let sent = self.sent.get_or_insert_with(tp, || {
                new = true;
                at
            });
            if new || *sent != at {
                *sent = at;
                partitions.push(fetch(tp, at));
            }
        }
        self.dirty.clear();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::FetchPartitionResponse;

    fn resolve(
        cache: &mut FetchSessionCache,
        follower: Option<BrokerId>,
        id: u32,
        epoch: i32,
        partitions: Vec<FetchPartition>,
        forgotten: Vec<TopicPartition>,
    ) -> Result<FetchContext, ErrorCode> {
        let now = SimTime::from_ms(1);
        cache.new_context(
            follower,
            id,
            epoch,
            partitions,
            forgotten,
            now,
            &mut |_, _, _, _| {},
        )
    }

    fn tp(partition: u32) -> TopicPartition {
        TopicPartition::new(&crate::ids::TopicName::from("orders"), partition)
    }

    fn at(partition: u32, fetch_offset: Offset) -> FetchPartition {
        FetchPartition {
            tp: tp(partition),
            fetch_offset,
            last_fetched_epoch: Some(0),
        }
    }

    fn answer(partition: u32, high_watermark: Offset, records: bool) -> FetchPartitionResponse {
        let mut batches = Vec::new();
        if records {
            let mut b = crate::log::record::BatchBuilder::with_capacity(64);
            b.push(0, 1, Some(b"k"), b"v");
            batches.push(b.finish(-1, 0, -1));
        }
        FetchPartitionResponse {
            tp: tp(partition),
            error: None,
            high_watermark,
            last_stable_offset: high_watermark,
            aborted_transactions: Vec::new(),
            log_start_offset: 0,
            diverging_epoch: None,
            batches,
        }
    }

    #[test]
    fn a_full_fetch_opens_a_session_that_incremental_fetches_follow_in_epoch_order() {
        let mut cache = FetchSessionCache::default();
        let follower = Some(BrokerId(2));
        let full = resolve(
            &mut cache,
            follower,
            INVALID_SESSION_ID,
            INITIAL_EPOCH,
            vec![at(0, 5), at(1, 7)],
            vec![],
        );
        let Ok(FetchContext::Session { id, full: true }) = full else {
            panic!("a follower's full fetch opens a session: {full:?}")
        };
        assert_ne!(id, INVALID_SESSION_ID);
        // Epoch 1 names partition 1's new position and forgets partition 0.
        let next = resolve(&mut cache, follower, id, 1, vec![at(1, 9)], vec![tp(0)]);
        assert!(matches!(
            next,
            Ok(FetchContext::Session { full: false, .. })
        ));
        let session = cache.get(id).expect("kept");
        let kept: Vec<_> = session
            .partitions
            .values()
            .map(|c| (c.fetch.tp.partition, c.fetch.fetch_offset))
            .collect();
        assert_eq!(kept, vec![(1, 9)]);
        // The same epoch again, a skipped one, another follower's or an unknown session: errors.
        assert_eq!(
            resolve(&mut cache, follower, id, 1, vec![], vec![]).err(),
            Some(ErrorCode::InvalidFetchSessionEpoch)
        );
        assert_eq!(
            resolve(&mut cache, follower, id, 3, vec![], vec![]).err(),
            Some(ErrorCode::InvalidFetchSessionEpoch)
        );
        assert_eq!(
            resolve(&mut cache, Some(BrokerId(3)), id, 2, vec![], vec![]).err(),
            Some(ErrorCode::FetchSessionIdNotFound)
        );
        assert_eq!(
            resolve(&mut cache, follower, id + 1, 2, vec![], vec![]).err(),
            Some(ErrorCode::FetchSessionIdNotFound)
        );
        assert!(resolve(&mut cache, follower, id, 2, vec![], vec![]).is_ok());
        // A new full fetch from the same follower replaces its session.
        let Ok(FetchContext::Session { id: second, .. }) = resolve(
            &mut cache,
            follower,
            id,
            INITIAL_EPOCH,
            vec![at(0, 1)],
            vec![],
        ) else {
            panic!("a new session")
        };
        assert_ne!(second, id);
        assert!(cache.get(id).is_none());
        assert_eq!(
            resolve(&mut cache, follower, id, 3, vec![], vec![]).err(),
            Some(ErrorCode::FetchSessionIdNotFound)
        );
    }

    #[test]
    fn consumers_and_final_epoch_fetches_have_no_session() {
        let mut cache = FetchSessionCache::default();
        let consumer = resolve(
            &mut cache,
            None,
            INVALID_SESSION_ID,
            INITIAL_EPOCH,
            vec![at(0, 1)],
            vec![],
        );
        assert!(matches!(consumer, Ok(FetchContext::Sessionless(ref p)) if p.len() == 1));
        let sessionless = resolve(
            &mut cache,
            Some(BrokerId(2)),
            INVALID_SESSION_ID,
            FINAL_EPOCH,
            vec![at(0, 1)],
            vec![],
        );
        assert!(matches!(sessionless, Ok(FetchContext::Sessionless(_))));
        assert_eq!(consumer.unwrap().session_id(), INVALID_SESSION_ID);
    }

    #[test]
    fn a_partition_is_resent_only_with_records_a_new_hw_or_after_an_error() {
        let mut cache = FetchSessionCache::default();
        let Ok(FetchContext::Session { id, .. }) = resolve(
            &mut cache,
            Some(BrokerId(2)),
            0,
            INITIAL_EPOCH,
            vec![at(0, 5)],
            vec![],
        ) else {
            panic!()
        };
        let cached = |cache: &FetchSessionCache| {
            cache
                .get(id)
                .unwrap()
                .partitions
                .get(&tp(0))
                .unwrap()
                .clone()
        };
        // Never sent: anything must be sent.
        assert!(cached(&cache).must_respond(&answer(0, 5, false)));
        cache.sent(id, &[answer(0, 5, false)]);
        assert!(!cached(&cache).must_respond(&answer(0, 5, false)));
        assert!(
            cached(&cache).must_respond(&answer(0, 6, false)),
            "a new HW"
        );
        assert!(cached(&cache).must_respond(&answer(0, 5, true)), "records");
        let mut failed = answer(0, 5, false);
        failed.error = Some(ErrorCode::NotLeaderOrFollower);
        assert!(cached(&cache).must_respond(&failed), "errors always");
        cache.sent(id, &[failed]);
        assert!(
            cached(&cache).must_respond(&answer(0, 5, false)),
            "resent once the error clears"
        );
    }

    #[test]
    fn the_fetcher_names_only_moved_partitions_and_forgets_unfollowed_ones_once() {
        let mut handler = FetchSessionHandler::default();
        let mut followed: PartitionSet = [tp(0), tp(1), tp(2)]
            .map(|tp| (tp, ()))
            .into_iter()
            .collect();
        let mut leo: VecMap<TopicPartition, Offset> = [(tp(0), 5), (tp(1), 7), (tp(2), 0)].into();
        let position = |leo: &VecMap<TopicPartition, Offset>| {
            let leo = leo.clone();
            move |tp: &TopicPartition| leo.get(tp).map(|o| (*o, Some(0)))
        };
        for tp in followed.keys() {
            handler.added(tp);
        }
        let first = handler.next_fetch(&followed, position(&leo));
        assert_eq!(
            (first.session_epoch, first.partitions.len()),
            (INITIAL_EPOCH, 3)
        );
        handler.answered(42);
        // Nothing moved: an empty incremental fetch of session 42, epoch 1.
        handler.touched(&tp(0));
        let idle = handler.next_fetch(&followed, position(&leo));
        assert_eq!((idle.session_id, idle.session_epoch), (42, 1));
        assert!(idle.partitions.is_empty() && idle.forgotten.is_empty());
        handler.answered(42);
        // Partition 1 appended; partition 2 is no longer followed.
        leo.insert(tp(1), 9);
        handler.touched(&tp(0));
        handler.touched(&tp(1));
        followed.remove(&tp(2));
        handler.removed(&tp(2));
        let next = handler.next_fetch(&followed, position(&leo));
        assert_eq!(next.session_epoch, 2);
        assert_eq!(
            next.partitions,
            vec![FetchPartition {
                tp: tp(1),
                fetch_offset: 9,
                last_fetched_epoch: Some(0)
            }]
        );
        assert_eq!(next.forgotten, vec![tp(2)]);
        handler.answered(42);
        // Followed again: named; dropped and followed again before the next fetch: named, not
        // forgotten.
        followed.add(&tp(2));
        handler.added(&tp(2));
        handler.removed(&tp(1));
        handler.added(&tp(1));
        let again = handler.next_fetch(&followed, position(&leo));
        assert_eq!(
            again
                .partitions
                .iter()
                .map(|p| p.tp.partition)
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!(again.forgotten.is_empty());
        // Any failure: the next fetch is full again, closing session 42.
        handler.reset();
        let full = handler.next_fetch(&followed, position(&leo));
        assert_eq!(
            (full.session_id, full.session_epoch, full.partitions.len()),
            (42, INITIAL_EPOCH, 3)
        );
    }

    #[test]
    fn a_lazy_partition_is_settled_as_of_the_sessions_last_fetch_when_named_or_moved() {
        let mut cache = FetchSessionCache::default();
        let follower = BrokerId(2);
        let mut settled = Vec::new();
        let mut record = |tp: &TopicPartition, b: BrokerId, offset: Offset, at: SimTime| {
            settled.push((tp.partition, b, offset, at))
        };
        let Ok(FetchContext::Session { id, .. }) = cache.new_context(
            Some(follower),
            0,
            INITIAL_EPOCH,
            vec![at(0, 5), at(1, 7)],
            vec![],
            SimTime::from_ms(10),
            &mut record,
        ) else {
            panic!()
        };
        let mut partitions = cache.take_partitions(id);
        partitions.values_mut().for_each(|c| c.lazy = true);
        cache.put_back(id, partitions);
        // A quiet fetch at 20 ms: nothing named, nothing settled.
        let quiet = cache.new_context(
            Some(follower),
            id,
            1,
            vec![],
            vec![],
            SimTime::from_ms(20),
            &mut record,
        );
        assert!(quiet.is_ok());
        // Partition 1 named at 30 ms: settled as of the fetch before (20 ms) at its old offset.
        let named = cache.new_context(
            Some(follower),
            id,
            2,
            vec![at(1, 8)],
            vec![],
            SimTime::from_ms(30),
            &mut record,
        );
        assert!(named.is_ok());
        // Partition 0 moved on the leader: settled as of 30 ms.
        cache.take_lazy(Some(&tp(0)), &mut record);
        cache.take_lazy(None, &mut record);
        assert_eq!(
            settled,
            vec![
                (1, follower, 7, SimTime::from_ms(20)),
                (0, follower, 5, SimTime::from_ms(30))
            ]
        );
        assert!(cache.get(id).unwrap().partitions.values().all(|c| !c.lazy));
    }
}
