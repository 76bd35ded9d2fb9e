//! A consumer's membership in its group, as Kafka's `ConsumerCoordinator` runs it: find the
//! coordinator, JoinGroup (again with the id the coordinator hands out), assign as leader,
//! SyncGroup, heartbeat, and rejoin when the coordinator says a rebalance is on. Eager
//! assignors give everything up before rejoining; cooperative ones keep what they own and give
//! up only what moves, rejoining once more to let it move (KIP-429).

use super::{find_coordinator, random_correlation};
use crate::config::{ConsumerConfig, IsolationLevel};
use crate::group::assignor::{self, Assignor, Subscription};
use crate::ids::{BrokerId, NodeId, Offset, TopicName, TopicPartition};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{CoordinatorType, Correlation, ErrorCode, Message};
use crate::time::SimTime;
use crate::vec_map::VecMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// Not in the group (yet, or again).
    Unjoined,
    Joining(Correlation),
    Syncing(Correlation),
    Stable,
    /// A fatal group error (e.g. INCONSISTENT_GROUP_PROTOCOL): no more tries.
    Failed(ErrorCode),
}

/// What the consumer must act on after a group response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberEvent {
    Assigned {
        generation: i32,
        added: Vec<TopicPartition>,
        revoked: Vec<TopicPartition>,
    },
    /// Partitions gone without a chance to commit (the member was fenced or expired).
    Lost(Vec<TopicPartition>),
    Committed {
        correlation: Correlation,
        result: Result<(), ErrorCode>,
    },
    OffsetsFetched(Vec<(TopicPartition, Option<Offset>)>),
    Failed(ErrorCode),
}

#[derive(Clone, Debug)]
pub struct GroupMember {
    pub group_id: String,
    config: ConsumerConfig,
    assignor: Assignor,
    pub coordinator: Option<BrokerId>,
    finding: Option<Correlation>,
    pub member_id: String,
    pub generation: i32,
    pub state: MemberState,
    /// The coordinator asked for a rebalance (or our assignment needs a follow-up one).
    pub rejoin_needed: bool,
    pub owned: Vec<TopicPartition>,
    pub leader: bool,
    heartbeat_in_flight: Option<(Correlation, SimTime)>,
    offset_fetch_in_flight: Option<Correlation>,
    commits_in_flight: VecMap<Correlation, SimTime>,
    next_try: SimTime,
}

impl GroupMember {
    pub fn new(group_id: String, config: ConsumerConfig) -> GroupMember {
        GroupMember {
            group_id,
            assignor: config.partition_assignment_strategy,
            config,
            coordinator: None,
            finding: None,
            member_id: String::new(),
            generation: -1,
            state: MemberState::Unjoined,
            rejoin_needed: true,
            owned: Vec::new(),
            leader: false,
            heartbeat_in_flight: None,
            offset_fetch_in_flight: None,
            commits_in_flight: VecMap::new(),
            next_try: SimTime::ZERO,
        }
    }

    pub fn is_cooperative(&self) -> bool {
        self.assignor.is_cooperative()
    }

    /// In a generation with an assignment, and no rebalance under way that stops consumption.
    pub fn can_consume(&self) -> bool {
        match self.state {
            MemberState::Stable => true,
            MemberState::Joining(_) | MemberState::Syncing(_) => self.is_cooperative(),
            _ => false,
        }
    }

    pub fn offset_fetch_pending(&self) -> bool {
        self.offset_fetch_in_flight.is_some()
    }

