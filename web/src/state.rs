//! The app's one reducer: the simulation and what the page keeps about it (speed, the charts'
//! history, the event log, the messages in flight). Components read it; only `Action`s change it.
//!
//! Going back in time rebuilds the simulation from the scenario and replays it (the same seed
//! and recorded actions give the same run); long replays and skips run in slices of a few
//! milliseconds per frame so the page never freezes.

use crate::flights::Flights;
use crate::follow::{Follow, Target};
use crate::history::History;
use crate::log::EventLog;
use crate::modes;
use crate::terminal::Terminal;
use kplay_core::scenario::{ClusterMode, CrashPoint};
use kplay_core::tools::Mode;
use kplay_core::{lessons, share, Command, Event, NodeId, Scenario, Sim, SimTime};
use std::cell::{Ref, RefCell};
use std::rc::Rc;
use yew::Reducible;

/// The lesson the page opens on.
pub const DEFAULT_LESSON: &str = "replication-and-isr";
/// Speeds offered, as multiples of real time.
pub const SPEEDS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 20.0, 100.0];
/// Wall time a frame may spend catching up (skip ahead, scrub back) before it draws.
const CATCH_UP_BUDGET_MS: f64 = 24.0;
/// Wall time a frame may spend simulating while playing; past it the page falls behind the
/// chosen speed (and says so) instead of freezing.
const PLAY_BUDGET_MS: f64 = 10.0;
/// Simulated time per slice while playing fast (the budget is checked between slices).
const PLAY_SLICE_US: u64 = 20_000;
/// Simulated time per slice while catching up.
const CATCH_UP_SLICE_US: u64 = 250_000;
/// The partition strips change with every record; while playing they redraw at most this often.
const LOGS_REDRAW_MS: f64 = 100.0;
/// The trace window the page keeps: message events are recorded to draw them.
const TRACE_WINDOW: usize = 200_000;

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// An animation frame: `wall_ms` since the last one.
    Frame {
        wall_ms: f64,
    },
    TogglePlay,
    /// Handles exactly one event, then pauses.
    Step,
    SetSpeed(f64),
    /// Jumps ahead by this much simulated time.
    Skip {
        ms: u64,
    },
    /// Moves to this simulated time (back: replay from the start).
    Seek(SimTime),
    /// A person's action: recorded into the scenario so a share link repeats it.
    Act(Command),
    /// A line typed into the terminal (a Kafka tool, a kplay command, or console input).
    Terminal(String),
    /// Ctrl-C / Ctrl-D in the terminal.
    TerminalInterrupt,
    TerminalClear,
    /// Starts a scenario, optionally at a time.
    Load {
        scenario: Box<Scenario>,
        at: Option<SimTime>,
    },
    /// Opens a share link (the part after `#`); a bad one shows an error instead.
    OpenShare(String),
    LoadLesson(String),
    SetLessonStep(usize),
    ToggleLargeText,
    ToggleHelp,
    CloseHelp,
    DismissError,
    /// A short confirmation shown in the header ("link copied").
    Notice(String),
    /// Selects a thing on the diagram for the inspector (None closes it).
    Select(Option<Selection>),
    /// A fault key for the selected thing: `k` kills, `r` restarts, `i` isolates.
    FaultKey(char),
    /// Follows a record through the cluster (None stops).
    Follow(Option<Target>),
    /// Switches the metadata mode: the run replays to this moment in the other mode, with the
    /// actions recorded so far (those with no meaning there are dropped, and named).
    SetMode(ClusterMode),
    /// Shows (or hides) the compare view: the same run in both modes side by side.
    Compare(bool),
}

/// What the inspector shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    Node(NodeId),
    Replica {
        broker: u32,
        topic: String,
        partition: u32,
    },
    /// A message in flight, by its trace id (selectable while paused).
    Message(u64),
}

/// How many expired ZooKeeper sessions (and fenced transactional ids) the page remembers, to
/// mark a broker whose session expired while it lived on (a consumer whose producer was fenced).
const EXPIRED_SESSIONS: usize = 64;

/// An action or terminal line waiting for a catch-up to finish.
#[derive(Clone, Debug)]
enum Pending {
    Act(Command),
    Line(String),
}

