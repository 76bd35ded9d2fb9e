//! Partition and replica state (Kafka's PartitionStateMachine and ReplicaStateMachine): a
//! partition's first leader, leader election from the ISR (or, if the topic allows it, from any
//! live replica), ISR changes when brokers die and when leaders ask (AlterPartition), each a
//! version-checked write of the partition's state znode. Once no write is in flight, what
//! changed goes to the brokers in one batch of LeaderAndIsr and UpdateMetadata requests
//! (Kafka's `ControllerBrokerRequestBatch`).

use super::{zk_data, Controller, ControllerTimer, Ops, Requester, WriteTag};
use crate::ids::{BrokerId, LeaderEpoch, NodeId, TopicName, TopicPartition};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{ErrorCode, Message, PartitionState};
use crate::trace::Event;
use crate::vec_map::VecSet;
use crate::zookeeper::messages::{ZkError, ZkOp, ZkReply};
use crate::zookeeper::paths;

/// Why a partition's state is written.
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

/// An AlterPartition request: the `leader` of `tp`, at the epochs it knows, asks for `new_isr`.
#[derive(Debug)]
pub(super) struct IsrProposal {
    pub leader: BrokerId,
    pub tp: TopicPartition,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: u32,
    pub new_isr: Vec<BrokerId>,
}

impl Controller {
    pub(super) fn replicas_of(&self, tp: &TopicPartition) -> Vec<BrokerId> {
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
    pub(super) fn init_partition(&mut self, tp: &TopicPartition, ops: &mut Ops) {
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
            WriteTag::PartitionState {
                state,
                change: StateChange::Init,
            },
        );
    }

    /// After failover or a broker change: elect where the leader is gone, drop dead brokers from
    /// ISRs.
    pub(super) fn repair(&mut self, tp: &TopicPartition, ops: &mut Ops) {
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
    pub(super) fn elect_leader(&mut self, tp: &TopicPartition, ops: &mut Ops) {
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

    pub(super) fn write_state(
        &mut self,
        mut state: PartitionState,
        change: StateChange,
        ops: &mut Ops,
    ) {
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
            WriteTag::PartitionState { state, change },
        );
    }

    /// A partition's state is written, or its write failed.
    pub(super) fn on_state_write_response(
        &mut self,
        state: PartitionState,
        change: StateChange,
        result: Result<ZkReply, ZkError>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        self.writing.remove(&state.tp);
        match result {
            Ok(_) => self.on_state_written(state, change, ctx),
            Err(error) => {
                if let StateChange::AlterPartition((client, correlation)) = change {
                    ctx.send(
                        client,
                        Message::AlterPartitionResponse(msg::AlterPartitionResponse {
                            correlation,
                            tp: state.tp.clone(),
                            result: Err(ErrorCode::FencedLeaderEpoch),
                        }),
                    );
                }
                if error == ZkError::BadVersion {
                    self.verify_epoch(ops);
                }
            }
        }
    }

    pub(super) fn on_state_written(
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
                    Message::AlterPartitionResponse(msg::AlterPartitionResponse {
                        correlation: *correlation,
                        tp: tp.clone(),
                        result: Ok(Box::new(state.clone())),
                    }),
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

    /// AlterPartition (KIP-497): the leader's new ISR, if it speaks for the partition's current
    /// state and every member may be in sync.
    pub(super) fn alter_partition(
        &mut self,
        proposal: IsrProposal,
        (from, correlation): Requester,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        let IsrProposal {
            leader: broker_id,
            tp,
            leader_epoch,
            partition_epoch,
            new_isr,
        } = proposal;
        let respond_err = |ctx: &mut Ctx<'_, ControllerTimer>, e| {
            ctx.send(
                from,
                Message::AlterPartitionResponse(msg::AlterPartitionResponse {
                    correlation,
                    tp: tp.clone(),
                    result: Err(e),
                }),
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

    /// `/brokers/ids` changed: brokers died or came back.
    pub(super) fn on_broker_change(
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
    pub(super) fn new_partitions(&self) -> Vec<TopicPartition> {
        self.topics
            .iter()
            .flat_map(|(t, info)| info.assignment.keys().map(|p| TopicPartition::new(t, *p)))
            .filter(|tp| !self.states.contains_key(tp) && !self.writing.contains(tp))
            .collect()
    }

    /// Sends what changed: LeaderAndIsr to the replicas of changed partitions, UpdateMetadata
    /// to every live broker.
    pub(super) fn flush(&mut self, ctx: &mut Ctx<'_, ControllerTimer>) {
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
                    Message::LeaderAndIsr(msg::LeaderAndIsr {
                        controller_id: self.me,
                        controller_epoch: self.epoch,
                        partitions: leader_and_isr,
                        topic_configs,
                    }),
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
                Message::UpdateMetadata(msg::UpdateMetadata {
                    controller_id: self.me,
                    controller_epoch: self.epoch,
                    live_brokers: live.clone(),
                    partitions,
                    deleted_topics: deleted.clone(),
                }),
            );
        }
    }
}
