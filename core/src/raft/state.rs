//! The roles of `QuorumState` (Kafka's `*State.java`) and the vote each may grant.
//!
//! Transitions (with KIP-996): Unattached →(election timeout) Prospective →(majority of
//! pre-votes) Candidate →(majority of votes) Leader →(shutdown, check-quorum) Resigned; a
//! Follower's fetch timeout makes it Prospective; a Prospective that loses goes back to
//! Unattached, or Follower if it knew a leader; a lost candidacy backs off, then is Prospective
//! again; a higher epoch makes anyone Unattached or Follower. Observers are only Unattached or
//! Follower.

use super::{Epoch, ReplicaId};
use crate::ids::Offset;
use crate::time::SimTime;
use crate::vec_map::{VecMap, VecSet};

/// Which role a replica plays, for callers and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoleName {
    Unattached,
    Prospective,
    Candidate,
    Leader,
    Follower,
    Resigned,
}

/// The votes of one election (Kafka's `EpochElection`).
#[derive(Clone, Debug, Default)]
pub struct EpochElection {
    pub voters: Vec<ReplicaId>,
    pub granted: VecSet<ReplicaId>,
    pub rejected: VecSet<ReplicaId>,
}

impl EpochElection {
    pub fn new(voters: &[ReplicaId], me: ReplicaId) -> EpochElection {
        let mut e = EpochElection {
            voters: voters.to_vec(),
            ..Default::default()
        };
        e.granted.insert(me);
        e
    }
    fn majority(&self) -> usize {
        self.voters.len() / 2 + 1
    }
    pub fn record(&mut self, voter: ReplicaId, granted: bool) {
        if !self.voters.contains(&voter) || self.granted.contains(&voter) {
            return;
        }
        if granted {
            self.rejected.remove(&voter);
            self.granted.insert(voter);
        } else {
            self.rejected.insert(voter);
        }
    }
    pub fn is_vote_granted(&self) -> bool {
        self.granted.len() >= self.majority()
    }
    /// Too many rejections for a majority to be possible.
    pub fn is_vote_rejected(&self) -> bool {
        self.voters.len() - self.rejected.len() < self.majority()
    }
}

#[derive(Clone, Debug)]
pub struct LeaderState {
    /// The offset of this epoch's first entry: the high watermark may only pass it.
    pub epoch_start_offset: Offset,
    /// Each other voter's fetched end offset (its fetch offset).
    pub voter_end_offsets: VecMap<ReplicaId, Offset>,
    /// Voters that acknowledged BeginQuorumEpoch (or fetched in this epoch).
    pub acknowledged: VecSet<ReplicaId>,
    /// Voters that fetched since the check-quorum timer was last reset.
    pub fetched_voters: VecSet<ReplicaId>,
    pub check_quorum_deadline: SimTime,
    /// Records waiting for `append.linger.ms`.
    pub accumulator: Vec<super::log::MetadataRecord>,
    /// Fetches with nothing to return, answered on new data or at their deadline.
    pub purgatory: VecMap<ReplicaId, Parked>,
    /// What each replica (voter or observer) last fetched, for DescribeQuorum.
    pub replicas: VecMap<ReplicaId, ReplicaProgress>,
}

/// A replica as the leader sees it from its fetches (Kafka's `LeaderState.ReplicaState`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReplicaProgress {
    pub end_offset: Option<Offset>,
    pub last_fetch: Option<SimTime>,
    /// The last fetch that asked from the leader's log end.
    pub last_caught_up: Option<SimTime>,
}

/// A fetch held by the leader (Kafka's fetch purgatory).
#[derive(Clone, Debug)]
pub struct Parked {
    pub fetch_offset: Offset,
    pub deadline: SimTime,
}

#[derive(Clone, Debug)]
pub enum Role {
    Unattached {
        voted_id: Option<ReplicaId>,
    },
    Prospective {
        /// The leader it followed before its fetch timeout, if any.
        leader_id: Option<ReplicaId>,
        voted_id: Option<ReplicaId>,
        election: EpochElection,
        retries: u32,
    },
    Candidate {
        election: EpochElection,
        retries: u32,
        backing_off: bool,
    },
    Leader(Box<LeaderState>),
    Follower {
        leader_id: ReplicaId,
        /// Since the last successful fetch (or since following); the fetch timeout counts from it.
        last_fetch_success: SimTime,
        /// `EndQuorumEpoch` shortened the fetch timeout to this.
        fetch_deadline_override: Option<SimTime>,
        has_fetched_from_leader: bool,
    },
    Resigned {
        preferred_successors: Vec<ReplicaId>,
        unacknowledged: VecSet<ReplicaId>,
    },
}

