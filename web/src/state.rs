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
use crate::terminal::Terminal;
use kplay_core::scenario::CrashPoint;
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
        let fragment = crate::url::fragment(&share::encode(&self.scenario()), self.sim.now());
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
                *self = next;
            }
            Err(e) => self.error = Some(e),
        }
    }

    fn open_share(&mut self, fragment: &str) {
        match crate::url::parse(fragment) {
            Ok((scenario, at)) => {
                self.replace(scenario, at);
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
    fn rebuild(&mut self, scenario: Scenario, at: SimTime) {
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
    }

    fn seek(&mut self, to: SimTime) {
        self.flights.clear();
        if to < self.sim.now() {
            self.terminal.restart(&format!(
                "(the timeline moved back to {:.3} s: the running command stopped)",
                to.as_secs_f64()
            ));
            self.rebuild(self.scenario(), to);
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
        self.rebuild(scenario, now);
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
        if self.recorded_later() {
            self.branch(self.sim.scenario().actions.len());
            self.pending = Some(Pending::Act(command));
            return;
        }
        let by_hand = matches!(command, Command::Produce { producer: None, .. });
        match self.sim.act(command) {
            Ok(at) => {
                self.error = None;
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
                    s.rebuild(scenario, now);
                }
                Action::Follow(None) => s.follow = None,
            }
        }
        Rc::new(Playground {
            inner: self.inner.clone(),
            version: self.version + 1,
        })
    }
}
