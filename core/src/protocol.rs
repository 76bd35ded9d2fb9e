//! Messages on the simulated network, named after Kafka's APIs (`Produce`, `Fetch`, `Metadata`,
//! `LeaderAndIsr`, `UpdateMetadata`, `AlterPartition`, …) and ZooKeeper's protocol.

use crate::config::{Acks, DynamicBrokerConfig, IsolationLevel, TopicConfig};
use crate::group::assignor::{Assignor, Subscription};
use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicName, TopicPartition};
use crate::log::record::RecordBatch;
use crate::raft::messages::RaftMessage;
use crate::zookeeper::messages::ZkMessage;
use serde::{Deserialize, Serialize};

/// Matches a response to its request, per client.
pub type Correlation = u64;

/// Kafka's error codes, by their Java names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    NotLeaderOrFollower,
    LeaderNotAvailable,
    UnknownTopicOrPartition,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    RequestTimedOut,
    NetworkException,
    OffsetOutOfRange,
    OutOfOrderSequenceNumber,
    InvalidRecord,
    FencedLeaderEpoch,
    StaleControllerEpoch,
    NotController,
    TopicAlreadyExists,
    InvalidReplicationFactor,
    InvalidPartitions,
    InvalidTopicException,
    /// The producer gave up: `delivery.timeout.ms` passed.
    DeliveryTimeout,
    CoordinatorNotAvailable,
    NotCoordinator,
    CoordinatorLoadInProgress,
    IllegalGeneration,
    UnknownMemberId,
    RebalanceInProgress,
    /// KIP-394: a new member must join again with the id the coordinator gave it.
    MemberIdRequired,
    InconsistentGroupProtocol,
    InvalidSessionTimeout,
    FencedInstanceId,
    GroupMaxSizeReached,
    /// A newer epoch of this transactional id exists: this producer is a zombie.
    ProducerFenced,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    InvalidTxnState,
    /// The previous transaction of this id is still completing: retry.
    ConcurrentTransactions,
    /// A transaction holding offsets for this partition is still open: retry.
    UnstableOffsetCommit,
    /// ElectLeaders: the partition already has the leader this election would pick.
    ElectionNotNeeded,
    /// ElectLeaders (preferred): the preferred replica is not alive or not in sync.
    PreferredLeaderNotAvailable,
    /// ElectLeaders (unclean): no live replica to make leader.
    EligibleLeadersNotAvailable,
    /// KIP-227: an incremental fetch named a session the leader does not hold.
    FetchSessionIdNotFound,
    /// KIP-227: an incremental fetch's epoch is not the next in its session.
    InvalidFetchSessionEpoch,
}

impl ErrorCode {
    /// Whether Kafka's clients retry on this error.
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            ErrorCode::NotLeaderOrFollower
                | ErrorCode::LeaderNotAvailable
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::NotEnoughReplicas
                | ErrorCode::NotEnoughReplicasAfterAppend
                | ErrorCode::RequestTimedOut
                | ErrorCode::NetworkException
                | ErrorCode::FencedLeaderEpoch
                | ErrorCode::CoordinatorNotAvailable
                | ErrorCode::NotCoordinator
                | ErrorCode::CoordinatorLoadInProgress
                | ErrorCode::ConcurrentTransactions
                | ErrorCode::UnstableOffsetCommit
        )
    }

    /// Whether a group member must find its coordinator again.
    pub fn needs_coordinator_lookup(self) -> bool {
        matches!(
            self,
            ErrorCode::CoordinatorNotAvailable
                | ErrorCode::NotCoordinator
                | ErrorCode::RequestTimedOut
                | ErrorCode::NetworkException
        )
    }

    /// The Java name, e.g. `REBALANCE_IN_PROGRESS`.
    pub fn name(self) -> String {
        serde_json::to_string(&self)
            .unwrap_or_default()
            .trim_matches('"')
            .to_string()
    }

    /// Whether the client should refresh its metadata before retrying.
    pub fn invalidates_metadata(self) -> bool {
        matches!(
            self,
            ErrorCode::NotLeaderOrFollower
                | ErrorCode::LeaderNotAvailable
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::NetworkException
                | ErrorCode::FencedLeaderEpoch
                | ErrorCode::RequestTimedOut
        )
    }
}

