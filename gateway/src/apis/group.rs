//! The classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), committed offsets
//! (OffsetCommit, OffsetFetch) and the group listings (ListGroups, DescribeGroups).
//!
//! Kafka's brokers treat a consumer's subscription and assignment as opaque bytes; kplay's
//! coordinator works with them decoded, so the gateway decodes the consumer protocol's
//! `ConsumerProtocolSubscription` / `ConsumerProtocolAssignment` on the way in and encodes them
//! on the way out. Only the `consumer` protocol type and Kafka's four assignors are known.

use super::{by_topic, kafka_topic, text, topic, Context, Pending, Plan};
use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTopic;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, DescribeGroupsRequest,
    DescribeGroupsResponse, GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListGroupsRequest,
    ListGroupsResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest,
    OffsetFetchResponse, ResponseKind, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable};
use kplay_core::group::assignor::{Assignor, Subscription};
use kplay_core::group::coordinator::GroupState;
use kplay_core::ids::TopicPartition;
use kplay_core::protocol::msg;
use kplay_core::protocol::Message;

const CONSUMER: &str = "consumer";

/// The most groups whose assignor names the gateway remembers.
const MAX_GROUPS: usize = 10_000;

/// Assignor names as clients send them, per group. Kafka's brokers only check that a group's
/// members share a protocol name; the leader member assigns. kplay's coordinator votes over its
/// four assignors, so each name a group uses is given one of them: Kafka's own names keep
/// theirs, others (kafkajs's `RoundRobinAssigner`, …) take one that group does not use.
#[derive(Debug, Default)]
pub struct ProtocolNames {
    by_group: kplay_core::vec_map::VecMap<String, Vec<(String, Assignor)>>,
}

impl ProtocolNames {
    fn assignor(&mut self, group: &str, name: &str) -> Option<Assignor> {
        let own = Assignor::ALL.into_iter().find(|a| a.name() == name);
        if !self.by_group.contains_key(group) && self.by_group.len() >= MAX_GROUPS {
            return own;
        }
        let names = self.by_group.entry(group.to_string()).or_default();
        if let Some((_, a)) = names.iter().find(|(n, _)| n == name) {
            return Some(*a);
        }
        let taken = |a: &Assignor| names.iter().any(|(n, used)| used == a || n == a.name());
        let a = own
            .filter(|a| names.iter().all(|(_, used)| used != a))
            .or_else(|| Assignor::ALL.into_iter().rev().find(|a| !taken(a)))?;
        names.push((name.to_string(), a));
        Some(a)
    }

    fn name(&self, group: &str, assignor: Assignor) -> Option<&str> {
        self.by_group
            .get(group)?
            .iter()
            .find(|(_, a)| *a == assignor)
            .map(|(n, _)| n.as_str())
    }
}

fn error_answer(api: &str, e: ResponseError) -> Plan {
    let kind = match api {
        "JoinGroup" => {
            let mut r = JoinGroupResponse::default();
            r.error_code = e.code();
            r.generation_id = -1;
            ResponseKind::JoinGroup(r)
        }
        _ => {
            let mut r = SyncGroupResponse::default();
            r.error_code = e.code();
            ResponseKind::SyncGroup(r)
        }
    };
    Plan::Answer(kind)
}

/// Reads a versioned consumer-protocol structure: a big-endian i16 version, then the fields.
fn decode_versioned<T: Decodable>(bytes: &Bytes) -> Option<T> {
    let mut buf = bytes.clone();
    if buf.len() < 2 {
        return None;
    }
    let version = i16::from_be_bytes([buf[0], buf[1]]);
    let _ = buf.split_to(2);
    T::decode(&mut buf, version.clamp(0, 3)).ok()
}

fn encode_versioned<T: Encodable>(value: &T, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&version.to_be_bytes());
    // Our own structures, built in range: encoding them cannot fail.
    let _ = value.encode(&mut buf, version);
    buf.freeze()
}

fn partitions_of(topics: impl Iterator<Item = (String, Vec<i32>)>) -> Vec<TopicPartition> {
    topics
        .flat_map(|(t, ps)| {
            let name = topic(&t);
            ps.into_iter()
                .filter_map(move |p| u32::try_from(p).ok().map(|p| TopicPartition::new(&name, p)))
        })
        .collect()
}

