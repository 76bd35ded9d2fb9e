//! ZooKeeper's wire messages: between servers (election, ZAB proposals) and with clients.

use super::tree::{DataTree, Stat};
use crate::ids::NodeId;
use serde::{Deserialize, Serialize};

pub type SessionId = u64;
/// A transaction id: the leader's epoch in the high 32 bits, a counter in the low 32.
pub type Zxid = u64;

pub fn zxid(epoch: u32, counter: u32) -> Zxid {
    ((epoch as u64) << 32) | counter as u64
}

/// A server's role in the ensemble.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    Looking,
    Following,
    Leading,
}

/// A vote in fast leader election: the proposed leader with its (epoch, last zxid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vote {
    pub leader: u32,
    pub zxid: Zxid,
    pub epoch: u32,
}

impl Vote {
    /// ZooKeeper's `totalOrderPredicate`: higher epoch, then higher zxid, then higher id.
    pub fn beats(&self, other: &Vote) -> bool {
        (self.epoch, self.zxid, self.leader) > (other.epoch, other.zxid, other.leader)
    }
}

/// Operations a client can ask for. Reads are served by any server; writes go to the leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ZkOp {
    Create {
        path: String,
        data: String,
        ephemeral: bool,
    },
    Delete {
        path: String,
        version: Option<i32>,
    },
    SetData {
        path: String,
        data: String,
        version: Option<i32>,
    },
    /// Fails with `BadVersion` unless the node has this version (used inside `Multi`).
    Check {
        path: String,
        version: i32,
    },
    /// All or nothing.
    Multi(Vec<ZkOp>),
    GetData {
        path: String,
        watch: bool,
    },
    GetChildren {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
    },
}

impl ZkOp {
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            ZkOp::GetData { .. } | ZkOp::GetChildren { .. } | ZkOp::Exists { .. }
        )
    }
    pub fn name(&self) -> &'static str {
        match self {
            ZkOp::Create { .. } => "create",
            ZkOp::Delete { .. } => "delete",
            ZkOp::SetData { .. } => "setData",
            ZkOp::Check { .. } => "check",
            ZkOp::Multi(_) => "multi",
            ZkOp::GetData { .. } => "getData",
            ZkOp::GetChildren { .. } => "getChildren",
            ZkOp::Exists { .. } => "exists",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ZkReply {
    Created(String),
    Data { data: String, stat: Stat },
    Children(Vec<String>),
    Exists(Option<Stat>),
    Stat(Stat),
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ZkError {
    NoNode,
    NodeExists,
    BadVersion,
    NotEmpty,
    NoChildrenForEphemerals,
    SessionExpired,
    ConnectionLoss,
}

/// A state change replicated through ZAB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Txn {
    CreateSession { session: SessionId, timeout_ms: u64 },
    CloseSession { session: SessionId },
    Write { session: SessionId, op: ZkOp },
}

/// Where a write came from, so the server holding the client's connection can answer it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    pub server: u32,
    pub client: NodeId,
    pub xid: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WatchKind {
    NodeCreated,
    NodeDeleted,
    NodeDataChanged,
    NodeChildrenChanged,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ZkMessage {
    // Server to server.
    Notification {
        vote: Vote,
        round: u64,
        state: PeerState,
    },
    FollowerInfo {
        accepted_epoch: u32,
        last_zxid: Zxid,
    },
    /// The leader's state for a new follower (ZooKeeper's SNAP sync) and the new epoch.
    NewLeader {
        epoch: u32,
        snapshot: Box<DataTree>,
    },
    AckNewLeader {
        epoch: u32,
    },
    Proposal {
        zxid: Zxid,
        txn: Txn,
        origin: Option<Origin>,
    },
    Ack {
        zxid: Zxid,
    },
    Commit {
        zxid: Zxid,
    },
    LeaderPing,
    /// A follower's answer to a ping, with the client sessions it saw since the last one.
    FollowerPing {
        touched: Vec<SessionId>,
    },
    /// A follower passes a client's write to the leader.
    Forward {
        origin: Origin,
        txn: Txn,
    },
    /// The leader rejected a forwarded write before proposing it.
    WriteFailed {
        origin: Origin,
        error: ZkError,
    },
    // Client and server.
    Connect {
        session: Option<SessionId>,
        timeout_ms: u64,
    },
    ConnectResponse {
        result: Result<(SessionId, u64), ZkError>,
    },
    Request {
        xid: u64,
        op: ZkOp,
    },
    Response {
        xid: u64,
        result: Result<ZkReply, ZkError>,
    },
    /// Re-registers a reconnecting client's watches (ZooKeeper's `SetWatches`).
    SetWatches {
        data: Vec<String>,
        child: Vec<String>,
        last_zxid: Zxid,
    },
    WatchEvent {
        path: String,
        kind: WatchKind,
    },
    Ping,
    Pong {
        zxid: Zxid,
    },
    CloseSession,
    /// The server stopped serving (it lost its leader or quorum) and closed the connection.
    ConnectionClosed,
}

impl ZkMessage {
    pub fn api(&self) -> &'static str {
        match self {
            ZkMessage::Notification { .. } => "ZkElection",
            ZkMessage::FollowerInfo { .. }
            | ZkMessage::NewLeader { .. }
            | ZkMessage::AckNewLeader { .. } => "ZkSync",
            ZkMessage::Proposal { .. } | ZkMessage::Ack { .. } | ZkMessage::Commit { .. } => {
                "ZkProposal"
            }
            ZkMessage::LeaderPing | ZkMessage::FollowerPing { .. } => "ZkPing",
            ZkMessage::Forward { .. } | ZkMessage::WriteFailed { .. } => "ZkForward",
            ZkMessage::Connect { .. } | ZkMessage::ConnectResponse { .. } => "ZkConnect",
            ZkMessage::Request { op, .. } if op.is_read() => "ZkRead",
            ZkMessage::Request { .. } => "ZkWrite",
            ZkMessage::Response { .. } => "ZkResponse",
            ZkMessage::SetWatches { .. } | ZkMessage::WatchEvent { .. } => "ZkWatch",
            ZkMessage::Ping | ZkMessage::Pong { .. } => "ZkPing",
            ZkMessage::CloseSession | ZkMessage::ConnectionClosed => "ZkClose",
        }
    }

    pub fn wire_bytes(&self) -> usize {
        match self {
            ZkMessage::NewLeader { snapshot, .. } => snapshot.approx_bytes(),
            ZkMessage::Request {
                op: ZkOp::Create { data, .. } | ZkOp::SetData { data, .. },
                ..
            } => 64 + data.len(),
            ZkMessage::Response {
                result: Ok(ZkReply::Data { data, .. }),
                ..
            } => 64 + data.len(),
            ZkMessage::Response {
                result: Ok(ZkReply::Children(c)),
                ..
            } => 32 + c.iter().map(|c| c.len() + 4).sum::<usize>(),
            _ => 48,
        }
    }
}