/// How long a paused page runs on for a terminal command's answer (the controller's reply).
const PAUSED_ANSWER_US: u64 = 1_000_000;

/// Everything the reducer owns, behind one `RefCell` so each action mutates in place.
#[derive(Debug)]
pub struct Inner {
    pub sim: Sim,
    /// The scenario as loaded (its own scheduled actions); `sim.scenario()` adds the recorded ones.
    pub loaded: Scenario,
    pub playing: bool,
    pub speed: f64,
    /// Catching up to this time (a skip or a scrub), a slice per frame.
    pub target: Option<SimTime>,
    /// What to do once catching up reaches the time it was asked at (after a scrub back).
    pending: Option<Pending>,
    pub terminal: Terminal,
    pub history: History,
    pub log: EventLog,
    pub flights: Flights,
    trace_seen: u64,
    /// The last frame could not simulate all the time the speed asked for.
    pub behind: bool,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub lesson_step: usize,
    pub large_text: bool,
    pub help: bool,
    /// Bumped whenever a new simulation replaces the old one (config and action panels reset).
    pub generation: u64,
    /// The partition strips' version: bumped by every action, except that frames while playing
    /// bump it at most every `LOGS_REDRAW_MS` (redrawing ~180 cells every frame costs more
    /// than a frame has).
    pub logs_version: u64,
    logs_drawn_ms: f64,
    /// What the inspector shows.
    pub selected: Option<Selection>,
    /// Whether the admin client has sent anything since the cluster started (the diagram leaves
    /// it out until then: creating the scenario's topics is part of the set-up).
    pub admin_active: bool,
    /// When a command last took effect (an admin request sent then answers it).
    last_command_at: Option<SimTime>,
    /// Whether a producer was acknowledged or a consumer assigned: the cluster's set-up is over.
    clients_started: bool,
    /// ZooKeeper sessions that expired, newest last (bounded).
    expired_sessions: Vec<u64>,
    /// Transactional ids whose producer learnt it was fenced by a newer epoch (bounded).
    pub fenced: Vec<String>,
    /// The record being followed, with the steps the trace has shown so far.
    pub follow: Option<Follow>,
    /// The compare view is asked for.
    pub compare: bool,
    /// The compare view's other run: this scenario in the other mode, at this run's simulated
    /// time (`sync_twin`). None when the compare view is off or the scenario cannot run there.
    pub twin: Option<Box<Inner>>,
    /// Why the scenario cannot run in the other mode (the core's reason), in the compare view.
    pub twin_error: Option<String>,
}

/// The reducer's handle: cheap to clone; `version` tells Yew something changed.
#[derive(Clone, Debug)]
pub struct Playground {
    inner: Rc<RefCell<Inner>>,
    version: u64,
}

impl PartialEq for Playground {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner) && self.version == other.version
    }
}

/// The simulation the page runs for a scenario: the same run, with messages traced to draw.
fn page_sim(scenario: &Scenario) -> Result<Sim, String> {
    let mut traced = scenario.clone();
    traced.trace.messages = true;
    traced.trace.window = traced.trace.window.max(TRACE_WINDOW);
    Sim::new(traced).map_err(|e| e.to_string())
}

impl Playground {
    /// The page as it opens: a share link from the URL fragment if there is one (a bad one
    /// shows its error over the default lesson), else the default lesson.
    pub fn open(fragment: Option<&str>) -> Playground {
        let default = lessons::get(DEFAULT_LESSON).expect("the default lesson exists");
        let mut inner = Inner::new(default, None).expect("the default lesson builds");
        if let Some(fragment) = fragment.filter(|f| !f.trim_start_matches('#').is_empty()) {
            inner.open_share(fragment);
        }
        Playground {
            inner: Rc::new(RefCell::new(inner)),
            version: 0,
        }
    }

    pub fn get(&self) -> Ref<'_, Inner> {
        self.inner.borrow()
    }
}