    /// Finds the coordinator when it is unknown. Returns whether one is known.
    pub fn ensure_coordinator(
        &mut self,
        brokers: &[BrokerId],
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> bool {
        if self.coordinator.is_some() {
            return true;
        }
        if self.finding.is_none() && ctx.now >= self.next_try {
            self.finding = find_coordinator(&self.group_id, CoordinatorType::Group, brokers, ctx);
        }
        false
    }

    /// When the member wants to be woken for a retry.
    pub fn next_try(&self) -> SimTime {
        self.next_try
    }

    fn backoff(&mut self, ctx: &Ctx<'_, impl Sized>) {
        self.next_try = ctx.now.plus_ms(self.config.retry_backoff_ms);
    }

    fn coordinator_lost(&mut self, ctx: &Ctx<'_, impl Sized>) {
        self.coordinator = None;
        self.finding = None;
        self.heartbeat_in_flight = None;
        self.offset_fetch_in_flight = None;
        if matches!(
            self.state,
            MemberState::Joining(_) | MemberState::Syncing(_)
        ) {
            self.abandon_rebalance();
        }
        self.backoff(ctx);
    }

    /// A join or sync in progress is void: start over at the next poll.
    fn abandon_rebalance(&mut self) {
        if matches!(
            self.state,
            MemberState::Joining(_) | MemberState::Syncing(_)
        ) {
            self.state = MemberState::Unjoined;
        }
        self.rejoin_needed = true;
    }

    /// Sends JoinGroup. For an eager assignor the caller has revoked everything first.
    pub fn join(&mut self, topic: &TopicName, ctx: &mut Ctx<'_, impl Sized>) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        let correlation = random_correlation(ctx);
        self.state = MemberState::Joining(correlation);
        self.rejoin_needed = false;
        let subscription = Subscription {
            member_id: self.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
            topics: vec![topic.clone()],
            owned_partitions: self.owned.clone(),
            generation: (self.generation >= 0).then_some(self.generation),
        };
        ctx.send(
            NodeId::Broker(coordinator),
            Message::JoinGroupRequest(msg::JoinGroupRequest {
                correlation,
                group_id: self.group_id.clone(),
                session_timeout_ms: self.config.session_timeout_ms,
                rebalance_timeout_ms: self.config.max_poll_interval_ms,
                protocols: vec![self.assignor],
                subscription: Box::new(subscription),
            }),
        );
    }

    /// Gives up every owned partition (eager rebalance, or leaving the group).
    pub fn revoke_all(&mut self) -> Vec<TopicPartition> {
        std::mem::take(&mut self.owned)
    }

    pub fn heartbeat(&mut self, ctx: &mut Ctx<'_, impl Sized>) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        if let Some((_, sent)) = self.heartbeat_in_flight {
            if ctx.now.since(sent) < self.config.request_timeout_ms * 1_000 {
                return;
            }
            // No answer: Kafka marks the coordinator dead and looks it up again.
            self.coordinator_lost(ctx);
            return;
        }
        if self.state != MemberState::Stable {
            return;
        }
        let correlation = random_correlation(ctx);
        self.heartbeat_in_flight = Some((correlation, ctx.now));
        ctx.send(
            NodeId::Broker(coordinator),
            Message::HeartbeatRequest(msg::HeartbeatRequest {
                correlation,
                group_id: self.group_id.clone(),
                generation: self.generation,
                member_id: self.member_id.clone(),
            }),
        );
    }

    /// Leaves the group (poll timeout). Static members stay and let their session expire.
    pub fn leave(&mut self, reason: &str, ctx: &mut Ctx<'_, impl Sized>) -> Vec<TopicPartition> {
        if let Some(coordinator) = self.coordinator {
            if self.config.group_instance_id.is_none() && !self.member_id.is_empty() {
                let correlation = random_correlation(ctx);
                ctx.send(
                    NodeId::Broker(coordinator),
                    Message::LeaveGroupRequest(msg::LeaveGroupRequest {
                        correlation,
                        group_id: self.group_id.clone(),
                        member_id: self.member_id.clone(),
                        reason: reason.to_string(),
                    }),
                );
            }
        }
        if self.config.group_instance_id.is_none() {
            self.member_id.clear();
        }
        self.generation = -1;
        self.state = MemberState::Unjoined;
        self.rejoin_needed = true;
        self.revoke_all()
    }

