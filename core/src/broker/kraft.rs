//! A broker in KRaft mode (`process.roles=broker`): an observer of the metadata quorum that
//! applies the committed records to its image and acts on what changed (Kafka's
//! `MetadataLoader` and `BrokerMetadataPublisher`), and the `BrokerLifecycleManager` that
//! registers with the active controller and heartbeats to it. No ZooKeeper, and no
//! LeaderAndIsr or UpdateMetadata: leadership reaches a broker only through the log.

use super::{Broker, BrokerTimer};
use crate::config::KRaftConfig;
use crate::ids::{BrokerId, NodeId, Offset};
use crate::kraft::image::{Delta, MetadataImage};
use crate::kraft::loader::MetadataLoader;
use crate::kraft::server::address;
use crate::node::{Ctx, TimerId};
use crate::protocol::msg;
use crate::protocol::{Correlation, ErrorCode, Message};
use crate::raft::client::{RaftClient, RaftTimer};
use crate::raft::log::RaftLog;
use crate::raft::{RaftConfig, ReplicaId};
use crate::vec_map::VecMap;

/// How long while STARTING between heartbeats (`BrokerLifecycleManager`: 10 ms until the
/// controller says the broker caught up).
const STARTING_HEARTBEAT_MS: u64 = 10;
/// The wait before asking again after an error or with no controller known (Kafka backs
/// off exponentially from `retry.backoff.ms`; one step is enough here).
const RETRY_MS: u64 = 100;
/// Admin requests a broker remembers having forwarded (the oldest is forgotten first).
const MAX_FORWARDED: usize = 1024;
/// The first heartbeat after the controller answered one asking to shut down.
const SHUTDOWN_FIRST_RETRY_MS: u64 = 50;

/// `BrokerState`, as the lifecycle manager moves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleState {
    /// Registering and catching up with the metadata log.
    Starting,
    /// Caught up; waiting to be unfenced.
    Recovery,
    Running,
    /// Asked to stop: heartbeats say `wantShutDown` until the controller agrees.
    PendingControlledShutdown,
}

#[derive(Clone, Debug)]
pub struct KRaftBroker {
    /// An observer of `__cluster_metadata`.
    pub raft: RaftClient,
    /// The committed records this broker has applied.
    pub image: MetadataImage,
    loader: MetadataLoader,
    config: KRaftConfig,
    incarnation_id: u64,
    pub state: LifecycleState,
    /// From the controller's answer to this incarnation's registration.
    pub broker_epoch: Option<u64>,
    /// The one registration or heartbeat in flight.
    in_flight: Option<Correlation>,
    /// Whether the active controller last said this broker is fenced.
    pub fenced: bool,
    /// The next registration or heartbeat: one timer at a time.
    next: Option<TimerId>,
    /// A heartbeat answered since the controlled shutdown began.
    shutdown_answered: bool,
    /// Admin requests forwarded to the active controller (KIP-590): our correlation → who
    /// asked, and their correlation.
    forwarded: VecMap<Correlation, (NodeId, Correlation)>,
}

impl KRaftBroker {
    pub fn new(
        id: BrokerId,
        voters: Vec<ReplicaId>,
        config: KRaftConfig,
        incarnation_id: u64,
    ) -> KRaftBroker {
        // Brokers keep the metadata log on disk too, but a restarted one reading it again
        // from the leader shows the same thing: it starts empty.
        KRaftBroker {
            raft: RaftClient::restart(
                id.0,
                voters,
                RaftConfig::from(&config),
                address,
                Default::default(),
                RaftLog::new(),
            ),
            image: MetadataImage::default(),
            loader: MetadataLoader::default(),
            config,
            incarnation_id,
            state: LifecycleState::Starting,
            broker_epoch: None,
            in_flight: None,
            fenced: true,
            next: None,
            shutdown_answered: false,
            forwarded: VecMap::new(),
        }
    }

    /// The active controller, as far as the quorum has told this broker.
    pub fn controller(&self) -> Option<NodeId> {
        self.raft.leader_id().map(address)
    }

    /// Sets the lifecycle timer, replacing one already set.
    fn schedule(&mut self, delay_ms: u64, ctx: &mut Ctx<'_, BrokerTimer>) {
        if let Some(previous) = self.next.take() {
            ctx.cancel(previous);
        }
        self.next = Some(ctx.timeout_in_ms(delay_ms, BrokerTimer::Lifecycle));
    }

    /// The offset of the last record applied.
    pub fn metadata_offset(&self) -> Option<Offset> {
        self.image.offset
    }
}

impl Broker {
    pub(super) fn start_kraft(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        self.with_quorum(ctx, |raft, ctx| raft.start(ctx));
        if let Some(kraft) = self.kraft.as_mut() {
            kraft.schedule(0, ctx);
        }
    }

