//! Values by topic, then partition number: the map of a broker's replicas (every fetch and
//! produce looks partitions up in it; a follower's fetch names every partition it follows,
//! fifty of `__consumer_offsets` among them) and of a producer's per-partition queues (one
//! lookup per record). A lookup is one search among a few topic names and an index, not a
//! search among all the partitions comparing names at each step. Iterates in
//! `TopicPartition` order, as a `BTreeMap<TopicPartition, V>` would.

use crate::ids::{cmp_names, TopicName, TopicPartition};
use std::sync::Arc;

/// Up to this many topics, a lookup first scans for the name's pointer.
const FEW_TOPICS: usize = 8;

/// A topic's partitions: slot `n` holds partition `n` if it is in the map.
type Slots<V> = Vec<Option<(TopicPartition, V)>>;

#[derive(Clone, Debug)]
pub struct PartitionMap<V> {
    /// Sorted by name.
    topics: Vec<(TopicName, Slots<V>)>,
}

impl<V> Default for PartitionMap<V> {
    fn default() -> Self {
        PartitionMap { topics: Vec::new() }
    }
}

impl<V> PartitionMap<V> {
    /// Inlined for its common case: the name is a clone of the map's own `Arc` among the
    /// usual few topics, found by comparing pointers.
    #[inline(always)]
    fn topic(&self, name: &TopicName) -> Result<usize, usize> {
        if self.topics.len() <= FEW_TOPICS {
            if let Some(i) = self.topics.iter().position(|(t, _)| Arc::ptr_eq(t, name)) {
                return Ok(i);
            }
        }
        self.topic_by_name(name)
    }

    /// Other nodes' names (a producer's, a consumer's) are equal strings: among few, a scan
    /// comparing lengths first beats a search comparing bytes at each step.
    #[inline(never)]
    fn topic_by_name(&self, name: &TopicName) -> Result<usize, usize> {
        if self.topics.len() <= FEW_TOPICS {
            if let Some(i) = self.topics.iter().position(|(t, _)| **t == **name) {
                return Ok(i);
            }
        }
        self.topics.binary_search_by(|(t, _)| cmp_names(t, name))
    }

    /// The map's own `Arc` of a topic name: keys made from it are found by pointer.
    pub fn topic_name(&self, name: &TopicName) -> Option<&TopicName> {
        self.topic(name).ok().map(|i| &self.topics[i].0)
    }

    /// Makes `tp` name its topic by the map's own `Arc`, if the map has the topic, so that
    /// later lookups of it compare pointers.
    pub fn use_own_name(&self, tp: &mut TopicPartition) {
        if let Some(own) = self.topic_name(&tp.topic) {
            if !Arc::ptr_eq(own, &tp.topic) {
                tp.topic = own.clone();
            }
        }
    }

    fn slot(&self, tp: &TopicPartition) -> Option<&(TopicPartition, V)> {
        let i = self.topic(&tp.topic).ok()?;
        self.topics[i].1.get(tp.partition as usize)?.as_ref()
    }

    pub fn get(&self, tp: &TopicPartition) -> Option<&V> {
        self.slot(tp).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, tp: &TopicPartition) -> Option<&mut V> {
        let i = self.topic(&tp.topic).ok()?;
        let (_, v) = self.topics[i].1.get_mut(tp.partition as usize)?.as_mut()?;
        Some(v)
    }

    pub fn contains_key(&self, tp: &TopicPartition) -> bool {
        self.slot(tp).is_some()
    }

    pub fn is_empty(&self) -> bool {
        // `remove` drops a topic with no partitions left; `clear` keeps it, empty.
        self.topics.iter().all(|(_, slots)| slots.is_empty())
    }

    /// Empties the map but keeps its topics and their memory, for a map refilled every round
    /// (a fetcher's partitions to name next).
    pub fn clear(&mut self) {
        for (_, slots) in &mut self.topics {
            slots.clear();
        }
    }

