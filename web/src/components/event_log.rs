//! The event log: human-readable lines, newest first, filterable by kind and text. Clicking a
//! line's time moves the timeline to that moment (replaying up to it).

use super::PanelProps;
use crate::log::Kind;
use crate::state::Action;
use kplay_core::SimTime;
use yew::prelude::*;

/// Lines drawn at most (the filter narrows what they are).
const SHOWN: usize = 250;

#[component]
pub fn EventLogPanel(props: &PanelProps) -> Html {
    let search = use_state(String::new);
    // Per-message client lines and internal topics' are many; they start hidden.
    let shown = use_state(|| {
        Kind::ALL
            .into_iter()
            .filter(|k| !matches!(k, Kind::Client | Kind::Internal))
            .collect::<Vec<_>>()
    });
    let on_search = {
        let search = search.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            search.set(input.value());
        })
    };
    let inner = props.state.get();
    html! {
        <div class="event-log">
            <div class="filters">
                <input type="search" placeholder="filter: broker 2, orders-1, billing…" aria-label="Filter the event log"
                       value={(*search).clone()} oninput={on_search} />
                { for Kind::ALL.iter().map(|kind| {
                    let on = shown.contains(kind);
                    let shown = shown.clone();
                    let kind = *kind;
                    let toggle = Callback::from(move |_| {
                        let mut next = (*shown).clone();
                        if on { next.retain(|k| *k != kind) } else { next.push(kind) }
                        shown.set(next);
                    });
                    html! { <button class={classes!("chip-toggle", on.then_some("on"))} aria-pressed={on.to_string()} onclick={toggle}>{ kind.name() }</button> }
                }) }
            </div>
            <ul class="log">
                { for inner.log.newest(&shown, &search).take(SHOWN).map(|line| {
                    let at = line.at;
                    let seek = props.dispatch.reform(move |_| Action::Seek(at));
                    html! {
                        <li class={format!("kind-{:?}", line.kind).to_ascii_lowercase()}>
                            <button class="time" title="Go to this moment" onclick={seek}>{ format_time(at) }</button>
                            { line.text.clone() }
                        </li>
                    }
                }) }
            </ul>
        </div>
    }
}

pub fn format_time(at: SimTime) -> String {
    let s = at.as_secs_f64();
    if s >= 3600.0 {
        format!(
            "{}:{:02}:{:06.3}",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64,
            s % 60.0
        )
    } else if s >= 60.0 {
        format!("{}:{:06.3}", (s / 60.0) as u64, s % 60.0)
    } else {
        format!("{s:.3}s")
    }
}
