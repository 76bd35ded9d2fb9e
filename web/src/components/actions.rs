//! The actions panel: what a person can do to the running cluster besides the inspector's faults —
//! cut and heal the network, pause or crash a consumer, produce a record by hand, add or stop
//! producers and consumers, add partitions. Every action is recorded into the share link.

use super::PanelProps;
use crate::state::Action;
use kplay_core::scenario::{ConsumerSpec, CrashPoint, ProducerSpec};
use kplay_core::view::View;
use kplay_core::{Command, NodeId};
use yew::prelude::*;

fn value_of(e: &Event) -> String {
    if let Some(select) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
        return select.value();
    }
    e.target_unchecked_into::<web_sys::HtmlInputElement>()
        .value()
}

#[component]
pub fn ActionsPanel(props: &PanelProps) -> Html {
    let inner = props.state.get();
    let view: View = inner.sim.view();
    let topics: Vec<String> = view
        .topics
        .iter()
        .filter(|t| !t.name.starts_with("__"))
        .map(|t| t.name.to_string())
        .collect();
    let topic = use_state(|| topics.first().cloned().unwrap_or_default());
    let key = use_state(|| "alice".to_string());
    let value = use_state(|| "hello".to_string());
    let broker = use_state(|| 1u32);
    let consumer = use_state(|| 0u32);
    let act = |command: Command| {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::Act(command.clone())))
    };
    let set_text = |h: &UseStateHandle<String>| {
        let h = h.clone();
        Callback::from(move |e: Event| h.set(value_of(&e)))
    };
    let set_number = |h: &UseStateHandle<u32>| {
        let h = h.clone();
        Callback::from(move |e: Event| {
            if let Ok(n) = value_of(&e).parse() {
                h.set(n)
            }
        })
    };
    let topic_name = if topics.contains(&topic) {
        (*topic).clone()
    } else {
        topics.first().cloned().unwrap_or_default()
    };
    let produce = Command::Produce {
        topic: topic_name.clone(),
        key: Some((*key).clone()).filter(|k| !k.is_empty()),
        value: (*value).clone(),
        producer: None,
    };
    let partitions = view
        .topics
        .iter()
        .find(|t| *t.name == *topic_name)
        .map_or(1, |t| t.partitions.len() as u32);
    // A new producer is like the scenario's first one, or a plain 10 records/s one.
    let first_producer: Option<ProducerSpec> =
        inner.loaded.producers.first().cloned().or_else(|| {
            Some(ProducerSpec {
                topic: topic_name.clone(),
                rate_per_sec: 10.0,
                ..ProducerSpec::default()
            })
        });
    let first_consumer: Option<ConsumerSpec> = inner.sim.consumer_specs().first().cloned();
    let producers: Vec<u32> = view
        .producers
        .iter()
        .filter(|p| p.index as usize != inner.loaded.producers.len())
        .map(|p| p.index)
        .collect();
    let brokers = view.brokers.len() as u32;
    let b = (*broker).clamp(1, brokers.max(1));
    let c = *consumer;
    let has_consumer = (c as usize) < view.consumers.len();
    html! {
        <div class="actions">
            <fieldset>
                <legend>{ "Produce a record by hand" }</legend>
                <label>{ "topic " }<select onchange={set_text(&topic)}>{ for topics.iter().map(|t| html! { <option selected={*t == topic_name}>{ t.clone() }</option> }) }</select></label>
                <label>{ "key " }<input type="text" value={(*key).clone()} onchange={set_text(&key)} placeholder="(null key)" maxlength="256" /></label>
                <label>{ "value " }<input type="text" value={(*value).clone()} onchange={set_text(&value)} maxlength="1000" /></label>
                <button onclick={act(produce)} disabled={topic_name.is_empty()}>{ "Send" }</button>
                <small>{ "Watch its partition: a key always maps to the same one (murmur2 hash mod partitions)." }</small>
            </fieldset>
            <fieldset>
                <legend>{ "Brokers and network" }</legend>
                <label>{ "broker " }<select onchange={set_number(&broker)}>{ for (1..=brokers).map(|i| html! { <option value={i.to_string()} selected={i == b}>{ i }</option> }) }</select></label>
                <button onclick={act(Command::StopBroker { broker: b })} title="kafka-server-stop.sh: a controlled shutdown moves its leaderships first">{ "Stop it cleanly" }</button>
                <button onclick={act(Command::KillBroker { broker: b })} title="kill -9: its partitions wait for its ZooKeeper session to expire">{ "Crash it" }</button>
                <button onclick={act(Command::IsolateBroker { broker: b })}>{ "Isolate it" }</button>
                <button onclick={act(Command::CutLinks { between: vec![NodeId::broker(b)], and: (1..=view.zookeepers.len() as u32).map(NodeId::ZooKeeper).collect(), one_way: false })}>{ "Cut it from ZooKeeper" }</button>
                <button onclick={act(Command::HealAllLinks)}>{ "Heal every link" }</button>
                <button onclick={act(Command::RestartBroker { broker: b, disk_lost: true })} title="Only a dead broker restarts">{ "Restart it with an empty disk" }</button>
            </fieldset>
            <fieldset>
                <legend>{ "Consumers" }</legend>
                { if view.consumers.is_empty() { html! { <small>{ "No consumers yet." }</small> } } else { html! {
                    <>
                    <label>{ "consumer " }<select onchange={set_number(&consumer)}>{ for view.consumers.iter().map(|x| html! { <option value={x.index.to_string()} selected={x.index == c}>{ x.index }</option> }) }</select></label>
                    <button disabled={!has_consumer} onclick={act(Command::PauseConsumer { consumer: c, ms: 15_000, at: CrashPoint::Now })}>{ "Pause 15 s" }</button>
                    <button disabled={!has_consumer} onclick={act(Command::CrashConsumer { consumer: c, at: CrashPoint::Now })}>{ "Crash" }</button>
                    <button disabled={!has_consumer} onclick={act(Command::CloseConsumer { consumer: c })}>{ "Close" }</button>
                    <button disabled={!has_consumer} onclick={act(Command::RestartConsumer { consumer: c })}>{ "Restart" }</button>
                    </>
                } } }
                { match first_consumer { Some(spec) => html! {
                    <button onclick={act(Command::AddConsumer { consumer: spec })}>{ "Add a consumer like consumer 0" }</button>
                }, None => html! {} } }
            </fieldset>
            <fieldset>
                <legend>{ "Producers and partitions" }</legend>
                { match first_producer { Some(spec) if !topic_name.is_empty() => html! {
                    <button onclick={act(Command::AddProducer { producer: spec })}>{ "Add a producer" }</button>
                }, _ => html! {} } }
                { for producers.iter().map(|p| html! { <button onclick={act(Command::StopProducer { producer: *p })}>{ format!("Stop producer {p}") }</button> }) }
                <button disabled={topic_name.is_empty()} onclick={act(Command::AddPartitions { topic: topic_name.clone(), partitions: partitions + 1 })}>{ format!("Add a partition to {topic_name} ({partitions} → {})", partitions + 1) }</button>
            </fieldset>
        </div>
    }
}
