//! The controller (ZooKeeper mode): one broker, elected through `/controller`, that owns
//! partition leadership. It bumps `/controller_epoch`, loads the cluster from ZooKeeper, elects
//! leaders when brokers die or return, applies ISR changes leaders ask for (AlterPartition),
//! creates and deletes topics, and tells brokers with LeaderAndIsr and UpdateMetadata.
//!
//! Every partition-state write is a ZooKeeper `multi` that first checks the version of
//! `/controller_epoch`, so a deposed controller cannot overwrite its successor (as Kafka does).
//!
//! A controller goes through three phases, and each ZooKeeper request it makes is tagged with
//! the phase's own tag, so an answer goes back to the file that asked:
//! - electing: `election.rs` bumps the controller epoch (`KafkaController.elect`);
//! - loading: `loading.rs` reads brokers, topics and partition states
//!   (`initializeControllerContext`), and reads them again when a watch fires;
//! - active: fenced writes of `partition_state.rs` (the partition and replica state machines),
//!   `topics.rs` (create, add partitions, delete) and `configs.rs`, and the elections of
//!   `preferred.rs` leaders and of `shutdown.rs`.

pub mod assignment;
mod configs;
mod election;
mod loading;
mod partition_state;
mod preferred;
mod shutdown;
mod topics;
pub mod zk_data;

pub use crate::protocol::{broker_resource, not_controller_response};
pub use configs::ConfigWrite;
pub use election::EpochTag;
pub use loading::LoadTag;
pub use partition_state::StateChange;
pub use topics::TopicWrite;

use crate::config::{BrokerConfig, TopicConfig};
use crate::ids::{BrokerId, NodeId, TopicName, TopicPartition};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{Correlation, Message, PartitionState};
use crate::vec_map::{VecMap, VecSet};
use crate::zookeeper::messages::{WatchKind, ZkError, ZkOp, ZkReply};
use crate::zookeeper::paths;

/// Who asked for an admin operation, to answer them when it is done.
pub type Requester = (NodeId, Correlation);

/// What a ZooKeeper request was for, by the phase that made it.
// The broker boxes a whole tag while its request is out, so a large variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControllerTag {
    Epoch(EpochTag),
    Load(LoadTag),
    /// A fenced write, counted in `writes_in_flight` until its answer.
    Write(WriteTag),
}

