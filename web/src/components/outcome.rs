//! The outcome so far: what producers sent and Kafka acknowledged, which acknowledged records
//! are gone and why, and what consumers processed twice or never — the lesson's bottom line.

use crate::follow::Target;
use crate::state::Action;
use kplay_core::{Report, SimTime};
use yew::prelude::*;

pub fn outcome(report: Option<&Report>, now: SimTime, dispatch: &Callback<Action>) -> Html {
    let Some(r) = report else {
        return html! {};
    };
    let figure = |label: &str, value: u64, bad: bool, title: &str| {
        html! {
            <div class={classes!("figure", (bad && value > 0).then_some("bad"))} title={title.to_string()}>
                <b>{ value }</b><span>{ label.to_string() }</span>
            </div>
        }
    };
    html! {
        <div class="outcome">
            <div class="figures">
                { figure("produced", r.produced, false, "records the producer applications sent") }
                { figure("acknowledged", r.acked, false, "records Kafka confirmed to the producer") }
                { figure("acknowledged, then lost", r.acked_lost, true, "acknowledged records missing from the partition's log now") }
                { figure("failed", r.failed, true, "records the producer gave up on (it knows: it got an error)") }
                { figure("consumed", r.consumed, false, "records consumer applications finished processing") }
                { figure("processed twice", r.duplicates_consumed, true, "records a group processed more than once") }
                { figure("skipped by consumers", r.lost_by_consumers, true, "records a group committed past without processing") }
                { figure("unclean elections", r.unclean_elections, true, "leaders elected from outside the ISR") }
                { figure("invariant violations", r.violations.len() as u64, true, "Kafka promises broken (a kplay bug)") }
            </div>
            { if r.acked_lost_by_acks.is_empty() { html! {} } else { html! {
                <p class="by-acks">{ "Acknowledged, then lost, by the producer's acks: " }
                    { for r.acked_lost_by_acks.iter().map(|(acks, lost)| html! {
                        <span class={classes!("acks", (*lost > 0).then_some("bad"))} data-acks={*acks}>{ format!("acks={acks}: {lost}") }</span>
                    }) }
                </p>
            } } }
            { if r.acked_lost_examples.is_empty() { html! {} } else { html! {
                <ul class="lost">
                    { for lost_examples(r).into_iter().map(|l| {
                        let follow = l.offset.map(|offset| Target::At {
                            topic: l.topic.to_string(),
                            partition: l.partition,
                            offset,
                            appended_at: None,
                            producer: Some(l.producer),
                            picked_at: now,
                        });
                        html! {
                            <li data-acks={l.acks}>{ format!("{}-{} offset {} (producer {}, acks={}): {} ", l.topic, l.partition,
                                l.offset.map_or("?".to_string(), |o| o.to_string()), l.producer, l.acks, l.why) }
                                { match follow { Some(target) => html! {
                                    <button class="follow-lost" onclick={dispatch.reform(move |_| Action::Follow(Some(target.clone())))}>{ "follow it" }</button>
                                }, None => html! {} } }
                            </li>
                        }
                    }) }
                </ul>
            } } }
        </div>
    }
}

/// Up to three lost records to show, one of each acks setting first.
fn lost_examples(r: &Report) -> Vec<&kplay_core::report::LostRecord> {
    let mut shown: Vec<&kplay_core::report::LostRecord> = Vec::new();
    for l in &r.acked_lost_examples {
        if !shown.iter().any(|s| s.acks == l.acks) {
            shown.push(l);
        }
    }
    for l in &r.acked_lost_examples {
        if shown.len() >= 3 {
            break;
        }
        if !shown.iter().any(|s| std::ptr::eq(*s, l)) {
            shown.push(l);
        }
    }
    shown.truncate(3);
    shown
}
