//! The header's controls: play/pause, one event at a time, speed, skip ahead, the timeline
//! (scrub back and forth), share, large text and help.

use crate::components::event_log::format_time;
use crate::state::{Action, Inner, SPEEDS};
use kplay_core::SimTime;
use yew::prelude::*;

pub fn controls(inner: &Inner, dispatch: &Callback<Action>) -> Html {
    let on_speed = dispatch.reform(|e: Event| {
        let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
        Action::SetSpeed(select.value().parse().unwrap_or(1.0))
    });
    let end_ms = inner.timeline_end().as_ms();
    let now = inner.now();
    let on_seek = dispatch.reform(|e: Event| {
        let input: web_sys::HtmlInputElement = e.target_unchecked_into();
        Action::Seek(SimTime::from_ms(input.value().parse().unwrap_or(0)))
    });
    let share = {
        let fragment = inner.share_fragment();
        let dispatch = dispatch.clone();
        Callback::from(move |_| {
            let link = crate::url::link(&fragment);
            if let Some(window) = web_sys::window() {
                // The address bar shows the link too, so it can be copied by hand.
                let _ = window.history().and_then(|h| {
                    h.replace_state_with_url(
                        &wasm_bindgen::JsValue::NULL,
                        "",
                        Some(&format!("#{fragment}")),
                    )
                });
                let _ = window.navigator().clipboard().write_text(&link);
            }
            dispatch.emit(Action::Notice(format!("Link copied ({} characters): it opens this scenario, with your actions, at this moment", link.len())));
        })
    };
    let comparing = inner.compare;
    let catching_up = inner
        .target
        .map(|t| format!("replaying to {} … (pause stops)", format_time(t)));
    html! {
        <div class="controls">
            <button class="play" onclick={dispatch.reform(|_| Action::TogglePlay)} title="Play or pause (space)" aria-label={if inner.playing { "Pause" } else { "Play" }}>
                { if inner.playing { "❚❚ Pause" } else { "▶ Play" } }
            </button>
            <button onclick={dispatch.reform(|_| Action::Step)} title="Handle the next event only (→)">{ "Step" }</button>
            <label>{ "speed " }
                <select onchange={on_speed} aria-label="Simulation speed">
                    { for SPEEDS.iter().map(|s| html! { <option value={s.to_string()} selected={*s == inner.speed}>{ format!("{s}×") }</option> }) }
                </select>
            </label>
            <button onclick={dispatch.reform(|_| Action::Skip { ms: 60_000 })} title="Skip ahead one simulated minute">{ "+1 min" }</button>
            <button onclick={dispatch.reform(|_| Action::Skip { ms: 3_600_000 })} title="Skip ahead one simulated hour">{ "+1 h" }</button>
            <input class="timeline" type="range" min="0" max={end_ms.to_string()} step="100" value={now.as_ms().to_string()}
                   onchange={on_seek} aria-label="Timeline: drag to move back and forth in simulated time" />
            <span class="clock" data-now-ms={now.as_ms().to_string()}>{ format!("t = {}", format_time(now)) }</span>
            { match catching_up { Some(text) => html! { <span class="busy">{ text }</span> }, None => html! {} } }
            { if inner.behind && inner.playing && inner.target.is_none() {
                html! { <span class="busy" title="This browser cannot simulate that fast; the page runs as fast as it can">{ "(running slower than asked)" }</span> }
            } else { html! {} } }
            <button onclick={share} title="Copy a link that opens this scenario, with your actions, at this moment">{ "Share" }</button>
            <button class="compare-toggle" onclick={dispatch.reform(move |_| Action::Compare(!comparing))} aria-pressed={comparing.to_string()}
                    title="The same run in ZooKeeper mode and in KRaft mode side by side: one timeline, faults in both">{ "Compare modes" }</button>
            <button onclick={dispatch.reform(|_| Action::ToggleLargeText)} aria-pressed={inner.large_text.to_string()} title="Large text for projectors">{ "A+" }</button>
            <button onclick={dispatch.reform(|_| Action::ToggleHelp)} title="Keyboard shortcuts (?)">{ "?" }</button>
            { match &inner.notice { Some(n) => html! { <span class="notice" role="status">{ n.clone() }</span> }, None => html! {} } }
        </div>
    }
}
