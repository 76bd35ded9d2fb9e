//! The event queue, ordered by (time, rank, sequence number): events at the same time run in
//! the order they were scheduled, never by hashing or allocation accidents — except that a
//! person's actions run first at their time, so an action scheduled while the simulation runs
//! lands exactly where the same action in a replayed scenario does.

use crate::broker::BrokerTimer;
use crate::client::consumer::ConsumerTimer;
use crate::client::producer::ProducerTimer;
use crate::ids::NodeId;
use crate::node::TimerId;
use crate::protocol::Message;
use crate::scenario::command::Command;
use crate::time::SimTime;
use crate::trace::DropReason;
use crate::vec_map::VecMap;
use crate::zookeeper::server::ZkServerTimer;

/// A node's timer; each kind of node has its own variant, and sets only its own timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timer {
    ZooKeeper(ZkServerTimer),
    Broker(BrokerTimer),
    Producer(ProducerTimer),
    Consumer(ConsumerTimer),
    Controller(crate::kraft::server::ControllerTimer),
}

#[derive(Debug)]
pub enum Item {
    Deliver {
        id: u64,
        from: NodeId,
        to: NodeId,
        msg: Message,
        sent_at: SimTime,
        dropped: Option<DropReason>,
    },
    Timer {
        node: NodeId,
        incarnation: u64,
        timer: Timer,
    },
    /// The peer's process died: `node` sees its connection close.
    Disconnect {
        node: NodeId,
        incarnation: u64,
        peer: NodeId,
    },
    Start {
        node: NodeId,
    },
    Action(Box<Command>),
}

/// A popped event.
#[derive(Debug)]
pub struct Entry {
    pub at: SimTime,
    pub item: Item,
}

/// What the heap orders: small and cheap to move. The item waits in a slot, so sifting the
/// heap never moves a message (some are hundreds of bytes).
#[derive(Clone, Copy, Debug)]
struct Key {
    at: SimTime,
    /// 0 for actions, 1 for everything else.
    rank: u8,
    seq: u64,
    slot: u32,
}

impl Key {
    fn before(&self, other: &Key) -> bool {
        (self.at, self.rank, self.seq) < (other.at, other.rank, other.seq)
    }
}

#[derive(Debug, Default)]
struct Slot {
    /// None once cancelled: the key stays in the timeouts' heap until it reaches the top or
    /// that heap is compacted, and only then is the slot free again.
    entry: Option<(SimTime, Item)>,
    /// Set for a timer that can be cancelled.
    timer: Option<TimerId>,
}

/// Two binary min-heaps of keys, one for cancellable timers (request timeouts) and one for
/// everything else; a pop takes the earlier of their tops. Request timeouts are nearly always
/// cancelled (answered) long before they are due, so a cancelled timer's key is left where it
/// is and skipped when it surfaces (taking each one out of the middle of a heap cost a sift
/// per answer), and they wait apart: their keys never deepen the heap that every message
/// passes through. Cancelled keys are never at the top (so `next_time` is exact), and never
/// more than the live ones or `COMPACT_AFTER`, whichever is more (the timeouts' heap is
/// compacted then).
#[derive(Debug, Default)]
pub struct Queue {
    /// Messages, actions and timers that cannot be cancelled.
    heap: Heap,
    /// Cancellable timers, some of them cancelled.
    timeouts: Heap,
    /// The queued items by slot; a popped item's slot is reused by a later push.
    slots: Vec<Slot>,
    free: Vec<u32>,
    seq: u64,
    /// Cancellable timers still queued, and their slots.
    cancellable: VecMap<TimerId, u32>,
    /// Keys in `timeouts` whose timer was cancelled.
    cancelled: usize,
}

/// Compaction waits for at least this many cancelled keys (and more than live ones).
const COMPACT_AFTER: usize = 64;

impl Queue {
    pub fn push(&mut self, at: SimTime, item: Item) {
        self.push_cancellable(at, item, None);
    }

