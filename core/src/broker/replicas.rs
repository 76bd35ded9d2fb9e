//! A broker's replicas by topic, then partition number: the map every fetch and produce looks
//! partitions up in. A follower's fetch names every partition it follows (fifty of
//! `__consumer_offsets` among them), so a lookup is one search among the broker's few topic
//! names and an index, not a search among all its partitions comparing names each step.
//! Iterates in `TopicPartition` order, as a `BTreeMap<TopicPartition, Replica>` would.

use super::replica::Replica;
use crate::ids::{cmp_names, TopicName, TopicPartition};
use std::sync::Arc;

/// Up to this many topics, a lookup first scans for the name's pointer.
const FEW_TOPICS: usize = 8;

#[derive(Clone, Debug, Default)]
pub struct Replicas {
    /// Sorted by name; a topic's slot `n` holds partition `n` if this broker hosts it.
    topics: Vec<(TopicName, Vec<Option<Replica>>)>,
}

impl Replicas {
    fn topic(&self, name: &TopicName) -> Result<usize, usize> {
        // Names in requests are mostly clones of the `Arc` held here: among a broker's usual
        // few topics, comparing pointers finds it fastest.
        if self.topics.len() <= FEW_TOPICS {
            if let Some(i) = self.topics.iter().position(|(t, _)| Arc::ptr_eq(t, name)) {
                return Ok(i);
            }
        }
        self.topics.binary_search_by(|(t, _)| cmp_names(t, name))
    }

    pub fn get(&self, tp: &TopicPartition) -> Option<&Replica> {
        let i = self.topic(&tp.topic).ok()?;
        self.topics[i].1.get(tp.partition as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, tp: &TopicPartition) -> Option<&mut Replica> {
        let i = self.topic(&tp.topic).ok()?;
        self.topics[i].1.get_mut(tp.partition as usize)?.as_mut()
    }

    pub fn contains_key(&self, tp: &TopicPartition) -> bool {
        self.get(tp).is_some()
    }

    /// Hosts `replica` under its own partition (`replica.tp`), returning the one it replaces.
    pub fn insert(&mut self, replica: Replica) -> Option<Replica> {
        let i = match self.topic(&replica.tp.topic) {
            Ok(i) => i,
            Err(i) => {
                self.topics
                    .insert(i, (replica.tp.topic.clone(), Vec::new()));
                i
            }
        };
        let slots = &mut self.topics[i].1;
        let n = replica.tp.partition as usize;
        if slots.len() <= n {
            slots.resize_with(n + 1, || None);
        }
        slots[n].replace(replica)
    }

    pub fn remove(&mut self, tp: &TopicPartition) -> Option<Replica> {
        let i = self.topic(&tp.topic).ok()?;
        let slots = &mut self.topics[i].1;
        let old = slots.get_mut(tp.partition as usize)?.take()?;
        while slots.last().is_some_and(|s| s.is_none()) {
            slots.pop();
        }
        if slots.is_empty() {
            self.topics.remove(i);
        }
        Some(old)
    }

    pub fn values(&self) -> impl Iterator<Item = &Replica> {
        self.topics
            .iter()
            .flat_map(|(_, slots)| slots.iter().flatten())
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Replica> {
        self.topics
            .iter_mut()
            .flat_map(|(_, slots)| slots.iter_mut().flatten())
    }

    pub fn into_values(self) -> impl Iterator<Item = Replica> {
        self.topics
            .into_iter()
            .flat_map(|(_, slots)| slots.into_iter().flatten())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&TopicPartition, &Replica)> {
        self.values().map(|r| (&r.tp, r))
    }

    pub fn keys(&self) -> impl Iterator<Item = &TopicPartition> {
        self.values().map(|r| &r.tp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BrokerConfig, LogConfig, TopicConfig};
    use crate::log::PartitionLog;
    use crate::time::SimTime;
    use std::collections::BTreeMap;

    fn replica(tp: &TopicPartition) -> Replica {
        let config = LogConfig::resolve(&TopicConfig::default(), &BrokerConfig::default());
        Replica::new(tp.clone(), PartitionLog::new(config, SimTime::ZERO))
    }

    /// Random inserts and removals agree with a `BTreeMap` in content and order.
    #[test]
    fn behaves_as_a_btree_map_of_partitions() {
        let names: Vec<TopicName> = ["orders", "__consumer_offsets", "a", "orders2", "b"]
            .into_iter()
            .map(TopicName::from)
            .collect();
        let mut rng = crate::rng::Rng::new(7);
        let mut ours = Replicas::default();
        let mut model: BTreeMap<TopicPartition, ()> = BTreeMap::new();
        for _ in 0..5_000 {
            let topic = &names[rng.below(names.len() as u64) as usize];
            // A fresh Arc for the same name must find the same slot.
            let tp = TopicPartition::new(&TopicName::from(&**topic), rng.below(12) as u32);
            if rng.below(3) == 0 {
                assert_eq!(
                    ours.remove(&tp).map(|r| r.tp),
                    model.remove(&tp).map(|_| tp.clone())
                );
            } else {
                assert_eq!(
                    ours.insert(replica(&tp)).is_some(),
                    model.insert(tp.clone(), ()).is_some()
                );
            }
            assert_eq!(ours.iter().count(), model.len());
            assert_eq!(ours.contains_key(&tp), model.contains_key(&tp));
        }
        let order: Vec<&TopicPartition> = ours.keys().collect();
        assert_eq!(order, model.keys().collect::<Vec<_>>());
        for (tp, r) in ours.iter() {
            assert_eq!(tp, &r.tp);
            assert_eq!(ours.get(tp).map(|r| &r.tp), Some(tp));
        }
    }
}