impl Inner {
    fn new(scenario: Scenario, at: Option<SimTime>) -> Result<Inner, String> {
        let sim = page_sim(&scenario)?;
        let mut inner = Inner {
            sim,
            loaded: scenario,
            playing: true,
            speed: 1.0,
            target: None,
            pending: None,
            terminal: Terminal::default(),
            history: History::default(),
            log: EventLog::default(),
            flights: Flights::default(),
            trace_seen: 0,
            behind: false,
            error: None,
            notice: None,
            lesson_step: 0,
            large_text: false,
            help: false,
            generation: 0,
            logs_version: 0,
            logs_drawn_ms: 0.0,
            selected: None,
            admin_active: false,
            last_command_at: None,
            clients_started: false,
            expired_sessions: Vec::new(),
            fenced: Vec::new(),
            follow: None,
            compare: false,
            twin: None,
            twin_error: None,
        };
        inner.history.sample(&inner.sim);
        inner.history.refresh_report(&inner.sim);
        if let Some(at) = at {
            inner.target = Some(at);
            inner.playing = false;
        }
        Ok(inner)
    }

    /// The scenario to share: what was loaded plus every recorded action, traced as loaded.
    pub fn scenario(&self) -> Scenario {
        let mut scenario = self.sim.scenario().clone();
        scenario.trace = self.loaded.trace.clone();
        scenario
    }

    /// The share fragment (without `#`) that reproduces this run at this moment.
    pub fn share_fragment(&self) -> String {
        let mut fragment = crate::url::fragment(&share::encode(&self.scenario()), self.sim.now());
        // The compare view's other run goes with it whole: it may hold a fault only its
        // mode has (a controller killed beside a ZooKeeper-mode run).
        match &self.twin {
            Some(twin) => {
                fragment.push_str("&c=");
                fragment.push_str(&share::encode(&twin.scenario()));
            }
            None if self.compare => fragment.push_str("&c=1"),
            None => {}
        }
        match self.follow.as_ref().and_then(crate::follow::encode) {
            Some(followed) => format!("{fragment}&f={followed}"),
            None => fragment,
        }
    }

    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    /// How far the timeline reaches: the scenario's duration, or further once run past it.
    pub fn timeline_end(&self) -> SimTime {
        SimTime::from_ms(self.loaded.duration_ms)
            .max(self.sim.now())
            .max(self.target.unwrap_or_default())
    }

    fn replace(&mut self, scenario: Scenario, at: Option<SimTime>) {
        match Inner::new(scenario, at) {
            Ok(mut next) => {
                next.speed = self.speed;
                next.large_text = self.large_text;
                next.generation = self.generation + 1;
                next.logs_version = self.logs_version + 1;
                next.compare = self.compare;
                next.build_twin();
                *self = next;
            }
            Err(e) => self.error = Some(e),
        }
    }

    fn open_share(&mut self, fragment: &str) {
        match crate::url::parse(fragment) {
            Ok((scenario, at)) => {
                let twin = crate::url::compare(fragment);
                self.compare = twin.is_some();
                self.replace(scenario, at);
                if let Some(Err(e)) = twin.filter(|t| *t != "1").map(|t| self.open_twin(t)) {
                    self.error = Some(format!(
                        "The compare view's other run in this link could not be read: {e}. It is built from the first."
                    ));
                }
                match crate::url::followed(fragment) {
                    Ok(target) => self.follow = target.map(Follow::new),
                    Err(e) => {
                        self.error = Some(format!(
                            "The record this link follows could not be read: {e}. The run opens without it."
                        ))
                    }
                }
            }
            Err(e) => {
                self.error = Some(format!(
                    "This share link could not be opened: {e}. Showing the default lesson instead."
                ))
            }
        }
    }

    /// Runs the simulation to `until`, sampling the charts at every whole simulated second
    /// (so a replay draws the same charts) and reading the new trace events.
    fn advance_to(&mut self, until: SimTime, draw_messages: bool) {
        while self.sim.now() < until {
            let next_second = SimTime::from_secs(self.sim.now().as_us() / 1_000_000 + 1);
            self.sim.run_until(until.min(next_second));
            self.absorb_trace(draw_messages);
            if self.sim.now() == next_second {
                self.history.sample(&self.sim);
            }
        }
    }

