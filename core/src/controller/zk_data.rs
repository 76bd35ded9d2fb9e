//! The JSON Kafka writes into its znodes, in Kafka's own format, so `zookeeper-shell` shows
//! what it would show on a real cluster.

use crate::config::{DynamicBrokerConfig, TopicConfig};
use crate::ids::{BrokerId, LeaderEpoch};
use crate::vec_map::VecMap;
use serde_json::{json, Value};

/// The znodes a fresh ZooKeeper-mode cluster's tree holds before any broker starts: the
/// persistent paths Kafka's `KafkaZkClient.createTopLevelPaths` makes, with their data.
pub fn initial_znodes() -> Vec<(&'static str, String)> {
    [
        crate::zookeeper::paths::BROKER_IDS,
        crate::zookeeper::paths::BROKER_TOPICS,
        crate::zookeeper::paths::CONFIG_TOPICS,
        crate::zookeeper::paths::CONFIG_BROKERS,
        "/admin/delete_topics",
        "/isr_change_notification",
    ]
    .into_iter()
    .map(|path| (path, String::new()))
    .collect()
}

pub fn broker_registration(id: BrokerId, timestamp_ms: u64) -> String {
    json!({
        "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
        "endpoints": [format!("PLAINTEXT://broker{id}:9092")],
        "jmx_port": -1,
        "features": {},
        "host": format!("broker{id}"),
        "timestamp": timestamp_ms.to_string(),
        "port": 9092,
        "version": 5
    })
    .to_string()
}

pub fn controller(id: BrokerId, timestamp_ms: u64) -> String {
    json!({"version": 2, "brokerid": id.0, "timestamp": timestamp_ms.to_string(), "kraftControllerEpoch": -1})
        .to_string()
}

pub fn parse_controller(data: &str) -> Option<BrokerId> {
    let v: Value = serde_json::from_str(data).ok()?;
    Some(BrokerId(v.get("brokerid")?.as_u64()? as u32))
}

pub fn topic_assignment(assignment: &VecMap<u32, Vec<BrokerId>>) -> String {
    let partitions: serde_json::Map<String, Value> = assignment
        .iter()
        .map(|(p, replicas)| {
            (
                p.to_string(),
                json!(replicas.iter().map(|b| b.0).collect::<Vec<_>>()),
            )
        })
        .collect();
    json!({"partitions": partitions, "adding_replicas": {}, "removing_replicas": {}, "version": 3})
        .to_string()
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

pub fn topic_config(config: &TopicConfig) -> String {
    json!({"version": 1, "config": serde_json::to_value(config).unwrap_or(Value::Null)}).to_string()
}

/// A topic's overrides as `name=value,…`, Kafka's property names, in name order.
pub fn overrides_text(config: &TopicConfig) -> String {
    properties_text(config)
}

/// Dynamic broker settings as `name=value,…`, in name order.
pub fn dynamic_text(config: &DynamicBrokerConfig) -> String {
    properties_text(config)
}

fn properties_text<T: serde::Serialize>(config: &T) -> String {
    let Ok(Value::Object(map)) = serde_json::to_value(config) else {
        return String::new();
    };
    let mut pairs: Vec<String> = map
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    crate::sort::sort(&mut pairs);
    pairs.join(",")
}

/// `/config/brokers/…`: dynamic broker settings, in the same envelope as topic configs.
pub fn broker_config(config: &DynamicBrokerConfig) -> String {
    json!({"version": 1, "config": serde_json::to_value(config).unwrap_or(Value::Null)}).to_string()
}

pub fn parse_broker_config(data: &str) -> Option<DynamicBrokerConfig> {
    let v: Value = serde_json::from_str(data).ok()?;
    serde_json::from_value(v.get("config")?.clone()).ok()
}

pub fn parse_topic_config(data: &str) -> Option<TopicConfig> {
    let v: Value = serde_json::from_str(data).ok()?;
    serde_json::from_value(v.get("config")?.clone()).ok()
}

/// `/brokers/topics/T/partitions/P/state`; the leader is -1 when the partition is offline.
pub fn partition_state(
    leader: Option<BrokerId>,
    leader_epoch: LeaderEpoch,
    isr: &[BrokerId],
    controller_epoch: u32,
) -> String {
    json!({
        "controller_epoch": controller_epoch,
        "leader": leader.map_or(-1, |l| l.0 as i64),
        "version": 1,
        "leader_epoch": leader_epoch,
        "isr": isr.iter().map(|b| b.0).collect::<Vec<_>>()
    })
    .to_string()
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
