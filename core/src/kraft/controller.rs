//! The quorum controller (Kafka's `QuorumController` with its `ClusterControlManager`,
//! `ReplicationControlManager` and `BrokerHeartbeatManager`): every controller applies the
//! committed metadata log to its image, a hot standby; the quorum leader, once its own epoch's
//! first record is committed, is the active controller. It decides by writing records: it
//! applies them to its image at once and answers the request when the high watermark passes
//! them. Heartbeats are not written: a new active controller starts every broker's session
//! afresh.

use super::features;
use super::image::{
    broker_resource_name, config_pairs, Delta, MetadataImage, PartitionRegistration,
    BROKER_RESOURCE, TOPIC_RESOURCE,
};
use super::loader::MetadataLoader;
use super::partition_change::{Election, PartitionChange};
use crate::config::{BrokerConfig, KRaftConfig};
use crate::controller::assignment::assign_replicas;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{ErrorCode, Message, NewTopic};
use crate::raft::client::{RaftClient, RaftTimer};
use crate::raft::log::{MetadataRecord, NO_LEADER, NO_LEADER_CHANGE};
use crate::raft::Epoch;
use crate::time::SimTime;
use crate::trace::Event;
use crate::vec_map::VecMap;

/// The active controller's state beyond the image (lost when it stops leading).
#[derive(Clone, Debug)]
struct Active {
    epoch: Epoch,
    /// The committed image plus this controller's own records, committed or not.
    image: MetadataImage,
    /// Answers waiting for the record at this offset to commit.
    pending: Vec<(Offset, NodeId, Message)>,
    /// Each registered broker's last heartbeat (or when this controller became active).
    sessions: VecMap<u32, SimTime>,
    /// How far each broker said it has applied the log.
    reported: VecMap<u32, Offset>,
    /// Brokers in controlled shutdown: the offset of the records that moved their
    /// leadership away.
    shutting_down: VecMap<u32, Offset>,
}

#[derive(Clone, Debug)]
pub struct QuorumController {
    node_id: u32,
    config: KRaftConfig,
    /// The static broker settings (`unclean.leader.election.enable`'s default).
    broker_config: BrokerConfig,
    /// Every committed record, applied.
    committed: MetadataImage,
    loader: MetadataLoader,
    active: Option<Active>,
}

/// What a heartbeat asks, taken from the request.
struct Heartbeat {
    broker: u32,
    epoch: u64,
    offset: Offset,
    want_fence: bool,
    want_shut_down: bool,
}

impl QuorumController {
    pub fn new(node_id: u32, config: KRaftConfig, broker_config: BrokerConfig) -> QuorumController {
        QuorumController {
            node_id,
            config,
            broker_config,
            committed: MetadataImage::default(),
            loader: MetadataLoader::default(),
            active: None,
        }
    }