    fn absorb_trace(&mut self, draw_messages: bool) {
        let total = self.sim.trace_events_total();
        // A window overrun (only in a very long slice) skips what fell out.
        let events = self
            .sim
            .trace_since(self.trace_seen)
            .unwrap_or_else(|| self.sim.trace());
        for event in events {
            match &event.event {
                Event::MessageSent {
                    from: NodeId::Admin,
                    ..
                } if self.clients_started || self.last_command_at == Some(event.at) => {
                    self.admin_active = true
                }
                Event::ProducerAcked { .. } | Event::ConsumerAssigned { .. } => {
                    self.clients_started = true
                }
                Event::CommandApplied { .. } => self.last_command_at = Some(event.at),
                Event::ProducerFenced { transactional_id }
                    if !self.fenced.contains(transactional_id) =>
                {
                    if self.fenced.len() == EXPIRED_SESSIONS {
                        self.fenced.remove(0);
                    }
                    self.fenced.push(transactional_id.clone());
                }
                Event::ZkSessionExpired { session } => {
                    if self.expired_sessions.len() == EXPIRED_SESSIONS {
                        self.expired_sessions.remove(0);
                    }
                    self.expired_sessions.push(*session);
                }
                _ => {}
            }
            if let Some(follow) = &mut self.follow {
                follow.absorb(event);
            }
            self.log.absorb(event);
            self.history.absorb(event);
            if draw_messages {
                self.flights.absorb(event);
            }
        }
        self.trace_seen = total;
    }

    fn frame(&mut self, wall_ms: f64) {
        if let Some(target) = self.target {
            self.catch_up(target);
        } else if self.playing {
            let sim_us = (wall_ms.clamp(0.0, 250.0) * 1_000.0 * self.speed) as u64;
            let until = self.sim.now().plus_us(sim_us.max(1));
            let started = crate::clock::now_ms();
            while self.sim.now() < until {
                let slice = self.sim.now().plus_us(PLAY_SLICE_US).min(until);
                self.advance_to(slice, true);
                if crate::clock::now_ms() - started > PLAY_BUDGET_MS {
                    break;
                }
            }
            // What did not fit in the budget is skipped: the page runs slower than asked.
            self.behind = self.sim.now() < until;
        }
        self.terminal.poll(&mut self.sim);
        self.history.refresh_report(&self.sim);
        self.flights.prune(self.sim.now(), self.speed);
    }

    fn step_one(&mut self) {
        self.sim.step();
        self.absorb_trace(true);
        self.terminal.poll(&mut self.sim);
        self.history.refresh_report(&self.sim);
    }

    fn catch_up(&mut self, target: SimTime) {
        let started = crate::clock::now_ms();
        while self.sim.now() < target && crate::clock::now_ms() - started < CATCH_UP_BUDGET_MS {
            let slice = self.sim.now().plus_us(CATCH_UP_SLICE_US).min(target);
            self.advance_to(slice, false);
        }
        self.history.refresh_report(&self.sim);
        if self.sim.now() >= target {
            self.target = None;
            match self.pending.take() {
                Some(Pending::Act(command)) => self.act(command),
                Some(Pending::Line(line)) => self.terminal_line(&line),
                None => {}
            }
        }
    }

    /// Replays `scenario` up to `at`, keeping what the person chose (speed, lesson step, …)
    /// and which actions came with the loaded scenario.
    /// The compare view's other run follows: replayed from its own scenario (its own actions
    /// kept), or with `branch`, without its actions recorded after `at`.
    fn rebuild(&mut self, scenario: Scenario, at: SimTime, branch: bool) {
        let twin = self.twin.take();
        let loaded = self.loaded.clone();
        let (playing, step) = (self.playing, self.lesson_step);
        let terminal = std::mem::take(&mut self.terminal);
        let selected = self.selected.take();
        let follow = self.follow.as_ref().map(Follow::restarted);
        self.replace(scenario, Some(at));
        self.selected = selected;
        self.follow = follow;
        self.loaded = loaded;
        self.playing = playing;
        self.lesson_step = step;
        self.terminal = terminal;
        if let Some(twin) = twin {
            let mut scenario = twin.scenario();
            if branch {
                let loaded = twin.loaded.actions.len();
                let mut index = 0;
                scenario.actions.retain(|a| {
                    index += 1;
                    index <= loaded || SimTime::from_ms(a.at_ms) <= at
                });
            }
            self.twin = Inner::new(scenario, None).ok().map(|mut next| {
                next.loaded = twin.loaded;
                Box::new(next)
            });
        }
    }