    /// Commits positions; returns the correlation to match the answer, if sent.
    pub fn commit(
        &mut self,
        offsets: Vec<(TopicPartition, Offset)>,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> Option<Correlation> {
        let coordinator = self.coordinator?;
        if offsets.is_empty() || self.generation < 0 {
            return None;
        }
        let correlation = random_correlation(ctx);
        self.commits_in_flight.insert(correlation, ctx.now);
        ctx.send(
            NodeId::Broker(coordinator),
            Message::OffsetCommitRequest(msg::OffsetCommitRequest {
                correlation,
                group_id: self.group_id.clone(),
                generation: self.generation,
                member_id: self.member_id.clone(),
                offsets,
            }),
        );
        Some(correlation)
    }

    /// Asks for the committed offsets of partitions with no position yet.
    pub fn fetch_offsets(
        &mut self,
        partitions: Vec<TopicPartition>,
        ctx: &mut Ctx<'_, impl Sized>,
    ) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        if self.offset_fetch_in_flight.is_some() || partitions.is_empty() {
            return;
        }
        let correlation = random_correlation(ctx);
        self.offset_fetch_in_flight = Some(correlation);
        ctx.send(
            NodeId::Broker(coordinator),
            Message::OffsetFetchRequest(msg::OffsetFetchRequest {
                correlation,
                group_id: self.group_id.clone(),
                partitions,
                require_stable: self.config.isolation_level == IsolationLevel::ReadCommitted,
            }),
        );
    }

    /// Requests unanswered for longer than `request.timeout.ms` mean the coordinator is gone.
    pub fn check_timeouts(&mut self, ctx: &mut Ctx<'_, impl Sized>) -> Vec<MemberEvent> {
        let timeout_us = self.config.request_timeout_ms * 1_000;
        let expired: Vec<Correlation> = self
            .commits_in_flight
            .iter()
            .filter(|(_, sent)| ctx.now.since(**sent) >= timeout_us)
            .map(|(c, _)| *c)
            .collect();
        let mut events = Vec::new();
        for correlation in expired {
            self.commits_in_flight.remove(&correlation);
            events.push(MemberEvent::Committed {
                correlation,
                result: Err(ErrorCode::RequestTimedOut),
            });
        }
        if !events.is_empty() {
            self.coordinator_lost(ctx);
        }
        events
    }

