//! One replica of the quorum: Kafka's `KafkaRaftClient` as a sans-IO state machine. The host
//! hands it `(from, RaftMessage)` and its timers through a scoped [`Ctx`]; it answers with
//! messages, timers and trace events. Timers carry the role's generation, so a timer of a role
//! already left is ignored.
//!
//! Not modelled yet: dynamic voter sets (KIP-853), request retries of Vote (an election
//! timeout starts a new one instead), a snapshot sent in parts (FetchSnapshot's `Position`).

use super::log::{MetadataRecord, OffsetAndEpoch, RaftLog, Snapshot};
use super::messages::{RaftError, RaftMessage};
use super::state::{ElectionState, Role, RoleName};
use super::{Epoch, RaftConfig, ReplicaId};
use crate::ids::{NodeId, Offset};
use crate::node::Ctx;
use crate::protocol::Message;
use crate::time::SimTime;
use crate::vec_map::VecSet;

mod fetch;
mod transitions;

/// How long a follower asks the leader to hold an empty fetch (`MAX_FETCH_WAIT_MS`).
pub const MAX_FETCH_WAIT_MS: u64 = 500;
/// The base of the binary exponential election backoff (`RETRY_BACKOFF_BASE_MS`).
pub const RETRY_BACKOFF_BASE_MS: u64 = 100;
/// A leader resigns after this many fetch timeouts without fetches from a majority
/// (`LeaderState.CHECK_QUORUM_TIMEOUT_FACTOR`).
const CHECK_QUORUM_TIMEOUT_FACTOR: f64 = 1.5;
/// Entries per FetchResponse (Kafka's limit is 8 MiB; metadata records are small).
const MAX_FETCH_ENTRIES: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftTimer {
    /// Unattached, Prospective, Candidate, Resigned: the randomized election timeout.
    Election { generation: u64 },
    /// Candidate: the backoff after a rejected election.
    Backoff { generation: u64 },
    /// Follower: the fetch timeout (re-armed when fetches succeeded meanwhile).
    FetchTimeout { generation: u64 },
    /// Follower or observer: fetch again (a request timed out, or a retry backoff ended).
    Fetch { generation: u64, attempt: u64 },
    /// Leader: check-quorum.
    CheckQuorum { generation: u64 },
    /// Leader: `append.linger.ms` ended; append the accumulated records.
    Linger { generation: u64 },
    /// Leader: a parked fetch's wait ended.
    FetchWait { generation: u64, replica: ReplicaId },
    /// Leader and Resigned: resend BeginQuorumEpoch / EndQuorumEpoch to voters that did not
    /// answer.
    Resend { generation: u64 },
}

/// Returned by [`RaftClient::append`] on a replica that is not the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotLeader {
    pub leader_id: Option<ReplicaId>,
}

#[derive(Clone, Debug)]
pub struct RaftClient {
    node_id: ReplicaId,
    voters: Vec<ReplicaId>,
    config: RaftConfig,
    /// The host's address of a replica.
    address: fn(ReplicaId) -> NodeId,
    epoch: Epoch,
    role: Role,
    log: RaftLog,
    generation: u64,
    fetch_in_flight: bool,
    fetch_attempt: u64,
}

impl RaftClient {
    /// A replica with an empty log and no election state (a freshly formatted node).
    pub fn new(
        node_id: ReplicaId,
        voters: Vec<ReplicaId>,
        config: RaftConfig,
        address: fn(ReplicaId) -> NodeId,
    ) -> RaftClient {
        RaftClient::restart(
            node_id,
            voters,
            config,
            address,
            ElectionState::default(),
            RaftLog::new(),
        )
    }