    /// Builds the compare view's other run from this one: the loaded scenario in the other
    /// mode with the recorded actions carried over, or the reason it cannot run there.
    fn build_twin(&mut self) {
        self.twin = None;
        self.twin_error = None;
        if !self.compare {
            return;
        }
        let to = modes::other(self.loaded.cluster.mode);
        let recorded = &self.sim.scenario().actions[self.loaded.actions.len()..];
        let (carried, _) = modes::carry(&self.loaded, recorded, to);
        let built = self.loaded.clone().with_mode(to).and_then(|loaded| {
            let mut scenario = loaded.clone();
            scenario.actions.extend(carried);
            let mut twin = Inner::new(scenario, None).map_err(|problem| {
                kplay_core::scenario::ScenarioError::Invalid {
                    what: "scenario".into(),
                    problem,
                }
            })?;
            twin.loaded = loaded;
            Ok(twin)
        });
        match built {
            Ok(twin) => self.twin = Some(Box::new(twin)),
            Err(e) => self.twin_error = Some(e.to_string()),
        }
    }

    /// The compare view's other run from a share string (a link's `c=`): it must be this
    /// scenario's other mode.
    fn open_twin(&mut self, share_string: &str) -> Result<(), String> {
        let scenario = share::decode(share_string).map_err(|e| e.to_string())?;
        let to = modes::other(self.loaded.cluster.mode);
        if scenario.cluster.mode != to {
            return Err(format!("it is not in {}", modes::title(to)));
        }
        let loaded = self
            .loaded
            .clone()
            .with_mode(to)
            .map_err(|e| e.to_string())?;
        if scenario.actions.len() < loaded.actions.len() {
            return Err("it lacks the scenario's own actions".into());
        }
        let mut twin = Inner::new(scenario, None)?;
        twin.loaded = loaded;
        self.twin = Some(Box::new(twin));
        self.twin_error = None;
        Ok(())
    }

    /// The one place the compare view's other run moves: to this run's simulated time, after
    /// every action on this one. Both runs step only through `advance_to` and `step_one`, so
    /// moving the engine into a worker moves these.
    fn sync_twin(&mut self) {
        let now = self.sim.now();
        let draw = self.target.is_none();
        let Some(twin) = self.twin.as_deref_mut() else {
            return;
        };
        twin.advance_to(now, draw);
        twin.history.refresh_report(&twin.sim);
        twin.flights.prune(now, self.speed);
        twin.speed = self.speed;
        twin.playing = self.playing;
        twin.large_text = self.large_text;
        twin.selected.clone_from(&self.selected);
        twin.logs_version = self.logs_version;
    }

    /// The metadata mode switch: the run replays to this moment in mode `to`, with what the
    /// person did carried over. A scenario whose own faults need the other mode's nodes is
    /// refused by the Config panel with the core's reason before this.
    fn set_mode(&mut self, to: ClusterMode) {
        if self.loaded.cluster.mode == to {
            return;
        }
        let loaded = match self.loaded.clone().with_mode(to) {
            Ok(loaded) => loaded,
            Err(e) => {
                self.error = Some(format!("Not switched: {e}"));
                return;
            }
        };
        let recorded = &self.sim.scenario().actions[self.loaded.actions.len()..];
        let (carried, dropped) = modes::carry(&self.loaded, recorded, to);
        let mut scenario = loaded.clone();
        scenario.actions.extend(carried);
        let now = self.sim.now();
        self.rebuild(scenario, now, false);
        self.loaded = loaded;
        self.build_twin();
        self.notice = modes::dropped_notice(&dropped, to);
    }

    fn seek(&mut self, to: SimTime) {
        self.flights.clear();
        if to < self.sim.now() {
            self.terminal.restart(&format!(
                "(the timeline moved back to {:.3} s: the running command stopped)",
                to.as_secs_f64()
            ));
            self.rebuild(self.scenario(), to, false);
        } else {
            self.target = Some(to);
        }
    }

