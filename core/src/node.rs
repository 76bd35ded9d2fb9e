//! The node-facing API: what a node sees while it handles one event — the time, its id, the
//! shared random source, and an outbox for its effects. Nodes never touch the queue or the
//! network directly.
//!
//! A [`Ctx`] is generic over the timer type of the node (or component) it is handed to, so a
//! node names only its own timers. A host hands a component a scoped context
//! ([`Ctx::scoped`]): the component sets its own timers and the host's wrapper turns them into
//! the host's, so no component names its host. The simulation holds the outermost wrapper.

use crate::ids::NodeId;
use crate::protocol::Message;
use crate::rng::Rng;
use crate::time::{ms_to_us, SimTime};
use crate::trace::Event;
use crate::zookeeper::messages::ZkMessage;
use std::collections::VecDeque;

/// Names a timer set with [`Ctx::timeout_in_ms`], so [`Ctx::cancel`] can take it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub(crate) u64);

/// Effects of handling one event other than timers, carried out by the simulation. Sends are a
/// queue popped front to back: nearly every handler sends, and a `Vec`'s `drain` cost more per
/// handler than the pops.
#[derive(Debug, Default)]
pub struct Outbox {
    pub sends: VecDeque<(NodeId, Message)>,
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
        self.cancels.clear();
        self.events.clear();
        self.crash = false;
        self.closed = false;
        self.closes.clear();
    }
}

/// Where a context's timers go: `(when, timer, id if cancellable)`.
pub trait TimerSink<T> {
    fn set(&mut self, at: SimTime, timer: T, id: Option<TimerId>);
}

/// The outermost sink: a queue of the host's timers, which the simulation drains.
impl<T> TimerSink<T> for VecDeque<(SimTime, T, Option<TimerId>)> {
    fn set(&mut self, at: SimTime, timer: T, id: Option<TimerId>) {
        self.push_back((at, timer, id));
    }
}

/// A component's timers, wrapped into its host's as they are set.
struct Scoped<'a, U, T> {
    host: &'a mut dyn TimerSink<T>,
    wrap: fn(U) -> T,
}

impl<U, T> TimerSink<U> for Scoped<'_, U, T> {
    fn set(&mut self, at: SimTime, timer: U, id: Option<TimerId>) {
        self.host.set(at, (self.wrap)(timer), id);
    }
}

/// What a node or component handling an event with timers of type `T` may see and do.
pub struct Ctx<'a, T> {
    pub now: SimTime,
    pub me: NodeId,
    pub rng: &'a mut Rng,
    out: &'a mut Outbox,
    timers: &'a mut dyn TimerSink<T>,
    /// The simulation's last `TimerId`.
    timer_ids: &'a mut u64,
}

impl<T> std::fmt::Debug for Ctx<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("now", &self.now)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl<'a, T> Ctx<'a, T> {
    pub fn new(
        now: SimTime,
        me: NodeId,
        rng: &'a mut Rng,
        out: &'a mut Outbox,
        timers: &'a mut dyn TimerSink<T>,
        timer_ids: &'a mut u64,
    ) -> Self {
        Ctx {
            now,
            me,
            rng,
            out,
            timers,
            timer_ids,
        }
    }

    /// Runs `f` with a context for a component whose timers are `U`s, which `wrap` makes into
    /// this context's `T`s (`ctx.scoped(BrokerTimer::Group, |ctx| groups.on_timer(t, ctx))`).
    pub fn scoped<U, R>(&mut self, wrap: fn(U) -> T, f: impl FnOnce(&mut Ctx<'_, U>) -> R) -> R {
        let mut timers = Scoped {
            host: &mut *self.timers,
            wrap,
        };
        let mut ctx = Ctx {
            now: self.now,
            me: self.me,
            rng: &mut *self.rng,
            out: &mut *self.out,
            timers: &mut timers,
            timer_ids: &mut *self.timer_ids,
        };
        f(&mut ctx)
    }

    pub fn send(&mut self, to: NodeId, msg: Message) {
        self.out.sends.push_back((to, msg));
    }
    pub fn send_zk(&mut self, to: NodeId, msg: ZkMessage) {
        self.out
            .sends
            .push_back((to, Message::ZooKeeper(Box::new(msg))));
    }
    pub fn timer_at(&mut self, at: SimTime, timer: T) {
        self.timers.set(at.max(self.now), timer, None);
    }
    pub fn timer_in_us(&mut self, us: u64, timer: T) {
        self.timers.set(self.now.plus_us(us), timer, None);
    }
    pub fn timer_in_ms(&mut self, ms: u64, timer: T) {
        self.timer_in_us(ms_to_us(ms), timer);
    }
    /// A timer that [`Ctx::cancel`] can take back: a request's timeout, moot once its answer
    /// arrives (nearly always).
    pub fn timeout_in_ms(&mut self, ms: u64, timer: T) -> TimerId {
        *self.timer_ids += 1;
        let id = TimerId(*self.timer_ids);
        self.timers.set(self.now.plus_ms(ms), timer, Some(id));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Host {
        Own(u8),
        Part(Part),
    }
    #[derive(Debug, PartialEq)]
    enum Part {
        Tick,
    }

    #[test]
    fn a_scoped_context_wraps_the_components_timers_into_the_hosts() {
        let mut rng = Rng::new(1);
        let mut out = Outbox::default();
        let mut timers: VecDeque<(SimTime, Host, Option<TimerId>)> = VecDeque::new();
        let mut ids = 0;
        let mut ctx = Ctx::new(
            SimTime::from_ms(5),
            NodeId::Admin,
            &mut rng,
            &mut out,
            &mut timers,
            &mut ids,
        );
        ctx.timer_in_ms(1, Host::Own(7));
        let id = ctx.scoped(Host::Part, |ctx| ctx.timeout_in_ms(2, Part::Tick));
        assert_eq!(id, TimerId(1));
        assert_eq!(
            timers.into_iter().collect::<Vec<_>>(),
            [
                (SimTime::from_ms(6), Host::Own(7), None),
                (
                    SimTime::from_ms(7),
                    Host::Part(Part::Tick),
                    Some(TimerId(1))
                ),
            ]
        );
    }
}
