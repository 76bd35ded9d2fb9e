//! JoinGroup and the rebalance it drives, as Kafka's `GroupCoordinator.doJoinGroup` runs it:
//! a member without an id gets one (`doNewMemberJoinGroup`), a known member rejoins
//! (`doCurrentMemberJoinGroup`), and once every member has rejoined or the rebalance timeout
//! is over the join completes (`onCompleteJoin`): PreparingRebalance → CompletingRebalance,
//! a new generation, its leader handed every subscription to assign.

use super::metadata::{Group, GroupState, InitialDelay, Member};
use super::{join_error, sync_error, AfterWrite, CoordinatorWrite, GroupCoordinator, GroupTimer};
use crate::group::assignor::{Assignor, Subscription};
use crate::ids::NodeId;
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{Correlation, ErrorCode, Message};
use crate::trace::Event;

/// A JoinGroup request as the coordinator takes it: the message's fields and the client it
/// came from. The member id is the subscription's (empty for a member that has none yet).
#[derive(Clone, Debug)]
pub struct JoinGroup {
    pub from: NodeId,
    pub correlation: Correlation,
    pub group_id: String,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    pub protocols: Vec<Assignor>,
    pub subscription: Subscription,
}

impl JoinGroup {
    fn reject(&self, error: ErrorCode, ctx: &mut Ctx<'_, GroupTimer>) {
        let member_id = &self.subscription.member_id;
        ctx.send(self.from, join_error(self.correlation, error, member_id));
    }
}

impl GroupCoordinator {
    /// Kafka's `handleJoinGroup`: checks that hold for any joiner, then the new or known
    /// member's phase.
    pub(super) fn join(
        &mut self,
        request: JoinGroup,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let partition = match self.owned_partition(&request.group_id) {
            Ok(p) => p,
            Err(e) => return request.reject(e, ctx),
        };
        if request.session_timeout_ms < self.config.group_min_session_timeout_ms
            || request.session_timeout_ms > self.config.group_max_session_timeout_ms
        {
            return request.reject(ErrorCode::InvalidSessionTimeout, ctx);
        }
        let group_id = request.group_id.as_str();
        if !self.groups.contains_key(group_id) {
            if !request.subscription.member_id.is_empty() {
                return request.reject(ErrorCode::UnknownMemberId, ctx);
            }
            self.groups
                .insert(group_id.to_string(), Group::new(group_id, partition));
        }
        if !self.groups[group_id].supports(&request.protocols) {
            return request.reject(ErrorCode::InconsistentGroupProtocol, ctx);
        }
        if request.subscription.member_id.is_empty() {
            self.join_new_member(request, writes, ctx);
        } else {
            self.join_known_member(request, writes, ctx);
        }
    }

    /// Kafka's `doNewMemberJoinGroup`: the joiner gets a member id. A dynamic member must come
    /// back with it (KIP-394); a static member joins at once, or takes over its old identity.
    fn join_new_member(
        &mut self,
        mut request: JoinGroup,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let group = self
            .groups
            .get_mut(&request.group_id)
            .expect("join checked");
        let static_owner =
            group.current_static_member_id(request.subscription.group_instance_id.as_ref());
        // Kafka's member id: the client id and a UUID.
        let client_id = request.from.to_string().replace(':', "-");
        let new_id = format!("{client_id}-{:08x}", ctx.rng.next_u64() as u32);
        if let Some(old_id) = static_owner {
            return self.replace_static_member(request, &old_id, new_id, writes, ctx);
        }
        if request.subscription.group_instance_id.is_none() {
            group.pending_members.insert(new_id.clone());
            ctx.send(
                request.from,
                join_error(request.correlation, ErrorCode::MemberIdRequired, &new_id),
            );
            return;
        }
        // A new static member joins directly.
        request.subscription.member_id = new_id;
        self.add_member(request, writes, ctx);
    }

    /// Kafka's `updateStaticMemberAndRebalance`: a static member back before its session
    /// expired takes over its old identity and assignment, without a rebalance while the group
    /// is stable (KIP-345).
    fn replace_static_member(
        &mut self,
        request: JoinGroup,
        old_id: &str,
        new_id: String,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let JoinGroup {
            from,
            correlation,
            group_id,
            mut subscription,
            ..
        } = request;
        let group = self.groups.get_mut(&group_id).expect("join checked");
        let mut member = group.members.remove(old_id).expect("found by the caller");
        member.member_id = new_id.clone();
        member.client = from;
        member.last_heartbeat = ctx.now;
        subscription.member_id = new_id.clone();
        member.subscription = subscription;
        if group.leader.as_deref() == Some(old_id) {
            group.leader = Some(new_id.clone());
        }
        let timeout = member.session_timeout_ms;
        group.members.insert(new_id.clone(), member);
        self.schedule_session(&group_id, &new_id, timeout, ctx);
        let group = self.groups.get_mut(&group_id).expect("present");
        if group.state == GroupState::Stable {
            ctx.send(
                from,
                Message::JoinGroupResponse(msg::JoinGroupResponse {
                    correlation,
                    error: None,
                    generation: group.generation,
                    protocol: group.protocol,
                    leader: group.leader.clone().unwrap_or_default(),
                    member_id: new_id,
                    members: Vec::new(),
                }),
            );
        } else {
            let m = group.members.get_mut(&new_id).expect("inserted");
            m.awaiting_join = Some(correlation);
            self.after_member_joined(&group_id, writes, ctx);
        }
    }

