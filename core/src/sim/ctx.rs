//! What a node sees while it handles one event: the time, its id, the shared random source, and
//! an outbox for its effects. Nodes never touch the queue or the network directly.

use crate::broker::BrokerTimer;
use crate::client::consumer::ConsumerTimer;
use crate::client::producer::ProducerTimer;
use crate::ids::NodeId;
use crate::protocol::Message;
use crate::rng::Rng;
use crate::time::{ms_to_us, SimTime};
use crate::trace::Event;
use crate::zookeeper::messages::ZkMessage;
use crate::zookeeper::server::ZkServerTimer;
use std::collections::VecDeque;

/// A node's timer; each kind of node has its own variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timer {
    ZooKeeper(ZkServerTimer),
    Broker(BrokerTimer),
    Producer(ProducerTimer),
    Consumer(ConsumerTimer),
}

/// Names a timer set with [`Ctx::timeout_in_ms`], so [`Ctx::cancel`] can take it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub(crate) u64);

/// Effects of handling one event, drained by `Sim`. Sends and timers are queues that `Sim`
/// pops front to back: nearly every handler sends and sets a timer, and a `Vec`'s `drain`
/// cost more per handler than the pops.
#[derive(Debug, Default)]
pub struct Outbox {
    pub sends: VecDeque<(NodeId, Message)>,
    pub timers: VecDeque<(SimTime, Timer, Option<TimerId>)>,
    /// Timeouts to take back (their requests were answered).
    pub cancels: Vec<TimerId>,
    pub events: Vec<Event>,
    /// The node crashed itself (a client application dying at a chosen point).
    pub crash: bool,
    /// The node shut down cleanly after sending what it queued (a client's `close()`).
    pub closed: bool,
    /// Peers whose connection the node closes (they hear it, and reconnect to send again).
    pub closes: Vec<NodeId>,
}

impl Outbox {
    /// Empties it, keeping the vectors' memory for the next handler.
    pub fn clear(&mut self) {
        self.sends.clear();
        self.timers.clear();
        self.cancels.clear();
        self.events.clear();
        self.crash = false;
        self.closed = false;
        self.closes.clear();
    }
}

#[derive(Debug)]
pub struct Ctx<'a> {
    pub now: SimTime,
    pub me: NodeId,
    pub rng: &'a mut Rng,
    pub out: &'a mut Outbox,
    /// The simulation's last `TimerId`.
    pub timer_ids: &'a mut u64,
}

impl Ctx<'_> {
    pub fn send(&mut self, to: NodeId, msg: Message) {
        self.out.sends.push_back((to, msg));
    }
    pub fn send_zk(&mut self, to: NodeId, msg: ZkMessage) {
        self.out
            .sends
            .push_back((to, Message::ZooKeeper(Box::new(msg))));
    }
    pub fn timer_at(&mut self, at: SimTime, timer: Timer) {
        self.out.timers.push_back((at.max(self.now), timer, None));
    }
    pub fn timer_in_us(&mut self, us: u64, timer: Timer) {
        self.out
            .timers
            .push_back((self.now.plus_us(us), timer, None));
    }
    pub fn timer_in_ms(&mut self, ms: u64, timer: Timer) {
        self.timer_in_us(ms_to_us(ms), timer);
    }
    /// A timer that [`Ctx::cancel`] can take back: a request's timeout, moot once its answer
    /// arrives (nearly always).
    pub fn timeout_in_ms(&mut self, ms: u64, timer: Timer) -> TimerId {
        *self.timer_ids += 1;
        let id = TimerId(*self.timer_ids);
        let at = self.now.plus_ms(ms);
        self.out.timers.push_back((at, timer, Some(id)));
        id
    }
    /// Takes back a timeout that has not fired; one that has is ignored.
    pub fn cancel(&mut self, timer: TimerId) {
        self.out.cancels.push(timer);
    }
    pub fn trace(&mut self, event: Event) {
        self.out.events.push(event);
    }
    /// Ends this process now; whatever else this handler queued is lost with it.
    pub fn crash_self(&mut self) {
        self.out.crash = true;
    }
    /// Closes the connection to `peer` once this handler's messages are sent.
    pub fn close_connection(&mut self, peer: NodeId) {
        self.out.closes.push(peer);
    }
    /// Shuts this process down once this handler's messages are sent.
    pub fn close_self(&mut self) {
        self.out.closed = true;
    }
}
