//! Offsets are assigned densely and never reused: every append to a replica starts exactly at
//! its log end offset (which only truncation moves back).

use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::partition_map::PartitionMap;
use crate::trace::Event;
use crate::vec_map::VecMap;

pub const NAME: &str = "offsets_dense";

#[derive(Debug, Default)]
pub struct OffsetsDense {
    /// Each replica's log end offset, by partition then broker.
    next: PartitionMap<VecMap<BrokerId, Offset>>,
}

impl OffsetsDense {
    pub fn observe(&mut self, event: &Event) -> Option<String> {
        match event {
            Event::RecordsAppended {
                broker,
                topic,
                partition,
                base_offset,
                last_offset,
                ..
            } => {
                let tp = TopicPartition::new(topic, *partition);
                let expected = self
                    .next
                    .get_or_insert_with(&tp, VecMap::new)
                    .insert(*broker, last_offset + 1);
                if last_offset < base_offset {
                    return Some(format!("broker {broker} {topic}-{partition}: batch {base_offset}..{last_offset} runs backwards"));
                }
                match expected {
                    Some(e) if e != *base_offset => Some(format!("broker {broker} {topic}-{partition}: append at {base_offset}, log end was {e}")),
                    _ => None,
                }
            }
            Event::LogTruncated {
                broker,
                topic,
                partition,
                to,
                ..
            } => {
                let tp = TopicPartition::new(topic, *partition);
                self.next
                    .get_or_insert_with(&tp, VecMap::new)
                    .insert(*broker, *to);
                None
            }
            Event::TopicDeleted { topic } => {
                self.next.retain(|tp, _| tp.topic != *topic);
                None
            }
            Event::NodeStarted {
                node: NodeId::Broker(b),
                ..
            } => {
                for replicas in self.next.values_mut() {
                    replicas.remove(b);
                }
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appended(base: Offset, last: Offset) -> Event {
        Event::RecordsAppended {
            broker: BrokerId(1),
            topic: "t".into(),
            partition: 0,
            base_offset: base,
            last_offset: last,
            records: 1,
            leader: true,
        }
    }

    #[test]
    fn a_gap_or_a_reused_offset_is_caught() {
        let mut check = OffsetsDense::default();
        assert_eq!(check.observe(&appended(0, 4)), None);
        assert_eq!(check.observe(&appended(5, 9)), None);
        assert!(check.observe(&appended(12, 12)).is_some(), "gap");
        assert!(
            check.observe(&appended(3, 3)).is_some(),
            "reuse without truncation"
        );
        check.observe(&Event::LogTruncated {
            broker: BrokerId(1),
            topic: "t".into(),
            partition: 0,
            from: 4,
            to: 3,
        });
        assert_eq!(
            check.observe(&appended(3, 3)),
            None,
            "after truncation the offset is free again"
        );
    }
}
