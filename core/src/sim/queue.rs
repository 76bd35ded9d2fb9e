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

#[derive(Debug)]
pub struct Entry {
    pub at: SimTime,
    /// 0 for actions, 1 for everything else.
    rank: u8,
    seq: u64,
    pub item: Item,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.rank, self.seq) == (other.at, other.rank, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.rank, self.seq).cmp(&(other.at, other.rank, other.seq))
    }
}

#[derive(Debug, Default)]
pub struct Queue {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl Queue {
    pub fn push(&mut self, at: SimTime, item: Item) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at,
            rank: u8::from(!matches!(item, Item::Action(_))),
            seq: self.seq,
            item,
        }));
    }
    pub fn pop(&mut self) -> Option<Entry> {
        self.heap.pop().map(|Reverse(e)| e)
    }
    pub fn next_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
    /// Messages still travelling, for the view.
    pub fn in_flight(&self) -> impl Iterator<Item = &Entry> {
        self.heap
            .iter()
            .map(|Reverse(e)| e)
            .filter(|e| matches!(e.item, Item::Deliver { .. }))
    }
}
