//! DescribeQuorum (KRaft, KIP-595/KIP-853), which `kafka-metadata-quorum.sh --bootstrap-server`
//! sends: read from the quorum's leader, as a broker forwards it to the active controller.

use super::{text, Context, Plan};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{
    BrokerId, DescribeQuorumRequest, DescribeQuorumResponse, ResponseKind,
};
use kplay_core::time::SimTime;
use kplay_core::tools::{controller_endpoint, describe_quorum, DescribeError, Replica};

/// The metadata log's topic: the only partition DescribeQuorum describes.
const METADATA_TOPIC: &str = "__cluster_metadata";

pub(crate) fn describe(r: DescribeQuorumRequest, version: i16, ctx: &Context<'_>) -> Plan {
    let mut response = DescribeQuorumResponse::default();
    let asks_metadata_log = matches!(r.topics.as_slice(),
        [t] if t.topic_name.as_str() == METADATA_TOPIC
            && matches!(t.partitions.as_slice(), [p] if p.partition_index == 0));
    if !asks_metadata_log {
        // `KafkaRaftClient.handleDescribeQuorumRequest`: anything but `__cluster_metadata-0`.
        response.error_code = ResponseError::UnknownTopicOrPartition.code();
        return answer(response);
    }
    let mut partition = PartitionData::default();
    match describe_quorum(ctx.sim) {
        Err(DescribeError::ZooKeeperMode) => {
            response.error_code = ResponseError::UnsupportedVersion.code();
            if version >= 2 {
                response.error_message = Some(text(
                    "this cluster runs in ZooKeeper mode: it has no KRaft quorum",
                ));
            }
            return answer(response);
        }
        Err(DescribeError::NoLeader) => {
            partition.error_code = ResponseError::NotLeaderOrFollower.code();
            partition.leader_id = BrokerId(-1);
            partition.leader_epoch = -1;
            partition.high_watermark = -1;
        }
        Ok(q) => {
            let unix_ms = |t: Option<SimTime>| t.map_or(-1, |t| ctx.clock.to_unix_ms(t.0));
            let state = |r: &Replica| {
                let mut s = ReplicaState::default();
                s.replica_id = BrokerId(r.id as i32);
                s.log_end_offset = r.end_offset.map_or(-1, |o| o as i64);
                s.last_fetch_timestamp = unix_ms(r.last_fetch);
                s.last_caught_up_timestamp = unix_ms(r.last_caught_up);
                s
            };
            partition.leader_id = BrokerId(q.leader as i32);
            partition.leader_epoch = q.epoch as i32;
            partition.high_watermark = q.high_watermark as i64;
            partition.current_voters = q.voters.iter().map(state).collect();
            partition.observers = q.observers.iter().map(state).collect();
            if version >= 2 {
                let combined = ctx.sim.scenario().cluster.combined;
                response.nodes = q
                    .voters
                    .iter()
                    .map(|v| {
                        let endpoint = controller_endpoint(v.id, combined);
                        let (host, port) = endpoint.split_once(':').unwrap_or((&endpoint, "9093"));
                        let mut listener = Listener::default();
                        listener.name = text("CONTROLLER");
                        listener.host = text(host);
                        listener.port = port.parse().unwrap_or(9093);
                        let mut node = Node::default();
                        node.node_id = BrokerId(v.id as i32);
                        node.listeners = vec![listener];
                        node
                    })
                    .collect();
            }
        }
    }
    let mut topic = TopicData::default();
    topic.topic_name = super::kafka_topic(METADATA_TOPIC);
    topic.partitions = vec![partition];
    response.topics = vec![topic];
    answer(response)
}

fn answer(response: DescribeQuorumResponse) -> Plan {
    Plan::Answer(ResponseKind::DescribeQuorum(response))
}
