//! The simulation: owns the event queue, the network and every node, and is the only thing
//! that advances time. Nodes react to messages, timers and closed connections and return
//! effects; `Sim` turns those into queue entries and trace events.

mod actions;
pub mod network;
mod nodes;
pub mod queue;
mod startup;

use crate::broker::BrokerTimer;
use crate::broker::{Broker, BrokerDisk, KRaftBroker};
use crate::client::consumer::Consumer;
use crate::client::consumer::ConsumerTimer;
use crate::client::producer::Producer;
use crate::client::producer::ProducerTimer;
use crate::controller::zk_data;
use crate::delivery::DeliveryLedger;
use crate::ids::{BrokerId, NodeId, Offset, TopicName, TopicPartition};
use crate::invariants::acked_records_survive::AckedRecordsSurvive;
use crate::invariants::{Invariants, Violation, World};
use crate::kraft::image::MetadataImage;
use crate::kraft::server::{ControllerDisk, ControllerServer};
use crate::log::PartitionLog;
use crate::node::{Ctx, Outbox, TimerId};
use crate::protocol::msg;
use crate::protocol::{Message, NewTopic};
use crate::rng::Rng;
use crate::scenario::command::Command;
use crate::scenario::ConsumerSpec;
use crate::scenario::{CrashPoint, Scenario, ScenarioError, ScheduledAction};
use crate::time::SimTime;
use crate::trace::{DropReason, Event, Trace, TraceEvent};
use crate::vec_map::VecMap;
use crate::zookeeper::server::ZkServer;
use crate::zookeeper::tree::DataTree;
use crate::zookeeper::{messages::PeerState, paths};
use network::Network;
use nodes::Nodes;
use queue::{Item, Queue, Timer};
use std::collections::VecDeque;

#[derive(Debug)]
pub(crate) enum Node {
    ZooKeeper(Box<ZkServer>),
    Broker(Box<Broker>),
    Producer(Box<Producer>),
    Consumer(Box<Consumer>),
    /// KRaft mode: a controller (`process.roles=controller`).
    Controller(Box<ControllerServer>),
}

impl Node {
    /// A node's first moves once it runs: connecting, registering, setting its timers.
    fn start(&mut self, ctx: &mut Ctx<'_, Timer>) {
        match self {
            Node::ZooKeeper(z) => ctx.scoped(Timer::ZooKeeper, |ctx| z.start(ctx)),
            Node::Broker(b) => ctx.scoped(Timer::Broker, |ctx| b.start(ctx)),
            Node::Producer(p) => ctx.scoped(Timer::Producer, |ctx| p.start(ctx)),
            Node::Consumer(c) => ctx.scoped(Timer::Consumer, |ctx| c.start(ctx)),
            Node::Controller(c) => ctx.scoped(Timer::Controller, |ctx| c.start(ctx)),
        }
    }
}

/// A handler's effects: the node API's outbox and the timers it set, as the queue's `Timer`s.
#[derive(Debug, Default)]
struct Effects {
    out: Outbox,
    timers: VecDeque<(SimTime, Timer, Option<TimerId>)>,
}

#[derive(Debug)]
pub(crate) struct Slot {
    pub node: Option<Node>,
    /// Bumped at every crash, so a dead incarnation's timers are ignored.
    pub incarnation: u64,
}

/// Running totals the report needs, kept as events happen (the trace is windowed).
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub messages_sent: u64,
    pub messages_dropped: u64,
    pub leader_changes: u64,
    pub unclean_elections: u64,
    pub controller_elections: u64,
    pub zookeeper_elections: u64,
}

#[derive(Debug)]
pub struct Sim {
    scenario: Scenario,
    now: SimTime,
    queue: Queue,
    rng: Rng,
    nodes: Nodes,
    network: Network,
    trace: Trace,
    next_message_id: u64,
    broker_disks: VecMap<BrokerId, BrokerDisk>,
    zk_disks: VecMap<u32, (DataTree, u32)>,
    /// KRaft controllers' `quorum-state` and metadata log, kept across crashes.
    controller_disks: VecMap<u32, ControllerDisk>,
    invariants: Invariants,
    violations: Vec<Violation>,
    counters: Counters,
    delivery: DeliveryLedger,
    console_producer: u32,
    /// The scenario's consumers, then those added while running (`add_consumer`).
    consumer_specs: Vec<ConsumerSpec>,
    /// How many producers `add_producer` started (they come after the console producer).
    added_producers: u32,
    steps: u64,
    /// Admin requests in flight: correlation id → when they were sent.
    admin_sent: VecMap<u64, SimTime>,
    /// The latest answers to admin requests, for tools that wait on them (bounded).
    admin_responses: std::collections::VecDeque<AdminResponse>,
    /// What arrived for real clients' connections since the gateway last took it.
    client_inbox: Vec<ClientDelivery>,
    /// An emptied outbox kept for the next handler, so handling an event allocates nothing
    /// for its effects. (An `Option`: putting it back then drops a `None`, not four vectors
    /// the compiler cannot tell are empty.)
    spare_effects: Option<Effects>,
    /// The last `TimerId` handed out.
    timer_ids: u64,
    /// Creating the scenario's topics and starting its clients once the cluster is up.
    startup: startup::Startup,
}

/// A message on the wire, as an observer sees it.
#[derive(Debug)]
pub struct InFlight<'a> {
    pub id: u64,
    pub from: NodeId,
    pub to: NodeId,
    pub msg: &'a Message,
    pub sent_at: SimTime,
    pub arrives_at: SimTime,
    /// It will not arrive (its link is cut): it is drawn failing half-way.
    pub dropped: bool,
}

