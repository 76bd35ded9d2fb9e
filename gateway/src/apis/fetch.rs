//! Fetch (consumers only: a replica's fetch has no place outside the simulation) and
//! ListOffsets. Fetch sessions (KIP-227) are not kept: every answer carries session id 0, which
//! tells the client to send full fetches.

use super::{by_topic, kafka_topic, topic, Context, Pending, Plan};
use crate::records::to_kafka;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{
    BrokerId as KBroker, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse,
    ProducerId, ResponseKind,
};
use kplay_core::config::IsolationLevel;
use kplay_core::ids::TopicPartition;
use kplay_core::protocol::msg;
use kplay_core::protocol::{FetchPartition, Message, OffsetSpec, FINAL_EPOCH, INVALID_SESSION_ID};

#[derive(Debug)]
pub(crate) struct PendingFetch {
    partitions: Vec<(String, i32)>,
    read_committed: bool,
}

pub(crate) fn plan_fetch(r: FetchRequest, version: i16) -> Plan {
    let read_committed = version >= 4 && r.isolation_level == 1;
    let mut partitions = Vec::new();
    let mut wanted = Vec::new();
    for t in &r.topics {
        let name = t.topic.0.to_string();
        for p in &t.partitions {
            partitions.push((name.clone(), p.partition));
            if let (Ok(index), Ok(offset)) =
                (u32::try_from(p.partition), u64::try_from(p.fetch_offset))
            {
                wanted.push(FetchPartition {
                    tp: TopicPartition::new(&topic(&name), index),
                    fetch_offset: offset,
                    last_fetched_epoch: None,
                });
            }
        }
    }
    let request = Message::FetchRequest(msg::FetchRequest {
        correlation: 0,
        replica_id: None,
        isolation_level: if read_committed {
            IsolationLevel::ReadCommitted
        } else {
            IsolationLevel::ReadUncommitted
        },
        max_wait_ms: r.max_wait_ms.max(0) as u64,
        min_bytes: r.min_bytes.max(0) as u32,
        max_bytes: if version >= 3 {
            r.max_bytes.max(0) as u32
        } else {
            u32::MAX
        },
        // Answered without a session (session 0), so clients keep sending full fetches.
        session_id: INVALID_SESSION_ID,
        session_epoch: FINAL_EPOCH,
        partitions: wanted,
        forgotten: Vec::new(),
    });
    Plan::Ask {
        requests: vec![request],
        pending: Pending::Fetch(PendingFetch {
            partitions,
            read_committed,
        }),
    }
}

pub(crate) fn respond_fetch(
    p: PendingFetch,
    answers: Vec<Message>,
    ctx: &Context<'_>,
) -> ResponseKind {
    let mut results = match answers.into_iter().next() {
        Some(Message::FetchResponse(msg::FetchResponse { partitions, .. })) => partitions,
        _ => Vec::new(),
    };
    let items = p
        .partitions
        .into_iter()
        .map(|(t, index)| {
            let mut out = PartitionData::default();
            out.partition_index = index;
            out.high_watermark = -1;
            out.last_stable_offset = -1;
            out.log_start_offset = -1;
            out.preferred_read_replica = KBroker(-1);
            let found = results
                .iter()
                .position(|r| *r.tp.topic == *t && r.tp.partition as i32 == index);
            match found.map(|i| results.swap_remove(i)) {
                // A negative offset or partition never reached the broker.
                None => out.error_code = ResponseError::OffsetOutOfRange.code(),
                Some(r) => {
                    out.error_code = crate::errors::code(r.error);
                    out.high_watermark = r.high_watermark as i64;
                    out.last_stable_offset = r.last_stable_offset as i64;
                    out.log_start_offset = r.log_start_offset as i64;
                    if p.read_committed {
                        out.aborted_transactions = Some(
                            r.aborted_transactions
                                .iter()
                                .map(|&(pid, first)| {
                                    let mut a = AbortedTransaction::default();
                                    a.producer_id = ProducerId(pid);
                                    a.first_offset = first as i64;
                                    a
                                })
                                .collect(),
                        );
                    }
                    out.records = Some(to_kafka(&r.batches, ctx.clock));
                }
            }
            (t, index, out)
        })
        .collect();
    let mut response = FetchResponse::default();
    response.responses = by_topic(items)
        .into_iter()
        .map(|(t, parts)| {
            let mut out = FetchableTopicResponse::default();
            out.topic = kafka_topic(&t);
            out.partitions = parts.into_iter().map(|(_, p)| p).collect();
            out
        })
        .collect();
    ResponseKind::Fetch(response)
}

/// Kafka's special timestamps in ListOffsets.
const LATEST: i64 = -1;
const EARLIEST: i64 = -2;

#[derive(Debug)]
pub(crate) struct PendingListOffsets {
    /// Each partition asked for, and whether it was sent (kplay answers only -1 and -2).
    partitions: Vec<(String, i32, bool)>,
}

pub(crate) fn plan_list_offsets(r: ListOffsetsRequest) -> Plan {
    let mut partitions = Vec::new();
    let mut asked = Vec::new();
    for t in &r.topics {
        let name = t.name.0.to_string();
        for p in &t.partitions {
            let spec = match p.timestamp {
                LATEST => Some(OffsetSpec::Latest),
                EARLIEST => Some(OffsetSpec::Earliest),
                _ => None,
            };
            let sent = match (spec, u32::try_from(p.partition_index)) {
                (Some(spec), Ok(index)) => {
                    asked.push((TopicPartition::new(&topic(&name), index), spec));
                    true
                }
                _ => false,
            };
            partitions.push((name.clone(), p.partition_index, sent));
        }
    }
    Plan::Ask {
        requests: vec![Message::ListOffsetsRequest(msg::ListOffsetsRequest {
            correlation: 0,
            partitions: asked,
        })],
        pending: Pending::ListOffsets(PendingListOffsets { partitions }),
    }
}

pub(crate) fn respond_list_offsets(p: PendingListOffsets, answers: Vec<Message>) -> ResponseKind {
    let results = match answers.into_iter().next() {
        Some(Message::ListOffsetsResponse(msg::ListOffsetsResponse { partitions, .. })) => {
            partitions
        }
        _ => Vec::new(),
    };
    let items = p
        .partitions
        .into_iter()
        .map(|(t, index, sent)| {
            let mut out = ListOffsetsPartitionResponse::default();
            out.partition_index = index;
            out.timestamp = -1;
            out.offset = -1;
            out.leader_epoch = -1;
            let answer = results
                .iter()
                .find(|(tp, _)| *tp.topic == *t && tp.partition as i32 == index);
            out.error_code = match (sent, answer) {
                // Looking an offset up by time is not modelled: only earliest and latest.
                (false, _) => ResponseError::InvalidRequest.code(),
                (true, Some((_, Ok(offset)))) => {
                    out.offset = *offset as i64;
                    0
                }
                (true, Some((_, Err(e)))) => crate::errors::kafka(*e).code(),
                (true, None) => ResponseError::UnknownServerError.code(),
            };
            (t, index, out)
        })
        .collect();
    let mut response = ListOffsetsResponse::default();
    response.topics = by_topic(items)
        .into_iter()
        .map(|(t, parts)| {
            let mut out = ListOffsetsTopicResponse::default();
            out.name = kafka_topic(&t);
            out.partitions = parts.into_iter().map(|(_, p)| p).collect();
            out
        })
        .collect();
    ResponseKind::ListOffsets(response)
}
