//! The gateway driven without sockets: Kafka requests in, Kafka responses out, over a simulated
//! cluster whose clock the test moves.

mod common;

use bytes::Bytes;
use common::*;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::*;
use kplay_core::scenario::ClusterMode;
use kplay_core::{BrokerId, Command};
use kplay_gateway::frame::{decode_response, encode_request};
use kplay_gateway::records::producer_batch;
use kplay_gateway::Output;

fn leader_of(gw: &kplay_gateway::Gateway, topic: &str, partition: u32) -> BrokerId {
    gw.sim()
        .partition_state(topic, partition)
        .unwrap()
        .0
        .unwrap()
}

fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.into()))
}

fn batch(values: &[&str]) -> Bytes {
    let records: Vec<(Option<Bytes>, Bytes)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                Some(Bytes::from(format!("key-{i}"))),
                Bytes::copy_from_slice(v.as_bytes()),
            )
        })
        .collect();
    producer_batch(CLOCK.unix_ms_at_zero + 2_000, &records)
}

fn produce(partition: i32, values: &[&str]) -> RequestKind {
    let mut p = PartitionProduceData::default();
    p.index = partition;
    p.records = Some(batch(values));
    let mut t = TopicProduceData::default();
    t.name = topic_name("orders");
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.acks = -1;
    r.timeout_ms = 30_000;
    r.topic_data = vec![t];
    RequestKind::Produce(r)
}

fn fetch(partition: i32, offset: i64, max_wait_ms: i32) -> RequestKind {
    let mut p = FetchPartition::default();
    p.partition = partition;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    let mut t = FetchTopic::default();
    t.topic = topic_name("orders");
    t.partitions = vec![p];
    let mut r = FetchRequest::default();
    r.replica_id = kafka_protocol::messages::BrokerId(-1);
    r.max_wait_ms = max_wait_ms;
    r.min_bytes = 1;
    r.max_bytes = 1 << 20;
    r.topics = vec![t];
    RequestKind::Fetch(r)
}

#[test]
fn api_versions_lists_what_is_implemented_and_answers_newer_versions_in_version_0() {
    let mut gw = gateway();
    let c = gw.connect(BrokerId(1)).unwrap();
    let ResponseKind::ApiVersions(r) = call(
        &mut gw,
        c,
        ApiKey::ApiVersions,
        3,
        RequestKind::ApiVersions(Default::default()),
    ) else {
        panic!("not an ApiVersions response")
    };
    assert_eq!(r.error_code, 0);
    let produce = r
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Produce as i16)
        .unwrap();
    assert_eq!((produce.min_version, produce.max_version), (3, 11));
    assert_eq!(r.api_keys.len(), kplay_gateway::versions::SUPPORTED.len());
    // A newer ApiVersions than we speak: Kafka's answer in version 0, UNSUPPORTED_VERSION.
    let frame = encode_request(
        9,
        ApiKey::ApiVersions,
        4,
        &RequestKind::ApiVersions(Default::default()),
    );
    let mut raw = frame.to_vec();
    raw[6..8].copy_from_slice(&99i16.to_be_bytes()); // api version 99
    let answer = match kplay_gateway::frame::decode_request(Bytes::from(raw).slice(4..)) {
        kplay_gateway::frame::Decoded::Answer(a) => a,
        other => panic!("expected an answer, got {other:?}"),
    };
    let (correlation, r) = decode_response(answer.slice(4..), ApiKey::ApiVersions, 0).unwrap();
    let ResponseKind::ApiVersions(r) = r else {
        panic!()
    };
    assert_eq!((correlation, r.error_code), (9, 35));
    assert!(!r.api_keys.is_empty());
    // Other APIs at versions we do not speak close the connection, as Kafka does.
    let fetch13 = encode_request(1, ApiKey::Fetch, 13, &fetch(0, 0, 0));
    let reason = send_frame(&mut gw, c, &fetch13).unwrap();
    assert!(
        reason.contains("Fetch version 13 is not supported"),
        "{reason}"
    );
}

#[test]
fn metadata_advertises_every_broker_at_its_port_with_leaders_and_isr() {
    let mut gw = gateway();
    let c = gw.connect(BrokerId(2)).unwrap();
    let mut request = MetadataRequest::default();
    let mut t = MetadataRequestTopic::default();
    t.name = Some(topic_name("orders"));
    request.topics = Some(vec![t]);
    let ResponseKind::Metadata(r) = call(
        &mut gw,
        c,
        ApiKey::Metadata,
        12,
        RequestKind::Metadata(request),
    ) else {
        panic!()
    };
    let mut ports: Vec<(i32, i32)> = r.brokers.iter().map(|b| (b.node_id.0, b.port)).collect();
    ports.sort();
    assert_eq!(ports, vec![(1, 9092), (2, 9093), (3, 9094)]);
    assert!(r.controller_id.0 >= 1);
    let orders = &r.topics[0];
    assert_eq!(orders.partitions.len(), 3);
    for p in &orders.partitions {
        assert_eq!(p.error_code, 0);
        assert!(!p.isr_nodes.is_empty() && p.replica_nodes.len() == 3);
        assert_eq!(
            p.leader_id.0 as u32,
            leader_of(&gw, "orders", p.partition_index as u32).0
        );
    }
}

