//! Identifiers of the things in a cluster, named as Kafka names them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A topic name. Shared, because every request and every replica names its topic.
pub type TopicName = Arc<str>;
/// A position in a partition log. Offsets are assigned by the leader and never reused.
pub type Offset = u64;
/// A leader epoch (KIP-101): bumped by the controller each time a partition gets a new leader.
pub type LeaderEpoch = u32;

/// The first KRaft controller's `node.id` when controllers are separate nodes (Kafka's docs
/// number them 3000, 3001, …: brokers and controllers share one id space).
pub const CONTROLLER_ID_BASE: u32 = 3000;

/// A broker's integer id (`broker.id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BrokerId(pub u32);

impl fmt::Display for BrokerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Every node that sends or receives messages in the simulation. Written as `zk:1`,
/// `broker:2`, `controller:3000`, `producer:0`, `consumer:0` or `admin` in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum NodeId {
    /// A ZooKeeper server (`myid`, from 1).
    ZooKeeper(u32),
    Broker(BrokerId),
    /// A producer client, by its index in the scenario (hand-produced records use their own).
    Producer(u32),
    /// A consumer client, by its index in the scenario.
    Consumer(u32),
    /// The admin client that runs `kafka-topics.sh`-style requests for commands.
    Admin,
    /// A real Kafka client's connection from outside the simulation (`kplay serve`), by the
    /// gateway's connection number. Its messages are handed to the gateway, not to a node.
    Client(u32),
    /// A KRaft controller (`process.roles=controller`) by its `node.id`: 3000, 3001, … as in
    /// Kafka's docs, since brokers and controllers share the id space.
    Controller(u32),
}

impl NodeId {
    pub fn broker(id: u32) -> NodeId {
        NodeId::Broker(BrokerId(id))
    }

    /// The node's name for people: "broker 2", "ZooKeeper 1", "producer 0".
    pub fn label(&self) -> String {
        match self {
            NodeId::ZooKeeper(id) => format!("ZooKeeper {id}"),
            NodeId::Broker(id) => format!("broker {id}"),
            NodeId::Producer(id) => format!("producer {id}"),
            NodeId::Consumer(id) => format!("consumer {id}"),
            NodeId::Admin => "admin client".to_string(),
            NodeId::Client(id) => format!("client connection {id}"),
            NodeId::Controller(id) => format!("controller {id}"),
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeId::ZooKeeper(id) => write!(f, "zk:{id}"),
            NodeId::Broker(id) => write!(f, "broker:{id}"),
            NodeId::Producer(id) => write!(f, "producer:{id}"),
            NodeId::Consumer(id) => write!(f, "consumer:{id}"),
            NodeId::Admin => write!(f, "admin"),
            NodeId::Client(id) => write!(f, "client:{id}"),
            NodeId::Controller(id) => write!(f, "controller:{id}"),
        }
    }
}

impl From<NodeId> for String {
    fn from(n: NodeId) -> String {
        n.to_string()
    }
}

impl TryFrom<String> for NodeId {
    type Error = String;
    fn try_from(s: String) -> Result<NodeId, String> {
        s.parse()
    }
}

impl std::str::FromStr for NodeId {
    type Err = String;
    fn from_str(s: &str) -> Result<NodeId, String> {
        if s == "admin" {
            return Ok(NodeId::Admin);
        }
        let bad = || {
            format!("'{s}' is not a node: use zk:N, broker:N, controller:N, producer:N, consumer:N or admin")
        };
        let (kind, n) = s.split_once(':').ok_or_else(bad)?;
        let n: u32 = n.parse().map_err(|_| bad())?;
        match kind {
            "zk" | "zookeeper" => Ok(NodeId::ZooKeeper(n)),
            "broker" => Ok(NodeId::Broker(BrokerId(n))),
            "producer" => Ok(NodeId::Producer(n)),
            "consumer" => Ok(NodeId::Consumer(n)),
            "client" => Ok(NodeId::Client(n)),
            "controller" => Ok(NodeId::Controller(n)),
            _ => Err(bad()),
        }
    }
}

/// A partition of a topic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    pub topic: TopicName,
    pub partition: u32,
}

// Ordered by topic name, then partition. Most names are clones of one `Arc`, so the same
// allocation answers "equal" without comparing the bytes (as `Arc`'s own `==` already does):
// maps keyed by partition are searched on every fetch, and fifty partitions of
// `__consumer_offsets` share a long prefix.
impl PartialOrd for TopicPartition {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TopicPartition {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let topic = if Arc::ptr_eq(&self.topic, &other.topic) {
            std::cmp::Ordering::Equal
        } else {
            cmp_names(&self.topic, &other.topic)
        };
        topic.then(self.partition.cmp(&other.partition))
    }
}

/// Byte order, as `str::cmp`; names that differ early (`orders` against the fifty
/// `__consumer_offsets` keys a broker's map holds) are told apart without calling `memcmp`.
pub(crate) fn cmp_names(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for (x, y) in a.iter().zip(b).take(8) {
        if x != y {
            return x.cmp(y);
        }
    }
    if a.len().min(b.len()) <= 8 {
        // One is a prefix of the other: the shorter comes first.
        return a.len().cmp(&b.len());
    }
    a.cmp(b)
}

impl TopicPartition {
    pub fn new(topic: &TopicName, partition: u32) -> Self {
        TopicPartition {
            topic: topic.clone(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn partitions_order_by_topic_name_then_number_whether_or_not_names_share_an_arc() {
        let shared: TopicName = "orders".into();
        let separate: TopicName = "orders".into();
        let a = TopicPartition::new(&shared, 1);
        assert_eq!(a, TopicPartition::new(&separate, 1));
        assert_eq!(a.cmp(&TopicPartition::new(&separate, 1)), Ordering::Equal);
        assert_eq!(a.cmp(&TopicPartition::new(&shared, 2)), Ordering::Less);
        assert_ne!(a, TopicPartition::new(&shared, 2));
        let before: TopicName = "billing".into();
        assert_eq!(a.cmp(&TopicPartition::new(&before, 9)), Ordering::Greater);
        assert_ne!(a, TopicPartition::new(&before, 1));
        // Names that share a prefix longer than the inline comparison, or end inside it.
        for (x, y) in [
            ("__consumer_offsets", "__consumer_offsetz"),
            ("ord", "orders"),
            ("", "a"),
            ("bench", "bench"),
            ("orders-1", "orders-1x"),
            ("orders-10", "orders-1"),
            ("orders-1", "orders-1"),
        ] {
            assert_eq!(cmp_names(x, y), x.cmp(y));
            assert_eq!(cmp_names(y, x), y.cmp(x));
        }
    }
}
