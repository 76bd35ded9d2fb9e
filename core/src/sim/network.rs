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
    /// The links of the nodes `dense` numbers, by sender then receiver: every message looks
    /// its link up, so that is two indexes. A row is made when its node first sends.
    rows: Vec<Vec<Link>>,
    /// Links with a node `dense` does not number (a real client's connection).
    far: VecMap<(NodeId, NodeId), Link>,
}

/// One direction of a link between two nodes.
#[derive(Clone, Copy, Debug, Default)]
struct Link {
    /// When the last message on it arrives: later messages never overtake it.
    last_arrival: SimTime,
    /// A message between the two arrived: when one dies, the other sees the connection
    /// close. Set in both directions.
    connected: bool,
}

/// Every scenario node, numbered in `NodeId` order (more than the scenario limits allow).
const ZOOKEEPERS: u32 = 16;
const BROKERS: u32 = 32;
const CLIENTS: u32 = 64;
const ADMIN: u32 = ZOOKEEPERS + BROKERS + 2 * CLIENTS;
/// KRaft controllers, numbered from `crate::ids::CONTROLLER_ID_BASE`.
const CONTROLLERS: u32 = 8;
const DENSE: usize = (ADMIN + 1 + CONTROLLERS) as usize;

fn dense(node: NodeId) -> Option<usize> {
    let (base, n, max) = match node {
        NodeId::ZooKeeper(n) => (0, n, ZOOKEEPERS),
        NodeId::Broker(b) => (ZOOKEEPERS, b.0, BROKERS),
        NodeId::Producer(n) => (ZOOKEEPERS + BROKERS, n, CLIENTS),
        NodeId::Consumer(n) => (ZOOKEEPERS + BROKERS + CLIENTS, n, CLIENTS),
        NodeId::Admin => (ADMIN, 0, 1),
        NodeId::Controller(n) => (
            ADMIN + 1,
            n.wrapping_sub(crate::ids::CONTROLLER_ID_BASE),
            CONTROLLERS,
        ),
        NodeId::Client(_) => return None,
    };
    (n < max).then_some((base + n) as usize)
}

/// The node `dense` numbers `i`.
fn node_at(i: usize) -> NodeId {
    let i = i as u32;
    match i {
        _ if i < ZOOKEEPERS => NodeId::ZooKeeper(i),
        _ if i < ZOOKEEPERS + BROKERS => NodeId::broker(i - ZOOKEEPERS),
        _ if i < ZOOKEEPERS + BROKERS + CLIENTS => NodeId::Producer(i - ZOOKEEPERS - BROKERS),
        _ if i < ADMIN => NodeId::Consumer(i - ZOOKEEPERS - BROKERS - CLIENTS),
        ADMIN => NodeId::Admin,
        _ => NodeId::Controller(crate::ids::CONTROLLER_ID_BASE + i - ADMIN - 1),
    }
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
        !self.cut.is_empty() && self.cut.contains(&(from, to))
    }

    fn link(&mut self, from: NodeId, to: NodeId) -> &mut Link {
        let (Some(f), Some(t)) = (dense(from), dense(to)) else {
            return self.far.entry((from, to)).or_default();
        };
        if self.rows.len() <= f {
            self.rows.resize_with(f + 1, Vec::new);
        }
        let row = &mut self.rows[f];
        if row.is_empty() {
            row.resize(DENSE, Link::default());
        }
        &mut row[t]
    }

    /// `a` and `b` have a connection (a message between them arrived).
    pub fn connect(&mut self, a: NodeId, b: NodeId) {
        if !self.link(a, b).connected {
            self.link(a, b).connected = true;
            self.link(b, a).connected = true;
        }
    }

    /// Forgets the connection between `a` and `b`; returns whether there was one.
    pub fn disconnect(&mut self, a: NodeId, b: NodeId) -> bool {
        let was = self.link(a, b).connected;
        self.link(a, b).connected = false;
        self.link(b, a).connected = false;
        was
    }

    /// Forgets every connection of `id`; returns the peers that were on the other end, in
    /// `NodeId` order.
    pub fn drop_connections(&mut self, id: NodeId) -> Vec<NodeId> {
        let mut peers: Vec<NodeId> = Vec::new();
        if let Some(row) = dense(id).and_then(|i| self.rows.get(i)) {
            peers.extend((0..row.len()).filter(|&j| row[j].connected).map(node_at));
        }
        peers.extend(
            self.far
                .iter()
                .filter(|((from, _), link)| *from == id && link.connected)
                .map(|((_, to), _)| *to),
        );
        peers.sort();
        for &peer in &peers {
            self.link(id, peer).connected = false;
            self.link(peer, id).connected = false;
        }
        peers
    }

    /// When a message sent now from `from` arrives at `to`.
    pub fn arrival(&mut self, from: NodeId, to: NodeId, now: SimTime, rng: &mut Rng) -> SimTime {
        if from == to {
            return now.plus_us(LOOPBACK_US);
        }
        let latency = (self.base_latency_us(from, to) as i64 + rng.jitter(self.jitter_us)).max(1);
        let link = self.link(from, to);
        let at = now.plus_us(latency as u64).max(link.last_arrival);
        link.last_arrival = at;
        at
    }

    /// When the last message sent from `from` to `to` arrives (a connection's close comes
    /// after it, as TCP's FIN follows the data).
    pub fn last_arrival(&mut self, from: NodeId, to: NodeId) -> SimTime {
        self.link(from, to).last_arrival
    }

    /// The one-way latency without jitter (for a connection reset to travel back).
    pub fn base_latency_us(&self, from: NodeId, to: NodeId) -> u64 {
        if self.extra_latency_us.is_empty() {
            return self.latency_us;
        }
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

    /// Every number `dense` gives maps back to its node, in `NodeId` order.
    #[test]
    fn dense_numbers_follow_node_order() {
        let nodes: Vec<NodeId> = (0..DENSE).map(node_at).collect();
        for (i, node) in nodes.iter().enumerate() {
            assert_eq!(dense(*node), Some(i), "{node:?}");
        }
        assert!(nodes.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(dense(NodeId::broker(BROKERS)), None);
        assert_eq!(dense(NodeId::Client(0)), None);
    }

    /// A dead node's peers come back in `NodeId` order, real clients' connections among
    /// them, and only once.
    #[test]
    fn dropped_connections_name_each_peer_once() {
        let mut net = Network::new(1_000, 0);
        let me = NodeId::broker(2);
        let peers = [
            NodeId::Client(7),
            NodeId::Consumer(0),
            NodeId::broker(1),
            NodeId::ZooKeeper(3),
            NodeId::Producer(CLIENTS + 1),
        ];
        for (i, peer) in peers.iter().enumerate() {
            if i % 2 == 0 {
                net.connect(me, *peer);
            } else {
                net.connect(*peer, me);
            }
        }
        net.connect(NodeId::broker(1), NodeId::broker(3));
        let mut expected = peers.to_vec();
        expected.sort();
        assert_eq!(net.drop_connections(me), expected);
        assert!(net.drop_connections(me).is_empty());
        assert_eq!(
            net.drop_connections(NodeId::broker(3)),
            vec![NodeId::broker(1)]
        );
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
