//! Pull replication: the leader answers Fetch (validating the follower's position against
//! its epoch cache, holding empty answers in a purgatory) and moves the high watermark; a
//! follower appends, truncates on a diverging epoch, and fetches again.

use super::{RaftClient, RaftTimer, MAX_FETCH_ENTRIES, MAX_FETCH_WAIT_MS};
use crate::ids::Offset;
use crate::node::Ctx;
use crate::raft::log::{LogEntry, OffsetAndEpoch, ValidOffsetAndEpoch};
use crate::raft::messages::{RaftError, RaftMessage};
use crate::raft::state::{Parked, Role};
use crate::raft::{Epoch, ReplicaId};
use crate::trace::Event;

impl RaftClient {
    pub(super) fn handle_fetch_request(
        &mut self,
        replica_id: ReplicaId,
        current_leader_epoch: Epoch,
        fetch_offset: Offset,
        last_fetched_epoch: Epoch,
        max_wait_ms: u64,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let error = if current_leader_epoch < self.epoch {
            Some(RaftError::FencedLeaderEpoch)
        } else if current_leader_epoch > self.epoch {
            Some(RaftError::UnknownLeaderEpoch)
        } else if !matches!(self.role, Role::Leader(_)) {
            Some(RaftError::NotLeaderOrFollower)
        } else {
            None
        };
        if let Some(error) = error {
            let reply = self.fetch_response(Some(error), None, None, Vec::new());
            self.send(ctx, replica_id, reply);
            return;
        }
        match self
            .log
            .validate_offset_and_epoch(fetch_offset, last_fetched_epoch)
        {
            ValidOffsetAndEpoch::Diverging(end) => {
                let reply = self.fetch_response(None, Some(end), None, Vec::new());
                self.send(ctx, replica_id, reply);
            }
            ValidOffsetAndEpoch::Snapshot(id) => {
                let reply = self.fetch_response(None, None, Some(id), Vec::new());
                self.send(ctx, replica_id, reply);
            }
            ValidOffsetAndEpoch::Valid => {
                let is_voter = self.voters.contains(&replica_id);
                let check_quorum_quota = self.voters.len() / 2;
                let deadline = self.check_quorum_deadline(ctx.now);
                let Role::Leader(state) = &mut self.role else {
                    unreachable!()
                };
                if is_voter {
                    state.voter_end_offsets.insert(replica_id, fetch_offset);
                    state.acknowledged.insert(replica_id);
                    // `updateCheckQuorumForFollowingVoter`: fetches from a majority (the
                    // leader counts itself) restart the check-quorum timer.
                    state.fetched_voters.insert(replica_id);
                    if state.fetched_voters.len() >= check_quorum_quota {
                        state.fetched_voters.clear();
                        state.check_quorum_deadline = deadline;
                    }
                }
                // `ReplicaState.updateFetchState`, for DescribeQuorum.
                let leader_end = self.log.end_offset().offset;
                let progress = state.replicas.entry(replica_id).or_default();
                progress.end_offset = Some(fetch_offset);
                progress.last_fetch = Some(ctx.now);
                if fetch_offset >= leader_end {
                    progress.last_caught_up = Some(ctx.now);
                }
                let records = self.log.read(fetch_offset, MAX_FETCH_ENTRIES);
                if records.is_empty() && max_wait_ms > 0 {
                    let at = ctx.now.plus_ms(max_wait_ms);
                    state.purgatory.insert(
                        replica_id,
                        Parked {
                            fetch_offset,
                            deadline: at,
                        },
                    );
                    let generation = self.generation;
                    ctx.timer_at(
                        at,
                        RaftTimer::FetchWait {
                            generation,
                            replica: replica_id,
                        },
                    );
                } else {
                    let reply = self.fetch_response(None, None, None, records);
                    self.send(ctx, replica_id, reply);
                }
                self.maybe_update_high_watermark(ctx);
            }
        }
    }

    pub(super) fn fetch_response(
        &self,
        error: Option<RaftError>,
        diverging_epoch: Option<OffsetAndEpoch>,
        snapshot_id: Option<OffsetAndEpoch>,
        records: Vec<LogEntry>,
    ) -> RaftMessage {
        RaftMessage::FetchResponse {
            error,
            leader_epoch: self.epoch,
            leader_id: self.leader_id(),
            high_watermark: self.log.high_watermark(),
            log_start_offset: self.log.log_start_offset(),
            diverging_epoch,
            snapshot_id,
            records,
        }
    }