    /// Whether actions were recorded after this moment (the person scrubbed back).
    fn recorded_later(&self) -> bool {
        let now = self.sim.now();
        self.sim.scenario().actions[self.loaded.actions.len()..]
            .iter()
            .any(|a| SimTime::from_ms(a.at_ms) > now)
    }

    /// A terminal line. What it changes is recorded like any action; if that happens after a
    /// scrub back, the timeline branches (later recorded actions are dropped). Paused, the
    /// page runs on briefly so the controller's answer shows.
    fn terminal_line(&mut self, line: &str) {
        if self.target.is_some() {
            self.pending = Some(Pending::Line(line.to_string()));
            return;
        }
        let before = self.sim.scenario().actions.len();
        let branch = self.recorded_later();
        self.terminal.run(&mut self.sim, line);
        let acted = self.sim.scenario().actions.len() > before;
        if acted && branch {
            self.branch(before);
        } else if acted && !self.playing {
            let until = self.sim.now().plus_us(PAUSED_ANSWER_US);
            loop {
                let next = self.sim.now().plus_us(10_000).min(until);
                self.advance_to(next, true);
                self.terminal.poll(&mut self.sim);
                let waiting = self.terminal.busy() && self.terminal.mode() != Mode::Consuming;
                if !waiting || self.sim.now() >= until {
                    break;
                }
            }
            self.history.refresh_report(&self.sim);
        }
    }

    /// Acting in the past branches: the actions recorded after this moment are dropped —
    /// except the loaded scenario's own and those from index `new_from` on (just recorded) —
    /// and the run is replayed to now.
    fn branch(&mut self, new_from: usize) {
        let now = self.sim.now();
        let loaded = self.loaded.actions.len();
        let mut scenario = self.scenario();
        let mut index = 0;
        scenario.actions.retain(|a| {
            index += 1;
            index <= loaded || index > new_from || SimTime::from_ms(a.at_ms) <= now
        });
        self.rebuild(scenario, now, true);
    }

    /// Until when consumer `index` stops polling, if a pause was asked for now (the pauses
    /// armed for a later point in the application are not known to the page).
    pub fn paused_until(&self, index: u32) -> Option<SimTime> {
        let now = self.sim.now();
        self.sim
            .scenario()
            .actions
            .iter()
            .filter(|a| SimTime::from_ms(a.at_ms) <= now)
            .filter_map(|a| match &a.command {
                Command::PauseConsumer {
                    consumer,
                    ms,
                    at: CrashPoint::Now,
                } if *consumer == index => Some(SimTime::from_ms(a.at_ms + ms)),
                _ => None,
            })
            .max()
    }

    /// Whether broker `id` lives on with a ZooKeeper session that expired.
    pub fn session_expired(&self, id: u32) -> bool {
        self.sim
            .broker(id)
            .and_then(|b| b.zk_session())
            .is_some_and(|s| self.expired_sessions.contains(&s))
    }