    /// Kafka's `doCurrentMemberJoinGroup`: a member that has an id joins (a pending one, for
    /// the first time) or rejoins; a rejoin that changes nothing in a settled group gets the
    /// current generation back, anything else rebalances.
    fn join_known_member(
        &mut self,
        request: JoinGroup,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let group = self
            .groups
            .get_mut(&request.group_id)
            .expect("join checked");
        if group
            .pending_members
            .remove(&request.subscription.member_id)
        {
            return self.add_member(request, writes, ctx);
        }
        let static_owner =
            group.current_static_member_id(request.subscription.group_instance_id.as_ref());
        if !group.members.contains_key(&request.subscription.member_id) {
            let e = if static_owner.is_some() {
                ErrorCode::FencedInstanceId
            } else {
                ErrorCode::UnknownMemberId
            };
            return request.reject(e, ctx);
        }
        let JoinGroup {
            from,
            correlation,
            group_id,
            session_timeout_ms,
            rebalance_timeout_ms,
            protocols,
            subscription,
        } = request;
        let member_id = subscription.member_id.clone();
        let member = group.members.get_mut(&member_id).expect("checked above");
        let changed = member.protocols != protocols || member.subscription != subscription;
        member.protocols = protocols;
        member.subscription = subscription;
        member.client = from;
        member.last_heartbeat = ctx.now;
        member.session_timeout_ms = session_timeout_ms;
        member.rebalance_timeout_ms = rebalance_timeout_ms;
        let is_leader = group.leader.as_deref() == Some(member_id.as_str());
        match group.state {
            GroupState::PreparingRebalance => {
                member.awaiting_join = Some(correlation);
                self.try_complete_join(&group_id, writes, ctx);
            }
            GroupState::CompletingRebalance | GroupState::Stable if !changed && !is_leader => {
                // Nothing changed: hand back the current generation (the member lost an answer).
                let response = Message::JoinGroupResponse(msg::JoinGroupResponse {
                    correlation,
                    error: None,
                    generation: group.generation,
                    protocol: group.protocol,
                    leader: group.leader.clone().unwrap_or_default(),
                    member_id,
                    members: Vec::new(),
                });
                ctx.send(from, response);
            }
            _ => {
                member.awaiting_join = Some(correlation);
                let reason = if is_leader {
                    "the leader rejoined"
                } else {
                    "a member's subscription changed"
                };
                self.prepare_rebalance(&group_id, reason, writes, ctx);
            }
        }
    }

    /// Kafka's `addMemberAndRebalance`.
    fn add_member(
        &mut self,
        request: JoinGroup,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let JoinGroup {
            from,
            correlation,
            group_id,
            session_timeout_ms,
            rebalance_timeout_ms,
            protocols,
            subscription,
        } = request;
        self.next_join_seq += 1;
        let member_id = subscription.member_id.clone();
        let member = Member {
            member_id: member_id.clone(),
            group_instance_id: subscription.group_instance_id.clone(),
            client: from,
            session_timeout_ms,
            rebalance_timeout_ms,
            protocols,
            subscription,
            assignment: Vec::new(),
            last_heartbeat: ctx.now,
            joined_seq: self.next_join_seq,
            awaiting_join: Some(correlation),
            awaiting_sync: None,
        };
        let group = self.groups.get_mut(&group_id).expect("join checked");
        group.members.insert(member_id.clone(), member);
        if let Some(delay) = group.initial_delay.as_mut() {
            delay.new_member_joined = true;
        }
        self.schedule_session(&group_id, &member_id, session_timeout_ms, ctx);
        self.after_member_joined(&group_id, writes, ctx);
    }

    /// A member joined: the rebalance under way may be complete, or one starts.
    fn after_member_joined(
        &mut self,
        group_id: &str,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let state = self.groups[group_id].state;
        match state {
            GroupState::PreparingRebalance => self.try_complete_join(group_id, writes, ctx),
            _ => self.prepare_rebalance(group_id, "a new member joined", writes, ctx),
        }
    }