    /// A replica coming back with its `quorum-state` and log (`QuorumState.initialize`): a
    /// former leader is Resigned in its epoch, so it cannot vote again in it; a vote given is
    /// kept.
    pub fn restart(
        node_id: ReplicaId,
        voters: Vec<ReplicaId>,
        config: RaftConfig,
        address: fn(ReplicaId) -> NodeId,
        election: ElectionState,
        mut log: RaftLog,
    ) -> RaftClient {
        log.forget_high_watermark();
        let role = match (election.leader_id, election.voted_id) {
            (Some(l), _) if l == node_id => Role::Resigned {
                preferred_successors: Vec::new(),
                unacknowledged: VecSet::new(),
            },
            (_, Some(v)) => Role::Unattached { voted_id: Some(v) },
            (Some(leader_id), None) => Role::Follower {
                leader_id,
                last_fetch_success: SimTime::ZERO,
                fetch_deadline_override: None,
                has_fetched_from_leader: false,
            },
            (None, None) => Role::Unattached { voted_id: None },
        };
        RaftClient {
            node_id,
            voters,
            config,
            address,
            epoch: election.epoch,
            role,
            log,
            generation: 0,
            fetch_in_flight: false,
            fetch_attempt: 0,
        }
    }

    /// Arms the timers of the starting role and sends what it sends.
    pub fn start(&mut self, ctx: &mut Ctx<'_, RaftTimer>) {
        if let Role::Follower {
            last_fetch_success, ..
        } = &mut self.role
        {
            *last_fetch_success = ctx.now;
        }
        let role = std::mem::replace(&mut self.role, Role::Unattached { voted_id: None });
        self.become_role(self.epoch, role, ctx);
    }

    // ---- Accessors ----

