//! The inspector beside the diagram: what the selected broker, replica, ZooKeeper server,
//! client or message holds, read from the running simulation, and the faults one can inject
//! into it (buttons, and the keys k, r and i).

use crate::components::diagram::{colour, is_internal, is_isolated};
use crate::state::{Action, Inner, Selection};
use kplay_core::ids::TopicPartition;
use kplay_core::scenario::CrashPoint;
use kplay_core::view::View;
use kplay_core::zookeeper::messages::PeerState;
use kplay_core::{BrokerId, Command, NodeId};
use yew::prelude::*;

/// How many batches of a replica's log the inspector lists at its head and at its tail.
const LOG_BATCHES: usize = 3;

fn row(label: &str, value: impl Into<Html>) -> Html {
    html! { <tr><th>{ label.to_string() }</th><td>{ value.into() }</td></tr> }
}

fn ms(t: kplay_core::SimTime) -> String {
    format!("{:.3} s", t.as_secs_f64())
}

/// A fault button: its label, the key that does the same, and the command.
fn fault(
    label: &str,
    key: Option<char>,
    command: Command,
    dispatch: &Callback<Action>,
    enabled: bool,
) -> Html {
    let onclick = dispatch.reform(move |_: MouseEvent| Action::Act(command.clone()));
    html! {
        <button class="fault" disabled={!enabled} {onclick}>
            { label.to_string() }
            { match key { Some(k) => html! { <kbd>{ k }</kbd> }, None => html! {} } }
        </button>
    }
}

pub fn inspector(inner: &Inner, view: &View, dispatch: &Callback<Action>) -> Html {
    let Some(selected) = &inner.selected else {
        return html! {};
    };
    let body = match selected {
        Selection::Node(NodeId::Broker(b)) => broker(inner, view, b.0, dispatch),
        Selection::Node(NodeId::ZooKeeper(z)) => zookeeper(view, *z, dispatch),
        Selection::Node(NodeId::Controller(c)) => controller(view, *c, dispatch),
        Selection::Node(NodeId::Producer(p)) => producer(inner, view, *p, dispatch),
        Selection::Node(NodeId::Consumer(c)) => consumer(inner, view, *c, dispatch),
        Selection::Node(NodeId::Admin) => html! {
            <>
            <h3>{ "Admin client" }</h3>
            <p class="muted">{ "The client Kafka's tools use (kafka-topics.sh, kafka-configs.sh, …): it sends Metadata, CreateTopics and config requests to any broker." }</p>
            </>
        },
        Selection::Node(other) => html! { <h3>{ other.label() }</h3> },
        Selection::Replica {
            broker,
            topic,
            partition,
        } => replica(inner, view, *broker, topic, *partition, dispatch),
        Selection::Message(id) => message(inner, *id),
    };
    html! {
        <section class="inspector" aria-label="Inspector" aria-live="polite">
            <button class="close" aria-label="Close the inspector" onclick={dispatch.reform(|_| Action::Select(None))}>{ "×" }</button>
            { body }
        </section>
    }
}

fn gone(what: String) -> Html {
    html! { <><h3>{ what.clone() }</h3><p class="muted">{ format!("{what} is not in this run.") }</p></> }
}