    /// Queues `item`; with `timer`, `cancel(timer)` takes it back until it is popped.
    pub fn push_cancellable(&mut self, at: SimTime, item: Item, timer: Option<TimerId>) {
        self.seq += 1;
        let rank = u8::from(!matches!(item, Item::Action(_)));
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            (self.slots.len() - 1) as u32
        });
        // Written field by field: building a `Slot` first copied the item twice.
        let s = &mut self.slots[slot as usize];
        s.entry = Some((at, item));
        s.timer = timer;
        let key = Key {
            at,
            rank,
            seq: self.seq,
            slot,
        };
        match timer {
            Some(id) => {
                self.cancellable.insert(id, slot);
                self.timeouts.push(key);
            }
            None => self.heap.push(key),
        }
    }

    pub fn pop(&mut self) -> Option<Entry> {
        let key = self.pop_key()?;
        let s = &mut self.slots[key.slot as usize];
        if let Some(id) = s.timer.take() {
            self.cancellable.remove(&id);
        }
        let (at, item) = s.entry.take().expect("the top key is never cancelled");
        self.free.push(key.slot);
        self.drop_cancelled_top();
        Some(Entry { at, item })
    }

    /// Takes back a cancellable timer that is still queued; one that ran already is ignored.
    pub fn cancel(&mut self, timer: TimerId) {
        let Some(slot) = self.cancellable.remove(&timer) else {
            return;
        };
        let s = &mut self.slots[slot as usize];
        s.timer = None;
        s.entry = None;
        self.cancelled += 1;
        if self.cancelled >= COMPACT_AFTER && self.cancelled > self.len() {
            self.compact();
        } else {
            self.drop_cancelled_top();
        }
    }

    pub fn next_time(&self) -> Option<SimTime> {
        match (self.heap.top(), self.timeouts.top()) {
            (Some(a), Some(b)) => Some(a.at.min(b.at)),
            (a, b) => a.or(b).map(|k| k.at),
        }
    }
    /// Events still to happen.
    pub fn len(&self) -> usize {
        self.heap.0.len() + self.timeouts.0.len() - self.cancelled
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Messages still travelling (in no particular order), with their arrival times.
    pub fn in_flight(&self) -> impl Iterator<Item = (SimTime, &Item)> {
        self.slots
            .iter()
            .filter_map(|s| s.entry.as_ref())
            .filter(|(_, item)| matches!(item, Item::Deliver { .. }))
            .map(|(at, item)| (*at, item))
    }

    /// The earlier of the two tops.
    fn pop_key(&mut self) -> Option<Key> {
        let from_timeouts = match (self.heap.top(), self.timeouts.top()) {
            (Some(a), Some(b)) => b.before(a),
            (a, _) => a.is_none(),
        };
        if from_timeouts {
            self.timeouts.pop()
        } else {
            self.heap.pop()
        }
    }

    /// Frees the keys of cancelled timers that reached the top of the timeouts' heap.
    fn drop_cancelled_top(&mut self) {
        while let Some(key) = self.timeouts.top() {
            if self.slots[key.slot as usize].entry.is_some() {
                break;
            }
            let key = self.timeouts.pop().expect("not empty");
            self.free.push(key.slot);
            self.cancelled -= 1;
        }
    }

    /// Drops every cancelled key and rebuilds the timeouts' heap (linear time).
    fn compact(&mut self) {
        let slots = &self.slots;
        let free = &mut self.free;
        self.timeouts.0.retain(|k| {
            let cancelled = slots[k.slot as usize].entry.is_none();
            if cancelled {
                free.push(k.slot);
            }
            !cancelled
        });
        self.cancelled = 0;
        self.timeouts.heapify();
    }
}

/// A binary min-heap of keys.
#[derive(Debug, Default)]
struct Heap(Vec<Key>);

impl Heap {
    fn top(&self) -> Option<&Key> {
        self.0.first()
    }

    fn push(&mut self, key: Key) {
        self.0.push(key);
        self.sift_up(self.0.len() - 1);
    }

    fn pop(&mut self) -> Option<Key> {
        let last = self.0.pop()?;
        if self.0.is_empty() {
            return Some(last);
        }
        let top = std::mem::replace(&mut self.0[0], last);
        self.sift_down(0);
        Some(top)
    }

