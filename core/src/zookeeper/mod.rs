//! The ZooKeeper ensemble Kafka (in ZooKeeper mode) keeps its metadata in: servers that elect a
//! leader and replicate writes to a majority, and the client library brokers use.

pub mod client;
pub mod messages;
pub mod server;
pub mod tree;

/// Kafka's znode paths.
pub mod paths {
    pub const BROKER_IDS: &str = "/brokers/ids";
    pub const BROKER_TOPICS: &str = "/brokers/topics";
    pub const CONTROLLER: &str = "/controller";
    pub const CONTROLLER_EPOCH: &str = "/controller_epoch";
    pub const CONFIG_TOPICS: &str = "/config/topics";
    pub const CONFIG_BROKERS: &str = "/config/brokers";

    pub fn broker(id: u32) -> String {
        format!("{BROKER_IDS}/{id}")
    }
    pub fn topic(topic: &str) -> String {
        format!("{BROKER_TOPICS}/{topic}")
    }
    pub fn partition_state(topic: &str, partition: u32) -> String {
        format!("{BROKER_TOPICS}/{topic}/partitions/{partition}/state")
    }
    pub fn topic_config(topic: &str) -> String {
        format!("{CONFIG_TOPICS}/{topic}")
    }

    /// `/config/brokers/<id>`, or `/config/brokers/<default>` for the cluster-wide settings.
    pub fn broker_config(broker: Option<u32>) -> String {
        match broker {
            Some(id) => format!("{CONFIG_BROKERS}/{id}"),
            None => format!("{CONFIG_BROKERS}/<default>"),
        }
    }
}