/// What the simulation hands to the connections of real Kafka clients (`kplay serve`).
#[derive(Clone, Debug, PartialEq)]
pub enum ClientDelivery {
    /// A broker's answer reached the client.
    Message {
        client: u32,
        from: BrokerId,
        msg: Message,
    },
    /// The broker's process died: the client's connection is closed.
    Disconnected { client: u32, broker: BrokerId },
}

/// An answer to an admin request (topics, configs, elections, offset resets), as the tool that
/// sent it sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminResponse {
    /// When the request was sent: the moment its action ran.
    pub sent_at: SimTime,
    /// Kafka's API name (`CreateTopics`, `ElectLeaders`, `OffsetCommit`, …).
    pub api: &'static str,
    /// The topic (or, for `OffsetCommit`, nothing: the tool knows its group).
    pub topic: String,
    pub error: Option<crate::protocol::ErrorCode>,
    /// Per-partition results (`ElectLeaders`, `OffsetCommit`).
    pub partitions: Vec<(TopicPartition, Option<crate::protocol::ErrorCode>)>,
}

/// How many admin answers the simulation keeps for tools to find.
const ADMIN_RESPONSES_KEPT: usize = 64;

impl Sim {
    /// Builds the cluster a scenario describes, as it is at time zero: ZooKeeper servers about
    /// to elect a leader, brokers about to register, topics already defined in ZooKeeper.
    pub fn new(scenario: Scenario) -> Result<Sim, ScenarioError> {
        scenario.validate()?;
        let rng = Rng::new(scenario.seed);
        let cluster = &scenario.cluster;
        let broker_ids: Vec<BrokerId> = (1..=cluster.brokers).map(BrokerId).collect();
        let kraft = cluster.mode.is_kraft();
        let zk_ids: Vec<u32> = if kraft {
            Vec::new()
        } else {
            (1..=cluster.zookeepers).collect()
        };
        // KRaft: the controllers are separate nodes (combined mode is refused by validation).
        let controller_ids = cluster.controller_ids();
        let tree = initial_tree();
        let topics = scenario
            .topics
            .iter()
            .map(|t| NewTopic {
                name: t.name.as_str().into(),
                partitions: t.partitions,
                replication_factor: t.replication_factor,
                config: t.config.clone(),
            })
            .collect();
        let cluster_size = cluster.brokers;
        let mut sim = Sim {
            now: SimTime::ZERO,
            queue: Queue::default(),
            nodes: Nodes::default(),
            network: Network::new(cluster.latency_us, cluster.jitter_us),
            trace: Trace::new(scenario.trace.window),
            next_message_id: 0,
            broker_disks: VecMap::new(),
            zk_disks: VecMap::new(),
            controller_disks: VecMap::new(),
            invariants: Invariants::default(),
            violations: Vec::new(),
            counters: Counters::default(),
            delivery: DeliveryLedger::default(),
            console_producer: scenario.producers.len() as u32,
            consumer_specs: scenario.consumers.clone(),
            added_producers: 0,
            steps: 0,
            admin_sent: VecMap::new(),
            admin_responses: Default::default(),
            client_inbox: Vec::new(),
            spare_effects: None,
            timer_ids: 0,
            startup: startup::Startup::new(topics),
            rng,
            scenario,
        };
        for &sid in &zk_ids {
            sim.zk_disks.insert(sid, (tree.clone(), 0));
        }
        for &sid in &zk_ids {
            sim.start_zookeeper(sid);
        }
        for &id in &controller_ids {
            sim.start_controller(id);
        }
        for &b in &broker_ids {
            sim.broker_disks.insert(b, BrokerDisk::default());
            sim.start_broker(b);
        }
        for (i, spec) in sim.scenario.producers.clone().into_iter().enumerate() {
            let id = NodeId::Producer(i as u32);
            let config = spec
                .config
                .clone()
                .in_mode(sim.scenario.cluster.mode.is_kraft());
            // Started with the consumers, once the scenario's topics exist.
            sim.install(id, |ctx| {
                Node::Producer(Box::new(ctx.scoped(Timer::Producer, |ctx| {
                    Producer::new(i as u32, Some(spec), config, broker_ids.clone(), ctx)
                })))
            });
        }
        let console = NodeId::Producer(sim.console_producer);
        let console_index = sim.console_producer;
        let kraft = sim.scenario.cluster.mode.is_kraft();
        sim.spawn(console, |ctx| {
            Node::Producer(Box::new(ctx.scoped(Timer::Producer, |ctx| {
                Producer::new(
                    console_index,
                    None,
                    crate::config::ProducerConfig::default().in_mode(kraft),
                    broker_ids.clone(),
                    ctx,
                )
            })))
        });
        for (i, spec) in sim.scenario.consumers.clone().into_iter().enumerate() {
            let id = NodeId::Consumer(i as u32);
            sim.nodes.insert(
                id,
                Slot {
                    node: Some(Node::Consumer(Box::new(new_consumer(
                        i as u32,
                        &spec,
                        cluster_size,
                    )))),
                    incarnation: 0,
                },
            );
        }
        for action in sim.scenario.actions.clone() {
            sim.queue.push(
                SimTime::from_ms(action.at_ms),
                Item::Action(Box::new(action.command)),
            );
        }
        Ok(sim)
    }