    fn heapify(&mut self) {
        for pos in (0..self.0.len() / 2).rev() {
            self.sift_down(pos);
        }
    }

    fn sift_up(&mut self, mut pos: usize) {
        let heap = &mut self.0;
        let key = heap[pos];
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if !key.before(&heap[parent]) {
                break;
            }
            heap[pos] = heap[parent];
            pos = parent;
        }
        heap[pos] = key;
    }

    fn sift_down(&mut self, mut pos: usize) {
        let heap = &mut self.0;
        let key = heap[pos];
        let len = heap.len();
        loop {
            let mut child = 2 * pos + 1;
            if child >= len {
                break;
            }
            if child + 1 < len && heap[child + 1].before(&heap[child]) {
                child += 1;
            }
            if !heap[child].before(&key) {
                break;
            }
            heap[pos] = heap[child];
            pos = child;
        }
        heap[pos] = key;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::TimerId;

    fn start(n: u32) -> Item {
        Item::Start {
            node: NodeId::Producer(n),
        }
    }

    /// Random pushes, cancels and pops come out in (time, push order), as a sorted model
    /// says, with the cancelled ones gone.
    #[test]
    fn pops_in_order_without_the_cancelled() {
        let mut rng = crate::rng::Rng::new(3);
        let mut q = Queue::default();
        let mut model: Vec<(u64, u32, Option<TimerId>)> = Vec::new();
        let mut next_id = 0u64;
        let mut out = Vec::new();
        let mut expected = Vec::new();
        for n in 0..20_000u32 {
            match rng.below(10) {
                0..=4 => {
                    let at = rng.below(500);
                    let id = (rng.below(2) == 0).then(|| {
                        next_id += 1;
                        TimerId(next_id)
                    });
                    q.push_cancellable(SimTime(at), start(n), id);
                    model.push((at, n, id));
                }
                5..=6 if next_id > 0 => {
                    let id = TimerId(1 + rng.below(next_id));
                    q.cancel(id);
                    model.retain(|(_, _, t)| *t != Some(id));
                }
                _ => {
                    // Stable sort: equal times keep push order, as the queue's sequence does.
                    model.sort_by_key(|(at, _, _)| *at);
                    if !model.is_empty() {
                        let (at, n, _) = model.remove(0);
                        expected.push((at, n));
                        let e = q.pop().expect("the model has one");
                        out.extend(popped_one(e));
                    }
                }
            }
            assert_eq!(q.len(), model.len());
        }
        model.sort_by_key(|(at, _, _)| *at);
        expected.extend(model.iter().map(|(at, n, _)| (*at, *n)));
        out.extend(std::iter::from_fn(|| q.pop()).filter_map(popped_one));
        assert_eq!(out, expected);
        assert!(q.cancellable.is_empty());
    }

    /// Cancelling most timers compacts the heap; what is left still pops in order.
    #[test]
    fn compacts_when_most_are_cancelled() {
        let mut rng = crate::rng::Rng::new(5);
        let mut q = Queue::default();
        let mut model = Vec::new();
        for n in 0..5_000u32 {
            let at = rng.below(1_000);
            q.push_cancellable(SimTime(at), start(n), Some(TimerId(u64::from(n))));
            model.push((at, n));
        }
        for n in (0..5_000u32).filter(|n| n % 5 != 0) {
            q.cancel(TimerId(u64::from(n)));
        }
        model.retain(|(_, n)| n % 5 == 0);
        assert_eq!(q.len(), 1_000);
        assert!(q.timeouts.0.len() < 2 * 1_000 + COMPACT_AFTER, "compacted");
        model.sort();
        let out: Vec<_> = std::iter::from_fn(|| q.pop())
            .filter_map(popped_one)
            .collect();
        assert_eq!(out, model);
        assert!(q.is_empty() && q.heap.0.is_empty() && q.timeouts.0.is_empty());
    }

    fn popped_one(e: Entry) -> Option<(u64, u32)> {
        match e.item {
            Item::Start {
                node: NodeId::Producer(n),
            } => Some((e.at.as_us(), n)),
            _ => None,
        }
    }
}