fn grouped(partitions: &[TopicPartition]) -> Vec<(String, Vec<i32>)> {
    by_topic(
        partitions
            .iter()
            .map(|tp| (tp.topic.to_string(), tp.partition as i32, ()))
            .collect(),
    )
    .into_iter()
    .map(|(t, ps)| (t, ps.into_iter().map(|(p, ())| p).collect()))
    .collect()
}

/// Kafka's bytes for an assignment.
pub(crate) fn assignment_bytes(partitions: &[TopicPartition]) -> Bytes {
    let mut a = ConsumerProtocolAssignment::default();
    a.assigned_partitions = grouped(partitions)
        .into_iter()
        .map(|(t, ps)| {
            let mut at = AssignedTopic::default();
            at.topic = kafka_topic(&t);
            at.partitions = ps;
            at
        })
        .collect();
    encode_versioned(&a, 0)
}

#[derive(Debug)]
pub(crate) struct PendingJoin {
    protocol_names: Vec<(Assignor, String)>,
}

pub(crate) fn plan_join(r: JoinGroupRequest, version: i16, ctx: &mut Context<'_>) -> Plan {
    if r.protocol_type.as_str() != CONSUMER {
        return error_answer("JoinGroup", ResponseError::InconsistentGroupProtocol);
    }
    let group_id = r.group_id.0.to_string();
    let known: Vec<(Assignor, String, &Bytes)> = r
        .protocols
        .iter()
        .filter_map(|p| {
            let a = ctx.protocols.assignor(&group_id, p.name.as_str())?;
            Some((a, p.name.to_string(), &p.metadata))
        })
        .collect();
    let Some(&(_, _, metadata)) = known.first() else {
        return error_answer("JoinGroup", ResponseError::InconsistentGroupProtocol);
    };
    let Some(s) = decode_versioned::<ConsumerProtocolSubscription>(metadata) else {
        return error_answer("JoinGroup", ResponseError::InconsistentGroupProtocol);
    };
    let subscription = Subscription {
        member_id: r.member_id.to_string(),
        group_instance_id: r.group_instance_id.as_ref().map(|i| i.to_string()),
        topics: s.topics.iter().map(|t| topic(t)).collect(),
        owned_partitions: partitions_of(
            s.owned_partitions
                .iter()
                .map(|o| (o.topic.0.to_string(), o.partitions.clone())),
        ),
        generation: (s.generation_id >= 0).then_some(s.generation_id),
    };
    let session = r.session_timeout_ms.max(0) as u64;
    let request = Message::JoinGroupRequest(msg::JoinGroupRequest {
        correlation: 0,
        group_id,
        session_timeout_ms: session,
        rebalance_timeout_ms: if version >= 1 {
            r.rebalance_timeout_ms.max(0) as u64
        } else {
            session
        },
        protocols: known.iter().map(|(a, _, _)| *a).collect(),
        subscription: Box::new(subscription),
    });
    Plan::Ask {
        requests: vec![request],
        pending: Pending::JoinGroup(PendingJoin {
            protocol_names: known.into_iter().map(|(a, n, _)| (a, n)).collect(),
        }),
    }
}

pub(crate) fn respond_join(p: PendingJoin, answers: Vec<Message>) -> ResponseKind {
    let mut response = JoinGroupResponse::default();
    response.generation_id = -1;
    response.protocol_type = Some(text(CONSUMER));
    match answers.into_iter().next() {
        Some(Message::JoinGroupResponse(msg::JoinGroupResponse {
            error,
            generation,
            protocol,
            leader,
            member_id,
            members,
            ..
        })) => {
            response.error_code = crate::errors::code(error);
            response.generation_id = generation;
            response.protocol_name = protocol.and_then(|a| {
                p.protocol_names
                    .iter()
                    .find(|(known, _)| *known == a)
                    .map(|(_, n)| text(n))
            });
            response.leader = text(&leader);
            response.member_id = text(&member_id);
            response.members = members
                .iter()
                .map(|m| {
                    let mut s = ConsumerProtocolSubscription::default();
                    s.topics = m.topics.iter().map(|t| text(t)).collect();
                    s.owned_partitions = grouped(&m.owned_partitions)
                        .into_iter()
                        .map(|(t, ps)| {
                            let mut o = OwnedTopic::default();
                            o.topic = kafka_topic(&t);
                            o.partitions = ps;
                            o
                        })
                        .collect();
                    s.generation_id = m.generation.unwrap_or(-1);
                    let mut out = JoinGroupResponseMember::default();
                    out.member_id = text(&m.member_id);
                    out.group_instance_id = m.group_instance_id.as_deref().map(text);
                    out.metadata = encode_versioned(&s, 2);
                    out
                })
                .collect();
        }
        _ => response.error_code = ResponseError::UnknownServerError.code(),
    }
    ResponseKind::JoinGroup(response)
}