    pub fn now(&self) -> SimTime {
        self.now
    }
    /// Whether start-up is over: the brokers registered, the scenario's topics were created
    /// and its clients started.
    pub fn started(&self) -> bool {
        self.startup.done()
    }
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    pub fn trace(&self) -> &[TraceEvent] {
        self.trace.events()
    }
    /// Events dropped from the front of the trace window (still covered by the hash).
    pub fn trace_events_total(&self) -> u64 {
        self.trace.len_total()
    }
    /// The events after the first `total` ever recorded, if they are still in the window.
    pub fn trace_since(&self, total: u64) -> Option<&[TraceEvent]> {
        let start = total.checked_sub(self.trace.dropped())?;
        self.trace.events().get(start as usize..)
    }
    pub fn trace_hash(&self) -> u64 {
        self.trace.hash()
    }
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
    pub fn steps(&self) -> u64 {
        self.steps
    }
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }
    /// Messages on the wire: sent, not yet delivered or dropped.
    pub fn messages_in_flight(&self) -> impl Iterator<Item = InFlight<'_>> {
        self.queue
            .in_flight()
            .filter_map(|(arrives_at, item)| match item {
                Item::Deliver {
                    id,
                    from,
                    to,
                    msg,
                    sent_at,
                    dropped,
                } => Some(InFlight {
                    id: *id,
                    from: *from,
                    to: *to,
                    msg,
                    sent_at: *sent_at,
                    arrives_at,
                    dropped: dropped.is_some(),
                }),
                _ => None,
            })
    }
    /// The network's links: which are cut, which slowed.
    pub fn network(&self) -> &Network {
        &self.network
    }
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    /// What each consumer group and reader processed, twice or never.
    pub fn delivery(&self) -> &DeliveryLedger {
        &self.delivery
    }
    /// The acknowledged-records ledger of the invariant that checks they survive.
    pub fn acked_records(&self) -> &AckedRecordsSurvive {
        &self.invariants.acked
    }

    // ---- Running ----

    /// Handles the next event. Returns false when nothing is left to happen.
    pub fn step(&mut self) -> bool {
        let Some(entry) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(entry.at);
        self.steps += 1;
        match entry.item {
            Item::Deliver {
                id,
                from,
                to,
                msg,
                dropped,
                ..
            } => self.deliver(id, from, to, msg, dropped),
            Item::Timer {
                node,
                incarnation,
                timer,
            } => {
                if self
                    .nodes
                    .get(&node)
                    .is_some_and(|s| s.incarnation == incarnation && s.node.is_some())
                {
                    self.with_node(node, |n, ctx| match (n, timer) {
                        (Node::ZooKeeper(z), Timer::ZooKeeper(t)) => {
                            ctx.scoped(Timer::ZooKeeper, |ctx| z.on_timer(t, ctx))
                        }
                        (Node::Broker(b), Timer::Broker(t)) => {
                            ctx.scoped(Timer::Broker, |ctx| b.on_timer(t, ctx))
                        }
                        (Node::Producer(p), Timer::Producer(t)) => {
                            ctx.scoped(Timer::Producer, |ctx| p.on_timer(t, ctx))
                        }
                        (Node::Consumer(c), Timer::Consumer(t)) => {
                            ctx.scoped(Timer::Consumer, |ctx| c.on_timer(t, ctx))
                        }
                        (Node::Controller(c), Timer::Controller(t)) => {
                            ctx.scoped(Timer::Controller, |ctx| c.on_timer(t, ctx))
                        }
                        // Named, not formatted: `{:?}` of a node would put the Debug code of
                        // every node's whole state in the page (16 KB gzipped).
                        _ => unreachable!("{node}: a timer set by another kind of node"),
                    });
                }
            }
            Item::Disconnect {
                node,
                incarnation,
                peer,
            } => {
                if self
                    .nodes
                    .get(&node)
                    .is_some_and(|s| s.incarnation == incarnation)
                {
                    self.with_node(node, |n, ctx| match (n, peer) {
                        (Node::ZooKeeper(z), _) => {
                            ctx.scoped(Timer::ZooKeeper, |ctx| z.on_disconnect(peer, ctx))
                        }
                        (Node::Broker(b), _) => {
                            ctx.scoped(Timer::Broker, |ctx| b.on_disconnect(peer, ctx))
                        }
                        (Node::Producer(p), NodeId::Broker(b)) => {
                            ctx.scoped(Timer::Producer, |ctx| p.on_disconnect(b, ctx))
                        }
                        (Node::Consumer(c), NodeId::Broker(b)) => {
                            ctx.scoped(Timer::Consumer, |ctx| c.on_disconnect(b, ctx))
                        }
                        // Clients only ever connect to brokers; a controller's quorum fetches
                        // time out on their own.
                        (Node::Producer(_) | Node::Consumer(_) | Node::Controller(_), _) => {}
                    });
                }
            }
            Item::Start { node } => self.with_node(node, |n, ctx| match n {
                Node::Producer(_) | Node::Consumer(_) => n.start(ctx),
                Node::ZooKeeper(_) | Node::Broker(_) | Node::Controller(_) => {
                    debug_assert!(false, "servers start as they are created")
                }
            }),
            Item::Action(command) => self.execute(*command),
        }
        if !self.startup.done() {
            self.advance_startup();
        }
        true
    }

    /// Runs every event up to and including `until`, then sets the clock to `until`.
    pub fn run_until(&mut self, until: SimTime) {
        while self.queue.next_time().is_some_and(|t| t <= until) {
            self.step();
        }
        self.now = self.now.max(until);
    }

    /// A person's action while the simulation runs: recorded in the scenario's `actions` at the
    /// next whole millisecond (the scenario's time unit) and run there, first among that
    /// moment's events — exactly as the same scenario replays it. Returns that time; the
    /// simulation has to run up to it for the action to happen.
    pub fn act(&mut self, command: Command) -> Result<SimTime, ScenarioError> {
        let what = format!("actions[{}]", self.scenario.actions.len());
        self.scenario.validate_command(&what, &command)?;
        let max = crate::scenario::LIMITS.actions;
        if self.scenario.actions.len() >= max {
            return Err(ScenarioError::Invalid {
                what: "actions".into(),
                problem: format!("a scenario holds at most {max} actions"),
            });
        }
        let at_ms = self.now.as_us() / 1_000 + 1;
        self.scenario.actions.push(ScheduledAction {
            at_ms,
            command: command.clone(),
        });
        let at = SimTime::from_ms(at_ms);
        self.queue.push(at, Item::Action(Box::new(command)));
        Ok(at)
    }

    /// Applies a command now (a live fault or action). Bad commands are refused with a reason.
    /// Unlike [`Sim::act`] it is not recorded, so a replay of the scenario will not repeat it.
    pub fn apply(&mut self, command: Command) -> Result<(), ScenarioError> {
        self.scenario.validate_command("command", &command)?;
        self.execute(command);
        Ok(())
    }

    fn deliver(
        &mut self,
        id: u64,
        from: NodeId,
        to: NodeId,
        msg: Message,
        dropped: Option<DropReason>,
    ) {
        let alive = |sim: &Sim, n: NodeId| sim.nodes.get(&n).is_some_and(|s| s.node.is_some());
        let reason = dropped.or_else(|| {
            if self.network.is_cut(from, to) {
                Some(DropReason::LinkCut)
            } else if !matches!(to, NodeId::Admin | NodeId::Client(_)) && !alive(self, to) {
                Some(DropReason::NodeDown)
            } else {
                None
            }
        });
        if let Some(reason) = reason {
            self.counters.messages_dropped += 1;
            if self.scenario.trace.messages {
                self.trace_message(Event::MessageDropped { id, reason });
            }
            // A dead process on a live host refuses the connection: the sender hears at once.
            if reason == DropReason::NodeDown && alive(self, from) && !self.network.is_cut(to, from)
            {
                self.schedule_disconnect(from, to);
            }
            return;
        }
        if let (NodeId::Client(client), NodeId::Broker(from)) = (to, from) {
            self.client_inbox
                .push(ClientDelivery::Message { client, from, msg });
            return;
        }
        if to == NodeId::Admin {
            self.record(Event::CommandApplied {
                description: describe_admin_response(&msg),
            });
            self.keep_admin_response(&msg);
            self.startup_answer(&msg);
            return;
        }
        if from != NodeId::Admin {
            self.network.connect(from, to);
        }
        self.with_node(to, |n, ctx| match n {
            Node::ZooKeeper(z) => match msg {
                Message::ZooKeeper(m) => {
                    ctx.scoped(Timer::ZooKeeper, |ctx| z.on_message(from, *m, ctx))
                }
                other => debug_assert!(false, "ZooKeeper server got {other:?}"),
            },
            Node::Broker(b) => ctx.scoped(Timer::Broker, |ctx| b.on_message(from, msg, ctx)),
            Node::Producer(p) => ctx.scoped(Timer::Producer, |ctx| p.on_message(msg, ctx)),
            Node::Consumer(c) => ctx.scoped(Timer::Consumer, |ctx| c.on_message(from, msg, ctx)),
            Node::Controller(c) => {
                if ControllerServer::handles(&msg) {
                    ctx.scoped(Timer::Controller, |ctx| c.on_message(from, msg, ctx))
                } else {
                    debug_assert!(false, "controller got {msg:?}")
                }
            }
        });
    }

    /// `node` closes its connection to `peer`, which hears it a network delay later (if the
    /// link still carries anything).
    fn close_connection(&mut self, node: NodeId, peer: NodeId) {
        if !self.network.disconnect(node, peer) || self.network.is_cut(node, peer) {
            return;
        }
        match (peer, node) {
            (NodeId::Client(client), NodeId::Broker(broker)) => self
                .client_inbox
                .push(ClientDelivery::Disconnected { client, broker }),
            _ => self.schedule_disconnect(peer, node),
        }
    }

    fn schedule_disconnect(&mut self, node: NodeId, peer: NodeId) {
        let Some(incarnation) = self.nodes.get(&node).map(|s| s.incarnation) else {
            return;
        };
        let at = self
            .now
            .plus_us(self.network.base_latency_us(peer, node))
            .max(self.network.last_arrival(peer, node));
        self.queue.push(
            at,
            Item::Disconnect {
                node,
                incarnation,
                peer,
            },
        );
    }

    /// Runs `f` against a live node with a fresh outbox, then applies the outbox.
    fn with_node(&mut self, id: NodeId, f: impl FnOnce(&mut Node, &mut Ctx<'_, Timer>)) {
        let Some(slot) = self.nodes.get_mut(&id) else {
            return;
        };
        let Some(node) = slot.node.as_mut() else {
            return;
        };
        let incarnation = slot.incarnation;
        let mut fx = self.spare_effects.take().unwrap_or_default();
        let mut ctx = Ctx::new(
            self.now,
            id,
            &mut self.rng,
            &mut fx.out,
            &mut fx.timers,
            &mut self.timer_ids,
        );
        f(node, &mut ctx);
        self.flush(id, incarnation, &mut fx);
        self.spare_effects = Some(fx);
    }

    fn with_broker(&mut self, id: NodeId, f: impl FnOnce(&mut Broker, &mut Ctx<'_, BrokerTimer>)) {
        self.with_node(id, |n, ctx| {
            if let Node::Broker(b) = n {
                ctx.scoped(Timer::Broker, |ctx| f(b, ctx));
            }
        });
    }

    fn with_producer(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut Producer, &mut Ctx<'_, ProducerTimer>),
    ) {
        self.with_node(id, |n, ctx| {
            if let Node::Producer(p) = n {
                ctx.scoped(Timer::Producer, |ctx| f(p, ctx));
            }
        });
    }

    fn with_consumer(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut Consumer, &mut Ctx<'_, ConsumerTimer>),
    ) {
        self.with_node(id, |n, ctx| {
            if let Node::Consumer(c) = n {
                ctx.scoped(Timer::Consumer, |ctx| f(c, ctx));
            }
        });
    }

    /// Creates a node and starts it.
    fn spawn(&mut self, id: NodeId, make: impl FnOnce(&mut Ctx<'_, Timer>) -> Node) {
        self.create_node(id, make, true);
    }

    /// Creates a node that starts later (an `Item::Start`).
    fn install(&mut self, id: NodeId, make: impl FnOnce(&mut Ctx<'_, Timer>) -> Node) {
        self.create_node(id, make, false);
    }

    fn create_node(
        &mut self,
        id: NodeId,
        make: impl FnOnce(&mut Ctx<'_, Timer>) -> Node,
        start: bool,
    ) {
        let incarnation = self.nodes.get(&id).map_or(0, |s| s.incarnation);
        let mut fx = Effects::default();
        let mut ctx = Ctx::new(
            self.now,
            id,
            &mut self.rng,
            &mut fx.out,
            &mut fx.timers,
            &mut self.timer_ids,
        );
        let mut node = make(&mut ctx);
        if start {
            node.start(&mut ctx);
        }
        self.nodes.insert(
            id,
            Slot {
                node: Some(node),
                incarnation,
            },
        );
        self.flush(id, incarnation, &mut fx);
    }

    /// Carries out a handler's effects, leaving `out` empty.
    fn flush(&mut self, from: NodeId, incarnation: u64, fx: &mut Effects) {
        let Effects { out, timers } = fx;
        for event in out.events.drain(..) {
            self.record(event);
        }
        if out.crash {
            out.clear();
            timers.clear();
            self.crash(from);
            return;
        }
        while let Some((to, msg)) = out.sends.pop_front() {
            self.transmit(from, to, msg);
        }
        for i in 0..out.closes.len() {
            self.close_connection(from, out.closes[i]);
        }
        out.closes.clear();
        if out.closed {
            out.clear();
            timers.clear();
            self.take_down(from, Event::NodeClosed { node: from });
            return;
        }
        while let Some((at, timer, id)) = timers.pop_front() {
            let item = Item::Timer {
                node: from,
                incarnation,
                timer,
            };
            self.queue.push_cancellable(at, item, id);
        }
        for id in out.cancels.drain(..) {
            self.queue.cancel(id);
        }
    }

    fn transmit(&mut self, from: NodeId, to: NodeId, msg: Message) {
        self.next_message_id += 1;
        let id = self.next_message_id;
        self.counters.messages_sent += 1;
        let arrival = self.network.arrival(from, to, self.now, &mut self.rng);
        let dropped = self.network.is_cut(from, to).then_some(DropReason::LinkCut);
        // A message into a cut link is seen to fail half-way.
        let at = if dropped.is_some() {
            self.now.plus_us(arrival.since(self.now) / 2)
        } else {
            arrival
        };
        if self.scenario.trace.messages {
            self.trace_message(Event::MessageSent {
                id,
                from,
                to,
                kind: msg.kind(),
                api: msg.api(),
                bytes: msg.wire_bytes(),
                arrives_at: at,
            });
        }
        self.queue.push(
            at,
            Item::Deliver {
                id,
                from,
                to,
                msg,
                sent_at: self.now,
                dropped,
            },
        );
    }

    /// A message's journey goes straight into the trace: it changes no state, so no counter,
    /// ledger or invariant reads it (half of all events: skipping them there matters).
    fn trace_message(&mut self, event: Event) {
        self.trace.push(TraceEvent {
            at: self.now,
            event,
        });
    }

    /// Appends an event to the trace, updates counters and runs the invariant checks.
    pub(crate) fn record(&mut self, event: Event) {
        match &event {
            Event::LeaderElected {
                leader_epoch,
                unclean,
                ..
            } => {
                if *leader_epoch > 0 {
                    self.counters.leader_changes += 1;
                }
                if *unclean {
                    self.counters.unclean_elections += 1;
                }
            }
            Event::ControllerElected { .. } => self.counters.controller_elections += 1,
            Event::ZkLeaderElected { .. } => self.counters.zookeeper_elections += 1,
            Event::ConsumerProcessed {
                consumer,
                group,
                topic,
                partition,
                first_offset,
                last_offset,
                records,
            } => {
                self.delivery.processed(
                    group.as_deref(),
                    *consumer,
                    topic,
                    *partition,
                    *first_offset,
                    *last_offset,
                    *records,
                );
            }
            Event::ConsumerOffsetReset {
                consumer,
                topic,
                partition,
                offset,
            } => {
                let group = self
                    .scenario
                    .consumers
                    .get(*consumer as usize)
                    .and_then(|c| c.config.group_id.clone());
                self.delivery
                    .started(group.as_deref(), *consumer, topic, *partition, *offset);
            }
            Event::OffsetsCommitted { group, offsets } => {
                for (topic, partition, offset) in offsets {
                    self.delivery.committed(group, topic, *partition, *offset);
                }
            }
            _ => {}
        }
        let brokers = Brokers {
            nodes: &self.nodes,
            disks: &self.broker_disks,
        };
        let found = self.invariants.observe(self.now, &event, &brokers);
        self.trace.push(TraceEvent {
            at: self.now,
            event,
        });
        for v in found {
            self.trace.push(TraceEvent {
                at: self.now,
                event: Event::InvariantViolated {
                    invariant: v.invariant,
                    detail: v.detail.clone(),
                },
            });
            self.violations.push(v);
        }
    }

    /// Runs the full state checks now; violations are recorded and returned.
    pub fn check_invariants(&mut self) -> Vec<Violation> {
        let found = self
            .invariants
            .check_state(self.now, &self.brokers_and_disks());
        for v in &found {
            self.trace.push(TraceEvent {
                at: self.now,
                event: Event::InvariantViolated {
                    invariant: v.invariant,
                    detail: v.detail.clone(),
                },
            });
            self.violations.push(v.clone());
        }
        found
    }

    // ---- Real clients (`kplay serve`) ----

    /// Sends a real client's request to a broker, now, over the simulated network.
    pub fn client_send(&mut self, client: u32, broker: BrokerId, msg: Message) {
        self.transmit(NodeId::Client(client), NodeId::Broker(broker), msg);
    }

    /// A real client connected to a broker: if the broker dies, the client hears it.
    pub fn client_connected(&mut self, client: u32, broker: BrokerId) {
        self.network
            .connect(NodeId::Client(client), NodeId::Broker(broker));
    }

    /// A real client closed its connection: the brokers it talked to see it close.
    pub fn client_closed(&mut self, client: u32) {
        let me = NodeId::Client(client);
        for peer in self.network.drop_connections(me) {
            self.schedule_disconnect(peer, me);
        }
    }

    /// What reached real clients since the last call, in the order it happened.
    pub fn take_client_deliveries(&mut self) -> Vec<ClientDelivery> {
        std::mem::take(&mut self.client_inbox)
    }

    fn crash(&mut self, id: NodeId) {
        self.take_down(id, Event::NodeCrashed { node: id });
    }

    /// Stops a node's process (a crash, or a client closing cleanly): its timers die with this
    /// incarnation and its peers see the connections close.
    fn take_down(&mut self, id: NodeId, event: Event) {
        let Some(slot) = self.nodes.get_mut(&id) else {
            return;
        };
        let Some(node) = slot.node.take() else { return };
        slot.incarnation += 1;
        match node {
            Node::Broker(b) => {
                let broker = b.id;
                self.broker_disks.insert(broker, b.into_disk());
            }
            Node::ZooKeeper(z) => {
                self.zk_disks
                    .insert(z.sid, (z.tree().clone(), z.current_epoch()));
            }
            Node::Controller(c) => {
                self.controller_disks.insert(c.node_id(), c.into_disk());
            }
            Node::Producer(_) | Node::Consumer(_) => {}
        }
        self.record(event);
        for peer in self.network.drop_connections(id) {
            if let (NodeId::Client(client), NodeId::Broker(broker)) = (peer, id) {
                self.client_inbox
                    .push(ClientDelivery::Disconnected { client, broker });
                continue;
            }
            let alive = self.nodes.get(&peer).is_some_and(|s| s.node.is_some());
            if alive && !self.network.is_cut(id, peer) {
                self.schedule_disconnect(peer, id);
            }
        }
    }

    fn start_broker(&mut self, id: BrokerId) {
        let disk = self.broker_disks.remove(&id).unwrap_or_default();
        let config = self.scenario.cluster.broker_config.clone();
        if self.scenario.cluster.mode.is_kraft() {
            let cluster = &self.scenario.cluster;
            let kraft = KRaftBroker::new(
                id,
                cluster.controller_ids(),
                cluster.kraft_config.clone(),
                self.rng.next_u64(),
            );
            self.spawn(NodeId::Broker(id), |_| {
                Node::Broker(Box::new(Broker::new_kraft(id, config, kraft, disk)))
            });
            return;
        }
        let zks: Vec<u32> = (1..=self.scenario.cluster.zookeepers).collect();
        // Its dynamic settings, as it reads them from ZooKeeper while starting.
        let (default, own) = (
            self.dynamic_broker_config(None),
            self.dynamic_broker_config(Some(id.0)),
        );
        self.spawn(NodeId::Broker(id), |_| {
            Node::Broker(Box::new(
                Broker::new(id, config, zks, disk).with_dynamic_config(default, own),
            ))
        });
    }

    fn start_controller(&mut self, id: u32) {
        let disk = self.controller_disks.remove(&id).unwrap_or_default();
        let cluster = &self.scenario.cluster;
        let server = ControllerServer::new(
            id,
            cluster.controller_ids(),
            &cluster.kraft_config,
            &cluster.broker_config,
            disk,
        );
        self.spawn(NodeId::Controller(id), |_| {
            Node::Controller(Box::new(server))
        });
    }

    fn start_zookeeper(&mut self, sid: u32) {
        let (tree, epoch) = self.zk_disks.remove(&sid).unwrap_or_default();
        let config = self.scenario.cluster.zookeeper_config.clone();
        let ensemble: Vec<u32> = (1..=self.scenario.cluster.zookeepers).collect();
        self.spawn(NodeId::ZooKeeper(sid), |_| {
            Node::ZooKeeper(Box::new(ZkServer::new(sid, ensemble, config, tree, epoch)))
        });
    }

    // ---- Looking inside (tests, view, report) ----

    /// Live brokers and dead brokers' disks, as the invariants and the report read them.
    pub(crate) fn brokers_and_disks(&self) -> Brokers<'_> {
        Brokers {
            nodes: &self.nodes,
            disks: &self.broker_disks,
        }
    }

    pub fn broker(&self, id: u32) -> Option<&Broker> {
        self.brokers_and_disks().broker(BrokerId(id))
    }
    pub fn zookeeper(&self, sid: u32) -> Option<&ZkServer> {
        match self.nodes.get(&NodeId::ZooKeeper(sid))?.node.as_ref()? {
            Node::ZooKeeper(z) => Some(z),
            _ => None,
        }
    }
    pub fn producer(&self, index: u32) -> Option<&Producer> {
        match self.nodes.get(&NodeId::Producer(index))?.node.as_ref()? {
            Node::Producer(p) => Some(p),
            _ => None,
        }
    }
    pub fn consumer(&self, index: u32) -> Option<&Consumer> {
        match self.nodes.get(&NodeId::Consumer(index))?.node.as_ref()? {
            Node::Consumer(c) => Some(c),
            _ => None,
        }
    }
    pub fn brokers(&self) -> impl Iterator<Item = &Broker> {
        self.brokers_and_disks().live()
    }
    /// Every producer started so far, running or not.
    pub fn producer_indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.nodes.keys().filter_map(|id| match id {
            NodeId::Producer(i) => Some(*i),
            _ => None,
        })
    }
    pub fn producers(&self) -> impl Iterator<Item = &Producer> {
        self.nodes.values().filter_map(|s| match s.node.as_ref()? {
            Node::Producer(p) => Some(p.as_ref()),
            _ => None,
        })
    }
    /// Every consumer application's spec by index: the scenario's, then those added live.
    pub fn consumer_specs(&self) -> &[ConsumerSpec] {
        &self.consumer_specs
    }
    pub fn consumers(&self) -> impl Iterator<Item = &Consumer> {
        self.nodes.values().filter_map(|s| match s.node.as_ref()? {
            Node::Consumer(c) => Some(c.as_ref()),
            _ => None,
        })
    }
    pub fn is_alive(&self, node: NodeId) -> bool {
        self.nodes.get(&node).is_some_and(|s| s.node.is_some())
    }

    /// The active controller with the highest epoch, and its epoch.
    pub fn controller(&self) -> Option<(BrokerId, u32)> {
        self.brokers()
            .filter_map(|b| {
                b.controller
                    .as_ref()
                    .filter(|c| c.is_active())
                    .map(|c| (b.id, c.epoch))
            })
            .max_by_key(|(_, e)| *e)
    }

    /// KRaft: a controller node by id.
    pub fn kraft_controller(&self, id: u32) -> Option<&ControllerServer> {
        match self.nodes.get(&NodeId::Controller(id))?.node.as_ref()? {
            Node::Controller(c) => Some(c),
            _ => None,
        }
    }

    /// KRaft: the live controllers.
    pub fn kraft_controllers(&self) -> impl Iterator<Item = &ControllerServer> {
        self.nodes.values().filter_map(|s| match s.node.as_ref()? {
            Node::Controller(c) => Some(c.as_ref()),
            _ => None,
        })
    }

    /// KRaft: the active controller with the highest epoch, and its epoch.
    pub fn active_controller(&self) -> Option<(u32, u32)> {
        self.kraft_controllers()
            .filter(|c| c.controller.is_active())
            .map(|c| (c.node_id(), c.raft.epoch()))
            .max_by_key(|(_, e)| *e)
    }

    /// KRaft: the metadata image committed furthest, the authority as ZooKeeper's tree is in
    /// ZooKeeper mode.
    pub fn metadata_image(&self) -> Option<&MetadataImage> {
        self.kraft_controllers()
            .map(|c| c.controller.image())
            .max_by_key(|i| i.offset)
    }

    /// The established ZooKeeper leader, if any.
    pub fn zookeeper_leader(&self) -> Option<u32> {
        (1..=self.scenario.cluster.zookeepers).find(|&s| {
            self.zookeeper(s)
                .is_some_and(|z| z.state() == PeerState::Leading && z.is_serving())
        })
    }

    /// The authoritative tree: the ZooKeeper leader's, else any live server's.
    pub fn zookeeper_tree(&self) -> Option<&DataTree> {
        let leader = self.zookeeper_leader().and_then(|s| self.zookeeper(s));
        leader
            .or_else(|| (1..=self.scenario.cluster.zookeepers).find_map(|s| self.zookeeper(s)))
            .map(|z| z.tree())
    }

    /// A partition's log on its live leader, as ZooKeeper names the leader.
    pub fn leader_log(&self, topic: &str, partition: u32) -> Option<&crate::log::PartitionLog> {
        let (leader, _, _) = self.partition_state(topic, partition)?;
        let tp = crate::ids::TopicPartition::new(&topic.into(), partition);
        self.broker(leader?.0)?.log(&tp)
    }

    /// A partition's high watermark on its live leader (what `ListOffsets` for the latest
    /// offset answers a read_uncommitted client).
    pub fn high_watermark(&self, topic: &str, partition: u32) -> Option<Offset> {
        Some(self.leader_log(topic, partition)?.high_watermark())
    }

    /// A topic's config overrides as `/config/topics/T` holds them; `None` if the topic does
    /// not exist.
    pub fn topic_overrides(&self, topic: &str) -> Option<crate::config::TopicConfig> {
        use crate::controller::zk_data;
        if self.scenario.cluster.mode.is_kraft() {
            let image = self.metadata_image()?;
            image.topic(topic)?;
            return Some(image.topic_config(topic));
        }
        use crate::zookeeper::paths;
        let tree = self.zookeeper_tree()?;
        tree.get(&paths::topic(topic))?;
        Some(
            tree.get(&paths::topic_config(topic))
                .and_then(|n| zk_data::parse_topic_config(&n.data))
                .unwrap_or_default(),
        )
    }

    /// Dynamic settings of one broker, or (`None`) the cluster-wide default, as
    /// `/config/brokers/…` holds them.
    pub fn dynamic_broker_config(&self, broker: Option<u32>) -> crate::config::DynamicBrokerConfig {
        use crate::controller::zk_data;
        use crate::zookeeper::paths;
        if self.scenario.cluster.mode.is_kraft() {
            return self
                .metadata_image()
                .map(|i| i.broker_config(broker.map(BrokerId)))
                .unwrap_or_default();
        }
        self.zookeeper_tree()
            .and_then(|t| t.get(&paths::broker_config(broker)))
            .and_then(|n| zk_data::parse_broker_config(&n.data))
            .unwrap_or_default()
    }

    /// A partition's state as ZooKeeper has it: (leader, leader epoch, ISR).
    pub fn partition_state(
        &self,
        topic: &str,
        partition: u32,
    ) -> Option<(Option<BrokerId>, u32, Vec<BrokerId>)> {
        if self.scenario.cluster.mode.is_kraft() {
            let tp = TopicPartition::new(&topic.into(), partition);
            let s = self.metadata_image()?.partition(&tp)?.state(tp);
            return Some((s.leader, s.leader_epoch, s.isr));
        }
        let node = self
            .zookeeper_tree()?
            .get(&paths::partition_state(topic, partition))?;
        zk_data::parse_partition_state(&node.data)
    }

    /// Partition counts per topic, as ZooKeeper has them.
    pub fn topics(&self) -> VecMap<TopicName, u32> {
        if self.scenario.cluster.mode.is_kraft() {
            let Some(image) = self.metadata_image() else {
                return VecMap::new();
            };
            return image
                .topics
                .values()
                .map(|t| (t.name.clone(), t.partitions.len() as u32))
                .collect();
        }
        let Some(tree) = self.zookeeper_tree() else {
            return VecMap::new();
        };
        tree.children(paths::BROKER_TOPICS)
            .into_iter()
            .filter_map(|t| {
                let data = &tree.get(&paths::topic(&t))?.data;
                Some((
                    TopicName::from(t.as_str()),
                    zk_data::parse_topic_assignment(data)?.len() as u32,
                ))
            })
            .collect()
    }
}

/// What the invariants read: live brokers, and the disks of dead ones. It borrows those two
/// fields only, so the invariants (another field) are checked in place for every event.
pub(crate) struct Brokers<'a> {
    nodes: &'a Nodes,
    disks: &'a VecMap<BrokerId, BrokerDisk>,
}

impl<'a> Brokers<'a> {
    fn live(&self) -> impl Iterator<Item = &'a Broker> + use<'a> {
        self.nodes.values().filter_map(|s| match s.node.as_ref()? {
            Node::Broker(b) => Some(&**b),
            _ => None,
        })
    }
    /// A broker's log for a partition, live or on the disk of a dead broker.
    pub(crate) fn log(&self, broker: BrokerId, tp: &TopicPartition) -> Option<&'a PartitionLog> {
        match self.broker(broker) {
            Some(b) => b.log(tp),
            None => self.disks.get(&broker)?.logs.get(tp),
        }
    }
    fn broker(&self, id: BrokerId) -> Option<&'a Broker> {
        match self.nodes.get(&NodeId::Broker(id))?.node.as_ref()? {
            Node::Broker(b) => Some(&**b),
            _ => None,
        }
    }
}

