//! The JSON Kafka writes into its znodes, in Kafka's own format, so `zookeeper-shell` shows
//! what it would show on a real cluster.

use crate::config::{DynamicBrokerConfig, TopicConfig};
use crate::ids::{BrokerId, LeaderEpoch};
use crate::vec_map::VecMap;
use serde_json::{json, Value};

/// The znodes a fresh ZooKeeper-mode cluster's tree holds before any broker starts: the
/// persistent paths Kafka's `KafkaZkClient.createTopLevelPaths` makes (`ZkData.PersistentZkPaths`,
/// with no data: `zookeeper-shell` prints `null` for them), the cluster id and the feature znode
/// the first broker and controller write, and ZooKeeper's own `/zookeeper` nodes.
pub fn initial_znodes() -> Vec<(&'static str, String)> {
    let empty = [
        "/consumers",
        crate::zookeeper::paths::BROKER_IDS,
        crate::zookeeper::paths::BROKER_TOPICS,
        "/brokers/seqid",
        "/config/changes",
        "/admin/delete_topics",
        "/isr_change_notification",
        "/latest_producer_id_block",
        "/log_dir_event_notification",
        crate::zookeeper::paths::CONFIG_TOPICS,
        "/config/clients",
        "/config/users",
        crate::zookeeper::paths::CONFIG_BROKERS,
        "/config/ips",
        "/zookeeper/config",
        "/zookeeper/quota",
    ];
    let mut nodes: Vec<(&'static str, String)> = empty
        .into_iter()
        .map(|path| (path, String::new()))
        .collect();
    nodes.push(("/cluster/id", cluster_id_data(&cluster_id())));
    nodes.push(("/feature", feature_data()));
    nodes
}

/// `/cluster/id` (`ClusterIdZNode.toJson`): `{"version":"1","id":"…"}`.
pub fn cluster_id_data(id: &str) -> String {
    object(&[
        ("version", json!("1").to_string()),
        ("id", json!(id).to_string()),
    ])
}

/// `/feature` as a Kafka 3.9 ZooKeeper-mode controller writes it (`FeatureZNode.encode`,
/// version 2, status enabled, no finalized features: ZK-mode brokers advertise none).
pub fn feature_data() -> String {
    object(&[
        ("features", "{}".to_string()),
        ("version", "2".to_string()),
        ("status", "1".to_string()),
    ])
}

/// ZooKeeper's own nodes, which hold empty data rather than Kafka's `null`.
pub fn is_zookeeper_internal(path: &str) -> bool {
    path == "/" || path == "/zookeeper" || path.starts_with("/zookeeper/")
}

/// The wall-clock moment simulated time zero stands for: 2026-01-01T00:00:00Z (a Thursday).
/// Kafka writes epoch milliseconds into its znodes and record timestamps, and ZooKeeper's
/// `stat` prints dates; kplay counts them from this fixed start, so every run prints the same.
pub const WALL_CLOCK_EPOCH_MS: u64 = 1_767_225_600_000;

/// Simulated milliseconds as epoch milliseconds (see [`WALL_CLOCK_EPOCH_MS`]).
pub fn wall_clock_ms(sim_ms: u64) -> u64 {
    WALL_CLOCK_EPOCH_MS.saturating_add(sim_ms)
}

/// A JSON object with its keys in the order given (values as JSON text): serde_json sorts
/// keys, Kafka's encoders don't (they print a Scala or Java map in its own iteration order).
fn object<K: AsRef<str>>(entries: &[(K, String)]) -> String {
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(k.as_ref())))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// Java's `String.hashCode`.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// Keys in the order a Scala 2.13 `mutable.HashMap` (Kafka 3.9's default Scala build) iterates
/// them once `count` entries went into a map that started with `capacity` buckets: by bucket
/// (the improved hash's low bits), then by hash within a bucket.
fn scala_mutable_map_order<V>(entries: &mut [(String, V)], capacity: usize) {
    let mut buckets = capacity.max(4).next_power_of_two();
    for n in 0..entries.len() {
        if n + 1 >= buckets * 3 / 4 {
            buckets *= 2;
        }
    }
    let improved = |k: &str| {
        let h = java_hash(k);
        h ^ ((h as u32) >> 16) as i32
    };
    crate::sort::sort_by_key(entries, |(k, _)| {
        let h = improved(k);
        ((h as u32 as usize) & (buckets - 1), h)
    });
}

/// Entries in the order a `java.util.Properties` (a `ConcurrentHashMap` inside) iterates
/// them: by bucket of the spread hash; kplay keeps no insertion order to break ties with, so
/// those go by name.
fn java_properties_order<V>(entries: &mut [(String, V)]) {
    let mut buckets = 16usize;
    while entries.len() > buckets * 3 / 4 {
        buckets *= 2;
    }
    crate::sort::sort_by_key(entries, |(k, _)| {
        let h = java_hash(k) as u32;
        (((h ^ (h >> 16)) as usize) & (buckets - 1), k.clone())
    });
}