    pub(super) fn handle_fetch_response(
        &mut self,
        from: ReplicaId,
        high_watermark: Offset,
        diverging_epoch: Option<OffsetAndEpoch>,
        snapshot_id: Option<OffsetAndEpoch>,
        records: Vec<LogEntry>,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let now = ctx.now;
        let Role::Follower {
            leader_id,
            last_fetch_success,
            fetch_deadline_override,
            has_fetched_from_leader,
        } = &mut self.role
        else {
            return;
        };
        if *leader_id != from {
            return;
        }
        *last_fetch_success = now;
        *has_fetched_from_leader = true;
        *fetch_deadline_override = None;
        if let Some(diverging) = diverging_epoch {
            self.log.truncate_to_end_offset(diverging);
        } else if let Some(snapshot_id) = snapshot_id {
            let msg = RaftMessage::FetchSnapshotRequest {
                replica_id: self.node_id,
                current_leader_epoch: self.epoch,
                snapshot_id,
                position: 0,
            };
            self.fetch_in_flight = true;
            self.send(ctx, from, msg);
            return;
        } else {
            if records
                .first()
                .is_some_and(|r| r.offset == self.log.end_offset().offset)
            {
                self.log.append_as_follower(records);
            }
            self.log.update_high_watermark(high_watermark);
        }
        self.send_fetch(ctx);
    }

    /// Fetches from the leader (or, for an observer without one, from any voter).
    pub(super) fn send_fetch(&mut self, ctx: &mut Ctx<'_, RaftTimer>) {
        let target = match &self.role {
            Role::Follower { leader_id, .. } => *leader_id,
            Role::Unattached { .. } if !self.is_voter() && !self.voters.is_empty() => {
                self.voters[ctx.rng.below(self.voters.len() as u64) as usize]
            }
            _ => return,
        };
        if self.fetch_in_flight {
            return;
        }
        self.fetch_in_flight = true;
        self.fetch_attempt += 1;
        let end = self.log.end_offset();
        let msg = RaftMessage::FetchRequest {
            replica_id: self.node_id,
            current_leader_epoch: self.epoch,
            fetch_offset: end.offset,
            last_fetched_epoch: end.epoch,
            max_wait_ms: MAX_FETCH_WAIT_MS,
        };
        self.send(ctx, target, msg);
        let timer = RaftTimer::Fetch {
            generation: self.generation,
            attempt: self.fetch_attempt,
        };
        ctx.timer_in_ms(self.config.request_timeout_ms, timer);
    }

    /// Fetches again after `delay_ms`.
    pub(super) fn schedule_fetch(&mut self, delay_ms: u64, ctx: &mut Ctx<'_, RaftTimer>) {
        self.fetch_in_flight = false;
        self.fetch_attempt += 1;
        let timer = RaftTimer::Fetch {
            generation: self.generation,
            attempt: self.fetch_attempt,
        };
        ctx.timer_in_ms(delay_ms, timer);
    }

    /// `LeaderState.maybeUpdateHighWatermark`: the offset a majority of voters holds, once
    /// past the epoch's start.
    pub(super) fn maybe_update_high_watermark(&mut self, ctx: &mut Ctx<'_, RaftTimer>) {
        let Role::Leader(state) = &self.role else {
            return;
        };
        let leader_end = self.log.end_offset().offset;
        let mut ends: Vec<Offset> = self
            .voters
            .iter()
            .map(|v| {
                if *v == self.node_id {
                    leader_end
                } else {
                    state.voter_end_offsets.get(v).copied().unwrap_or(0)
                }
            })
            .collect();
        ends.sort_unstable_by(|a, b| b.cmp(a));
        let majority_end = ends[self.voters.len() / 2];
        debug_assert!(ends.iter().filter(|&&e| e >= majority_end).count() >= self.majority());
        // The leader must commit an entry of its own epoch before exposing older ones.
        if majority_end > state.epoch_start_offset && self.log.update_high_watermark(majority_end) {
            ctx.trace(Event::QuorumHighWatermark {
                node: self.node_id,
                epoch: self.epoch,
                offset: majority_end,
            });
            self.complete_purgatory(ctx);
        }
    }

    /// New data or a new high watermark: answer every parked fetch.
    pub(super) fn complete_purgatory(&mut self, ctx: &mut Ctx<'_, RaftTimer>) {
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let parked: Vec<(ReplicaId, Parked)> = state.purgatory.drain().collect();
        for (replica, p) in parked {
            let records = self.log.read(p.fetch_offset, MAX_FETCH_ENTRIES);
            let reply = self.fetch_response(None, None, None, records);
            self.send(ctx, replica, reply);
        }
    }
}