impl World for Brokers<'_> {
    fn replica(
        &self,
        broker: BrokerId,
        tp: &TopicPartition,
    ) -> Option<&crate::broker::replica::Replica> {
        self.broker(broker)?.replicas.get(tp)
    }
    fn log(&self, broker: BrokerId, tp: &TopicPartition) -> Option<&PartitionLog> {
        Brokers::log(self, broker, tp)
    }
    fn live_replicas(&self) -> Vec<(BrokerId, &crate::broker::replica::Replica)> {
        self.live()
            .flat_map(|b| b.replicas.values().map(move |r| (b.id, r)))
            .collect()
    }
    fn metadata_log(&self, node: u32) -> Option<&crate::raft::log::RaftLog> {
        match self
            .nodes
            .get(&crate::kraft::server::address(node))?
            .node
            .as_ref()?
        {
            Node::Controller(c) => Some(c.raft.log()),
            _ => None,
        }
    }
    fn metadata_image(&self) -> Option<&MetadataImage> {
        self.nodes
            .values()
            .filter_map(|s| match s.node.as_ref()? {
                Node::Controller(c) => Some(c.controller.image()),
                _ => None,
            })
            .max_by_key(|i| i.offset)
    }
}

fn new_consumer(index: u32, spec: &ConsumerSpec, brokers: u32) -> Consumer {
    Consumer::new(index, spec, (1..=brokers).map(BrokerId).collect())
}