/// `/brokers/ids/N` (`BrokerIdZNode.encode`, version 5), keys in Kafka's order.
pub fn broker_registration(id: BrokerId, timestamp_ms: u64) -> String {
    object(&[
        ("features", json!({}).to_string()),
        (
            "listener_security_protocol_map",
            json!({"PLAINTEXT": "PLAINTEXT"}).to_string(),
        ),
        (
            "endpoints",
            json!([format!("PLAINTEXT://broker{id}:9092")]).to_string(),
        ),
        ("jmx_port", json!(-1).to_string()),
        ("port", json!(9092).to_string()),
        ("host", json!(format!("broker{id}")).to_string()),
        ("version", json!(5).to_string()),
        (
            "timestamp",
            json!(wall_clock_ms(timestamp_ms).to_string()).to_string(),
        ),
    ])
}

/// `/controller` (`ControllerZNode.encode`): a four-entry Scala `Map` keeps its insertion order.
pub fn controller(id: BrokerId, timestamp_ms: u64) -> String {
    object(&[
        ("version", json!(2).to_string()),
        ("brokerid", json!(id.0).to_string()),
        (
            "timestamp",
            json!(wall_clock_ms(timestamp_ms).to_string()).to_string(),
        ),
        ("kraftControllerEpoch", json!(-1).to_string()),
    ])
}

pub fn parse_controller(data: &str) -> Option<BrokerId> {
    let v: Value = serde_json::from_str(data).ok()?;
    Some(BrokerId(v.get("brokerid")?.as_u64()? as u32))
}

/// `/brokers/topics/T` (`TopicZNode.encode`, version 3) without a topic id.
pub fn topic_assignment(assignment: &VecMap<u32, Vec<BrokerId>>) -> String {
    encode_topic(assignment, None)
}

/// `/brokers/topics/T` with its `topic_id`, as Kafka 3.9 writes it:
/// `{"partitions":{…},"topic_id":"…","adding_replicas":{},"removing_replicas":{},"version":3}`.
pub fn topic_assignment_with_id(assignment: &VecMap<u32, Vec<BrokerId>>, topic_id: &str) -> String {
    encode_topic(assignment, Some(topic_id))
}

fn encode_topic(assignment: &VecMap<u32, Vec<BrokerId>>, topic_id: Option<&str>) -> String {
    let mut partitions: Vec<(String, String)> = assignment
        .iter()
        .map(|(p, replicas)| {
            let replicas: Vec<u32> = replicas.iter().map(|b| b.0).collect();
            (p.to_string(), json!(replicas).to_string())
        })
        .collect();
    scala_mutable_map_order(&mut partitions, 16);
    let mut entries = vec![("partitions", object(&partitions))];
    if let Some(id) = topic_id {
        entries.push(("topic_id", json!(id).to_string()));
    }
    entries.push(("adding_replicas", "{}".to_string()));
    entries.push(("removing_replicas", "{}".to_string()));
    entries.push(("version", "3".to_string()));
    object(&entries)
}

/// The `topic_id` a topic znode holds, if it has one.
pub fn parse_topic_id(data: &str) -> Option<String> {
    let v: Value = serde_json::from_str(data).ok()?;
    Some(v.get("topic_id")?.as_str()?.to_string())
}

/// A topic znode as Kafka 3.9 would have written it: with its `topic_id` (the one given, if
/// the znode has none) and Kafka's key order.
pub fn topic_znode_with_id(data: &str, topic_id: &str) -> String {
    let id = parse_topic_id(data).unwrap_or_else(|| topic_id.to_string());
    match parse_topic_assignment(data) {
        Some(assignment) => topic_assignment_with_id(&assignment, &id),
        None => data.to_string(),
    }
}

/// A topic's id, as `kafka-topics.sh --describe` prints it: 16 bytes shown as Kafka shows a
/// `Uuid` (URL-safe base64 without padding, 22 characters), derived from the topic's name and
/// the zxid that created its znode, so a topic deleted and created again gets a new id.
pub fn topic_id(name: &str, czxid: u64) -> String {
    uuid_text(name.as_bytes(), czxid)
}

/// The cluster id `/cluster/id` holds: fixed, so every run prints the same one.
pub fn cluster_id() -> String {
    uuid_text(b"kplay cluster", 0)
}

