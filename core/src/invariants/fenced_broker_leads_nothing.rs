//! KRaft: a fenced broker leads nothing. The active controller fences a broker and moves its
//! leadership in one batch of records, so no committed metadata image names a fenced broker
//! as a partition's leader.

use super::World;
use crate::trace::Event;

pub const NAME: &str = "fenced_broker_leads_nothing";

pub fn observe(event: &Event, world: &dyn World) -> Option<String> {
    super::on_each_committed_partition(event, world, |image, topic, partition, p| {
        let leader = u32::try_from(p.leader).ok()?;
        image.is_fenced(leader).then(|| {
            format!(
                "{}-{partition} is led by broker {leader}, which is fenced (metadata offset {:?})",
                topic.name, image.offset
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::test_world::image_world as image;
    use crate::raft::log::MetadataRecord;

    #[test]
    fn a_fenced_leader_is_caught() {
        let register = MetadataRecord::RegisterBroker {
            broker_id: 1,
            incarnation_id: 9,
            broker_epoch: 0,
            rack: None,
            fenced: false,
            in_controlled_shutdown: false,
        };
        let topic = MetadataRecord::Topic {
            name: "t".into(),
            topic_id: 5,
        };
        let partition = MetadataRecord::Partition {
            partition_id: 0,
            topic_id: 5,
            replicas: vec![1],
            isr: vec![1],
            leader: 1,
            leader_epoch: 0,
            partition_epoch: 0,
            eligible_leader_replicas: vec![],
            last_known_elr: vec![],
        };
        let fence = MetadataRecord::BrokerRegistrationChange {
            broker_id: 1,
            broker_epoch: 0,
            fenced: Some(true),
            in_controlled_shutdown: None,
        };
        let hw = Event::QuorumHighWatermark {
            node: 3000,
            epoch: 1,
            offset: 4,
        };
        let healthy = image(vec![register.clone(), topic.clone(), partition.clone()]);
        assert_eq!(observe(&hw, &healthy), None);
        let broken = image(vec![register, topic, partition, fence]);
        assert!(observe(&hw, &broken).is_some());
    }
}
