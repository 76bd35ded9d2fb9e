//! A Kafka broker: hosts partition replicas, answers clients, replicates from leaders, registers
//! itself in ZooKeeper and races for `/controller`; the winner also runs the `Controller`.

mod fetch;
mod fetch_session;
mod group;
mod kraft;
mod metadata;
mod produce;
pub mod replica;
mod shutdown;
mod txn;

pub use kraft::{KRaftBroker, LifecycleState};
pub use metadata::MetadataCache;

use crate::config::{BrokerConfig, DynamicBrokerConfig, LogConfig, TopicConfig};
use crate::controller::{zk_data, Controller, ControllerTag, ControllerTimer};
use crate::group::coordinator::{GroupCoordinator, GroupTimer, OFFSETS_TOPIC};
use crate::ids::{BrokerId, NodeId, TopicName, TopicPartition};
use crate::log::PartitionLog;
use crate::node::Ctx;
use crate::partition_map::PartitionMap;
use crate::protocol::msg;
use crate::protocol::{Correlation, Message, PartitionState};
use crate::trace::Event;
use crate::txn::{TxnCoordinator, TRANSACTION_TOPIC};
use crate::vec_map::{VecMap, VecSet};
use crate::zookeeper::client::{ZkClient, ZkClientEvent, ZkClientTimer};
use crate::zookeeper::messages::{WatchKind, ZkError, ZkOp, ZkReply};
use crate::zookeeper::paths;
use fetch::{DelayedFetch, Fetcher, Watch};
use fetch_session::FetchSessionCache;
use produce::DelayedProduce;
use replica::{Replica, Role};