fn uuid_text(name: &[u8], salt: u64) -> String {
    use base64::Engine;
    let hash = |seed: u64| {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
        for b in name.iter().copied().chain(salt.to_le_bytes()) {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hash(1).to_be_bytes());
    bytes[8..].copy_from_slice(&hash(2).to_be_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn parse_topic_assignment(data: &str) -> Option<VecMap<u32, Vec<BrokerId>>> {
    let v: Value = serde_json::from_str(data).ok()?;
    let mut out = VecMap::new();
    for (p, replicas) in v.get("partitions")?.as_object()? {
        let replicas = replicas
            .as_array()?
            .iter()
            .map(|r| r.as_u64().map(|r| BrokerId(r as u32)))
            .collect::<Option<Vec<_>>>()?;
        out.insert(p.parse().ok()?, replicas);
    }
    Some(out)
}

/// `/config/topics/T` (`ConfigEntityZNode.encode`): `{"version":1,"config":{…}}`, every value
/// a string (Kafka keeps configs as `Properties`), keys in the `Properties`' order.
pub fn topic_config(config: &TopicConfig) -> String {
    config_entity(config)
}

fn config_entity<T: serde::Serialize>(config: &T) -> String {
    let mut entries: Vec<(String, String)> = match serde_json::to_value(config) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, Value::String(text).to_string())
            })
            .collect(),
        _ => Vec::new(),
    };
    java_properties_order(&mut entries);
    object(&[("version", "1".to_string()), ("config", object(&entries))])
}

/// A config znode's `config` object with Kafka's string values turned back into the JSON types
/// kplay's config structs read (`"2"` → 2, `"true"` → true); numbers and booleans written by
/// older kplay versions pass through.
fn typed_config(data: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(data).ok()?;
    let Value::Object(config) = v.get("config")?.clone() else {
        return None;
    };
    let typed = config
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => {
                    let t = s.trim();
                    if let Ok(n) = t.parse::<u64>() {
                        Value::from(n)
                    } else if let Ok(n) = t.parse::<i64>() {
                        Value::from(n)
                    } else if t.eq_ignore_ascii_case("true") {
                        Value::Bool(true)
                    } else if t.eq_ignore_ascii_case("false") {
                        Value::Bool(false)
                    } else {
                        Value::String(s)
                    }
                }
                other => other,
            };
            (k, v)
        })
        .collect();
    Some(Value::Object(typed))
}

/// `/config/brokers/…`: dynamic broker settings, in the same envelope as topic configs.
pub fn broker_config(config: &DynamicBrokerConfig) -> String {
    config_entity(config)
}

pub fn parse_broker_config(data: &str) -> Option<DynamicBrokerConfig> {
    serde_json::from_value(typed_config(data)?).ok()
}

pub fn parse_topic_config(data: &str) -> Option<TopicConfig> {
    serde_json::from_value(typed_config(data)?).ok()
}

/// `/brokers/topics/T/partitions/P/state`; the leader is -1 when the partition is offline.
pub fn partition_state(
    leader: Option<BrokerId>,
    leader_epoch: LeaderEpoch,
    isr: &[BrokerId],
    controller_epoch: u32,
) -> String {
    // An immutable five-entry Scala `Map` is a hash trie: it iterates in this order.
    object(&[
        ("controller_epoch", controller_epoch.to_string()),
        ("leader", leader.map_or(-1, |l| l.0 as i64).to_string()),
        ("version", "1".to_string()),
        ("leader_epoch", leader_epoch.to_string()),
        (
            "isr",
            json!(isr.iter().map(|b| b.0).collect::<Vec<_>>()).to_string(),
        ),
    ])
}

pub fn parse_partition_state(data: &str) -> Option<(Option<BrokerId>, LeaderEpoch, Vec<BrokerId>)> {
    let v: Value = serde_json::from_str(data).ok()?;
    let leader = v.get("leader")?.as_i64()?;
    let leader = (leader >= 0).then_some(BrokerId(leader as u32));
    let epoch = v.get("leader_epoch")?.as_u64()? as LeaderEpoch;
    let isr = v
        .get("isr")?
        .as_array()?
        .iter()
        .map(|b| b.as_u64().map(|b| BrokerId(b as u32)))
        .collect::<Option<Vec<_>>>()?;
    Some((leader, epoch, isr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip() {
        let mut a = VecMap::new();
        a.insert(0, vec![BrokerId(1), BrokerId(2)]);
        assert_eq!(parse_topic_assignment(&topic_assignment(&a)), Some(a));
        let s = partition_state(None, 4, &[BrokerId(2)], 3);
        assert_eq!(
            parse_partition_state(&s),
            Some((None, 4, vec![BrokerId(2)]))
        );
        assert_eq!(
            parse_controller(&controller(BrokerId(3), 0)),
            Some(BrokerId(3))
        );
    }
}