    /// The fault a key asks for on the selected thing, or a notice saying why there is none.
    fn fault_key(&mut self, key: char) {
        let view = self.sim.view();
        let node = match &self.selected {
            Some(Selection::Node(node)) => *node,
            Some(Selection::Replica { broker, .. }) => NodeId::broker(*broker),
            _ => {
                self.notice = Some("Select a broker, a ZooKeeper server, a controller or a client first (click it, or Tab to it and press Enter).".into());
                return;
            }
        };
        // In the compare view, a controller or a ZooKeeper server may be the other run's.
        let view = match (&self.twin, node) {
            (Some(twin), NodeId::Controller(_) | NodeId::ZooKeeper(_))
                if twin.loaded.cluster.mode.is_kraft() == matches!(node, NodeId::Controller(_)) =>
            {
                twin.sim.view()
            }
            _ => view,
        };
        let alive = match node {
            NodeId::Broker(b) => view.brokers.iter().any(|x| x.id == b && x.alive),
            NodeId::ZooKeeper(z) => view.zookeepers.iter().any(|x| x.id == z && x.alive),
            NodeId::Controller(c) => view.controllers.iter().any(|x| x.id == c && x.alive),
            NodeId::Consumer(c) => view.consumers.iter().any(|x| x.index == c && x.alive),
            NodeId::Producer(p) => view.producers.iter().any(|x| x.index == p && x.alive),
            _ => false,
        };
        let others = || crate::components::diagram::cluster_nodes(&view, node);
        let command = match (node, key, alive) {
            (NodeId::Broker(b), 'k', true) => Some(Command::KillBroker { broker: b.0 }),
            (NodeId::Broker(b), 'r', false) => Some(Command::RestartBroker {
                broker: b.0,
                disk_lost: false,
            }),
            (NodeId::Broker(b), 'i', true) => Some(Command::IsolateBroker { broker: b.0 }),
            (NodeId::ZooKeeper(z), 'k', true) => Some(Command::KillZookeeper { server: z }),
            (NodeId::ZooKeeper(z), 'r', false) => Some(Command::RestartZookeeper { server: z }),
            (NodeId::Controller(c), 'k', true) => Some(Command::KillController { controller: c }),
            (NodeId::Controller(c), 'r', false) => {
                Some(Command::RestartController { controller: c })
            }
            (NodeId::ZooKeeper(_) | NodeId::Controller(_), 'i', true) => Some(Command::CutLinks {
                between: vec![node],
                and: others(),
                one_way: false,
            }),
            (NodeId::Consumer(c), 'k', true) => Some(Command::CrashConsumer {
                consumer: c,
                at: CrashPoint::Now,
            }),
            (NodeId::Consumer(c), 'r', false) => Some(Command::RestartConsumer { consumer: c }),
            (NodeId::Producer(p), 'k', true) if (p as usize) < self.loaded.producers.len() => {
                Some(Command::StopProducer { producer: p })
            }
            _ => None,
        };
        match command {
            Some(command) => self.act(command),
            None => {
                let what = match key {
                    'k' if !alive => "it is already down (r restarts it)",
                    'r' if alive => "it is running (k kills it)",
                    _ => "that key does nothing to it",
                };
                self.notice = Some(format!("{}: {what}.", node.label()));
            }
        }
    }

    fn act(&mut self, command: Command) {
        if self.target.is_some() {
            self.pending = Some(Pending::Act(command));
            return;
        }
        if self.recorded_later() || self.twin.as_ref().is_some_and(|t| t.recorded_later()) {
            self.branch(self.sim.scenario().actions.len());
            self.pending = Some(Pending::Act(command));
            return;
        }
        // In the compare view a command happens in both runs at the same moment; one that
        // only the other mode's nodes have happens there alone.
        let twin_mode = self.twin.as_ref().map(|t| t.loaded.cluster.mode);
        if let Some(mode) = twin_mode {
            if self
                .sim
                .scenario()
                .validate_command("command", &command)
                .is_err()
            {
                let what = command.describe();
                self.sync_twin();
                if let Some(twin) = self.twin.as_deref_mut() {
                    twin.act(command);
                    self.error = twin.error.take();
                    // Paused, the other run went on to the action's millisecond: this one
                    // follows, so both show the same moment.
                    let at = twin.sim.now();
                    if !self.playing {
                        self.advance_to(at, true);
                        self.history.refresh_report(&self.sim);
                    }
                }
                self.notice = Some(format!(
                    "{what}: only {} has it; {} has no counterpart.",
                    modes::title(mode),
                    modes::title(self.loaded.cluster.mode)
                ));
                return;
            }
        }
        let counterpart = twin_mode.map(|to| modes::translate(&self.loaded, &command, to));
        let by_hand = matches!(command, Command::Produce { producer: None, .. });
        let what = command.describe();
        match self.sim.act(command) {
            Ok(at) => {
                self.error = None;
                match counterpart {
                    Some(Some(command)) => {
                        self.sync_twin();
                        if let Some(twin) = self.twin.as_deref_mut() {
                            twin.act(command);
                        }
                    }
                    Some(None) => {
                        self.notice = Some(format!(
                            "{what}: only {} has it; {} has no counterpart.",
                            modes::title(self.loaded.cluster.mode),
                            twin_mode.map_or("", modes::title)
                        ))
                    }
                    None => {}
                }
                // A record produced by hand is followed.
                if by_hand {
                    self.follow = Some(Follow::new(Target::NextFrom {
                        producer: self.loaded.producers.len() as u32,
                        after: self.sim.now().min(at),
                    }));
                }
                if !self.playing {
                    // Paused: run to the action's millisecond so its effect shows at once.
                    self.advance_to(at, true);
                    self.history.refresh_report(&self.sim);
                }
            }
            Err(e) => self.error = Some(format!("That action was refused: {e}")),
        }
    }
}

