//! KRaft with ELR (KIP-966): no eligible leader replica is in the ISR or leads. The ELR
//! holds replicas that left the ISR while it was below `min.insync.replicas`; one elected
//! from it moves into the ISR in the same record, so a committed image never has a replica
//! counted twice (which would make an ISR look bigger than min ISR, or let an ELR election
//! pick the leader it replaces).

use super::World;
use crate::trace::Event;

pub const NAME: &str = "elr_outside_isr";

pub fn observe(event: &Event, world: &dyn World) -> Option<String> {
    if !matches!(
        event,
        Event::QuorumHighWatermark { .. } | Event::LeaderElected { .. }
    ) {
        return None;
    }
    let image = world.metadata_image()?;
    for topic in image.topics.values() {
        for (partition, p) in topic.partitions.iter() {
            if let Some(r) = p
                .elr
                .iter()
                .find(|r| p.isr.contains(r) || p.leader == **r as i32)
            {
                return Some(format!(
                    "{}-{partition}: replica {r} is in the ELR {:?} and in the ISR {:?} or leads \
                     ({}) (metadata offset {:?})",
                    topic.name, p.elr, p.isr, p.leader, image.offset
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{BrokerId, TopicPartition};
    use crate::kraft::image::{Delta, MetadataImage};
    use crate::raft::log::{LogEntry, MetadataRecord, RaftLog, NO_LEADER_CHANGE};

    struct Image(MetadataImage);
    impl World for Image {
        fn replica(
            &self,
            _: BrokerId,
            _: &TopicPartition,
        ) -> Option<&crate::broker::replica::Replica> {
            None
        }
        fn log(&self, _: BrokerId, _: &TopicPartition) -> Option<&crate::log::PartitionLog> {
            None
        }
        fn live_replicas(&self) -> Vec<(BrokerId, &crate::broker::replica::Replica)> {
            Vec::new()
        }
        fn metadata_log(&self, _: u32) -> Option<&RaftLog> {
            None
        }
        fn metadata_image(&self) -> Option<&MetadataImage> {
            Some(&self.0)
        }
    }

    fn image(elr: Vec<u32>) -> Image {
        let records = [
            MetadataRecord::Topic {
                name: "t".into(),
                topic_id: 5,
            },
            MetadataRecord::Partition {
                partition_id: 0,
                topic_id: 5,
                replicas: vec![1, 2, 3],
                isr: vec![1],
                leader: 1,
                leader_epoch: 0,
                partition_epoch: 0,
                eligible_leader_replicas: vec![],
                last_known_elr: vec![],
            },
            MetadataRecord::PartitionChange {
                partition_id: 0,
                topic_id: 5,
                isr: None,
                leader: NO_LEADER_CHANGE,
                replicas: None,
                eligible_leader_replicas: Some(elr),
                last_known_elr: None,
            },
        ];
        let mut image = MetadataImage::default();
        for (offset, record) in records.into_iter().enumerate() {
            let entry = LogEntry {
                offset: offset as u64,
                epoch: 1,
                record,
            };
            image.apply(&entry, &mut Delta::default());
        }
        Image(image)
    }

    #[test]
    fn an_elr_member_in_the_isr_is_caught() {
        let hw = Event::QuorumHighWatermark {
            node: 3000,
            epoch: 1,
            offset: 3,
        };
        assert_eq!(observe(&hw, &image(vec![2, 3])), None);
        assert!(observe(&hw, &image(vec![1, 2])).is_some());
    }
}
