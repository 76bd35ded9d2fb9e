//! The simulation's nodes by id. Every message, timer and closed connection looks its node up,
//! and the invariants look brokers up for most trace events, so a lookup is an index into a
//! table by kind and number rather than a search comparing ids.

use super::Slot;
use crate::ids::NodeId;

/// Numbers up to this are indexed (far more than the scenario limits allow); a larger one
/// (none today) is found by a search.
const MAX_INDEXED: usize = 1 << 10;
const ABSENT: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(crate) struct Nodes {
    /// Sorted by id: iteration follows `NodeId` order, as a `BTreeMap` would.
    ids: Vec<NodeId>,
    /// `slots[i]` belongs to `ids[i]`.
    slots: Vec<Slot>,
    /// Position in `ids` by kind (see `place`), then number; `ABSENT` where there is none.
    index: [Vec<u32>; 4],
}

/// The kind and number a node is indexed under; None for nodes that are never in the table.
fn place(id: NodeId) -> Option<(usize, usize)> {
    match id {
        NodeId::ZooKeeper(n) => Some((0, n as usize)),
        NodeId::Broker(b) => Some((1, b.0 as usize)),
        NodeId::Producer(n) => Some((2, n as usize)),
        NodeId::Consumer(n) => Some((3, n as usize)),
        // Controllers number from 3000: found by a search (there are at most seven).
        NodeId::Admin | NodeId::Client(_) | NodeId::Controller(_) => None,
    }
}

impl Nodes {
    fn position(&self, id: NodeId) -> Option<usize> {
        if let Some((kind, n)) = place(id) {
            if let Some(&p) = self.index[kind].get(n) {
                return (p != ABSENT).then_some(p as usize);
            }
        }
        self.ids.binary_search(&id).ok()
    }

    pub fn get(&self, id: &NodeId) -> Option<&Slot> {
        self.position(*id).map(|i| &self.slots[i])
    }

    pub fn get_mut(&mut self, id: &NodeId) -> Option<&mut Slot> {
        self.position(*id).map(|i| &mut self.slots[i])
    }

    /// Puts `slot` under `id`, replacing what was there (nodes are added rarely: the index
    /// is rebuilt).
    pub fn insert(&mut self, id: NodeId, slot: Slot) {
        match self.ids.binary_search(&id) {
            Ok(i) => self.slots[i] = slot,
            Err(i) => {
                self.ids.insert(i, id);
                self.slots.insert(i, slot);
                self.reindex();
            }
        }
    }

    fn reindex(&mut self) {
        for table in &mut self.index {
            table.clear();
        }
        for (i, id) in self.ids.iter().enumerate() {
            let Some((kind, n)) = place(*id).filter(|(_, n)| *n < MAX_INDEXED) else {
                continue;
            };
            let table = &mut self.index[kind];
            if table.len() <= n {
                table.resize(n + 1, ABSENT);
            }
            table[n] = i as u32;
        }
    }

    pub fn keys(&self) -> std::slice::Iter<'_, NodeId> {
        self.ids.iter()
    }

    pub fn values(&self) -> std::slice::Iter<'_, Slot> {
        self.slots.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::BrokerId;

    fn slot(incarnation: u64) -> Slot {
        Slot {
            node: None,
            incarnation,
        }
    }

    /// Lookups by index agree with a search, for indexed numbers, a number past the index,
    /// absent ids and ids of kinds that are never indexed; iteration is in id order.
    #[test]
    fn finds_what_was_inserted_in_id_order() {
        let mut nodes = Nodes::default();
        let ids = [
            NodeId::Consumer(2),
            NodeId::broker(3),
            NodeId::ZooKeeper(1),
            NodeId::Producer(0),
            NodeId::broker(1),
            NodeId::Producer(MAX_INDEXED as u32 + 5),
            NodeId::Admin,
        ];
        for (i, id) in ids.iter().enumerate() {
            nodes.insert(*id, slot(i as u64));
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(
                nodes.get(id).map(|s| s.incarnation),
                Some(i as u64),
                "{id:?}"
            );
        }
        for absent in [
            NodeId::broker(2),
            NodeId::Broker(BrokerId(4000)),
            NodeId::Consumer(0),
            NodeId::Client(1),
        ] {
            assert!(nodes.get(&absent).is_none(), "{absent:?}");
        }
        nodes.insert(NodeId::broker(3), slot(9));
        nodes
            .get_mut(&NodeId::broker(1))
            .expect("there")
            .incarnation = 8;
        let mut sorted = ids.to_vec();
        sorted.sort();
        assert_eq!(nodes.keys().copied().collect::<Vec<_>>(), sorted);
        assert_eq!(
            nodes.get(&NodeId::broker(3)).map(|s| s.incarnation),
            Some(9)
        );
        assert_eq!(
            nodes.get(&NodeId::broker(1)).map(|s| s.incarnation),
            Some(8)
        );
        assert_eq!(nodes.values().count(), ids.len());
    }
}