pub(crate) fn plan_sync(r: SyncGroupRequest) -> Plan {
    let mut assignments = Vec::new();
    for a in &r.assignments {
        let Some(decoded) = decode_versioned::<ConsumerProtocolAssignment>(&a.assignment) else {
            return error_answer("SyncGroup", ResponseError::InconsistentGroupProtocol);
        };
        let partitions = partitions_of(
            decoded
                .assigned_partitions
                .iter()
                .map(|t| (t.topic.0.to_string(), t.partitions.clone())),
        );
        assignments.push((a.member_id.to_string(), partitions));
    }
    Plan::Ask {
        requests: vec![Message::SyncGroupRequest(msg::SyncGroupRequest {
            correlation: 0,
            group_id: r.group_id.0.to_string(),
            generation: r.generation_id,
            member_id: r.member_id.to_string(),
            assignments,
        })],
        pending: Pending::SyncGroup,
    }
}

pub(crate) fn respond_sync(answers: Vec<Message>) -> ResponseKind {
    let mut response = SyncGroupResponse::default();
    match answers.into_iter().next() {
        Some(Message::SyncGroupResponse(msg::SyncGroupResponse {
            error, assignment, ..
        })) => {
            response.error_code = crate::errors::code(error);
            response.assignment = assignment_bytes(&assignment);
        }
        _ => response.error_code = ResponseError::UnknownServerError.code(),
    }
    ResponseKind::SyncGroup(response)
}

pub(crate) fn plan_heartbeat(r: HeartbeatRequest) -> Plan {
    Plan::Ask {
        requests: vec![Message::HeartbeatRequest(msg::HeartbeatRequest {
            correlation: 0,
            group_id: r.group_id.0.to_string(),
            generation: r.generation_id,
            member_id: r.member_id.to_string(),
        })],
        pending: Pending::Heartbeat,
    }
}

pub(crate) fn single_error(answers: Vec<Message>) -> i16 {
    match answers.into_iter().next() {
        Some(
            Message::HeartbeatResponse(msg::HeartbeatResponse { error, .. })
            | Message::LeaveGroupResponse(msg::LeaveGroupResponse { error, .. })
            | Message::AddOffsetsToTxnResponse(msg::AddOffsetsToTxnResponse { error, .. })
            | Message::EndTxnResponse(msg::EndTxnResponse { error, .. }),
        ) => crate::errors::code(error),
        _ => ResponseError::UnknownServerError.code(),
    }
}

pub(crate) fn respond_heartbeat(answers: Vec<Message>) -> ResponseKind {
    let mut response = HeartbeatResponse::default();
    response.error_code = single_error(answers);
    ResponseKind::Heartbeat(response)
}

#[derive(Debug)]
pub(crate) struct PendingLeave {
    /// From version 3 the request names its members; before, the one member at the top.
    members: Option<Vec<(String, Option<String>)>>,
}

pub(crate) fn plan_leave(r: LeaveGroupRequest, version: i16) -> Plan {
    let group_id = r.group_id.0.to_string();
    let (ids, members) = if version >= 3 {
        let m: Vec<(String, Option<String>)> = r
            .members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|i| i.to_string()),
                )
            })
            .collect();
        (m.iter().map(|(id, _)| id.clone()).collect(), Some(m))
    } else {
        (vec![r.member_id.to_string()], None)
    };
    let requests = ids
        .into_iter()
        .map(|member_id| {
            Message::LeaveGroupRequest(msg::LeaveGroupRequest {
                correlation: 0,
                group_id: group_id.clone(),
                member_id,
                reason: "the consumer is leaving the group".into(),
            })
        })
        .collect();
    Plan::Ask {
        requests,
        pending: Pending::LeaveGroup(PendingLeave { members }),
    }
}

