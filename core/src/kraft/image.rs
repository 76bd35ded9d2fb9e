//! The metadata image (Kafka's `MetadataImage`): the cluster as the metadata log's records
//! say it is, applied in offset order. Controllers and brokers each keep one; a broker's lags
//! the active controller's by what it has not fetched yet.

use crate::config::{DynamicBrokerConfig, TopicConfig};
use crate::ids::{BrokerId, Offset, TopicName, TopicPartition};
use crate::protocol::PartitionState;
use crate::raft::log::{LogEntry, MetadataRecord, Snapshot, NO_LEADER_CHANGE};
use crate::vec_map::{VecMap, VecSet};

/// `ConfigResource.Type.TOPIC`.
pub const TOPIC_RESOURCE: u8 = 2;
/// `ConfigResource.Type.BROKER`.
pub const BROKER_RESOURCE: u8 = 4;

/// A broker as its RegisterBroker and BrokerRegistrationChange records left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerRegistration {
    /// The offset of its RegisterBroker record.
    pub epoch: u64,
    pub incarnation_id: u64,
    pub fenced: bool,
    pub in_controlled_shutdown: bool,
}

/// A partition as its Partition and PartitionChange records left it (`PartitionRegistration`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionRegistration {
    pub replicas: Vec<u32>,
    pub isr: Vec<u32>,
    /// [`NO_LEADER`] when none.
    pub leader: i32,
    pub leader_epoch: u32,
    /// Bumped by every change.
    pub partition_epoch: u32,
    pub elr: Vec<u32>,
    pub last_known_elr: Vec<u32>,
}

impl PartitionRegistration {
    pub fn leader(&self) -> Option<BrokerId> {
        u32::try_from(self.leader).ok().map(BrokerId)
    }

