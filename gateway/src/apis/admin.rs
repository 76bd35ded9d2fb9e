//! CreateTopics, DeleteTopics, CreatePartitions (through the controller, as kplay's admin
//! commands go) and DescribeConfigs (read from the cluster's state, as `kafka-configs.sh` does).

use super::{kafka_topic, text, topic, Context, Pending, Plan};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteTopicsRequest, DeleteTopicsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    ResponseKind,
};
use kplay_core::protocol::msg;
use kplay_core::protocol::{Message, NewTopic};

/// A topic's partitions and replication factor as sent, or the error code and message it got
/// before reaching the controller.
type Planned = Result<(u32, u32), (i16, String)>;

#[derive(Debug)]
pub(crate) struct PendingCreate {
    /// Every topic asked for, in the request's order.
    topics: Vec<(String, Planned)>,
}

pub(crate) fn plan_create_topics(r: CreateTopicsRequest, ctx: &mut Context<'_>) -> Plan {
    let defaults = &ctx.sim.scenario().cluster.broker_config;
    let mut topics = Vec::new();
    let mut requests = Vec::new();
    for t in &r.topics {
        let name = t.name.0.to_string();
        let invalid = |message: String| Err((ResponseError::InvalidRequest.code(), message));
        let planned = if r.validate_only {
            invalid("kplay does not validate without creating (validate_only)".into())
        } else if !t.assignments.is_empty() {
            invalid("kplay places replicas itself: manual assignments are not supported".into())
        } else {
            let pairs: Vec<String> = t
                .configs
                .iter()
                .map(|c| format!("{}={}", c.name, c.value.as_deref().unwrap_or("")))
                .collect();
            match kplay_core::tools::parse_topic_configs(&pairs) {
                Err(e) => Err((ResponseError::InvalidConfig.code(), e)),
                Ok(config) => {
                    let partitions = match t.num_partitions {
                        -1 => defaults.num_partitions,
                        n => n.max(0) as u32,
                    };
                    let replication = match t.replication_factor {
                        -1 => defaults.default_replication_factor,
                        n => n.max(0) as u32,
                    };
                    requests.push(Message::CreateTopicsRequest(msg::CreateTopicsRequest {
                        correlation: 0,
                        topic: Box::new(NewTopic {
                            name: topic(&name),
                            partitions,
                            replication_factor: replication,
                            config,
                        }),
                    }));
                    Ok((partitions, replication))
                }
            }
        };
        topics.push((name, planned));
    }
    Plan::Ask {
        requests,
        pending: Pending::CreateTopics(PendingCreate { topics }),
    }
}

pub(crate) fn respond_create_topics(p: PendingCreate, answers: Vec<Message>) -> ResponseKind {
    let mut answers = answers.into_iter();
    let mut response = CreateTopicsResponse::default();
    response.topics = p
        .topics
        .into_iter()
        .map(|(name, planned)| {
            let mut out = CreatableTopicResult::default();
            out.name = kafka_topic(&name);
            out.num_partitions = -1;
            out.replication_factor = -1;
            match planned {
                Err((code, message)) => {
                    out.error_code = code;
                    out.error_message = Some(text(&message));
                }
                Ok((partitions, replication)) => match answers.next() {
                    Some(Message::CreateTopicsResponse(msg::CreateTopicsResponse {
                        error,
                        ..
                    })) => {
                        out.error_code = crate::errors::code(error);
                        if error.is_none() {
                            out.num_partitions = partitions as i32;
                            out.replication_factor = replication as i16;
                        }
                    }
                    _ => out.error_code = ResponseError::UnknownServerError.code(),
                },
            }
            out
        })
        .collect();
    ResponseKind::CreateTopics(response)
}

pub(crate) fn plan_delete_topics(r: DeleteTopicsRequest) -> Plan {
    let requests = r
        .topic_names
        .iter()
        .map(|t| {
            Message::DeleteTopicsRequest(msg::DeleteTopicsRequest {
                correlation: 0,
                topic: topic(&t.0),
            })
        })
        .collect();
    Plan::Ask {
        requests,
        pending: Pending::DeleteTopics,
    }
}