/// A partition's leadership as the controller decided it (`/brokers/topics/T/partitions/P/state`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    pub tp: TopicPartition,
    pub leader: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    pub replicas: Vec<BrokerId>,
    /// The ZooKeeper version of the state znode: bumped on every leader or ISR change.
    pub partition_epoch: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMetadata {
    pub partition: u32,
    pub leader: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    pub offline_replicas: Vec<BrokerId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMetadata {
    pub name: TopicName,
    pub error: Option<ErrorCode>,
    pub partitions: Vec<PartitionMetadata>,
}

/// A topic to create: `kafka-topics.sh --create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTopic {
    pub name: TopicName,
    pub partitions: u32,
    pub replication_factor: u32,
    pub config: TopicConfig,
}

/// Which offset `ListOffsets` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark: the next offset a consumer would see.
    Latest,
}

/// KIP-227 fetch session constants (Kafka's `FetchMetadata`).
pub const INVALID_SESSION_ID: u32 = 0;
/// A full fetch that asks for a new session.
pub const INITIAL_EPOCH: i32 = 0;
/// A full fetch without a session.
pub const FINAL_EPOCH: i32 = -1;

#[derive(Clone, Debug, PartialEq)]
pub struct FetchPartition {
    pub tp: TopicPartition,
    pub fetch_offset: Offset,
    /// The epoch of the last batch the fetcher has (KIP-320/KIP-595 divergence check).
    pub last_fetched_epoch: Option<LeaderEpoch>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FetchPartitionResponse {
    pub tp: TopicPartition,
    pub error: Option<ErrorCode>,
    pub high_watermark: Offset,
    /// The HW held back by open transactions: how far `read_committed` reads.
    pub last_stable_offset: Offset,
    /// For `read_committed`: aborted transactions in the returned range, as
    /// (producer id, first offset).
    pub aborted_transactions: Vec<(i64, Offset)>,
    pub log_start_offset: Offset,
    /// Set when the fetcher's log diverged from the leader's: truncate to this end offset.
    pub diverging_epoch: Option<(LeaderEpoch, Offset)>,
    pub batches: Vec<RecordBatch>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProducePartitionResponse {
    pub tp: TopicPartition,
    pub error: Option<ErrorCode>,
    pub base_offset: Offset,
}

/// What `FindCoordinator` looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoordinatorType {
    Group,
    Transaction,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    MetadataRequest {
        correlation: Correlation,
        topics: Vec<TopicName>,
        allow_auto_topic_creation: bool,
    },
    MetadataResponse {
        correlation: Correlation,
        brokers: Vec<BrokerId>,
        controller: Option<BrokerId>,
        topics: Vec<TopicMetadata>,
    },
    ProduceRequest {
        correlation: Correlation,
        acks: Acks,
        timeout_ms: u64,
        partitions: Vec<(TopicPartition, RecordBatch)>,
    },
    ProduceResponse {
        correlation: Correlation,
        partitions: Vec<ProducePartitionResponse>,
    },
    FetchRequest {
        correlation: Correlation,
        /// `Some` for a follower replica, `None` for a consumer.
        replica_id: Option<BrokerId>,
        isolation_level: IsolationLevel,
        max_wait_ms: u64,
        min_bytes: u32,
        max_bytes: u32,
        /// KIP-227: the fetch session (`INVALID_SESSION_ID` for none) and this request's
        /// place in it (`INITIAL_EPOCH` opens one, `FINAL_EPOCH` fetches without one).
        session_id: u32,
        session_epoch: i32,
        /// A full fetch names every partition; an incremental one only those whose fetch
        /// position changed, and lists in `forgotten` those the session should drop.
        partitions: Vec<FetchPartition>,
        forgotten: Vec<TopicPartition>,
    },
    FetchResponse {
        correlation: Correlation,
        /// Answers a follower replica (replication traffic) rather than a consumer.
        to_replica: bool,
        /// A session error: the fetcher starts over with a full fetch.
        error: Option<ErrorCode>,
        /// The session the leader keeps for the fetcher (`INVALID_SESSION_ID` for none). An
        /// incremental answer lists only partitions with records, a new HW or log start, or an
        /// error.
        session_id: u32,
        partitions: Vec<FetchPartitionResponse>,
    },
    ListOffsetsRequest {
        correlation: Correlation,
        partitions: Vec<(TopicPartition, OffsetSpec)>,
    },
    ListOffsetsResponse {
        correlation: Correlation,
        partitions: Vec<(TopicPartition, Result<Offset, ErrorCode>)>,
    },
    InitProducerIdRequest {
        correlation: Correlation,
        /// Set for a transactional producer: its coordinator answers, bumping the epoch.
        transactional_id: Option<String>,
        transaction_timeout_ms: u64,
    },
    InitProducerIdResponse {
        correlation: Correlation,
        error: Option<ErrorCode>,
        producer_id: i64,
        producer_epoch: i16,
    },
    AddPartitionsToTxnRequest {
        correlation: Correlation,
        transactional_id: String,
        producer_id: i64,
        producer_epoch: i16,
        partitions: Vec<TopicPartition>,
    },
    AddPartitionsToTxnResponse {
        correlation: Correlation,
        error: Option<ErrorCode>,
    },
    AddOffsetsToTxnRequest {
        correlation: Correlation,
        transactional_id: String,
        producer_id: i64,
        producer_epoch: i16,
        group_id: String,
    },
    AddOffsetsToTxnResponse {
        correlation: Correlation,
        error: Option<ErrorCode>,
    },
    EndTxnRequest {
        correlation: Correlation,
        transactional_id: String,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    },
    EndTxnResponse {
        correlation: Correlation,
        error: Option<ErrorCode>,
    },
    /// Transaction coordinator → partition leaders: write a COMMIT or ABORT marker.
    WriteTxnMarkersRequest {
        correlation: Correlation,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        partitions: Vec<TopicPartition>,
    },
    WriteTxnMarkersResponse {
        correlation: Correlation,
        producer_id: i64,
        partitions: Vec<(TopicPartition, Option<ErrorCode>)>,
    },
    /// Offsets committed inside a transaction: they count once the transaction commits.
    TxnOffsetCommitRequest {
        correlation: Correlation,
        // Boxed strs: this rare message would otherwise set the size of every message.
        transactional_id: Box<str>,
        group_id: String,
        producer_id: i64,
        producer_epoch: i16,
        generation: i32,
        member_id: Box<str>,
        offsets: Vec<(TopicPartition, Offset)>,
    },
    TxnOffsetCommitResponse {
        correlation: Correlation,
        partitions: Vec<(TopicPartition, Option<ErrorCode>)>,
    },
    CreateTopicsRequest {
        correlation: Correlation,
        topic: Box<NewTopic>,
    },
    /// KIP-460: elect the preferred replica, or (unclean) any live replica of a leaderless
    /// partition. `None`: every partition.
    ElectLeadersRequest {
        correlation: Correlation,
        unclean: bool,
        partitions: Option<Vec<TopicPartition>>,
    },
    ElectLeadersResponse {
        correlation: Correlation,
        results: Vec<(TopicPartition, Option<ErrorCode>)>,
    },
    /// A topic's new set of config overrides (`kafka-configs.sh --alter`).
    AlterConfigsRequest {
        correlation: Correlation,
        topic: TopicName,
        config: Box<TopicConfig>,
    },
    AlterConfigsResponse {
        correlation: Correlation,
        topic: TopicName,
        error: Option<ErrorCode>,
    },
    /// Dynamic broker settings for one broker (`Some`) or every broker (`None`: the default).
    AlterBrokerConfigsRequest {
        correlation: Correlation,
        broker: Option<BrokerId>,
        config: Box<DynamicBrokerConfig>,
    },
    /// Controller → brokers: dynamic broker settings changed (Kafka's brokers watch
    /// `/config/changes`).
    BrokerConfigChanged {
        broker: Option<BrokerId>,
        config: Box<DynamicBrokerConfig>,
    },
    /// Controller → brokers: a topic's configs changed. (Kafka's brokers watch
    /// `/config/changes` and re-read `/config/topics/T`; kplay's controller tells them.)
    TopicConfigChanged {
        topic: TopicName,
        config: Box<TopicConfig>,
    },
    CreateTopicsResponse {
        correlation: Correlation,
        topic: TopicName,
        error: Option<ErrorCode>,
    },
    CreatePartitionsRequest {
        correlation: Correlation,
        topic: TopicName,
        count: u32,
    },
    CreatePartitionsResponse {
        correlation: Correlation,
        topic: TopicName,
        error: Option<ErrorCode>,
    },
    DeleteTopicsRequest {
        correlation: Correlation,
        topic: TopicName,
    },
    DeleteTopicsResponse {
        correlation: Correlation,
        topic: TopicName,
        error: Option<ErrorCode>,
    },
    /// Controller → replicas: become leader or follower of these partitions.
    LeaderAndIsr {
        controller_id: BrokerId,
        controller_epoch: u32,
        partitions: Vec<PartitionState>,
        /// Settings of the partitions' topics. (Kafka's brokers read them from
        /// `/config/topics`; shipping them here saves a ZooKeeper round trip.)
        topic_configs: Vec<(TopicName, TopicConfig)>,
    },
    /// Controller → replicas: stop serving and delete these partitions (topic deletion).
    StopReplica {
        controller_id: BrokerId,
        controller_epoch: u32,
        partitions: Vec<TopicPartition>,
    },
    /// Controller → every broker: the cluster's metadata for their caches.
    UpdateMetadata {
        controller_id: BrokerId,
        controller_epoch: u32,
        live_brokers: Vec<BrokerId>,
        partitions: Vec<PartitionState>,
        deleted_topics: Vec<TopicName>,
    },
    /// Leader → controller: please change the ISR (KIP-497).
    AlterPartition {
        correlation: Correlation,
        broker_id: BrokerId,
        tp: TopicPartition,
        leader_epoch: LeaderEpoch,
        new_isr: Vec<BrokerId>,
        partition_epoch: u32,
    },
    AlterPartitionResponse {
        correlation: Correlation,
        tp: TopicPartition,
        result: Result<Box<PartitionState>, ErrorCode>,
    },
    /// A client's first request on a new connection (Kafka's clients send it before anything
    /// else): the connection is ready once it is answered.
    ApiVersionsRequest {
        correlation: Correlation,
    },
    ApiVersionsResponse {
        correlation: Correlation,
    },
    /// Broker → controller: I am stopping cleanly; move leadership away from me first.
    ControlledShutdownRequest {
        correlation: Correlation,
        broker_id: BrokerId,
    },
    /// The partitions the broker still leads (none when every one found another leader).
    ControlledShutdownResponse {
        correlation: Correlation,
        error: Option<ErrorCode>,
        remaining: Vec<TopicPartition>,
    },
    FindCoordinatorRequest {
        correlation: Correlation,
        key: String,
        key_type: CoordinatorType,
    },
    FindCoordinatorResponse {
        correlation: Correlation,
        error: Option<ErrorCode>,
        coordinator: Option<BrokerId>,
    },
    JoinGroupRequest {
        correlation: Correlation,
        group_id: String,
        session_timeout_ms: u64,
        rebalance_timeout_ms: u64,
        /// The assignors this member supports, preferred first.
        protocols: Vec<Assignor>,
        /// Member id ("" for a new member), instance id, topics and owned partitions.
        subscription: Box<Subscription>,
    },
    JoinGroupResponse {
        correlation: Correlation,
        error: Option<ErrorCode>,
        generation: i32,
        protocol: Option<Assignor>,
        leader: String,
        member_id: String,
        /// Every member's subscription, for the leader only.
        members: Vec<Subscription>,
    },
    SyncGroupRequest {
        correlation: Correlation,
        group_id: String,
        generation: i32,
        member_id: String,
        /// The leader's assignment for every member; empty from the others.
        assignments: Vec<(String, Vec<TopicPartition>)>,
    },
    SyncGroupResponse {
        correlation: Correlation,
        error: Option<ErrorCode>,
        assignment: Vec<TopicPartition>,
    },
    HeartbeatRequest {
        correlation: Correlation,
        group_id: String,
        generation: i32,
        member_id: String,
    },
    HeartbeatResponse {
        correlation: Correlation,
        error: Option<ErrorCode>,
    },
    LeaveGroupRequest {
        correlation: Correlation,
        group_id: String,
        member_id: String,
        reason: String,
    },
    LeaveGroupResponse {
        correlation: Correlation,
        error: Option<ErrorCode>,
    },
    OffsetCommitRequest {
        correlation: Correlation,
        group_id: String,
        /// -1 with an empty member id: a commit from outside the group protocol.
        generation: i32,
        member_id: String,
        offsets: Vec<(TopicPartition, Offset)>,
    },
    OffsetCommitResponse {
        correlation: Correlation,
        partitions: Vec<(TopicPartition, Option<ErrorCode>)>,
    },
    OffsetFetchRequest {
        correlation: Correlation,
        group_id: String,
        /// Empty: every partition the group has an offset for.
        partitions: Vec<TopicPartition>,
        /// KIP-447: refuse (UNSTABLE_OFFSET_COMMIT) while a transaction holds offsets for one
        /// of these partitions. `read_committed` consumers ask for this.
        require_stable: bool,
    },
    OffsetFetchResponse {
        correlation: Correlation,
        error: Option<ErrorCode>,
        offsets: Vec<(TopicPartition, Option<Offset>)>,
    },
    ZooKeeper(Box<ZkMessage>),
    /// KRaft's quorum: elections and the metadata log's replication.
    Raft(Box<RaftMessage>),
}

/// Every message that carries a correlation id, for [`Message::correlation`] and
/// [`Message::set_correlation`].
macro_rules! with_correlation {
    ($msg:expr, $c:ident => $found:expr, $otherwise:expr) => {
        with_correlation!(@arms $msg, $c, $found, $otherwise,
            MetadataRequest,
            MetadataResponse,
            ProduceRequest,
            ProduceResponse,
            FetchRequest,
            FetchResponse,
            ListOffsetsRequest,
            ListOffsetsResponse,
            InitProducerIdRequest,
            InitProducerIdResponse,
            AddPartitionsToTxnRequest,
            AddPartitionsToTxnResponse,
            AddOffsetsToTxnRequest,
            AddOffsetsToTxnResponse,
            EndTxnRequest,
            EndTxnResponse,
            WriteTxnMarkersRequest,
            WriteTxnMarkersResponse,
            TxnOffsetCommitRequest,
            TxnOffsetCommitResponse,
            CreateTopicsRequest,
            ElectLeadersRequest,
            ElectLeadersResponse,
            AlterConfigsRequest,
            AlterConfigsResponse,
            AlterBrokerConfigsRequest,
            CreateTopicsResponse,
            CreatePartitionsRequest,
            CreatePartitionsResponse,
            DeleteTopicsRequest,
            DeleteTopicsResponse,
            AlterPartition,
            AlterPartitionResponse,
            ControlledShutdownRequest,
            ControlledShutdownResponse,
            ApiVersionsRequest,
            ApiVersionsResponse,
            FindCoordinatorRequest,
            FindCoordinatorResponse,
            JoinGroupRequest,
            JoinGroupResponse,
            SyncGroupRequest,
            SyncGroupResponse,
            HeartbeatRequest,
            HeartbeatResponse,
            LeaveGroupRequest,
            LeaveGroupResponse,
            OffsetCommitRequest,
            OffsetCommitResponse,
            OffsetFetchRequest,
            OffsetFetchResponse)
    };
    (@arms $msg:expr, $c:ident, $found:expr, $otherwise:expr, $($v:ident),*) => {
        match $msg {
            $(Message::$v { correlation: $c, .. })|* => $found,
            _ => $otherwise,
        }
    };
}

/// What a message is, for colouring it in the UI and counting traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Produce,
    ProduceAck,
    ConsumerFetch,
    Replication,
    Metadata,
    Controller,
    Admin,
    /// FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit/Fetch.
    Group,
    /// InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, WriteTxnMarkers,
    /// TxnOffsetCommit.
    Transaction,
    ZooKeeper,
}