/// What a ZooKeeper answer is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkTag {
    RegisterBroker,
    /// `exists /controller` with a watch: is there a controller?
    WatchController,
    CreateController,
    Controller(Box<ControllerTag>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrokerTimer {
    Zk(ZkClientTimer),
    RetryRegistration,
    /// Every `replica.lag.time.max.ms / 2`: shrink the ISR of lagging followers.
    IsrCheck,
    /// Every `log.retention.check.interval.ms`: retention.
    RetentionCheck,
    /// Every `log.cleaner.backoff.ms`: compaction of the logs dirty enough.
    LogCleaner,
    FetchBackoff {
        leader: BrokerId,
    },
    FetchTimeout {
        leader: BrokerId,
        correlation: Correlation,
    },
    DelayedProduceExpired {
        id: u64,
    },
    DelayedFetchExpired {
        id: u64,
    },
    Controller(ControllerTimer),
    Group(GroupTimer),
    /// Every 10 s: abort transactions past their timeout.
    TxnExpiry,
    TxnRetryMarkers {
        transactional_id: String,
    },
    /// Controlled shutdown: ask the controller (again).
    ControlledShutdownRetry,
    /// KRaft: the metadata quorum's observer.
    Raft(crate::raft::client::RaftTimer),
    /// KRaft: register or heartbeat to the active controller.
    Lifecycle,
    LifecycleTimeout {
        correlation: Correlation,
    },
    /// Controlled shutdown: the controller did not answer in time.
    ControlledShutdownTimeout {
        correlation: Correlation,
    },
}

/// What survives a broker crash: its logs on disk.
#[derive(Clone, Debug, Default)]
pub struct BrokerDisk {
    pub logs: VecMap<TopicPartition, PartitionLog>,
    pub next_producer_id: i64,
}

#[derive(Debug)]
pub struct Broker {
    pub id: BrokerId,
    /// The settings in force: `server.properties` with the dynamic ones over it.
    pub config: BrokerConfig,
    /// `server.properties` (the scenario's broker settings).
    static_config: BrokerConfig,
    /// Dynamic settings: the cluster-wide default, and this broker's own (which win).
    dynamic: (DynamicBrokerConfig, DynamicBrokerConfig),
    zk: ZkClient<ZkTag>,
    pub registered: bool,
    pub replicas: PartitionMap<Replica>,
    pub metadata: MetadataCache,
    pub controller: Option<Controller>,
    /// Coordinates the groups of the `__consumer_offsets` partitions this broker leads.
    pub groups: GroupCoordinator,
    /// Coordinates the transactions of the `__transaction_state` partitions this broker leads.
    pub txns: TxnCoordinator,
    /// The highest controller epoch seen in a request: older ones are ignored.
    controller_epoch_seen: u32,
    topic_configs: VecMap<TopicName, TopicConfig>,
    fetchers: VecMap<BrokerId, Fetcher>,
    /// The fetch sessions of the followers fetching from this broker (KIP-227).
    fetch_sessions: FetchSessionCache,
    delayed_produces: VecMap<u64, DelayedProduce>,
    delayed_fetches: VecMap<u64, DelayedFetch>,
    /// Partitions whose log end or HW moved since parked fetches were last checked (Kafka's
    /// purgatory keys): only fetches watching one of them can have become answerable.
    moved: Vec<TopicPartition>,
    /// Delayed operations found complete, kept between calls: every produce and follower
    /// fetch looks for some, and nearly always finds one or two.
    completed: Vec<u64>,
    next_delayed_id: u64,
    next_correlation: Correlation,
    next_producer_id: i64,
    /// Logs kept on disk for partitions this broker has not been told about yet.
    dormant_logs: VecMap<TopicPartition, PartitionLog>,
    /// Internal topics this broker refused to create for want of brokers (said once).
    refused_internal_topics: VecSet<TopicName>,
    /// A controlled shutdown under way.
    shutdown: Option<shutdown::ControlledShutdown>,
    /// KRaft mode: the metadata log's observer and the lifecycle manager (ZooKeeper mode:
    /// `None`, and `zk` is used instead).
    pub kraft: Option<Box<KRaftBroker>>,
}

impl Broker {
    pub fn new(
        id: BrokerId,
        config: BrokerConfig,
        zk_servers: Vec<u32>,
        disk: BrokerDisk,
    ) -> Broker {
        let zk = ZkClient::new(
            zk_servers,
            id.0 as usize,
            config.zookeeper_session_timeout_ms,
        );
        Broker {
            id,
            groups: GroupCoordinator::new(id, config.clone()),
            txns: TxnCoordinator::new(&config),
            static_config: config.clone(),
            dynamic: Default::default(),
            config,
            zk,
            registered: false,
            replicas: PartitionMap::default(),
            metadata: MetadataCache::default(),
            controller: None,
            controller_epoch_seen: 0,
            topic_configs: VecMap::new(),
            fetchers: VecMap::new(),
            fetch_sessions: FetchSessionCache::default(),
            delayed_produces: VecMap::new(),
            delayed_fetches: VecMap::new(),
            moved: Vec::new(),
            completed: Vec::new(),
            next_delayed_id: 0,
            next_correlation: 0,
            next_producer_id: disk.next_producer_id.max(id.0 as i64 * 1_000_000_000),
            dormant_logs: disk.logs,
            refused_internal_topics: VecSet::new(),
            shutdown: None,
            kraft: None,
        }
    }

    /// A broker of a KRaft cluster (`process.roles=broker`): no ZooKeeper; it observes the
    /// metadata quorum of `voters`.
    pub fn new_kraft(
        id: BrokerId,
        config: BrokerConfig,
        kraft: KRaftBroker,
        disk: BrokerDisk,
    ) -> Broker {
        let mut broker = Broker::new(id, config, Vec::new(), disk);
        broker.kraft = Some(Box::new(kraft));
        broker
    }

    /// Where this broker sends controller requests (AlterPartition, CreateTopics): the
    /// ZooKeeper-mode controller broker, or KRaft's active controller.
    fn controller_node(&self) -> Option<NodeId> {
        match &self.kraft {
            Some(k) => k.controller(),
            None => self.metadata.controller.map(NodeId::Broker),
        }
    }

    /// The broker's logs, for the simulation to keep across a crash.
    pub fn into_disk(self) -> BrokerDisk {
        let mut logs = self.dormant_logs;
        for r in self.replicas.into_values() {
            logs.insert(r.tp, r.log);
        }
        BrokerDisk {
            logs,
            next_producer_id: self.next_producer_id,
        }
    }

    /// This broker's log for a partition, hosted or still dormant on disk.
    pub fn log(&self, tp: &TopicPartition) -> Option<&PartitionLog> {
        self.replicas
            .get(tp)
            .map(|r| &r.log)
            .or_else(|| self.dormant_logs.get(tp))
    }

    pub fn is_active_controller(&self) -> bool {
        self.controller.as_ref().is_some_and(|c| c.is_active())
    }
    pub fn zk_session(&self) -> Option<u64> {
        self.zk.session()
    }
    pub fn zk_server(&self) -> Option<u32> {
        self.zk.server()
    }

    fn correlation(&mut self) -> Correlation {
        self.next_correlation += 1;
        self.next_correlation
    }

    pub fn start(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        if self.kraft.is_some() {
            self.start_kraft(ctx);
        } else {
            let t = self.zk.connect(ctx);
            self.set_zk_timer(t, ctx);
        }
        ctx.timer_in_ms(
            self.config.replica_lag_time_max_ms / 2,
            BrokerTimer::IsrCheck,
        );
        ctx.timer_in_ms(
            self.config.log_retention_check_interval_ms,
            BrokerTimer::RetentionCheck,
        );
        ctx.timer_in_ms(self.config.log_cleaner_backoff_ms, BrokerTimer::LogCleaner);
        ctx.timer_in_ms(crate::txn::EXPIRY_CHECK_INTERVAL_MS, BrokerTimer::TxnExpiry);
    }

    fn set_zk_timer(&mut self, timer: ZkClientTimer, ctx: &mut Ctx<'_, BrokerTimer>) {
        let delay = match timer {
            ZkClientTimer::Ping { .. } => self.zk.ping_interval_ms(),
            ZkClientTimer::Reconnect { .. } => self.zk.reconnect_delay_ms(),
        };
        ctx.timer_in_ms(delay, BrokerTimer::Zk(timer));
    }

    pub fn zk_submit(&mut self, op: ZkOp, tag: ZkTag, ctx: &mut Ctx<'_, BrokerTimer>) {
        self.zk.submit(op, tag, ctx);
    }

    // ---- ZooKeeper: registration and the controller race ----

    fn on_zk_events(&mut self, events: Vec<ZkClientEvent<ZkTag>>, ctx: &mut Ctx<'_, BrokerTimer>) {
        for event in events {
            match event {
                ZkClientEvent::Connected { new_session: true } => self.register(ctx),
                ZkClientEvent::Connected { new_session: false } => {}
                ZkClientEvent::SessionExpired => {
                    self.registered = false;
                    self.resign_controller(ctx);
                }
                ZkClientEvent::Watch { path, kind } => self.on_watch(&path, kind, ctx),
                ZkClientEvent::Response { tag, result } => self.on_zk_response(tag, result, ctx),
            }
        }
    }

    fn register(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        let data = zk_data::broker_registration(self.id, ctx.now.as_ms());
        self.zk.submit(
            ZkOp::Create {
                path: paths::broker(self.id.0),
                data,
                ephemeral: true,
            },
            ZkTag::RegisterBroker,
            ctx,
        );
    }

    fn elect_controller(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        self.zk.submit(
            ZkOp::Exists {
                path: paths::CONTROLLER.into(),
                watch: true,
            },
            ZkTag::WatchController,
            ctx,
        );
    }

    fn on_watch(&mut self, path: &str, kind: WatchKind, ctx: &mut Ctx<'_, BrokerTimer>) {
        if path == paths::CONTROLLER {
            // Deleted: race to take over. Created or changed: keep watching.
            if kind == WatchKind::NodeDeleted {
                self.resign_controller(ctx);
            }
            self.elect_controller(ctx);
        } else if let Some(controller) = self.controller.as_mut() {
            let mut ops = Vec::new();
            controller.on_watch(path, kind, &mut ops);
            self.submit_controller_ops(ops, ctx);
        }
    }

    fn on_zk_response(
        &mut self,
        tag: ZkTag,
        result: Result<ZkReply, ZkError>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        match tag {
            ZkTag::RegisterBroker => match result {
                Ok(_) => {
                    self.registered = true;
                    self.elect_controller(ctx);
                }
                // The previous session's node is still there (a quick restart): Kafka refuses
                // to start; we retry until ZooKeeper expires the old session.
                Err(_) => ctx.timer_in_ms(1_000, BrokerTimer::RetryRegistration),
            },
            ZkTag::WatchController => {
                if let Ok(ZkReply::Exists(None)) = result {
                    let data = zk_data::controller(self.id, ctx.now.as_ms());
                    self.zk.submit(
                        ZkOp::Create {
                            path: paths::CONTROLLER.into(),
                            data,
                            ephemeral: true,
                        },
                        ZkTag::CreateController,
                        ctx,
                    );
                }
            }
            ZkTag::CreateController => match result {
                Ok(_) => {
                    let mut controller = Controller::new(self.id, self.config.clone());
                    let mut ops = Vec::new();
                    controller.begin_failover(&mut ops);
                    self.controller = Some(controller);
                    self.submit_controller_ops(ops, ctx);
                }
                Err(_) => self.elect_controller(ctx),
            },
            ZkTag::Controller(tag) => {
                let Some(controller) = self.controller.as_mut() else {
                    return;
                };
                let mut ops = Vec::new();
                let resign = ctx.scoped(BrokerTimer::Controller, |ctx| {
                    controller.on_zk_response(*tag, result, &mut ops, ctx)
                });
                self.submit_controller_ops(ops, ctx);
                if resign {
                    self.resign_controller(ctx);
                }
            }
        }
    }

    fn submit_controller_ops(
        &mut self,
        ops: Vec<(ZkOp, ControllerTag)>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        for (op, tag) in ops {
            self.zk.submit(op, ZkTag::Controller(Box::new(tag)), ctx);
        }
    }

    fn resign_controller(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        if self.controller.take().is_some() {
            ctx.trace(Event::ControllerResigned { broker: self.id });
        }
    }

    // ---- Controller requests ----

    fn on_leader_and_isr(
        &mut self,
        controller_epoch: u32,
        partitions: Vec<PartitionState>,
        configs: Vec<(TopicName, TopicConfig)>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        if controller_epoch < self.controller_epoch_seen {
            return;
        }
        self.controller_epoch_seen = controller_epoch;
        self.apply_partition_states(partitions, configs, ctx);
    }

    /// Becomes leader or follower of partitions as the controller decided (LeaderAndIsr in
    /// ZooKeeper mode, the metadata log's records in KRaft mode).
    fn apply_partition_states(
        &mut self,
        partitions: Vec<PartitionState>,
        configs: Vec<(TopicName, TopicConfig)>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        // Leadership and ISRs change: no follower stays lazily recorded (fetch_session.rs).
        self.settle_lazy(None);
        self.topic_configs.extend(configs);
        for state in partitions {
            if !state.replicas.contains(&self.id) {
                continue;
            }
            let tp = state.tp.clone();
            if !self.replicas.contains_key(&tp) {
                let config = LogConfig::resolve(
                    self.topic_configs
                        .get(&tp.topic)
                        .unwrap_or(&TopicConfig::default()),
                    &self.config,
                );
                let log = self.dormant_logs.remove(&tp).map(|mut l| {
                    l.config = config.clone();
                    l
                });
                let mut replica = Replica::new(
                    tp.clone(),
                    log.unwrap_or_else(|| PartitionLog::new(config, ctx.now)),
                );
                replica.rebuild_producer_state();
                replica.strict_min_isr = self.kraft.is_some();
                self.replicas.insert(replica.tp.clone(), replica);
            }
            let replica = self.replicas.get_mut(&tp).expect("inserted above");
            if state.leader_epoch < replica.leader_epoch {
                continue;
            }
            let new_epoch =
                state.leader_epoch > replica.leader_epoch || matches!(replica.role, Role::None);
            replica.leader_epoch = state.leader_epoch;
            replica.partition_epoch = state.partition_epoch;
            replica.replicas = state.replicas.clone();
            replica.isr = state.isr.clone();
            replica.pending_isr = None;
            match state.leader {
                Some(leader) if leader == self.id => {
                    if new_epoch || !replica.is_leader() {
                        // A new leader knows nothing of its followers yet; ISR members count as
                        // caught up now (Kafka resets their fetch state the same way).
                        let followers = state
                            .isr
                            .iter()
                            .filter(|b| **b != self.id)
                            .map(|b| {
                                (
                                    *b,
                                    replica::FollowerProgress {
                                        log_end_offset: None,
                                        last_caught_up: ctx.now,
                                        last_fetch: ctx.now,
                                        leader_leo_at_last_fetch: 0,
                                    },
                                )
                            })
                            .collect();
                        replica.role = Role::Leader { followers };
                    }
                    self.remove_from_fetchers(&tp);
                    // The controller may have shrunk the ISR (a dead follower): what the
                    // remaining members have is committed now.
                    self.advance_high_watermark(&tp, ctx);
                }
                Some(leader) => {
                    replica.role = Role::Follower { leader };
                    self.remove_from_fetchers(&tp);
                    self.fetchers.entry(leader).or_default().follow(&tp);
                    self.maybe_fetch(leader, ctx);
                }
                None => {
                    replica.role = Role::None;
                    self.remove_from_fetchers(&tp);
                }
            }
        }
        self.complete_delayed(Watch::All, ctx);
        self.update_coordinator(ctx);
        self.update_txn_coordinator(ctx);
    }

    fn on_stop_replica(
        &mut self,
        controller_epoch: u32,
        partitions: Vec<TopicPartition>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        if controller_epoch < self.controller_epoch_seen {
            return;
        }
        self.stop_replicas(partitions, ctx);
    }

    /// Stops serving and deletes these partitions (StopReplica in ZooKeeper mode, a
    /// RemoveTopic record in KRaft mode).
    fn stop_replicas(&mut self, partitions: Vec<TopicPartition>, ctx: &mut Ctx<'_, BrokerTimer>) {
        self.settle_lazy(None);
        for tp in partitions {
            if &*tp.topic == OFFSETS_TOPIC {
                ctx.scoped(BrokerTimer::Group, |ctx| {
                    self.groups.unload(tp.partition, ctx)
                });
            }
            if &*tp.topic == TRANSACTION_TOPIC {
                self.txns.unload(tp.partition);
            }
            self.remove_from_fetchers(&tp);
            self.replicas.remove(&tp);
            self.dormant_logs.remove(&tp);
        }
        self.recheck_all_parked();
    }

    fn remove_from_fetchers(&mut self, tp: &TopicPartition) {
        for f in self.fetchers.values_mut() {
            f.unfollow(tp);
        }
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx<'_, BrokerTimer>) {
        // KRaft: an answer to a request this broker forwarded goes back to who asked.
        let msg = match self.relay_forwarded(from, msg, ctx) {
            Some(msg) => msg,
            None => return,
        };
        match msg {
            Message::ZooKeeper(m) => {
                let NodeId::ZooKeeper(server) = from else {
                    return;
                };
                let (events, timer) = self.zk.on_message(server, *m, ctx);
                if let Some(t) = timer {
                    self.set_zk_timer(t, ctx);
                }
                self.on_zk_events(events, ctx);
            }
            Message::LeaderAndIsr(msg::LeaderAndIsr {
                controller_epoch,
                partitions,
                topic_configs,
                ..
            }) => self.on_leader_and_isr(controller_epoch, partitions, topic_configs, ctx),
            Message::StopReplica(msg::StopReplica {
                controller_epoch,
                partitions,
                ..
            }) => self.on_stop_replica(controller_epoch, partitions, ctx),
            Message::UpdateMetadata(msg::UpdateMetadata {
                controller_id,
                controller_epoch,
                live_brokers,
                partitions,
                deleted_topics,
            }) => {
                if controller_epoch >= self.controller_epoch_seen {
                    self.controller_epoch_seen = controller_epoch;
                    self.metadata
                        .update(controller_id, live_brokers, partitions, deleted_topics);
                }
            }
            Message::MetadataRequest(msg::MetadataRequest {
                correlation,
                topics,
                allow_auto_topic_creation,
            }) => {
                let (response, to_create) = self.metadata.respond(
                    correlation,
                    &topics,
                    allow_auto_topic_creation && self.config.auto_create_topics_enable,
                );
                ctx.send(from, response);
                if let Some(controller) = self.metadata.controller {
                    for topic in to_create {
                        let correlation = self.correlation();
                        let topic = crate::protocol::NewTopic {
                            name: topic,
                            partitions: self.config.num_partitions,
                            replication_factor: self.config.default_replication_factor,
                            config: TopicConfig::default(),
                        };
                        ctx.send(
                            NodeId::Broker(controller),
                            Message::CreateTopicsRequest(msg::CreateTopicsRequest {
                                correlation,
                                topic: Box::new(topic),
                            }),
                        );
                    }
                }
            }
            Message::ProduceRequest(request) => self.handle_produce(from, request, ctx),
            Message::FetchRequest(request) => self.handle_fetch(from, request, ctx),
            Message::FetchResponse(msg::FetchResponse {
                correlation,
                error,
                session_id,
                partitions,
                ..
            }) => {
                if let NodeId::Broker(leader) = from {
                    let response = (error, session_id, partitions);
                    self.on_fetch_response(leader, correlation, response, ctx);
                }
            }
            Message::ListOffsetsRequest(msg::ListOffsetsRequest {
                correlation,
                partitions,
            }) => self.handle_list_offsets(from, correlation, partitions, ctx),
            Message::InitProducerIdRequest(msg::InitProducerIdRequest {
                correlation,
                transactional_id: None,
                ..
            }) => {
                self.next_producer_id += 1;
                ctx.send(
                    from,
                    Message::InitProducerIdResponse(msg::InitProducerIdResponse {
                        correlation,
                        error: None,
                        producer_id: self.next_producer_id,
                        producer_epoch: 0,
                    }),
                );
            }
            request @ (Message::InitProducerIdRequest(msg::InitProducerIdRequest {
                transactional_id: Some(_),
                ..
            })
            | Message::AddPartitionsToTxnRequest(..)
            | Message::AddOffsetsToTxnRequest(..)
            | Message::EndTxnRequest(..)) => self.handle_txn_request(from, request, ctx),
            Message::WriteTxnMarkersRequest(msg::WriteTxnMarkersRequest {
                correlation,
                producer_id,
                producer_epoch,
                commit,
                partitions,
            }) => self.handle_write_markers(
                from,
                correlation,
                producer_id,
                producer_epoch,
                commit,
                partitions,
                ctx,
            ),
            Message::WriteTxnMarkersResponse(msg::WriteTxnMarkersResponse {
                producer_id,
                partitions,
                ..
            }) => self.on_markers_response(producer_id, partitions, ctx),
            Message::FindCoordinatorRequest(msg::FindCoordinatorRequest {
                correlation,
                key,
                key_type,
            }) => self.handle_find_coordinator(from, correlation, &key, key_type, ctx),
            request @ (Message::JoinGroupRequest(..)
            | Message::SyncGroupRequest(..)
            | Message::HeartbeatRequest(..)
            | Message::LeaveGroupRequest(..)
            | Message::OffsetCommitRequest(..)
            | Message::TxnOffsetCommitRequest(..)
            | Message::OffsetFetchRequest(..)) => {
                let writes = ctx.scoped(BrokerTimer::Group, |ctx| {
                    self.groups.handle(from, request, ctx)
                });
                self.write_to_offsets_topic(writes, ctx);
            }
            Message::AlterPartitionResponse(msg::AlterPartitionResponse { tp, result, .. }) => {
                self.on_alter_partition_response(tp, result.map(|s| *s), ctx)
            }
            Message::TopicConfigChanged(msg::TopicConfigChanged { topic, config }) => {
                self.on_topic_config_changed(topic, *config)
            }
            Message::BrokerConfigChanged(msg::BrokerConfigChanged { broker, config }) => {
                self.on_broker_config_changed(broker, *config)
            }
            request @ (Message::CreateTopicsRequest(..)
            | Message::CreatePartitionsRequest(..)
            | Message::DeleteTopicsRequest(..)
            | Message::ElectLeadersRequest(..)
            | Message::AlterConfigsRequest(..)
            | Message::AlterBrokerConfigsRequest(..)
            | Message::AlterPartition(..)
            | Message::ControlledShutdownRequest(..)) => {
                self.on_controller_request(from, request, ctx)
            }
            Message::ApiVersionsRequest(msg::ApiVersionsRequest { correlation }) => ctx.send(
                from,
                Message::ApiVersionsResponse(msg::ApiVersionsResponse { correlation }),
            ),
            Message::ControlledShutdownResponse(msg::ControlledShutdownResponse {
                correlation,
                error,
                remaining,
            }) => self.on_controlled_shutdown_response(correlation, error, remaining, ctx),
            // The answer to creating an internal topic (or auto-creating one): the topic itself
            // arrives as UpdateMetadata and LeaderAndIsr.
            Message::CreateTopicsResponse(..) => {}
            Message::Raft(m) => {
                if let Some(from) = crate::kraft::server::replica_id(from) {
                    self.with_quorum(ctx, |raft, ctx| raft.on_message(from, *m, ctx));
                }
            }
            Message::BrokerRegistrationResponse(r) => self.on_registration_response(r, ctx),
            Message::BrokerHeartbeatResponse(r) => self.on_heartbeat_response(r, ctx),
            other => debug_assert!(false, "broker {} got {other:?}", self.id),
        }
    }

    /// Starts with the dynamic settings ZooKeeper holds (a broker reads `/config/brokers` as
    /// it starts).
    pub fn with_dynamic_config(
        mut self,
        default: DynamicBrokerConfig,
        own: DynamicBrokerConfig,
    ) -> Broker {
        self.dynamic = (default, own);
        self.config = self
            .dynamic
            .1
            .apply(&self.dynamic.0.apply(&self.static_config));
        self
    }

    /// Dynamic settings changed (for every broker, or for this one): the logs whose topics do
    /// not override them take them at once, and so does the controller if it runs here.
    pub(super) fn on_broker_config_changed(
        &mut self,
        broker: Option<BrokerId>,
        config: DynamicBrokerConfig,
    ) {
        match broker {
            None => self.dynamic.0 = config,
            Some(b) if b == self.id => self.dynamic.1 = config,
            Some(_) => return,
        }
        self.config = self
            .dynamic
            .1
            .apply(&self.dynamic.0.apply(&self.static_config));
        for replica in self.replicas.values_mut() {
            let topic = self
                .topic_configs
                .get(&replica.tp.topic)
                .cloned()
                .unwrap_or_default();
            replica.log.config = LogConfig::resolve(&topic, &self.config);
        }
        if let Some(controller) = self.controller.as_mut() {
            controller.set_broker_config(self.config.clone());
        }
    }

    /// A topic's overrides changed: its logs here take the new settings (retention, min ISR…)
    /// at once, as Kafka's `LogManager.updateTopicConfig` does.
    fn on_topic_config_changed(&mut self, topic: TopicName, config: TopicConfig) {
        let resolved = LogConfig::resolve(&config, &self.config);
        for replica in self.replicas.values_mut() {
            if replica.tp.topic == topic {
                replica.log.config = resolved.clone();
            }
        }
        self.topic_configs.insert(topic, config);
    }

    fn on_controller_request(
        &mut self,
        from: NodeId,
        request: Message,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        if self.kraft.is_some() {
            return self.forward_to_controller(from, request, ctx);
        }
        match self.controller.as_mut() {
            Some(controller) => {
                let mut ops = Vec::new();
                ctx.scoped(BrokerTimer::Controller, |ctx| {
                    controller.on_request(from, request, &mut ops, ctx)
                });
                self.submit_controller_ops(ops, ctx);
            }
            None => {
                if let Some(response) = crate::controller::not_controller_response(&request) {
                    ctx.send(from, response);
                }
            }
        }
    }

    pub fn on_timer(&mut self, timer: BrokerTimer, ctx: &mut Ctx<'_, BrokerTimer>) {
        match timer {
            BrokerTimer::Zk(t) => {
                if let Some(next) = self.zk.on_timer(t, ctx) {
                    self.set_zk_timer(next, ctx);
                }
            }
            BrokerTimer::RetryRegistration => {
                if !self.registered && self.zk.is_connected() {
                    self.register(ctx);
                }
            }
            BrokerTimer::IsrCheck => {
                ctx.timer_in_ms(
                    self.config.replica_lag_time_max_ms / 2,
                    BrokerTimer::IsrCheck,
                );
                self.check_isr(ctx);
            }
            BrokerTimer::LogCleaner => {
                ctx.timer_in_ms(self.config.log_cleaner_backoff_ms, BrokerTimer::LogCleaner);
                self.clean_logs(ctx);
            }
            BrokerTimer::RetentionCheck => {
                ctx.timer_in_ms(
                    self.config.log_retention_check_interval_ms,
                    BrokerTimer::RetentionCheck,
                );
                self.apply_retention(ctx);
            }
            BrokerTimer::FetchBackoff { leader } => self.maybe_fetch(leader, ctx),
            BrokerTimer::FetchTimeout {
                leader,
                correlation,
            } => {
                let timed_out = self
                    .fetchers
                    .get_mut(&leader)
                    .filter(|f| f.in_flight.is_some_and(|(c, _)| c == correlation))
                    .and_then(|f| f.failed());
                if timed_out.is_some() {
                    self.maybe_fetch(leader, ctx);
                }
            }
            BrokerTimer::DelayedProduceExpired { id } => self.expire_delayed_produce(id, ctx),
            BrokerTimer::DelayedFetchExpired { id } => self.expire_delayed_fetch(id, ctx),
            BrokerTimer::TxnExpiry => self.on_txn_expiry_check(ctx),
            BrokerTimer::TxnRetryMarkers { transactional_id } => {
                self.send_markers(&transactional_id, ctx)
            }
            BrokerTimer::ControlledShutdownRetry => self.request_controlled_shutdown(ctx),
            BrokerTimer::Raft(t) => self.with_quorum(ctx, |raft, ctx| raft.on_timer(t, ctx)),
            BrokerTimer::Lifecycle => self.on_lifecycle_timer(ctx),
            BrokerTimer::LifecycleTimeout { correlation } => {
                self.on_lifecycle_timeout(correlation, ctx)
            }
            BrokerTimer::ControlledShutdownTimeout { correlation } => {
                self.on_controlled_shutdown_timeout(correlation, ctx)
            }
            BrokerTimer::Group(t) => {
                let writes = ctx.scoped(BrokerTimer::Group, |ctx| self.groups.on_timer(t, ctx));
                self.write_to_offsets_topic(writes, ctx);
            }
            BrokerTimer::Controller(t) => {
                if let Some(controller) = self.controller.as_mut() {
                    let mut ops = Vec::new();
                    ctx.scoped(BrokerTimer::Controller, |ctx| {
                        controller.on_timer(t, &mut ops, ctx)
                    });
                    self.submit_controller_ops(ops, ctx);
                }
            }
        }
    }

    /// A connection closed because the peer's process died.
    pub fn on_disconnect(&mut self, peer: NodeId, ctx: &mut Ctx<'_, BrokerTimer>) {
        match peer {
            NodeId::ZooKeeper(server) => {
                if let Some(t) = self.zk.on_disconnect(server) {
                    self.set_zk_timer(t, ctx);
                }
            }
            NodeId::Broker(leader) => {
                if let Some(f) = self.fetchers.get_mut(&leader) {
                    if let Some(timeout) = f.failed() {
                        ctx.cancel(timeout);
                        ctx.timer_in_ms(
                            self.config.replica_fetch_backoff_ms,
                            BrokerTimer::FetchBackoff { leader },
                        );
                    }
                }
            }
            // Clients and the admin reconnect on their own; a broker keeps no state for them.
            NodeId::Producer(_) | NodeId::Consumer(_) | NodeId::Client(_) | NodeId::Admin => {}
            // The metadata log's fetch times out and goes elsewhere (raft/client/fetch.rs).
            NodeId::Controller(_) => {}
        }
    }

    /// Retention on every log (`log.retention.check.interval.ms`).
    fn apply_retention(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        let mut changed = false;
        for replica in self.replicas.values_mut() {
            let tp = &replica.tp;
            if let Some(removed) = replica.log.apply_retention(ctx.now) {
                changed = true;
                ctx.trace(Event::RecordsExpired {
                    broker: self.id,
                    topic: tp.topic.clone(),
                    partition: tp.partition,
                    records: removed.records,
                    log_start_offset: removed.new_log_start_offset,
                });
            }
        }
        if changed {
            self.recheck_all_parked();
            self.settle_lazy(None);
        }
    }

    /// The log cleaner's pass (every `log.cleaner.backoff.ms`): compacts the logs dirty enough.
    fn clean_logs(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        let mut changed = false;
        for replica in self.replicas.values_mut() {
            if let Some(removed) = replica.log.compact() {
                changed = true;
                ctx.trace(Event::RecordsCompacted {
                    broker: self.id,
                    topic: replica.tp.topic.clone(),
                    partition: replica.tp.partition,
                    records: removed.records,
                });
            }
        }
        if changed {
            self.recheck_all_parked();
            self.settle_lazy(None);
        }
    }
}
