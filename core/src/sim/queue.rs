//! The event queue, ordered by (time, rank, sequence number): events at the same time run in
//! the order they were scheduled, never by hashing or allocation accidents — except that a
//! person's actions run first at their time, so an action scheduled while the simulation runs
//! lands exactly where the same action in a replayed scenario does.

use super::command::Command;
use super::ctx::{Timer, TimerId};
use crate::ids::NodeId;
use crate::protocol::Message;
use crate::time::SimTime;
use crate::trace::DropReason;
use crate::vec_map::VecMap;

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
    Action(Command),
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
    entry: Option<(SimTime, Item)>,
    /// Where this slot's key is in the heap.
    pos: u32,
    /// Set for a timer that can be cancelled.
    timer: Option<TimerId>,
}

/// A binary min-heap of keys that knows where each key is, so a cancelled timer leaves the
/// heap at once. (Request timeouts are nearly always answered first: left in place, tens of
/// thousands of them would deepen every pop.)
#[derive(Debug, Default)]
pub struct Queue {
    heap: Vec<Key>,
    /// The queued items by slot; a popped item's slot is reused by a later push.
    slots: Vec<Slot>,
    free: Vec<u32>,
    seq: u64,
    /// Cancellable timers still queued, and their slots.
    cancellable: VecMap<TimerId, u32>,
}

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
        self.slots[slot as usize].entry = Some((at, item));
        self.slots[slot as usize].timer = timer;
        if let Some(id) = timer {
            self.cancellable.insert(id, slot);
        }
        self.heap.push(Key {
            at,
            rank,
            seq: self.seq,
            slot,
        });
        self.sift_up(self.heap.len() - 1);
    }

    pub fn pop(&mut self) -> Option<Entry> {
        if self.heap.is_empty() {
            return None;
        }
        let key = self.remove_at(0);
        let (at, item) = self.release(key.slot).expect("a queued key has its item");
        Some(Entry { at, item })
    }

    /// Takes back a cancellable timer that is still queued; one that ran already is ignored.
    pub fn cancel(&mut self, timer: TimerId) {
        if let Some(&slot) = self.cancellable.get(&timer) {
            self.remove_at(self.slots[slot as usize].pos as usize);
            self.release(slot);
        }
    }

    pub fn next_time(&self) -> Option<SimTime> {
        self.heap.first().map(|k| k.at)
    }
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
    /// Messages still travelling (in no particular order), with their arrival times.
    pub fn in_flight(&self) -> impl Iterator<Item = (SimTime, &Item)> {
        self.slots
            .iter()
            .filter_map(|s| s.entry.as_ref())
            .filter(|(_, item)| matches!(item, Item::Deliver { .. }))
            .map(|(at, item)| (*at, item))
    }

    /// Empties a slot whose key left the heap, for reuse.
    fn release(&mut self, slot: u32) -> Option<(SimTime, Item)> {
        let s = &mut self.slots[slot as usize];
        if let Some(id) = s.timer.take() {
            self.cancellable.remove(&id);
        }
        self.free.push(slot);
        s.entry.take()
    }

    fn place(&mut self, pos: usize, key: Key) {
        self.slots[key.slot as usize].pos = pos as u32;
        self.heap[pos] = key;
    }

    fn remove_at(&mut self, pos: usize) -> Key {
        let key = self.heap.swap_remove(pos);
        if pos < self.heap.len() {
            let parent = pos.saturating_sub(1) / 2;
            if pos > 0 && self.heap[pos].before(&self.heap[parent]) {
                self.sift_up(pos);
            } else {
                self.sift_down(pos);
            }
        }
        key
    }

    fn sift_up(&mut self, mut pos: usize) {
        let key = self.heap[pos];
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if !key.before(&self.heap[parent]) {
                break;
            }
            self.place(pos, self.heap[parent]);
            pos = parent;
        }
        self.place(pos, key);
    }

    fn sift_down(&mut self, mut pos: usize) {
        let key = self.heap[pos];
        let len = self.heap.len();
        loop {
            let mut child = 2 * pos + 1;
            if child >= len {
                break;
            }
            if child + 1 < len && self.heap[child + 1].before(&self.heap[child]) {
                child += 1;
            }
            if !self.heap[child].before(&key) {
                break;
            }
            self.place(pos, self.heap[child]);
            pos = child;
        }
        self.place(pos, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ctx::TimerId;

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

    fn popped_one(e: Entry) -> Option<(u64, u32)> {
        match e.item {
            Item::Start {
                node: NodeId::Producer(n),
            } => Some((e.at.as_us(), n)),
            _ => None,
        }
    }
}