    /// The slot for `tp`, creating the topic's entry and the slot's place if missing.
    fn slot_mut(&mut self, tp: &TopicPartition) -> &mut Option<(TopicPartition, V)> {
        let i = self.topic(&tp.topic).unwrap_or_else(|i| {
            self.topics.insert(i, (tp.topic.clone(), Vec::new()));
            i
        });
        let slots = &mut self.topics[i].1;
        let n = tp.partition as usize;
        if slots.len() <= n {
            slots.resize_with(n + 1, || None);
        }
        &mut slots[n]
    }

    /// Puts `value` under `tp`, returning the one it replaces.
    pub fn insert(&mut self, tp: TopicPartition, value: V) -> Option<V> {
        self.slot_mut(&tp).replace((tp, value)).map(|(_, v)| v)
    }

    /// The value under `tp`, made by `make` if there is none; `tp` is cloned only then.
    pub fn get_or_insert_with(&mut self, tp: &TopicPartition, make: impl FnOnce() -> V) -> &mut V {
        let (_, v) = self
            .slot_mut(tp)
            .get_or_insert_with(|| (tp.clone(), make()));
        v
    }

    pub fn remove(&mut self, tp: &TopicPartition) -> Option<V> {
        let i = self.topic(&tp.topic).ok()?;
        let slots = &mut self.topics[i].1;
        let (_, old) = slots.get_mut(tp.partition as usize)?.take()?;
        while slots.last().is_some_and(|s| s.is_none()) {
            slots.pop();
        }
        if slots.is_empty() {
            self.topics.remove(i);
        }
        Some(old)
    }

    /// Keeps the entries for which `keep` says so.
    pub fn retain(&mut self, mut keep: impl FnMut(&TopicPartition, &mut V) -> bool) {
        for (_, slots) in &mut self.topics {
            for slot in slots.iter_mut() {
                if slot.as_mut().is_some_and(|(tp, v)| !keep(tp, v)) {
                    *slot = None;
                }
            }
            while slots.last().is_some_and(|s| s.is_none()) {
                slots.pop();
            }
        }
        self.topics.retain(|(_, slots)| !slots.is_empty());
    }

    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            topics: self.topics.iter(),
            slots: [].iter(),
        }
    }

    pub fn iter_mut(&mut self) -> IterMut<'_, V> {
        IterMut {
            topics: self.topics.iter_mut(),
            slots: [].iter_mut(),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &TopicPartition> + Clone {
        self.iter().map(|(tp, _)| tp)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> + Clone {
        self.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.iter_mut().map(|(_, v)| v)
    }

    pub fn into_values(self) -> impl Iterator<Item = V> {
        self.topics
            .into_iter()
            .flat_map(|(_, slots)| slots.into_iter().flatten().map(|(_, v)| v))
    }
}

/// The entries in order: a plain loop over each topic's slots (a nested `flat_map` over the
/// optional slots cost several times more per entry, and producers iterate their few
/// partitions several times per event).
#[derive(Debug)]
pub struct Iter<'a, V> {
    topics: std::slice::Iter<'a, (TopicName, Slots<V>)>,
    slots: std::slice::Iter<'a, Option<(TopicPartition, V)>>,
}

// By hand: a derive would ask `V: Clone`.
impl<V> Clone for Iter<'_, V> {
    fn clone(&self) -> Self {
        Iter {
            topics: self.topics.clone(),
            slots: self.slots.clone(),
        }
    }
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a TopicPartition, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.slots.next() {
                Some(Some((tp, v))) => return Some((tp, v)),
                Some(None) => {}
                None => self.slots = self.topics.next()?.1.iter(),
            }
        }
    }
}

#[derive(Debug)]
pub struct IterMut<'a, V> {
    topics: std::slice::IterMut<'a, (TopicName, Slots<V>)>,
    slots: std::slice::IterMut<'a, Option<(TopicPartition, V)>>,
}