fn broker(inner: &Inner, view: &View, id: u32, dispatch: &Callback<Action>) -> Html {
    let Some(b) = view.brokers.iter().find(|b| b.id.0 == id) else {
        return gone(format!("Broker {id}"));
    };
    let node = NodeId::Broker(b.id);
    let isolated = b.alive && is_isolated(view, node);
    let cut_any = view.cut_links.iter().any(|(x, y)| *x == node || *y == node);
    let live = inner.sim.broker(id);
    let mut replicas: Vec<_> = b
        .replicas
        .iter()
        .filter(|r| !is_internal(&r.topic))
        .collect();
    kplay_core::sort::sort_by(&mut replicas, |x, y| {
        (&x.topic, x.partition).cmp(&(&y.topic, y.partition))
    });
    let internal: Vec<_> = b
        .replicas
        .iter()
        .filter(|r| is_internal(&r.topic))
        .collect();
    let internal_leads = internal.iter().filter(|r| r.role == "leader").count();
    // Settings that differ from Kafka's defaults: the scenario's and `kafka-configs.sh`'s.
    let overrides: Vec<(String, String)> = {
        let mut out = Vec::new();
        if let (Some(live), Ok(defaults)) = (
            live,
            serde_json::to_value(kplay_core::config::BrokerConfig::default()),
        ) {
            if let Ok(serde_json::Value::Object(now)) = serde_json::to_value(&live.config) {
                for (k, v) in now {
                    if defaults.get(&k) != Some(&v) {
                        out.push((k, v.to_string()));
                    }
                }
            }
        }
        for scope in [Some(id), None] {
            if let Ok(serde_json::Value::Object(dynamic)) =
                serde_json::to_value(inner.sim.dynamic_broker_config(scope))
            {
                for (k, v) in dynamic {
                    let from = if scope.is_some() {
                        "dynamic"
                    } else {
                        "dynamic, cluster-wide"
                    };
                    out.push((k, format!("{v} ({from})")));
                }
            }
        }
        out
    };
    let groups: Vec<String> = view
        .groups
        .iter()
        .filter(|g| g.coordinator == b.id)
        .map(|g| g.id.clone())
        .collect();
    let txns: Vec<String> = view
        .transactions
        .iter()
        .filter(|t| t.coordinator == b.id)
        .map(|t| t.transactional_id.clone())
        .collect();
    let status = match () {
        _ if !b.alive => "down".to_string(),
        _ if isolated => {
            "isolated: every link to the other brokers and ZooKeeper is cut".to_string()
        }
        _ if b.fenced == Some(true) => "alive, fenced by the active controller".to_string(),
        _ if b.fenced == Some(false) => "alive, unfenced".to_string(),
        _ if inner.session_expired(id) => "alive, but its ZooKeeper session expired".to_string(),
        _ if !b.registered => "starting: not registered in ZooKeeper yet".to_string(),
        _ => "alive and registered".to_string(),
    };
    html! {
        <>
        <h3 data-inspects={node.to_string()}>{ format!("Broker {id}") }
            { if b.is_controller { html! { <span class="pill controller">{ format!("controller, epoch {}", view.controller_epoch.unwrap_or(0)) }</span> } } else { html! {} } }
        </h3>
        <div class="faults">
            { fault("Kill", Some('k'), Command::KillBroker { broker: id }, dispatch, b.alive) }
            { fault("Restart", Some('r'), Command::RestartBroker { broker: id, disk_lost: false }, dispatch, !b.alive) }
            { fault("Isolate", Some('i'), Command::IsolateBroker { broker: id }, dispatch, b.alive && !isolated) }
            { fault("Stop cleanly", None, Command::StopBroker { broker: id }, dispatch, b.alive) }
            { fault("Restart with an empty disk", None, Command::RestartBroker { broker: id, disk_lost: true }, dispatch, !b.alive) }
            { fault("Heal its links", None, Command::HealLinks { between: vec![node], and: all_nodes(view, node) }, dispatch, cut_any) }
        </div>
        <table class="facts">
            { row("status", status) }
            { if view.mode.is_kraft() { html! { <>
                { row("fenced", match b.fenced { Some(true) => "yes", Some(false) => "no", None => "-" }) }
                { row("metadata offset applied", b.metadata_offset.map_or("none yet".to_string(), |o| o.to_string())) }
            </> } } else { html! { <>
                { row("controller", if b.is_controller { format!("yes (epoch {})", view.controller_epoch.unwrap_or(0)) } else { view.controller.map_or("none elected".into(), |c| format!("no: broker {c}")) }) }
                { row("ZooKeeper session", match (live.and_then(|l| l.zk_session()), b.zookeeper_server) {
                    (Some(s), Some(z)) => format!("0x{s:x} on zk {z}"),
                    (Some(s), None) => format!("0x{s:x}"),
                    _ => "none".to_string(),
                }) }
            </> } } }
            { row("coordinates groups", if groups.is_empty() { "none".to_string() } else { groups.join(", ") }) }
            { if txns.is_empty() { html! {} } else { row("coordinates transactions", txns.join(", ")) } }
        </table>
        <h4>{ "Replicas" }</h4>
        { if replicas.is_empty() { html! { <p class="muted">{ if b.alive { "none" } else { "none while it is down (its disk keeps the logs)" } }</p> } } else { html! {
            <table class="replicas">
                <thead><tr><th>{ "partition" }</th><th>{ "role" }</th><th title="leader epoch">{ "epoch" }</th><th title="log start offset">{ "start" }</th><th title="log end offset">{ "LEO" }</th><th title="high watermark">{ "HW" }</th><th>{ "ISR" }</th></tr></thead>
                <tbody>{ for replicas.iter().map(|r| {
                    let select = Selection::Replica { broker: id, topic: r.topic.to_string(), partition: r.partition };
                    html! {
                        <tr class="pick" onclick={dispatch.reform(move |_| Action::Select(Some(select.clone())))}>
                            <td>{ format!("{}-{}", r.topic, r.partition) }</td><td>{ r.role }</td><td>{ r.leader_epoch }</td>
                            <td>{ r.log_start_offset }</td><td>{ r.log_end_offset }</td><td>{ r.high_watermark }</td>
                            <td>{ if r.in_isr { "in" } else { "out" } }</td>
                        </tr>
                    }
                }) }</tbody>
            </table>
        } } }
        { if internal.is_empty() { html! {} } else { html! {
            <p class="muted">{ format!("Also {} replicas of internal topics (leads {internal_leads}).", internal.len()) }</p>
        } } }
        <h4>{ "Config overrides" }</h4>
        { if overrides.is_empty() { html! { <p class="muted">{ "none: Kafka's defaults" }</p> } } else { html! {
            <table class="facts">{ for overrides.iter().map(|(k, v)| row(k, html! { <code>{ v.clone() }</code> })) }</table>
        } } }
        </>
    }
}