impl Reducible for Playground {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        {
            let mut s = self.inner.borrow_mut();
            let wall_now = crate::clock::now_ms();
            // Only playing is throttled: a paused catch-up (an opened share link, a scrub)
            // must end with the strips showing the moment it reached.
            let throttled = matches!(action, Action::Frame { .. }) && s.playing;
            if !throttled || wall_now - s.logs_drawn_ms >= LOGS_REDRAW_MS {
                s.logs_version += 1;
                s.logs_drawn_ms = wall_now;
            }
            match action {
                Action::Frame { wall_ms } => {
                    if !s.playing && s.target.is_none() {
                        drop(s);
                        return self;
                    }
                    s.frame(wall_ms);
                }
                // During a long replay or skip, pause stops it where it got to.
                Action::TogglePlay if s.target.is_some() => {
                    s.target = None;
                    s.pending = None;
                    s.playing = false;
                }
                Action::TogglePlay => s.playing = !s.playing,
                Action::Step => {
                    s.playing = false;
                    if s.target.is_none() {
                        s.step_one();
                    }
                }
                Action::SetSpeed(speed) => s.speed = speed.clamp(SPEEDS[0], SPEEDS[9]),
                Action::Skip { ms } => {
                    let to = s.target.unwrap_or(s.sim.now()).plus_ms(ms);
                    s.flights.clear();
                    s.target = Some(to);
                }
                Action::Seek(to) => s.seek(to),
                Action::Act(command) => s.act(command),
                Action::Terminal(line) => s.terminal_line(&line),
                Action::TerminalInterrupt => {
                    let s = &mut *s;
                    s.terminal.interrupt(&mut s.sim);
                }
                Action::TerminalClear => s.terminal.clear(),
                Action::Load { scenario, at } => s.replace(*scenario, at),
                Action::OpenShare(fragment) => s.open_share(&fragment),
                Action::LoadLesson(name) => match lessons::get(&name) {
                    Some(scenario) => s.replace(scenario, None),
                    None => s.error = Some(format!("There is no lesson called '{name}'.")),
                },
                Action::SetLessonStep(step) => s.lesson_step = step,
                Action::ToggleLargeText => s.large_text = !s.large_text,
                Action::ToggleHelp => s.help = !s.help,
                // Esc closes the help if it is open, else the inspector.
                Action::CloseHelp if s.help => s.help = false,
                Action::CloseHelp => s.selected = None,
                Action::DismissError => s.error = None,
                Action::Notice(text) => s.notice = Some(text),
                Action::Select(selection) => s.selected = selection,
                Action::FaultKey(key) => s.fault_key(key),
                // Following replays the run from its seed, so every step comes from the trace.
                Action::Follow(Some(target)) => {
                    s.follow = Some(Follow::new(target));
                    let now = s.sim.now();
                    let scenario = s.scenario();
                    s.rebuild(scenario, now, false);
                }
                Action::Follow(None) => s.follow = None,
                Action::SetMode(to) => s.set_mode(to),
                Action::Compare(on) => {
                    s.compare = on;
                    s.build_twin();
                    // Both runs replay to this moment together, a slice per frame, rather
                    // than the new one in a single frame.
                    let now = s.sim.now();
                    if s.twin.is_some() && now > SimTime::ZERO {
                        let scenario = s.scenario();
                        s.rebuild(scenario, now, false);
                    }
                    s.generation += 1;
                }
            }
            s.sync_twin();
        }
        Rc::new(Playground {
            inner: self.inner.clone(),
            version: self.version + 1,
        })
    }
}
