//! The page: header controls, the cluster diagram, partition strips and charts on the left;
//! lesson, actions, terminal and config tabs and the event log on the right.

use crate::components::actions::ActionsPanel;
use crate::components::config::ConfigPanel;
use crate::components::controls::controls;
use crate::components::diagram::{diagram, legend, Stage};
use crate::components::event_log::{format_time, EventLogPanel};
use crate::components::follow_panel::follow_panel;
use crate::components::help::help;
use crate::components::inspector::inspector;
use crate::components::lesson::{all_lessons, lesson_panel, lesson_picker};
use crate::components::metadata::MetadataPanel;
use crate::components::outcome::outcome;
use crate::components::terminal::TerminalPanel;
use crate::components::{ChartsPanel, PartitionsPanel};
use crate::hooks::{use_animation_frame, use_keydown};
use crate::modes;
use crate::state::{Action, Playground, Selection};
use kplay_core::NodeId;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tab {
    Lesson,
    Actions,
    Terminal,
    Config,
}

#[component]
pub fn App() -> Html {
    let state = use_reducer(|| Playground::open(crate::url::current_fragment().as_deref()));
    // One callback for the page's life: panels compare it, so a new one each frame would
    // redraw them all every frame.
    let dispatch: Callback<Action> = {
        let dispatcher = state.dispatcher();
        (*use_memo((), move |_| {
            Callback::from(move |action| dispatcher.dispatch(action))
        }))
        .clone()
    };
    use_animation_frame(dispatch.reform(|wall_ms| Action::Frame { wall_ms }));
    use_keydown({
        let dispatch = dispatch.clone();
        Callback::from(move |e: KeyboardEvent| {
            let action = match e.key().as_str() {
                " " => Action::TogglePlay,
                "ArrowRight" => Action::Step,
                "?" => Action::ToggleHelp,
                "Escape" => Action::CloseHelp,
                "k" | "r" | "i" => Action::FaultKey(e.key().chars().next().unwrap_or('k')),
                _ => return,
            };
            e.prevent_default();
            dispatch.emit(action);
        })
    });
    // A link pasted into the address bar of an open page loads too.
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            let listener =
                gloo_events::EventListener::new(&gloo_utils::window(), "hashchange", move |_| {
                    if let Some(fragment) = crate::url::current_fragment() {
                        dispatch.emit(Action::OpenShare(fragment));
                    }
                });
            move || drop(listener)
        });
    }
    let stage = use_stage(playground_comparing(&state));
    let tab = use_state(|| Tab::Lesson);
    let lessons = use_memo((), |_| all_lessons());
    let playground: Playground = (*state).clone();
    let inner = playground.get();
    let view = inner.sim.view();
    let twin_view = inner.twin.as_ref().map(|t| t.sim.view());
    // A ZooKeeper server or a controller selected in the compare view may be the other run's.
    let inspected = match (&inner.twin, &twin_view, &inner.selected) {
        (Some(twin), Some(tv), Some(Selection::Node(node)))
            if matches!(node, NodeId::Controller(_) | NodeId::ZooKeeper(_))
                && twin.loaded.cluster.mode.is_kraft() == matches!(node, NodeId::Controller(_)) =>
        {
            (&**twin, tv)
        }
        _ => (&*inner, &view),
    };
    // The compare view: both runs, ZooKeeper mode first, side by side (stacked on a narrow
    // screen), each drawn by the same diagram at its share of the width.
    let stage_html = match (&inner.twin, &twin_view) {
        (Some(twin), Some(tv)) => {
            let mut sides = [(&*inner, &view), (&**twin, tv)];
            if view.mode.is_kraft() {
                sides.swap(0, 1);
            }
            let (side, stacked) = stage.side();
            html! {
                <div class={classes!("compare", stacked.then_some("stacked"))}>
                    { for sides.iter().map(|(run, v)| html! {
                        <div class="side" data-mode={v.mode.name()}>
                            <h3>{ modes::title(v.mode) }<span class="muted side-clock" data-now-ms={v.now.as_ms().to_string()}>{ " · t = " }{ format_time(v.now) }</span></h3>
                            { diagram(run, v, side, &dispatch) }
                            { legend(v.mode) }
                        </div>
                    }) }
                </div>
            }
        }
        _ => html! { <>
            { match (&inner.twin_error, inner.compare) {
                (Some(e), true) => html! { <p class="error inline compare-error" role="alert">{ "No compare view: " }{ e.clone() }</p> },
                _ => html! {},
            } }
            { diagram(&inner, &view, stage.get(), &dispatch) }
            { legend(view.mode) }
        </> },
    };
    let tab_button = |t: Tab, label: &str| {
        let tab_handle = tab.clone();
        html! {
            <button role="tab" aria-selected={(*tab == t).to_string()} class={classes!((*tab == t).then_some("on"))}
                    onclick={Callback::from(move |_| tab_handle.set(t))}>{ label.to_string() }</button>
        }
    };
    html! {
        <div class={classes!("app", inner.large_text.then_some("large"), inner.twin.is_some().then_some("comparing"))}>
            <header>
                <h1>{ "kplay" }<span class="muted">{ " · a Kafka playground" }</span></h1>
                { lesson_picker(&Rc::clone(&lessons), &inner.loaded.name, &dispatch) }
                { controls(&inner, &dispatch) }
            </header>
            { match &inner.error {
                Some(e) => html! {
                    <div class="banner error" role="alert">
                        <span>{ e.clone() }</span>
                        <button onclick={dispatch.reform(|_| Action::DismissError)} aria-label="Dismiss">{ "×" }</button>
                    </div>
                },
                None => html! {},
            } }
            <main>
                <div class="left">
                    <section class="stage">
                        <h2>{ "Cluster" }<small class="muted">{ format!(" — select a broker, a replica, {} or a client to inspect it; k kills, r restarts, i isolates", if inner.twin.is_some() { "a ZooKeeper server or a controller" } else if view.mode.is_kraft() { "a controller" } else { "ZooKeeper" }) }</small></h2>
                        <div class="stage-measure" ref={stage.node.clone()}>
                            { stage_html }
                        </div>
                        { outcome(inner.history.report.as_ref(), inner.now(), &dispatch) }
                    </section>
                    { if crate::components::metadata::kraft_run(&inner).is_some() { html! {
                        <section class="metadata-log">
                            <h2>{ "Metadata log (KRaft)" }</h2>
                            <MetadataPanel state={playground.clone()} dispatch={dispatch.clone()} version={inner.logs_version} />
                        </section>
                    } } else { html! {} } }
                    <section>
                        <h2>{ "Partition logs" }</h2>
                        <PartitionsPanel state={playground.clone()} dispatch={dispatch.clone()} version={inner.logs_version} />
                        <p class="muted small">{ "Select a cell to follow its record through the cluster." }</p>
                    </section>
                    <section>
                        <h2>{ "Charts" }</h2>
                        <ChartsPanel state={playground.clone()} dispatch={dispatch.clone()} version={inner.history.taken + (inner.generation << 40)} />
                    </section>
                </div>
                <div class="right">
                    { inspector(inspected.0, inspected.1, &dispatch) }
                    { follow_panel(&inner, &dispatch) }
                    <section class="tabs">
                        <div role="tablist">
                            { tab_button(Tab::Lesson, "Lesson") }
                            { tab_button(Tab::Actions, "Actions") }
                            { tab_button(Tab::Terminal, "Terminal") }
                            { tab_button(Tab::Config, "Config") }
                        </div>
                        { match *tab {
                            Tab::Lesson => lesson_panel(&inner, &dispatch),
                            Tab::Actions => html! { <ActionsPanel state={playground.clone()} dispatch={dispatch.clone()} version={topology_version(&view, inner.generation)} /> },
                            Tab::Terminal => html! { <TerminalPanel state={playground.clone()} dispatch={dispatch.clone()} version={inner.terminal.version} /> },
                            Tab::Config => html! { <ConfigPanel state={playground.clone()} dispatch={dispatch.clone()} version={inner.generation} /> },
                        } }
                    </section>
                    <section>
                        <h2>{ "Event log" }</h2>
                        <EventLogPanel state={playground.clone()} dispatch={dispatch.clone()} version={inner.log.added + (inner.generation << 40)} />
                    </section>
                </div>
            </main>
            { if inner.help { help(&dispatch) } else { html! {} } }
        </div>
    }
}

