//! The group coordinator, as Kafka's `GroupCoordinator` and `GroupMetadataManager` run it on
//! the leader of a `__consumer_offsets` partition: members join, the first joiner leads and
//! assigns, everyone syncs, heartbeats keep members alive, and offsets are committed as
//! records in the partition, answered once replicated (acks=all). A new leader of the
//! partition loads its groups and offsets from the log, which is how coordination fails over.
//!
//! Group states are Kafka's: Empty → PreparingRebalance → CompletingRebalance → Stable.

use super::assignor::{Assignor, Subscription};
use super::coordinator_partition;
use super::records::{self, OffsetsRecord};
use crate::config::BrokerConfig;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::log::PartitionLog;
use crate::node::Ctx;
use crate::protocol::{Correlation, ErrorCode, Message};
use crate::time::SimTime;
use crate::trace::Event;
use crate::vec_map::{VecMap, VecSet};
use serde::Serialize;

pub use super::OFFSETS_TOPIC;

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
    joined_seq: u64,
    awaiting_join: Option<Correlation>,
    awaiting_sync: Option<Correlation>,
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
    pending_members: VecSet<String>,
    /// Committed offsets: the next offset the group will read.
    pub offsets: VecMap<TopicPartition, Offset>,
    /// Offsets committed inside open transactions, by producer id: they count once the
    /// transaction's COMMIT marker reaches this partition.
    pub pending_txn_offsets: VecMap<i64, VecMap<TopicPartition, Offset>>,
    /// Bumped at each scheduled join deadline, so stale deadlines do nothing.
    rebalance_id: u64,
    /// While the first rebalance of an empty group waits for more members to arrive.
    initial_delay: Option<InitialDelay>,
}

#[derive(Clone, Copy, Debug)]
struct InitialDelay {
    /// The rebalance timeout left to spend on extensions.
    remaining_ms: u64,
    new_member_joined: bool,
}