/// ZooKeeper as a cluster that was set up before the simulation starts: Kafka's persistent
/// paths and the scenario's topics (assignment and config, partition state left for the first
/// controller to initialise, as for a freshly created topic).
/// ZooKeeper's tree at time zero: Kafka's top-level paths, no brokers and no topics yet (the
/// scenario's topics are created once the brokers have registered, see [`startup`]).
fn initial_tree() -> DataTree {
    let mut tree = DataTree::default();
    for (path, data) in zk_data::initial_znodes() {
        tree.ensure_path(path, &data);
    }
    tree
}

fn describe_admin_response(msg: &Message) -> String {
    let outcome =
        |what: &str, topic: &TopicName, error: &Option<crate::protocol::ErrorCode>| match error {
            None => format!("{what} {topic}: done"),
            Some(e) => format!(
                "{what} {topic} failed: {}",
                serde_json::to_string(e)
                    .unwrap_or_default()
                    .trim_matches('"')
            ),
        };
    match msg {
        Message::CreateTopicsResponse(msg::CreateTopicsResponse { topic, error, .. }) => {
            outcome("create topic", topic, error)
        }
        Message::CreatePartitionsResponse(msg::CreatePartitionsResponse {
            topic, error, ..
        }) => outcome("add partitions to", topic, error),
        Message::DeleteTopicsResponse(msg::DeleteTopicsResponse { topic, error, .. }) => {
            outcome("delete topic", topic, error)
        }
        Message::AlterConfigsResponse(msg::AlterConfigsResponse { topic, error, .. }) => {
            outcome("alter the config of", topic, error)
        }
        Message::ElectLeadersResponse(msg::ElectLeadersResponse { results, .. }) => format!(
            "leader election: {} elected, {} not",
            results.iter().filter(|(_, e)| e.is_none()).count(),
            results.iter().filter(|(_, e)| e.is_some()).count()
        ),
        Message::OffsetCommitResponse(msg::OffsetCommitResponse { partitions, .. }) => format!(
            "offsets reset: {} partitions committed, {} refused",
            partitions.iter().filter(|(_, e)| e.is_none()).count(),
            partitions.iter().filter(|(_, e)| e.is_some()).count()
        ),
        other => format!("admin got {}", other.api()),
    }
}
