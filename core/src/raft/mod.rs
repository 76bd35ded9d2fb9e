//! KRaft's quorum (Kafka's `org.apache.kafka.raft`, KIP-595 with KIP-996 pre-vote): the voters
//! elect a leader per epoch, and every replica pulls the metadata log `__cluster_metadata-0`
//! from it with Fetch. A sans-IO component: a host hands it messages and timers through a
//! scoped `Ctx` (the node-facing API) and carries out what it sends.
//!
//! - [`log`]: the replicated log (entries, epoch cache, high watermark) and its metadata records.
//! - [`messages`]: the quorum's RPCs (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch, FetchSnapshot).
//! - [`state`]: the roles of `QuorumState` and what each may grant.
//! - [`client`]: `KafkaRaftClient`'s handlers and timers; `client/transitions.rs` enters each
//!   role, `client/fetch.rs` replicates by Fetch and moves the high watermark.

pub mod client;
pub mod log;
pub mod messages;
pub mod state;

/// A KRaft node's id (`node.id`).
pub type ReplicaId = u32;
/// A quorum epoch: bumped by each candidacy; the leader's epoch tags its records.
pub type Epoch = u32;

/// The quorum's settings (`QuorumConfig`), with Kafka's defaults (the same in 3.9 and 4.0);
/// a scenario sets them under Kafka's names in [`crate::config::KRaftConfig`].
#[derive(Clone, Debug, PartialEq)]
pub struct RaftConfig {
    /// The election timeout is random in `[T, 2T)` (`QuorumState.randomElectionTimeoutMs`).
    pub election_timeout_ms: u64,
    /// A follower with no successful fetch for this long starts an election; a leader resigns
    /// after 1.5× this without fetches from a majority (check-quorum).
    pub fetch_timeout_ms: u64,
    /// The cap of the binary exponential backoff after a lost election.
    pub election_backoff_max_ms: u64,
    pub request_timeout_ms: u64,
    pub retry_backoff_ms: u64,
    /// The leader batches appends for up to this long.
    pub append_linger_ms: u64,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig::from(&crate::config::KRaftConfig::default())
    }
}

impl From<&crate::config::KRaftConfig> for RaftConfig {
    fn from(k: &crate::config::KRaftConfig) -> RaftConfig {
        RaftConfig {
            election_timeout_ms: k.election_timeout_ms,
            fetch_timeout_ms: k.fetch_timeout_ms,
            election_backoff_max_ms: k.election_backoff_max_ms,
            request_timeout_ms: k.request_timeout_ms,
            retry_backoff_ms: k.retry_backoff_ms,
            append_linger_ms: k.append_linger_ms,
        }
    }
}
