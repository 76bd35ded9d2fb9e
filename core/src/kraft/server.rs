//! A KRaft controller (`process.roles=controller`, Kafka's `ControllerServer`): a voter of the
//! metadata quorum with the quorum controller on top. Brokers with `process.roles=
//! broker,controller` (combined mode) host the same pair.

use super::controller::QuorumController;
use crate::config::{BrokerConfig, KRaftConfig};
use crate::ids::{NodeId, CONTROLLER_ID_BASE};
use crate::node::Ctx;
use crate::protocol::Message;
use crate::raft::client::{RaftClient, RaftTimer};
use crate::raft::log::RaftLog;
use crate::raft::state::ElectionState;
use crate::raft::{RaftConfig, ReplicaId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllerTimer {
    Raft(RaftTimer),
    /// `maybeFenceStaleBroker`, every `broker.session.timeout.ms / 8`.
    FenceCheck,
    /// The NoOp record every `metadata.max.idle.interval.ms`.
    NoOp,
}

/// What a controller keeps across a crash: its `quorum-state` and its log.
#[derive(Clone, Debug, Default)]
pub struct ControllerDisk {
    pub election: ElectionState,
    pub log: RaftLog,
}

/// The node a replica id names: controllers from 3000 are their own nodes; lower ids are
/// brokers (combined mode's controllers, and every broker observing the log).
pub fn address(id: ReplicaId) -> NodeId {
    if id >= CONTROLLER_ID_BASE {
        NodeId::Controller(id)
    } else {
        NodeId::broker(id)
    }
}

/// The replica id of a node that takes part in the quorum.
pub fn replica_id(node: NodeId) -> Option<ReplicaId> {
    match node {
        NodeId::Controller(id) => Some(id),
        NodeId::Broker(b) => Some(b.0),
        _ => None,
    }
}

#[derive(Clone, Debug)]
pub struct ControllerServer {
    pub raft: RaftClient,
    pub controller: QuorumController,
}

impl ControllerServer {
    pub fn new(
        node_id: ReplicaId,
        voters: Vec<ReplicaId>,
        config: &KRaftConfig,
        broker_config: &BrokerConfig,
        disk: ControllerDisk,
    ) -> ControllerServer {
        ControllerServer {
            raft: RaftClient::restart(
                node_id,
                voters,
                RaftConfig::from(config),
                address,
                disk.election,
                disk.log,
            ),
            controller: QuorumController::new(node_id, config.clone(), broker_config.clone()),
        }
    }

    pub fn node_id(&self) -> ReplicaId {
        self.raft.node_id()
    }

    pub fn into_disk(self) -> ControllerDisk {
        ControllerDisk {
            election: self.raft.election_state(),
            log: self.raft.log().clone(),
        }
    }

    pub fn start(&mut self, ctx: &mut Ctx<'_, ControllerTimer>) {
        let config = self.controller.config();
        ctx.timer_in_ms(
            (config.broker_session_timeout_ms / 8).max(1),
            ControllerTimer::FenceCheck,
        );
        if config.metadata_max_idle_interval_ms > 0 {
            ctx.timer_in_ms(config.metadata_max_idle_interval_ms, ControllerTimer::NoOp);
        }
        self.with_raft(ctx, |raft, _, ctx| raft.start(ctx));
    }

    /// Runs `f` on the quorum, then lets the controller follow what it did.
    fn with_raft(
        &mut self,
        ctx: &mut Ctx<'_, ControllerTimer>,
        f: impl FnOnce(&mut RaftClient, &mut QuorumController, &mut Ctx<'_, RaftTimer>),
    ) {
        ctx.scoped(ControllerTimer::Raft, |ctx| {
            f(&mut self.raft, &mut self.controller, ctx);
            self.controller.on_raft_progress(&mut self.raft, ctx);
        });
    }

    /// Whether this node handles `msg` (the quorum's messages and the controller's APIs).
    pub fn handles(msg: &Message) -> bool {
        matches!(
            msg,
            Message::Raft(_)
                | Message::BrokerRegistrationRequest(_)
                | Message::BrokerHeartbeatRequest(_)
                | Message::CreateTopicsRequest(_)
                | Message::CreatePartitionsRequest(_)
                | Message::DeleteTopicsRequest(_)
                | Message::ElectLeadersRequest(_)
                | Message::AlterConfigsRequest(_)
                | Message::AlterBrokerConfigsRequest(_)
                | Message::AlterPartition(_)
        )
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx<'_, ControllerTimer>) {
        match msg {
            Message::Raft(m) => {
                let Some(from) = replica_id(from) else {
                    return;
                };
                self.with_raft(ctx, |raft, _, ctx| raft.on_message(from, *m, ctx));
            }
            request => self.with_raft(ctx, |raft, controller, ctx| {
                controller.on_request(from, request, raft, ctx)
            }),
        }
    }

    pub fn on_timer(&mut self, timer: ControllerTimer, ctx: &mut Ctx<'_, ControllerTimer>) {
        let config = self.controller.config().clone();
        match timer {
            ControllerTimer::Raft(t) => self.with_raft(ctx, |raft, _, ctx| raft.on_timer(t, ctx)),
            ControllerTimer::FenceCheck => {
                self.with_raft(ctx, |raft, controller, ctx| {
                    controller.fence_stale_broker(raft, ctx)
                });
                ctx.timer_in_ms(
                    (config.broker_session_timeout_ms / 8).max(1),
                    ControllerTimer::FenceCheck,
                );
            }
            ControllerTimer::NoOp => {
                self.with_raft(ctx, |raft, controller, ctx| {
                    if controller.is_active() {
                        controller.write_no_op(raft, ctx)
                    }
                });
                ctx.timer_in_ms(config.metadata_max_idle_interval_ms, ControllerTimer::NoOp);
            }
        }
    }
}