    /// The committed image.
    pub fn image(&self) -> &MetadataImage {
        &self.committed
    }
    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }
    pub fn config(&self) -> &KRaftConfig {
        &self.config
    }

    // ---- Following the log ----

    /// After any step of the quorum: applies what was committed, takes or gives up the active
    /// role, and answers the requests whose records are now committed.
    pub fn on_raft_progress(&mut self, raft: &mut RaftClient, ctx: &mut Ctx<'_, RaftTimer>) {
        let mut delta = Delta::default();
        self.loader
            .follow(&mut self.committed, raft, &self.config, ctx.now, &mut delta);
        let hw = raft.high_watermark();
        // The leader that committed them reports its elections, as ZooKeeper mode's
        // controller does once its write succeeds.
        if raft.epoch_start_offset().is_some() {
            for (tp, unclean) in delta.elected {
                let Some(p) = self.committed.partition(&tp) else {
                    continue; // deleted in the same batch
                };
                ctx.trace(Event::LeaderElected {
                    topic: tp.topic.clone(),
                    partition: tp.partition,
                    leader: p.leader(),
                    leader_epoch: p.leader_epoch,
                    isr: p.isr.iter().copied().map(BrokerId).collect(),
                    unclean,
                });
            }
        }
        let leading = raft.epoch_start_offset().is_some_and(|start| hw > start);
        match (&self.active, leading) {
            (Some(a), true) if a.epoch == raft.epoch() => {}
            (_, true) => self.activate(raft, ctx),
            (Some(_), false) => self.active = None,
            (None, false) => {}
        }
        if let Some(active) = &mut self.active {
            let (ready, waiting): (Vec<_>, Vec<_>) =
                active.pending.drain(..).partition(|(o, _, _)| *o < hw);
            active.pending = waiting;
            for (_, to, msg) in ready {
                ctx.send(to, msg);
            }
        }
    }

    /// `QuorumController.claim`: the new active controller knows every committed record
    /// (a hot standby), but not when brokers last heartbeated: their sessions start now.
    fn activate(&mut self, raft: &mut RaftClient, ctx: &mut Ctx<'_, RaftTimer>) {
        let now = ctx.now;
        let sessions = self
            .committed
            .brokers
            .iter()
            .filter(|(_, b)| !b.fenced)
            .map(|(id, _)| (*id, now))
            .collect();
        self.active = Some(Active {
            epoch: raft.epoch(),
            image: self.committed.clone(),
            pending: Vec::new(),
            sessions,
            reported: VecMap::new(),
            shutting_down: VecMap::new(),
        });
        ctx.trace(Event::KRaftControllerActivated {
            node: self.node_id,
            epoch: raft.epoch(),
        });
        // A new metadata log begins with its feature levels (the bootstrap records).
        if self.committed.features.is_empty() {
            let records = features::BOOTSTRAP
                .iter()
                .map(|&(name, level)| MetadataRecord::FeatureLevel {
                    name: name.into(),
                    feature_level: level,
                })
                .collect();
            self.write(raft, records, ctx);
        }
    }

    /// Appends records and applies them to the active image; returns the last one's offset.
    fn write(
        &mut self,
        raft: &mut RaftClient,
        records: Vec<MetadataRecord>,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) -> Option<Offset> {
        let active = self.active.as_mut()?;
        let mut last = None;
        for record in records {
            let offset = raft.append(record.clone(), ctx).ok()?;
            let entry = crate::raft::log::LogEntry {
                offset,
                epoch: active.epoch,
                record,
            };
            active.image.apply(&entry, &mut Delta::default());
            last = Some(offset);
        }
        last
    }

    /// Writes records and answers `to` with `reply` once they are committed (at once if
    /// there are none).
    fn write_then_reply(
        &mut self,
        raft: &mut RaftClient,
        records: Vec<MetadataRecord>,
        to: NodeId,
        reply: Message,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        match self.write(raft, records, ctx) {
            Some(offset) => {
                if let Some(active) = &mut self.active {
                    active.pending.push((offset, to, reply));
                }
            }
            None => ctx.send(to, reply),
        }
    }

    /// The active controller's image (the handlers below run only while active).
    fn active_image(&self) -> &MetadataImage {
        &self
            .active
            .as_ref()
            .expect("only the active controller decides")
            .image
    }

    // ---- Requests ----

    pub fn on_request(
        &mut self,
        from: NodeId,
        msg: Message,
        raft: &mut RaftClient,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        if self.active.is_none() {
            if let Some(reply) = crate::protocol::not_controller_response(&msg) {
                ctx.send(from, reply);
            }
            return;
        }
        match msg {
            Message::BrokerRegistrationRequest(r) => self.register_broker(from, r, raft, ctx),
            Message::BrokerHeartbeatRequest(r) => {
                let heartbeat = Heartbeat {
                    broker: r.broker_id.0,
                    epoch: r.broker_epoch,
                    offset: r.current_metadata_offset,
                    want_fence: r.want_fence,
                    want_shut_down: r.want_shut_down,
                };
                self.broker_heartbeat(from, r.correlation, heartbeat, raft, ctx)
            }
            Message::CreateTopicsRequest(r) => {
                self.create_topic(from, r.correlation, *r.topic, raft, ctx)
            }
            Message::AlterPartition(r) => self.alter_partition(from, r, raft, ctx),
            Message::CreatePartitionsRequest(r) => self.create_partitions(from, r, raft, ctx),
            Message::DeleteTopicsRequest(r) => self.delete_topic(from, r, raft, ctx),
            Message::ElectLeadersRequest(r) => self.elect_leaders(from, r, raft, ctx),
            Message::AlterConfigsRequest(r) => self.alter_topic_config(from, r, raft, ctx),
            Message::AlterBrokerConfigsRequest(r) => self.alter_broker_config(from, r, raft, ctx),
            other => debug_assert!(false, "the quorum controller got {other:?}"),
        }
    }

    /// `ClusterControlManager.registerBroker`: a new incarnation gets a new broker epoch (the
    /// offset of its RegisterBroker record) and starts fenced.
    fn register_broker(
        &mut self,
        from: NodeId,
        request: msg::BrokerRegistrationRequest,
        raft: &mut RaftClient,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let now = ctx.now;
        let session_ms = self.config.broker_session_timeout_ms;
        let active = self.active.as_mut().expect("active");
        let id = request.broker_id.0;
        let reply = |result| {
            Message::BrokerRegistrationResponse(msg::BrokerRegistrationResponse {
                correlation: request.correlation,
                result,
            })
        };
        if let Some(existing) = active.image.brokers.get(&id) {
            if existing.incarnation_id == request.incarnation_id {
                // A retry: the same registration.
                let epoch = existing.epoch;
                self.write_then_reply(raft, Vec::new(), from, reply(Ok(epoch)), ctx);
                return;
            }
            let live = active
                .sessions
                .get(&id)
                .is_some_and(|t| now.since(*t) < SimTime::from_ms(session_ms).0);
            if !existing.fenced && live {
                ctx.send(from, reply(Err(ErrorCode::DuplicateBrokerRegistration)));
                return;
            }
        }
        let broker_epoch = active.image.next_offset();
        active.sessions.insert(id, now);
        active.shutting_down.remove(&id);
        let replaces = active.image.brokers.contains_key(&id);
        let record = MetadataRecord::RegisterBroker {
            broker_id: id,
            incarnation_id: request.incarnation_id,
            broker_epoch,
            rack: None,
            fenced: true,
            in_controlled_shutdown: false,
        };
        let registered = self.write(raft, vec![record], ctx);
        // A new incarnation replaces one that did not shut down cleanly
        // (`handleBrokerUncleanShutdown`, KIP-966): now fenced, it leads nothing and leaves
        // the ISRs until it catches up again.
        let moves = if replaces {
            self.leave_partitions(id, true, true)
        } else {
            Vec::new()
        };
        let last = self.write(raft, moves, ctx).or(registered);
        let reply = reply(Ok(broker_epoch));
        match (self.active.as_mut(), last) {
            (Some(active), Some(last)) => active.pending.push((last, from, reply)),
            _ => ctx.send(from, reply),
        }
    }

    /// `QuorumController.processBrokerHeartbeat` with `BrokerHeartbeatManager`'s state
    /// machine: unfence a caught-up broker, move leadership away from one that wants to shut
    /// down, and let it go once every other broker has seen that.
    fn broker_heartbeat(
        &mut self,
        from: NodeId,
        correlation: u64,
        hb: Heartbeat,
        raft: &mut RaftClient,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let active = self.active.as_mut().expect("active");
        let reply = |error, is_caught_up, is_fenced, should_shut_down| {
            Message::BrokerHeartbeatResponse(msg::BrokerHeartbeatResponse {
                correlation,
                error,
                is_caught_up,
                is_fenced,
                should_shut_down,
            })
        };
        let Some(registration) = active
            .image
            .brokers
            .get(&hb.broker)
            .filter(|r| r.epoch == hb.epoch)
            .cloned()
        else {
            ctx.send(
                from,
                reply(Some(ErrorCode::StaleBrokerEpoch), false, true, false),
            );
            return;
        };
        active.sessions.insert(hb.broker, ctx.now);
        active.reported.insert(hb.broker, hb.offset);
        let caught_up = hb.offset >= registration.epoch;
        if registration.fenced {
            if caught_up && !hb.want_fence && !hb.want_shut_down {
                let mut records = vec![MetadataRecord::BrokerRegistrationChange {
                    broker_id: hb.broker,
                    broker_epoch: registration.epoch,
                    fenced: Some(false),
                    in_controlled_shutdown: None,
                }];
                records.extend(self.elect_on_unfence(hb.broker));
                ctx.trace(Event::KRaftBrokerUnfenced {
                    broker: hb.broker,
                    broker_epoch: registration.epoch,
                });
                self.write_then_reply(raft, records, from, reply(None, true, false, false), ctx);
            } else {
                let shut_down = hb.want_shut_down;
                ctx.send(from, reply(None, caught_up, true, shut_down));
            }
            return;
        }
        if !hb.want_shut_down {
            ctx.send(from, reply(None, caught_up, false, false));
            return;
        }
        // Controlled shutdown: first move leadership and ISR membership away.
        let moves = self.leave_partitions(hb.broker, false, false);
        let active = self.active.as_mut().expect("active");
        if !moves.is_empty() || !registration.in_controlled_shutdown {
            let mut records = Vec::new();
            if !registration.in_controlled_shutdown {
                records.push(MetadataRecord::BrokerRegistrationChange {
                    broker_id: hb.broker,
                    broker_epoch: registration.epoch,
                    fenced: None,
                    in_controlled_shutdown: Some(true),
                });
            }
            records.extend(moves);
            let last = self.write(raft, records, ctx);
            if let (Some(active), Some(last)) = (self.active.as_mut(), last) {
                active.shutting_down.insert(hb.broker, last);
            }
            ctx.send(from, reply(None, caught_up, false, false));
            return;
        }
        // `lowestActiveOffset`: every other live broker has applied the moves.
        let moved_at = active.shutting_down.get(&hb.broker).copied().unwrap_or(0);
        let everyone_saw = active
            .image
            .brokers
            .iter()
            .filter(|(id, b)| **id != hb.broker && !b.fenced)
            .all(|(id, _)| active.reported.get(id).is_some_and(|o| *o >= moved_at));
        if everyone_saw {
            ctx.trace(Event::KRaftBrokerFenced {
                broker: hb.broker,
                session_expired: false,
            });
            let last = self.fence_broker(hb.broker, registration.epoch, raft, ctx);
            let reply = reply(None, caught_up, true, true);
            match (self.active.as_mut(), last) {
                (Some(active), Some(last)) => active.pending.push((last, from, reply)),
                _ => ctx.send(from, reply),
            }
        } else {
            ctx.send(from, reply(None, caught_up, false, false));
        }
    }

    /// `maybeFenceStaleBroker`, every `broker.session.timeout.ms / 8`: fences the one broker
    /// whose session expired longest ago, electing new leaders for what it led.
    pub fn fence_stale_broker(&mut self, raft: &mut RaftClient, ctx: &mut Ctx<'_, RaftTimer>) {
        let Some(active) = &self.active else {
            return;
        };
        let timeout = SimTime::from_ms(self.config.broker_session_timeout_ms).0;
        let stale = active
            .image
            .brokers
            .iter()
            .filter(|(_, b)| !b.fenced)
            .filter_map(|(id, b)| {
                let last = active.sessions.get(id).copied().unwrap_or(SimTime::ZERO);
                (ctx.now.since(last) >= timeout).then_some((last, *id, b.epoch))
            })
            .min();
        let Some((_, broker, epoch)) = stale else {
            return;
        };
        ctx.trace(Event::KRaftBrokerFenced {
            broker,
            session_expired: true,
        });
        self.fence_broker(broker, epoch, raft, ctx);
    }

    /// `handleBrokerFenced`: the fence, then new leaders (from the ISR) wherever it led and
    /// its removal from every ISR, in one batch. Returns the last record's offset.
    fn fence_broker(
        &mut self,
        broker: u32,
        epoch: u64,
        raft: &mut RaftClient,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) -> Option<Offset> {
        let fence = MetadataRecord::BrokerRegistrationChange {
            broker_id: broker,
            broker_epoch: epoch,
            fenced: Some(true),
            in_controlled_shutdown: None,
        };
        // Fenced first, so the elections below cannot pick it.
        let fenced_at = self.write(raft, vec![fence], ctx);
        let moves = self.leave_partitions(broker, true, false);
        let last = self.write(raft, moves, ctx).or(fenced_at);
        if let Some(active) = &mut self.active {
            active.sessions.remove(&broker);
        }
        last
    }

    /// The NoOp record of `metadata.max.idle.interval.ms`.
    pub fn write_no_op(&mut self, raft: &mut RaftClient, ctx: &mut Ctx<'_, RaftTimer>) {
        self.write(raft, vec![MetadataRecord::NoOp], ctx);
    }

    /// PartitionChange records taking `broker` out of every ISR it is in (with ELR the ISR
    /// may empty: its last member moves to the ELR) and electing another leader where it led.
    /// `fenced`: the broker is already fenced (a session expiry) rather than shutting down.
    /// `unclean_shutdown`: it came back after an unclean shutdown, so it also leaves the ELRs
    /// (`handleBrokerUncleanShutdown`).
    fn leave_partitions(
        &self,
        broker: u32,
        fenced: bool,
        unclean_shutdown: bool,
    ) -> Vec<MetadataRecord> {
        let image = self.active_image();
        let mut records = Vec::new();
        for topic in image.topics.values() {
            for (partition, p) in topic.partitions.iter() {
                let leads = p.leader == broker as i32;
                let in_elr = unclean_shutdown && p.elr.contains(&broker);
                if !leads && !in_elr && !p.isr.contains(&broker) {
                    continue;
                }
                let target_isr = p.isr.iter().copied().filter(|b| *b != broker).collect();
                let change = PartitionChange {
                    unclean_shutdown: unclean_shutdown.then_some(broker),
                    ..self.partition_change(image, &topic.name, topic.id, *partition, p, target_isr)
                };
                let Some(record) = change.build(|r| r != broker && !image.is_fenced(r)) else {
                    continue;
                };
                // A shutting-down broker that is the only replica keeps leading until it goes.
                let leaderless = matches!(record, MetadataRecord::PartitionChange { leader, .. } if leader == NO_LEADER);
                if !fenced && leads && leaderless {
                    continue;
                }
                records.push(record);
            }
        }
        records
    }

    /// A change of partition `p` toward `target_isr`, with the topic's election kind and its
    /// effective min ISR.
    fn partition_change<'a>(
        &self,
        image: &MetadataImage,
        topic: &str,
        topic_id: u128,
        partition_id: u32,
        p: &'a PartitionRegistration,
        target_isr: Vec<u32>,
    ) -> PartitionChange<'a> {
        PartitionChange {
            partition: p,
            topic_id,
            partition_id,
            target_isr,
            election: self.election(image, topic),
            min_isr: self.min_isr(image, topic, p),
            unclean_shutdown: None,
        }
    }

    /// The election a leaderless partition gets: unclean where the topic allows it.
    fn election(&self, image: &MetadataImage, topic: &str) -> Election {
        if self.unclean_enabled(image, topic) {
            Election::Unclean
        } else {
            Election::Online
        }
    }

    /// `getTopicEffectiveMinIsr`: the topic's `min.insync.replicas`, else the cluster-wide
    /// dynamic one, else the static one, at most the replication factor.
    fn min_isr(&self, image: &MetadataImage, topic: &str, p: &PartitionRegistration) -> usize {
        let configured = image
            .topic_config(topic)
            .min_insync_replicas
            .or(image.broker_config(None).min_insync_replicas)
            .unwrap_or(self.broker_config.min_insync_replicas);
        (configured as usize).min(p.replicas.len())
    }

    /// `unclean.leader.election.enable` for a topic: its override, else the brokers'.
    fn unclean_enabled(&self, image: &MetadataImage, topic: &str) -> bool {
        image
            .topic_config(topic)
            .unclean_leader_election_enable
            .unwrap_or(self.broker_config.unclean_leader_election_enable)
    }

    /// `handleBrokerUnfenced`: each leaderless partition the broker replicates gets an
    /// election in which it counts as unfenced (it is, by the record written just before).
    fn elect_on_unfence(&self, broker: u32) -> Vec<MetadataRecord> {
        let image = self.active_image();
        let mut records = Vec::new();
        for topic in image.topics.values() {
            for (partition, p) in topic.partitions.iter() {
                if p.leader != NO_LEADER || !p.replicas.contains(&broker) {
                    continue;
                }
                let change = self.partition_change(
                    image,
                    &topic.name,
                    topic.id,
                    *partition,
                    p,
                    p.isr.clone(),
                );
                records.extend(change.build(|r| r == broker || !image.is_fenced(r)));
            }
        }
        records
    }

    /// `ReplicationControlManager.createTopics`: replicas spread over the unfenced brokers
    /// (Kafka's rack-unaware assignment), the first replica leads.
    fn create_topic(
        &mut self,
        from: NodeId,
        correlation: u64,
        topic: NewTopic,
        raft: &mut RaftClient,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let image = self.active_image();
        let brokers = image.unfenced_brokers();
        let error = if image.topic(&topic.name).is_some() {
            Some(ErrorCode::TopicAlreadyExists)
        } else if topic.partitions == 0 {
            Some(ErrorCode::InvalidPartitions)
        } else if topic.replication_factor == 0 || topic.replication_factor as usize > brokers.len()
        {
            Some(ErrorCode::InvalidReplicationFactor)
        } else {
            None
        };
        let reply = |error| {
            Message::CreateTopicsResponse(msg::CreateTopicsResponse {
                correlation,
                topic: topic.name.clone(),
                error,
            })
        };
        if error.is_some() {
            ctx.send(from, reply(error));
            return;
        }
        let n = brokers.len() as u64;
        let (start, shift) = (ctx.rng.below(n) as usize, ctx.rng.below(n) as usize);
        let assignment = assign_replicas(
            &brokers,
            0,
            topic.partitions,
            topic.replication_factor,
            start,
            shift,
        );
        let topic_id = (u128::from(ctx.rng.next_u64()) << 64) | u128::from(ctx.rng.next_u64());
        let mut records = vec![MetadataRecord::Topic {
            name: topic.name.to_string(),
            topic_id,
        }];
        for (name, value) in config_pairs(&topic.config) {
            records.push(MetadataRecord::Config {
                resource_type: TOPIC_RESOURCE,
                resource_name: topic.name.to_string(),
                name,
                value: Some(value),
            });
        }
        for (partition, replicas) in assignment.iter() {
            let replicas: Vec<u32> = replicas.iter().map(|b| b.0).collect();
            records.push(MetadataRecord::Partition {
                partition_id: *partition,
                topic_id,
                isr: replicas.clone(),
                leader: replicas[0] as i32,
                replicas,
                leader_epoch: 0,
                partition_epoch: 0,
                eligible_leader_replicas: Vec::new(),
                last_known_elr: Vec::new(),
            });
        }
        self.write_then_reply(raft, records, from, reply(None), ctx);
    }

    /// `ReplicationControlManager.alterPartition`: the leader's new ISR, if it asked from the
    /// partition's current leader and partition epochs and names only unfenced brokers.
    fn alter_partition(
        &mut self,
        from: NodeId,
        request: msg::AlterPartition,
        raft: &mut RaftClient,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let image = self.active_image();
        let tp = request.tp.clone();
        let reply = |result| {
            Message::AlterPartitionResponse(msg::AlterPartitionResponse {
                correlation: request.correlation,
                tp: tp.clone(),
                result,
            })
        };
        let Some((topic_id, p)) = image
            .topic(&tp.topic)
            .and_then(|t| Some((t.id, t.partitions.get(&tp.partition)?)))
        else {
            ctx.send(from, reply(Err(ErrorCode::UnknownTopicOrPartition)));
            return;
        };
        let new_isr: Vec<u32> = request.new_isr.iter().map(|b| b.0).collect();
        let error = if p.leader != request.broker_id.0 as i32 {
            Some(ErrorCode::NotLeaderOrFollower)
        } else if request.leader_epoch != p.leader_epoch
            || request.partition_epoch != p.partition_epoch
        {
            Some(ErrorCode::FencedLeaderEpoch)
        } else if new_isr.iter().any(|b| {
            // KIP-841: fenced brokers and brokers in controlled shutdown may not join.
            !p.replicas.contains(b)
                || image
                    .brokers
                    .get(b)
                    .is_none_or(|r| r.fenced || r.in_controlled_shutdown)
        }) {
            Some(ErrorCode::IneligibleReplica)
        } else {
            None
        };
        if let Some(error) = error {
            ctx.send(from, reply(Err(error)));
            return;
        }
        let mut state = p.state(tp.clone());
        state.isr = request.new_isr.clone();
        state.partition_epoch += 1;
        let change = PartitionChange {
            election: Election::Online,
            ..self.partition_change(image, &tp.topic, topic_id, tp.partition, p, new_isr.clone())
        };
        // The leader asked from the current partition epoch: a record even when nothing
        // changes, so the epoch it is told moves as the image's does.
        let record =
            change
                .build(|r| !image.is_fenced(r))
                .unwrap_or(MetadataRecord::PartitionChange {
                    partition_id: tp.partition,
                    topic_id,
                    isr: Some(new_isr),
                    leader: NO_LEADER_CHANGE,
                    replicas: None,
                    eligible_leader_replicas: None,
                    last_known_elr: None,
                });
        self.write_then_reply(raft, vec![record], from, reply(Ok(Box::new(state))), ctx);
    }

    /// `ReplicationControlManager.createPartitions`: new partitions, spread as a new topic's.
    fn create_partitions(
        &mut self,
        from: NodeId,
        request: msg::CreatePartitionsRequest,
        raft: &mut RaftClient,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let image = self.active_image();
        let reply = |error| {
            Message::CreatePartitionsResponse(msg::CreatePartitionsResponse {
                correlation: request.correlation,
                topic: request.topic.clone(),
                error,
            })
        };
        let Some(topic) = image.topic(&request.topic) else {
            ctx.send(from, reply(Some(ErrorCode::UnknownTopicOrPartition)));
            return;
        };
        let current = topic.partitions.len() as u32;
        let replication = topic
            .partitions
            .values()
            .next()
            .map_or(1, |p| p.replicas.len());
        let brokers = image.unfenced_brokers();
        let error = if request.count <= current {
            Some(ErrorCode::InvalidPartitions)
        } else if replication > brokers.len() {
            Some(ErrorCode::InvalidReplicationFactor)
        } else {
            None
        };
        if error.is_some() {
            ctx.send(from, reply(error));
            return;
        }
        let n = brokers.len() as u64;
        let (start, shift) = (ctx.rng.below(n) as usize, ctx.rng.below(n) as usize);
        let assignment = assign_replicas(
            &brokers,
            current,
            request.count - current,
            replication as u32,
            start,
            shift,
        );
        let topic_id = topic.id;
        let records = assignment
            .iter()
            .map(|(partition, replicas)| {
                let replicas: Vec<u32> = replicas.iter().map(|b| b.0).collect();
                MetadataRecord::Partition {
                    partition_id: *partition,
                    topic_id,
                    isr: replicas.clone(),
                    leader: replicas[0] as i32,
                    replicas,
                    leader_epoch: 0,
                    partition_epoch: 0,
                    eligible_leader_replicas: Vec::new(),
                    last_known_elr: Vec::new(),
                }
            })
            .collect();
        self.write_then_reply(raft, records, from, reply(None), ctx);
    }

    /// `ReplicationControlManager.deleteTopic`: one RemoveTopic record; brokers that apply it
    /// stop and delete their replicas.
    fn delete_topic(
        &mut self,
        from: NodeId,
        request: msg::DeleteTopicsRequest,
        raft: &mut RaftClient,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let image = self.active_image();
        let reply = |error| {
            Message::DeleteTopicsResponse(msg::DeleteTopicsResponse {
                correlation: request.correlation,
                topic: request.topic.clone(),
                error,
            })
        };
        match image.topic(&request.topic) {
            None => ctx.send(from, reply(Some(ErrorCode::UnknownTopicOrPartition))),
            Some(topic) => {
                let record = MetadataRecord::RemoveTopic { topic_id: topic.id };
                self.write_then_reply(raft, vec![record], from, reply(None), ctx);
            }
        }
    }

    /// `ReplicationControlManager.electLeaders`: the preferred replica where it is in sync
    /// and unfenced, or (unclean) any unfenced replica of a leaderless partition.
    fn elect_leaders(
        &mut self,
        from: NodeId,
        request: msg::ElectLeadersRequest,
        raft: &mut RaftClient,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let image = self.active_image();
        let every = request.partitions.is_none();
        let wanted = request.partitions.unwrap_or_else(|| {
            image
                .topics
                .values()
                .flat_map(|t| {
                    t.partitions
                        .keys()
                        .map(|p| TopicPartition::new(&t.name, *p))
                })
                .collect()
        });
        let mut records = Vec::new();
        let mut results = Vec::new();
        for tp in wanted {
            let found = image
                .topic(&tp.topic)
                .and_then(|t| Some((t.id, t.partitions.get(&tp.partition)?)));
            let result = match found {
                None => Err(ErrorCode::UnknownTopicOrPartition),
                Some((topic_id, p)) => {
                    let live = |b: u32| !image.is_fenced(b);
                    let change = PartitionChange {
                        election: if request.unclean {
                            Election::Unclean
                        } else {
                            Election::Preferred
                        },
                        ..self.partition_change(
                            image,
                            &tp.topic,
                            topic_id,
                            tp.partition,
                            p,
                            p.isr.clone(),
                        )
                    };
                    let preferred = p.replicas.first().map(|r| *r as i32);
                    // Unclean: only where the leader is gone; preferred: only where another
                    // replica leads.
                    let not_needed = if request.unclean {
                        p.leader().is_some_and(|l| live(l.0))
                    } else {
                        preferred == Some(p.leader)
                    };
                    if not_needed {
                        Err(ErrorCode::ElectionNotNeeded)
                    } else {
                        match change.build(live) {
                            Some(record @ MetadataRecord::PartitionChange { leader, .. })
                                if leader >= 0
                                    && (request.unclean || Some(leader) == preferred) =>
                            {
                                records.push(record);
                                Ok(())
                            }
                            _ if request.unclean => Err(ErrorCode::EligibleLeadersNotAvailable),
                            _ => Err(ErrorCode::PreferredLeaderNotAvailable),
                        }
                    }
                }
            };
            let error = result.err();
            if !(every && error == Some(ErrorCode::ElectionNotNeeded)) {
                results.push((tp, error));
            }
        }
        let reply = Message::ElectLeadersResponse(msg::ElectLeadersResponse {
            correlation: request.correlation,
            results,
        });
        self.write_then_reply(raft, records, from, reply, ctx);
    }

    /// `kafka-configs.sh --alter` on a topic: the request carries its whole new set of
    /// overrides; ConfigRecords set what changed and delete (null value) what went.
    fn alter_topic_config(
        &mut self,
        from: NodeId,
        request: msg::AlterConfigsRequest,
        raft: &mut RaftClient,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let image = self.active_image();
        let reply = |error| {
            Message::AlterConfigsResponse(msg::AlterConfigsResponse {
                correlation: request.correlation,
                topic: request.topic.clone(),
                error,
            })
        };
        if image.topic(&request.topic).is_none() {
            ctx.send(from, reply(Some(ErrorCode::UnknownTopicOrPartition)));
            return;
        }
        let before = image.topic_config(&request.topic);
        let mut records = config_changes(
            TOPIC_RESOURCE,
            request.topic.to_string(),
            &before,
            &request.config,
        );
        if before.min_insync_replicas != request.config.min_insync_replicas {
            records.extend(clear_elr(image, Some(&request.topic)));
        }
        self.write_then_reply(raft, records, from, reply(None), ctx);
    }

    /// `kafka-configs.sh --entity-type brokers --alter`: one broker's settings or the default.
    fn alter_broker_config(
        &mut self,
        from: NodeId,
        request: msg::AlterBrokerConfigsRequest,
        raft: &mut RaftClient,
        ctx: &mut Ctx<'_, RaftTimer>,
    ) {
        let image = self.active_image();
        let before = image.broker_config(request.broker);
        let mut records = config_changes(
            BROKER_RESOURCE,
            broker_resource_name(request.broker),
            &before,
            &request.config,
        );
        if request.broker.is_none()
            && before.min_insync_replicas != request.config.min_insync_replicas
        {
            records.extend(clear_elr(image, None));
        }
        let reply = Message::AlterConfigsResponse(msg::AlterConfigsResponse {
            correlation: request.correlation,
            topic: crate::protocol::broker_resource(request.broker).into(),
            error: None,
        });
        self.write_then_reply(raft, records, from, reply, ctx);
    }
}

