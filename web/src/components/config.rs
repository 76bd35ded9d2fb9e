//! The config panel: the scenario's main settings under their Kafka property names, with the
//! defaults and where they changed across Kafka versions, plus the whole scenario as JSON.
//! Every edit is validated by `kplay-core` at once; an invalid value shows its error inline and
//! nothing restarts until the scenario is valid and "Apply" is pressed.
//!
//! On top, the mode switch: ZooKeeper or KRaft. It replays the run to its moment in the other
//! mode (`Scenario::with_mode`, what was done carried over: `Action::SetMode`), or shows why
//! the scenario cannot run there.

use super::PanelProps;
use crate::state::Action;
use kplay_core::scenario::ClusterMode;
use kplay_core::Scenario;
use serde_json::Value;
use yew::prelude::*;

enum Input {
    Number,
    Text,
    Bool,
    Choice(&'static [&'static str]),
}

/// One setting: where it lives in the scenario JSON, how it is edited, and what to know.
struct Knob {
    label: &'static str,
    path: &'static [&'static str],
    input: Input,
    default: &'static str,
    note: &'static str,
}

const CLUSTER: &[Knob] = &[
    Knob {
        label: "brokers",
        path: &["cluster", "brokers"],
        input: Input::Number,
        default: "3",
        note: "broker ids 1…N",
    },
    Knob {
        label: "ZooKeeper servers",
        path: &["cluster", "zookeepers"],
        input: Input::Number,
        default: "3",
        note: "a majority must be up for metadata to change",
    },
    Knob {
        label: "controllers",
        path: &["cluster", "controllers"],
        input: Input::Number,
        default: "3",
        note: "KRaft's quorum voters, node.id 3000…; 1 to 7",
    },
    Knob {
        label: "network latency per hop (µs)",
        path: &["cluster", "latency_us"],
        input: Input::Number,
        default: "1000",
        note: "",
    },
    Knob {
        label: "min.insync.replicas",
        path: &["cluster", "broker_config", "min.insync.replicas"],
        input: Input::Number,
        default: "1",
        note: "only matters for acks=all",
    },
    Knob {
        label: "unclean.leader.election.enable",
        path: &["cluster", "broker_config", "unclean.leader.election.enable"],
        input: Input::Bool,
        default: "false",
        note: "true before Kafka 0.11",
    },
    Knob {
        label: "zookeeper.session.timeout.ms",
        path: &["cluster", "broker_config", "zookeeper.session.timeout.ms"],
        input: Input::Number,
        default: "18000",
        note: "6000 before Kafka 2.5",
    },
    Knob {
        label: "replica.lag.time.max.ms",
        path: &["cluster", "broker_config", "replica.lag.time.max.ms"],
        input: Input::Number,
        default: "30000",
        note: "10000 before Kafka 2.5",
    },
    Knob {
        label: "group.initial.rebalance.delay.ms",
        path: &[
            "cluster",
            "broker_config",
            "group.initial.rebalance.delay.ms",
        ],
        input: Input::Number,
        default: "3000",
        note: "added in Kafka 0.11 (0 before)",
    },
];

const TOPIC: &[Knob] = &[
    Knob {
        label: "partitions",
        path: &["topics", "0", "partitions"],
        input: Input::Number,
        default: "1",
        note: "can grow later, never shrink",
    },
    Knob {
        label: "replication factor",
        path: &["topics", "0", "replication_factor"],
        input: Input::Number,
        default: "1",
        note: "at most the number of brokers",
    },
    Knob {
        label: "min.insync.replicas (topic)",
        path: &["topics", "0", "config", "min.insync.replicas"],
        input: Input::Number,
        default: "broker's",
        note: "overrides the broker setting",
    },
    Knob {
        label: "unclean.leader.election.enable (topic)",
        path: &["topics", "0", "config", "unclean.leader.election.enable"],
        input: Input::Bool,
        default: "broker's",
        note: "",
    },
    Knob {
        label: "retention.ms",
        path: &["topics", "0", "config", "retention.ms"],
        input: Input::Number,
        default: "604800000 (7 days)",
        note: "-1 keeps records forever",
    },
];

