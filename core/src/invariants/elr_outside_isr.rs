//! KRaft with ELR (KIP-966): no eligible leader replica is in the ISR or leads. The ELR
//! holds replicas that left the ISR while it was below `min.insync.replicas`; one elected
//! from it moves into the ISR in the same record, so a committed image never has a replica
//! counted twice (which would make an ISR look bigger than min ISR, or let an ELR election
//! pick the leader it replaces).

use super::World;
use crate::trace::Event;

pub const NAME: &str = "elr_outside_isr";

pub fn observe(event: &Event, world: &dyn World) -> Option<String> {
    super::on_each_committed_partition(event, world, |image, topic, partition, p| {
        let r = p
            .elr
            .iter()
            .find(|r| p.isr.contains(r) || p.leader == **r as i32)?;
        Some(format!(
            "{}-{partition}: replica {r} is in the ELR {:?} and in the ISR {:?} or leads ({}) \
             (metadata offset {:?})",
            topic.name, p.elr, p.isr, p.leader, image.offset
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::test_world::{image_world, TestWorld};
    use crate::raft::log::{MetadataRecord, NO_LEADER_CHANGE};

    fn image(elr: Vec<u32>) -> TestWorld {
        image_world(vec![
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
        ])
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
