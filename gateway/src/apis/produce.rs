//! Produce and InitProducerId.

use super::{by_topic, kafka_topic, topic, Context, Pending, Plan};
use crate::records::{from_kafka, produce_error};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    InitProducerIdRequest, InitProducerIdResponse, ProduceRequest, ProduceResponse, ProducerId,
    ResponseKind,
};
use kplay_core::config::Acks;
use kplay_core::ids::TopicPartition;
use kplay_core::protocol::msg;
use kplay_core::protocol::Message;

#[derive(Debug)]
pub(crate) struct PendingProduce {
    /// Every partition of the request in its order, with the error it got before reaching
    /// the broker (a batch that could not be decoded), if any.
    partitions: Vec<(String, i32, Option<i16>)>,
}

pub(crate) fn plan_produce(r: ProduceRequest, ctx: &mut Context<'_>) -> Plan {
    let acks = match r.acks {
        0 => Some(Acks::None),
        1 => Some(Acks::Leader),
        -1 => Some(Acks::All),
        _ => None,
    };
    let mut partitions = Vec::new();
    let mut batches = Vec::new();
    for t in &r.topic_data {
        let name = t.name.0.to_string();
        for p in &t.partition_data {
            let local = match (acks, &p.records, u32::try_from(p.index)) {
                (None, _, _) => Some(ResponseError::InvalidRequiredAcks.code()),
                (_, _, Err(_)) => Some(ResponseError::UnknownTopicOrPartition.code()),
                (_, None, _) => Some(ResponseError::InvalidRecord.code()),
                (Some(_), Some(bytes), Ok(index)) => {
                    match from_kafka(bytes, ctx.clock, ctx.max_request_bytes, ctx.next_record_id) {
                        Ok(batch) => {
                            batches.push((TopicPartition::new(&topic(&name), index), batch));
                            None
                        }
                        Err(e) => Some(produce_error(&e)),
                    }
                }
            };
            partitions.push((name.clone(), p.index, local));
        }
    }
    let pending = PendingProduce { partitions };
    let Some(acks) = acks.filter(|_| !batches.is_empty()) else {
        return match r.acks {
            0 => Plan::Tell(Vec::new()),
            _ => Plan::Answer(respond_produce(pending, Vec::new())),
        };
    };
    let request = Message::ProduceRequest(msg::ProduceRequest {
        correlation: 0,
        acks,
        timeout_ms: r.timeout_ms.max(0) as u64,
        partitions: batches,
    });
    match acks {
        Acks::None => Plan::Tell(vec![request]),
        _ => Plan::Ask {
            requests: vec![request],
            pending: Pending::Produce(pending),
        },
    }
}

pub(crate) fn respond_produce(p: PendingProduce, answers: Vec<Message>) -> ResponseKind {
    let results = match answers.into_iter().next() {
        Some(Message::ProduceResponse(msg::ProduceResponse { partitions, .. })) => partitions,
        _ => Vec::new(),
    };
    let items = p
        .partitions
        .into_iter()
        .map(|(t, index, local)| {
            let mut out = PartitionProduceResponse::default();
            out.index = index;
            out.base_offset = -1;
            out.log_append_time_ms = -1;
            out.log_start_offset = -1;
            let answer = results
                .iter()
                .find(|r| *r.tp.topic == *t && r.tp.partition as i32 == index);
            match (local, answer) {
                (Some(code), _) => out.error_code = code,
                (None, Some(a)) => {
                    out.error_code = crate::errors::code(a.error);
                    if a.error.is_none() {
                        out.base_offset = a.base_offset as i64;
                    }
                }
                (None, None) => out.error_code = ResponseError::UnknownServerError.code(),
            }
            (t, index, out)
        })
        .collect();
    let mut response = ProduceResponse::default();
    response.responses = by_topic(items)
        .into_iter()
        .map(|(t, parts)| {
            let mut out = TopicProduceResponse::default();
            out.name = kafka_topic(&t);
            out.partition_responses = parts.into_iter().map(|(_, p)| p).collect();
            out
        })
        .collect();
    ResponseKind::Produce(response)
}

pub(crate) fn plan_init_producer_id(r: InitProducerIdRequest) -> Plan {
    Plan::Ask {
        requests: vec![Message::InitProducerIdRequest(msg::InitProducerIdRequest {
            correlation: 0,
            transactional_id: r.transactional_id.map(|t| t.0.to_string()),
            transaction_timeout_ms: r.transaction_timeout_ms.max(0) as u64,
        })],
        pending: Pending::InitProducerId,
    }
}

pub(crate) fn respond_init_producer_id(answers: Vec<Message>) -> ResponseKind {
    let mut response = InitProducerIdResponse::default();
    response.producer_id = ProducerId(-1);
    response.producer_epoch = -1;
    match answers.into_iter().next() {
        Some(Message::InitProducerIdResponse(msg::InitProducerIdResponse {
            error,
            producer_id,
            producer_epoch,
            ..
        })) => {
            response.error_code = crate::errors::code(error);
            if error.is_none() {
                response.producer_id = ProducerId(producer_id);
                response.producer_epoch = producer_epoch;
            }
        }
        _ => response.error_code = ResponseError::UnknownServerError.code(),
    }
    ResponseKind::InitProducerId(response)
}
