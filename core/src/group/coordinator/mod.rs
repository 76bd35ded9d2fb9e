//! The group coordinator, as Kafka's `GroupCoordinator` and `GroupMetadataManager` run it on
//! the leader of a `__consumer_offsets` partition: members join, the first joiner leads and
//! assigns, everyone syncs, heartbeats keep members alive, and offsets are committed as
//! records in the partition, answered once replicated (acks=all). A new leader of the
//! partition loads its groups and offsets from the log, which is how coordination fails over.
//!
//! This file routes requests and timers; the work is split as Kafka's classes split it:
//! [`metadata`] (`GroupMetadata`: a group, its members and state), [`join`] (JoinGroup and the
//! rebalance), [`membership`] (SyncGroup, Heartbeat, LeaveGroup, session expiry), [`offsets`]
//! (OffsetCommit, TxnOffsetCommit, OffsetFetch) and [`load`] (`GroupMetadataManager` taking a
//! partition on and off).

mod join;
mod load;
mod membership;
mod metadata;
mod offsets;

pub use join::JoinGroup;
pub use metadata::{Group, GroupState, Member};
pub use offsets::OffsetCommit;

use super::coordinator_partition;
use super::records::OffsetsRecord;
use crate::config::BrokerConfig;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{Correlation, ErrorCode, Message};
use crate::vec_map::{VecMap, VecSet};

pub use super::OFFSETS_TOPIC;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupTimer {
    /// Has this member been silent for its session timeout?
    Session { group: String, member: String },
    /// The rebalance's wait for members to rejoin is over.
    JoinDeadline { group: String, rebalance_id: u64 },
}

/// Records for the coordinator's partition, and what to do once they are replicated.
#[derive(Clone, Debug)]
pub struct CoordinatorWrite {
    pub partition: u32,
    pub records: Vec<OffsetsRecord>,
    /// For TxnOffsetCommit: the producer id and epoch whose transaction holds these records.
    pub transactional: Option<(i64, i16)>,
    pub then: AfterWrite,
}

#[derive(Clone, Debug)]
pub enum AfterWrite {
    Nothing,
    OffsetCommit {
        client: NodeId,
        correlation: Correlation,
        group: String,
        offsets: Vec<(TopicPartition, Offset)>,
    },
    TxnOffsetCommit {
        client: NodeId,
        correlation: Correlation,
        group: String,
        producer_id: i64,
        offsets: Vec<(TopicPartition, Offset)>,
    },
}

#[derive(Clone, Debug)]
pub struct GroupCoordinator {
    broker: BrokerId,
    pub groups: VecMap<String, Group>,
    /// `__consumer_offsets` partitions this broker leads and has loaded.
    pub partitions: VecSet<u32>,
    config: BrokerConfig,
    next_join_seq: u64,
}

impl GroupCoordinator {
    pub fn new(broker: BrokerId, config: BrokerConfig) -> GroupCoordinator {
        GroupCoordinator {
            broker,
            groups: VecMap::new(),
            partitions: VecSet::new(),
            config,
            next_join_seq: 0,
        }
    }

    pub fn partition_for(&self, group: &str) -> u32 {
        coordinator_partition(group, self.config.offsets_topic_num_partitions.max(1))
    }

    /// The offsets partition of a group this broker coordinates, or NOT_COORDINATOR.
    fn owned_partition(&self, group: &str) -> Result<u32, ErrorCode> {
        let p = self.partition_for(group);
        if self.partitions.contains(&p) {
            Ok(p)
        } else {
            Err(ErrorCode::NotCoordinator)
        }
    }

    /// Handles a group request. Returns records to append to `__consumer_offsets`.
    pub fn handle(
        &mut self,
        from: NodeId,
        msg: Message,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) -> Vec<CoordinatorWrite> {
        let mut writes = Vec::new();
        match msg {
            Message::JoinGroupRequest(msg::JoinGroupRequest {
                correlation,
                group_id,
                session_timeout_ms,
                rebalance_timeout_ms,
                protocols,
                subscription,
            }) => {
                let request = JoinGroup {
                    from,
                    correlation,
                    group_id,
                    session_timeout_ms,
                    rebalance_timeout_ms,
                    protocols,
                    subscription: *subscription,
                };
                self.join(request, &mut writes, ctx);
            }
            Message::SyncGroupRequest(msg::SyncGroupRequest {
                correlation,
                group_id,
                generation,
                member_id,
                assignments,
            }) => self.sync(
                from,
                correlation,
                &group_id,
                generation,
                &member_id,
                assignments,
                &mut writes,
                ctx,
            ),
            Message::HeartbeatRequest(msg::HeartbeatRequest {
                correlation,
                group_id,
                generation,
                member_id,
            }) => {
                let error = self.heartbeat(&group_id, generation, &member_id, ctx);
                ctx.send(
                    from,
                    Message::HeartbeatResponse(msg::HeartbeatResponse { correlation, error }),
                );
            }
            Message::LeaveGroupRequest(msg::LeaveGroupRequest {
                correlation,
                group_id,
                member_id,
                reason,
            }) => {
                let error = self.leave_group(&group_id, &member_id, &reason, &mut writes, ctx);
                ctx.send(
                    from,
                    Message::LeaveGroupResponse(msg::LeaveGroupResponse { correlation, error }),
                );
            }
            Message::OffsetCommitRequest(msg::OffsetCommitRequest {
                correlation,
                group_id,
                generation,
                member_id,
                offsets,
            }) => {
                let request = OffsetCommit {
                    from,
                    correlation,
                    group_id,
                    generation,
                    member_id,
                    offsets,
                    txn: None,
                };
                self.commit(request, &mut writes, ctx);
            }
            Message::TxnOffsetCommitRequest(msg::TxnOffsetCommitRequest {
                correlation,
                group_id,
                producer_id,
                producer_epoch,
                generation,
                member_id,
                offsets,
                ..
            }) => {
                let request = OffsetCommit {
                    from,
                    correlation,
                    group_id,
                    generation,
                    member_id: member_id.into(),
                    offsets,
                    txn: Some((producer_id, producer_epoch)),
                };
                self.commit(request, &mut writes, ctx);
            }
            Message::OffsetFetchRequest(msg::OffsetFetchRequest {
                correlation,
                group_id,
                partitions,
                require_stable,
            }) => {
                let response =
                    self.offset_fetch(correlation, &group_id, partitions, require_stable);
                ctx.send(from, response);
            }
            // The broker hands its coordinator only the requests above.
            other => debug_assert!(false, "the group coordinator got {other:?}"),
        }
        writes
    }

    pub fn on_timer(
        &mut self,
        timer: GroupTimer,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) -> Vec<CoordinatorWrite> {
        let mut writes = Vec::new();
        match timer {
            GroupTimer::Session { group, member } => {
                self.on_session_timer(group, member, &mut writes, ctx)
            }
            GroupTimer::JoinDeadline {
                group,
                rebalance_id,
            } => self.on_join_deadline(group, rebalance_id, &mut writes, ctx),
        }
        writes
    }
}

pub(super) fn join_error(correlation: Correlation, error: ErrorCode, member_id: &str) -> Message {
    Message::JoinGroupResponse(msg::JoinGroupResponse {
        correlation,
        error: Some(error),
        generation: -1,
        protocol: None,
        leader: String::new(),
        member_id: member_id.to_string(),
        members: Vec::new(),
    })
}

pub(super) fn sync_error(correlation: Correlation, error: ErrorCode) -> Message {
    Message::SyncGroupResponse(msg::SyncGroupResponse {
        correlation,
        error: Some(error),
        assignment: Vec::new(),
    })
}