impl Message {
    /// The correlation id of a request or response (`None` for controller pushes and
    /// ZooKeeper traffic, which carry their own).
    pub fn correlation(&self) -> Option<Correlation> {
        with_correlation!(self, c => Some(*c), None)
    }

    /// Numbers a request (or response) so its answer can be matched to it.
    pub fn set_correlation(&mut self, to: Correlation) {
        with_correlation!(self, c => *c = to, ())
    }

    pub fn kind(&self) -> MessageKind {
        match self {
            Message::MetadataRequest { .. } | Message::MetadataResponse { .. } => {
                MessageKind::Metadata
            }
            Message::ProduceRequest { .. } => MessageKind::Produce,
            Message::ProduceResponse { .. } => MessageKind::ProduceAck,
            Message::FetchRequest {
                replica_id: Some(_),
                ..
            } => MessageKind::Replication,
            Message::FetchRequest {
                replica_id: None, ..
            } => MessageKind::ConsumerFetch,
            Message::FetchResponse {
                to_replica: true, ..
            } => MessageKind::Replication,
            Message::FetchResponse {
                to_replica: false, ..
            } => MessageKind::ConsumerFetch,
            Message::ListOffsetsRequest { .. }
            | Message::ListOffsetsResponse { .. }
            | Message::ApiVersionsRequest { .. }
            | Message::ApiVersionsResponse { .. } => MessageKind::Metadata,
            Message::InitProducerIdRequest { .. }
            | Message::InitProducerIdResponse { .. }
            | Message::AddPartitionsToTxnRequest { .. }
            | Message::AddPartitionsToTxnResponse { .. }
            | Message::AddOffsetsToTxnRequest { .. }
            | Message::AddOffsetsToTxnResponse { .. }
            | Message::EndTxnRequest { .. }
            | Message::EndTxnResponse { .. }
            | Message::WriteTxnMarkersRequest { .. }
            | Message::WriteTxnMarkersResponse { .. }
            | Message::TxnOffsetCommitRequest { .. }
            | Message::TxnOffsetCommitResponse { .. } => MessageKind::Transaction,
            Message::CreateTopicsRequest { .. }
            | Message::CreateTopicsResponse { .. }
            | Message::ElectLeadersRequest { .. }
            | Message::ElectLeadersResponse { .. }
            | Message::AlterConfigsRequest { .. }
            | Message::AlterConfigsResponse { .. }
            | Message::AlterBrokerConfigsRequest { .. }
            | Message::CreatePartitionsRequest { .. }
            | Message::CreatePartitionsResponse { .. }
            | Message::DeleteTopicsRequest { .. }
            | Message::DeleteTopicsResponse { .. } => MessageKind::Admin,
            Message::LeaderAndIsr { .. }
            | Message::StopReplica { .. }
            | Message::TopicConfigChanged { .. }
            | Message::BrokerConfigChanged { .. }
            | Message::UpdateMetadata { .. }
            | Message::AlterPartition { .. }
            | Message::AlterPartitionResponse { .. }
            | Message::ControlledShutdownRequest { .. }
            | Message::ControlledShutdownResponse { .. } => MessageKind::Controller,
            Message::FindCoordinatorRequest { .. }
            | Message::FindCoordinatorResponse { .. }
            | Message::JoinGroupRequest { .. }
            | Message::JoinGroupResponse { .. }
            | Message::SyncGroupRequest { .. }
            | Message::SyncGroupResponse { .. }
            | Message::HeartbeatRequest { .. }
            | Message::HeartbeatResponse { .. }
            | Message::LeaveGroupRequest { .. }
            | Message::LeaveGroupResponse { .. }
            | Message::OffsetCommitRequest { .. }
            | Message::OffsetCommitResponse { .. }
            | Message::OffsetFetchRequest { .. }
            | Message::OffsetFetchResponse { .. } => MessageKind::Group,
            Message::ZooKeeper(_) => MessageKind::ZooKeeper,
            Message::Raft(_) => MessageKind::Controller,
        }
    }