/// Below this stage width the compare view stacks its two diagrams.
const COMPARE_MIN_WIDTH: f64 = 900.0;
/// The space between the compare view's two diagrams (CSS px, as `.compare`'s gap).
const COMPARE_GAP: f64 = 16.0;

/// The diagram's width as laid out on the page, and the height it should fill (most of the
/// first screen), measured at mount and on every resize.
struct StageHandle {
    node: NodeRef,
    size: UseStateHandle<(f64, f64)>,
    reduced_motion: bool,
}

impl StageHandle {
    /// A side of the compare view: half the width, or all of it stacked on a narrow screen.
    fn side(&self) -> (Stage, bool) {
        let stage = self.get();
        let stacked = stage.width < COMPARE_MIN_WIDTH;
        let width = if stacked {
            stage.width
        } else {
            (stage.width - COMPARE_GAP) / 2.0
        };
        (Stage { width, ..stage }, stacked)
    }

    fn get(&self) -> Stage {
        let (width, viewport_h) = *self.size;
        Stage {
            width: if width > 0.0 { width } else { 900.0 },
            // The header and the section's title take the rest of the first screen.
            min_height: ((viewport_h - 150.0) * 0.7).clamp(0.0, 800.0),
            reduced_motion: self.reduced_motion,
        }
    }
}

/// Whether the compare view shows (the stage is measured again when it changes).
fn playground_comparing(state: &UseReducerHandle<Playground>) -> bool {
    state.get().twin.is_some()
}

#[hook]
fn use_stage(comparing: bool) -> StageHandle {
    let node = use_node_ref();
    let size = use_state(|| (0.0, 0.0));
    let reduced_motion = *use_memo((), |_| {
        gloo_utils::window()
            .match_media("(prefers-reduced-motion: reduce)")
            .ok()
            .flatten()
            .is_some_and(|m| m.matches())
    });
    {
        let (node, size) = (node.clone(), size.clone());
        use_effect_with(comparing, move |_| {
            let measure = move || {
                let width = node
                    .cast::<web_sys::Element>()
                    .map_or(0.0, |e| e.client_width() as f64);
                let height = gloo_utils::window()
                    .inner_height()
                    .ok()
                    .and_then(|h| h.as_f64())
                    .unwrap_or(800.0);
                if *size != (width, height) {
                    size.set((width, height));
                }
            };
            measure();
            let listener =
                gloo_events::EventListener::new(&gloo_utils::window(), "resize", move |_| {
                    measure()
                });
            move || drop(listener)
        });
    }
    StageHandle {
        node,
        size,
        reduced_motion,
    }
}

/// Changes when what the actions panel offers changes: nodes, topics, partitions, clients.
fn topology_version(view: &kplay_core::View, generation: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    generation.hash(&mut h);
    view.brokers.len().hash(&mut h);
    view.zookeepers.len().hash(&mut h);
    for t in &view.topics {
        t.name.hash(&mut h);
        t.partitions.len().hash(&mut h);
    }
    view.producers.len().hash(&mut h);
    view.consumers.len().hash(&mut h);
    h.finish()
}