    /// The partition as the ZooKeeper-mode code paths (the broker's replica manager, its
    /// metadata cache, the tools) describe one.
    pub fn state(&self, tp: TopicPartition) -> PartitionState {
        PartitionState {
            tp,
            leader: self.leader(),
            leader_epoch: self.leader_epoch,
            isr: self.isr.iter().copied().map(BrokerId).collect(),
            replicas: self.replicas.iter().copied().map(BrokerId).collect(),
            partition_epoch: self.partition_epoch,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicImage {
    pub name: TopicName,
    pub id: u128,
    pub partitions: VecMap<u32, PartitionRegistration>,
}

/// What applying records changed, for a broker to act on (Kafka's `MetadataDelta`).
#[derive(Clone, Debug, Default)]
pub struct Delta {
    pub partitions: VecSet<TopicPartition>,
    /// Partitions that got a (new) leader, in log order, and whether it was out of the ISR
    /// (an unclean election).
    pub elected: Vec<(TopicPartition, bool)>,
    /// Dynamic broker configs that changed: `None` for the cluster-wide default.
    pub broker_configs: Vec<Option<BrokerId>>,
    pub deleted_topics: Vec<TopicName>,
    pub topic_configs: VecSet<TopicName>,
    pub brokers: bool,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
            && self.deleted_topics.is_empty()
            && self.broker_configs.is_empty()
            && self.topic_configs.is_empty()
            && !self.brokers
    }
}

#[derive(Clone, Debug, Default)]
pub struct MetadataImage {
    /// The offset of the last record applied (`None`: nothing yet).
    pub offset: Option<Offset>,
    pub brokers: VecMap<u32, BrokerRegistration>,
    pub topics: VecMap<u128, TopicImage>,
    pub topic_ids: VecMap<TopicName, u128>,
    /// `(resource type, resource name)` → name → value.
    pub configs: VecMap<(u8, String), VecMap<String, String>>,
    pub features: VecMap<String, u16>,
    /// The next producer id block starts here.
    pub next_producer_id: u64,
}

impl MetadataImage {
    /// The offset the next record to apply must have.
    pub fn next_offset(&self) -> Offset {
        self.offset.map_or(0, |o| o + 1)
    }

    /// Applies one record, in order (asserted), noting what changed in `delta`.
    pub fn apply(&mut self, entry: &LogEntry, delta: &mut Delta) {
        assert_eq!(
            entry.offset,
            self.next_offset(),
            "metadata records are applied in order, with no gaps"
        );
        self.offset = Some(entry.offset);
        self.apply_record(&entry.record, delta);
    }

    /// A snapshot's image as of its end offset (`MetadataLoader` loading a snapshot).
    /// `delta` gets everything in it, and the topics `self` had that it lacks as deleted.
    pub fn load_snapshot(&mut self, snapshot: &Snapshot, delta: &mut Delta) {
        let previous = std::mem::take(self);
        for record in &snapshot.records {
            self.apply_record(record, delta);
        }
        self.offset = snapshot.id.offset.checked_sub(1);
        for topic in previous.topics.values() {
            if !self.topic_ids.contains_key(&topic.name) {
                delta.deleted_topics.push(topic.name.clone());
            }
        }
        delta.brokers = true;
    }

    /// The records that rebuild this image: a snapshot's contents (`MetadataImage.write`).
    pub fn to_records(&self) -> Vec<MetadataRecord> {
        let mut records: Vec<MetadataRecord> = self
            .features
            .iter()
            .map(|(name, level)| MetadataRecord::FeatureLevel {
                name: name.clone(),
                feature_level: *level,
            })
            .collect();
        for (id, b) in self.brokers.iter() {
            records.push(MetadataRecord::RegisterBroker {
                broker_id: *id,
                incarnation_id: b.incarnation_id,
                broker_epoch: b.epoch,
                rack: None,
                fenced: b.fenced,
                in_controlled_shutdown: b.in_controlled_shutdown,
            });
        }
        for t in self.topics.values() {
            records.push(MetadataRecord::Topic {
                name: t.name.to_string(),
                topic_id: t.id,
            });
            for (partition_id, p) in t.partitions.iter() {
                records.push(MetadataRecord::Partition {
                    partition_id: *partition_id,
                    topic_id: t.id,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    leader: p.leader,
                    leader_epoch: p.leader_epoch,
                    partition_epoch: p.partition_epoch,
                    eligible_leader_replicas: p.elr.clone(),
                    last_known_elr: p.last_known_elr.clone(),
                });
            }
        }
        for ((resource_type, resource_name), configs) in self.configs.iter() {
            for (name, value) in configs.iter() {
                records.push(MetadataRecord::Config {
                    resource_type: *resource_type,
                    resource_name: resource_name.clone(),
                    name: name.clone(),
                    value: Some(value.clone()),
                });
            }
        }
        if self.next_producer_id > 0 {
            records.push(MetadataRecord::ProducerIds {
                broker_id: 0,
                broker_epoch: 0,
                next_producer_id: self.next_producer_id,
            });
        }
        records
    }

    /// One record's effect, noted in `delta`.
    fn apply_record(&mut self, record: &MetadataRecord, delta: &mut Delta) {
        match record {
            MetadataRecord::LeaderChange { .. } | MetadataRecord::NoOp => {}
            MetadataRecord::RegisterBroker {
                broker_id,
                incarnation_id,
                broker_epoch,
                fenced,
                in_controlled_shutdown,
                ..
            } => {
                self.brokers.insert(
                    *broker_id,
                    BrokerRegistration {
                        epoch: *broker_epoch,
                        incarnation_id: *incarnation_id,
                        fenced: *fenced,
                        in_controlled_shutdown: *in_controlled_shutdown,
                    },
                );
                delta.brokers = true;
            }
            MetadataRecord::BrokerRegistrationChange {
                broker_id,
                broker_epoch,
                fenced,
                in_controlled_shutdown,
            } => {
                if let Some(b) = self
                    .brokers
                    .get_mut(broker_id)
                    .filter(|b| b.epoch == *broker_epoch)
                {
                    if let Some(f) = fenced {
                        b.fenced = *f;
                    }
                    if let Some(s) = in_controlled_shutdown {
                        b.in_controlled_shutdown = *s;
                    }
                    delta.brokers = true;
                }
            }
            MetadataRecord::Topic { name, topic_id } => {
                let name: TopicName = name.as_str().into();
                self.topic_ids.insert(name.clone(), *topic_id);
                self.topics.insert(
                    *topic_id,
                    TopicImage {
                        name,
                        id: *topic_id,
                        partitions: VecMap::new(),
                    },
                );
            }
            MetadataRecord::Partition {
                partition_id,
                topic_id,
                replicas,
                isr,
                leader,
                leader_epoch,
                partition_epoch,
                eligible_leader_replicas,
                last_known_elr,
            } => {
                let topic = self
                    .topics
                    .get_mut(topic_id)
                    .expect("a Partition record follows its Topic record");
                topic.partitions.insert(
                    *partition_id,
                    PartitionRegistration {
                        replicas: replicas.clone(),
                        isr: isr.clone(),
                        leader: *leader,
                        leader_epoch: *leader_epoch,
                        partition_epoch: *partition_epoch,
                        elr: eligible_leader_replicas.clone(),
                        last_known_elr: last_known_elr.clone(),
                    },
                );
                let tp = TopicPartition {
                    topic: topic.name.clone(),
                    partition: *partition_id,
                };
                delta.partitions.insert(tp.clone());
                delta.elected.push((tp, false));
            }
            MetadataRecord::PartitionChange {
                partition_id,
                topic_id,
                isr,
                leader,
                replicas,
                eligible_leader_replicas,
                last_known_elr,
            } => {
                let Some(topic) = self.topics.get_mut(topic_id) else {
                    return;
                };
                let Some(p) = topic.partitions.get_mut(partition_id) else {
                    return;
                };
                // `PartitionRegistration.merge`: a new leader bumps the leader epoch; any
                // change bumps the partition epoch. A leader from outside the ISR and the
                // ELR is an unclean election.
                let unclean = u32::try_from(*leader)
                    .is_ok_and(|l| !p.isr.contains(&l) && !p.elr.contains(&l));
                if *leader != NO_LEADER_CHANGE {
                    p.leader = *leader;
                    p.leader_epoch += 1;
                }
                if let Some(isr) = isr {
                    p.isr = isr.clone();
                }
                if let Some(replicas) = replicas {
                    p.replicas = replicas.clone();
                }
                if let Some(elr) = eligible_leader_replicas {
                    p.elr = elr.clone();
                }
                if let Some(lke) = last_known_elr {
                    p.last_known_elr = lke.clone();
                }
                p.partition_epoch += 1;
                let tp = TopicPartition {
                    topic: topic.name.clone(),
                    partition: *partition_id,
                };
                delta.partitions.insert(tp.clone());
                if *leader != NO_LEADER_CHANGE {
                    delta.elected.push((tp, unclean));
                }
            }
            MetadataRecord::Config {
                resource_type,
                resource_name,
                name,
                value,
            } => {
                let key = (*resource_type, resource_name.clone());
                match value {
                    Some(v) => {
                        self.configs
                            .entry(key)
                            .or_default()
                            .insert(name.clone(), v.clone());
                    }
                    None => {
                        if let Some(c) = self.configs.get_mut(&key) {
                            c.remove(name);
                        }
                    }
                }
                if *resource_type == TOPIC_RESOURCE {
                    delta.topic_configs.insert(resource_name.as_str().into());
                } else if *resource_type == BROKER_RESOURCE {
                    delta
                        .broker_configs
                        .push(resource_name.parse().ok().map(BrokerId));
                }
            }
            MetadataRecord::ProducerIds {
                next_producer_id, ..
            } => self.next_producer_id = *next_producer_id,
            MetadataRecord::FeatureLevel {
                name,
                feature_level,
            } => {
                self.features.insert(name.clone(), *feature_level);
            }
            MetadataRecord::RemoveTopic { topic_id } => {
                let Some(topic) = self.topics.remove(topic_id) else {
                    return;
                };
                self.topic_ids.remove(&topic.name);
                self.configs
                    .remove(&(TOPIC_RESOURCE, topic.name.to_string()));
                for partition in topic.partitions.keys() {
                    delta.partitions.remove(&TopicPartition {
                        topic: topic.name.clone(),
                        partition: *partition,
                    });
                }
                delta.deleted_topics.push(topic.name);
            }
        }
    }

    pub fn topic(&self, name: &str) -> Option<&TopicImage> {
        self.topics.get(self.topic_ids.get(name)?)
    }

    pub fn partition(&self, tp: &TopicPartition) -> Option<&PartitionRegistration> {
        self.topic(&tp.topic)?.partitions.get(&tp.partition)
    }

    /// Registered brokers that are not fenced, in id order.
    pub fn unfenced_brokers(&self) -> Vec<BrokerId> {
        self.brokers
            .iter()
            .filter(|(_, b)| !b.fenced)
            .map(|(id, _)| BrokerId(*id))
            .collect()
    }

    pub fn is_fenced(&self, broker: u32) -> bool {
        self.brokers.get(&broker).is_none_or(|b| b.fenced)
    }

    /// A topic's config overrides.
    pub fn topic_config(&self, topic: &str) -> TopicConfig {
        self.configs
            .get(&(TOPIC_RESOURCE, topic.to_string()))
            .map(config_from_pairs)
            .unwrap_or_default()
    }

    /// Dynamic broker settings of one broker, or (`None`) the cluster-wide default.
    pub fn broker_config(&self, broker: Option<BrokerId>) -> DynamicBrokerConfig {
        self.configs
            .get(&(BROKER_RESOURCE, broker_resource_name(broker)))
            .map(config_from_pairs)
            .unwrap_or_default()
    }
}

/// A topic id as Kafka prints a `Uuid`: URL-safe base64 of its 16 bytes, unpadded.
pub fn topic_id_text(id: u128) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.to_be_bytes())
}