const PRODUCER: &[Knob] = &[
    Knob {
        label: "records per second",
        path: &["producers", "0", "rate_per_sec"],
        input: Input::Number,
        default: "",
        note: "",
    },
    Knob {
        label: "distinct keys",
        path: &["producers", "0", "keys", "count"],
        input: Input::Number,
        default: "",
        note: "records with the same key go to the same partition",
    },
    Knob {
        label: "acks",
        path: &["producers", "0", "config", "acks"],
        input: Input::Choice(&["0", "1", "all"]),
        default: "all",
        note: "all since Kafka 3.0; 1 before. 0 and 1 turn idempotence off",
    },
    Knob {
        label: "enable.idempotence",
        path: &["producers", "0", "config", "enable.idempotence"],
        input: Input::Bool,
        default: "on unless acks is 0 or 1",
        note: "on since Kafka 3.0, off before; true with acks 0 or 1 is refused",
    },
    Knob {
        label: "linger.ms",
        path: &["producers", "0", "config", "linger.ms"],
        input: Input::Number,
        default: "0; 5 in KRaft mode",
        note: "5 since Kafka 4.0, so in KRaft mode",
    },
];

const CONSUMER: &[Knob] = &[
    Knob {
        label: "consumers",
        path: &["consumers"],
        input: Input::Number,
        default: "",
        note: "copies of the first consumer (same group)",
    },
    Knob {
        label: "group.id",
        path: &["consumers", "*", "config", "group.id"],
        input: Input::Text,
        default: "none",
        note: "",
    },
    Knob {
        label: "partition.assignment.strategy",
        path: &["consumers", "*", "config", "partition.assignment.strategy"],
        input: Input::Choice(&["range", "roundrobin", "sticky", "cooperative-sticky"]),
        default: "range",
        note: "Kafka 3.0+ lists [range, cooperative-sticky]",
    },
    Knob {
        label: "commit mode",
        path: &["consumers", "*", "commit"],
        input: Input::Choice(&[
            "auto",
            "before_processing",
            "after_processing",
            "after_processing_async",
        ]),
        default: "auto",
        note: "enable.auto.commit=true is auto",
    },
    Knob {
        label: "session.timeout.ms",
        path: &["consumers", "*", "config", "session.timeout.ms"],
        input: Input::Number,
        default: "45000",
        note: "10000 before Kafka 3.0",
    },
    Knob {
        label: "auto.offset.reset",
        path: &["consumers", "*", "config", "auto.offset.reset"],
        input: Input::Choice(&["earliest", "latest", "none"]),
        default: "latest",
        note: "",
    },
];

/// The value at `path` ("*" means the first element when reading).
fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| match v {
        Value::Array(items) => items.get(if *key == "*" { 0 } else { key.parse().ok()? }),
        Value::Object(map) => map.get(*key),
        _ => None,
    })
}

/// Sets the value at `path`, creating objects on the way; "*" sets it in every element.
fn set(value: &mut Value, path: &[&str], new: Value) {
    let Some((key, rest)) = path.split_first() else {
        *value = new;
        return;
    };
    match value {
        Value::Array(items) if *key == "*" => {
            items.iter_mut().for_each(|v| set(v, rest, new.clone()))
        }
        Value::Array(items) => {
            if let Some(v) = key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                set(v, rest, new);
            }
        }
        Value::Object(map) => set(
            map.entry(key.to_string())
                .or_insert(Value::Object(Default::default())),
            rest,
            new,
        ),
        other => {
            *other = Value::Object(Default::default());
            set(other, path, new);
        }
    }
}

/// Applies one field's text to the scenario JSON; Err names what is wrong with the text.
fn edit(scenario: &mut Value, knob: &Knob, text: &str) -> Result<(), String> {
    let text = text.trim();
    if knob.path == ["consumers"] {
        let n: usize = text
            .parse()
            .map_err(|_| format!("consumers: '{text}' is not a whole number"))?;
        let Some(Value::Array(list)) = scenario.get_mut("consumers") else {
            return Err("this scenario has no consumers to copy".into());
        };
        let first = list
            .first()
            .cloned()
            .ok_or("this scenario has no consumers to copy")?;
        list.resize(n.min(64), first);
        return Ok(());
    }
    let value = match knob.input {
        Input::Number => {
            if text.is_empty() {
                Value::Null
            } else {
                let n: f64 = text
                    .parse()
                    .map_err(|_| format!("{}: '{text}' is not a number", knob.label))?;
                serde_json::Number::from_f64(n)
                    .map(|num| {
                        if n.fract() == 0.0 && n.abs() < 9e15 {
                            Value::from(n as i64)
                        } else {
                            Value::Number(num)
                        }
                    })
                    .ok_or(format!("{}: '{text}' is not a number", knob.label))?
            }
        }
        Input::Bool if text.is_empty() => Value::Null,
        Input::Bool => Value::Bool(text == "true"),
        Input::Text | Input::Choice(_) if text.is_empty() => Value::Null,
        Input::Text | Input::Choice(_) => Value::String(text.to_string()),
    };
    set(scenario, knob.path, value);
    Ok(())
}