    pub fn node_id(&self) -> ReplicaId {
        self.node_id
    }
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }
    pub fn role(&self) -> RoleName {
        self.role.name()
    }
    pub fn is_voter(&self) -> bool {
        self.voters.contains(&self.node_id)
    }
    pub fn log(&self) -> &RaftLog {
        &self.log
    }
    /// For the host's snapshots: only committed offsets, which the log asserts.
    pub fn log_mut(&mut self) -> &mut RaftLog {
        &mut self.log
    }
    pub fn high_watermark(&self) -> Offset {
        self.log.high_watermark()
    }
    pub fn leader_id(&self) -> Option<ReplicaId> {
        match &self.role {
            Role::Leader(_) | Role::Resigned { .. } => Some(self.node_id),
            Role::Follower { leader_id, .. } => Some(*leader_id),
            Role::Prospective { leader_id, .. } => *leader_id,
            Role::Unattached { .. } | Role::Candidate { .. } => None,
        }
    }
    /// The leader's view of every replica that fetched in its epoch; `None` unless leader.
    pub fn replica_progress(
        &self,
    ) -> Option<&crate::vec_map::VecMap<ReplicaId, super::state::ReplicaProgress>> {
        match &self.role {
            Role::Leader(state) => Some(&state.replicas),
            _ => None,
        }
    }
    /// The voters' ids.
    pub fn voters(&self) -> &[ReplicaId] {
        &self.voters
    }
    /// The leader's first offset of its epoch (its LeaderChange record); `None` unless leader.
    pub fn epoch_start_offset(&self) -> Option<Offset> {
        match &self.role {
            Role::Leader(state) => Some(state.epoch_start_offset),
            _ => None,
        }
    }
    /// What a restart needs (Kafka's `quorum-state` file).
    pub fn election_state(&self) -> ElectionState {
        let voted_id = match &self.role {
            Role::Unattached { voted_id } | Role::Prospective { voted_id, .. } => *voted_id,
            Role::Candidate { .. } | Role::Leader(_) | Role::Resigned { .. } => Some(self.node_id),
            Role::Follower { .. } => None,
        };
        ElectionState {
            epoch: self.epoch,
            leader_id: self.leader_id(),
            voted_id,
        }
    }

    fn majority(&self) -> usize {
        self.voters.len() / 2 + 1
    }
    fn other_voters(&self) -> Vec<ReplicaId> {
        self.voters
            .iter()
            .copied()
            .filter(|&v| v != self.node_id)
            .collect()
    }
    fn send(&self, ctx: &mut Ctx<'_, RaftTimer>, to: ReplicaId, msg: RaftMessage) {
        ctx.send((self.address)(to), Message::Raft(Box::new(msg)));
    }
    /// `QuorumState.randomElectionTimeoutMs`: uniform in `[T, 2T)`.
    fn random_election_timeout_ms(&self, ctx: &mut Ctx<'_, RaftTimer>) -> u64 {
        let t = self.config.election_timeout_ms;
        t + ctx.rng.below(t)
    }
    /// `binaryExponentialElectionBackoffMs`: `min(100 × rand[0, 2^retries), max)`.
    fn binary_exponential_backoff_ms(&self, retries: u32, ctx: &mut Ctx<'_, RaftTimer>) -> u64 {
        debug_assert!(retries > 0);
        let bound = 2u64 << retries.saturating_sub(1).min(20);
        (RETRY_BACKOFF_BASE_MS * ctx.rng.below(bound)).min(self.config.election_backoff_max_ms)
    }
    /// `strictExponentialElectionBackoffMs`: the first preferred successor runs at once, the
    /// next ones wait exponentially longer.
    fn strict_exponential_backoff_ms(&self, position: usize, successors: usize) -> u64 {
        let max = self.config.election_backoff_max_ms;
        if position == 0 {
            0
        } else if position >= successors {
            max
        } else {
            let base = max >> (successors - 1);
            (base << (position - 1)).min(max)
        }
    }

    // ---- Inputs ----

    pub fn on_message(&mut self, from: ReplicaId, msg: RaftMessage, ctx: &mut Ctx<'_, RaftTimer>) {
        match msg {
            RaftMessage::VoteRequest {
                replica_epoch,
                replica_id,
                last_offset_epoch,
                last_offset,
                pre_vote,
            } => {
                let candidate_end = OffsetAndEpoch {
                    offset: last_offset,
                    epoch: last_offset_epoch,
                };
                let granted = self.handle_vote_request(
                    replica_epoch,
                    replica_id,
                    candidate_end,
                    pre_vote,
                    ctx,
                );
                let reply = match granted {
                    Ok(vote_granted) => (None, vote_granted),
                    Err(e) => (Some(e), false),
                };
                self.send(
                    ctx,
                    from,
                    RaftMessage::VoteResponse {
                        error: reply.0,
                        leader_epoch: self.epoch,
                        leader_id: self.leader_id(),
                        vote_granted: reply.1,
                    },
                );
            }
            RaftMessage::VoteResponse {
                error,
                leader_epoch,
                leader_id,
                vote_granted,
            } => {
                if self.handle_common_response(error, leader_id, leader_epoch, ctx)
                    || error.is_some()
                {
                    return;
                }
                self.handle_vote_response(from, vote_granted, ctx);
            }
            RaftMessage::BeginQuorumEpochRequest {
                leader_id,
                leader_epoch,
            } => {
                let error = self.handle_leader_notice(leader_id, leader_epoch, ctx);
                let reply = RaftMessage::BeginQuorumEpochResponse {
                    error,
                    leader_epoch: self.epoch,
                    leader_id: self.leader_id(),
                };
                self.send(ctx, from, reply);
            }
            RaftMessage::BeginQuorumEpochResponse {
                error,
                leader_epoch,
                leader_id,
            } => {
                if !self.handle_common_response(error, leader_id, leader_epoch, ctx)
                    && error.is_none()
                {
                    if let Role::Leader(state) = &mut self.role {
                        state.acknowledged.insert(from);
                    }
                }
            }
            RaftMessage::EndQuorumEpochRequest {
                leader_id,
                leader_epoch,
                preferred_successors,
            } => {
                let error = self.handle_leader_notice(leader_id, leader_epoch, ctx);
                if error.is_none() {
                    self.handle_end_quorum_epoch(leader_id, &preferred_successors, ctx);
                }
                let reply = RaftMessage::EndQuorumEpochResponse {
                    error,
                    leader_epoch: self.epoch,
                    leader_id: self.leader_id(),
                };
                self.send(ctx, from, reply);
            }
            RaftMessage::EndQuorumEpochResponse {
                error,
                leader_epoch,
                leader_id,
            } => {
                if !self.handle_common_response(error, leader_id, leader_epoch, ctx)
                    && error.is_none()
                {
                    if let Role::Resigned { unacknowledged, .. } = &mut self.role {
                        unacknowledged.remove(&from);
                    }
                }
            }
            RaftMessage::FetchRequest {
                replica_id,
                current_leader_epoch,
                fetch_offset,
                last_fetched_epoch,
                max_wait_ms,
            } => self.handle_fetch_request(
                replica_id,
                current_leader_epoch,
                fetch_offset,
                last_fetched_epoch,
                max_wait_ms,
                ctx,
            ),
            RaftMessage::FetchResponse {
                error,
                leader_epoch,
                leader_id,
                high_watermark,
                diverging_epoch,
                snapshot_id,
                records,
                ..
            } => {
                // The answer to a fetch of an older epoch; a newer fetch may be in flight.
                if leader_epoch < self.epoch {
                    return;
                }
                self.fetch_in_flight = false;
                if self.handle_common_response(error, leader_id, leader_epoch, ctx) {
                    // Unless a new leader was just fetched from, try again after a backoff.
                    if !self.fetch_in_flight {
                        self.schedule_fetch(self.config.retry_backoff_ms, ctx);
                    }
                    return;
                }
                if error.is_some() {
                    self.schedule_fetch(self.config.retry_backoff_ms, ctx);
                    return;
                }
                self.handle_fetch_response(
                    from,
                    high_watermark,
                    diverging_epoch,
                    snapshot_id,
                    records,
                    ctx,
                );
            }
            RaftMessage::FetchSnapshotRequest {
                current_leader_epoch,
                snapshot_id,
                ..
            } => {
                // The whole snapshot in one answer; only the latest is kept, so an older
                // one is not found and the follower's next fetch names the latest.
                let snapshot = self.log.snapshot().filter(|s| s.id == snapshot_id);
                let error = if current_leader_epoch < self.epoch {
                    Some(RaftError::FencedLeaderEpoch)
                } else if !matches!(self.role, Role::Leader(_)) {
                    Some(RaftError::NotLeaderOrFollower)
                } else if snapshot.is_none() {
                    Some(RaftError::SnapshotNotFound)
                } else {
                    None
                };
                let reply = RaftMessage::FetchSnapshotResponse {
                    error,
                    leader_epoch: self.epoch,
                    leader_id: self.leader_id(),
                    snapshot_id,
                    records: snapshot.map(|s| s.records.clone()).unwrap_or_default(),
                };
                self.send(ctx, from, reply);
            }
            RaftMessage::FetchSnapshotResponse {
                error,
                leader_epoch,
                leader_id,
                snapshot_id,
                records,
            } => {
                self.fetch_in_flight = false;
                if self.handle_common_response(error, leader_id, leader_epoch, ctx) {
                    if !self.fetch_in_flight {
                        self.schedule_fetch(self.config.retry_backoff_ms, ctx);
                    }
                    return;
                }
                if error.is_none() && self.leader_id() == Some(from) {
                    // `handleFetchSnapshotResponse`: the log restarts at the snapshot's end;
                    // the host loads the image from it.
                    self.log.install_snapshot(Snapshot {
                        id: snapshot_id,
                        records,
                        created_at: ctx.now,
                    });
                    self.send_fetch(ctx);
                } else {
                    self.schedule_fetch(self.config.retry_backoff_ms, ctx);
                }
            }
        }
    }

    /// `handleVoteRequest`: the vote (or pre-vote) granted, or why the request is refused.
    fn handle_vote_request(
        &mut self,
        replica_epoch: Epoch,
        replica_id: ReplicaId,
        candidate_end: OffsetAndEpoch,
        pre_vote: bool,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) -> Result<bool, RaftError> {
        // A candidate bumped its epoch past its log's; a prospective did not.
        let illegal = if pre_vote {
            candidate_end.epoch > replica_epoch
        } else {
            candidate_end.epoch >= replica_epoch
        };
        if illegal {
            return Err(RaftError::InvalidRequest);
        }
        if replica_epoch < self.epoch {
            return Err(RaftError::FencedLeaderEpoch);
        }
        if replica_epoch > self.epoch {
            self.transition_to_unattached(replica_epoch, None, ctx);
        }
        let log_up_to_date = candidate_end >= self.log.end_offset();
        let granted = self.is_voter()
            && self
                .role
                .can_grant_vote(replica_id, log_up_to_date, pre_vote);
        // One vote per epoch, persisted; pre-votes are not recorded.
        if granted && !pre_vote {
            match &mut self.role {
                Role::Unattached { voted_id: None } => {
                    self.transition_to_unattached(self.epoch, Some(replica_id), ctx)
                }
                Role::Prospective { voted_id, .. } if voted_id.is_none() => {
                    *voted_id = Some(replica_id)
                }
                _ => {}
            }
        }
        Ok(granted)
    }

    fn handle_vote_response(
        &mut self,
        from: ReplicaId,
        granted: bool,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        match &mut self.role {
            Role::Prospective { election, .. } => {
                election.record(from, granted);
                if election.is_vote_rejected() {
                    self.prospective_after_loss(ctx);
                } else {
                    self.maybe_transition_forward(ctx);
                }
            }
            Role::Candidate {
                election,
                retries,
                backing_off,
            } => {
                election.record(from, granted);
                if election.is_vote_rejected() && !*backing_off {
                    // Lost: a random exponential backoff, shorter than waiting for the
                    // election timeout, and random so two nominees do not collide again.
                    *backing_off = true;
                    let retries = *retries;
                    let backoff = self.binary_exponential_backoff_ms(retries, ctx);
                    let generation = self.generation;
                    ctx.timer_in_ms(backoff, RaftTimer::Backoff { generation });
                } else {
                    self.maybe_transition_forward(ctx);
                }
            }
            _ => {}
        }
    }

    /// BeginQuorumEpoch and EndQuorumEpoch: a stale epoch is refused, a newer one followed.
    fn handle_leader_notice(
        &mut self,
        leader_id: ReplicaId,
        leader_epoch: Epoch,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) -> Option<RaftError> {
        if leader_epoch < self.epoch {
            return Some(RaftError::FencedLeaderEpoch);
        }
        self.maybe_transition(Some(leader_id), leader_epoch, ctx);
        None
    }

    /// A follower of the resigning leader starts its election after a backoff by its place
    /// among the preferred successors (`endEpochElectionBackoff`).
    fn handle_end_quorum_epoch(
        &mut self,
        leader: ReplicaId,
        successors: &[ReplicaId],
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        if !self.is_voter() {
            return;
        }
        let position = successors
            .iter()
            .position(|&s| s == self.node_id)
            .unwrap_or(successors.len());
        let backoff = self.strict_exponential_backoff_ms(position, successors.len());
        let generation = self.generation;
        if let Role::Follower {
            leader_id,
            fetch_deadline_override,
            ..
        } = &mut self.role
        {
            if *leader_id == leader {
                let at = ctx.now.plus_ms(backoff);
                *fetch_deadline_override = Some(at);
                ctx.timer_at(at, RaftTimer::FetchTimeout { generation });
            }
        }
    }

    fn send_end_quorum_epoch(&self, to: ReplicaId, ctx: &mut Ctx<'_, RaftTimer>) {
        let Role::Resigned {
            preferred_successors,
            ..
        } = &self.role
        else {
            return;
        };
        let msg = RaftMessage::EndQuorumEpochRequest {
            leader_id: self.node_id,
            leader_epoch: self.epoch,
            preferred_successors: preferred_successors.clone(),
        };
        self.send(ctx, to, msg);
    }

    pub fn on_timer(&mut self, timer: RaftTimer, ctx: &mut Ctx<'_, RaftTimer>) {
        let generation = match timer {
            RaftTimer::Election { generation }
            | RaftTimer::Backoff { generation }
            | RaftTimer::FetchTimeout { generation }
            | RaftTimer::Fetch { generation, .. }
            | RaftTimer::CheckQuorum { generation }
            | RaftTimer::Linger { generation }
            | RaftTimer::FetchWait { generation, .. }
            | RaftTimer::Resend { generation } => generation,
        };
        if generation != self.generation {
            return;
        }
        match timer {
            RaftTimer::Election { .. } => match &self.role {
                Role::Unattached { .. } if self.is_voter() => self.transition_to_prospective(ctx),
                Role::Prospective { .. } => self.prospective_after_loss(ctx),
                Role::Candidate {
                    backing_off: false, ..
                } => self.transition_to_prospective(ctx),
                // A resigned leader stays out of this epoch's vote.
                Role::Resigned { .. } => {
                    self.transition_to_unattached(self.epoch, Some(self.node_id), ctx)
                }
                _ => {}
            },
            RaftTimer::Backoff { .. } => {
                if matches!(self.role, Role::Candidate { .. }) {
                    self.transition_to_prospective(ctx);
                }
            }
            RaftTimer::FetchTimeout { .. } => {
                let Role::Follower {
                    last_fetch_success,
                    fetch_deadline_override,
                    ..
                } = &self.role
                else {
                    return;
                };
                let deadline = fetch_deadline_override
                    .unwrap_or(last_fetch_success.plus_ms(self.config.fetch_timeout_ms));
                if ctx.now < deadline {
                    ctx.timer_at(deadline, timer);
                } else if self.is_voter() {
                    self.transition_to_prospective(ctx);
                } else {
                    self.transition_to_unattached(self.epoch, None, ctx);
                }
            }
            RaftTimer::Fetch { attempt, .. } => {
                if attempt == self.fetch_attempt {
                    self.fetch_in_flight = false;
                    self.send_fetch(ctx);
                }
            }
            RaftTimer::CheckQuorum { .. } => {
                let Role::Leader(state) = &self.role else {
                    return;
                };
                if ctx.now < state.check_quorum_deadline {
                    ctx.timer_at(state.check_quorum_deadline, timer);
                } else {
                    self.transition_to_resigned(true, ctx);
                }
            }
            RaftTimer::Linger { .. } => {
                let Role::Leader(state) = &mut self.role else {
                    return;
                };
                let records = std::mem::take(&mut state.accumulator);
                for record in records {
                    self.log.append_as_leader(self.epoch, record);
                }
                self.complete_purgatory(ctx);
                self.maybe_update_high_watermark(ctx);
            }
            RaftTimer::FetchWait { replica, .. } => {
                let Role::Leader(state) = &mut self.role else {
                    return;
                };
                if state
                    .purgatory
                    .get(&replica)
                    .is_some_and(|p| p.deadline <= ctx.now)
                {
                    let p = state.purgatory.remove(&replica).expect("checked above");
                    let records = self.log.read(p.fetch_offset, MAX_FETCH_ENTRIES);
                    let reply = self.fetch_response(None, None, None, records);
                    self.send(ctx, replica, reply);
                }
            }
            RaftTimer::Resend { .. } => {
                match &self.role {
                    Role::Leader(state) => {
                        for v in self.other_voters() {
                            if !state.acknowledged.contains(&v) {
                                let msg = RaftMessage::BeginQuorumEpochRequest {
                                    leader_id: self.node_id,
                                    leader_epoch: self.epoch,
                                };
                                self.send(ctx, v, msg);
                            }
                        }
                    }
                    Role::Resigned { unacknowledged, .. } => {
                        for v in unacknowledged.iter().copied().collect::<Vec<_>>() {
                            self.send_end_quorum_epoch(v, ctx);
                        }
                    }
                    _ => return,
                }
                ctx.timer_in_ms(self.config.request_timeout_ms, timer);
            }
        }
    }

    // ---- The host's requests ----

    /// The quorum controller appends a record; the leader batches for `append.linger.ms`.
    /// Returns the offset the record will have (Kafka's `prepareAppend`), so the controller
    /// can apply it at once and answer when the high watermark passes it.
    pub fn append(
        &mut self,
        record: MetadataRecord,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) -> Result<Offset, NotLeader> {
        let leader_id = self.leader_id();
        let generation = self.generation;
        let Role::Leader(state) = &mut self.role else {
            return Err(NotLeader { leader_id });
        };
        if state.accumulator.is_empty() {
            ctx.timer_in_ms(
                self.config.append_linger_ms,
                RaftTimer::Linger { generation },
            );
        }
        state.accumulator.push(record);
        Ok(self.log.end_offset().offset + state.accumulator.len() as Offset - 1)
    }

    /// A graceful shutdown: a leader resigns with EndQuorumEpoch so a successor starts at once.
    pub fn resign(&mut self, ctx: &mut Ctx<'_, RaftTimer>) {
        self.transition_to_resigned(false, ctx);
    }
}