impl<'a, V> Iterator for IterMut<'a, V> {
    type Item = (&'a TopicPartition, &'a mut V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.slots.next() {
                Some(Some((tp, v))) => return Some((&*tp, v)),
                Some(None) => {}
                None => self.slots = self.topics.next()?.1.iter_mut(),
            }
        }
    }
}

/// A set of partitions (a map to nothing), found as fast.
pub type PartitionSet = PartitionMap<()>;

impl PartitionSet {
    /// Adds `tp` (cloned only if new); true if it was not there.
    pub fn add(&mut self, tp: &TopicPartition) -> bool {
        let mut added = false;
        self.get_or_insert_with(tp, || added = true);
        added
    }
}

/// Later values win, as in a map built by inserting in turn.
impl<V> FromIterator<(TopicPartition, V)> for PartitionMap<V> {
    fn from_iter<I: IntoIterator<Item = (TopicPartition, V)>>(items: I) -> Self {
        let mut map = PartitionMap::default();
        for (tp, v) in items {
            map.insert(tp, v);
        }
        map
    }
}

#[cfg(test)]
// The standard B-tree is the model these are checked against.
#[allow(clippy::disallowed_types)]
mod tests {
    use super::*;
    use crate::ids::TopicName;
    use std::collections::BTreeMap;

    /// Random inserts, removals and get-or-inserts agree with a `BTreeMap` in content and
    /// order.
    #[test]
    fn behaves_as_a_btree_map_of_partitions() {
        let names: Vec<TopicName> = ["orders", "__consumer_offsets", "a", "orders2", "b"]
            .into_iter()
            .map(TopicName::from)
            .collect();
        let mut rng = crate::rng::Rng::new(7);
        let mut ours = PartitionMap::default();
        let mut model: BTreeMap<TopicPartition, u64> = BTreeMap::new();
        for step in 0..5_000u64 {
            let topic = &names[rng.below(names.len() as u64) as usize];
            // A fresh Arc for the same name must find the same slot.
            let tp = TopicPartition::new(&TopicName::from(&**topic), rng.below(12) as u32);
            match rng.below(6) {
                0 => assert_eq!(ours.remove(&tp), model.remove(&tp)),
                5 if rng.below(50) == 0 => {
                    ours.clear();
                    model.clear();
                }
                1 => {
                    let odd = rng.below(2);
                    ours.retain(|tp, v| (tp.partition as u64 + *v) % 2 != odd);
                    model.retain(|tp, v| (tp.partition as u64 + *v) % 2 != odd);
                }
                2 => assert_eq!(
                    *ours.get_or_insert_with(&tp, || step),
                    *model.entry(tp.clone()).or_insert(step)
                ),
                _ => assert_eq!(
                    ours.insert(tp.clone(), step),
                    model.insert(tp.clone(), step)
                ),
            }
            assert_eq!(ours.iter().count(), model.len());
            assert_eq!(ours.is_empty(), model.is_empty());
            assert_eq!(ours.contains_key(&tp), model.contains_key(&tp));
            assert_eq!(ours.get(&tp), model.get(&tp));
        }
        let ours: Vec<(&TopicPartition, &u64)> = ours.iter().collect();
        assert_eq!(ours, model.iter().collect::<Vec<_>>());
    }

    /// `use_own_name` swaps an equal name for the map's `Arc`, and leaves a name the map
    /// lacks as it is.
    #[test]
    fn use_own_name_takes_the_maps_arc() {
        let own = TopicName::from("orders");
        let mut map = PartitionMap::default();
        map.insert(TopicPartition::new(&own, 0), ());
        let theirs = TopicPartition::new(&TopicName::from("orders"), 2);
        let mut swapped = theirs.clone();
        map.use_own_name(&mut swapped);
        assert!(Arc::ptr_eq(&swapped.topic, &own));
        assert_eq!(swapped, theirs);
        let other = TopicPartition::new(&TopicName::from("payments"), 0);
        let mut kept = other.clone();
        map.use_own_name(&mut kept);
        assert!(Arc::ptr_eq(&kept.topic, &other.topic));
    }
}
