//! The kplay playground in the browser: the same `kplay-core` simulation, advanced by a timer
//! at the chosen speed, drawn from its `View`, with kill/restart buttons on every node.
//!
//! Thin by design: the app state is one reducer over the `Sim`; components only draw `View`;
//! the `use_interval` hook owns the timer.

mod state;

use kplay_core::view::{BrokerView, View, ZooKeeperView};
use kplay_core::{Command, NodeId};
use state::{Action, AppState};
use yew::prelude::*;

/// How often the page advances the simulation (wall time).
const FRAME_MS: u32 = 100;

#[hook]
fn use_interval(ms: u32, on_tick: Callback<()>) {
    use_effect_with(ms, move |ms| {
        let interval = gloo_timers::callback::Interval::new(*ms, move || on_tick.emit(()));
        move || drop(interval)
    });
}

#[component]
fn App() -> Html {
    let state = use_reducer(AppState::default_lesson);
    {
        let state = state.clone();
        use_interval(
            FRAME_MS,
            Callback::from(move |_| {
                state.dispatch(Action::Tick {
                    wall_ms: FRAME_MS as u64,
                })
            }),
        );
    }
    let view = state.view();
    let dispatch = |action: Action| {
        let state = state.clone();
        Callback::from(move |_| state.dispatch(action.clone()))
    };
    let on_speed = {
        let state = state.clone();
        Callback::from(move |e: Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            if let Ok(speed) = select.value().parse() {
                state.dispatch(Action::SetSpeed(speed));
            }
        })
    };
    html! {
        <>
        <header>
            <h1>{ "kplay" }</h1>
            <button onclick={dispatch(Action::TogglePlay)}>{ if state.playing { "Pause" } else { "Play" } }</button>
            <label>{ "speed " }
                <select onchange={on_speed}>
                    { for [0.1, 0.5, 1.0, 5.0, 20.0].iter().map(|s| html! { <option value={s.to_string()} selected={*s == state.speed}>{ format!("{s}×") }</option> }) }
                </select>
            </label>
            <span class="stat">{ format!("t = {:.1} s", view.now.as_secs_f64()) }</span>
            <span>{ state.scenario_name() }</span>
        </header>
        <main>
            <div>
                <section>
                    <h2>{ "ZooKeeper ensemble" }</h2>
                    <div class="row">{ for view.zookeepers.iter().map(|z| zookeeper_card(z, &dispatch)) }</div>
                </section>
                <section>
                    <h2>{ "Brokers" }</h2>
                    <div class="row">{ for view.brokers.iter().map(|b| broker_card(b, &dispatch)) }</div>
                </section>
                <section>
                    <h2>{ "Partitions" }</h2>
                    { partitions_table(&view) }
                </section>
                <section>
                    <h2>{ "Clients" }</h2>
                    { clients_table(&view) }
                </section>
            </div>
            <section>
                <h2>{ "Event log" }</h2>
                <ul class="log">
                    { for state.recent_events(40).into_iter().map(|(at, line)| html! { <li><span class="time">{ format!("{:.3}s", at.as_secs_f64()) }</span>{ line }</li> }) }
                </ul>
            </section>
        </main>
        </>
    }
}

fn zookeeper_card(z: &ZooKeeperView, dispatch: &impl Fn(Action) -> Callback<MouseEvent>) -> Html {
    let leads = z.serving
        && matches!(
            z.state,
            Some(kplay_core::zookeeper::messages::PeerState::Leading)
        );
    let role = match (z.alive, z.state, z.serving) {
        (false, _, _) => "down".to_string(),
        (true, Some(s), serving) => {
            format!("{s:?}{}", if serving { "" } else { " (not serving)" }).to_lowercase()
        }
        (true, None, _) => "starting".to_string(),
    };
    let (label, command) = if z.alive {
        ("kill", Command::KillZookeeper { server: z.id })
    } else {
        ("restart", Command::RestartZookeeper { server: z.id })
    };
    html! {
        <div class={classes!("node", (!z.alive).then_some("dead"), leads.then_some("lead"))} data-node={NodeId::ZooKeeper(z.id).to_string()}>
            <strong>{ format!("zk {}", z.id) }</strong>{ if leads { html! { <span class="badge">{ "leader" }</span> } } else { html! {} } }
            <div>{ role }</div>
            <div class="stat">{ format!("epoch {} · {} sessions", z.epoch, z.sessions) }</div>
            <button onclick={dispatch(Action::Apply(command))}>{ label }</button>
        </div>
    }
}

fn broker_card(b: &BrokerView, dispatch: &impl Fn(Action) -> Callback<MouseEvent>) -> Html {
    let (label, command) = if b.alive {
        ("kill", Command::KillBroker { broker: b.id.0 })
    } else {
        (
            "restart",
            Command::RestartBroker {
                broker: b.id.0,
                disk_lost: false,
            },
        )
    };
    html! {
        <div class={classes!("node", (!b.alive).then_some("dead"), b.is_controller.then_some("lead"))} data-node={NodeId::Broker(b.id).to_string()}>
            <strong>{ format!("broker {}", b.id) }</strong>{ if b.is_controller { html! { <span class="badge">{ "controller" }</span> } } else { html! {} } }
            { for b.replicas.iter().map(|r| html! {
                <div class={classes!("replica", (r.role == "leader").then_some("leader"), (!r.in_isr).then_some("out"))}
                     title={format!("{} replica, leader epoch {}", r.role, r.leader_epoch)}>
                    { format!("{}-{} {} LEO {} HW {}", r.topic, r.partition, if r.role == "leader" { "L" } else { "F" }, r.log_end_offset, r.high_watermark) }
                </div>
            }) }
            <button onclick={dispatch(Action::Apply(command))}>{ label }</button>
        </div>
    }
}

fn partitions_table(view: &View) -> Html {
    let ids = |v: &[kplay_core::BrokerId]| {
        v.iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    html! {
        <table>
            <tr><th>{ "partition" }</th><th>{ "leader" }</th><th>{ "epoch" }</th><th>{ "replicas" }</th><th>{ "ISR" }</th></tr>
            { for view.topics.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.name.clone(), p))).map(|(topic, p)| html! {
                <tr>
                    <td>{ format!("{topic}-{}", p.partition) }</td>
                    <td class={classes!(p.offline.then_some("offline"))}>{ if p.offline { "offline".to_string() } else { p.leader.map(|l| l.to_string()).unwrap_or_default() } }</td>
                    <td>{ p.leader_epoch }</td>
                    <td>{ ids(&p.replicas) }</td>
                    <td>{ ids(&p.isr) }{ if p.under_replicated { " (under-replicated)" } else { "" } }</td>
                </tr>
            }) }
        </table>
    }
}

fn clients_table(view: &View) -> Html {
    html! {
        <table>
            <tr><th>{ "client" }</th><th>{ "produced / consumed" }</th><th>{ "acked" }</th><th>{ "failed" }</th><th>{ "retries" }</th></tr>
            { for view.producers.iter().map(|p| html! {
                <tr><td>{ format!("producer {}", p.index) }</td><td class="stat">{ p.produced }</td><td class="stat">{ p.acked }</td><td class="stat">{ p.failed }</td><td class="stat">{ p.retries }</td></tr>
            }) }
            { for view.consumers.iter().map(|c| html! {
                <tr><td>{ format!("consumer {} ({})", c.index, c.topic) }</td><td class="stat">{ c.consumed }</td><td></td><td></td><td></td></tr>
            }) }
        </table>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}