use crate::components::diagram::cluster_nodes as all_nodes;

fn controller(view: &View, id: u32, dispatch: &Callback<Action>) -> Html {
    let Some(c) = view.controllers.iter().find(|c| c.id == id) else {
        return gone(format!("Controller {id}"));
    };
    let node = NodeId::Controller(id);
    let role = c.role.unwrap_or("down");
    let unfenced: Vec<String> = c.unfenced_brokers.iter().map(|b| b.to_string()).collect();
    html! {
        <>
        <h3 data-inspects={node.to_string()}>{ format!("Controller {id}") }
            { if c.active { html! { <span class="pill controller">{ format!("active, epoch {}", c.epoch) }</span> } } else { html! {} } }
        </h3>
        <div class="faults">
            { fault("Kill", Some('k'), Command::KillController { controller: id }, dispatch, c.alive) }
            { fault("Restart", Some('r'), Command::RestartController { controller: id }, dispatch, !c.alive) }
            { fault("Isolate", Some('i'), Command::CutLinks { between: vec![node], and: all_nodes(view, node), one_way: false }, dispatch, c.alive) }
        </div>
        <table class="facts">
            { row("Raft role", role) }
            { row("epoch", c.epoch.to_string()) }
            { row("leader", c.leader.map_or("none known".to_string(), |l| format!("controller {l}"))) }
            { row("active controller", if !c.alive { "no (down)".to_string() } else if c.active { "yes".to_string() } else { "no: a standby applying the log".to_string() }) }
            { row("metadata log end offset", c.log_end_offset.to_string()) }
            { row("high watermark", c.high_watermark.to_string()) }
            { if c.active { row("unfenced brokers", if unfenced.is_empty() { "none".to_string() } else { unfenced.join(", ") }) } else { html! {} } }
        </table>
        <p class="muted">{ "A KRaft controller: a voter of the __cluster_metadata Raft quorum. The leader becomes the active controller once its LeaderChange record is committed; every controller applies the committed log, so a standby can take over." }</p>
        </>
    }
}

