//! The network: one link per ordered pair of nodes, with latency and jitter, FIFO like a TCP
//! connection, and faults: a cut link drops what crosses it, a slow link adds latency.

use crate::ids::NodeId;
use crate::rng::Rng;
use crate::time::SimTime;
use crate::vec_map::{VecMap, VecSet};

/// Latency of a node talking to itself (the controller to its own broker).
const LOOPBACK_US: u64 = 20;

#[derive(Debug, Default)]
pub struct Network {
    pub latency_us: u64,
    pub jitter_us: u64,
    cut: VecSet<(NodeId, NodeId)>,
    extra_latency_us: VecMap<(NodeId, NodeId), u64>,
    /// Arrival time of the last message on each link (by `link_key`): later messages never
    /// overtake it.
    last_arrival: VecMap<(u64, u64), SimTime>,
    /// Pairs of nodes that have talked (by `link_key`, lower first; `link_key` orders as
    /// `NodeId` does): when one dies, the other sees the connection close.
    connections: VecMap<(u64, u64), (NodeId, NodeId)>,
}

impl Network {
    pub fn new(latency_us: u64, jitter_us: u64) -> Network {
        Network {
            latency_us,
            jitter_us,
            ..Default::default()
        }
    }

    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut.contains(&(from, to))
    }

    /// `a` and `b` have a connection (a message between them arrived).
    pub fn connect(&mut self, a: NodeId, b: NodeId) {
        let (a, b) = (a.min(b), a.max(b));
        self.connections
            .entry((link_key(a), link_key(b)))
            .or_insert((a, b));
    }

    /// Forgets every connection of `id`; returns the peers that were on the other end.
    pub fn drop_connections(&mut self, id: NodeId) -> Vec<NodeId> {
        let peers = self
            .connections
            .values()
            .filter(|(a, b)| *a == id || *b == id)
            .map(|&(a, b)| if a == id { b } else { a })
            .collect();
        self.connections.retain(|_, (a, b)| *a != id && *b != id);
        peers
    }

    /// When a message sent now from `from` arrives at `to`.
    pub fn arrival(&mut self, from: NodeId, to: NodeId, now: SimTime, rng: &mut Rng) -> SimTime {
        if from == to {
            return now.plus_us(LOOPBACK_US);
        }
        let base = self.latency_us + self.extra_latency_us.get(&(from, to)).copied().unwrap_or(0);
        let latency = (base as i64 + rng.jitter(self.jitter_us)).max(1) as u64;
        let link = (link_key(from), link_key(to));
        let last = self.last_arrival.entry(link).or_insert(SimTime::ZERO);
        let at = now.plus_us(latency).max(*last);
        *last = at;
        at
    }

    /// The one-way latency without jitter (for a connection reset to travel back).
    pub fn base_latency_us(&self, from: NodeId, to: NodeId) -> u64 {
        self.latency_us + self.extra_latency_us.get(&(from, to)).copied().unwrap_or(0)
    }

    pub fn cut(&mut self, from: NodeId, to: NodeId) -> bool {
        from != to && self.cut.insert((from, to))
    }
    pub fn heal(&mut self, from: NodeId, to: NodeId) -> bool {
        self.cut.remove(&(from, to))
    }
    pub fn heal_all(&mut self) -> Vec<(NodeId, NodeId)> {
        std::mem::take(&mut self.cut).into_iter().collect()
    }
    pub fn slow(&mut self, from: NodeId, to: NodeId, extra_latency_us: u64) {
        if extra_latency_us == 0 {
            self.extra_latency_us.remove(&(from, to));
        } else {
            self.extra_latency_us.insert((from, to), extra_latency_us);
        }
    }
    pub fn cut_links(&self) -> impl Iterator<Item = &(NodeId, NodeId)> {
        self.cut.iter()
    }
    pub fn slow_links(&self) -> impl Iterator<Item = (&(NodeId, NodeId), &u64)> {
        self.extra_latency_us.iter()
    }
}

/// A node as one number: every message looks its link up, and integers compare faster than
/// the enum.
fn link_key(node: NodeId) -> u64 {
    let (kind, id) = match node {
        NodeId::ZooKeeper(id) => (0, id),
        NodeId::Broker(b) => (1, b.0),
        NodeId::Producer(id) => (2, id),
        NodeId::Consumer(id) => (3, id),
        NodeId::Admin => (4, 0),
        NodeId::Client(id) => (5, id),
    };
    (kind << 32) | u64::from(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_fifo_despite_jitter() {
        let mut net = Network::new(1_000, 900);
        let mut rng = Rng::new(1);
        let (a, b) = (NodeId::broker(1), NodeId::broker(2));
        let mut last = SimTime::ZERO;
        for t in 0..200 {
            let at = net.arrival(a, b, SimTime(t * 10), &mut rng);
            assert!(at >= last);
            last = at;
        }
    }

    #[test]
    fn cuts_are_directional() {
        let mut net = Network::new(1_000, 0);
        let (a, b) = (NodeId::broker(1), NodeId::broker(2));
        net.cut(a, b);
        assert!(net.is_cut(a, b) && !net.is_cut(b, a));
        net.heal(a, b);
        assert!(!net.is_cut(a, b));
    }
}
