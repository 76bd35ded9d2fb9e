//! What the charts draw: one sample per simulated second (throughput, lag per group, end-to-end
//! latency, under-replicated and offline partitions, messages and bytes per Kafka API), and the
//! faults to mark on the time axis. Bounded: the last `MAX_SAMPLES` seconds.

use kplay_core::histogram::Histogram;
use kplay_core::protocol::MessageKind;
use kplay_core::vec_map::VecMap;
use kplay_core::{Event, Report, Sim, SimTime, TraceEvent};
use std::collections::VecDeque;

pub const MAX_SAMPLES: usize = 600;
const MAX_MARKERS: usize = 200;

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub at: SimTime,
    /// Records per second over the second that ended here.
    pub produced: f64,
    pub acked: f64,
    pub consumed: f64,
    /// (group, lag in records) for every group.
    pub lag: Vec<(String, u64)>,
    /// End-to-end latency (produce → consumed) of the records consumed in that second, ms.
    pub e2e_p50_ms: Option<f64>,
    pub e2e_p99_ms: Option<f64>,
    pub under_replicated: u32,
    pub offline: u32,
    /// Messages (requests and responses) sent in that second, per API: most first.
    pub traffic: Vec<Traffic>,
}

/// One API's share of the network in a simulated second.
#[derive(Clone, Debug, PartialEq)]
pub struct Traffic {
    /// Kafka's API name (`Produce`, `Fetch`, `Heartbeat`, …) or ZooKeeper's operation.
    pub api: &'static str,
    /// What the diagram's dots colour it as.
    pub kind: MessageKind,
    pub messages: u32,
    pub bytes: u64,
}

/// A fault to mark on the charts' time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub at: SimTime,
    pub label: String,
}

#[derive(Debug, Default)]
pub struct History {
    pub samples: VecDeque<Sample>,
    pub markers: VecDeque<Marker>,
    /// The run's report as of the latest sample: what was acknowledged, lost, duplicated.
    pub report: Option<Report>,
    report_stale: bool,
    /// Samples taken so far (the charts' version).
    pub taken: u64,
    totals: (u64, u64, u64),
    e2e: Histogram,
    /// Messages and bytes per API since the last sample.
    traffic: VecMap<&'static str, Traffic>,
}

impl History {
    /// Samples the simulation (called at whole simulated seconds).
    pub fn sample(&mut self, sim: &Sim) {
        let view = sim.view();
        let produced: u64 = view.producers.iter().map(|p| p.produced).sum();
        let acked: u64 = view.producers.iter().map(|p| p.acked).sum();
        let consumed: u64 = view.consumers.iter().map(|c| c.consumed).sum();
        let (_, e2e) = kplay_core::Report::latency_histograms(sim);
        let window = e2e.since(&self.e2e);
        let ms = |q| window.quantile(q).map(|us| us as f64 / 1_000.0);
        let seconds = self
            .samples
            .back()
            .map_or(1.0, |s| (view.now.since(s.at) as f64 / 1e6).max(1e-3));
        let rate = |now: u64, before: u64| now.saturating_sub(before) as f64 / seconds;
        let partitions = view.topics.iter().flat_map(|t| &t.partitions);
        let sample = Sample {
            at: view.now,
            produced: rate(produced, self.totals.0),
            acked: rate(acked, self.totals.1),
            consumed: rate(consumed, self.totals.2),
            lag: view.groups.iter().map(|g| (g.id.clone(), g.lag)).collect(),
            e2e_p50_ms: ms(0.5),
            e2e_p99_ms: ms(0.99),
            under_replicated: partitions.clone().filter(|p| p.under_replicated).count() as u32,
            offline: partitions.filter(|p| p.offline).count() as u32,
            traffic: {
                let mut t: Vec<Traffic> = std::mem::take(&mut self.traffic).into_values().collect();
                kplay_core::sort::sort_by(&mut t, |a, b| {
                    b.messages.cmp(&a.messages).then(a.api.cmp(b.api))
                });
                t
            },
        };
        self.totals = (produced, acked, consumed);
        self.e2e = e2e;
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
        self.report_stale = true;
        self.taken += 1;
    }

    /// Brings the report up to date if a sample was taken since (once per frame, not per
    /// simulated second: a report reads every partition's log).
    pub fn refresh_report(&mut self, sim: &Sim) {
        if self.report_stale {
            self.report = Some(sim.report());
            self.report_stale = false;
        }
    }

    /// Counts messages per API and notes the faults among new trace events.
    pub fn absorb(&mut self, event: &TraceEvent) {
        let label = match &event.event {
            Event::MessageSent {
                api, kind, bytes, ..
            } => {
                let t = self.traffic.entry(api).or_insert(Traffic {
                    api,
                    kind: *kind,
                    messages: 0,
                    bytes: 0,
                });
                t.messages += 1;
                t.bytes += *bytes as u64;
                // A produce answer is an ack: colour the API as its requests.
                if *kind != MessageKind::ProduceAck {
                    t.kind = *kind;
                }
                return;
            }
            Event::NodeCrashed { node } => format!("{} died", node.label()),
            Event::NodeStarted { node, .. } if event.at > SimTime::ZERO => {
                format!("{} started", node.label())
            }
            Event::LinkCut { from, to } => format!("{} ✂ {}", from.label(), to.label()),
            Event::LinkHealed { from, to } => format!("{} ↔ {} healed", from.label(), to.label()),
            _ => return,
        };
        // A broker isolated at once cuts many links: one marker per moment is enough.
        if self.markers.back().is_some_and(|m| m.at == event.at) {
            return;
        }
        if self.markers.len() == MAX_MARKERS {
            self.markers.pop_front();
        }
        self.markers.push_back(Marker {
            at: event.at,
            label,
        });
    }
}