pub(crate) fn respond_leave(p: PendingLeave, answers: Vec<Message>) -> ResponseKind {
    let mut response = LeaveGroupResponse::default();
    let codes: Vec<i16> = answers.into_iter().map(|a| single_error(vec![a])).collect();
    match p.members {
        None => response.error_code = codes.first().copied().unwrap_or(0),
        Some(members) => {
            response.members = members
                .into_iter()
                .zip(codes)
                .map(|((id, instance), code)| {
                    let mut m = MemberResponse::default();
                    m.member_id = text(&id);
                    m.group_instance_id = instance.as_deref().map(text);
                    m.error_code = code;
                    m
                })
                .collect();
        }
    }
    ResponseKind::LeaveGroup(response)
}

#[derive(Debug)]
pub(crate) struct PendingOffsets {
    pub(crate) partitions: Vec<(String, i32)>,
}

/// The (topic, partition, offset) triples of a commit, and what was asked in its order.
pub(crate) fn commit_offsets(
    topics: impl Iterator<Item = (String, Vec<(i32, i64)>)>,
) -> (Vec<(TopicPartition, u64)>, PendingOffsets) {
    let mut offsets = Vec::new();
    let mut partitions = Vec::new();
    for (t, ps) in topics {
        let name = topic(&t);
        for (p, offset) in ps {
            partitions.push((t.clone(), p));
            if let (Ok(p), Ok(o)) = (u32::try_from(p), u64::try_from(offset)) {
                offsets.push((TopicPartition::new(&name, p), o));
            }
        }
    }
    (offsets, PendingOffsets { partitions })
}

/// Per-partition results of a commit, by topic, in the order asked.
pub(crate) fn commit_results(
    p: PendingOffsets,
    answers: Vec<Message>,
) -> Vec<(String, Vec<(i32, i16)>)> {
    let results = match answers.into_iter().next() {
        Some(
            Message::OffsetCommitResponse(msg::OffsetCommitResponse { partitions, .. })
            | Message::TxnOffsetCommitResponse(msg::TxnOffsetCommitResponse { partitions, .. }),
        ) => partitions,
        _ => Vec::new(),
    };
    let items = p
        .partitions
        .into_iter()
        .map(|(t, index)| {
            let code = results
                .iter()
                .find(|(tp, _)| *tp.topic == *t && tp.partition as i32 == index)
                .map_or(ResponseError::InvalidCommitOffsetSize.code(), |(_, e)| {
                    crate::errors::code(*e)
                });
            (t, index, code)
        })
        .collect();
    by_topic(items)
}

pub(crate) fn plan_offset_commit(r: OffsetCommitRequest) -> Plan {
    let (offsets, pending) = commit_offsets(r.topics.iter().map(|t| {
        (
            t.name.0.to_string(),
            t.partitions
                .iter()
                .map(|p| (p.partition_index, p.committed_offset))
                .collect(),
        )
    }));
    Plan::Ask {
        requests: vec![Message::OffsetCommitRequest(msg::OffsetCommitRequest {
            correlation: 0,
            group_id: r.group_id.0.to_string(),
            generation: r.generation_id_or_member_epoch,
            member_id: r.member_id.to_string(),
            offsets,
        })],
        pending: Pending::OffsetCommit(pending),
    }
}

pub(crate) fn respond_offset_commit(p: PendingOffsets, answers: Vec<Message>) -> ResponseKind {
    let mut response = OffsetCommitResponse::default();
    response.topics = commit_results(p, answers)
        .into_iter()
        .map(|(t, parts)| {
            let mut out = OffsetCommitResponseTopic::default();
            out.name = kafka_topic(&t);
            out.partitions = parts
                .into_iter()
                .map(|(index, code)| {
                    let mut p = OffsetCommitResponsePartition::default();
                    p.partition_index = index;
                    p.error_code = code;
                    p
                })
                .collect();
            out
        })
        .collect();
    ResponseKind::OffsetCommit(response)
}

pub(crate) fn plan_offset_fetch(r: OffsetFetchRequest) -> Plan {
    let partitions = partitions_of(
        r.topics
            .iter()
            .flatten()
            .map(|t| (t.name.0.to_string(), t.partition_indexes.clone())),
    );
    Plan::Ask {
        requests: vec![Message::OffsetFetchRequest(msg::OffsetFetchRequest {
            correlation: 0,
            group_id: r.group_id.0.to_string(),
            partitions,
            require_stable: r.require_stable,
        })],
        pending: Pending::OffsetFetch,
    }
}