fn zookeeper(view: &View, id: u32, dispatch: &Callback<Action>) -> Html {
    let Some(z) = view.zookeepers.iter().find(|z| z.id == id) else {
        return gone(format!("ZooKeeper {id}"));
    };
    let node = NodeId::ZooKeeper(id);
    let role = match (z.alive, z.state) {
        (false, _) => "down",
        (true, Some(PeerState::Leading)) if z.serving => "leader (serving)",
        (true, Some(PeerState::Leading)) => "leader (waiting for a quorum)",
        (true, Some(PeerState::Following)) => "follower",
        (true, _) => "looking for a leader",
    };
    html! {
        <>
        <h3 data-inspects={node.to_string()}>{ format!("ZooKeeper {id}") }</h3>
        <div class="faults">
            { fault("Kill", Some('k'), Command::KillZookeeper { server: id }, dispatch, z.alive) }
            { fault("Restart", Some('r'), Command::RestartZookeeper { server: id }, dispatch, !z.alive) }
            { fault("Isolate", Some('i'), Command::CutLinks { between: vec![node], and: all_nodes(view, node), one_way: false }, dispatch, z.alive) }
        </div>
        <table class="facts">
            { row("role", role) }
            { row("epoch", z.epoch.to_string()) }
            { row("last zxid", format!("0x{:x}", z.last_zxid)) }
            { row("sessions", z.sessions.to_string()) }
            { row("znodes", z.znodes.to_string()) }
        </table>
        </>
    }
}

fn producer(inner: &Inner, view: &View, index: u32, dispatch: &Callback<Action>) -> Html {
    let Some(p) = view.producers.iter().find(|p| p.index == index) else {
        return gone(format!("Producer {index}"));
    };
    let spec = inner.sim.scenario().producers.get(index as usize);
    let live = inner.sim.producer(index);
    let console = index as usize >= inner.loaded.producers.len();
    html! {
        <>
        <h3 data-inspects={NodeId::Producer(index).to_string()}>{ if console { format!("Console producer {index}") } else { format!("Producer {index}") } }</h3>
        <div class="faults">
            { fault("Stop producing", Some('k'), Command::StopProducer { producer: index }, dispatch, p.alive && !console) }
        </div>
        <table class="facts">
            { match spec { Some(s) => row("sends", format!("{} records/s to {}", s.rate_per_sec, s.topic)), None => row("sends", "records typed by hand") } }
            { match live { Some(l) => html! { <>
                { row("acks", l.config.acks.as_str()) }
                { row("linger.ms · batch.size", format!("{} · {}", l.config.linger_ms(), l.config.batch_size)) }
                { row("idempotent", if l.config.idempotence() { "yes" } else { "no" }) }
                { row("producer id", l.producer_id().map_or("none".into(), |id| id.to_string())) }
            </> }, None => html! {} } }
            { row("produced · acked · failed", format!("{} · {} · {}", p.produced, p.acked, p.failed)) }
            { row("retries", p.retries.to_string()) }
            { row("in-flight requests", p.in_flight_requests.to_string()) }
            { row("batches waiting", p.queued_batches.to_string()) }
        </table>
        </>
    }
}