/// The active controller's writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteTag {
    PartitionState {
        state: PartitionState,
        change: StateChange,
    },
    Topic(TopicWrite),
    Config(ConfigWrite),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControllerTimer {
    /// `leader.imbalance.check.interval.seconds`: move leadership back to preferred replicas.
    PreferredLeaderCheck { epoch: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    ElectingEpoch,
    Loading { outstanding: u32 },
    Active,
}

#[derive(Clone, Debug, Default)]
struct TopicInfo {
    assignment: VecMap<u32, Vec<BrokerId>>,
    config: TopicConfig,
}

type Ops = Vec<(ZkOp, ControllerTag)>;

#[derive(Debug)]
pub struct Controller {
    me: BrokerId,
    config: BrokerConfig,
    pub epoch: u32,
    epoch_zk_version: i32,
    phase: Phase,
    pub live_brokers: VecSet<BrokerId>,
    topics: VecMap<TopicName, TopicInfo>,
    pub states: VecMap<TopicPartition, PartitionState>,
    /// Partitions with a write in flight: one change at a time per partition.
    writing: VecSet<TopicPartition>,
    writes_in_flight: u32,
    /// Partitions whose replicas must hear a LeaderAndIsr at the next flush.
    dirty: VecSet<TopicPartition>,
    /// Partitions whose state every broker's metadata cache must learn at the next flush.
    dirty_metadata: VecSet<TopicPartition>,
    /// Brokers that must get everything at the next flush (just elected us, or came back).
    full_update: VecSet<BrokerId>,
    deleted: Vec<TopicName>,
    /// Brokers in a controlled shutdown: no longer chosen as leaders.
    shutting_down: VecSet<BrokerId>,
    /// Controlled shutdowns to answer once their leadership moves are written.
    pending_shutdowns: Vec<(BrokerId, Requester)>,
}

impl Controller {
    pub fn new(me: BrokerId, config: BrokerConfig) -> Controller {
        Controller {
            me,
            config,
            epoch: 0,
            epoch_zk_version: 0,
            phase: Phase::ElectingEpoch,
            live_brokers: VecSet::new(),
            topics: VecMap::new(),
            states: VecMap::new(),
            writing: VecSet::new(),
            writes_in_flight: 0,
            dirty: VecSet::new(),
            dirty_metadata: VecSet::new(),
            full_update: VecSet::new(),
            deleted: Vec::new(),
            shutting_down: VecSet::new(),
            pending_shutdowns: Vec::new(),
        }
    }

    /// The controller's broker took new dynamic settings: elections follow them (an unclean
    /// election needs `unclean.leader.election.enable` as this broker now resolves it).
    pub fn set_broker_config(&mut self, config: BrokerConfig) {
        self.config = config;
    }

    pub fn is_active(&self) -> bool {
        self.phase == Phase::Active
    }

    /// Handles a ZooKeeper answer in the phase whose request it answers. Returns true if this
    /// broker must stop being controller.
    pub fn on_zk_response(
        &mut self,
        tag: ControllerTag,
        result: Result<ZkReply, ZkError>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) -> bool {
        match tag {
            ControllerTag::Epoch(tag) => {
                if self.on_epoch_response(tag, result, ops, ctx) {
                    return true;
                }
            }
            ControllerTag::Load(tag) => self.on_load_response(tag, result, ops, ctx),
            ControllerTag::Write(tag) => {
                self.writes_in_flight -= 1;
                match tag {
                    WriteTag::PartitionState { state, change } => {
                        self.on_state_write_response(state, change, result, ops, ctx)
                    }
                    WriteTag::Topic(tag) => self.on_topic_write_response(tag, result, ops, ctx),
                    WriteTag::Config(tag) => self.on_config_write_response(tag, result, ops, ctx),
                }
            }
        }
        // Brokers hear of changes once no write is in flight, as one batch.
        if self.is_active() && self.writes_in_flight == 0 {
            self.flush(ctx);
            self.answer_shutdowns(ctx);
        }
        false
    }

    /// A fenced write: its answer comes back as `ControllerTag::Write`.
    fn write(&mut self, ops: &mut Ops, op: ZkOp, tag: WriteTag) {
        self.writes_in_flight += 1;
        ops.push((self.fenced(op), ControllerTag::Write(tag)));
    }

    pub fn on_watch(&mut self, path: &str, kind: WatchKind, ops: &mut Ops) {
        match path {
            paths::BROKER_IDS if kind == WatchKind::NodeChildrenChanged => {
                loading::read_live_brokers(ops)
            }
            paths::BROKER_TOPICS if kind == WatchKind::NodeChildrenChanged => {
                loading::read_topics(ops)
            }
            // A child watch also fires when its znode goes, which these never do.
            _ => debug_assert!(
                path == paths::BROKER_IDS || path == paths::BROKER_TOPICS,
                "the controller sets no watch on {path}"
            ),
        }
    }

    /// An admin request, or AlterPartition or ControlledShutdown from a broker.
    pub fn on_request(
        &mut self,
        from: NodeId,
        request: Message,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        if !self.is_active() {
            if let Some(response) = not_controller_response(&request) {
                ctx.send(from, response);
            }
            return;
        }
        match request {
            Message::CreateTopicsRequest(msg::CreateTopicsRequest { correlation, topic }) => {
                self.create_topic(*topic, Some((from, correlation)), ops, ctx)
            }
            Message::CreatePartitionsRequest(msg::CreatePartitionsRequest {
                correlation,
                topic,
                count,
            }) => self.add_partitions(topic, count, Some((from, correlation)), ops, ctx),
            Message::DeleteTopicsRequest(msg::DeleteTopicsRequest { correlation, topic }) => {
                self.delete_topic(topic, (from, correlation), ops, ctx)
            }
            Message::ControlledShutdownRequest(msg::ControlledShutdownRequest {
                correlation,
                broker_id,
            }) => {
                self.controlled_shutdown(broker_id, (from, correlation), ops);
                if self.writes_in_flight == 0 && ops.is_empty() {
                    self.answer_shutdowns(ctx);
                }
            }
            Message::ElectLeadersRequest(msg::ElectLeadersRequest {
                correlation,
                unclean,
                partitions,
            }) => {
                let results = self.elect_leaders(unclean, partitions, ops);
                ctx.send(
                    from,
                    Message::ElectLeadersResponse(msg::ElectLeadersResponse {
                        correlation,
                        results,
                    }),
                );
            }
            Message::AlterConfigsRequest(msg::AlterConfigsRequest {
                correlation,
                topic,
                config,
            }) => self.alter_topic_config(topic, *config, (from, correlation), ops, ctx),
            Message::AlterBrokerConfigsRequest(msg::AlterBrokerConfigsRequest {
                correlation,
                broker,
                config,
            }) => self.alter_broker_config(broker, *config, (from, correlation), ops),
            Message::AlterPartition(msg::AlterPartition {
                correlation,
                broker_id,
                tp,
                leader_epoch,
                new_isr,
                partition_epoch,
            }) => {
                let proposal = partition_state::IsrProposal {
                    leader: broker_id,
                    tp,
                    leader_epoch,
                    partition_epoch,
                    new_isr,
                };
                self.alter_partition(proposal, (from, correlation), ops, ctx)
            }
            // The broker hands over only the requests above.
            other => debug_assert!(false, "not a controller request: {other:?}"),
        }
    }

    pub fn on_timer(
        &mut self,
        timer: ControllerTimer,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        let ControllerTimer::PreferredLeaderCheck { epoch } = timer;
        if epoch != self.epoch || !self.is_active() {
            return;
        }
        self.check_preferred_leaders(ops, ctx);
    }
}
