//! One Kafka request in, kplay messages out — and their answers back into one Kafka response.
//! Each family of APIs has its module; each has a `plan` (what to send to the simulated broker)
//! and a `respond` (the Kafka response once every answer is in).

mod admin;
mod fetch;
pub(crate) mod group;
mod metadata;
mod produce;
mod quorum;
mod txn;

use crate::records::Clock;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use kplay_core::ids::{BrokerId, TopicName};
use kplay_core::protocol::Message;
use kplay_core::Sim;

/// Where clients reach broker n: `host:(base_port + n − 1)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addresses {
    pub host: String,
    pub base_port: u16,
}

impl Addresses {
    pub fn port(&self, broker: BrokerId) -> i32 {
        i32::from(self.base_port) + broker.0 as i32 - 1
    }
}

/// What the APIs may look at while planning and answering.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub sim: &'a Sim,
    pub addresses: &'a Addresses,
    pub clock: Clock,
    /// `socket.request.max.bytes`, also the bound on a batch's decompressed size.
    pub max_request_bytes: usize,
    pub next_record_id: &'a mut u64,
    pub protocols: &'a mut group::ProtocolNames,
}

/// What to do with one request.
#[derive(Debug)]
pub(crate) enum Plan {
    /// Answer now, from the gateway (ApiVersions, a request refused before it reaches a broker,
    /// or something read from the cluster's state).
    Answer(ResponseKind),
    /// Send these to the broker the client is connected to; answer once each is answered.
    Ask {
        requests: Vec<Message>,
        pending: Pending,
    },
    /// Send these; Kafka answers nothing (a produce with acks=0).
    Tell(Vec<Message>),
}

/// What a request needs remembered until its answers arrive.
#[derive(Debug)]
pub(crate) enum Pending {
    Metadata(metadata::PendingMetadata),
    FindCoordinator(metadata::PendingCoordinators),
    Produce(produce::PendingProduce),
    InitProducerId,
    Fetch(fetch::PendingFetch),
    ListOffsets(fetch::PendingListOffsets),
    JoinGroup(group::PendingJoin),
    SyncGroup,
    Heartbeat,
    LeaveGroup(group::PendingLeave),
    OffsetCommit(group::PendingOffsets),
    OffsetFetch,
    CreateTopics(admin::PendingCreate),
    DeleteTopics,
    CreatePartitions,
    AddPartitionsToTxn(txn::PendingAddPartitions),
    AddOffsetsToTxn,
    EndTxn,
    TxnOffsetCommit(group::PendingOffsets),
}

/// Plans a request the gateway supports at this version (checked before).
pub(crate) fn plan(request: RequestKind, version: i16, ctx: &mut Context<'_>) -> Plan {
    match request {
        RequestKind::ApiVersions(_) => Plan::Answer(ResponseKind::ApiVersions(
            crate::versions::api_versions(None),
        )),
        RequestKind::Metadata(r) => metadata::plan_metadata(r, version),
        RequestKind::FindCoordinator(r) => metadata::plan_find_coordinator(r, version),
        RequestKind::DescribeConfigs(r) => admin::describe_configs(r, ctx),
        RequestKind::DescribeQuorum(r) => quorum::describe(r, version, ctx),
        RequestKind::Produce(r) => produce::plan_produce(r, ctx),
        RequestKind::InitProducerId(r) => produce::plan_init_producer_id(r),
        RequestKind::Fetch(r) => fetch::plan_fetch(r, version),
        RequestKind::ListOffsets(r) => fetch::plan_list_offsets(r),
        RequestKind::JoinGroup(r) => group::plan_join(r, version, ctx),
        RequestKind::SyncGroup(r) => group::plan_sync(r),
        RequestKind::Heartbeat(r) => group::plan_heartbeat(r),
        RequestKind::LeaveGroup(r) => group::plan_leave(r, version),
        RequestKind::OffsetCommit(r) => group::plan_offset_commit(r),
        RequestKind::OffsetFetch(r) => group::plan_offset_fetch(r),
        RequestKind::DescribeGroups(r) => group::describe_groups(r, ctx),
        RequestKind::ListGroups(r) => group::list_groups(r, ctx),
        RequestKind::CreateTopics(r) => admin::plan_create_topics(r, ctx),
        RequestKind::DeleteTopics(r) => admin::plan_delete_topics(r),
        RequestKind::CreatePartitions(r) => admin::plan_create_partitions(r),
        RequestKind::AddPartitionsToTxn(r) => txn::plan_add_partitions(r),
        RequestKind::AddOffsetsToTxn(r) => txn::plan_add_offsets(r),
        RequestKind::EndTxn(r) => txn::plan_end_txn(r),
        RequestKind::TxnOffsetCommit(r) => txn::plan_txn_offset_commit(r),
        // `versions::SUPPORTED` lists nothing else, so nothing else gets here.
        _ => Plan::Answer(ResponseKind::ApiVersions(crate::versions::api_versions(
            Some(ResponseError::UnsupportedVersion),
        ))),
    }
}

/// The Kafka response, once every message of the plan has its answer (in the plan's order).
pub(crate) fn respond(
    pending: Pending,
    answers: Vec<Message>,
    version: i16,
    ctx: &Context<'_>,
) -> ResponseKind {
    match pending {
        Pending::Metadata(p) => metadata::respond_metadata(p, answers, ctx),
        Pending::FindCoordinator(p) => metadata::respond_find_coordinator(p, answers, version, ctx),
        Pending::Produce(p) => produce::respond_produce(p, answers),
        Pending::InitProducerId => produce::respond_init_producer_id(answers),
        Pending::Fetch(p) => fetch::respond_fetch(p, answers, ctx),
        Pending::ListOffsets(p) => fetch::respond_list_offsets(p, answers),
        Pending::JoinGroup(p) => group::respond_join(p, answers),
        Pending::SyncGroup => group::respond_sync(answers),
        Pending::Heartbeat => group::respond_heartbeat(answers),
        Pending::LeaveGroup(p) => group::respond_leave(p, answers),
        Pending::OffsetCommit(p) => group::respond_offset_commit(p, answers),
        Pending::OffsetFetch => group::respond_offset_fetch(answers),
        Pending::CreateTopics(p) => admin::respond_create_topics(p, answers),
        Pending::DeleteTopics => admin::respond_delete_topics(answers),
        Pending::CreatePartitions => admin::respond_create_partitions(answers),
        Pending::AddPartitionsToTxn(p) => txn::respond_add_partitions(p, answers),
        Pending::AddOffsetsToTxn => txn::respond_add_offsets(answers),
        Pending::EndTxn => txn::respond_end_txn(answers),
        Pending::TxnOffsetCommit(p) => txn::respond_txn_offset_commit(p, answers),
    }
}

pub(crate) fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub(crate) fn topic(name: &str) -> TopicName {
    TopicName::from(name)
}

pub(crate) fn kafka_topic(name: &str) -> kafka_protocol::messages::TopicName {
    kafka_protocol::messages::TopicName(text(name))
}

/// Groups (topic, partition, value) triples by topic, keeping first-seen order.
pub(crate) fn by_topic<T>(items: Vec<(String, i32, T)>) -> Vec<(String, Vec<(i32, T)>)> {
    let mut out: Vec<(String, Vec<(i32, T)>)> = Vec::new();
    for (t, p, v) in items {
        match out.iter_mut().find(|(name, _)| *name == t) {
            Some((_, parts)) => parts.push((p, v)),
            None => out.push((t, vec![(p, v)])),
        }
    }
    out
}
