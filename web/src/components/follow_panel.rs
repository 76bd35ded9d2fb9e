//! The followed record's timeline: each step of its way with its simulated time (a click on
//! the time moves the timeline there), the step the run is at marked.

use crate::follow::{StepKind, Target};
use crate::state::{Action, Inner};
use kplay_core::SimTime;
use yew::prelude::*;

pub fn follow_panel(inner: &Inner, dispatch: &Callback<Action>) -> Html {
    let Some(follow) = &inner.follow else {
        return html! {};
    };
    let now = inner.now();
    let current = follow.steps.iter().rposition(|s| s.at <= now);
    let acked = follow.steps.iter().any(|s| s.kind == StepKind::Acked);
    let status = match () {
        _ if follow.lost && acked => ("lost", "acknowledged, then lost"),
        _ if follow.lost => ("lost", "lost"),
        _ if follow.steps.iter().any(|s| s.kind == StepKind::Committed) => ("ok", "committed"),
        _ if follow.steps.is_empty() => ("waiting", "not appended yet"),
        _ => ("waiting", "on its way"),
    };
    let waiting = match &follow.target {
        Target::NextFrom { .. } => "Waiting for the record to reach its partition's leader.",
        Target::At { .. } => "No leader has appended a record at this offset yet in this run.",
    };
    html! {
        <section class="follow" aria-label="Followed record">
            <button class="close" aria-label="Stop following" onclick={dispatch.reform(|_| Action::Follow(None))}>{ "×" }</button>
            <h3>{ "Following " }<span class="record-name">{ follow.name() }</span><span class={classes!("pill", status.0)} data-status={status.0}>{ status.1 }</span></h3>
            { if follow.steps.is_empty() { html! { <p class="muted">{ waiting }</p> } } else { html! {
                <ol class="steps-timeline">
                    { for follow.steps.iter().enumerate().map(|(i, step)| {
                        let at = step.at;
                        // Just after the step, so the moment shows it done.
                        let seek = dispatch.reform(move |_| Action::Seek(at.plus_us(1)));
                        let kind = format!("step-{:?}", step.kind).to_ascii_lowercase();
                        html! {
                            <li class={classes!(kind, (Some(i) == current).then_some("current"))} data-kind={format!("{:?}", step.kind)}>
                                <button class="time" title="Go to this moment" onclick={seek}>{ format_time(at) }</button>
                                { step.text.clone() }
                            </li>
                        }
                    }) }
                </ol>
            } } }
            <p class="muted small">{ "Every step is a trace event of this run; a scrub back replays them from the seed. Share carries the followed record." }</p>
        </section>
    }
}

fn format_time(at: SimTime) -> String {
    format!("{:.3} s", at.as_secs_f64())
}
