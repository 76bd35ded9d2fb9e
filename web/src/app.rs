//! The page: header controls, the cluster diagram, partition strips and charts on the left;
//! lesson, actions, terminal and config tabs and the event log on the right.

use crate::components::actions::ActionsPanel;
use crate::components::config::ConfigPanel;
use crate::components::controls::controls;
use crate::components::diagram::diagram;
use crate::components::event_log::EventLogPanel;
use crate::components::help::help;
use crate::components::lesson::{all_lessons, lesson_panel, lesson_picker};
use crate::components::outcome::outcome;
use crate::components::terminal::TerminalPanel;
use crate::components::{ChartsPanel, PartitionsPanel};
use crate::hooks::{use_animation_frame, use_keydown};
use crate::state::{Action, Playground};
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
    let tab = use_state(|| Tab::Lesson);
    let lessons = use_memo((), |_| all_lessons());
    let playground: Playground = (*state).clone();
    let inner = playground.get();
    let view = inner.sim.view();
    let tab_button = |t: Tab, label: &str| {
        let tab_handle = tab.clone();
        html! {
            <button role="tab" aria-selected={(*tab == t).to_string()} class={classes!((*tab == t).then_some("on"))}
                    onclick={Callback::from(move |_| tab_handle.set(t))}>{ label.to_string() }</button>
        }
    };
    html! {
        <div class={classes!("app", inner.large_text.then_some("large"))}>
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
                    <section>
                        <h2>{ "Cluster" }<small class="muted">{ " — click a broker or ZooKeeper server to kill it or start it again" }</small></h2>
                        { diagram(&inner, &view, &dispatch) }
                        { outcome(inner.history.report.as_ref()) }
                    </section>
                    <section>
                        <h2>{ "Partition logs" }</h2>
                        <PartitionsPanel state={playground.clone()} dispatch={dispatch.clone()} version={inner.logs_version} />
                    </section>
                    <section>
                        <h2>{ "Charts" }</h2>
                        <ChartsPanel state={playground.clone()} dispatch={dispatch.clone()} version={inner.history.taken + (inner.generation << 40)} />
                    </section>
                </div>
                <div class="right">
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
