//! Transactions: AddPartitionsToTxn, AddOffsetsToTxn, EndTxn (to the transaction coordinator)
//! and TxnOffsetCommit (to the group coordinator). InitProducerId is in `produce`.

use super::group::{commit_offsets, commit_results, single_error, PendingOffsets};
use super::{by_topic, kafka_topic, topic, Pending, Plan};
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse, ResponseKind,
    TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};
use kplay_core::ids::TopicPartition;
use kplay_core::protocol::msg;
use kplay_core::protocol::Message;

#[derive(Debug)]
pub(crate) struct PendingAddPartitions {
    partitions: Vec<(String, i32)>,
}

pub(crate) fn plan_add_partitions(r: AddPartitionsToTxnRequest) -> Plan {
    let mut partitions = Vec::new();
    let mut asked = Vec::new();
    for t in &r.v3_and_below_topics {
        let name = t.name.0.to_string();
        for &p in &t.partitions {
            partitions.push((name.clone(), p));
            if let Ok(index) = u32::try_from(p) {
                asked.push(TopicPartition::new(&topic(&name), index));
            }
        }
    }
    Plan::Ask {
        requests: vec![Message::AddPartitionsToTxnRequest(
            msg::AddPartitionsToTxnRequest {
                correlation: 0,
                transactional_id: r.v3_and_below_transactional_id.0.to_string(),
                producer_id: r.v3_and_below_producer_id.0,
                producer_epoch: r.v3_and_below_producer_epoch,
                partitions: asked,
            },
        )],
        pending: Pending::AddPartitionsToTxn(PendingAddPartitions { partitions }),
    }
}

pub(crate) fn respond_add_partitions(
    p: PendingAddPartitions,
    answers: Vec<Message>,
) -> ResponseKind {
    // kplay's coordinator answers for the whole request: every partition gets its error.
    let code = match answers.into_iter().next() {
        Some(Message::AddPartitionsToTxnResponse(msg::AddPartitionsToTxnResponse {
            error,
            ..
        })) => crate::errors::code(error),
        _ => kafka_protocol::error::ResponseError::UnknownServerError.code(),
    };
    let mut response = AddPartitionsToTxnResponse::default();
    response.results_by_topic_v3_and_below = by_topic(
        p.partitions
            .into_iter()
            .map(|(t, index)| (t, index, code))
            .collect(),
    )
    .into_iter()
    .map(|(t, parts)| {
        let mut out = AddPartitionsToTxnTopicResult::default();
        out.name = kafka_topic(&t);
        out.results_by_partition = parts
            .into_iter()
            .map(|(index, code)| {
                let mut r = AddPartitionsToTxnPartitionResult::default();
                r.partition_index = index;
                r.partition_error_code = code;
                r
            })
            .collect();
        out
    })
    .collect();
    ResponseKind::AddPartitionsToTxn(response)
}

pub(crate) fn plan_add_offsets(r: AddOffsetsToTxnRequest) -> Plan {
    Plan::Ask {
        requests: vec![Message::AddOffsetsToTxnRequest(
            msg::AddOffsetsToTxnRequest {
                correlation: 0,
                transactional_id: r.transactional_id.0.to_string(),
                producer_id: r.producer_id.0,
                producer_epoch: r.producer_epoch,
                group_id: r.group_id.0.to_string(),
            },
        )],
        pending: Pending::AddOffsetsToTxn,
    }
}

pub(crate) fn respond_add_offsets(answers: Vec<Message>) -> ResponseKind {
    let mut response = AddOffsetsToTxnResponse::default();
    response.error_code = single_error(answers);
    ResponseKind::AddOffsetsToTxn(response)
}

pub(crate) fn plan_end_txn(r: EndTxnRequest) -> Plan {
    Plan::Ask {
        requests: vec![Message::EndTxnRequest(msg::EndTxnRequest {
            correlation: 0,
            transactional_id: r.transactional_id.0.to_string(),
            producer_id: r.producer_id.0,
            producer_epoch: r.producer_epoch,
            commit: r.committed,
        })],
        pending: Pending::EndTxn,
    }
}

pub(crate) fn respond_end_txn(answers: Vec<Message>) -> ResponseKind {
    let mut response = EndTxnResponse::default();
    response.error_code = single_error(answers);
    ResponseKind::EndTxn(response)
}

pub(crate) fn plan_txn_offset_commit(r: TxnOffsetCommitRequest) -> Plan {
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
        requests: vec![Message::TxnOffsetCommitRequest(
            msg::TxnOffsetCommitRequest {
                correlation: 0,
                transactional_id: r.transactional_id.0.as_str().into(),
                group_id: r.group_id.0.to_string(),
                producer_id: r.producer_id.0,
                producer_epoch: r.producer_epoch,
                generation: r.generation_id,
                member_id: r.member_id.as_str().into(),
                offsets,
            },
        )],
        pending: Pending::TxnOffsetCommit(pending),
    }
}

pub(crate) fn respond_txn_offset_commit(p: PendingOffsets, answers: Vec<Message>) -> ResponseKind {
    let mut response = TxnOffsetCommitResponse::default();
    response.topics = commit_results(p, answers)
        .into_iter()
        .map(|(t, parts)| {
            let mut out = TxnOffsetCommitResponseTopic::default();
            out.name = kafka_topic(&t);
            out.partitions = parts
                .into_iter()
                .map(|(index, code)| {
                    let mut p = TxnOffsetCommitResponsePartition::default();
                    p.partition_index = index;
                    p.error_code = code;
                    p
                })
                .collect();
            out
        })
        .collect();
    ResponseKind::TxnOffsetCommit(response)
}