fn consumer(inner: &Inner, view: &View, index: u32, dispatch: &Callback<Action>) -> Html {
    let Some(c) = view.consumers.iter().find(|c| c.index == index) else {
        return gone(format!("Consumer {index}"));
    };
    let group = c
        .group
        .as_ref()
        .and_then(|g| view.groups.iter().find(|v| v.id == *g));
    let paused = inner.paused_until(index).filter(|u| *u > view.now);
    html! {
        <>
        <h3 data-inspects={NodeId::Consumer(index).to_string()}>{ format!("Consumer {index}") }</h3>
        <div class="faults">
            { fault("Crash", Some('k'), Command::CrashConsumer { consumer: index, at: CrashPoint::Now }, dispatch, c.alive) }
            { fault("Restart", Some('r'), Command::RestartConsumer { consumer: index }, dispatch, !c.alive) }
            { fault("Pause 15 s", None, Command::PauseConsumer { consumer: index, ms: 15_000, at: CrashPoint::Now }, dispatch, c.alive) }
            { fault("Close", None, Command::CloseConsumer { consumer: index }, dispatch, c.alive) }
        </div>
        <table class="facts">
            { row("topic", c.topic.to_string()) }
            { row("status", match () {
                _ if !c.alive => "down".to_string(),
                _ if paused.is_some() => format!("paused until {} (not polling)", ms(paused.unwrap_or_default())),
                _ => c.member_state.clone().unwrap_or_else(|| "no group".into()),
            }) }
            { row("group", c.group.clone().unwrap_or_else(|| "none (assigns itself)".into())) }
            { row("member id", c.member_id.clone().unwrap_or_else(|| "-".into())) }
            { row("generation", c.generation.map_or("-".into(), |g| g.to_string())) }
            { row("consumed · commits", format!("{} · {}", c.consumed, c.commits)) }
            { match &c.transactional_id { Some(t) => row("transactional id", format!("{t} ({} committed, {} aborted)", c.transactions_committed, c.transactions_aborted)), None => html! {} } }
        </table>
        <h4>{ "Assignment" }</h4>
        { if c.positions.is_empty() { html! { <p class="muted">{ "no partitions" }</p> } } else { html! {
            <table class="replicas">
                <thead><tr><th>{ "partition" }</th><th>{ "position" }</th><th>{ "committed" }</th><th>{ "lag" }</th></tr></thead>
                <tbody>{ for c.positions.iter().map(|(p, pos)| {
                    let committed = group.and_then(|g| g.offsets.iter().find(|o| o.topic == c.topic && o.partition == *p));
                    html! { <tr>
                        <td>{ format!("{}-{p}", c.topic) }</td>
                        <td>{ pos.map_or("-".into(), |o| o.to_string()) }</td>
                        <td>{ committed.map_or("-".into(), |o| o.committed.to_string()) }</td>
                        <td>{ committed.map_or("-".into(), |o| o.lag.to_string()) }</td>
                    </tr> }
                }) }</tbody>
            </table>
        } } }
        </>
    }
}