impl Group {
    fn new(id: &str, partition: u32) -> Group {
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

    fn all_members_joined(&self) -> bool {
        self.members.values().all(|m| m.awaiting_join.is_some())
    }

    fn max_rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Kafka's `selectProtocol`: among assignors every member supports, the one most members
    /// prefer (ties to the earliest in the first member's list).
    fn select_protocol(&self) -> Option<Assignor> {
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
    fn supports(&self, protocols: &[Assignor]) -> bool {
        self.members.is_empty()
            || protocols
                .iter()
                .any(|p| self.members.values().all(|m| m.protocols.contains(p)))
    }

    fn record(&self) -> OffsetsRecord {
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

    // ---- Becoming and ceasing to be a coordinator ----

    /// This broker now leads `__consumer_offsets-partition`: load its groups from the log.
    pub fn load(&mut self, partition: u32, log: &PartitionLog, ctx: &mut Ctx<'_, GroupTimer>) {
        if !self.partitions.insert(partition) {
            return;
        }
        let mut loaded: VecMap<String, Group> = VecMap::new();
        log.for_each_batch(log.log_start_offset(), u64::MAX, |batch| {
            let h = batch.header;
            if let Some(commit) = batch.marker_commits() {
                for g in loaded.values_mut() {
                    if let Some(pending) = g.pending_txn_offsets.remove(&h.producer_id) {
                        if commit {
                            g.offsets.extend(pending);
                        }
                    }
                }
                return true;
            }
            for r in batch.iter() {
                let Some(record) = OffsetsRecord::decode(r.key, r.value) else {
                    continue;
                };
                match record {
                    OffsetsRecord::Offset { group, tp, offset } => {
                        let g = loaded
                            .entry(group.clone())
                            .or_insert_with(|| Group::new(&group, partition));
                        if h.is_transactional {
                            g.pending_txn_offsets
                                .entry(h.producer_id)
                                .or_default()
                                .insert(tp, offset);
                        } else {
                            g.offsets.insert(tp, offset);
                        }
                    }
                    OffsetsRecord::Group {
                        group,
                        generation,
                        protocol,
                        leader,
                        members,
                    } => {
                        let g = loaded
                            .entry(group.clone())
                            .or_insert_with(|| Group::new(&group, partition));
                        g.generation = generation;
                        g.protocol = protocol;
                        g.leader = leader;
                        g.members = members
                            .into_iter()
                            .map(|m| {
                                let member = Member {
                                    member_id: m.member_id.clone(),
                                    group_instance_id: m.group_instance_id,
                                    client: m.client,
                                    session_timeout_ms: m.session_timeout_ms,
                                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                                    protocols: m.protocols,
                                    subscription: m.subscription,
                                    assignment: m.assignment,
                                    last_heartbeat: ctx.now,
                                    joined_seq: 0,
                                    awaiting_join: None,
                                    awaiting_sync: None,
                                };
                                (m.member_id, member)
                            })
                            .collect();
                        g.state = if g.members.is_empty() {
                            GroupState::Empty
                        } else {
                            GroupState::Stable
                        };
                    }
                }
            }
            true
        });
        let count = loaded.len() as u32;
        for (id, group) in loaded {
            for member in group.members.keys() {
                let timeout = group.members[member].session_timeout_ms;
                self.schedule_session(&id, member, timeout, ctx);
            }
            self.groups.insert(id, group);
        }
        ctx.trace(Event::CoordinatorLoaded {
            broker: self.broker,
            partition,
            groups: count,
        });
    }

    /// This broker no longer leads `__consumer_offsets-partition`: its groups go elsewhere.
    pub fn unload(&mut self, partition: u32, ctx: &mut Ctx<'_, GroupTimer>) {
        if !self.partitions.remove(&partition) {
            return;
        }
        let ids: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.partition == partition)
            .map(|(id, _)| id.clone())
            .collect();
        let moved = ids.len() as u32;
        for id in ids {
            let Some(group) = self.groups.remove(&id) else {
                continue;
            };
            for m in group.members.values() {
                if let Some(correlation) = m.awaiting_join {
                    ctx.send(
                        m.client,
                        join_error(correlation, ErrorCode::NotCoordinator, ""),
                    );
                }
                if let Some(correlation) = m.awaiting_sync {
                    ctx.send(m.client, sync_error(correlation, ErrorCode::NotCoordinator));
                }
            }
        }
        ctx.trace(Event::CoordinatorUnloaded {
            broker: self.broker,
            partition,
            groups: moved,
        });
    }

    // ---- Requests ----

    /// Handles a group request. Returns records to append to `__consumer_offsets`.
    pub fn handle(
        &mut self,
        from: NodeId,
        msg: Message,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) -> Vec<CoordinatorWrite> {
        let mut writes = Vec::new();
        match msg {
            Message::JoinGroupRequest {
                correlation,
                group_id,
                session_timeout_ms,
                rebalance_timeout_ms,
                protocols,
                subscription,
            } => self.join(
                from,
                correlation,
                &group_id,
                session_timeout_ms,
                rebalance_timeout_ms,
                protocols,
                *subscription,
                &mut writes,
                ctx,
            ),
            Message::SyncGroupRequest {
                correlation,
                group_id,
                generation,
                member_id,
                assignments,
            } => self.sync(
                from,
                correlation,
                &group_id,
                generation,
                &member_id,
                assignments,
                &mut writes,
                ctx,
            ),
            Message::HeartbeatRequest {
                correlation,
                group_id,
                generation,
                member_id,
            } => {
                let error = self.heartbeat(&group_id, generation, &member_id, ctx);
                ctx.send(from, Message::HeartbeatResponse { correlation, error });
            }
            Message::LeaveGroupRequest {
                correlation,
                group_id,
                member_id,
                reason,
            } => {
                let error = match self.owned_partition(&group_id) {
                    Err(e) => Some(e),
                    Ok(_) => match self.groups.get(&group_id) {
                        Some(g) if g.members.contains_key(&member_id) => {
                            self.remove_member(&group_id, &member_id, &reason, &mut writes, ctx);
                            None
                        }
                        _ => Some(ErrorCode::UnknownMemberId),
                    },
                };
                ctx.send(from, Message::LeaveGroupResponse { correlation, error });
            }
            Message::OffsetCommitRequest {
                correlation,
                group_id,
                generation,
                member_id,
                offsets,
            } => self.commit(
                from,
                correlation,
                &group_id,
                generation,
                &member_id,
                offsets,
                None,
                &mut writes,
                ctx,
            ),
            Message::TxnOffsetCommitRequest {
                correlation,
                group_id,
                producer_id,
                producer_epoch,
                generation,
                member_id,
                offsets,
                ..
            } => self.commit(
                from,
                correlation,
                &group_id,
                generation,
                &member_id,
                offsets,
                Some((producer_id, producer_epoch)),
                &mut writes,
                ctx,
            ),
            Message::OffsetFetchRequest {
                correlation,
                group_id,
                partitions,
                require_stable,
            } => {
                let response = match self.owned_partition(&group_id) {
                    Err(e) => Message::OffsetFetchResponse {
                        correlation,
                        error: Some(e),
                        offsets: Vec::new(),
                    },
                    Ok(_)
                        if require_stable
                            && self.groups.get(&group_id).is_some_and(|g| {
                                g.pending_txn_offsets
                                    .values()
                                    .any(|p| partitions.iter().any(|tp| p.contains_key(tp)))
                            }) =>
                    {
                        Message::OffsetFetchResponse {
                            correlation,
                            error: Some(ErrorCode::UnstableOffsetCommit),
                            offsets: Vec::new(),
                        }
                    }
                    Ok(_) => {
                        let committed = self.groups.get(&group_id).map(|g| &g.offsets);
                        // No partitions named: every committed offset (Kafka's `topics: null`).
                        let partitions = if partitions.is_empty() {
                            committed.map_or_else(Vec::new, |c| c.keys().cloned().collect())
                        } else {
                            partitions
                        };
                        let offsets = partitions
                            .into_iter()
                            .map(|tp| {
                                let o = committed.and_then(|c| c.get(&tp).copied());
                                (tp, o)
                            })
                            .collect();
                        Message::OffsetFetchResponse {
                            correlation,
                            error: None,
                            offsets,
                        }
                    }
                };
                ctx.send(from, response);
            }
            _ => {}
        }
        writes
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        from: NodeId,
        correlation: Correlation,
        group_id: &str,
        session_timeout_ms: u64,
        rebalance_timeout_ms: u64,
        protocols: Vec<Assignor>,
        subscription: Subscription,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let member_id = subscription.member_id.clone();
        let fail = |ctx: &mut Ctx<'_, GroupTimer>, e: ErrorCode| {
            ctx.send(from, join_error(correlation, e, &member_id));
        };
        let partition = match self.owned_partition(group_id) {
            Ok(p) => p,
            Err(e) => return fail(ctx, e),
        };
        if session_timeout_ms < self.config.group_min_session_timeout_ms
            || session_timeout_ms > self.config.group_max_session_timeout_ms
        {
            return fail(ctx, ErrorCode::InvalidSessionTimeout);
        }
        if !self.groups.contains_key(group_id) {
            if !member_id.is_empty() {
                return fail(ctx, ErrorCode::UnknownMemberId);
            }
            self.groups
                .insert(group_id.to_string(), Group::new(group_id, partition));
        }
        let group = self.groups.get_mut(group_id).expect("inserted above");
        if !group.supports(&protocols) {
            return fail(ctx, ErrorCode::InconsistentGroupProtocol);
        }
        let static_owner = subscription
            .group_instance_id
            .as_ref()
            .and_then(|instance| {
                group
                    .members
                    .values()
                    .find(|m| m.group_instance_id.as_ref() == Some(instance))
                    .map(|m| m.member_id.clone())
            });
        if member_id.is_empty() {
            // Kafka's member id: the client id and a UUID.
            let client_id = from.to_string().replace(':', "-");
            let new_id = format!("{client_id}-{:08x}", ctx.rng.next_u64() as u32);
            if let Some(old_id) = static_owner {
                // A static member back before its session expired takes over its old identity
                // and assignment, without a rebalance while the group is stable (KIP-345).
                let mut member = group.members.remove(&old_id).expect("found above");
                member.member_id = new_id.clone();
                member.client = from;
                member.last_heartbeat = ctx.now;
                let mut sub = subscription;
                sub.member_id = new_id.clone();
                member.subscription = sub;
                if group.leader.as_deref() == Some(old_id.as_str()) {
                    group.leader = Some(new_id.clone());
                }
                let timeout = member.session_timeout_ms;
                group.members.insert(new_id.clone(), member);
                self.schedule_session(group_id, &new_id, timeout, ctx);
                let group = self.groups.get_mut(group_id).expect("present");
                if group.state == GroupState::Stable {
                    ctx.send(
                        from,
                        Message::JoinGroupResponse {
                            correlation,
                            error: None,
                            generation: group.generation,
                            protocol: group.protocol,
                            leader: group.leader.clone().unwrap_or_default(),
                            member_id: new_id,
                            members: Vec::new(),
                        },
                    );
                } else {
                    let m = group.members.get_mut(&new_id).expect("inserted");
                    m.awaiting_join = Some(correlation);
                    self.after_member_joined(group_id, writes, ctx);
                }
                return;
            }
            if subscription.group_instance_id.is_none() {
                group.pending_members.insert(new_id.clone());
                ctx.send(
                    from,
                    join_error(correlation, ErrorCode::MemberIdRequired, &new_id),
                );
                return;
            }
            // A new static member joins directly.
            let mut sub = subscription;
            sub.member_id = new_id.clone();
            return self.add_member(
                group_id,
                from,
                correlation,
                sub,
                protocols,
                session_timeout_ms,
                rebalance_timeout_ms,
                writes,
                ctx,
            );
        }
        if group.pending_members.remove(&member_id) {
            return self.add_member(
                group_id,
                from,
                correlation,
                subscription,
                protocols,
                session_timeout_ms,
                rebalance_timeout_ms,
                writes,
                ctx,
            );
        }
        let Some(member) = group.members.get_mut(&member_id) else {
            let e = if static_owner.is_some() {
                ErrorCode::FencedInstanceId
            } else {
                ErrorCode::UnknownMemberId
            };
            return fail(ctx, e);
        };
        // A known member rejoins.
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
                self.try_complete_join(group_id, writes, ctx);
            }
            GroupState::CompletingRebalance | GroupState::Stable if !changed && !is_leader => {
                // Nothing changed: hand back the current generation (the member lost an answer).
                let response = Message::JoinGroupResponse {
                    correlation,
                    error: None,
                    generation: group.generation,
                    protocol: group.protocol,
                    leader: group.leader.clone().unwrap_or_default(),
                    member_id,
                    members: Vec::new(),
                };
                ctx.send(from, response);
            }
            _ => {
                member.awaiting_join = Some(correlation);
                let reason = if is_leader {
                    "the leader rejoined"
                } else {
                    "a member's subscription changed"
                };
                self.prepare_rebalance(group_id, reason, writes, ctx);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_member(
        &mut self,
        group_id: &str,
        from: NodeId,
        correlation: Correlation,
        subscription: Subscription,
        protocols: Vec<Assignor>,
        session_timeout_ms: u64,
        rebalance_timeout_ms: u64,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
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
        let group = self.groups.get_mut(group_id).expect("caller checked");
        group.members.insert(member_id.clone(), member);
        if let Some(delay) = group.initial_delay.as_mut() {
            delay.new_member_joined = true;
        }
        self.schedule_session(group_id, &member_id, session_timeout_ms, ctx);
        self.after_member_joined(group_id, writes, ctx);
    }

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

    fn prepare_rebalance(
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
    fn try_complete_join(
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

    fn complete_join(
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
                Message::JoinGroupResponse {
                    correlation,
                    error: None,
                    generation: group.generation,
                    protocol: group.protocol,
                    leader: leader.clone(),
                    member_id: m.member_id.clone(),
                    members,
                },
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

    #[allow(clippy::too_many_arguments)]
    fn sync(
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
                    Message::SyncGroupResponse {
                        correlation,
                        error: None,
                        assignment,
                    },
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
                            Message::SyncGroupResponse {
                                correlation,
                                error: None,
                                assignment: m.assignment.clone(),
                            },
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

    fn heartbeat(
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

    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        from: NodeId,
        correlation: Correlation,
        group_id: &str,
        generation: i32,
        member_id: &str,
        offsets: Vec<(TopicPartition, Offset)>,
        txn: Option<(i64, i16)>,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let answer = |ctx: &mut Ctx<'_, GroupTimer>,
                      e: ErrorCode,
                      offsets: Vec<(TopicPartition, Offset)>| {
            let partitions = offsets.into_iter().map(|(tp, _)| (tp, Some(e))).collect();
            ctx.send(
                from,
                commit_response(txn.is_some(), correlation, partitions),
            );
        };
        let partition = match self.owned_partition(group_id) {
            Ok(p) => p,
            Err(e) => return answer(ctx, e, offsets),
        };
        let group = self
            .groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(group_id, partition));
        let error = if generation < 0 && member_id.is_empty() {
            // A commit from outside the group protocol: only for a group nobody is in.
            (group.state != GroupState::Empty).then_some(ErrorCode::UnknownMemberId)
        } else {
            match group.members.get_mut(member_id) {
                None => Some(ErrorCode::UnknownMemberId),
                Some(_) if generation != group.generation => Some(ErrorCode::IllegalGeneration),
                Some(_) if group.state == GroupState::CompletingRebalance => {
                    Some(ErrorCode::RebalanceInProgress)
                }
                Some(m) => {
                    m.last_heartbeat = ctx.now;
                    None
                }
            }
        };
        if let Some(e) = error {
            return answer(ctx, e, offsets);
        }
        writes.push(CoordinatorWrite {
            partition,
            records: offsets
                .iter()
                .map(|(tp, offset)| OffsetsRecord::Offset {
                    group: group_id.to_string(),
                    tp: tp.clone(),
                    offset: *offset,
                })
                .collect(),
            transactional: txn,
            then: match txn {
                None => AfterWrite::OffsetCommit {
                    client: from,
                    correlation,
                    group: group_id.to_string(),
                    offsets,
                },
                Some((producer_id, _)) => AfterWrite::TxnOffsetCommit {
                    client: from,
                    correlation,
                    group: group_id.to_string(),
                    producer_id,
                    offsets,
                },
            },
        });
    }

    /// A write to `__consumer_offsets` was replicated (or failed).
    pub fn on_write_done(
        &mut self,
        then: AfterWrite,
        error: Option<ErrorCode>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let (client, correlation, group, offsets, txn) = match then {
            AfterWrite::Nothing => return,
            AfterWrite::OffsetCommit {
                client,
                correlation,
                group,
                offsets,
            } => (client, correlation, group, offsets, None),
            AfterWrite::TxnOffsetCommit {
                client,
                correlation,
                group,
                producer_id,
                offsets,
            } => (client, correlation, group, offsets, Some(producer_id)),
        };
        // Kafka's mapping of append errors to what a committing client understands.
        let error = error.map(|e| match e {
            ErrorCode::NotLeaderOrFollower | ErrorCode::FencedLeaderEpoch => {
                ErrorCode::NotCoordinator
            }
            ErrorCode::UnknownTopicOrPartition
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::NotEnoughReplicasAfterAppend
            | ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
            other => other,
        });
        match (error, txn) {
            (Some(_), _) => {}
            (None, None) => {
                if let Some(g) = self.groups.get_mut(&group) {
                    for (tp, offset) in &offsets {
                        g.offsets.insert(tp.clone(), *offset);
                    }
                }
                ctx.trace(committed_event(&group, &offsets));
            }
            (None, Some(producer_id)) => {
                if let Some(g) = self.groups.get_mut(&group) {
                    g.pending_txn_offsets
                        .entry(producer_id)
                        .or_default()
                        .extend(offsets.iter().cloned());
                }
            }
        }
        let partitions = offsets.into_iter().map(|(tp, _)| (tp, error)).collect();
        ctx.send(
            client,
            commit_response(txn.is_some(), correlation, partitions),
        );
    }

    /// A transaction marker reached `__consumer_offsets-partition`: the offsets that producer
    /// committed inside it count now (COMMIT) or never (ABORT).
    pub fn on_txn_marker(
        &mut self,
        partition: u32,
        producer_id: i64,
        commit: bool,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        for g in self
            .groups
            .values_mut()
            .filter(|g| g.partition == partition)
        {
            let Some(pending) = g.pending_txn_offsets.remove(&producer_id) else {
                continue;
            };
            if commit {
                let offsets: Vec<(TopicPartition, Offset)> = pending.into_iter().collect();
                for (tp, offset) in &offsets {
                    g.offsets.insert(tp.clone(), *offset);
                }
                ctx.trace(committed_event(&g.id, &offsets));
            }
        }
    }

    // ---- Membership over time ----

    fn schedule_session(
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

    pub fn on_timer(
        &mut self,
        timer: GroupTimer,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) -> Vec<CoordinatorWrite> {
        let mut writes = Vec::new();
        match timer {
            GroupTimer::Session { group, member } => {
                let Some(m) = self.groups.get(&group).and_then(|g| g.members.get(&member)) else {
                    return writes;
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
                    self.remove_member(
                        &group,
                        &member,
                        "session timeout expired",
                        &mut writes,
                        ctx,
                    );
                }
            }
            GroupTimer::JoinDeadline {
                group,
                rebalance_id,
            } => {
                let Some(g) = self.groups.get_mut(&group) else {
                    return writes;
                };
                if g.rebalance_id != rebalance_id || g.state != GroupState::PreparingRebalance {
                    return writes;
                }
                // Kafka's InitialDelayedJoin: while members keep arriving, wait a little more.
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
                        return writes;
                    }
                }
                self.complete_join(&group, &mut writes, ctx);
            }
        }
        writes
    }

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

fn committed_event(group: &str, offsets: &[(TopicPartition, Offset)]) -> Event {
    Event::OffsetsCommitted {
        group: group.to_string(),
        offsets: offsets
            .iter()
            .map(|(tp, o)| (tp.topic.clone(), tp.partition, *o))
            .collect(),
    }
}

fn commit_response(
    transactional: bool,
    correlation: Correlation,
    partitions: Vec<(TopicPartition, Option<ErrorCode>)>,
) -> Message {
    if transactional {
        Message::TxnOffsetCommitResponse {
            correlation,
            partitions,
        }
    } else {
        Message::OffsetCommitResponse {
            correlation,
            partitions,
        }
    }
}

fn join_error(correlation: Correlation, error: ErrorCode, member_id: &str) -> Message {
    Message::JoinGroupResponse {
        correlation,
        error: Some(error),
        generation: -1,
        protocol: None,
        leader: String::new(),
        member_id: member_id.to_string(),
        members: Vec::new(),
    }
}

fn sync_error(correlation: Correlation, error: ErrorCode) -> Message {
    Message::SyncGroupResponse {
        correlation,
        error: Some(error),
        assignment: Vec::new(),
    }
}
