//! Metadata and FindCoordinator: the cluster as clients see it, with each broker's address.

use super::{kafka_topic, text, topic, Context, Pending, Plan};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId as KBroker, FindCoordinatorRequest, FindCoordinatorResponse, MetadataRequest,
    MetadataResponse, ResponseKind,
};
use kplay_core::protocol::msg;
use kplay_core::protocol::{CoordinatorType, ErrorCode, Message};

#[derive(Debug)]
pub(crate) struct PendingMetadata {
    /// `Some(empty)`: the client asked for no topics (brokers and controller only).
    no_topics: bool,
}

pub(crate) fn plan_metadata(r: MetadataRequest, version: i16) -> Plan {
    // Version 0 has no null: an empty list means every topic.
    let topics: Vec<String> = r
        .topics
        .iter()
        .flatten()
        .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
        .collect();
    let no_topics = version >= 1 && r.topics.as_ref().is_some_and(|t| t.is_empty());
    let request = Message::MetadataRequest(msg::MetadataRequest {
        correlation: 0,
        topics: topics.iter().map(|t| topic(t)).collect(),
        // Before version 4 a Metadata request always let the broker create missing topics.
        allow_auto_topic_creation: version < 4 || r.allow_auto_topic_creation,
    });
    Plan::Ask {
        requests: vec![request],
        pending: Pending::Metadata(PendingMetadata { no_topics }),
    }
}

pub(crate) fn respond_metadata(
    p: PendingMetadata,
    answers: Vec<Message>,
    ctx: &Context<'_>,
) -> ResponseKind {
    let mut response = MetadataResponse::default();
    response.cluster_id = Some(text("kplay"));
    response.controller_id = KBroker(-1);
    if let Some(Message::MetadataResponse(msg::MetadataResponse {
        brokers,
        controller,
        topics,
        ..
    })) = answers.into_iter().next()
    {
        response.brokers = brokers
            .iter()
            .map(|&b| {
                let mut broker = MetadataResponseBroker::default();
                broker.node_id = KBroker(b.0 as i32);
                broker.host = text(&ctx.addresses.host);
                broker.port = ctx.addresses.port(b);
                broker
            })
            .collect();
        response.controller_id = KBroker(controller.map_or(-1, |c| c.0 as i32));
        if !p.no_topics {
            response.topics = topics
                .into_iter()
                .map(|t| {
                    let mut out = MetadataResponseTopic::default();
                    out.name = Some(kafka_topic(&t.name));
                    out.error_code = crate::errors::code(t.error);
                    out.is_internal = t.name.starts_with("__");
                    out.partitions = t
                        .partitions
                        .into_iter()
                        .map(|p| {
                            let ids = |v: &[kplay_core::BrokerId]| {
                                v.iter().map(|b| KBroker(b.0 as i32)).collect()
                            };
                            let mut out = MetadataResponsePartition::default();
                            out.partition_index = p.partition as i32;
                            out.leader_id = KBroker(p.leader.map_or(-1, |l| l.0 as i32));
                            out.leader_epoch = p.leader_epoch as i32;
                            out.replica_nodes = ids(&p.replicas);
                            out.isr_nodes = ids(&p.isr);
                            out.offline_replicas = ids(&p.offline_replicas);
                            if p.leader.is_none() {
                                out.error_code =
                                    crate::errors::code(Some(ErrorCode::LeaderNotAvailable));
                            }
                            out
                        })
                        .collect();
                    out
                })
                .collect();
        }
    }
    ResponseKind::Metadata(response)
}

#[derive(Debug)]
pub(crate) struct PendingCoordinators {
    keys: Vec<String>,
}

pub(crate) fn plan_find_coordinator(r: FindCoordinatorRequest, version: i16) -> Plan {
    let keys: Vec<String> = if version >= 4 {
        r.coordinator_keys.iter().map(|k| k.to_string()).collect()
    } else {
        vec![r.key.to_string()]
    };
    let key_type = match r.key_type {
        0 => CoordinatorType::Group,
        1 => CoordinatorType::Transaction,
        _ => {
            let mut response = FindCoordinatorResponse::default();
            response.error_code = ResponseError::InvalidRequest.code();
            response.error_message = Some(text("key_type must be 0 (group) or 1 (transaction)"));
            response.coordinators = keys
                .iter()
                .map(|k| {
                    let mut c = Coordinator::default();
                    c.key = text(k);
                    c.error_code = ResponseError::InvalidRequest.code();
                    c
                })
                .collect();
            return Plan::Answer(ResponseKind::FindCoordinator(response));
        }
    };
    let requests = keys
        .iter()
        .map(|k| {
            Message::FindCoordinatorRequest(msg::FindCoordinatorRequest {
                correlation: 0,
                key: k.clone(),
                key_type,
            })
        })
        .collect();
    Plan::Ask {
        requests,
        pending: Pending::FindCoordinator(PendingCoordinators { keys }),
    }
}

pub(crate) fn respond_find_coordinator(
    p: PendingCoordinators,
    answers: Vec<Message>,
    version: i16,
    ctx: &Context<'_>,
) -> ResponseKind {
    let coordinators: Vec<Coordinator> = p
        .keys
        .iter()
        .zip(answers)
        .map(|(key, answer)| {
            let mut c = Coordinator::default();
            c.key = text(key);
            c.node_id = KBroker(-1);
            c.error_code = ResponseError::CoordinatorNotAvailable.code();
            if let Message::FindCoordinatorResponse(msg::FindCoordinatorResponse {
                error,
                coordinator,
                ..
            }) = answer
            {
                c.error_code = crate::errors::code(error);
                if let (None, Some(b)) = (error, coordinator) {
                    c.node_id = KBroker(b.0 as i32);
                    c.host = text(&ctx.addresses.host);
                    c.port = ctx.addresses.port(b);
                }
            }
            c
        })
        .collect();
    let mut response = FindCoordinatorResponse::default();
    if version >= 4 {
        response.coordinators = coordinators;
    } else if let Some(c) = coordinators.into_iter().next() {
        response.error_code = c.error_code;
        response.node_id = c.node_id;
        response.host = c.host;
        response.port = c.port;
    }
    ResponseKind::FindCoordinator(response)
}