impl Role {
    pub fn name(&self) -> RoleName {
        match self {
            Role::Unattached { .. } => RoleName::Unattached,
            Role::Prospective { .. } => RoleName::Prospective,
            Role::Candidate { .. } => RoleName::Candidate,
            Role::Leader(_) => RoleName::Leader,
            Role::Follower { .. } => RoleName::Follower,
            Role::Resigned { .. } => RoleName::Resigned,
        }
    }

    /// Whether a vote (or pre-vote) from `candidate` may be granted in this role and epoch
    /// (`EpochState.canGrantVote`). `log_up_to_date`: the candidate's `(last epoch, end offset)`
    /// is at least this replica's.
    pub fn can_grant_vote(
        &self,
        candidate: ReplicaId,
        log_up_to_date: bool,
        pre_vote: bool,
    ) -> bool {
        match self {
            // A leader denies every vote and pre-vote in its epoch.
            Role::Leader(_) => false,
            // KIP-996: a follower that hears its leader denies pre-votes, so a rejoining node
            // cannot disturb a healthy leader.
            Role::Follower {
                has_fetched_from_leader,
                ..
            } => pre_vote && !has_fetched_from_leader && log_up_to_date,
            // They already voted for themselves (or resigned) in this epoch.
            Role::Candidate { .. } | Role::Resigned { .. } => pre_vote && log_up_to_date,
            Role::Unattached { voted_id } => {
                unattached_can_grant(*voted_id, None, candidate, log_up_to_date, pre_vote)
            }
            Role::Prospective {
                leader_id,
                voted_id,
                ..
            } => unattached_can_grant(*voted_id, *leader_id, candidate, log_up_to_date, pre_vote),
        }
    }
}

/// `QuorumState.unattachedOrProspectiveCanGrantVote`: pre-votes need only an up-to-date log;
/// a real vote goes to at most one candidate per epoch.
fn unattached_can_grant(
    voted_id: Option<ReplicaId>,
    leader_id: Option<ReplicaId>,
    candidate: ReplicaId,
    log_up_to_date: bool,
    pre_vote: bool,
) -> bool {
    if pre_vote {
        log_up_to_date
    } else if let Some(voted) = voted_id {
        voted == candidate
    } else if leader_id.is_some() {
        false
    } else {
        log_up_to_date
    }
}

/// What survives a restart (Kafka's `quorum-state` file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ElectionState {
    pub epoch: Epoch,
    pub leader_id: Option<ReplicaId>,
    pub voted_id: Option<ReplicaId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follower(fetched: bool) -> Role {
        Role::Follower {
            leader_id: 1,
            last_fetch_success: SimTime::ZERO,
            fetch_deadline_override: None,
            has_fetched_from_leader: fetched,
        }
    }

    #[test]
    fn vote_granting_follows_each_roles_rule() {
        let unattached = Role::Unattached { voted_id: None };
        assert!(unattached.can_grant_vote(2, true, false));
        assert!(
            !unattached.can_grant_vote(2, false, false),
            "a stale log gets no vote"
        );
        // One vote per epoch: only the same candidate again.
        let voted = Role::Unattached { voted_id: Some(2) };
        assert!(voted.can_grant_vote(2, true, false));
        assert!(!voted.can_grant_vote(3, true, false));
        // Pre-votes are not bound by the vote given.
        assert!(voted.can_grant_vote(3, true, true));
        assert!(!voted.can_grant_vote(3, false, true));
        // A follower that hears its leader denies pre-votes; one that never did may grant.
        assert!(!follower(true).can_grant_vote(2, true, true));
        assert!(follower(false).can_grant_vote(2, true, true));
        assert!(!follower(false).can_grant_vote(2, true, false));
        let candidate = Role::Candidate {
            election: EpochElection::new(&[1, 2, 3], 1),
            retries: 1,
            backing_off: false,
        };
        assert!(!candidate.can_grant_vote(2, true, false));
        assert!(candidate.can_grant_vote(2, true, true));
    }

    #[test]
    fn an_election_is_won_by_a_majority_and_lost_when_none_is_left() {
        let mut e = EpochElection::new(&[1, 2, 3, 4, 5], 1);
        e.record(2, true);
        assert!(!e.is_vote_granted());
        e.record(3, false);
        e.record(4, false);
        assert!(!e.is_vote_rejected(), "5 may still grant");
        e.record(5, false);
        assert!(e.is_vote_rejected());
        e.record(9, true); // not a voter
        assert!(!e.is_vote_granted());
    }
}