    /// Runs `f` on the broker's quorum observer, then publishes what was committed.
    pub(super) fn with_quorum(
        &mut self,
        ctx: &mut Ctx<'_, BrokerTimer>,
        f: impl FnOnce(&mut RaftClient, &mut Ctx<'_, RaftTimer>),
    ) {
        let Some(kraft) = self.kraft.as_mut() else {
            return;
        };
        ctx.scoped(BrokerTimer::Raft, |ctx| f(&mut kraft.raft, ctx));
        self.publish_metadata(ctx);
    }

    /// `MetadataLoader` + `BrokerMetadataPublisher`: applies the newly committed records in
    /// order and hands the changes to the replica manager and the metadata cache, as
    /// LeaderAndIsr and UpdateMetadata do in ZooKeeper mode.
    fn publish_metadata(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        let Some(kraft) = self.kraft.as_mut() else {
            return;
        };
        let mut delta = Delta::default();
        kraft.loader.follow(
            &mut kraft.image,
            &mut kraft.raft,
            &kraft.config,
            ctx.now,
            &mut delta,
        );
        if delta.is_empty() {
            return;
        }
        let image = &kraft.image;
        let live: Vec<BrokerId> = image.unfenced_brokers();
        let partitions: Vec<_> = delta
            .partitions
            .iter()
            .filter_map(|tp| Some(image.partition(tp)?.state(tp.clone())))
            .collect();
        let configs: Vec<_> = delta
            .topic_configs
            .iter()
            .map(|t| (t.clone(), image.topic_config(t)))
            .collect();
        // Kafka 4.x names a random live broker as the clients' controller: admin requests
        // to it are forwarded to the active controller. kplay names the first.
        let controller_for_clients = live.first().copied().unwrap_or(self.id);
        self.metadata.update(
            controller_for_clients,
            live,
            partitions.clone(),
            delta.deleted_topics.clone(),
        );
        let broker_configs: Vec<_> = delta
            .broker_configs
            .iter()
            .map(|b| (*b, image.broker_config(*b)))
            .collect();
        let deleted: Vec<_> = delta
            .deleted_topics
            .iter()
            .flat_map(|t| {
                self.replicas
                    .keys()
                    .filter(|tp| tp.topic == *t)
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        for (broker, config) in broker_configs {
            self.on_broker_config_changed(broker, config);
        }
        for (topic, config) in &configs {
            self.on_topic_config_changed(topic.clone(), config.clone());
        }
        if !deleted.is_empty() {
            self.stop_replicas(deleted, ctx);
        }
        if !partitions.is_empty() {
            self.apply_partition_states(partitions, configs, ctx);
        }
    }

    /// The lifecycle manager's timer: register, or heartbeat, one request at a time. Only an
    /// answer or a timeout schedules the next one.
    pub(super) fn on_lifecycle_timer(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        let correlation = self.correlation();
        let id = self.id;
        let Some(kraft) = self.kraft.as_mut() else {
            return;
        };
        kraft.next = None;
        if kraft.in_flight.is_some() {
            return;
        }
        let Some(controller) = kraft.controller() else {
            // No leader known yet: the metadata fetch will find one.
            kraft.schedule(RETRY_MS, ctx);
            return;
        };
        let request = match kraft.broker_epoch {
            None => Message::BrokerRegistrationRequest(msg::BrokerRegistrationRequest {
                correlation,
                broker_id: id,
                incarnation_id: kraft.incarnation_id,
            }),
            Some(broker_epoch) => Message::BrokerHeartbeatRequest(msg::BrokerHeartbeatRequest {
                correlation,
                broker_id: id,
                broker_epoch,
                current_metadata_offset: kraft.metadata_offset().unwrap_or(0),
                want_fence: false,
                want_shut_down: kraft.state == LifecycleState::PendingControlledShutdown,
            }),
        };
        kraft.in_flight = Some(correlation);
        ctx.send(controller, request);
        ctx.timer_in_ms(
            kraft.config.request_timeout_ms,
            BrokerTimer::LifecycleTimeout { correlation },
        );
    }

    pub(super) fn on_lifecycle_timeout(
        &mut self,
        correlation: Correlation,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let Some(kraft) = self.kraft.as_mut() else {
            return;
        };
        if kraft.in_flight == Some(correlation) {
            kraft.in_flight = None;
            self.on_lifecycle_timer(ctx);
        }
    }

    /// The lifecycle manager, if `correlation` answers its request in flight (now answered).
    fn lifecycle_answer(&mut self, correlation: Correlation) -> Option<&mut KRaftBroker> {
        let kraft = self.kraft.as_deref_mut()?;
        if kraft.in_flight != Some(correlation) {
            return None;
        }
        kraft.in_flight = None;
        Some(kraft)
    }

    pub(super) fn on_registration_response(
        &mut self,
        response: msg::BrokerRegistrationResponse,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let Some(kraft) = self.lifecycle_answer(response.correlation) else {
            return;
        };
        let delay = match response.result {
            Ok(epoch) => {
                kraft.broker_epoch = Some(epoch);
                STARTING_HEARTBEAT_MS
            }
            Err(_) => RETRY_MS,
        };
        kraft.schedule(delay, ctx);
    }

    pub(super) fn on_heartbeat_response(
        &mut self,
        response: msg::BrokerHeartbeatResponse,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let Some(kraft) = self.lifecycle_answer(response.correlation) else {
            return;
        };
        match response.error {
            Some(ErrorCode::StaleBrokerEpoch) => {
                // The controller no longer knows this registration: register again.
                kraft.broker_epoch = None;
                kraft.state = LifecycleState::Starting;
                kraft.schedule(0, ctx);
                return;
            }
            Some(_) => {
                kraft.schedule(RETRY_MS, ctx);
                return;
            }
            None => {}
        }
        kraft.fenced = response.is_fenced;
        let delay = match kraft.state {
            LifecycleState::PendingControlledShutdown if response.should_shut_down => {
                return self.finish_shutdown(ctx);
            }
            // The first answer while waiting: ask again soon, in case the controller is
            // quick (`BrokerLifecycleManager`'s 50 ms).
            LifecycleState::PendingControlledShutdown if !kraft.shutdown_answered => {
                kraft.shutdown_answered = true;
                SHUTDOWN_FIRST_RETRY_MS
            }
            LifecycleState::PendingControlledShutdown | LifecycleState::Running => {
                kraft.config.broker_heartbeat_interval_ms
            }
            LifecycleState::Starting | LifecycleState::Recovery => {
                if !response.is_fenced {
                    kraft.state = LifecycleState::Running;
                } else if response.is_caught_up {
                    kraft.state = LifecycleState::Recovery;
                }
                if kraft.state == LifecycleState::Starting {
                    STARTING_HEARTBEAT_MS
                } else {
                    kraft.config.broker_heartbeat_interval_ms
                }
            }
        };
        kraft.schedule(delay, ctx);
    }

    /// KRaft's controlled shutdown: heartbeats ask for it; the controller moves leadership
    /// away and says when to go.
    pub(super) fn begin_kraft_shutdown(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        let Some(kraft) = self.kraft.as_mut() else {
            return;
        };
        if kraft.broker_epoch.is_none() || kraft.fenced {
            return self.finish_shutdown(ctx);
        }
        kraft.state = LifecycleState::PendingControlledShutdown;
        if kraft.in_flight.is_none() {
            kraft.schedule(0, ctx);
        }
    }

    /// KIP-590: a KRaft broker forwards a client's admin request (CreateTopics, DeleteTopics,
    /// CreatePartitions, ElectLeaders, AlterConfigs) to the active controller and relays the
    /// answer; with no controller known it answers `NOT_CONTROLLER`, and the client retries.
    pub(super) fn forward_to_controller(
        &mut self,
        from: NodeId,
        mut request: Message,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        let correlation = self.correlation();
        let Some(kraft) = self.kraft.as_mut() else {
            return;
        };
        let (Some(controller), Some(theirs)) = (kraft.controller(), request.correlation()) else {
            if let Some(answer) = crate::protocol::not_controller_response(&request) {
                ctx.send(from, answer);
            }
            return;
        };
        // Forwarded requests whose answer never came (a controller died) are dropped: the
        // client has timed out and asked again.
        if kraft.forwarded.len() >= MAX_FORWARDED {
            if let Some(oldest) = kraft.forwarded.keys().next().copied() {
                kraft.forwarded.remove(&oldest);
            }
        }
        kraft.forwarded.insert(correlation, (from, theirs));
        request.set_correlation(correlation);
        ctx.send(controller, request);
    }

    /// An answer to a forwarded request goes back to who asked (`None`); anything else is
    /// handed back for the broker to handle.
    pub(super) fn relay_forwarded(
        &mut self,
        from: NodeId,
        mut msg: Message,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) -> Option<Message> {
        let Some(kraft) = self.kraft.as_mut() else {
            return Some(msg);
        };
        let relayed = matches!(
            msg,
            Message::CreateTopicsResponse(_)
                | Message::CreatePartitionsResponse(_)
                | Message::DeleteTopicsResponse(_)
                | Message::ElectLeadersResponse(_)
                | Message::AlterConfigsResponse(_)
        ) && crate::kraft::server::replica_id(from).is_some();
        let Some((client, theirs)) = relayed
            .then(|| msg.correlation())
            .flatten()
            .and_then(|c| kraft.forwarded.remove(&c))
        else {
            return Some(msg);
        };
        msg.set_correlation(theirs);
        ctx.send(client, msg);
        None
    }
}
