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
    /// KRaft: another incarnation of this broker id still holds a live session.
    DuplicateBrokerRegistration,
    /// KRaft: a heartbeat names a broker epoch that is not the registered one.
    StaleBrokerEpoch,
    /// KRaft AlterPartition: the new ISR names a fenced broker or one in controlled shutdown.
    IneligibleReplica,
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
    MetadataRequest(msg::MetadataRequest),
    MetadataResponse(msg::MetadataResponse),
    ProduceRequest(msg::ProduceRequest),
    ProduceResponse(msg::ProduceResponse),
    FetchRequest(msg::FetchRequest),
    FetchResponse(msg::FetchResponse),
    ListOffsetsRequest(msg::ListOffsetsRequest),
    ListOffsetsResponse(msg::ListOffsetsResponse),
    InitProducerIdRequest(msg::InitProducerIdRequest),
    InitProducerIdResponse(msg::InitProducerIdResponse),
    AddPartitionsToTxnRequest(msg::AddPartitionsToTxnRequest),
    AddPartitionsToTxnResponse(msg::AddPartitionsToTxnResponse),
    AddOffsetsToTxnRequest(msg::AddOffsetsToTxnRequest),
    AddOffsetsToTxnResponse(msg::AddOffsetsToTxnResponse),
    EndTxnRequest(msg::EndTxnRequest),
    EndTxnResponse(msg::EndTxnResponse),
    /// Transaction coordinator → partition leaders: write a COMMIT or ABORT marker.
    WriteTxnMarkersRequest(msg::WriteTxnMarkersRequest),
    WriteTxnMarkersResponse(msg::WriteTxnMarkersResponse),
    /// Offsets committed inside a transaction: they count once the transaction commits.
    TxnOffsetCommitRequest(msg::TxnOffsetCommitRequest),
    TxnOffsetCommitResponse(msg::TxnOffsetCommitResponse),
    CreateTopicsRequest(msg::CreateTopicsRequest),
    /// KIP-460: elect the preferred replica, or (unclean) any live replica of a leaderless
    /// partition. `None`: every partition.
    ElectLeadersRequest(msg::ElectLeadersRequest),
    ElectLeadersResponse(msg::ElectLeadersResponse),
    /// A topic's new set of config overrides (`kafka-configs.sh --alter`).
    AlterConfigsRequest(msg::AlterConfigsRequest),
    AlterConfigsResponse(msg::AlterConfigsResponse),
    /// Dynamic broker settings for one broker (`Some`) or every broker (`None`: the default).
    AlterBrokerConfigsRequest(msg::AlterBrokerConfigsRequest),
    /// Controller → brokers: dynamic broker settings changed (Kafka's brokers watch
    /// `/config/changes`).
    BrokerConfigChanged(msg::BrokerConfigChanged),
    /// Controller → brokers: a topic's configs changed. (Kafka's brokers watch
    /// `/config/changes` and re-read `/config/topics/T`; kplay's controller tells them.)
    TopicConfigChanged(msg::TopicConfigChanged),
    CreateTopicsResponse(msg::CreateTopicsResponse),
    CreatePartitionsRequest(msg::CreatePartitionsRequest),
    CreatePartitionsResponse(msg::CreatePartitionsResponse),
    DeleteTopicsRequest(msg::DeleteTopicsRequest),
    DeleteTopicsResponse(msg::DeleteTopicsResponse),
    /// Controller → replicas: become leader or follower of these partitions.
    LeaderAndIsr(msg::LeaderAndIsr),
    /// Controller → replicas: stop serving and delete these partitions (topic deletion).
    StopReplica(msg::StopReplica),
    /// Controller → every broker: the cluster's metadata for their caches.
    UpdateMetadata(msg::UpdateMetadata),
    /// Leader → controller: please change the ISR (KIP-497).
    AlterPartition(msg::AlterPartition),
    AlterPartitionResponse(msg::AlterPartitionResponse),
    /// A client's first request on a new connection (Kafka's clients send it before anything
    /// else): the connection is ready once it is answered.
    ApiVersionsRequest(msg::ApiVersionsRequest),
    ApiVersionsResponse(msg::ApiVersionsResponse),
    /// Broker → controller: I am stopping cleanly; move leadership away from me first.
    ControlledShutdownRequest(msg::ControlledShutdownRequest),
    /// The partitions the broker still leads (none when every one found another leader).
    ControlledShutdownResponse(msg::ControlledShutdownResponse),
    FindCoordinatorRequest(msg::FindCoordinatorRequest),
    FindCoordinatorResponse(msg::FindCoordinatorResponse),
    JoinGroupRequest(msg::JoinGroupRequest),
    JoinGroupResponse(msg::JoinGroupResponse),
    SyncGroupRequest(msg::SyncGroupRequest),
    SyncGroupResponse(msg::SyncGroupResponse),
    HeartbeatRequest(msg::HeartbeatRequest),
    HeartbeatResponse(msg::HeartbeatResponse),
    LeaveGroupRequest(msg::LeaveGroupRequest),
    LeaveGroupResponse(msg::LeaveGroupResponse),
    OffsetCommitRequest(msg::OffsetCommitRequest),
    OffsetCommitResponse(msg::OffsetCommitResponse),
    OffsetFetchRequest(msg::OffsetFetchRequest),
    OffsetFetchResponse(msg::OffsetFetchResponse),
    ZooKeeper(Box<ZkMessage>),
    /// KRaft's quorum: elections and the metadata log's replication.
    Raft(Box<RaftMessage>),
    /// KRaft broker → active controller: register this incarnation (KIP-631).
    BrokerRegistrationRequest(msg::BrokerRegistrationRequest),
    BrokerRegistrationResponse(msg::BrokerRegistrationResponse),
    /// KRaft broker → active controller: I am alive, and have read the metadata log this far.
    BrokerHeartbeatRequest(msg::BrokerHeartbeatRequest),
    BrokerHeartbeatResponse(msg::BrokerHeartbeatResponse),
}

