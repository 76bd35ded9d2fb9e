//! Messages drawn as dots moving along their links. A dot travels from its send time to its
//! arrival time; at speeds where that would be shorter than the eye can follow, it is
//! stretched to `MIN_VISIBLE_WALL_MS` of wall time (the legend says so). Dropped messages
//! stop short and turn into a cross. At most `MAX_FLIGHTS` are kept: the newest.

use kplay_core::protocol::MessageKind;
use kplay_core::{Event, NodeId, SimTime, TraceEvent};
use std::collections::VecDeque;

pub const MAX_FLIGHTS: usize = 500;
/// The shortest a dot's trip lasts on screen.
pub const MIN_VISIBLE_WALL_MS: f64 = 250.0;
/// How long a dropped message's cross stays, as a share of its trip.
const DROP_LINGER: f64 = 0.6;

#[derive(Clone, Debug, PartialEq)]
pub struct Flight {
    pub id: u64,
    pub from: NodeId,
    pub to: NodeId,
    pub kind: MessageKind,
    pub api: &'static str,
    pub bytes: u32,
    pub sent_at: SimTime,
    pub arrives_at: SimTime,
    pub dropped: bool,
}

impl Flight {
    /// How long the trip lasts on screen, in simulated µs, at this speed.
    fn shown_us(&self, speed: f64) -> f64 {
        let real = self.arrives_at.since(self.sent_at) as f64;
        real.max(MIN_VISIBLE_WALL_MS * 1_000.0 * speed)
    }

    /// How far along its link the dot is (0 to 1), or None once it is gone.
    pub fn progress(&self, now: SimTime, speed: f64) -> Option<f64> {
        let t = now.since(self.sent_at) as f64 / self.shown_us(speed);
        let end = if self.dropped { 1.0 + DROP_LINGER } else { 1.0 };
        (t <= end).then_some(t.min(1.0))
    }
}

#[derive(Debug, Default)]
pub struct Flights {
    list: VecDeque<Flight>,
}

impl Flights {
    pub fn absorb(&mut self, event: &TraceEvent) {
        match &event.event {
            Event::MessageSent {
                id,
                from,
                to,
                kind,
                api,
                bytes,
                arrives_at,
            } => {
                if self.list.len() == MAX_FLIGHTS {
                    self.list.pop_front();
                }
                self.list.push_back(Flight {
                    id: *id,
                    from: *from,
                    to: *to,
                    kind: *kind,
                    api,
                    bytes: *bytes,
                    sent_at: event.at,
                    arrives_at: *arrives_at,
                    dropped: false,
                });
            }
            Event::MessageDropped { id, .. } => {
                if let Some(f) = self.list.iter_mut().rev().find(|f| f.id == *id) {
                    f.dropped = true;
                }
            }
            _ => {}
        }
    }

    /// Forgets dots that have arrived (on screen).
    pub fn prune(&mut self, now: SimTime, speed: f64) {
        self.list.retain(|f| f.progress(now, speed).is_some());
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }

    pub fn iter(&self) -> impl Iterator<Item = &Flight> {
        self.list.iter()
    }
}