/// A ConfigRecord's resource name for broker settings: the id, or "" for the default.
pub fn broker_resource_name(broker: Option<BrokerId>) -> String {
    broker.map(|b| b.0.to_string()).unwrap_or_default()
}

/// Overrides as ConfigRecords' `(name, value)` pairs, Kafka's names, in name order.
pub fn config_pairs<T: serde::Serialize>(config: &T) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(config) else {
        return Vec::new();
    };
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect()
}

/// The overrides a topic's ConfigRecords set (values written by [`config_pairs`]).
fn config_from_pairs<T: serde::de::DeserializeOwned + Default>(
    pairs: &VecMap<String, String>,
) -> T {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| {
            let value = serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.clone()));
            (k.clone(), value)
        })
        .collect();
    serde_json::from_value(serde_json::Value::Object(map)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CleanupPolicy;

    #[test]
    fn topic_configs_round_trip_through_config_records() {
        let config = TopicConfig {
            min_insync_replicas: Some(2),
            unclean_leader_election_enable: Some(true),
            retention_ms: Some(-1),
            cleanup_policy: Some(CleanupPolicy::Compact),
            ..TopicConfig::default()
        };
        let mut image = MetadataImage::default();
        let mut delta = Delta::default();
        for (i, (name, value)) in config_pairs(&config).into_iter().enumerate() {
            let entry = LogEntry {
                offset: i as u64,
                epoch: 1,
                record: MetadataRecord::Config {
                    resource_type: TOPIC_RESOURCE,
                    resource_name: "t".into(),
                    name,
                    value: Some(value),
                },
            };
            image.apply(&entry, &mut delta);
        }
        assert_eq!(image.topic_config("t"), config);
        assert!(delta.topic_configs.contains(&TopicName::from("t")));
    }

    #[test]
    #[should_panic(expected = "in order")]
    fn a_gap_in_the_log_is_refused() {
        let mut image = MetadataImage::default();
        let entry = LogEntry {
            offset: 1,
            epoch: 1,
            record: MetadataRecord::NoOp,
        };
        image.apply(&entry, &mut Delta::default());
    }

    #[test]
    fn partition_change_bumps_epochs() {
        let mut image = MetadataImage::default();
        let mut delta = Delta::default();
        let records = [
            MetadataRecord::Topic {
                name: "t".into(),
                topic_id: 7,
            },
            MetadataRecord::Partition {
                partition_id: 0,
                topic_id: 7,
                replicas: vec![1, 2],
                isr: vec![1, 2],
                leader: 1,
                leader_epoch: 0,
                partition_epoch: 0,
                eligible_leader_replicas: vec![],
                last_known_elr: vec![],
            },
            MetadataRecord::PartitionChange {
                partition_id: 0,
                topic_id: 7,
                isr: Some(vec![2]),
                leader: 2,
                replicas: None,
                eligible_leader_replicas: None,
                last_known_elr: None,
            },
            MetadataRecord::PartitionChange {
                partition_id: 0,
                topic_id: 7,
                isr: Some(vec![2, 1]),
                leader: NO_LEADER_CHANGE,
                replicas: None,
                eligible_leader_replicas: None,
                last_known_elr: None,
            },
        ];
        for (i, record) in records.into_iter().enumerate() {
            let entry = LogEntry {
                offset: i as u64,
                epoch: 1,
                record,
            };
            image.apply(&entry, &mut delta);
        }
        let tp = TopicPartition {
            topic: "t".into(),
            partition: 0,
        };
        let p = image.partition(&tp).expect("exists");
        assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (2, 1, 2));
        assert_eq!(p.isr, vec![2, 1]);
        assert!(delta.partitions.contains(&tp));
    }
}