    pub fn on_disconnect(
        &mut self,
        broker: BrokerId,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> Vec<MemberEvent> {
        if self.coordinator != Some(broker) {
            if self.finding.is_some() {
                self.finding = None;
                self.backoff(ctx);
            }
            return Vec::new();
        }
        let events = self
            .commits_in_flight
            .keys()
            .map(|&correlation| MemberEvent::Committed {
                correlation,
                result: Err(ErrorCode::NetworkException),
            })
            .collect();
        self.commits_in_flight.clear();
        self.coordinator_lost(ctx);
        events
    }

    /// Handles a group response; returns what the consumer must act on.
    pub fn on_message(
        &mut self,
        from: BrokerId,
        msg: Message,
        partitions_per_topic: &VecMap<TopicName, u32>,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> Vec<MemberEvent> {
        let mut events = Vec::new();
        match msg {
            Message::FindCoordinatorResponse(msg::FindCoordinatorResponse {
                correlation,
                error,
                coordinator,
            }) if self.finding == Some(correlation) => {
                self.finding = None;
                match (error, coordinator) {
                    (None, Some(b)) => self.coordinator = Some(b),
                    _ => self.backoff(ctx),
                }
            }
            Message::JoinGroupResponse(msg::JoinGroupResponse {
                correlation,
                error,
                generation,
                protocol,
                leader,
                member_id,
                members,
            }) if self.state == MemberState::Joining(correlation) => match error {
                None => {
                    self.member_id = member_id;
                    self.generation = generation;
                    self.leader = leader == self.member_id;
                    let assignments = if self.leader && !members.is_empty() {
                        let strategy = protocol.unwrap_or(self.assignor);
                        assignor::assign(strategy, partitions_per_topic, &members)
                            .into_iter()
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let correlation = random_correlation(ctx);
                    self.state = MemberState::Syncing(correlation);
                    ctx.send(
                        NodeId::Broker(from),
                        Message::SyncGroupRequest(msg::SyncGroupRequest {
                            correlation,
                            group_id: self.group_id.clone(),
                            generation,
                            member_id: self.member_id.clone(),
                            assignments,
                        }),
                    );
                }
                Some(ErrorCode::MemberIdRequired) => {
                    self.member_id = member_id;
                    self.state = MemberState::Unjoined;
                    self.rejoin_needed = true;
                }
                Some(e) => events.extend(self.on_group_error(e, ctx)),
            },
            Message::SyncGroupResponse(msg::SyncGroupResponse {
                correlation,
                error,
                assignment,
            }) if self.state == MemberState::Syncing(correlation) => match error {
                None => {
                    let added: Vec<TopicPartition> = assignment
                        .iter()
                        .filter(|p| !self.owned.contains(p))
                        .cloned()
                        .collect();
                    let revoked: Vec<TopicPartition> = self
                        .owned
                        .iter()
                        .filter(|p| !assignment.contains(p))
                        .cloned()
                        .collect();
                    self.owned = assignment;
                    self.state = MemberState::Stable;
                    // Cooperative: what we gave up still has to reach its new owner.
                    if self.is_cooperative() && !revoked.is_empty() {
                        self.rejoin_needed = true;
                    }
                    events.push(MemberEvent::Assigned {
                        generation: self.generation,
                        added,
                        revoked,
                    });
                }
                Some(e) => events.extend(self.on_group_error(e, ctx)),
            },
            Message::HeartbeatResponse(msg::HeartbeatResponse { correlation, error })
                if self.heartbeat_in_flight.map(|h| h.0) == Some(correlation) =>
            {
                self.heartbeat_in_flight = None;
                match error {
                    None => {}
                    Some(ErrorCode::RebalanceInProgress) => self.rejoin_needed = true,
                    Some(e) => events.extend(self.on_group_error(e, ctx)),
                }
            }
            Message::OffsetCommitResponse(msg::OffsetCommitResponse {
                correlation,
                partitions,
            }) if self.commits_in_flight.contains_key(&correlation) => {
                self.commits_in_flight.remove(&correlation);
                let error = partitions.iter().find_map(|(_, e)| *e);
                events.push(MemberEvent::Committed {
                    correlation,
                    result: error.map_or(Ok(()), Err),
                });
                if let Some(e) = error {
                    events.extend(self.on_group_error(e, ctx));
                }
            }
            Message::OffsetFetchResponse(msg::OffsetFetchResponse {
                correlation,
                error,
                offsets,
            }) if self.offset_fetch_in_flight == Some(correlation) => {
                self.offset_fetch_in_flight = None;
                match error {
                    None => events.push(MemberEvent::OffsetsFetched(offsets)),
                    Some(e) => events.extend(self.on_group_error(e, ctx)),
                }
            }
            // The consumer's own answers (fetches, metadata), and group answers that a newer
            // request, a rejoin or a lost coordinator made stale.
            _ => {}
        }
        events
    }

    /// Kafka's reactions to group errors.
    fn on_group_error(
        &mut self,
        error: ErrorCode,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> Vec<MemberEvent> {
        match error {
            e if e.needs_coordinator_lookup() => {
                self.coordinator_lost(ctx);
                Vec::new()
            }
            ErrorCode::CoordinatorLoadInProgress => {
                self.backoff(ctx);
                self.abandon_rebalance();
                Vec::new()
            }
            ErrorCode::RebalanceInProgress => {
                self.abandon_rebalance();
                Vec::new()
            }
            ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration => {
                // Fenced: what we owned may already belong to someone else.
                if error == ErrorCode::UnknownMemberId {
                    self.member_id.clear();
                }
                self.generation = -1;
                self.state = MemberState::Unjoined;
                self.rejoin_needed = true;
                self.backoff(ctx);
                let lost = self.revoke_all();
                if lost.is_empty() {
                    Vec::new()
                } else {
                    vec![MemberEvent::Lost(lost)]
                }
            }
            // UNSTABLE_OFFSET_COMMIT and the like: ask again shortly.
            e if e.is_retriable() => {
                self.backoff(ctx);
                Vec::new()
            }
            fatal => {
                self.state = MemberState::Failed(fatal);
                vec![MemberEvent::Failed(fatal)]
            }
        }
    }
}