/// KIP-966: a new `min.insync.replicas` (one topic's, or `None`: the cluster's) clears the
/// ELR state of the partitions it applies to, since it was kept against the old one.
fn clear_elr(image: &MetadataImage, topic: Option<&str>) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    for t in image.topics.values() {
        if topic.is_some_and(|name| name != &*t.name) {
            continue;
        }
        for (partition, p) in t.partitions.iter() {
            if !p.elr.is_empty() || !p.last_known_elr.is_empty() {
                records.push(MetadataRecord::PartitionChange {
                    partition_id: *partition,
                    topic_id: t.id,
                    isr: None,
                    leader: NO_LEADER_CHANGE,
                    replicas: None,
                    eligible_leader_replicas: Some(Vec::new()),
                    last_known_elr: Some(Vec::new()),
                });
            }
        }
    }
    records
}

/// The ConfigRecords that turn `before` into `after`: set what is new or changed, delete
/// (a null value) what is gone, in name order.
fn config_changes<T: serde::Serialize>(
    resource_type: u8,
    resource_name: String,
    before: &T,
    after: &T,
) -> Vec<MetadataRecord> {
    let before = config_pairs(before);
    let after = config_pairs(after);
    let mut records = Vec::new();
    for (name, value) in &after {
        if !before.iter().any(|(n, v)| n == name && v == value) {
            records.push(MetadataRecord::Config {
                resource_type,
                resource_name: resource_name.clone(),
                name: name.clone(),
                value: Some(value.clone()),
            });
        }
    }
    for (name, _) in &before {
        if !after.iter().any(|(n, _)| n == name) {
            records.push(MetadataRecord::Config {
                resource_type,
                resource_name: resource_name.clone(),
                name: name.clone(),
                value: None,
            });
        }
    }
    records
}