fn replica(
    inner: &Inner,
    view: &View,
    broker: u32,
    topic: &str,
    partition: u32,
    dispatch: &Callback<Action>,
) -> Html {
    let name = format!("{topic}-{partition} on broker {broker}");
    let Some(b) = view.brokers.iter().find(|b| b.id.0 == broker) else {
        return gone(name);
    };
    let Some(p) = view
        .topics
        .iter()
        .find(|t| *t.name == *topic)
        .and_then(|t| t.partitions.iter().find(|p| p.partition == partition))
    else {
        return gone(name);
    };
    let tp = TopicPartition::new(&topic.into(), partition);
    let log = inner.sim.broker(broker).and_then(|x| x.log(&tp));
    let r = b
        .replicas
        .iter()
        .find(|r| *r.topic == *topic && r.partition == partition);
    let leader_leo = p
        .leader
        .and_then(|l| view.brokers.iter().find(|x| x.id == l))
        .and_then(|l| {
            l.replicas
                .iter()
                .find(|r| *r.topic == *topic && r.partition == partition)
                .map(|r| r.log_end_offset)
        });
    let back = Selection::Node(NodeId::Broker(BrokerId(broker)));
    let batches = |headers: Vec<&kplay_core::log::segment::BatchHeader>| -> Html {
        html! { <ul class="batches">{ for headers.iter().map(|h| html! {
            <li><code>{ format!("{}–{}", h.base_offset, h.last_offset()) }</code>{ format!(" · {} records · epoch {}{}", h.record_count, h.partition_leader_epoch,
                if h.is_control { " · marker" } else if h.is_transactional { " · transactional" } else { "" }) }</li>
        }) }</ul> }
    };
    html! {
        <>
        <h3 data-inspects={format!("{topic}-{partition}@{broker}")}>{ format!("{topic}-{partition}") }<small class="muted">{ format!(" on broker {broker}") }</small></h3>
        <div class="faults">
            <button onclick={dispatch.reform(move |_| Action::Select(Some(back.clone())))}>{ format!("← broker {broker}") }</button>
            { fault("Kill its broker", Some('k'), Command::KillBroker { broker }, dispatch, b.alive) }
        </div>
        { match r { None => html! { <p class="muted">{ if b.alive { "This broker holds no copy of it yet." } else { "Its broker is down." } }</p> }, Some(r) => {
            let lag = leader_leo.map(|l| l.saturating_sub(r.log_end_offset));
            html! {
            <table class="facts">
                { row("role", if r.role == "leader" { "leader".to_string() } else { format!("{} (leader: {})", r.role, p.leader.map_or("none".into(), |l| format!("broker {l}"))) }) }
                { row("in sync", if r.role == "leader" { "leads the ISR".to_string() } else if p.isr.contains(&b.id) {
                    format!("yes, {} behind the leader", lag.map_or("?".into(), |l| format!("{l} records")))
                } else {
                    format!("no: {} behind the leader", lag.map_or("?".into(), |l| format!("{l} records")))
                }) }
                { row("leader epoch", r.leader_epoch.to_string()) }
                { row("log start · LEO · HW", format!("{} · {} · {}", r.log_start_offset, r.log_end_offset, r.high_watermark)) }
                { row("size", format!("{} bytes", r.size_bytes)) }
                { row("ISR", format!("{:?}", p.isr.iter().map(|x| x.0).collect::<Vec<_>>())) }
            </table>
        } } } }
        { match log { Some(log) => {
            let headers: Vec<_> = log.batch_headers().collect();
            let head: Vec<_> = headers.iter().take(LOG_BATCHES).copied().collect();
            let tail: Vec<_> = headers.iter().skip(headers.len().saturating_sub(LOG_BATCHES).max(LOG_BATCHES)).copied().collect();
            html! { <>
                <h4>{ format!("Log head ({} batches in all)", headers.len()) }</h4>
                { if head.is_empty() { html! { <p class="muted">{ "empty" }</p> } } else { batches(head) } }
                { if tail.is_empty() { html! {} } else { html! { <><h4>{ "Log tail" }</h4>{ batches(tail) }</> } } }
            </> }
        }, None => html! {} } }
        </>
    }
}

fn message(inner: &Inner, id: u64) -> Html {
    let Some(f) = inner.flights.iter().find(|f| f.id == id) else {
        return html! { <><h3>{ "A message" }</h3><p class="muted">{ "It has arrived: messages are only kept while they travel." }</p></> };
    };
    html! {
        <>
        <h3 data-inspects={format!("message:{id}")}><i class="kind" style={format!("background:{}", colour(f.kind))}></i>{ f.api }</h3>
        <table class="facts">
            { row("from", f.from.label()) }
            { row("to", f.to.label()) }
            { row("size", format!("{} bytes", f.bytes)) }
            { row("sent at", ms(f.sent_at)) }
            { row(if f.dropped { "would arrive at" } else { "arrives at" }, ms(f.arrives_at)) }
            { if f.dropped { row("fate", "lost: the link is cut or the receiver is down") } else { html! {} } }
        </table>
        </>
    }
}
