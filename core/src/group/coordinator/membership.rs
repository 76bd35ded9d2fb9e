//! Members staying and going, as Kafka's `GroupCoordinator` handles them: SyncGroup (the
//! leader's assignment ends CompletingRebalance, the group is Stable), Heartbeat, LeaveGroup,
//! and a session that expires without a heartbeat. A member leaving a settled group starts a
//! rebalance.

use super::metadata::GroupState;
use super::{join_error, sync_error, AfterWrite, CoordinatorWrite, GroupCoordinator, GroupTimer};
use crate::ids::{NodeId, TopicPartition};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{Correlation, ErrorCode, Message};
use crate::trace::Event;
use crate::vec_map::VecMap;

impl GroupCoordinator {
    /// Kafka's `handleSyncGroup`: members wait for the leader's assignment, which makes the
    /// group Stable and is stored in `__consumer_offsets`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sync(
        &mut self,
        from: NodeId,
        correlation: Correlation,
        group_id: &str,
        generation: i32,
        member_id: &str,
        assignments: Vec<(String, Vec<TopicPartition>)>,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        if let Err(e) = self.owned_partition(group_id) {
            return ctx.send(from, sync_error(correlation, e));
        }
        let Some(group) = self.groups.get_mut(group_id) else {
            return ctx.send(from, sync_error(correlation, ErrorCode::UnknownMemberId));
        };
        let Some(member) = group.members.get_mut(member_id) else {
            return ctx.send(from, sync_error(correlation, ErrorCode::UnknownMemberId));
        };
        if generation != group.generation {
            return ctx.send(from, sync_error(correlation, ErrorCode::IllegalGeneration));
        }
        member.last_heartbeat = ctx.now;
        match group.state {
            GroupState::Empty => {
                ctx.send(from, sync_error(correlation, ErrorCode::UnknownMemberId))
            }
            GroupState::PreparingRebalance => ctx.send(
                from,
                sync_error(correlation, ErrorCode::RebalanceInProgress),
            ),
            GroupState::Stable => {
                let assignment = member.assignment.clone();
                ctx.send(
                    from,
                    Message::SyncGroupResponse(msg::SyncGroupResponse {
                        correlation,
                        error: None,
                        assignment,
                    }),
                );
            }
            GroupState::CompletingRebalance => {
                member.awaiting_sync = Some(correlation);
                if group.leader.as_deref() != Some(member_id) {
                    return;
                }
                let mut given: VecMap<String, Vec<TopicPartition>> =
                    assignments.into_iter().collect();
                for m in group.members.values_mut() {
                    m.assignment = given.remove(&m.member_id).unwrap_or_default();
                }
                group.state = GroupState::Stable;
                for m in group.members.values_mut() {
                    if let Some(correlation) = m.awaiting_sync.take() {
                        ctx.send(
                            m.client,
                            Message::SyncGroupResponse(msg::SyncGroupResponse {
                                correlation,
                                error: None,
                                assignment: m.assignment.clone(),
                            }),
                        );
                    }
                }
                ctx.trace(Event::GroupStable {
                    group: group_id.to_string(),
                    generation: group.generation,
                    assignment: group
                        .members
                        .values()
                        .map(|m| {
                            let tps = m
                                .assignment
                                .iter()
                                .map(|tp| (tp.topic.clone(), tp.partition))
                                .collect();
                            (m.member_id.clone(), tps)
                        })
                        .collect(),
                });
                writes.push(CoordinatorWrite {
                    partition: group.partition,
                    records: vec![group.record()],
                    transactional: None,
                    then: AfterWrite::Nothing,
                });
            }
        }
    }

    /// Kafka's `handleHeartbeat`: keeps the member's session, and tells it of a rebalance.
    pub(super) fn heartbeat(
        &mut self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) -> Option<ErrorCode> {
        if let Err(e) = self.owned_partition(group_id) {
            return Some(e);
        }
        let group = self.groups.get_mut(group_id)?;
        let Some(member) = group.members.get_mut(member_id) else {
            return Some(ErrorCode::UnknownMemberId);
        };
        member.last_heartbeat = ctx.now;
        match group.state {
            GroupState::Empty => Some(ErrorCode::UnknownMemberId),
            GroupState::PreparingRebalance => Some(ErrorCode::RebalanceInProgress),
            _ if generation != group.generation => Some(ErrorCode::IllegalGeneration),
            _ => None,
        }
    }

    /// Kafka's `handleLeaveGroup`: the member goes at once, without waiting for its session.
    pub(super) fn leave_group(
        &mut self,
        group_id: &str,
        member_id: &str,
        reason: &str,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) -> Option<ErrorCode> {
        if let Err(e) = self.owned_partition(group_id) {
            return Some(e);
        }
        match self.groups.get(group_id) {
            Some(g) if g.members.contains_key(member_id) => {
                self.remove_member(group_id, member_id, reason, writes, ctx);
                None
            }
            _ => Some(ErrorCode::UnknownMemberId),
        }
    }

    pub(super) fn schedule_session(
        &self,
        group: &str,
        member: &str,
        timeout_ms: u64,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        ctx.timer_in_ms(
            timeout_ms,
            GroupTimer::Session {
                group: group.to_string(),
                member: member.to_string(),
            },
        );
    }

    /// Has this member been silent for its session timeout? A member waiting in a join is
    /// alive; one that heartbeated since is checked again when its session would end.
    pub(super) fn on_session_timer(
        &mut self,
        group: String,
        member: String,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let Some(m) = self.groups.get(&group).and_then(|g| g.members.get(&member)) else {
            return;
        };
        let deadline = m.last_heartbeat.plus_ms(m.session_timeout_ms);
        if m.awaiting_join.is_some() || deadline > ctx.now {
            let wait = deadline.since(ctx.now).max(1_000) / 1_000;
            let timeout = if m.awaiting_join.is_some() {
                m.session_timeout_ms
            } else {
                wait
            };
            self.schedule_session(&group, &member, timeout, ctx);
        } else {
            self.remove_member(&group, &member, "session timeout expired", writes, ctx);
        }
    }

    /// The member is gone (left, or silent past its session): its join is answered and the
    /// group rebalances without it.
    fn remove_member(
        &mut self,
        group_id: &str,
        member_id: &str,
        reason: &str,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        let Some(m) = group.members.remove(member_id) else {
            return;
        };
        if let Some(correlation) = m.awaiting_join {
            ctx.send(
                m.client,
                join_error(correlation, ErrorCode::UnknownMemberId, ""),
            );
        }
        ctx.trace(Event::GroupMemberRemoved {
            group: group_id.to_string(),
            member: member_id.to_string(),
            reason: reason.to_string(),
        });
        match group.state {
            GroupState::Empty => {}
            GroupState::Stable | GroupState::CompletingRebalance => {
                let reason = format!("member left: {reason}");
                self.prepare_rebalance(group_id, &reason, writes, ctx);
            }
            GroupState::PreparingRebalance => {
                if group.members.is_empty() {
                    self.complete_join(group_id, writes, ctx);
                } else {
                    self.try_complete_join(group_id, writes, ctx);
                }
            }
        }
    }
}