pub(crate) fn respond_offset_fetch(answers: Vec<Message>) -> ResponseKind {
    let mut response = OffsetFetchResponse::default();
    let Some(Message::OffsetFetchResponse(msg::OffsetFetchResponse { error, offsets, .. })) =
        answers.into_iter().next()
    else {
        response.error_code = ResponseError::UnknownServerError.code();
        return ResponseKind::OffsetFetch(response);
    };
    response.error_code = crate::errors::code(error);
    let items = offsets
        .into_iter()
        .map(|(tp, offset)| (tp.topic.to_string(), tp.partition as i32, offset))
        .collect();
    response.topics = by_topic(items)
        .into_iter()
        .map(|(t, parts)| {
            let mut out = OffsetFetchResponseTopic::default();
            out.name = kafka_topic(&t);
            out.partitions = parts
                .into_iter()
                .map(|(index, offset)| {
                    let mut p = OffsetFetchResponsePartition::default();
                    p.partition_index = index;
                    p.committed_offset = offset.map_or(-1, |o| o as i64);
                    p.committed_leader_epoch = -1;
                    p.metadata = Some(text(""));
                    p
                })
                .collect();
            out
        })
        .collect();
    ResponseKind::OffsetFetch(response)
}

fn state_name(state: GroupState) -> &'static str {
    match state {
        GroupState::Empty => "Empty",
        GroupState::PreparingRebalance => "PreparingRebalance",
        GroupState::CompletingRebalance => "CompletingRebalance",
        GroupState::Stable => "Stable",
    }
}

/// Answered from the coordinators' state in the simulation, as the coordinator would.
pub(crate) fn list_groups(r: ListGroupsRequest, ctx: &Context<'_>) -> Plan {
    let mut response = ListGroupsResponse::default();
    response.groups = kplay_core::view::GroupView::all(ctx.sim)
        .into_iter()
        .filter(|g| {
            r.states_filter.is_empty()
                || r.states_filter
                    .iter()
                    .any(|s| s.as_str().eq_ignore_ascii_case(state_name(g.state)))
        })
        .map(|g| {
            let mut out = ListedGroup::default();
            out.group_id = GroupId(text(&g.id));
            out.protocol_type = text(CONSUMER);
            out.group_state = text(state_name(g.state));
            out.group_type = text("classic");
            out
        })
        .collect();
    Plan::Answer(ResponseKind::ListGroups(response))
}

pub(crate) fn describe_groups(r: DescribeGroupsRequest, ctx: &Context<'_>) -> Plan {
    let groups = kplay_core::view::GroupView::all(ctx.sim);
    let mut response = DescribeGroupsResponse::default();
    response.groups = r
        .groups
        .iter()
        .map(|id| {
            let mut out = DescribedGroup::default();
            out.group_id = id.clone();
            match groups.iter().find(|g| g.id == id.0.as_str()) {
                // Kafka describes an unknown group as Dead with no members.
                None => out.group_state = text("Dead"),
                Some(g) => {
                    out.group_state = text(state_name(g.state));
                    out.protocol_type = text(CONSUMER);
                    let protocol = g
                        .protocol
                        .map(|p| ctx.protocols.name(&g.id, p).unwrap_or(p.name()).to_string());
                    out.protocol_data = text(protocol.as_deref().unwrap_or(""));
                    out.members = g
                        .members
                        .iter()
                        .map(|m| {
                            let assigned: Vec<TopicPartition> = m
                                .assignment
                                .iter()
                                .map(|(t, p)| TopicPartition::new(t, *p))
                                .collect();
                            let mut member = DescribedGroupMember::default();
                            member.member_id = text(&m.member_id);
                            member.group_instance_id = m.group_instance_id.as_deref().map(text);
                            member.client_id = text(&m.client.to_string());
                            member.client_host = text(&format!("/{}", ctx.addresses.host));
                            member.member_assignment = assignment_bytes(&assigned);
                            member
                        })
                        .collect();
                }
            }
            out
        })
        .collect();
    Plan::Answer(ResponseKind::DescribeGroups(response))
}
