//! Kafka's `GroupMetadata`: one group as its coordinator holds it — its state, generation,
//! members and committed offsets — and the record that stores it in `__consumer_offsets`.
//!
//! Group states are Kafka's: Empty → PreparingRebalance → CompletingRebalance → Stable.

use crate::group::assignor::{Assignor, Subscription};
use crate::group::records::{self, OffsetsRecord};
use crate::ids::{NodeId, Offset, TopicPartition};
use crate::protocol::Correlation;
use crate::time::SimTime;
use crate::vec_map::{VecMap, VecSet};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

#[derive(Clone, Debug)]
pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client: NodeId,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    pub protocols: Vec<Assignor>,
    pub subscription: Subscription,
    pub assignment: Vec<TopicPartition>,
    pub last_heartbeat: SimTime,
    /// Order of joining: the earliest joiner still present leads.
    pub(super) joined_seq: u64,
    /// The JoinGroup answered when the rebalance completes.
    pub(super) awaiting_join: Option<Correlation>,
    /// The SyncGroup answered once the leader's assignment arrives.
    pub(super) awaiting_sync: Option<Correlation>,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub id: String,
    /// The `__consumer_offsets` partition holding this group.
    pub partition: u32,
    pub state: GroupState,
    pub generation: i32,
    pub protocol: Option<Assignor>,
    pub leader: Option<String>,
    pub members: VecMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not joined yet (KIP-394).
    pub(super) pending_members: VecSet<String>,
    /// Committed offsets: the next offset the group will read.
    pub offsets: VecMap<TopicPartition, Offset>,
    /// Offsets committed inside open transactions, by producer id: they count once the
    /// transaction's COMMIT marker reaches this partition.
    pub pending_txn_offsets: VecMap<i64, VecMap<TopicPartition, Offset>>,
    /// Bumped at each scheduled join deadline, so stale deadlines do nothing.
    pub(super) rebalance_id: u64,
    /// While the first rebalance of an empty group waits for more members to arrive.
    pub(super) initial_delay: Option<InitialDelay>,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct InitialDelay {
    /// The rebalance timeout left to spend on extensions.
    pub(super) remaining_ms: u64,
    pub(super) new_member_joined: bool,
}

impl Group {
    pub(super) fn new(id: &str, partition: u32) -> Group {
        Group {
            id: id.to_string(),
            partition,
            state: GroupState::Empty,
            generation: 0,
            protocol: None,
            leader: None,
            members: VecMap::new(),
            pending_members: VecSet::new(),
            offsets: VecMap::new(),
            pending_txn_offsets: VecMap::new(),
            rebalance_id: 0,
            initial_delay: None,
        }
    }

    pub(super) fn all_members_joined(&self) -> bool {
        self.members.values().all(|m| m.awaiting_join.is_some())
    }

    pub(super) fn max_rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Kafka's `selectProtocol`: among assignors every member supports, the one most members
    /// prefer (ties to the earliest in the first member's list).
    pub(super) fn select_protocol(&self) -> Option<Assignor> {
        let mut members = self.members.values();
        let first = members.next()?;
        let common: Vec<Assignor> = first
            .protocols
            .iter()
            .copied()
            .filter(|a| self.members.values().all(|m| m.protocols.contains(a)))
            .collect();
        let votes = |a: &Assignor| {
            self.members
                .values()
                .filter(|m| m.protocols.iter().find(|p| common.contains(p)) == Some(a))
                .count()
        };
        let best = common.iter().map(votes).max()?;
        common.iter().copied().find(|a| votes(a) == best)
    }

    /// Kafka's `supportsProtocols`: a joiner must share an assignor with every member.
    pub(super) fn supports(&self, protocols: &[Assignor]) -> bool {
        self.members.is_empty()
            || protocols
                .iter()
                .any(|p| self.members.values().all(|m| m.protocols.contains(p)))
    }

    /// Kafka's `currentStaticMemberId`: the member id now held by this `group.instance.id`.
    pub(super) fn current_static_member_id(&self, instance: Option<&String>) -> Option<String> {
        let instance = instance?;
        self.members
            .values()
            .find(|m| m.group_instance_id.as_ref() == Some(instance))
            .map(|m| m.member_id.clone())
    }

    /// The record storing this group's metadata in `__consumer_offsets`.
    pub(super) fn record(&self) -> OffsetsRecord {
        OffsetsRecord::Group {
            group: self.id.clone(),
            generation: self.generation,
            protocol: self.protocol,
            leader: self.leader.clone(),
            members: self
                .members
                .values()
                .map(|m| records::StoredMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client: m.client,
                    session_timeout_ms: m.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    protocols: m.protocols.clone(),
                    subscription: m.subscription.clone(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }
}