#[test]
fn produced_records_come_back_from_fetch_with_their_offsets_keys_and_timestamps() {
    let mut gw = gateway();
    let leader = leader_of(&gw, "orders", 0);
    let c = gw.connect(leader).unwrap();
    let ResponseKind::Produce(r) =
        call(&mut gw, c, ApiKey::Produce, 9, produce(0, &["a", "b", "c"]))
    else {
        panic!()
    };
    let p = &r.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    let ResponseKind::Fetch(r) = call(&mut gw, c, ApiKey::Fetch, 12, fetch(0, 0, 100)) else {
        panic!()
    };
    let data = &r.responses[0].partitions[0];
    assert_eq!((data.error_code, data.high_watermark), (0, 3));
    let mut records = data.records.clone().unwrap();
    let set = RecordBatchDecoder::decode(&mut records).unwrap();
    let got: Vec<(i64, String, String)> = set
        .records
        .iter()
        .map(|r| {
            let text = |b: &Option<Bytes>| String::from_utf8(b.clone().unwrap().to_vec()).unwrap();
            (r.offset, text(&r.key), text(&r.value))
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (0, "key-0".into(), "a".into()),
            (1, "key-1".into(), "b".into()),
            (2, "key-2".into(), "c".into())
        ]
    );
    assert_eq!(set.records[0].timestamp, CLOCK.unix_ms_at_zero + 2_000);
}

#[test]
fn a_follower_refuses_produce_and_answers_come_back_in_request_order() {
    let mut gw = gateway();
    let leader = leader_of(&gw, "orders", 0);
    let follower = BrokerId(leader.0 % 3 + 1);
    let c = gw.connect(follower).unwrap();
    let ResponseKind::Produce(r) = call(&mut gw, c, ApiKey::Produce, 9, produce(0, &["x"])) else {
        panic!()
    };
    assert_eq!(r.responses[0].partition_responses[0].error_code, 6); // NOT_LEADER_OR_FOLLOWER
                                                                     // A long-polling fetch, then a metadata request: Kafka answers them in that order.
    let l = gw.connect(leader).unwrap();
    let f = encode_request(1, ApiKey::Fetch, 12, &fetch(0, 0, 500));
    let m = encode_request(
        2,
        ApiKey::Metadata,
        12,
        &RequestKind::Metadata(Default::default()),
    );
    send_frame(&mut gw, l, &f);
    send_frame(&mut gw, l, &m);
    let frames = responses(&mut gw, l, 2);
    let (first, _) = decode_response(frames[0].slice(4..), ApiKey::Fetch, 12).unwrap();
    let (second, _) = decode_response(frames[1].slice(4..), ApiKey::Metadata, 12).unwrap();
    assert_eq!((first, second), (1, 2));
}

#[test]
fn a_dead_brokers_connections_close_and_its_port_refuses_new_ones() {
    let mut gw = gateway();
    let c = gw.connect(BrokerId(3)).unwrap();
    gw.sim_mut()
        .apply(Command::KillBroker { broker: 3 })
        .unwrap();
    let now = gw.sim().now().plus_us(1_000);
    gw.advance(now);
    let outputs = gw.take_outputs();
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, Output::Close { client, .. } if *client == c)),
        "{outputs:?}"
    );
    assert_eq!(gw.connect(BrokerId(3)), None);
    assert_eq!(gw.connections(), 0);
}

fn describe_quorum(gw: &mut kplay_gateway::Gateway, version: i16) -> DescribeQuorumResponse {
    let c = gw.connect(BrokerId(1)).unwrap();
    let mut partition = describe_quorum_request::PartitionData::default();
    partition.partition_index = 0;
    let mut t = describe_quorum_request::TopicData::default();
    t.topic_name = topic_name("__cluster_metadata");
    t.partitions = vec![partition];
    let mut request = DescribeQuorumRequest::default();
    request.topics = vec![t];
    let ResponseKind::DescribeQuorum(r) = call(
        gw,
        c,
        ApiKey::DescribeQuorum,
        version,
        RequestKind::DescribeQuorum(request),
    ) else {
        panic!()
    };
    r
}

#[test]
fn describe_quorum_answers_from_the_quorum_leader_in_kraft_mode_only() {
    let mut gw = gateway_in(ClusterMode::KRaft);
    let r = describe_quorum(&mut gw, 2);
    assert_eq!(r.error_code, 0);
    let p = &r.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let (leader, epoch) = gw.sim().active_controller().unwrap();
    assert_eq!(
        (p.leader_id.0, p.leader_epoch),
        (leader as i32, epoch as i32)
    );
    assert!(p.high_watermark > 0);
    let mut voters: Vec<i32> = p.current_voters.iter().map(|v| v.replica_id.0).collect();
    voters.sort();
    assert_eq!(voters, vec![3000, 3001, 3002]);
    let mut observers: Vec<i32> = p.observers.iter().map(|o| o.replica_id.0).collect();
    observers.sort();
    assert_eq!(observers, vec![1, 2, 3], "the brokers fetch as observers");
    assert!(r.nodes.iter().all(|n| n.listeners[0].port == 9093));
    assert_eq!(r.nodes.len(), 3);

    let zk = describe_quorum(&mut gateway(), 1);
    assert_eq!(zk.error_code, 35, "UNSUPPORTED_VERSION in ZooKeeper mode");
}
