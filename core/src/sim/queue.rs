//! The event queue, ordered by (time, rank, sequence number): events at the same time run in
//! the order they were scheduled, never by hashing or allocation accidents — except that a
//! person's actions run first at their time, so an action scheduled while the simulation runs
//! lands exactly where the same action in a replayed scenario does.

use super::command::Command;
use super::ctx::Timer;
use crate::ids::NodeId;
use crate::protocol::Message;
use crate::time::SimTime;
use crate::trace::DropReason;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

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
#[derive(Debug)]
struct Key {
    at: SimTime,
    /// 0 for actions, 1 for everything else.
    rank: u8,
    seq: u64,
    slot: u32,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.rank, self.seq) == (other.at, other.rank, other.seq)
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.rank, self.seq).cmp(&(other.at, other.rank, other.seq))
    }
}

#[derive(Debug, Default)]
pub struct Queue {
    heap: BinaryHeap<Reverse<Key>>,
    /// The queued items by slot; a popped item's slot is reused by a later push.
    slots: Vec<Option<(SimTime, Item)>>,
    free: Vec<u32>,
    seq: u64,
}

impl Queue {
    pub fn push(&mut self, at: SimTime, item: Item) {
        self.seq += 1;
        let rank = u8::from(!matches!(item, Item::Action(_)));
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some((at, item));
                slot
            }
            None => {
                self.slots.push(Some((at, item)));
                (self.slots.len() - 1) as u32
            }
        };
        self.heap.push(Reverse(Key {
            at,
            rank,
            seq: self.seq,
            slot,
        }));
    }
    pub fn pop(&mut self) -> Option<Entry> {
        let Reverse(key) = self.heap.pop()?;
        let (at, item) = self.slots[key.slot as usize]
            .take()
            .expect("a queued key has its item");
        self.free.push(key.slot);
        Some(Entry { at, item })
    }
    pub fn next_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(k)| k.at)
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
            .flatten()
            .filter(|(_, item)| matches!(item, Item::Deliver { .. }))
            .map(|(at, item)| (*at, item))
    }
}
