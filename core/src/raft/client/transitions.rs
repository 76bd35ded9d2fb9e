//! The transitions of `QuorumState`: each role entered arms its timers and sends what it
//! starts with (votes, BeginQuorumEpoch, EndQuorumEpoch, a fetch).

use super::{RaftClient, RaftTimer, CHECK_QUORUM_TIMEOUT_FACTOR};
use crate::ids::Offset;
use crate::node::Ctx;
use crate::raft::log::MetadataRecord;
use crate::raft::messages::{RaftError, RaftMessage};
use crate::raft::state::{EpochElection, LeaderState, Role};
use crate::raft::{Epoch, ReplicaId};
use crate::time::SimTime;
use crate::trace::Event;
use crate::vec_map::{VecMap, VecSet};

impl RaftClient {
    /// Enters `role` in `epoch`: arms its timers and sends what it starts with.
    pub(super) fn become_role(&mut self, epoch: Epoch, role: Role, ctx: &mut Ctx<'_, RaftTimer>) {
        debug_assert!(epoch >= self.epoch, "epochs never go back");
        debug_assert!(
            self.is_voter() || matches!(role, Role::Unattached { .. } | Role::Follower { .. }),
            "an observer is only Unattached or Follower"
        );
        self.generation += 1;
        self.epoch = epoch;
        self.role = role;
        self.fetch_in_flight = false;
        let generation = self.generation;
        match &self.role {
            Role::Unattached { .. } => {
                if self.is_voter() {
                    let t = self.random_election_timeout_ms(ctx);
                    ctx.timer_in_ms(t, RaftTimer::Election { generation });
                } else {
                    self.schedule_fetch(0, ctx);
                }
            }
            Role::Prospective { .. } | Role::Candidate { .. } => {
                let t = self.random_election_timeout_ms(ctx);
                ctx.timer_in_ms(t, RaftTimer::Election { generation });
                let pre_vote = matches!(self.role, Role::Prospective { .. });
                let end = self.log.end_offset();
                for v in self.other_voters() {
                    let msg = RaftMessage::VoteRequest {
                        replica_epoch: self.epoch,
                        replica_id: self.node_id,
                        last_offset_epoch: end.epoch,
                        last_offset: end.offset,
                        pre_vote,
                    };
                    self.send(ctx, v, msg);
                }
                self.maybe_transition_forward(ctx);
            }
            Role::Leader(_) => {
                if self.voters.len() > 1 {
                    let at = self.check_quorum_deadline(ctx.now);
                    ctx.timer_at(at, RaftTimer::CheckQuorum { generation });
                }
                ctx.timer_in_ms(
                    self.config.request_timeout_ms,
                    RaftTimer::Resend { generation },
                );
                for v in self.other_voters() {
                    let msg = RaftMessage::BeginQuorumEpochRequest {
                        leader_id: self.node_id,
                        leader_epoch: self.epoch,
                    };
                    self.send(ctx, v, msg);
                }
                self.maybe_update_high_watermark(ctx);
            }
            Role::Follower {
                last_fetch_success, ..
            } => {
                let at = last_fetch_success.plus_ms(self.config.fetch_timeout_ms);
                ctx.timer_at(at, RaftTimer::FetchTimeout { generation });
                self.send_fetch(ctx);
            }
            Role::Resigned { unacknowledged, .. } => {
                let t = self.random_election_timeout_ms(ctx);
                ctx.timer_in_ms(t, RaftTimer::Election { generation });
                ctx.timer_in_ms(
                    self.config.request_timeout_ms,
                    RaftTimer::Resend { generation },
                );
                for v in unacknowledged.iter().copied().collect::<Vec<_>>() {
                    self.send_end_quorum_epoch(v, ctx);
                }
            }
        }
    }

    pub(super) fn check_quorum_deadline(&self, now: SimTime) -> SimTime {
        let ms = (self.config.fetch_timeout_ms as f64 * CHECK_QUORUM_TIMEOUT_FACTOR) as u64;
        now.plus_ms(ms)
    }

    pub(super) fn transition_to_unattached(
        &mut self,
        epoch: Epoch,
        voted_id: Option<ReplicaId>,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        self.become_role(epoch, Role::Unattached { voted_id }, ctx);
    }

    pub(super) fn transition_to_follower(
        &mut self,
        epoch: Epoch,
        leader_id: ReplicaId,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        debug_assert_ne!(leader_id, self.node_id);
        debug_assert!(
            !(epoch == self.epoch && matches!(self.role, Role::Leader(_))),
            "two leaders in epoch {epoch}"
        );
        let role = Role::Follower {
            leader_id,
            last_fetch_success: ctx.now,
            fetch_deadline_override: None,
            has_fetched_from_leader: false,
        };
        self.become_role(epoch, role, ctx);
    }

    /// Election timeout as Unattached, fetch timeout as Follower, or a lost candidacy.
    pub(super) fn transition_to_prospective(&mut self, ctx: &mut Ctx<'_, RaftTimer>) {
        debug_assert!(self.is_voter());
        let (leader_id, voted_id, retries) = match &self.role {
            Role::Follower { leader_id, .. } => (Some(*leader_id), None, 0),
            Role::Unattached { voted_id } => (None, *voted_id, 0),
            Role::Candidate { retries, .. } => (None, Some(self.node_id), *retries),
            _ => (None, None, 0),
        };
        let role = Role::Prospective {
            leader_id,
            voted_id,
            election: EpochElection::new(&self.voters, self.node_id),
            retries,
        };
        self.become_role(self.epoch, role, ctx);
    }

