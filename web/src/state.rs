//! The app's one reducer: the simulation, whether it runs, and how fast.

use kplay_core::{Command, Scenario, Sim, SimTime, View};
use std::cell::RefCell;
use std::rc::Rc;
use yew::Reducible;

/// The scenario the page opens on until lessons and share links arrive: three brokers, three
/// ZooKeeper servers, a replicated topic with a keyed producer and a consumer.
const DEFAULT_SCENARIO: &str = r#"{
    "name": "Three brokers, one replicated topic",
    "seed": 1,
    "cluster": {"brokers": 3, "zookeepers": 3, "latency_us": 2000, "jitter_us": 500},
    "topics": [{"name": "orders", "partitions": 3, "replication_factor": 3, "config": {"min.insync.replicas": 2}}],
    "producers": [{"topic": "orders", "rate_per_sec": 5, "keys": {"kind": "random", "count": 8}}],
    "consumers": [{"topic": "orders", "config": {"auto.offset.reset": "earliest"}}],
    "trace": {"messages": false, "window": 20000}
}"#;

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Tick { wall_ms: u64 },
    TogglePlay,
    SetSpeed(f64),
    Apply(Command),
}

pub struct AppState {
    sim: Rc<RefCell<Sim>>,
    pub playing: bool,
    pub speed: f64,
    /// Bumped on every change so Yew knows to redraw.
    version: u64,
}

impl PartialEq for AppState {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.sim, &other.sim)
            && self.version == other.version
            && self.playing == other.playing
            && self.speed == other.speed
    }
}

impl AppState {
    pub fn default_lesson() -> AppState {
        let scenario =
            Scenario::from_json(DEFAULT_SCENARIO).expect("the built-in scenario is valid");
        let sim = Sim::new(scenario).expect("the built-in scenario builds");
        AppState {
            sim: Rc::new(RefCell::new(sim)),
            playing: true,
            speed: 1.0,
            version: 0,
        }
    }

    pub fn view(&self) -> View {
        self.sim.borrow().view()
    }

    pub fn scenario_name(&self) -> String {
        self.sim.borrow().scenario().name.clone()
    }

    /// The latest human-readable events, newest first.
    pub fn recent_events(&self, n: usize) -> Vec<(SimTime, String)> {
        let sim = self.sim.borrow();
        sim.trace()
            .iter()
            .rev()
            .filter_map(|e| e.event.describe().map(|line| (e.at, line)))
            .take(n)
            .collect()
    }
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = AppState {
            sim: self.sim.clone(),
            playing: self.playing,
            speed: self.speed,
            version: self.version + 1,
        };
        match action {
            Action::Tick { wall_ms } => {
                if !self.playing {
                    return self;
                }
                let mut sim = next.sim.borrow_mut();
                let until = sim
                    .now()
                    .plus_us((wall_ms as f64 * 1_000.0 * self.speed) as u64);
                sim.run_until(until);
            }
            Action::TogglePlay => next.playing = !self.playing,
            Action::SetSpeed(speed) => next.speed = speed,
            Action::Apply(command) => {
                // Commands come from the page's own buttons, built for this cluster.
                let _ = next.sim.borrow_mut().apply(command);
            }
        }
        Rc::new(next)
    }
}
