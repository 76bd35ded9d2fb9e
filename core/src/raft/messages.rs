//! The quorum's RPCs with Kafka's names and the fields that matter
//! (`clients/src/main/resources/common/message/{Vote,BeginQuorumEpoch,EndQuorumEpoch,Fetch,
//! FetchSnapshot}*.json`). The topic partition is always `__cluster_metadata-0`, so it is left
//! out; `leader_id: None` is Kafka's `-1`.

use super::log::{LogEntry, MetadataRecord, OffsetAndEpoch};
use super::{Epoch, ReplicaId};
use crate::ids::Offset;

/// The errors the quorum's responses carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RaftError {
    /// The request's epoch is older than the receiver's.
    FencedLeaderEpoch,
    /// The request's epoch is newer than the receiver's.
    UnknownLeaderEpoch,
    /// Fetch sent to a replica that is not the leader.
    NotLeaderOrFollower,
    /// A Vote whose last epoch is not below its epoch.
    InvalidRequest,
    /// FetchSnapshot for a snapshot the leader does not have.
    SnapshotNotFound,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RaftMessage {
    /// A Candidate asks for a vote; a Prospective asks for a pre-vote (KIP-996), which is not
    /// persisted and does not bump the epoch.
    VoteRequest {
        replica_epoch: Epoch,
        replica_id: ReplicaId,
        last_offset_epoch: Epoch,
        last_offset: Offset,
        pre_vote: bool,
    },
    VoteResponse {
        error: Option<RaftError>,
        leader_epoch: Epoch,
        leader_id: Option<ReplicaId>,
        vote_granted: bool,
    },
    /// A new leader tells the voters; retried until each acknowledges (replication is pulled,
    /// so an idle voter would otherwise never learn of it).
    BeginQuorumEpochRequest {
        leader_id: ReplicaId,
        leader_epoch: Epoch,
    },
    BeginQuorumEpochResponse {
        error: Option<RaftError>,
        leader_epoch: Epoch,
        leader_id: Option<ReplicaId>,
    },
    /// A leader resigning on purpose; the most caught-up voters first in `preferred_successors`.
    EndQuorumEpochRequest {
        leader_id: ReplicaId,
        leader_epoch: Epoch,
        preferred_successors: Vec<ReplicaId>,
    },
    EndQuorumEpochResponse {
        error: Option<RaftError>,
        leader_epoch: Epoch,
        leader_id: Option<ReplicaId>,
    },
    /// A follower or observer pulls from its log end.
    FetchRequest {
        replica_id: ReplicaId,
        current_leader_epoch: Epoch,
        fetch_offset: Offset,
        last_fetched_epoch: Epoch,
        /// The leader may hold an empty answer this long (`MAX_FETCH_WAIT_MS`).
        max_wait_ms: u64,
    },
    FetchResponse {
        error: Option<RaftError>,
        /// `CurrentLeader`.
        leader_epoch: Epoch,
        leader_id: Option<ReplicaId>,
        high_watermark: Offset,
        log_start_offset: Offset,
        /// Truncate to this before fetching again.
        diverging_epoch: Option<OffsetAndEpoch>,
        /// The fetch offset is below the log start: fetch this snapshot.
        snapshot_id: Option<OffsetAndEpoch>,
        records: Vec<LogEntry>,
    },
    FetchSnapshotRequest {
        replica_id: ReplicaId,
        current_leader_epoch: Epoch,
        snapshot_id: OffsetAndEpoch,
        position: u64,
    },
    FetchSnapshotResponse {
        error: Option<RaftError>,
        leader_epoch: Epoch,
        leader_id: Option<ReplicaId>,
        snapshot_id: OffsetAndEpoch,
        /// The snapshot's records (a whole snapshot in one answer for now).
        records: Vec<MetadataRecord>,
    },
}

impl RaftMessage {
    /// The Kafka API the message belongs to.
    pub fn api(&self) -> &'static str {
        match self {
            RaftMessage::VoteRequest { .. } | RaftMessage::VoteResponse { .. } => "Vote",
            RaftMessage::BeginQuorumEpochRequest { .. }
            | RaftMessage::BeginQuorumEpochResponse { .. } => "BeginQuorumEpoch",
            RaftMessage::EndQuorumEpochRequest { .. }
            | RaftMessage::EndQuorumEpochResponse { .. } => "EndQuorumEpoch",
            RaftMessage::FetchRequest { .. } | RaftMessage::FetchResponse { .. } => "Fetch",
            RaftMessage::FetchSnapshotRequest { .. }
            | RaftMessage::FetchSnapshotResponse { .. } => "FetchSnapshot",
        }
    }

    pub fn wire_bytes(&self) -> usize {
        match self {
            RaftMessage::FetchResponse { records, .. } => 64 + records.len() * 64,
            RaftMessage::FetchSnapshotResponse { records, .. } => 64 + records.len() * 64,
            _ => 48,
        }
    }
}
