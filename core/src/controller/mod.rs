//! The controller (ZooKeeper mode): one broker, elected through `/controller`, that owns
//! partition leadership. It bumps `/controller_epoch`, loads the cluster from ZooKeeper, elects
//! leaders when brokers die or return, applies ISR changes leaders ask for (AlterPartition),
//! creates and deletes topics, and tells brokers with LeaderAndIsr and UpdateMetadata.
//!
//! Every partition-state write is a ZooKeeper `multi` that first checks the version of
//! `/controller_epoch`, so a deposed controller cannot overwrite its successor (as Kafka does).

pub mod assignment;
mod shutdown;
pub mod zk_data;

use crate::config::{BrokerConfig, DynamicBrokerConfig, LogConfig, TopicConfig};
use crate::ids::{BrokerId, NodeId, TopicName, TopicPartition};
use crate::node::Ctx;
use crate::protocol::{Correlation, ErrorCode, Message, NewTopic, PartitionState};
use crate::trace::Event;
use crate::vec_map::{VecMap, VecSet};
use crate::zookeeper::messages::{WatchKind, ZkError, ZkOp, ZkReply};
use crate::zookeeper::paths;

/// Who asked for an admin operation, to answer them when it is done.
pub type Requester = (NodeId, Correlation);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateChange {
    /// A partition's first leader.
    Init,
    Election {
        unclean: bool,
    },
    /// A broker died: it leaves the ISR.
    RemoveFromIsr,
    /// The leader asked for a new ISR.
    AlterPartition(Requester),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControllerTag {
    ReadEpoch,
    WriteEpoch {
        epoch: u32,
    },
    CreateEpoch,
    VerifyEpoch,
    LiveBrokers,
    TopicList,
    TopicAssignment(TopicName),
    TopicConfig(TopicName),
    PartitionState(TopicPartition),
    WriteState {
        state: PartitionState,
        change: StateChange,
    },
    CreateTopic {
        topic: NewTopic,
        assignment: VecMap<u32, Vec<BrokerId>>,
        config: TopicConfig,
        requester: Option<Requester>,
    },
    AddPartitions {
        topic: TopicName,
        assignment: VecMap<u32, Vec<BrokerId>>,
        requester: Option<Requester>,
    },
    DeleteTopic {
        topic: TopicName,
        requester: Option<Requester>,
    },
    AlterConfig {
        topic: TopicName,
        config: TopicConfig,
        requester: Requester,
    },
    AlterBrokerConfig {
        broker: Option<BrokerId>,
        config: DynamicBrokerConfig,
        requester: Requester,
    },
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

/// How an answer about broker settings names what it changed: `broker:1` or
/// `broker:<default>` (in the place a topic answer names its topic).
pub fn broker_resource(broker: Option<BrokerId>) -> String {
    match broker {
        Some(b) => format!("broker:{b}"),
        None => "broker:<default>".to_string(),
    }
}

pub fn not_controller_response(request: &Message) -> Option<Message> {
    let e = Some(ErrorCode::NotController);
    match request {
        Message::CreateTopicsRequest { correlation, topic } => {
            Some(Message::CreateTopicsResponse {
                correlation: *correlation,
                topic: topic.name.clone(),
                error: e,
            })
        }
        Message::CreatePartitionsRequest {
            correlation, topic, ..
        } => Some(Message::CreatePartitionsResponse {
            correlation: *correlation,
            topic: topic.clone(),
            error: e,
        }),
        Message::ElectLeadersRequest {
            correlation,
            partitions,
            ..
        } => Some(Message::ElectLeadersResponse {
            correlation: *correlation,
            results: partitions
                .iter()
                .flatten()
                .map(|tp| (tp.clone(), e))
                .collect(),
        }),
        Message::AlterConfigsRequest {
            correlation, topic, ..
        } => Some(Message::AlterConfigsResponse {
            correlation: *correlation,
            topic: topic.clone(),
            error: e,
        }),
        Message::AlterBrokerConfigsRequest {
            correlation,
            broker,
            ..
        } => Some(Message::AlterConfigsResponse {
            correlation: *correlation,
            topic: broker_resource(*broker).into(),
            error: e,
        }),
        Message::DeleteTopicsRequest { correlation, topic } => {
            Some(Message::DeleteTopicsResponse {
                correlation: *correlation,
                topic: topic.clone(),
                error: e,
            })
        }
        Message::AlterPartition {
            correlation, tp, ..
        } => Some(Message::AlterPartitionResponse {
            correlation: *correlation,
            tp: tp.clone(),
            result: Err(ErrorCode::NotController),
        }),
        Message::ControlledShutdownRequest { correlation, .. } => {
            Some(Message::ControlledShutdownResponse {
                correlation: *correlation,
                error: e,
                remaining: Vec::new(),
            })
        }
        _ => None,
    }
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

    /// Just won `/controller`: bump the controller epoch first.
    pub fn begin_failover(&mut self, ops: &mut Ops) {
        ops.push((
            ZkOp::GetData {
                path: paths::CONTROLLER_EPOCH.into(),
                watch: false,
            },
            ControllerTag::ReadEpoch,
        ));
    }

    fn fenced(&self, op: ZkOp) -> ZkOp {
        ZkOp::Multi(vec![
            ZkOp::Check {
                path: paths::CONTROLLER_EPOCH.into(),
                version: self.epoch_zk_version,
            },
            op,
        ])
    }

    fn write(&mut self, ops: &mut Ops, op: ZkOp, tag: ControllerTag) {
        self.writes_in_flight += 1;
        ops.push((self.fenced(op), tag));
    }

    fn topic_config(&self, topic: &str) -> LogConfig {
        let config = self
            .topics
            .get(topic)
            .map(|t| t.config.clone())
            .unwrap_or_default();
        LogConfig::resolve(&config, &self.config)
    }

    /// Handles a ZooKeeper answer. Returns true if this broker must stop being controller.
    pub fn on_zk_response(
        &mut self,
        tag: ControllerTag,
        result: Result<ZkReply, ZkError>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) -> bool {
        match tag {
            ControllerTag::ReadEpoch => match result {
                Ok(ZkReply::Data { data, stat }) => {
                    let epoch = data.trim().parse::<u32>().unwrap_or(0) + 1;
                    ops.push((
                        ZkOp::SetData {
                            path: paths::CONTROLLER_EPOCH.into(),
                            data: epoch.to_string(),
                            version: Some(stat.version),
                        },
                        ControllerTag::WriteEpoch { epoch },
                    ));
                }
                Err(ZkError::NoNode) => ops.push((
                    ZkOp::Create {
                        path: paths::CONTROLLER_EPOCH.into(),
                        data: "1".into(),
                        ephemeral: false,
                    },
                    ControllerTag::CreateEpoch,
                )),
                _ => return true,
            },
            ControllerTag::CreateEpoch => match result {
                Ok(_) => self.on_epoch(1, 0, ops, ctx),
                Err(_) => return true,
            },
            ControllerTag::WriteEpoch { epoch } => match result {
                Ok(ZkReply::Stat(stat)) => self.on_epoch(epoch, stat.version, ops, ctx),
                _ => return true,
            },
            ControllerTag::VerifyEpoch => {
                let still_ours = matches!(&result, Ok(ZkReply::Data { data, .. }) if data.trim() == self.epoch.to_string());
                if !still_ours {
                    return true;
                }
            }
            ControllerTag::LiveBrokers => {
                if let Ok(ZkReply::Children(children)) = result {
                    let live: VecSet<BrokerId> = children
                        .iter()
                        .filter_map(|c| c.parse().ok())
                        .map(BrokerId)
                        .collect();
                    if self.is_active() {
                        self.on_broker_change(live, ops, ctx);
                    } else {
                        self.live_brokers = live;
                        self.loaded(ops, ctx);
                    }
                }
            }
            ControllerTag::TopicList => {
                if let Ok(ZkReply::Children(children)) = result {
                    for topic in children {
                        if self.topics.contains_key(topic.as_str()) {
                            continue;
                        }
                        let name: TopicName = topic.as_str().into();
                        self.topics.insert(name.clone(), TopicInfo::default());
                        self.expect(2);
                        ops.push((
                            ZkOp::GetData {
                                path: paths::topic(&topic),
                                watch: false,
                            },
                            ControllerTag::TopicAssignment(name.clone()),
                        ));
                        ops.push((
                            ZkOp::GetData {
                                path: paths::topic_config(&topic),
                                watch: false,
                            },
                            ControllerTag::TopicConfig(name),
                        ));
                    }
                }
                self.loaded(ops, ctx);
            }
            ControllerTag::TopicAssignment(topic) => {
                if let Ok(ZkReply::Data { data, .. }) = result {
                    let assignment = zk_data::parse_topic_assignment(&data).unwrap_or_default();
                    for p in assignment.keys() {
                        let tp = TopicPartition::new(&topic, *p);
                        if !self.states.contains_key(&tp) {
                            self.expect(1);
                            ops.push((
                                ZkOp::GetData {
                                    path: paths::partition_state(&topic, *p),
                                    watch: false,
                                },
                                ControllerTag::PartitionState(tp),
                            ));
                        }
                    }
                    self.topics.entry(topic).or_default().assignment = assignment;
                }
                self.loaded(ops, ctx);
            }
            ControllerTag::TopicConfig(topic) => {
                if let Ok(ZkReply::Data { data, .. }) = result {
                    self.topics.entry(topic).or_default().config =
                        zk_data::parse_topic_config(&data).unwrap_or_default();
                }
                self.loaded(ops, ctx);
            }
            ControllerTag::PartitionState(tp) => {
                if let Ok(ZkReply::Data { data, stat }) = result {
                    if let Some((leader, leader_epoch, isr)) = zk_data::parse_partition_state(&data)
                    {
                        let replicas = self.replicas_of(&tp);
                        self.states.insert(
                            tp.clone(),
                            PartitionState {
                                tp,
                                leader,
                                leader_epoch,
                                isr,
                                replicas,
                                partition_epoch: stat.version as u32,
                            },
                        );
                    }
                }
                self.loaded(ops, ctx);
            }
            ControllerTag::WriteState { state, change } => {
                self.writes_in_flight -= 1;
                self.writing.remove(&state.tp);
                match result {
                    Ok(_) => self.on_state_written(state, change, ctx),
                    Err(error) => {
                        if let StateChange::AlterPartition((client, correlation)) = change {
                            ctx.send(
                                client,
                                Message::AlterPartitionResponse {
                                    correlation,
                                    tp: state.tp.clone(),
                                    result: Err(ErrorCode::FencedLeaderEpoch),
                                },
                            );
                        }
                        if error == ZkError::BadVersion {
                            ops.push((
                                ZkOp::GetData {
                                    path: paths::CONTROLLER_EPOCH.into(),
                                    watch: false,
                                },
                                ControllerTag::VerifyEpoch,
                            ));
                        }
                    }
                }
            }
            ControllerTag::CreateTopic {
                topic,
                assignment,
                config,
                requester,
            } => {
                self.writes_in_flight -= 1;
                let error = match result {
                    Ok(_) => {
                        ctx.trace(Event::TopicCreated {
                            topic: topic.name.clone(),
                            partitions: topic.partitions,
                            replication_factor: topic.replication_factor,
                        });
                        self.topics.insert(
                            topic.name.clone(),
                            TopicInfo {
                                assignment: assignment.clone(),
                                config,
                            },
                        );
                        for p in assignment.keys() {
                            self.init_partition(&TopicPartition::new(&topic.name, *p), ops);
                        }
                        None
                    }
                    Err(ZkError::NodeExists) => Some(ErrorCode::TopicAlreadyExists),
                    Err(_) => Some(ErrorCode::RequestTimedOut),
                };
                if let Some((client, correlation)) = requester {
                    ctx.send(
                        client,
                        Message::CreateTopicsResponse {
                            correlation,
                            topic: topic.name,
                            error,
                        },
                    );
                }
            }
            ControllerTag::AddPartitions {
                topic,
                assignment,
                requester,
            } => {
                self.writes_in_flight -= 1;
                let error = match result {
                    Ok(_) => {
                        let info = self.topics.entry(topic.clone()).or_default();
                        let from = info.assignment.len() as u32;
                        let new: Vec<u32> = assignment
                            .keys()
                            .copied()
                            .filter(|p| !info.assignment.contains_key(p))
                            .collect();
                        info.assignment = assignment;
                        ctx.trace(Event::PartitionsAdded {
                            topic: topic.clone(),
                            from,
                            to: from + new.len() as u32,
                        });
                        for p in new {
                            self.init_partition(&TopicPartition::new(&topic, p), ops);
                        }
                        None
                    }
                    Err(_) => Some(ErrorCode::RequestTimedOut),
                };
                if let Some((client, correlation)) = requester {
                    ctx.send(
                        client,
                        Message::CreatePartitionsResponse {
                            correlation,
                            topic,
                            error,
                        },
                    );
                }
            }
            ControllerTag::AlterConfig {
                topic,
                config,
                requester,
            } => {
                self.writes_in_flight -= 1;
                if result.is_ok() {
                    if let Some(info) = self.topics.get_mut(&topic) {
                        info.config = config.clone();
                    }
                    ctx.trace(Event::TopicConfigChanged {
                        topic: topic.clone(),
                        overrides: crate::config::overrides_text(&config),
                    });
                }
                let notice = Message::TopicConfigChanged {
                    topic: topic.clone(),
                    config: Box::new(config),
                };
                self.announce_config(result.is_ok(), notice, requester, topic, ctx);
            }
            ControllerTag::AlterBrokerConfig {
                broker,
                config,
                requester,
            } => {
                self.writes_in_flight -= 1;
                // Kafka creates `/config/brokers/<id>` the first time it is set.
                if let Err(ZkError::NoNode) = result {
                    self.write(
                        ops,
                        ZkOp::Create {
                            path: paths::broker_config(broker.map(|b| b.0)),
                            data: zk_data::broker_config(&config),
                            ephemeral: false,
                        },
                        ControllerTag::AlterBrokerConfig {
                            broker,
                            config,
                            requester,
                        },
                    );
                    return false;
                }
                let notice = Message::BrokerConfigChanged {
                    broker,
                    config: Box::new(config),
                };
                let resource = broker_resource(broker).into();
                self.announce_config(result.is_ok(), notice, requester, resource, ctx);
            }
            ControllerTag::DeleteTopic { topic, requester } => {
                self.writes_in_flight -= 1;
                let error = match result {
                    Ok(_) => {
                        self.delete_topic_state(&topic, ctx);
                        None
                    }
                    Err(_) => Some(ErrorCode::RequestTimedOut),
                };
                if let Some((client, correlation)) = requester {
                    ctx.send(
                        client,
                        Message::DeleteTopicsResponse {
                            correlation,
                            topic,
                            error,
                        },
                    );
                }
            }
        }
        if self.is_active() && self.writes_in_flight == 0 {
            self.flush(ctx);
            self.answer_shutdowns(ctx);
        }
        false
    }

    fn expect(&mut self, n: u32) {
        if let Phase::Loading { outstanding } = &mut self.phase {
            *outstanding += n;
        }
    }

    fn on_epoch(
        &mut self,
        epoch: u32,
        version: i32,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        self.epoch = epoch;
        self.epoch_zk_version = version;
        ctx.trace(Event::ControllerElected {
            broker: self.me,
            epoch,
        });
        self.phase = Phase::Loading { outstanding: 2 };
        ops.push((
            ZkOp::GetChildren {
                path: paths::BROKER_IDS.into(),
                watch: true,
            },
            ControllerTag::LiveBrokers,
        ));
        ops.push((
            ZkOp::GetChildren {
                path: paths::BROKER_TOPICS.into(),
                watch: true,
            },
            ControllerTag::TopicList,
        ));
    }

    /// One load answer arrived; when all have, take charge (`onControllerFailover`).
    fn loaded(&mut self, ops: &mut Ops, ctx: &mut Ctx<'_, ControllerTimer>) {
        let Phase::Loading { outstanding } = &mut self.phase else {
            return;
        };
        *outstanding = outstanding.saturating_sub(1);
        if *outstanding > 0 {
            return;
        }
        self.phase = Phase::Active;
        let tps: Vec<TopicPartition> = self.states.keys().cloned().collect();
        for tp in tps {
            self.repair(&tp, ops);
        }
        for tp in self.new_partitions() {
            self.init_partition(&tp, ops);
        }
        self.full_update = self.live_brokers.clone();
        if self.config.auto_leader_rebalance_enable {
            // Kafka's `onControllerFailover` runs the first check 5 s after taking over.
            ctx.timer_in_ms(
                5_000,
                ControllerTimer::PreferredLeaderCheck { epoch: self.epoch },
            );
        }
        if self.writes_in_flight == 0 {
            self.flush(ctx);
        }
    }

    fn replicas_of(&self, tp: &TopicPartition) -> Vec<BrokerId> {
        self.topics
            .get(&tp.topic)
            .and_then(|t| t.assignment.get(&tp.partition))
            .cloned()
            .unwrap_or_default()
    }

    /// NewPartition → OnlinePartition: the first live replica leads, live replicas are the ISR.
    /// With no replica alive the partition stays in NewPartition, unwritten: a broker that
    /// registers later brings it online (Kafka's `initializeLeaderAndIsrForPartitions` skips
    /// it, "No assigned replica is alive", and `onBrokerStartup` tries again).
    fn init_partition(&mut self, tp: &TopicPartition, ops: &mut Ops) {
        debug_assert!(!self.states.contains_key(tp), "{tp} is initialised already");
        let replicas = self.replicas_of(tp);
        let isr: Vec<BrokerId> = replicas
            .iter()
            .copied()
            .filter(|b| self.live_brokers.contains(b))
            .collect();
        if isr.is_empty() || self.writing.contains(tp) {
            return;
        }
        let state = PartitionState {
            tp: tp.clone(),
            leader: isr.first().copied(),
            leader_epoch: 0,
            isr: isr.clone(),
            replicas,
            partition_epoch: 0,
        };
        let data = zk_data::partition_state(state.leader, 0, &isr, self.epoch);
        self.writing.insert(tp.clone());
        self.write(
            ops,
            ZkOp::Create {
                path: paths::partition_state(&tp.topic, tp.partition),
                data,
                ephemeral: false,
            },
            ControllerTag::WriteState {
                state,
                change: StateChange::Init,
            },
        );
    }

    /// After failover or a broker change: elect where the leader is gone, drop dead brokers from
    /// ISRs.
    fn repair(&mut self, tp: &TopicPartition, ops: &mut Ops) {
        let Some(state) = self.states.get(tp).cloned() else {
            return;
        };
        if self.writing.contains(tp) {
            return;
        }
        let leader_live = state.leader.is_some_and(|l| self.live_brokers.contains(&l));
        if !leader_live {
            self.elect_leader(tp, ops);
        } else if state.isr.iter().any(|b| !self.live_brokers.contains(b)) {
            let isr: Vec<BrokerId> = state
                .isr
                .iter()
                .copied()
                .filter(|b| self.live_brokers.contains(b))
                .collect();
            let new = PartitionState {
                leader_epoch: state.leader_epoch + 1,
                isr,
                ..state
            };
            self.write_state(new, StateChange::RemoveFromIsr, ops);
        }
    }

    /// OfflinePartitionLeaderElectionStrategy: the first live in-sync replica in assignment
    /// order; else, only if unclean election is on, the first live replica (data may be lost).
    fn elect_leader(&mut self, tp: &TopicPartition, ops: &mut Ops) {
        let Some(state) = self.states.get(tp).cloned() else {
            return;
        };
        let live = |b: &BrokerId| self.eligible(*b);
        let clean = state
            .replicas
            .iter()
            .copied()
            .find(|b| live(b) && state.isr.contains(b));
        let (leader, isr, unclean) = match clean {
            Some(l) => (
                Some(l),
                state.isr.iter().copied().filter(live).collect(),
                false,
            ),
            None => match state
                .replicas
                .iter()
                .copied()
                .find(live)
                .filter(|_| self.topic_config(&tp.topic).unclean_leader_election_enable)
            {
                Some(l) => (Some(l), vec![l], true),
                // Offline: no leader, and the ISR keeps one member, the last to go (ZK mode's
                // `removeReplicasFromIsr` never empties an ISR): it may lead cleanly on return.
                None => {
                    let last = state
                        .leader
                        .filter(|l| state.isr.contains(l))
                        .or_else(|| state.isr.last().copied());
                    (None, last.into_iter().collect(), false)
                }
            },
        };
        if leader == state.leader && isr == state.isr {
            return;
        }
        let new = PartitionState {
            leader,
            leader_epoch: state.leader_epoch + 1,
            isr,
            ..state
        };
        self.write_state(new, StateChange::Election { unclean }, ops);
    }

    /// A config write is done: every live broker hears of it (Kafka's brokers watch
    /// `/config/changes`) and the admin client gets its answer.
    fn announce_config(
        &self,
        written: bool,
        notice: Message,
        (client, correlation): Requester,
        resource: TopicName,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        if written {
            for &broker in &self.live_brokers {
                ctx.send(NodeId::Broker(broker), notice.clone());
            }
        }
        ctx.send(
            client,
            Message::AlterConfigsResponse {
                correlation,
                topic: resource,
                error: (!written).then_some(ErrorCode::RequestTimedOut),
            },
        );
    }

    /// ElectLeaders (KIP-460). Preferred: the first assigned replica, if it is alive and in
    /// sync. Unclean: for a partition without a live leader, the first live in-sync replica,
    /// else the first live replica whatever the topic's setting (the operator asked for it).
    /// Asked for every partition, it answers only for those it elected or could not.
    fn elect_leaders(
        &mut self,
        unclean: bool,
        partitions: Option<Vec<TopicPartition>>,
        ops: &mut Ops,
    ) -> Vec<(TopicPartition, Option<ErrorCode>)> {
        let every = partitions.is_none();
        let wanted = partitions.unwrap_or_else(|| self.states.keys().cloned().collect());
        let mut results = Vec::new();
        for tp in wanted {
            let result = match self.states.get(&tp).cloned() {
                None => Some(ErrorCode::UnknownTopicOrPartition),
                Some(state) => {
                    let live = |b: &BrokerId| self.eligible(*b);
                    let leader_live = state.leader.is_some_and(|l| live(&l));
                    let pick = if unclean {
                        if leader_live {
                            Err(ErrorCode::ElectionNotNeeded)
                        } else {
                            let in_sync = state
                                .replicas
                                .iter()
                                .copied()
                                .find(|b| live(b) && state.isr.contains(b));
                            match in_sync.or_else(|| state.replicas.iter().copied().find(live)) {
                                Some(l) => Ok((l, in_sync.is_none())),
                                None => Err(ErrorCode::EligibleLeadersNotAvailable),
                            }
                        }
                    } else {
                        match state.replicas.first().copied() {
                            Some(p) if state.leader == Some(p) => Err(ErrorCode::ElectionNotNeeded),
                            Some(p) if live(&p) && state.isr.contains(&p) => Ok((p, false)),
                            _ => Err(ErrorCode::PreferredLeaderNotAvailable),
                        }
                    };
                    match pick {
                        // A write already under way for this partition: it cannot take another.
                        Ok(_) if self.writing.contains(&tp) => {
                            Some(ErrorCode::PreferredLeaderNotAvailable)
                        }
                        Ok((leader, dirty)) => {
                            let isr = if dirty {
                                vec![leader]
                            } else {
                                state.isr.iter().copied().filter(|b| live(b)).collect()
                            };
                            let new = PartitionState {
                                leader: Some(leader),
                                leader_epoch: state.leader_epoch + 1,
                                isr,
                                ..state
                            };
                            self.write_state(new, StateChange::Election { unclean: dirty }, ops);
                            None
                        }
                        Err(e) => Some(e),
                    }
                }
            };
            if !(every && result == Some(ErrorCode::ElectionNotNeeded)) {
                results.push((tp, result));
            }
        }
        results
    }

    fn write_state(&mut self, mut state: PartitionState, change: StateChange, ops: &mut Ops) {
        let data =
            zk_data::partition_state(state.leader, state.leader_epoch, &state.isr, self.epoch);
        let path = paths::partition_state(&state.tp.topic, state.tp.partition);
        let version = state.partition_epoch as i32;
        state.partition_epoch += 1;
        self.writing.insert(state.tp.clone());
        self.write(
            ops,
            ZkOp::SetData {
                path,
                data,
                version: Some(version),
            },
            ControllerTag::WriteState { state, change },
        );
    }

    fn on_state_written(
        &mut self,
        state: PartitionState,
        change: StateChange,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        let tp = state.tp.clone();
        match &change {
            StateChange::Init | StateChange::Election { .. } => ctx.trace(Event::LeaderElected {
                topic: tp.topic.clone(),
                partition: tp.partition,
                leader: state.leader,
                leader_epoch: state.leader_epoch,
                isr: state.isr.clone(),
                unclean: change == StateChange::Election { unclean: true },
            }),
            StateChange::RemoveFromIsr => ctx.trace(Event::IsrShrunk {
                topic: tp.topic.clone(),
                partition: tp.partition,
                leader: state.leader.unwrap_or(self.me),
                isr: state.isr.clone(),
            }),
            StateChange::AlterPartition((client, correlation)) => {
                ctx.send(
                    *client,
                    Message::AlterPartitionResponse {
                        correlation: *correlation,
                        tp: tp.clone(),
                        result: Ok(Box::new(state.clone())),
                    },
                );
            }
        }
        // An ISR change the leader asked for needs no LeaderAndIsr, only fresh metadata.
        if !matches!(change, StateChange::AlterPartition(_)) {
            self.dirty.insert(tp.clone());
        }
        self.states.insert(tp.clone(), state);
        self.dirty_metadata.insert(tp);
    }

    /// Sends what changed: LeaderAndIsr to the replicas of changed partitions, UpdateMetadata
    /// to every live broker.
    fn flush(&mut self, ctx: &mut Ctx<'_, ControllerTimer>) {
        let dirty = std::mem::take(&mut self.dirty);
        let dirty_metadata = std::mem::take(&mut self.dirty_metadata);
        let full = std::mem::take(&mut self.full_update);
        let deleted = std::mem::take(&mut self.deleted);
        if dirty.is_empty() && dirty_metadata.is_empty() && full.is_empty() && deleted.is_empty() {
            return;
        }
        let live: Vec<BrokerId> = self.live_brokers.iter().copied().collect();
        for &broker in &live {
            let is_full = full.contains(&broker);
            let leader_and_isr: Vec<PartitionState> = self
                .states
                .values()
                .filter(|s| s.replicas.contains(&broker) && (is_full || dirty.contains(&s.tp)))
                .cloned()
                .collect();
            if !leader_and_isr.is_empty() {
                let topics: VecSet<TopicName> =
                    leader_and_isr.iter().map(|s| s.tp.topic.clone()).collect();
                let topic_configs = topics
                    .into_iter()
                    .map(|t| {
                        (
                            t.clone(),
                            self.topics
                                .get(&t)
                                .map(|i| i.config.clone())
                                .unwrap_or_default(),
                        )
                    })
                    .collect();
                ctx.send(
                    NodeId::Broker(broker),
                    Message::LeaderAndIsr {
                        controller_id: self.me,
                        controller_epoch: self.epoch,
                        partitions: leader_and_isr,
                        topic_configs,
                    },
                );
            }
            let partitions: Vec<PartitionState> = self
                .states
                .values()
                .filter(|s| is_full || !full.is_empty() || dirty_metadata.contains(&s.tp))
                .cloned()
                .collect();
            ctx.send(
                NodeId::Broker(broker),
                Message::UpdateMetadata {
                    controller_id: self.me,
                    controller_epoch: self.epoch,
                    live_brokers: live.clone(),
                    partitions,
                    deleted_topics: deleted.clone(),
                },
            );
        }
    }

    /// `/brokers/ids` changed: brokers died or came back.
    fn on_broker_change(
        &mut self,
        live: VecSet<BrokerId>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        let added: Vec<BrokerId> = live.difference(&self.live_brokers).copied().collect();
        let removed = self.live_brokers.difference(&live).count();
        self.shutting_down.retain(|b| live.contains(b));
        self.live_brokers = live;
        if added.is_empty() && removed == 0 {
            return;
        }
        let registered = !added.is_empty();
        self.full_update.extend(added);
        // Everyone needs the new list of live brokers.
        self.full_update.extend(self.live_brokers.iter().copied());
        let tps: Vec<TopicPartition> = self.states.keys().cloned().collect();
        for tp in tps {
            self.repair(&tp, ops);
        }
        // `triggerOnlinePartitionStateChange` also takes NewPartitions online.
        if registered {
            for tp in self.new_partitions() {
                self.init_partition(&tp, ops);
            }
        }
        if self.writes_in_flight == 0 {
            self.flush(ctx);
        }
    }

    /// Partitions assigned but not yet initialised (Kafka's NewPartition state).
    fn new_partitions(&self) -> Vec<TopicPartition> {
        self.topics
            .iter()
            .flat_map(|(t, info)| info.assignment.keys().map(|p| TopicPartition::new(t, *p)))
            .filter(|tp| !self.states.contains_key(tp) && !self.writing.contains(tp))
            .collect()
    }

    pub fn on_watch(&mut self, path: &str, kind: WatchKind, ops: &mut Ops) {
        if path == paths::BROKER_IDS && kind == WatchKind::NodeChildrenChanged {
            ops.push((
                ZkOp::GetChildren {
                    path: paths::BROKER_IDS.into(),
                    watch: true,
                },
                ControllerTag::LiveBrokers,
            ));
        } else if path == paths::BROKER_TOPICS && kind == WatchKind::NodeChildrenChanged {
            ops.push((
                ZkOp::GetChildren {
                    path: paths::BROKER_TOPICS.into(),
                    watch: true,
                },
                ControllerTag::TopicList,
            ));
        }
    }

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
            Message::CreateTopicsRequest { correlation, topic } => {
                self.create_topic(*topic, Some((from, correlation)), ops, ctx)
            }
            Message::CreatePartitionsRequest {
                correlation,
                topic,
                count,
            } => self.add_partitions(topic, count, Some((from, correlation)), ops, ctx),
            Message::DeleteTopicsRequest { correlation, topic } => {
                if !self.topics.contains_key(&topic) {
                    ctx.send(
                        from,
                        Message::DeleteTopicsResponse {
                            correlation,
                            topic,
                            error: Some(ErrorCode::UnknownTopicOrPartition),
                        },
                    );
                    return;
                }
                let mut delete = vec![];
                let assignment = self
                    .topics
                    .get(&topic)
                    .map(|t| t.assignment.clone())
                    .unwrap_or_default();
                for p in assignment.keys() {
                    delete.push(ZkOp::Delete {
                        path: paths::partition_state(&topic, *p),
                        version: None,
                    });
                    delete.push(ZkOp::Delete {
                        path: format!("{}/partitions/{p}", paths::topic(&topic)),
                        version: None,
                    });
                }
                delete.push(ZkOp::Delete {
                    path: format!("{}/partitions", paths::topic(&topic)),
                    version: None,
                });
                delete.push(ZkOp::Delete {
                    path: paths::topic(&topic),
                    version: None,
                });
                delete.push(ZkOp::Delete {
                    path: paths::topic_config(&topic),
                    version: None,
                });
                self.write(
                    ops,
                    ZkOp::Multi(delete),
                    ControllerTag::DeleteTopic {
                        topic,
                        requester: Some((from, correlation)),
                    },
                );
            }
            Message::ControlledShutdownRequest {
                correlation,
                broker_id,
            } => {
                self.controlled_shutdown(broker_id, (from, correlation), ops);
                if self.writes_in_flight == 0 && ops.is_empty() {
                    self.answer_shutdowns(ctx);
                }
            }
            Message::ElectLeadersRequest {
                correlation,
                unclean,
                partitions,
            } => {
                let results = self.elect_leaders(unclean, partitions, ops);
                ctx.send(
                    from,
                    Message::ElectLeadersResponse {
                        correlation,
                        results,
                    },
                );
            }
            Message::AlterConfigsRequest {
                correlation,
                topic,
                config,
            } => {
                if !self.topics.contains_key(&topic) {
                    ctx.send(
                        from,
                        Message::AlterConfigsResponse {
                            correlation,
                            topic,
                            error: Some(ErrorCode::UnknownTopicOrPartition),
                        },
                    );
                    return;
                }
                self.write(
                    ops,
                    ZkOp::SetData {
                        path: paths::topic_config(&topic),
                        data: zk_data::topic_config(&config),
                        version: None,
                    },
                    ControllerTag::AlterConfig {
                        topic,
                        config: *config,
                        requester: (from, correlation),
                    },
                );
            }
            Message::AlterBrokerConfigsRequest {
                correlation,
                broker,
                config,
            } => self.write(
                ops,
                ZkOp::SetData {
                    path: paths::broker_config(broker.map(|b| b.0)),
                    data: zk_data::broker_config(&config),
                    version: None,
                },
                ControllerTag::AlterBrokerConfig {
                    broker,
                    config: *config,
                    requester: (from, correlation),
                },
            ),
            Message::AlterPartition {
                correlation,
                broker_id,
                tp,
                leader_epoch,
                new_isr,
                partition_epoch,
            } => {
                let respond_err = |ctx: &mut Ctx<'_, ControllerTimer>, e| {
                    ctx.send(
                        from,
                        Message::AlterPartitionResponse {
                            correlation,
                            tp: tp.clone(),
                            result: Err(e),
                        },
                    )
                };
                let Some(state) = self.states.get(&tp).cloned() else {
                    return respond_err(ctx, ErrorCode::UnknownTopicOrPartition);
                };
                if state.leader != Some(broker_id)
                    || state.leader_epoch != leader_epoch
                    || state.partition_epoch != partition_epoch
                    || self.writing.contains(&tp)
                {
                    return respond_err(ctx, ErrorCode::FencedLeaderEpoch);
                }
                // KIP-841: only live brokers may be in the ISR, and one shutting down may not
                // join it.
                if new_isr.iter().any(|b| !self.live_brokers.contains(b))
                    || new_isr
                        .iter()
                        .any(|b| !state.isr.contains(b) && self.shutting_down.contains(b))
                    || !new_isr.contains(&broker_id)
                {
                    return respond_err(ctx, ErrorCode::FencedLeaderEpoch);
                }
                let new = PartitionState {
                    isr: new_isr,
                    ..state
                };
                self.write_state(new, StateChange::AlterPartition((from, correlation)), ops);
            }
            _ => {}
        }
    }

    fn create_topic(
        &mut self,
        topic: NewTopic,
        requester: Option<Requester>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        let config = topic.config.clone();
        let error = if self.topics.contains_key(&topic.name) {
            Some(ErrorCode::TopicAlreadyExists)
        } else if topic.partitions == 0 {
            Some(ErrorCode::InvalidPartitions)
        } else if topic.replication_factor == 0
            || topic.replication_factor as usize > self.live_brokers.len()
        {
            Some(ErrorCode::InvalidReplicationFactor)
        } else {
            None
        };
        if let Some(error) = error {
            if let Some((client, correlation)) = requester {
                ctx.send(
                    client,
                    Message::CreateTopicsResponse {
                        correlation,
                        topic: topic.name,
                        error: Some(error),
                    },
                );
            }
            return;
        }
        let brokers: Vec<BrokerId> = self.live_brokers.iter().copied().collect();
        let n = brokers.len() as u64;
        let (start, shift) = (ctx.rng.below(n) as usize, ctx.rng.below(n) as usize);
        let assignment = assignment::assign_replicas(
            &brokers,
            0,
            topic.partitions,
            topic.replication_factor,
            start,
            shift,
        );
        let mut creates = vec![
            ZkOp::Create {
                path: paths::topic(&topic.name),
                data: zk_data::topic_assignment(&assignment),
                ephemeral: false,
            },
            ZkOp::Create {
                path: format!("{}/partitions", paths::topic(&topic.name)),
                data: String::new(),
                ephemeral: false,
            },
        ];
        for p in assignment.keys() {
            creates.push(ZkOp::Create {
                path: format!("{}/partitions/{p}", paths::topic(&topic.name)),
                data: String::new(),
                ephemeral: false,
            });
        }
        creates.push(ZkOp::Create {
            path: paths::topic_config(&topic.name),
            data: zk_data::topic_config(&config),
            ephemeral: false,
        });
        self.write(
            ops,
            ZkOp::Multi(creates),
            ControllerTag::CreateTopic {
                topic,
                assignment,
                config,
                requester,
            },
        );
    }

    fn add_partitions(
        &mut self,
        topic: TopicName,
        count: u32,
        requester: Option<Requester>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        let Some(info) = self.topics.get(&topic) else {
            if let Some((client, correlation)) = requester {
                ctx.send(
                    client,
                    Message::CreatePartitionsResponse {
                        correlation,
                        topic,
                        error: Some(ErrorCode::UnknownTopicOrPartition),
                    },
                );
            }
            return;
        };
        let current = info.assignment.len() as u32;
        if count <= current {
            if let Some((client, correlation)) = requester {
                ctx.send(
                    client,
                    Message::CreatePartitionsResponse {
                        correlation,
                        topic,
                        error: Some(ErrorCode::InvalidPartitions),
                    },
                );
            }
            return;
        }
        let rf = info.assignment.get(&0).map_or(1, |r| r.len() as u32);
        let brokers: Vec<BrokerId> = self.live_brokers.iter().copied().collect();
        // Kafka continues from partition 0's first replica so the spread stays even.
        let start = info
            .assignment
            .get(&0)
            .and_then(|r| brokers.iter().position(|b| *b == r[0]))
            .unwrap_or(0);
        let mut assignment = info.assignment.clone();
        assignment.extend(assignment::assign_replicas(
            &brokers,
            current,
            count - current,
            rf.min(brokers.len() as u32),
            start,
            0,
        ));
        let mut ops_list = vec![ZkOp::SetData {
            path: paths::topic(&topic),
            data: zk_data::topic_assignment(&assignment),
            version: None,
        }];
        for p in current..count {
            ops_list.push(ZkOp::Create {
                path: format!("{}/partitions/{p}", paths::topic(&topic)),
                data: String::new(),
                ephemeral: false,
            });
        }
        self.write(
            ops,
            ZkOp::Multi(ops_list),
            ControllerTag::AddPartitions {
                topic,
                assignment,
                requester,
            },
        );
    }

    fn delete_topic_state(&mut self, topic: &TopicName, ctx: &mut Ctx<'_, ControllerTimer>) {
        let Some(info) = self.topics.remove(topic) else {
            return;
        };
        let mut stop: VecMap<BrokerId, Vec<TopicPartition>> = VecMap::new();
        for (p, replicas) in info.assignment {
            let tp = TopicPartition::new(topic, p);
            self.states.remove(&tp);
            for b in replicas {
                stop.entry(b).or_default().push(tp.clone());
            }
        }
        for (broker, partitions) in stop {
            if self.live_brokers.contains(&broker) {
                ctx.send(
                    NodeId::Broker(broker),
                    Message::StopReplica {
                        controller_id: self.me,
                        controller_epoch: self.epoch,
                        partitions,
                    },
                );
            }
        }
        self.deleted.push(topic.clone());
        ctx.trace(Event::TopicDeleted {
            topic: topic.clone(),
        });
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
        ctx.timer_in_ms(
            self.config.leader_imbalance_check_interval_seconds * 1_000,
            timer,
        );
        // Per preferred broker: the share of its partitions led by someone else.
        let mut preferred: VecMap<BrokerId, (u32, Vec<TopicPartition>)> = VecMap::new();
        for s in self.states.values() {
            let Some(&first) = s.replicas.first() else {
                continue;
            };
            let entry = preferred.entry(first).or_default();
            entry.0 += 1;
            if s.leader != Some(first) && self.eligible(first) && s.isr.contains(&first) {
                entry.1.push(s.tp.clone());
            }
        }
        for (broker, (total, imbalanced)) in preferred {
            if total == 0
                || imbalanced.len() as u32 * 100 / total
                    <= self.config.leader_imbalance_per_broker_percentage
            {
                continue;
            }
            for tp in imbalanced {
                if self.writing.contains(&tp) {
                    continue;
                }
                if let Some(state) = self.states.get(&tp).cloned() {
                    let new = PartitionState {
                        leader: Some(broker),
                        leader_epoch: state.leader_epoch + 1,
                        ..state
                    };
                    self.write_state(new, StateChange::Election { unclean: false }, ops);
                }
            }
        }
        if self.writes_in_flight == 0 {
            self.flush(ctx);
        }
    }
}
