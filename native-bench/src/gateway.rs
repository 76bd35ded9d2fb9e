//! Gateway throughput over loopback: `kplay serve`'s server on a thread of its own, and a load
//! generator built on the same crate (Kafka's request framing from `kplay_gateway::frame`)
//! producing with acks=all, one connection per partition leader, a few requests in flight on
//! each — as a Kafka producer does. The in-process figure is `end_to_end`.

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, ProduceRequest, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kplay_core::{Scenario, Sim};
use kplay_gateway::frame::{decode_response, encode_request, DEFAULT_MAX_REQUEST_BYTES};
use kplay_gateway::records::producer_batch;
use kplay_gateway::{serve, ServeConfig};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 3;
/// Records per produce request (one batch), and requests in flight per connection.
const PER_BATCH: usize = 1_000;
const IN_FLIGHT: usize = 5;
const PRODUCE_VERSION: i16 = 9;

/// Three free consecutive ports on loopback, for brokers 1–3.
fn free_ports() -> Option<u16> {
    for _ in 0..50 {
        let first = TcpListener::bind("127.0.0.1:0").ok()?;
        let port = first.local_addr().ok()?.port();
        let rest: Vec<_> = (1..3)
            .map(|i| TcpListener::bind(("127.0.0.1", port.checked_add(i)?)).ok())
            .collect();
        if rest.iter().all(Option::is_some) {
            return Some(port);
        }
    }
    None
}

fn call(stream: &mut TcpStream, frame: &Bytes) -> std::io::Result<()> {
    stream.write_all(frame)
}

fn read_frame(stream: &mut TcpStream) -> std::io::Result<Bytes> {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size)?;
    let mut body = vec![0u8; i32::from_be_bytes(size).max(0) as usize];
    stream.read_exact(&mut body)?;
    Ok(body.into())
}

fn batch(record_bytes: usize) -> Bytes {
    let value = Bytes::from(vec![b'v'; record_bytes]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    producer_batch(now, &vec![(None, value); PER_BATCH])
}

fn produce_frame(correlation: i32, partition: i32, batch: &Bytes) -> Bytes {
    let mut p = PartitionProduceData::default();
    p.index = partition;
    p.records = Some(batch.clone());
    let mut t = TopicProduceData::default();
    t.name = TopicName(StrBytes::from_static_str("bench"));
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.acks = -1;
    r.timeout_ms = 30_000;
    r.topic_data = vec![t];
    encode_request(
        correlation,
        ApiKey::Produce,
        PRODUCE_VERSION,
        &RequestKind::Produce(r),
    )
}

/// Each partition's leader, asked through broker 1 once the server listens.
fn leaders(port: u16) -> Result<Vec<(i32, u16)>, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    // `topics: null` asks for every topic (an empty list would ask for none).
    let mut all_topics = MetadataRequest::default();
    all_topics.topics = None;
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let frame = encode_request(
                1,
                ApiKey::Metadata,
                12,
                &RequestKind::Metadata(all_topics.clone()),
            );
            call(&mut s, &frame).map_err(|e| e.to_string())?;
            let body = read_frame(&mut s).map_err(|e| e.to_string())?;
            if let Ok((_, ResponseKind::Metadata(m))) = decode_response(body, ApiKey::Metadata, 12)
            {
                let found: Vec<(i32, u16)> = m
                    .topics
                    .iter()
                    .flat_map(|t| t.partitions.iter())
                    .filter(|p| p.leader_id.0 > 0)
                    .map(|p| (p.partition_index, port + p.leader_id.0 as u16 - 1))
                    .collect();
                if found.len() == PARTITIONS as usize {
                    return Ok(found);
                }
            }
        }
        if Instant::now() > deadline {
            return Err("kplay serve did not come up within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Produces `records` records of `record_bytes` through the gateway; acked records per second.
pub fn gateway_produce(records: u64, record_bytes: usize, memcpy: f64) -> Value {
    match run(records, record_bytes) {
        Ok((acked, secs)) => {
            let bytes = acked as f64 * record_bytes as f64;
            json!({
                "path": "Kafka Produce v9, acks=all, over loopback through kplay serve: 3 brokers, RF 3, min.insync.replicas 2, one connection per partition leader, 5 requests of 1,000 records in flight on each",
                "record_bytes": record_bytes,
                "records": acked,
                "wall_seconds": secs,
                "records_per_s": acked as f64 / secs,
                "bytes_per_s": bytes / secs,
                "ratio_to_memcpy": bytes / secs / memcpy,
            })
        }
        Err(e) => json!({ "error": e }),
    }
}

fn run(records: u64, record_bytes: usize) -> Result<(u64, f64), String> {
    let scenario = Scenario::from_json(
        &json!({
            "seed": 1,
            "cluster": {"brokers": 3, "zookeepers": 1, "latency_us": 0, "jitter_us": 0,
                        "broker_config": {"log.retention.check.interval.ms": 100}},
            "topics": [{"name": "bench", "partitions": PARTITIONS, "replication_factor": 3,
                        "config": {"min.insync.replicas": 2, "retention.bytes": 16 << 20,
                                   "segment.bytes": 4 << 20}}],
            "trace": {"messages": false, "window": 1_000},
        })
        .to_string(),
    )
    .map_err(|e| e.to_string())?;
    let sim = Sim::new(scenario).map_err(|e| e.to_string())?;
    let port = free_ports().ok_or("no three free ports on loopback")?;
    let config = ServeConfig {
        host: "127.0.0.1".into(),
        base_port: port,
        max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
        idle_timeout: Duration::from_secs(600),
        max_in_flight: 64,
        commands: false,
    };
    // The server runs until the process ends.
    std::thread::spawn(move || serve(sim, config));
    let mut conns = Vec::new();
    for (partition, leader_port) in leaders(port)? {
        let s = TcpStream::connect(("127.0.0.1", leader_port)).map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        conns.push((partition, s, 0usize));
    }
    let batch = batch(record_bytes);
    let requests = records.div_ceil(PER_BATCH as u64);
    let (mut sent, mut acked, mut correlation) = (0u64, 0u64, 0i32);
    let start = Instant::now();
    while acked < requests * PER_BATCH as u64 {
        for (partition, stream, in_flight) in conns.iter_mut() {
            if *in_flight == IN_FLIGHT || (sent == requests && *in_flight > 0) {
                let body = read_frame(stream).map_err(|e| e.to_string())?;
                let Ok((_, ResponseKind::Produce(r))) =
                    decode_response(body, ApiKey::Produce, PRODUCE_VERSION)
                else {
                    return Err("a produce response did not decode".into());
                };
                let code = r.responses[0].partition_responses[0].error_code;
                if code != 0 {
                    return Err(format!("produce failed with error code {code}"));
                }
                *in_flight -= 1;
                acked += PER_BATCH as u64;
            }
            if sent < requests {
                correlation += 1;
                call(stream, &produce_frame(correlation, *partition, &batch))
                    .map_err(|e| e.to_string())?;
                *in_flight += 1;
                sent += 1;
            }
        }
    }
    Ok((acked, start.elapsed().as_secs_f64()))
}