fn shown(scenario: &Value, knob: &Knob) -> String {
    if knob.path == ["consumers"] {
        return scenario
            .get("consumers")
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
            .to_string();
    }
    match get(scenario, knob.path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

/// Removes nulls a cleared field left, so the core's defaults apply.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// The scenario as the editor shows it: only what differs from the defaults, pretty-printed.
fn editor_text(scenario: &Scenario) -> String {
    let compact = kplay_core::share::compact_json(scenario);
    serde_json::from_str::<Value>(&compact)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or(compact)
}

#[component]
pub fn ConfigPanel(props: &PanelProps) -> Html {
    let loaded = props.state.get().loaded.clone();
    // The working copy: JSON text being edited, and the error it has (if any).
    let text = use_state(|| editor_text(&loaded));
    let error = use_state(|| None::<String>);
    {
        // A new scenario loaded elsewhere (a lesson, a share link) resets the editor.
        let (text, error) = (text.clone(), error.clone());
        use_effect_with(loaded.clone(), move |loaded| {
            text.set(editor_text(loaded));
            error.set(None);
        });
    }
    let parsed: Option<Value> = serde_json::from_str(&text).ok();
    let update = {
        let (text, error) = (text.clone(), error.clone());
        move |next: String| {
            error.set(Scenario::from_json(&next).err().map(|e| e.to_string()));
            text.set(next);
        }
    };
    let field = |knob: &'static Knob| {
        let Some(value) = parsed.clone() else {
            return html! {};
        };
        let current = shown(&value, knob);
        let update = update.clone();
        let error = error.clone();
        let on_change = Callback::from(move |new_text: String| {
            let mut next = value.clone();
            match edit(&mut next, knob, &new_text) {
                Ok(()) => {
                    drop_nulls(&mut next);
                    update(serde_json::to_string_pretty(&next).unwrap_or_default());
                }
                Err(e) => error.set(Some(e)),
            }
        });
        let id = format!("knob-{}", knob.path.join("-").replace(['.', '*'], "_"));
        let input = match knob.input {
            Input::Number => html! {
                <input id={id.clone()} type="text" inputmode="decimal" value={current.clone()} placeholder={knob.default}
                       onchange={on_change.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlInputElement>().value())} />
            },
            Input::Bool => html! {
                <select id={id.clone()} onchange={on_change.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value())}>
                    <option value="" selected={current.is_empty()}>{ format!("default ({})", knob.default) }</option>
                    <option value="true" selected={current == "true"}>{ "true" }</option>
                    <option value="false" selected={current == "false"}>{ "false" }</option>
                </select>
            },
            Input::Text => html! {
                <input id={id.clone()} type="text" value={current.clone()} placeholder={knob.default}
                       onchange={on_change.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlInputElement>().value())} />
            },
            Input::Choice(options) => html! {
                <select id={id.clone()} onchange={on_change.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value())}>
                    <option value="" selected={current.is_empty()}>{ format!("default ({})", knob.default) }</option>
                    { for options.iter().map(|o| html! { <option value={*o} selected={current == *o}>{ *o }</option> }) }
                </select>
            },
        };
        html! {
            <div class="knob">
                <label for={id}><code>{ knob.label }</code></label>
                { input }
                { if knob.note.is_empty() && knob.default.is_empty() { html! {} } else {
                    html! { <small>{ if knob.default.is_empty() { String::new() } else { format!("default {} ", knob.default) } }{ if knob.note.is_empty() { String::new() } else { format!("· {}", knob.note) } }</small> }
                } }
            </div>
        }
    };
    let has = |key: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    // Each mode refuses the other's settings: show only this mode's.
    let kraft = parsed
        .as_ref()
        .and_then(|v| get(v, &["cluster", "mode"]))
        .and_then(Value::as_str)
        == Some("kraft");
    let applies = |knob: &&'static Knob| {
        let zookeeper = knob.path.iter().any(|k| k.starts_with("zookeeper"));
        let controllers = knob.path == ["cluster", "controllers"];
        if kraft {
            !zookeeper
        } else {
            !controllers
        }
    };
    let section = |title: &str, knobs: &'static [Knob], shown: bool| {
        if !shown {
            return html! {};
        }
        html! { <fieldset><legend>{ title.to_string() }</legend>{ for knobs.iter().filter(applies).map(field) }</fieldset> }
    };
    let mode_error = use_state(|| None::<String>);
    {
        let mode_error = mode_error.clone();
        use_effect_with(loaded.clone(), move |_| mode_error.set(None));
    }
    let mode = loaded.cluster.mode;
    let switch = |to: ClusterMode, label: &'static str, title: &'static str| {
        let loaded = loaded.clone();
        let dispatch = props.dispatch.clone();
        let mode_error = mode_error.clone();
        let onclick = Callback::from(move |_: MouseEvent| {
            if loaded.cluster.mode == to {
                return;
            }
            match loaded.clone().with_mode(to) {
                Ok(_) => dispatch.emit(Action::SetMode(to)),
                Err(e) => mode_error.set(Some(format!("Not switched: {e}"))),
            }
        });
        html! {
            <button class={classes!("mode", (mode == to).then_some("on"))} data-mode={to.name()} aria-pressed={(mode == to).to_string()} {title} {onclick}>{ label }</button>
        }
    };
    let apply = {
        let text = text.clone();
        let error = error.clone();
        let dispatch = props.dispatch.clone();
        Callback::from(move |_| match Scenario::from_json(&text) {
            Ok(scenario) => dispatch.emit(Action::Load {
                scenario: Box::new(scenario),
                at: None,
            }),
            Err(e) => error.set(Some(e.to_string())),
        })
    };
    let on_json = {
        let update = update.clone();
        Callback::from(move |e: InputEvent| {
            update(
                e.target_unchecked_into::<web_sys::HtmlTextAreaElement>()
                    .value(),
            )
        })
    };
    let topic_title = parsed
        .as_ref()
        .and_then(|v| get(v, &["topics", "0", "name"]))
        .and_then(Value::as_str)
        .map_or("Topic".to_string(), |t| format!("Topic {t}"));
    html! {
        <div class="config">
            <fieldset class="modes">
                <legend>{ "Metadata mode" }</legend>
                <div class="mode-switch" role="group" aria-label="Metadata mode">
                    { switch(ClusterMode::ZooKeeper, "ZooKeeper", "Kafka 3.9 and before: a ZooKeeper ensemble, one broker as controller") }
                    { switch(ClusterMode::KRaft, "KRaft", "Kafka 4.0 on: a quorum of controllers keeps __cluster_metadata (KIP-500)") }
                </div>
                <small>{ "Replays this run to this moment in the other mode: same seed, same faults, and what you did (what has no meaning there is dropped, and named)." }</small>
                { match &*mode_error {
                    Some(e) => html! { <p class="error inline mode-error" role="alert">{ e.clone() }</p> },
                    None => html! {},
                } }
            </fieldset>
            { section("Cluster (server.properties)", CLUSTER, true) }
            { section(&topic_title, TOPIC, has("topics")) }
            { section("First producer (producer.properties)", PRODUCER, has("producers")) }
            { section("Consumers (consumer.properties)", CONSUMER, has("consumers")) }
            <details>
                <summary>{ "The whole scenario as JSON" }</summary>
                <textarea class="json" spellcheck="false" aria-label="Scenario JSON" value={(*text).clone()} oninput={on_json} />
            </details>
            { match &*error {
                Some(e) => html! { <p class="error inline" role="alert">{ e.clone() }</p> },
                None => html! { <p class="ok">{ "Valid scenario." }</p> },
            } }
            <button class="primary" onclick={apply} disabled={error.is_some()}>{ "Apply and restart" }</button>
        </div>
    }
}