pub(crate) fn respond_delete_topics(answers: Vec<Message>) -> ResponseKind {
    let mut response = DeleteTopicsResponse::default();
    response.responses = answers
        .into_iter()
        .filter_map(|a| match a {
            Message::DeleteTopicsResponse(msg::DeleteTopicsResponse { topic, error, .. }) => {
                let mut out = DeletableTopicResult::default();
                out.name = Some(kafka_topic(&topic));
                out.error_code = crate::errors::code(error);
                Some(out)
            }
            _ => None,
        })
        .collect();
    ResponseKind::DeleteTopics(response)
}

pub(crate) fn plan_create_partitions(r: CreatePartitionsRequest) -> Plan {
    let requests = r
        .topics
        .iter()
        .map(|t| {
            Message::CreatePartitionsRequest(msg::CreatePartitionsRequest {
                correlation: 0,
                topic: topic(&t.name.0),
                count: t.count.max(0) as u32,
            })
        })
        .collect();
    Plan::Ask {
        requests,
        pending: Pending::CreatePartitions,
    }
}

pub(crate) fn respond_create_partitions(answers: Vec<Message>) -> ResponseKind {
    let mut response = CreatePartitionsResponse::default();
    response.results = answers
        .into_iter()
        .filter_map(|a| match a {
            Message::CreatePartitionsResponse(msg::CreatePartitionsResponse {
                topic,
                error,
                ..
            }) => {
                let mut out = CreatePartitionsTopicResult::default();
                out.name = kafka_topic(&topic);
                out.error_code = crate::errors::code(error);
                Some(out)
            }
            _ => None,
        })
        .collect();
    ResponseKind::CreatePartitions(response)
}

/// Kafka's `ConfigResource.Type` for a topic.
const TOPIC_RESOURCE: i8 = 2;

/// Kafka's `DescribeConfigsResponse.ConfigSource` numbers.
fn source(name: &str) -> i8 {
    match name {
        "DYNAMIC_TOPIC_CONFIG" => 1,
        "DYNAMIC_BROKER_CONFIG" => 2,
        "DYNAMIC_DEFAULT_BROKER_CONFIG" => 3,
        "STATIC_BROKER_CONFIG" => 4,
        "DEFAULT_CONFIG" => 5,
        _ => 0,
    }
}

/// Topic configs only: kplay's brokers are configured by the scenario.
pub(crate) fn describe_configs(r: DescribeConfigsRequest, ctx: &Context<'_>) -> Plan {
    let mut response = DescribeConfigsResponse::default();
    response.results = r
        .resources
        .iter()
        .map(|res| {
            let mut out = DescribeConfigsResult::default();
            out.resource_type = res.resource_type;
            out.resource_name = res.resource_name.clone();
            let entries = (res.resource_type == TOPIC_RESOURCE)
                .then(|| kplay_core::tools::topic_config_entries(ctx.sim, &res.resource_name))
                .flatten();
            match entries {
                None if res.resource_type == TOPIC_RESOURCE => {
                    out.error_code = ResponseError::UnknownTopicOrPartition.code();
                }
                None => {
                    out.error_code = ResponseError::InvalidRequest.code();
                    out.error_message = Some(text("kplay describes topic configs only"));
                }
                Some(entries) => {
                    out.configs = entries
                        .into_iter()
                        .filter(|e| {
                            res.configuration_keys
                                .as_ref()
                                .is_none_or(|keys| keys.iter().any(|k| k.as_str() == e.name))
                        })
                        .filter_map(|e| {
                            let (first_source, _, value) = e.layers.first()?.clone();
                            let mut c = DescribeConfigsResourceResult::default();
                            c.name = text(e.name);
                            c.value = Some(text(&value));
                            c.config_source = source(first_source);
                            if r.include_synonyms {
                                c.synonyms = e
                                    .layers
                                    .iter()
                                    .map(|(s, key, v)| {
                                        let mut syn = DescribeConfigsSynonym::default();
                                        syn.name = text(key);
                                        syn.value = Some(text(v));
                                        syn.source = source(s);
                                        syn
                                    })
                                    .collect();
                            }
                            Some(c)
                        })
                        .collect();
                }
            }
            out
        })
        .collect();
    Plan::Answer(ResponseKind::DescribeConfigs(response))
}