/// The requests and responses a `Message` carries, one struct per Kafka API and direction, so a
/// handler takes the message it handles.
pub mod msg {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    pub struct MetadataRequest {
        pub correlation: Correlation,
        pub topics: Vec<TopicName>,
        pub allow_auto_topic_creation: bool,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct MetadataResponse {
        pub correlation: Correlation,
        pub brokers: Vec<BrokerId>,
        pub controller: Option<BrokerId>,
        pub topics: Vec<TopicMetadata>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct ProduceRequest {
        pub correlation: Correlation,
        pub acks: Acks,
        pub timeout_ms: u64,
        pub partitions: Vec<(TopicPartition, RecordBatch)>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct ProduceResponse {
        pub correlation: Correlation,
        pub partitions: Vec<ProducePartitionResponse>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct FetchRequest {
        pub correlation: Correlation,
        /// `Some` for a follower replica, `None` for a consumer.
        pub replica_id: Option<BrokerId>,
        pub isolation_level: IsolationLevel,
        pub max_wait_ms: u64,
        pub min_bytes: u32,
        pub max_bytes: u32,
        /// KIP-227: the fetch session (`INVALID_SESSION_ID` for none) and this request's
        /// place in it (`INITIAL_EPOCH` opens one, `FINAL_EPOCH` fetches without one).
        pub session_id: u32,
        pub session_epoch: i32,
        /// A full fetch names every partition; an incremental one only those whose fetch
        /// position changed, and lists in `forgotten` those the session should drop.
        pub partitions: Vec<FetchPartition>,
        pub forgotten: Vec<TopicPartition>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct FetchResponse {
        pub correlation: Correlation,
        /// Answers a follower replica (replication traffic) rather than a consumer.
        pub to_replica: bool,
        /// A session error: the fetcher starts over with a full fetch.
        pub error: Option<ErrorCode>,
        /// The session the leader keeps for the fetcher (`INVALID_SESSION_ID` for none). An
        /// incremental answer lists only partitions with records, a new HW or log start, or an
        /// error.
        pub session_id: u32,
        pub partitions: Vec<FetchPartitionResponse>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct ListOffsetsRequest {
        pub correlation: Correlation,
        pub partitions: Vec<(TopicPartition, OffsetSpec)>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct ListOffsetsResponse {
        pub correlation: Correlation,
        pub partitions: Vec<(TopicPartition, Result<Offset, ErrorCode>)>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct InitProducerIdRequest {
        pub correlation: Correlation,
        /// Set for a transactional producer: its coordinator answers, bumping the epoch.
        pub transactional_id: Option<String>,
        pub transaction_timeout_ms: u64,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct InitProducerIdResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
        pub producer_id: i64,
        pub producer_epoch: i16,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct AddPartitionsToTxnRequest {
        pub correlation: Correlation,
        pub transactional_id: String,
        pub producer_id: i64,
        pub producer_epoch: i16,
        pub partitions: Vec<TopicPartition>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct AddPartitionsToTxnResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct AddOffsetsToTxnRequest {
        pub correlation: Correlation,
        pub transactional_id: String,
        pub producer_id: i64,
        pub producer_epoch: i16,
        pub group_id: String,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct AddOffsetsToTxnResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct EndTxnRequest {
        pub correlation: Correlation,
        pub transactional_id: String,
        pub producer_id: i64,
        pub producer_epoch: i16,
        pub commit: bool,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct EndTxnResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
    }

    /// Transaction coordinator → partition leaders: write a COMMIT or ABORT marker.
    #[derive(Clone, Debug, PartialEq)]
    pub struct WriteTxnMarkersRequest {
        pub correlation: Correlation,
        pub producer_id: i64,
        pub producer_epoch: i16,
        pub commit: bool,
        pub partitions: Vec<TopicPartition>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct WriteTxnMarkersResponse {
        pub correlation: Correlation,
        pub producer_id: i64,
        pub partitions: Vec<(TopicPartition, Option<ErrorCode>)>,
    }

    /// Offsets committed inside a transaction: they count once the transaction commits.
    #[derive(Clone, Debug, PartialEq)]
    pub struct TxnOffsetCommitRequest {
        pub correlation: Correlation,
        // Boxed strs: this rare message would otherwise set the size of every message.
        pub transactional_id: Box<str>,
        pub group_id: String,
        pub producer_id: i64,
        pub producer_epoch: i16,
        pub generation: i32,
        pub member_id: Box<str>,
        pub offsets: Vec<(TopicPartition, Offset)>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct TxnOffsetCommitResponse {
        pub correlation: Correlation,
        pub partitions: Vec<(TopicPartition, Option<ErrorCode>)>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct CreateTopicsRequest {
        pub correlation: Correlation,
        pub topic: Box<NewTopic>,
    }

    /// KIP-460: elect the preferred replica, or (unclean) any live replica of a leaderless
    /// partition. `None`: every partition.
    #[derive(Clone, Debug, PartialEq)]
    pub struct ElectLeadersRequest {
        pub correlation: Correlation,
        pub unclean: bool,
        pub partitions: Option<Vec<TopicPartition>>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct ElectLeadersResponse {
        pub correlation: Correlation,
        pub results: Vec<(TopicPartition, Option<ErrorCode>)>,
    }

    /// A topic's new set of config overrides (`kafka-configs.sh --alter`).
    #[derive(Clone, Debug, PartialEq)]
    pub struct AlterConfigsRequest {
        pub correlation: Correlation,
        pub topic: TopicName,
        pub config: Box<TopicConfig>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct AlterConfigsResponse {
        pub correlation: Correlation,
        pub topic: TopicName,
        pub error: Option<ErrorCode>,
    }

    /// Dynamic broker settings for one broker (`Some`) or every broker (`None`: the default).
    #[derive(Clone, Debug, PartialEq)]
    pub struct AlterBrokerConfigsRequest {
        pub correlation: Correlation,
        pub broker: Option<BrokerId>,
        pub config: Box<DynamicBrokerConfig>,
    }

    /// Controller → brokers: dynamic broker settings changed (Kafka's brokers watch
    /// `/config/changes`).
    #[derive(Clone, Debug, PartialEq)]
    pub struct BrokerConfigChanged {
        pub broker: Option<BrokerId>,
        pub config: Box<DynamicBrokerConfig>,
    }

    /// Controller → brokers: a topic's configs changed. (Kafka's brokers watch
    /// `/config/changes` and re-read `/config/topics/T`; kplay's controller tells them.)
    #[derive(Clone, Debug, PartialEq)]
    pub struct TopicConfigChanged {
        pub topic: TopicName,
        pub config: Box<TopicConfig>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct CreateTopicsResponse {
        pub correlation: Correlation,
        pub topic: TopicName,
        pub error: Option<ErrorCode>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct CreatePartitionsRequest {
        pub correlation: Correlation,
        pub topic: TopicName,
        pub count: u32,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct CreatePartitionsResponse {
        pub correlation: Correlation,
        pub topic: TopicName,
        pub error: Option<ErrorCode>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct DeleteTopicsRequest {
        pub correlation: Correlation,
        pub topic: TopicName,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct DeleteTopicsResponse {
        pub correlation: Correlation,
        pub topic: TopicName,
        pub error: Option<ErrorCode>,
    }

    /// Controller → replicas: become leader or follower of these partitions.
    #[derive(Clone, Debug, PartialEq)]
    pub struct LeaderAndIsr {
        pub controller_id: BrokerId,
        pub controller_epoch: u32,
        pub partitions: Vec<PartitionState>,
        /// Settings of the partitions' topics. (Kafka's brokers read them from
        /// `/config/topics`; shipping them here saves a ZooKeeper round trip.)
        pub topic_configs: Vec<(TopicName, TopicConfig)>,
    }

    /// Controller → replicas: stop serving and delete these partitions (topic deletion).
    #[derive(Clone, Debug, PartialEq)]
    pub struct StopReplica {
        pub controller_id: BrokerId,
        pub controller_epoch: u32,
        pub partitions: Vec<TopicPartition>,
    }

    /// Controller → every broker: the cluster's metadata for their caches.
    #[derive(Clone, Debug, PartialEq)]
    pub struct UpdateMetadata {
        pub controller_id: BrokerId,
        pub controller_epoch: u32,
        pub live_brokers: Vec<BrokerId>,
        pub partitions: Vec<PartitionState>,
        pub deleted_topics: Vec<TopicName>,
    }

    /// Leader → controller: please change the ISR (KIP-497).
    #[derive(Clone, Debug, PartialEq)]
    pub struct AlterPartition {
        pub correlation: Correlation,
        pub broker_id: BrokerId,
        pub tp: TopicPartition,
        pub leader_epoch: LeaderEpoch,
        pub new_isr: Vec<BrokerId>,
        pub partition_epoch: u32,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct AlterPartitionResponse {
        pub correlation: Correlation,
        pub tp: TopicPartition,
        pub result: Result<Box<PartitionState>, ErrorCode>,
    }

    /// A client's first request on a new connection (Kafka's clients send it before anything
    /// else): the connection is ready once it is answered.
    #[derive(Clone, Debug, PartialEq)]
    pub struct ApiVersionsRequest {
        pub correlation: Correlation,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct ApiVersionsResponse {
        pub correlation: Correlation,
    }

    /// Broker → controller: I am stopping cleanly; move leadership away from me first.
    #[derive(Clone, Debug, PartialEq)]
    pub struct ControlledShutdownRequest {
        pub correlation: Correlation,
        pub broker_id: BrokerId,
    }

    /// The partitions the broker still leads (none when every one found another leader).
    #[derive(Clone, Debug, PartialEq)]
    pub struct ControlledShutdownResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
        pub remaining: Vec<TopicPartition>,
    }

    /// KRaft broker → active controller (`BrokerRegistrationRequest`).
    #[derive(Clone, Debug, PartialEq)]
    pub struct BrokerRegistrationRequest {
        pub correlation: Correlation,
        pub broker_id: BrokerId,
        /// New at every start of the broker process.
        pub incarnation_id: u64,
    }

    /// The broker's epoch (the offset of its RegisterBroker record) once it is committed, or
    /// `NotController` / `DuplicateBrokerRegistration`.
    #[derive(Clone, Debug, PartialEq)]
    pub struct BrokerRegistrationResponse {
        pub correlation: Correlation,
        pub result: Result<u64, ErrorCode>,
    }

    /// KRaft broker → active controller every `broker.heartbeat.interval.ms`.
    #[derive(Clone, Debug, PartialEq)]
    pub struct BrokerHeartbeatRequest {
        pub correlation: Correlation,
        pub broker_id: BrokerId,
        pub broker_epoch: u64,
        /// How far the broker has applied the metadata log.
        pub current_metadata_offset: u64,
        pub want_fence: bool,
        pub want_shut_down: bool,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct BrokerHeartbeatResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
        pub is_caught_up: bool,
        pub is_fenced: bool,
        pub should_shut_down: bool,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct FindCoordinatorRequest {
        pub correlation: Correlation,
        pub key: String,
        pub key_type: CoordinatorType,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct FindCoordinatorResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
        pub coordinator: Option<BrokerId>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct JoinGroupRequest {
        pub correlation: Correlation,
        pub group_id: String,
        pub session_timeout_ms: u64,
        pub rebalance_timeout_ms: u64,
        /// The assignors this member supports, preferred first.
        pub protocols: Vec<Assignor>,
        /// Member id ("" for a new member), instance id, topics and owned partitions.
        pub subscription: Box<Subscription>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct JoinGroupResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
        pub generation: i32,
        pub protocol: Option<Assignor>,
        pub leader: String,
        pub member_id: String,
        /// Every member's subscription, for the leader only.
        pub members: Vec<Subscription>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct SyncGroupRequest {
        pub correlation: Correlation,
        pub group_id: String,
        pub generation: i32,
        pub member_id: String,
        /// The leader's assignment for every member; empty from the others.
        pub assignments: Vec<(String, Vec<TopicPartition>)>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct SyncGroupResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
        pub assignment: Vec<TopicPartition>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct HeartbeatRequest {
        pub correlation: Correlation,
        pub group_id: String,
        pub generation: i32,
        pub member_id: String,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct HeartbeatResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct LeaveGroupRequest {
        pub correlation: Correlation,
        pub group_id: String,
        pub member_id: String,
        pub reason: String,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct LeaveGroupResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct OffsetCommitRequest {
        pub correlation: Correlation,
        pub group_id: String,
        /// -1 with an empty member id: a commit from outside the group protocol.
        pub generation: i32,
        pub member_id: String,
        pub offsets: Vec<(TopicPartition, Offset)>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct OffsetCommitResponse {
        pub correlation: Correlation,
        pub partitions: Vec<(TopicPartition, Option<ErrorCode>)>,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct OffsetFetchRequest {
        pub correlation: Correlation,
        pub group_id: String,
        /// Empty: every partition the group has an offset for.
        pub partitions: Vec<TopicPartition>,
        /// KIP-447: refuse (UNSTABLE_OFFSET_COMMIT) while a transaction holds offsets for one
        /// of these partitions. `read_committed` consumers ask for this.
        pub require_stable: bool,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct OffsetFetchResponse {
        pub correlation: Correlation,
        pub error: Option<ErrorCode>,
        pub offsets: Vec<(TopicPartition, Option<Offset>)>,
    }
}

/// How an answer about broker settings names what it changed: `broker:1` or
/// `broker:<default>` (in the place a topic answer names its topic).
pub fn broker_resource(broker: Option<BrokerId>) -> String {
    match broker {
        Some(b) => format!("broker:{b}"),
        None => "broker:<default>".to_string(),
    }
}

/// What a node that is not (or not yet) the active controller answers to a controller request.
pub fn not_controller_response(request: &Message) -> Option<Message> {
    let e = Some(ErrorCode::NotController);
    match request {
        Message::CreateTopicsRequest(msg::CreateTopicsRequest { correlation, topic }) => {
            Some(Message::CreateTopicsResponse(msg::CreateTopicsResponse {
                correlation: *correlation,
                topic: topic.name.clone(),
                error: e,
            }))
        }
        Message::CreatePartitionsRequest(msg::CreatePartitionsRequest {
            correlation,
            topic,
            ..
        }) => Some(Message::CreatePartitionsResponse(
            msg::CreatePartitionsResponse {
                correlation: *correlation,
                topic: topic.clone(),
                error: e,
            },
        )),
        Message::ElectLeadersRequest(msg::ElectLeadersRequest {
            correlation,
            partitions,
            ..
        }) => Some(Message::ElectLeadersResponse(msg::ElectLeadersResponse {
            correlation: *correlation,
            results: partitions
                .iter()
                .flatten()
                .map(|tp| (tp.clone(), e))
                .collect(),
        })),
        Message::AlterConfigsRequest(msg::AlterConfigsRequest {
            correlation, topic, ..
        }) => Some(Message::AlterConfigsResponse(msg::AlterConfigsResponse {
            correlation: *correlation,
            topic: topic.clone(),
            error: e,
        })),
        Message::AlterBrokerConfigsRequest(msg::AlterBrokerConfigsRequest {
            correlation,
            broker,
            ..
        }) => Some(Message::AlterConfigsResponse(msg::AlterConfigsResponse {
            correlation: *correlation,
            topic: broker_resource(*broker).into(),
            error: e,
        })),
        Message::DeleteTopicsRequest(msg::DeleteTopicsRequest { correlation, topic }) => {
            Some(Message::DeleteTopicsResponse(msg::DeleteTopicsResponse {
                correlation: *correlation,
                topic: topic.clone(),
                error: e,
            }))
        }
        Message::AlterPartition(msg::AlterPartition {
            correlation, tp, ..
        }) => Some(Message::AlterPartitionResponse(
            msg::AlterPartitionResponse {
                correlation: *correlation,
                tp: tp.clone(),
                result: Err(ErrorCode::NotController),
            },
        )),
        Message::ControlledShutdownRequest(msg::ControlledShutdownRequest {
            correlation, ..
        }) => Some(Message::ControlledShutdownResponse(
            msg::ControlledShutdownResponse {
                correlation: *correlation,
                error: e,
                remaining: Vec::new(),
            },
        )),
        Message::BrokerRegistrationRequest(r) => Some(Message::BrokerRegistrationResponse(
            msg::BrokerRegistrationResponse {
                correlation: r.correlation,
                result: Err(ErrorCode::NotController),
            },
        )),
        Message::BrokerHeartbeatRequest(r) => Some(Message::BrokerHeartbeatResponse(
            msg::BrokerHeartbeatResponse {
                correlation: r.correlation,
                error: e,
                is_caught_up: false,
                is_fenced: true,
                should_shut_down: false,
            },
        )),
        _ => None,
    }
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
            OffsetFetchResponse,
            BrokerRegistrationRequest,
            BrokerRegistrationResponse,
            BrokerHeartbeatRequest,
            BrokerHeartbeatResponse)
    };
    (@arms $msg:expr, $c:ident, $found:expr, $otherwise:expr, $($v:ident),*) => {
        match $msg {
            $(Message::$v(msg::$v { correlation: $c, .. }))|* => $found,
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
            Message::MetadataRequest(..) | Message::MetadataResponse(..) => MessageKind::Metadata,
            Message::ProduceRequest(..) => MessageKind::Produce,
            Message::ProduceResponse(..) => MessageKind::ProduceAck,
            Message::FetchRequest(msg::FetchRequest {
                replica_id: Some(_),
                ..
            }) => MessageKind::Replication,
            Message::FetchRequest(msg::FetchRequest {
                replica_id: None, ..
            }) => MessageKind::ConsumerFetch,
            Message::FetchResponse(msg::FetchResponse {
                to_replica: true, ..
            }) => MessageKind::Replication,
            Message::FetchResponse(msg::FetchResponse {
                to_replica: false, ..
            }) => MessageKind::ConsumerFetch,
            Message::ListOffsetsRequest(..)
            | Message::ListOffsetsResponse(..)
            | Message::ApiVersionsRequest(..)
            | Message::ApiVersionsResponse(..) => MessageKind::Metadata,
            Message::InitProducerIdRequest(..)
            | Message::InitProducerIdResponse(..)
            | Message::AddPartitionsToTxnRequest(..)
            | Message::AddPartitionsToTxnResponse(..)
            | Message::AddOffsetsToTxnRequest(..)
            | Message::AddOffsetsToTxnResponse(..)
            | Message::EndTxnRequest(..)
            | Message::EndTxnResponse(..)
            | Message::WriteTxnMarkersRequest(..)
            | Message::WriteTxnMarkersResponse(..)
            | Message::TxnOffsetCommitRequest(..)
            | Message::TxnOffsetCommitResponse(..) => MessageKind::Transaction,
            Message::CreateTopicsRequest(..)
            | Message::CreateTopicsResponse(..)
            | Message::ElectLeadersRequest(..)
            | Message::ElectLeadersResponse(..)
            | Message::AlterConfigsRequest(..)
            | Message::AlterConfigsResponse(..)
            | Message::AlterBrokerConfigsRequest(..)
            | Message::CreatePartitionsRequest(..)
            | Message::CreatePartitionsResponse(..)
            | Message::DeleteTopicsRequest(..)
            | Message::DeleteTopicsResponse(..) => MessageKind::Admin,
            Message::LeaderAndIsr(..)
            | Message::StopReplica(..)
            | Message::TopicConfigChanged(..)
            | Message::BrokerConfigChanged(..)
            | Message::UpdateMetadata(..)
            | Message::AlterPartition(..)
            | Message::AlterPartitionResponse(..)
            | Message::ControlledShutdownRequest(..)
            | Message::ControlledShutdownResponse(..) => MessageKind::Controller,
            Message::FindCoordinatorRequest(..)
            | Message::FindCoordinatorResponse(..)
            | Message::JoinGroupRequest(..)
            | Message::JoinGroupResponse(..)
            | Message::SyncGroupRequest(..)
            | Message::SyncGroupResponse(..)
            | Message::HeartbeatRequest(..)
            | Message::HeartbeatResponse(..)
            | Message::LeaveGroupRequest(..)
            | Message::LeaveGroupResponse(..)
            | Message::OffsetCommitRequest(..)
            | Message::OffsetCommitResponse(..)
            | Message::OffsetFetchRequest(..)
            | Message::OffsetFetchResponse(..) => MessageKind::Group,
            Message::ZooKeeper(_) => MessageKind::ZooKeeper,
            Message::Raft(_)
            | Message::BrokerRegistrationRequest(..)
            | Message::BrokerRegistrationResponse(..)
            | Message::BrokerHeartbeatRequest(..)
            | Message::BrokerHeartbeatResponse(..) => MessageKind::Controller,
        }
    }

    /// The Kafka API (or ZooKeeper operation) this message belongs to.
    pub fn api(&self) -> &'static str {
        match self {
            Message::MetadataRequest(..) | Message::MetadataResponse(..) => "Metadata",
            Message::ProduceRequest(..) | Message::ProduceResponse(..) => "Produce",
            Message::FetchRequest(..) | Message::FetchResponse(..) => "Fetch",
            Message::ListOffsetsRequest(..) | Message::ListOffsetsResponse(..) => "ListOffsets",
            Message::InitProducerIdRequest(..) | Message::InitProducerIdResponse(..) => {
                "InitProducerId"
            }
            Message::CreateTopicsRequest(..) | Message::CreateTopicsResponse(..) => "CreateTopics",
            Message::ElectLeadersRequest(..) | Message::ElectLeadersResponse(..) => "ElectLeaders",
            Message::AlterConfigsRequest(..)
            | Message::AlterConfigsResponse(..)
            | Message::AlterBrokerConfigsRequest(..) => "AlterConfigs",
            Message::BrokerConfigChanged(..) => "BrokerConfigChanged",
            Message::TopicConfigChanged(..) => "TopicConfigChanged",
            Message::CreatePartitionsRequest(..) | Message::CreatePartitionsResponse(..) => {
                "CreatePartitions"
            }
            Message::DeleteTopicsRequest(..) | Message::DeleteTopicsResponse(..) => "DeleteTopics",
            Message::LeaderAndIsr(..) => "LeaderAndIsr",
            Message::StopReplica(..) => "StopReplica",
            Message::UpdateMetadata(..) => "UpdateMetadata",
            Message::AlterPartition(..) | Message::AlterPartitionResponse(..) => "AlterPartition",
            Message::ControlledShutdownRequest(..) | Message::ControlledShutdownResponse(..) => {
                "ControlledShutdown"
            }
            Message::ApiVersionsRequest(..) | Message::ApiVersionsResponse(..) => "ApiVersions",
            Message::FindCoordinatorRequest(..) | Message::FindCoordinatorResponse(..) => {
                "FindCoordinator"
            }
            Message::AddPartitionsToTxnRequest(..) | Message::AddPartitionsToTxnResponse(..) => {
                "AddPartitionsToTxn"
            }
            Message::AddOffsetsToTxnRequest(..) | Message::AddOffsetsToTxnResponse(..) => {
                "AddOffsetsToTxn"
            }
            Message::EndTxnRequest(..) | Message::EndTxnResponse(..) => "EndTxn",
            Message::WriteTxnMarkersRequest(..) | Message::WriteTxnMarkersResponse(..) => {
                "WriteTxnMarkers"
            }
            Message::TxnOffsetCommitRequest(..) | Message::TxnOffsetCommitResponse(..) => {
                "TxnOffsetCommit"
            }
            Message::JoinGroupRequest(..) | Message::JoinGroupResponse(..) => "JoinGroup",
            Message::SyncGroupRequest(..) | Message::SyncGroupResponse(..) => "SyncGroup",
            Message::HeartbeatRequest(..) | Message::HeartbeatResponse(..) => "Heartbeat",
            Message::LeaveGroupRequest(..) | Message::LeaveGroupResponse(..) => "LeaveGroup",
            Message::OffsetCommitRequest(..) | Message::OffsetCommitResponse(..) => "OffsetCommit",
            Message::OffsetFetchRequest(..) | Message::OffsetFetchResponse(..) => "OffsetFetch",
            Message::ZooKeeper(m) => m.api(),
            Message::Raft(m) => m.api(),
            Message::BrokerRegistrationRequest(..) | Message::BrokerRegistrationResponse(..) => {
                "BrokerRegistration"
            }
            Message::BrokerHeartbeatRequest(..) | Message::BrokerHeartbeatResponse(..) => {
                "BrokerHeartbeat"
            }
        }
    }

    /// Approximate bytes on the wire: Kafka's request header plus what the message carries.
    pub fn wire_bytes(&self) -> u32 {
        const HEADER: usize = 24;
        let body = match self {
            Message::ProduceRequest(msg::ProduceRequest { partitions, .. }) => partitions
                .iter()
                .map(|(tp, b)| tp.topic.len() + 8 + b.size_bytes())
                .sum(),
            Message::FetchResponse(msg::FetchResponse { partitions, .. }) => partitions
                .iter()
                .map(|p| {
                    p.tp.topic.len() + 40 + p.batches.iter().map(|b| b.size_bytes()).sum::<usize>()
                })
                .sum(),
            Message::FetchRequest(msg::FetchRequest {
                partitions,
                forgotten,
                ..
            }) => {
                partitions
                    .iter()
                    .map(|p| p.tp.topic.len() + 24)
                    .sum::<usize>()
                    + forgotten.iter().map(|tp| tp.topic.len() + 8).sum::<usize>()
            }
            Message::ProduceResponse(msg::ProduceResponse { partitions, .. }) => {
                partitions.len() * 32
            }
            Message::MetadataResponse(msg::MetadataResponse {
                topics, brokers, ..
            }) => {
                brokers.len() * 24
                    + topics
                        .iter()
                        .map(|t| t.name.len() + t.partitions.len() * 40)
                        .sum::<usize>()
            }
            Message::LeaderAndIsr(msg::LeaderAndIsr { partitions, .. })
            | Message::UpdateMetadata(msg::UpdateMetadata { partitions, .. }) => {
                partitions.len() * 48
            }
            Message::JoinGroupResponse(msg::JoinGroupResponse { members, .. }) => members
                .iter()
                .map(|m| m.member_id.len() + 16 + m.owned_partitions.len() * 8)
                .sum(),
            Message::SyncGroupRequest(msg::SyncGroupRequest { assignments, .. }) => {
                assignments.iter().map(|(m, a)| m.len() + a.len() * 8).sum()
            }
            Message::OffsetCommitRequest(msg::OffsetCommitRequest { offsets, .. }) => {
                offsets.len() * 16
            }
            Message::ZooKeeper(m) => m.wire_bytes(),
            Message::Raft(m) => m.wire_bytes(),
            _ => 32,
        };
        (HEADER + body).min(u32::MAX as usize) as u32
    }
}
