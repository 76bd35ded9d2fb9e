//! KRaft mode's control plane (Kafka 4.x): controllers that elect a leader among themselves
//! through the [`crate::raft`] quorum and keep the cluster's metadata in its log,
//! `__cluster_metadata`, instead of in ZooKeeper.
//!
//! - [`image`]: the metadata image, the log's records applied in order (controllers and
//!   brokers each keep one).
//! - [`controller`]: the quorum controller: the active one decides by writing records
//!   (broker registration, heartbeats and fencing, topic creation, ISR changes).
//! - [`features`]: feature levels (`metadata.version`, ELR) supported and bootstrapped.
//! - [`loader`]: applies the committed log to an image, with snapshots (KIP-630).
//! - [`partition_change`]: a partition's next ISR, ELR and leader (Kafka's
//!   `PartitionChangeBuilder`).
//! - [`server`]: a controller node: a voter with the quorum controller on top.

pub mod controller;
pub mod features;
pub mod image;
pub mod loader;
pub mod partition_change;
pub mod server;
