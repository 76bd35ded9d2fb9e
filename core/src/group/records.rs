//! What the group coordinator writes to `__consumer_offsets`: a committed offset keyed by
//! (group, topic, partition), and a group's metadata (generation, leader, members and their
//! assignments) keyed by the group. Compaction keeps the latest per key, as in Kafka. Keys and
//! values are JSON here (Kafka uses versioned binary schemas) so a learner can read them.

use super::assignor::{Assignor, Subscription};
use crate::ids::{NodeId, Offset, TopicName, TopicPartition};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client: NodeId,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    pub protocols: Vec<Assignor>,
    pub subscription: Subscription,
    pub assignment: Vec<TopicPartition>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OffsetsRecord {
    Offset {
        group: String,
        tp: TopicPartition,
        offset: Offset,
    },
    Group {
        group: String,
        generation: i32,
        protocol: Option<Assignor>,
        leader: Option<String>,
        members: Vec<StoredMember>,
    },
}

#[derive(Serialize, Deserialize)]
struct OffsetValue {
    offset: Offset,
}

#[derive(Serialize, Deserialize)]
struct GroupValue {
    generation: i32,
    protocol: Option<Assignor>,
    leader: Option<String>,
    members: Vec<StoredMember>,
}

impl OffsetsRecord {
    /// (key, value) bytes for the log.
    pub fn encode(&self) -> (Vec<u8>, Vec<u8>) {
        let (key, value) = match self {
            OffsetsRecord::Offset { group, tp, offset } => (
                serde_json::json!(["offset", group, tp.topic, tp.partition]),
                serde_json::to_value(OffsetValue { offset: *offset }),
            ),
            OffsetsRecord::Group {
                group,
                generation,
                protocol,
                leader,
                members,
            } => (
                serde_json::json!(["group", group]),
                serde_json::to_value(GroupValue {
                    generation: *generation,
                    protocol: *protocol,
                    leader: leader.clone(),
                    members: members.clone(),
                }),
            ),
        };
        let value = value.map(|v| v.to_string()).unwrap_or_default();
        (key.to_string().into_bytes(), value.into_bytes())
    }

    /// Reads a record back; `None` for anything that is not one of ours. (Parsed as text, with
    /// the one JSON parser the page's code has, not a second one for bytes.)
    pub fn decode(key: Option<&[u8]>, value: &[u8]) -> Option<OffsetsRecord> {
        let key: serde_json::Value = serde_json::from_str(std::str::from_utf8(key?).ok()?).ok()?;
        let value = std::str::from_utf8(value).ok()?;
        let parts = key.as_array()?;
        match parts.first()?.as_str()? {
            "offset" => {
                let group = parts.get(1)?.as_str()?.to_string();
                let topic = parts.get(2)?.as_str()?;
                let partition = u32::try_from(parts.get(3)?.as_u64()?).ok()?;
                let v: OffsetValue = serde_json::from_str(value).ok()?;
                Some(OffsetsRecord::Offset {
                    group,
                    tp: TopicPartition::new(&TopicName::from(topic), partition),
                    offset: v.offset,
                })
            }
            "group" => {
                let group = parts.get(1)?.as_str()?.to_string();
                let v: GroupValue = serde_json::from_str(value).ok()?;
                Some(OffsetsRecord::Group {
                    group,
                    generation: v.generation,
                    protocol: v.protocol,
                    leader: v.leader,
                    members: v.members,
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_read_as_json() {
        let offset = OffsetsRecord::Offset {
            group: "billing".into(),
            tp: TopicPartition::new(&TopicName::from("orders"), 2),
            offset: 42,
        };
        let (k, v) = offset.encode();
        assert_eq!(
            String::from_utf8_lossy(&k),
            r#"["offset","billing","orders",2]"#
        );
        assert_eq!(String::from_utf8_lossy(&v), r#"{"offset":42}"#);
        assert_eq!(OffsetsRecord::decode(Some(&k), &v), Some(offset));
        let group = OffsetsRecord::Group {
            group: "billing".into(),
            generation: 3,
            protocol: Some(Assignor::Range),
            leader: Some("m1".into()),
            members: vec![StoredMember {
                member_id: "m1".into(),
                group_instance_id: None,
                client: NodeId::Consumer(0),
                session_timeout_ms: 45_000,
                rebalance_timeout_ms: 300_000,
                protocols: vec![Assignor::Range],
                subscription: Subscription::default(),
                assignment: vec![TopicPartition::new(&TopicName::from("orders"), 0)],
            }],
        };
        let (k, v) = group.encode();
        assert_eq!(OffsetsRecord::decode(Some(&k), &v), Some(group));
        assert_eq!(OffsetsRecord::decode(None, &v), None);
        assert_eq!(OffsetsRecord::decode(Some(b"[\"other\"]"), &v), None);
        assert_eq!(OffsetsRecord::decode(Some(b"not json"), &v), None);
    }
}