    /// A prospective that lost or timed out goes back to what it knew
    /// (`prospectiveTransitionAfterElectionLoss`).
    pub(super) fn prospective_after_loss(&mut self, ctx: &mut Ctx<'_, RaftTimer>) {
        if let Role::Prospective {
            leader_id,
            voted_id,
            ..
        } = self.role
        {
            match leader_id {
                Some(leader) => self.transition_to_follower(self.epoch, leader, ctx),
                None => self.transition_to_unattached(self.epoch, voted_id, ctx),
            }
        }
    }

    pub(super) fn transition_to_candidate(&mut self, ctx: &mut Ctx<'_, RaftTimer>) {
        let retries = match &self.role {
            Role::Prospective { retries, .. } => retries + 1,
            _ => 1,
        };
        let epoch = self.epoch + 1;
        ctx.trace(Event::QuorumElectionStarted {
            node: self.node_id,
            epoch,
        });
        let role = Role::Candidate {
            election: EpochElection::new(&self.voters, self.node_id),
            retries,
            backing_off: false,
        };
        self.become_role(epoch, role, ctx);
    }

    pub(super) fn transition_to_leader(&mut self, ctx: &mut Ctx<'_, RaftTimer>) {
        let Role::Candidate { election, .. } = &self.role else {
            unreachable!("only a candidate becomes leader");
        };
        debug_assert!(election.is_vote_granted());
        let granting_voters: Vec<ReplicaId> = election.granted.iter().copied().collect();
        let epoch_start_offset = self.log.end_offset().offset;
        // The first entry of the epoch: committing it lets the HW expose older entries.
        self.log.append_as_leader(
            self.epoch,
            MetadataRecord::LeaderChange {
                leader_id: self.node_id,
                voters: self.voters.clone(),
                granting_voters,
            },
        );
        ctx.trace(Event::QuorumLeaderElected {
            node: self.node_id,
            epoch: self.epoch,
        });
        let mut acknowledged = VecSet::new();
        acknowledged.insert(self.node_id);
        let state = LeaderState {
            epoch_start_offset,
            voter_end_offsets: VecMap::new(),
            acknowledged,
            fetched_voters: VecSet::new(),
            check_quorum_deadline: self.check_quorum_deadline(ctx.now),
            accumulator: Vec::new(),
            purgatory: VecMap::new(),
            replicas: VecMap::new(),
        };
        self.become_role(self.epoch, Role::Leader(Box::new(state)), ctx);
    }

    pub(super) fn transition_to_resigned(
        &mut self,
        check_quorum: bool,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let Role::Leader(state) = &self.role else {
            return;
        };
        // `nonLeaderVotersByDescendingFetchOffset`.
        let mut successors: Vec<(Offset, ReplicaId)> = self
            .other_voters()
            .into_iter()
            .map(|v| (state.voter_end_offsets.get(&v).copied().unwrap_or(0), v))
            .collect();
        successors.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ctx.trace(Event::QuorumResigned {
            node: self.node_id,
            epoch: self.epoch,
            check_quorum,
        });
        let role = Role::Resigned {
            preferred_successors: successors.iter().map(|s| s.1).collect(),
            unacknowledged: self.other_voters().into_iter().collect(),
        };
        self.become_role(self.epoch, role, ctx);
    }

    /// Kafka's `maybeTransition`: a leader (or a higher epoch) learned from a request.
    pub(super) fn maybe_transition(
        &mut self,
        leader_id: Option<ReplicaId>,
        epoch: Epoch,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        if epoch < self.epoch {
            return;
        }
        match leader_id {
            Some(l) if l != self.node_id && (epoch > self.epoch || self.leader_id().is_none()) => {
                self.transition_to_follower(epoch, l, ctx)
            }
            _ if epoch > self.epoch => self.transition_to_unattached(epoch, None, ctx),
            _ => {}
        }
    }

    /// `maybeHandleCommonResponse`: true when the response is dealt with.
    pub(super) fn handle_common_response(
        &mut self,
        error: Option<RaftError>,
        leader_id: Option<ReplicaId>,
        epoch: Epoch,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) -> bool {
        if epoch < self.epoch || error == Some(RaftError::UnknownLeaderEpoch) {
            true
        } else if epoch > self.epoch
            || matches!(
                error,
                Some(RaftError::FencedLeaderEpoch | RaftError::NotLeaderOrFollower)
            )
        {
            self.maybe_transition(leader_id, epoch, ctx);
            true
        } else if let Some(l) =
            leader_id.filter(|&l| l != self.node_id && self.leader_id().is_none())
        {
            self.transition_to_follower(epoch, l, ctx);
            error.is_some()
        } else {
            false
        }
    }

    /// A nominee with a majority moves on: Prospective → Candidate → Leader.
    pub(super) fn maybe_transition_forward(&mut self, ctx: &mut Ctx<'_, RaftTimer>) {
        match &self.role {
            Role::Prospective { election, .. } if election.is_vote_granted() => {
                self.transition_to_candidate(ctx)
            }
            Role::Candidate { election, .. } if election.is_vote_granted() => {
                self.transition_to_leader(ctx)
            }
            _ => {}
        }
    }
}