    /// Kafka's `prepareRebalance`: to PreparingRebalance, a void assignment being synced
    /// answered with REBALANCE_IN_PROGRESS, and the join deadline set.
    pub(super) fn prepare_rebalance(
        &mut self,
        group_id: &str,
        reason: &str,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let initial_delay_ms = self.config.group_initial_rebalance_delay_ms;
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        if group.state == GroupState::CompletingRebalance {
            // The assignment being synced is void: members must join again.
            for m in group.members.values_mut() {
                m.assignment.clear();
                if let Some(correlation) = m.awaiting_sync.take() {
                    ctx.send(
                        m.client,
                        sync_error(correlation, ErrorCode::RebalanceInProgress),
                    );
                }
            }
        }
        let was_empty = group.state == GroupState::Empty;
        group.state = GroupState::PreparingRebalance;
        group.rebalance_id += 1;
        let delay_ms = if was_empty && initial_delay_ms > 0 {
            let budget = group.max_rebalance_timeout_ms();
            let first = initial_delay_ms.min(budget);
            group.initial_delay = Some(InitialDelay {
                remaining_ms: budget.saturating_sub(first),
                new_member_joined: false,
            });
            first
        } else {
            group.initial_delay = None;
            group.max_rebalance_timeout_ms()
        };
        ctx.trace(Event::GroupRebalanceStarted {
            group: group_id.to_string(),
            generation: group.generation,
            reason: reason.to_string(),
        });
        ctx.timer_in_ms(
            delay_ms,
            GroupTimer::JoinDeadline {
                group: group_id.to_string(),
                rebalance_id: group.rebalance_id,
            },
        );
        self.try_complete_join(group_id, writes, ctx);
    }

    /// Kafka's `DelayedJoin.tryComplete`: done once every known member has rejoined (the
    /// initial delay for an empty group always runs its course).
    pub(super) fn try_complete_join(
        &mut self,
        group_id: &str,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let Some(group) = self.groups.get(group_id) else {
            return;
        };
        if group.state == GroupState::PreparingRebalance
            && group.initial_delay.is_none()
            && group.all_members_joined()
        {
            self.complete_join(group_id, writes, ctx);
        }
    }

    /// Kafka's `onCompleteJoin`: members that did not rejoin are gone, a new generation
    /// starts and every joiner is answered, the leader with every subscription.
    pub(super) fn complete_join(
        &mut self,
        group_id: &str,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        group.initial_delay = None;
        group.rebalance_id += 1;
        let gone: Vec<String> = group
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for id in gone {
            group.members.remove(&id);
            ctx.trace(Event::GroupMemberRemoved {
                group: group_id.to_string(),
                member: id,
                reason: "did not rejoin within the rebalance timeout".into(),
            });
        }
        group.generation += 1;
        if group.members.is_empty() {
            group.state = GroupState::Empty;
            group.protocol = None;
            group.leader = None;
            ctx.trace(Event::GroupRebalanced {
                group: group_id.to_string(),
                generation: group.generation,
                protocol: None,
                leader: None,
                members: Vec::new(),
            });
            writes.push(CoordinatorWrite {
                partition: group.partition,
                records: vec![group.record()],
                transactional: None,
                then: AfterWrite::Nothing,
            });
            return;
        }
        group.protocol = group.select_protocol();
        let leader_still_here = group
            .leader
            .as_ref()
            .is_some_and(|l| group.members.contains_key(l));
        if !leader_still_here {
            group.leader = group
                .members
                .values()
                .min_by_key(|m| m.joined_seq)
                .map(|m| m.member_id.clone());
        }
        group.state = GroupState::CompletingRebalance;
        let leader = group.leader.clone().unwrap_or_default();
        let subscriptions: Vec<Subscription> = group
            .members
            .values()
            .map(|m| m.subscription.clone())
            .collect();
        for m in group.members.values_mut() {
            m.last_heartbeat = ctx.now;
            let Some(correlation) = m.awaiting_join.take() else {
                continue;
            };
            let members = if m.member_id == leader {
                subscriptions.clone()
            } else {
                Vec::new()
            };
            ctx.send(
                m.client,
                Message::JoinGroupResponse(msg::JoinGroupResponse {
                    correlation,
                    error: None,
                    generation: group.generation,
                    protocol: group.protocol,
                    leader: leader.clone(),
                    member_id: m.member_id.clone(),
                    members,
                }),
            );
        }
        ctx.trace(Event::GroupRebalanced {
            group: group_id.to_string(),
            generation: group.generation,
            protocol: group.protocol,
            leader: group.leader.clone(),
            members: group.members.keys().cloned().collect(),
        });
    }

    /// The rebalance's wait for members to rejoin is over; Kafka's `InitialDelayedJoin` first
    /// waits a little more while members keep arriving at an empty group.
    pub(super) fn on_join_deadline(
        &mut self,
        group: String,
        rebalance_id: u64,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let Some(g) = self.groups.get_mut(&group) else {
            return;
        };
        if g.rebalance_id != rebalance_id || g.state != GroupState::PreparingRebalance {
            return;
        }
        if let Some(delay) = g.initial_delay {
            let step = self.config.group_initial_rebalance_delay_ms;
            if delay.new_member_joined && delay.remaining_ms > 0 {
                let extra = step.min(delay.remaining_ms);
                g.initial_delay = Some(InitialDelay {
                    remaining_ms: delay.remaining_ms - extra,
                    new_member_joined: false,
                });
                g.rebalance_id += 1;
                ctx.timer_in_ms(
                    extra,
                    GroupTimer::JoinDeadline {
                        group: group.clone(),
                        rebalance_id: g.rebalance_id,
                    },
                );
                return;
            }
        }
        self.complete_join(&group, writes, ctx);
    }
}