    /// The Kafka API (or ZooKeeper operation) this message belongs to.
    pub fn api(&self) -> &'static str {
        match self {
            Message::MetadataRequest { .. } | Message::MetadataResponse { .. } => "Metadata",
            Message::ProduceRequest { .. } | Message::ProduceResponse { .. } => "Produce",
            Message::FetchRequest { .. } | Message::FetchResponse { .. } => "Fetch",
            Message::ListOffsetsRequest { .. } | Message::ListOffsetsResponse { .. } => {
                "ListOffsets"
            }
            Message::InitProducerIdRequest { .. } | Message::InitProducerIdResponse { .. } => {
                "InitProducerId"
            }
            Message::CreateTopicsRequest { .. } | Message::CreateTopicsResponse { .. } => {
                "CreateTopics"
            }
            Message::ElectLeadersRequest { .. } | Message::ElectLeadersResponse { .. } => {
                "ElectLeaders"
            }
            Message::AlterConfigsRequest { .. }
            | Message::AlterConfigsResponse { .. }
            | Message::AlterBrokerConfigsRequest { .. } => "AlterConfigs",
            Message::BrokerConfigChanged { .. } => "BrokerConfigChanged",
            Message::TopicConfigChanged { .. } => "TopicConfigChanged",
            Message::CreatePartitionsRequest { .. } | Message::CreatePartitionsResponse { .. } => {
                "CreatePartitions"
            }
            Message::DeleteTopicsRequest { .. } | Message::DeleteTopicsResponse { .. } => {
                "DeleteTopics"
            }
            Message::LeaderAndIsr { .. } => "LeaderAndIsr",
            Message::StopReplica { .. } => "StopReplica",
            Message::UpdateMetadata { .. } => "UpdateMetadata",
            Message::AlterPartition { .. } | Message::AlterPartitionResponse { .. } => {
                "AlterPartition"
            }
            Message::ControlledShutdownRequest { .. }
            | Message::ControlledShutdownResponse { .. } => "ControlledShutdown",
            Message::ApiVersionsRequest { .. } | Message::ApiVersionsResponse { .. } => {
                "ApiVersions"
            }
            Message::FindCoordinatorRequest { .. } | Message::FindCoordinatorResponse { .. } => {
                "FindCoordinator"
            }
            Message::AddPartitionsToTxnRequest { .. }
            | Message::AddPartitionsToTxnResponse { .. } => "AddPartitionsToTxn",
            Message::AddOffsetsToTxnRequest { .. } | Message::AddOffsetsToTxnResponse { .. } => {
                "AddOffsetsToTxn"
            }
            Message::EndTxnRequest { .. } | Message::EndTxnResponse { .. } => "EndTxn",
            Message::WriteTxnMarkersRequest { .. } | Message::WriteTxnMarkersResponse { .. } => {
                "WriteTxnMarkers"
            }
            Message::TxnOffsetCommitRequest { .. } | Message::TxnOffsetCommitResponse { .. } => {
                "TxnOffsetCommit"
            }
            Message::JoinGroupRequest { .. } | Message::JoinGroupResponse { .. } => "JoinGroup",
            Message::SyncGroupRequest { .. } | Message::SyncGroupResponse { .. } => "SyncGroup",
            Message::HeartbeatRequest { .. } | Message::HeartbeatResponse { .. } => "Heartbeat",
            Message::LeaveGroupRequest { .. } | Message::LeaveGroupResponse { .. } => "LeaveGroup",
            Message::OffsetCommitRequest { .. } | Message::OffsetCommitResponse { .. } => {
                "OffsetCommit"
            }
            Message::OffsetFetchRequest { .. } | Message::OffsetFetchResponse { .. } => {
                "OffsetFetch"
            }
            Message::ZooKeeper(m) => m.api(),
            Message::Raft(m) => m.api(),
        }
    }

    /// Approximate bytes on the wire: Kafka's request header plus what the message carries.
    pub fn wire_bytes(&self) -> u32 {
        const HEADER: usize = 24;
        let body = match self {
            Message::ProduceRequest { partitions, .. } => partitions
                .iter()
                .map(|(tp, b)| tp.topic.len() + 8 + b.size_bytes())
                .sum(),
            Message::FetchResponse { partitions, .. } => partitions
                .iter()
                .map(|p| {
                    p.tp.topic.len() + 40 + p.batches.iter().map(|b| b.size_bytes()).sum::<usize>()
                })
                .sum(),
            Message::FetchRequest {
                partitions,
                forgotten,
                ..
            } => {
                partitions
                    .iter()
                    .map(|p| p.tp.topic.len() + 24)
                    .sum::<usize>()
                    + forgotten.iter().map(|tp| tp.topic.len() + 8).sum::<usize>()
            }
            Message::ProduceResponse { partitions, .. } => partitions.len() * 32,
            Message::MetadataResponse {
                topics, brokers, ..
            } => {
                brokers.len() * 24
                    + topics
                        .iter()
                        .map(|t| t.name.len() + t.partitions.len() * 40)
                        .sum::<usize>()
            }
            Message::LeaderAndIsr { partitions, .. }
            | Message::UpdateMetadata { partitions, .. } => partitions.len() * 48,
            Message::JoinGroupResponse { members, .. } => members
                .iter()
                .map(|m| m.member_id.len() + 16 + m.owned_partitions.len() * 8)
                .sum(),
            Message::SyncGroupRequest { assignments, .. } => {
                assignments.iter().map(|(m, a)| m.len() + a.len() * 8).sum()
            }
            Message::OffsetCommitRequest { offsets, .. } => offsets.len() * 16,
            Message::ZooKeeper(m) => m.wire_bytes(),
            _ => 32,
        };
        (HEADER + body).min(u32::MAX as usize) as u32
    }
}
