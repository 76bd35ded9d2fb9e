//! The cluster diagram (SVG): the ZooKeeper ensemble with its leader marked (in KRaft mode the
//! controller quorum in its place: Raft role, epoch, the active controller, the metadata
//! log's end offset and high watermark), brokers as cards
//! with their replicas and the controller badge, producers and consumer groups, faults on the
//! links, and every message as a dot moving in its lane (`layout`). A click, a tap or Enter on a
//! focused card selects it for the inspector; faults are the inspector's buttons and keys.
//!
//! Three layers, bottom up: the dots (their own SVG, redrawn every frame), the links' faults,
//! then the cards and their words, so no moving thing ever covers a word.

use crate::components::layout::{
    path_d, point_along, text_w, Arrangement, BrokerRows, Layout, Place, Route, CHIPS_TOP,
    NARROW_CONTROLLER_W,
};
use crate::flights::MIN_VISIBLE_WALL_MS;
use crate::state::{Action, Inner, Selection};
use kplay_core::protocol::MessageKind;
use kplay_core::scenario::ClusterMode;
use kplay_core::vec_map::VecMap;
use kplay_core::view::{BrokerView, ControllerView, View, ZooKeeperView};
use kplay_core::zookeeper::messages::PeerState;
use kplay_core::NodeId;
use yew::prelude::*;

/// Message kinds as the legend groups them, with their colours: the page's one palette for
/// message kinds (the dots, the legend, the traffic table and the event log use it).
pub const LEGEND: [(&str, &str); 7] = [
    ("produce", "#2f6fde"),
    ("ack / response", "#2e9d62"),
    ("fetch & replicate", "#e08a00"),
    ("metadata & controller", "#8a4fd6"),
    ("ZooKeeper", "#a0703f"),
    ("group protocol", "#0f9aa8"),
    ("transactions", "#d43f8d"),
];

pub fn colour(kind: MessageKind) -> &'static str {
    let i = match kind {
        MessageKind::Produce => 0,
        MessageKind::ProduceAck => 1,
        MessageKind::ConsumerFetch | MessageKind::Replication => 2,
        MessageKind::Metadata | MessageKind::Controller | MessageKind::Admin => 3,
        MessageKind::ZooKeeper => 4,
        MessageKind::Group => 5,
        MessageKind::Transaction => 6,
    };
    LEGEND[i].1
}

pub fn is_internal(topic: &str) -> bool {
    topic.starts_with("__")
}

/// How the diagram is shown: its width and the least height it fills (both CSS px), and
/// whether motion is reduced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    pub width: f64,
    pub min_height: f64,
    pub reduced_motion: bool,
}

/// How a replica looks: its partition, and whether it leads, follows in sync, lags or is down.
#[derive(Clone, Debug, PartialEq)]
struct Chip {
    topic: String,
    partition: u32,
    label: String,
    role: String,
    /// Its log end offset and high watermark, or how far it is behind the leader.
    detail: String,
    class: &'static str,
    title: String,
}

/// The broker's replicas of the scenario's topics (internal topics are summed up apart).
fn broker_replicas(view: &View, b: &BrokerView) -> Vec<Chip> {
    let mut chips = Vec::new();
    for t in view.topics.iter().filter(|t| !is_internal(&t.name)) {
        for p in t.partitions.iter().filter(|p| p.replicas.contains(&b.id)) {
            let label = format!("{}-{}", t.name, p.partition);
            let replica = b
                .replicas
                .iter()
                .find(|r| r.topic == t.name && r.partition == p.partition);
            let epoch = replica.map_or(p.leader_epoch, |r| r.leader_epoch);
            let leader_leo = p
                .leader
                .and_then(|l| view.brokers.iter().find(|x| x.id == l))
                .and_then(|l| {
                    l.replicas
                        .iter()
                        .find(|r| r.topic == t.name && r.partition == p.partition)
                })
                .map(|r| r.log_end_offset);
            let detail = match replica {
                Some(r) if b.alive && r.role == "leader" => {
                    format!("LEO {} · HW {}", r.log_end_offset, r.high_watermark)
                }
                Some(r) if b.alive => match leader_leo {
                    Some(l) if l > r.log_end_offset => {
                        format!("LEO {} · {} behind", r.log_end_offset, l - r.log_end_offset)
                    }
                    _ => format!("LEO {} · caught up", r.log_end_offset),
                },
                _ => String::new(),
            };
            let (class, role, what) = match replica {
                _ if !b.alive => ("chip down", "down".to_string(), "broker down".to_string()),
                _ if p.offline => (
                    "chip offline",
                    "offline".to_string(),
                    "partition offline".to_string(),
                ),
                Some(r) if r.role == "leader" => (
                    "chip leader",
                    format!("leader e{epoch}"),
                    format!(
                        "leader · LEO {} · HW {}",
                        r.log_end_offset, r.high_watermark
                    ),
                ),
                Some(r) if p.isr.contains(&b.id) => (
                    "chip follower",
                    format!("in sync e{epoch}"),
                    format!("in-sync follower · LEO {}", r.log_end_offset),
                ),
                Some(r) => (
                    "chip lagging",
                    format!("lagging e{epoch}"),
                    format!("out of sync · LEO {}", r.log_end_offset),
                ),
                None => (
                    "chip lagging",
                    "no replica".to_string(),
                    "no replica yet".to_string(),
                ),
            };
            chips.push(Chip {
                title: format!(
                    "{label} on broker {}: {what}, leader epoch {epoch}. Click to inspect.",
                    b.id
                ),
                topic: t.name.to_string(),
                partition: p.partition,
                label,
                role,
                detail,
                class,
            });
        }
    }
    chips
}

/// "consumer offsets: leads 17/50" — internal topics are too many to draw replica by replica.
fn internal_summary(view: &View, b: &BrokerView) -> Vec<String> {
    if !b.alive {
        return Vec::new();
    }
    view.topics
        .iter()
        .filter(|t| is_internal(&t.name))
        .map(|t| {
            let leads = t
                .partitions
                .iter()
                .filter(|p| p.leader == Some(b.id))
                .count();
            let short = match &*t.name {
                "__consumer_offsets" => "offsets".to_string(),
                "__transaction_state" => "txn state".to_string(),
                other => other.trim_start_matches("__").replace('_', " "),
            };
            format!("{short}: leads {leads}/{}", t.partitions.len())
        })
        .collect()
}

/// The clients drawn on the producers' side: producers, except console producers nobody has
/// typed into yet, and the admin client once it has sent something.
pub fn shown_left_clients(inner: &Inner, view: &View) -> Vec<NodeId> {
    let scenario_producers = inner.loaded.producers.len() as u32;
    let mut shown: Vec<NodeId> = view
        .producers
        .iter()
        .filter(|p| p.index < scenario_producers || p.produced > 0)
        .map(|p| NodeId::Producer(p.index))
        .collect();
    if inner.admin_active {
        shown.push(NodeId::Admin);
    }
    shown
}

/// Builds the layout for this view at this stage.
pub fn layout_for(inner: &Inner, view: &View, stage: Stage) -> Layout {
    let rows = |b: &BrokerView| BrokerRows {
        chips: broker_replicas(view, b).len(),
        summary_lines: internal_summary(view, b).len(),
    };
    let scale = if inner.large_text { 1.3 } else { 1.0 };
    Layout::new(
        view,
        &rows,
        shown_left_clients(inner, view),
        stage.width,
        stage.min_height,
        scale,
    )
}

/// An SVG label at (`x`, `y`), placed to a tenth of a pixel. The diagram's labels share this
/// one copy of the code an `html!` text element expands to.
fn label(x: f64, y: f64, class: &'static str, content: String) -> Html {
    html! { <text x={format!("{x:.1}")} y={format!("{y:.1}")} class={class}>{ content }</text> }
}

/// Cuts `text` to what fits in `width` px at `px` font size.
fn fit(text: &str, width: f64, px: f64) -> String {
    let max = (width / (px * 0.6)).floor().max(3.0) as usize;
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

pub fn diagram(inner: &Inner, view: &View, stage: Stage, dispatch: &Callback<Action>) -> Html {
    let layout = layout_for(inner, view, stage);
    let (w, h) = (layout.width, layout.height);
    let s = layout.scale;
    let selected = inner.selected.as_ref();
    let is_selected = |node: NodeId| matches!(selected, Some(Selection::Node(n)) if *n == node);
    let record_at = inner.follow.as_ref().and_then(|f| f.place_at(view.now));
    let here = |node: NodeId, class: &str| {
        if record_at == Some(node) {
            format!("{class} record-here")
        } else {
            class.to_string()
        }
    };
    html! {
        <figure class={classes!("diagram", (layout.arrangement == crate::components::layout::Arrangement::Stack).then_some("stacked"))}
                style={format!("height:{h:.0}px")}>
            // Messages beneath everything: a dot never covers a word.
            <svg class="flights" viewBox={format!("0 0 {w:.0} {h:.0}")} width={format!("{w:.0}")} height={format!("{h:.0}")} aria-hidden={(inner.playing).to_string()}>
                { dots(inner, &layout, view.now, stage.reduced_motion, dispatch) }
            </svg>
            <svg class="nodes" viewBox={format!("0 0 {w:.0} {h:.0}")} width={format!("{w:.0}")} height={format!("{h:.0}")} role="group"
                 aria-label={format!("Cluster diagram: {}, brokers, producers and consumers. Select one to inspect it.", if view.mode.is_kraft() { "KRaft controllers" } else { "ZooKeeper" })}>
                { link_faults(view, &layout) }
                <g class="groups">{ for layout.frames.iter().map(|(group, place)| group_frame(view, group, *place, s)) }</g>
                <g class="zookeepers">{ for view.zookeepers.iter().filter_map(|z| {
                    let place = *layout.places.get(&NodeId::ZooKeeper(z.id))?;
                    Some(zookeeper(z, place, is_selected(NodeId::ZooKeeper(z.id)), dispatch))
                }) }</g>
                <g class="controllers">{ for view.controllers.iter().filter_map(|c| {
                    let place = *layout.places.get(&NodeId::Controller(c.id))?;
                    Some(controller(c, place, s, is_selected(NodeId::Controller(c.id)), dispatch))
                }) }</g>
                <g class="brokers">{ for view.brokers.iter().filter_map(|b| {
                    let place = *layout.places.get(&NodeId::Broker(b.id))?;
                    Some(broker(inner, view, b, place, &layout, dispatch))
                }) }</g>
                <g class="producers">{ for view.producers.iter().filter_map(|p| {
                    let node = NodeId::Producer(p.index);
                    let place = *layout.places.get(&node)?;
                    let name = if p.index as usize >= inner.loaded.producers.len() { format!("console producer {}", p.index) } else { format!("producer {}", p.index) };
                    let detail = format!("{} acked · {} failed", p.acked, p.failed);
                    Some(client_box(node, place, &name, &detail, p.alive, &here(node, "producer"), is_selected(node), s, dispatch))
                }) }</g>
                <g class="consumers">{ for view.consumers.iter().filter_map(|c| {
                    let node = NodeId::Consumer(c.index);
                    let place = *layout.places.get(&node)?;
                    let paused = inner.paused_until(c.index).is_some_and(|until| until > view.now);
                    let state = match (&c.group, &c.member_state) {
                        _ if !c.alive => "down".to_string(),
                        _ if paused => "paused (no poll)".to_string(),
                        (Some(_), Some(s)) if c.idle => format!("idle ({s})"),
                        (Some(_), Some(s)) => s.clone(),
                        _ => "no group".to_string(),
                    };
                    let owned: Vec<String> = c.positions.iter().map(|(p, _)| p.to_string()).collect();
                    let detail = if owned.is_empty() { state } else { format!("owns {} · {state}", owned.join(",")) };
                    let fenced = c.transactional_id.as_ref().is_some_and(|t| inner.fenced.contains(t));
                    let detail = if fenced { format!("fenced (a zombie) · {detail}") } else { detail };
                    let class = match () {
                        _ if fenced => "consumer fenced",
                        _ if paused => "consumer paused",
                        _ if c.idle => "consumer idle",
                        _ => "consumer",
                    };
                    Some(client_box(node, place, &format!("consumer {}", c.index), &detail, c.alive, &here(node, class), is_selected(node), s, dispatch))
                }) }</g>
                { match layout.places.get(&NodeId::Admin) {
                    Some(place) => client_box(NodeId::Admin, *place, "admin client", "topics, configs", true, "admin", is_selected(NodeId::Admin), s, dispatch),
                    None => html! {},
                } }
            </svg>
        </figure>
    }
}

/// The legend under the diagram: message kinds, and what the faults' marks mean. In KRaft
/// mode there is no ZooKeeper traffic: the quorum's (Raft, heartbeats) is the controllers',
/// and the controllers' roles have their own colours.
pub fn legend(mode: ClusterMode) -> Html {
    let kraft = mode.is_kraft();
    html! {
        <figcaption class="legend">
            { for LEGEND.iter().enumerate().filter(|(i, _)| !(kraft && *i == 4)).map(|(i, (name, colour))| html! {
                <span><i style={format!("background:{colour}")}></i>{ if kraft && i == 3 { "metadata, controller quorum (Raft) & heartbeats" } else { *name } }</span>
            }) }
            { if kraft { html! { <>
                <span><i class="role active"></i>{ "active controller" }</span>
                <span><i class="role standby"></i>{ "standby controller" }</span>
                <span><i class="role fenced"></i>{ "fenced broker" }</span>
            </> } } else { html! {
                <span><i class="role zk"></i>{ "ZooKeeper server" }</span>
            } } }
            <span><b class="cross">{ "×" }</b>{ "dropped" }</span>
            <span><svg class="mark" viewBox="0 0 24 10" width="24" height="10"><path class="cut-line" d="M0 5H24" /></svg>{ "cut link" }</span>
            <span><svg class="mark" viewBox="0 0 24 10" width="24" height="10"><path class="slow-line" d="M0 5H24" /></svg>{ "slow link" }</span>
            <span class="muted">{ format!("Dots last at least {:.2} s on screen; slow the speed down to see real timing. Pause to select a dot.", MIN_VISIBLE_WALL_MS / 1000.0) }</span>
        </figcaption>
    }
}

/// Selects `selection` on click, and on Enter or space when focused.
fn select_handlers(
    selection: Selection,
    dispatch: &Callback<Action>,
) -> (Callback<MouseEvent>, Callback<KeyboardEvent>) {
    let on_click = {
        let selection = selection.clone();
        dispatch.reform(move |e: MouseEvent| {
            e.stop_propagation();
            Action::Select(Some(selection.clone()))
        })
    };
    let dispatch = dispatch.clone();
    let on_key = Callback::from(move |e: KeyboardEvent| {
        if e.key() == "Enter" {
            e.prevent_default();
            e.stop_propagation();
            dispatch.emit(Action::Select(Some(selection.clone())));
        }
    });
    (on_click, on_key)
}

fn zookeeper(z: &ZooKeeperView, place: Place, selected: bool, dispatch: &Callback<Action>) -> Html {
    let leads = z.serving && z.state == Some(PeerState::Leading);
    let role = match (z.alive, z.state) {
        (false, _) => "down".to_string(),
        (true, Some(PeerState::Leading)) => format!("leader e{}", z.epoch),
        (true, Some(PeerState::Following)) => format!("follower e{}", z.epoch),
        (true, _) => "electing".to_string(),
    };
    let node = NodeId::ZooKeeper(z.id);
    let (onclick, onkeydown) = select_handlers(Selection::Node(node), dispatch);
    let (cx, cy) = place.centre();
    html! {
        <g key={z.id} class={classes!("node", "zk", (!z.alive).then_some("dead"), leads.then_some("leads"), selected.then_some("selected"))}
           data-node={node.to_string()} {onclick} {onkeydown} role="button" tabindex="0"
           aria-label={format!("ZooKeeper {}: {role}", z.id)}>
            <title>{ format!("ZooKeeper {} — {role}, {} sessions. Select to inspect.", z.id, z.sessions) }</title>
            <ellipse cx={format!("{cx:.1}")} cy={format!("{cy:.1}")} rx={format!("{:.1}", place.w / 2.0)} ry={format!("{:.1}", place.h / 2.0)} />
            { label(cx, cy - 3.0, "name", format!("zk {}", z.id)) }
            { label(cx, cy + 14.0, "role", role) }
        </g>
    }
}

fn controller(
    c: &ControllerView,
    place: Place,
    s: f64,
    selected: bool,
    dispatch: &Callback<Action>,
) -> Html {
    let node = NodeId::Controller(c.id);
    let (onclick, onkeydown) = select_handlers(Selection::Node(node), dispatch);
    let narrow = place.w < NARROW_CONTROLLER_W * s;
    let name = if narrow {
        c.id.to_string()
    } else {
        format!("controller {}", c.id)
    };
    let role = match c.role {
        Some(role) => format!("{role} e{}", c.epoch),
        None => "down".to_string(),
    };
    let duty = match () {
        _ if !c.alive => "",
        _ if c.active => "active",
        _ => "standby",
    };
    // A narrow card has the log end offset and high watermark on lines of their own.
    let log = match () {
        _ if !c.alive => Vec::new(),
        _ if narrow => vec![
            format!("LEO {}", c.log_end_offset),
            format!("HW {}", c.high_watermark),
        ],
        _ => vec![format!(
            "LEO {} · HW {}",
            c.log_end_offset, c.high_watermark
        )],
    };
    let role_class = if narrow { "log start" } else { "role start" };
    let (pad, role_px) = if narrow {
        (5.0, 11.0 * s)
    } else {
        (8.0, 12.0 * s)
    };
    let leads = c.role == Some("leader");
    let (x, y, w) = (place.x + pad, place.y, place.w - 2.0 * pad);
    html! {
        <g key={c.id} class={classes!("node", "kraft", (!c.alive).then_some("dead"), leads.then_some("leads"), c.active.then_some("active"), selected.then_some("selected"))}
           data-node={node.to_string()} data-role={c.role.unwrap_or("down")} data-epoch={c.epoch.to_string()} {onclick} {onkeydown} role="button" tabindex="0"
           aria-label={format!("controller {}: {role}{}", c.id, if c.active { ", active controller" } else { "" })}>
            <title>{ format!("Controller {} — {role}{}; metadata log end offset {}, high watermark {}. Select to inspect; k kills it.", c.id, if c.active { ", the active controller" } else { "" }, c.log_end_offset, c.high_watermark) }</title>
            <rect x={format!("{:.1}", place.x)} y={format!("{:.1}", place.y)} width={format!("{:.1}", place.w)} height={format!("{:.1}", place.h)} rx="9" class="card" />
            { label(x, y + 6.0 + 14.0 * s, "name start", fit(&name, w, 14.0 * s)) }
            { label(x, y + 6.0 + 30.0 * s, role_class, fit(&role, w, role_px)) }
            { label(x, y + 6.0 + 45.0 * s, "duty start", duty.to_string()) }
            { for log.iter().enumerate().map(|(i, line)| label(x, y + 6.0 + (60.0 + 14.0 * i as f64) * s, "log start", fit(line, w, 11.0 * s))) }
        </g>
    }
}

fn broker(
    inner: &Inner,
    view: &View,
    b: &BrokerView,
    place: Place,
    layout: &Layout,
    dispatch: &Callback<Action>,
) -> Html {
    let s = layout.scale;
    let node = NodeId::Broker(b.id);
    let (onclick, onkeydown) = select_handlers(Selection::Node(node), dispatch);
    let chips = broker_replicas(view, b);
    let internal = internal_summary(view, b);
    let isolated = b.alive && is_isolated(view, node);
    let expired = b.alive && inner.session_expired(b.id.0);
    let status = if !b.alive {
        "down".to_string()
    } else if isolated {
        "isolated: every link cut".to_string()
    } else if let Some(fenced) = b.fenced {
        // KRaft: whether the active controller fenced it, and the metadata it has applied.
        let offset = b
            .metadata_offset
            .map_or("none".to_string(), |o| o.to_string());
        if fenced {
            format!("fenced · metadata {offset}")
        } else {
            format!("metadata {offset}")
        }
    } else if expired {
        "ZooKeeper session expired".to_string()
    } else if !b.registered {
        "starting".to_string()
    } else {
        format!(
            "session on zk {}",
            b.zookeeper_server.map_or("-".into(), |z| z.to_string())
        )
    };
    let selected = matches!(&inner.selected, Some(Selection::Node(n)) if *n == node);
    // The followed record: which chips hold it, and whether it is here now.
    let follow = inner.follow.as_ref();
    let holds = |c: &Chip| {
        follow.is_some_and(|f| {
            f.holders.contains(&b.id)
                && f.record()
                    .is_some_and(|(t, p, _)| t == c.topic && p == c.partition)
        })
    };
    let record_here = follow.and_then(|f| f.place_at(view.now)) == Some(node);
    let chip_selected = |c: &Chip| {
        matches!(&inner.selected, Some(Selection::Replica { broker, topic, partition })
            if *broker == b.id.0 && *topic == c.topic && *partition == c.partition)
    };
    let (name_px, role_px, chip_px) = (14.0 * s, 12.0 * s, 11.5 * s);
    let badge_w = text_w(10, 11.0 * s) + 10.0;
    let chip_w = place.w - 12.0;
    let chip_h = layout.chip_h();
    let two_lines = layout.arrangement == Arrangement::Row;
    html! {
        <g key={b.id.0} class={classes!("node", "broker", (!b.alive).then_some("dead"), b.is_controller.then_some("controller"), (b.alive && b.fenced == Some(true)).then_some("fenced"),
                                        isolated.then_some("isolated"), expired.then_some("expired"), selected.then_some("selected"), record_here.then_some("record-here"))}
           data-node={node.to_string()} {onclick} {onkeydown} role="button" tabindex="0"
           aria-label={format!("broker {}{}: {status}", b.id, if b.is_controller { ", controller" } else { "" })}>
            <title>{ format!("Broker {}{}. Select to inspect; k kills it.", b.id, if b.is_controller { " (controller)" } else { "" }) }</title>
            <rect x={format!("{:.1}", place.x)} y={format!("{:.1}", place.y)} width={format!("{:.1}", place.w)} height={format!("{:.1}", place.h)} rx="9" class="card" />
            { label(place.x + 9.0, place.y + 8.0 + name_px, "name start", format!("broker {}", b.id)) }
            { if b.is_controller { html! {
                <g class="badge">
                    <rect x={format!("{:.1}", place.x + place.w - badge_w - 6.0)} y={format!("{:.1}", place.y + 7.0)} width={format!("{badge_w:.1}")} height={format!("{:.1}", 17.0 * s)} rx="4" />
                    <text x={format!("{:.1}", place.x + place.w - 6.0 - badge_w / 2.0)} y={format!("{:.1}", place.y + 7.0 + 12.5 * s)}>{ "controller" }</text>
                </g>
            } } else { html! {} } }
            { label(place.x + 9.0, place.y + 14.0 + name_px + role_px, "role start", fit(&status, place.w - 18.0, role_px)) }
            { for chips.iter().enumerate().map(|(i, chip)| {
                let x = place.x + 6.0;
                let y = place.y + CHIPS_TOP * s + i as f64 * chip_h;
                let (onclick, onkeydown) = select_handlers(Selection::Replica { broker: b.id.0, topic: chip.topic.clone(), partition: chip.partition }, dispatch);
                let role_w = text_w(chip.role.len(), chip_px);
                html! {
                    <g class={classes!(chip.class, chip_selected(chip).then_some("selected"), holds(chip).then_some("holds"))} {onclick} {onkeydown} tabindex="0" role="button"
                       data-replica={format!("{}@{}", chip.label, b.id)} aria-label={chip.title.clone()}>
                        <title>{ chip.title.clone() }</title>
                        <rect x={format!("{x:.1}")} y={format!("{y:.1}")} width={format!("{chip_w:.1}")} height={format!("{:.1}", chip_h - 4.0)} rx="4" />
                        { label(x + 6.0, y + 8.5 * s + chip_px * 0.35, "start", fit(&chip.label, chip_w - role_w - 18.0, chip_px)) }
                        { label(x + chip_w - 6.0, y + 8.5 * s + chip_px * 0.35, "end", chip.role.clone()) }
                        { if two_lines && !chip.detail.is_empty() { html! {
                            { label(x + 6.0, y + 23.0 * s + chip_px * 0.35, "start detail", fit(&chip.detail, chip_w - 12.0, 11.0 * s)) }
                        } } else { html! {} } }
                    </g>
                }
            }) }
            { for internal.iter().enumerate().map(|(i, line)| html! {
                { label(place.x + 9.0, place.y + place.h - 14.0 - 15.0 * s * (internal.len() - 1 - i) as f64, "internal start", fit(line, place.w - 18.0, 11.0 * s)) }
            }) }
        </g>
    }
}

/// Every broker and control-plane node (ZooKeeper server or KRaft controller) except `node`.
pub fn cluster_nodes(view: &View, node: NodeId) -> Vec<NodeId> {
    view.brokers
        .iter()
        .map(|b| NodeId::Broker(b.id))
        .chain(view.zookeepers.iter().map(|z| NodeId::ZooKeeper(z.id)))
        .chain(view.controllers.iter().map(|c| NodeId::Controller(c.id)))
        .filter(|n| *n != node)
        .collect()
}

/// A node is isolated when its links to every other broker and control-plane node are cut.
pub fn is_isolated(view: &View, node: NodeId) -> bool {
    let others = cluster_nodes(view, node);
    !others.is_empty()
        && others
            .iter()
            .all(|o| view.cut_links.contains(&(node, *o)) && view.cut_links.contains(&(*o, node)))
}

fn group_frame(view: &View, group: &str, place: Place, s: f64) -> Html {
    let detail = match view.groups.iter().find(|g| g.id == group) {
        Some(g) => format!("gen {} · {:?} · lag {}", g.generation, g.state, g.lag),
        None => "no coordinator yet".to_string(),
    };
    html! {
        <g key={group.to_string()} class="group">
            <rect x={format!("{:.1}", place.x)} y={format!("{:.1}", place.y)} width={format!("{:.1}", place.w)} height={format!("{:.1}", place.h)} rx="9" />
            { label(place.x + 7.0, place.y + 16.0 * s, "name start", fit(&format!("group {group}"), place.w - 14.0, 13.0 * s)) }
            { label(place.x + 7.0, place.y + 31.0 * s, "role start", fit(&detail, place.w - 14.0, 11.0 * s)) }
        </g>
    }
}

#[allow(clippy::too_many_arguments)]
fn client_box(
    node: NodeId,
    place: Place,
    name: &str,
    detail: &str,
    alive: bool,
    class: &str,
    selected: bool,
    s: f64,
    dispatch: &Callback<Action>,
) -> Html {
    let (onclick, onkeydown) = select_handlers(Selection::Node(node), dispatch);
    html! {
        <g key={node.to_string()} class={classes!("node", "client", class.to_string(), (!alive).then_some("dead"), selected.then_some("selected"))}
           data-node={node.to_string()} {onclick} {onkeydown} role="button" tabindex="0" aria-label={format!("{name}: {detail}")}>
            <title>{ format!("{name}: {detail}. Select to inspect.") }</title>
            <rect x={format!("{:.1}", place.x)} y={format!("{:.1}", place.y)} width={format!("{:.1}", place.w)} height={format!("{:.1}", place.h)} rx="7" class="card" />
            { label(place.x + 8.0, place.y + 18.0 * s, "name start", fit(name, place.w - 16.0, 13.0 * s)) }
            { label(place.x + 8.0, place.y + 35.0 * s, "role start", fit(detail, place.w - 16.0, 11.0 * s)) }
            { if class.contains("paused") { html! {
                // A clock: the consumer is not polling.
                <g class="clock-mark">
                    <circle cx={format!("{:.1}", place.x + place.w - 12.0)} cy={format!("{:.1}", place.y + 12.0)} r="7" />
                    <path d={format!("M{:.1} {:.1}v-4.5M{:.1} {:.1}h3.5", place.x + place.w - 12.0, place.y + 12.0, place.x + place.w - 12.0, place.y + 12.0)} />
                </g>
            } } else { html! {} } }
        </g>
    }
}

/// Cut links drawn broken along their lane (with an arrow for a one-way cut, pointing the
/// way messages are lost), slow links dotted with a clock.
fn link_faults(view: &View, layout: &Layout) -> Html {
    let mut pairs: Vec<(NodeId, NodeId)> = view
        .cut_links
        .iter()
        .map(|&(a, b)| if a <= b { (a, b) } else { (b, a) })
        .collect();
    kplay_core::sort::sort(&mut pairs);
    pairs.dedup();
    let cuts = pairs.into_iter().filter_map(|(a, b)| {
        let forward = view.cut_links.contains(&(a, b));
        let backward = view.cut_links.contains(&(b, a));
        // Drawn from the end whose messages are lost.
        let (from, to) = if forward { (a, b) } else { (b, a) };
        let route = layout.route(from, to)?;
        let (mx, my) = point_along(&route, 0.5);
        let (ax, ay) = point_along(&route, 0.44);
        let one_way = !(forward && backward);
        let (dx, dy) = (mx - ax, my - ay);
        let len = (dx * dx + dy * dy).sqrt().max(1e-6);
        let (ux, uy) = (dx / len, dy / len);
        // Two short bars across the lane: the break.
        let bars = format!(
            "M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}",
            mx - uy * 7.0 - ux * 3.0, my + ux * 7.0 - uy * 3.0, mx + uy * 7.0 - ux * 3.0, my - ux * 7.0 - uy * 3.0,
            mx - uy * 7.0 + ux * 3.0, my + ux * 7.0 + uy * 3.0, mx + uy * 7.0 + ux * 3.0, my - ux * 7.0 + uy * 3.0,
        );
        let arrow = if one_way {
            let (tx, ty) = (mx + ux * 14.0, my + uy * 14.0);
            format!(
                "M{:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z",
                tx + ux * 7.0, ty + uy * 7.0, tx - uy * 5.0, ty + ux * 5.0, tx + uy * 5.0, ty - ux * 5.0
            )
        } else {
            String::new()
        };
        let title = if one_way {
            format!("one-way cut: messages from {} to {} are lost", from.label(), to.label())
        } else {
            format!("network cut: {} ✂ {}", a.label(), b.label())
        };
        Some(html! {
            <g class={classes!("cut", one_way.then_some("one-way"))} data-link={format!("{from}>{to}")}>
                <title>{ title }</title>
                <path class="cut-line" d={path_d(&route)} />
                <path class="break" d={bars} />
                { if one_way { html! { <path class="arrow" d={arrow} /> } } else { html! {} } }
            </g>
        })
    });
    let mut slow: Vec<(NodeId, NodeId, u64)> = view
        .slow_links
        .iter()
        .map(|&(a, b, us)| if a <= b { (a, b, us) } else { (b, a, us) })
        .collect();
    kplay_core::sort::sort_by(&mut slow, |x, y| (x.0, x.1).cmp(&(y.0, y.1)));
    slow.dedup_by(|x, y| (x.0, x.1) == (y.0, y.1));
    let slows = slow.into_iter().filter_map(|(a, b, us)| {
        let route = layout.route(a, b)?;
        let (mx, my) = point_along(&route, 0.5);
        Some(html! {
            <g class="slow" data-link={format!("{a}~{b}")}>
                <title>{ format!("slow link {} ↔ {}: +{} ms", a.label(), b.label(), us / 1_000) }</title>
                <path class="slow-line" d={path_d(&route)} />
                <circle class="slow-clock" cx={format!("{mx:.1}")} cy={format!("{my:.1}")} r="6" />
                <path class="slow-hands" d={format!("M{mx:.1} {my:.1}v-4M{mx:.1} {my:.1}h3")} />
            </g>
        })
    });
    html! { <g class="faults">{ for cuts }{ for slows }</g> }
}

/// Every message in flight, drawn as one SVG path per colour (hundreds of dots would be
/// hundreds of elements to diff every frame) plus one path of crosses for dropped messages.
/// Coordinates are written as whole tenths under a `scale(0.1)`: integers format faster than
/// floats, and this runs for every dot every frame. Paused, each dot is its own circle, so a
/// click selects it. With reduced motion, a dot rests at its lane's middle for its trip.
fn dots(
    inner: &Inner,
    layout: &Layout,
    now: kplay_core::SimTime,
    reduced_motion: bool,
    dispatch: &Callback<Action>,
) -> Html {
    use std::fmt::Write;
    let mut routes: VecMap<(NodeId, NodeId), Option<Route>> = VecMap::new();
    let mut paths: VecMap<&'static str, String> = VecMap::new();
    let mut crosses = String::new();
    let mut count = 0;
    let mut hits = Vec::new();
    let selected_message = match &inner.selected {
        Some(Selection::Message(id)) => Some(*id),
        _ => None,
    };
    for f in inner.flights.iter() {
        let Some(progress) = f.progress(now, inner.speed) else {
            continue;
        };
        let route = routes
            .entry((f.from, f.to))
            .or_insert_with(|| layout.route(f.from, f.to));
        let Some(route) = route else {
            continue;
        };
        let t = match () {
            _ if reduced_motion => 0.5,
            _ if f.dropped => progress.min(0.5),
            _ => progress,
        };
        let (x, y) = point_along(route, t);
        count += 1;
        if !inner.playing {
            hits.push((f.id, x, y, colour(f.kind), f.dropped));
        }
        let (x, y) = ((x * 10.0).round() as i64, (y * 10.0).round() as i64);
        if f.dropped {
            let _ = write!(crosses, "M{} {}l80 80m0 -80l-80 80", x - 40, y - 40);
        } else {
            let path = paths.entry(colour(f.kind)).or_default();
            let _ = write!(path, "M{} {y}a36 36 0 1 0 72 0a36 36 0 1 0 -72 0", x - 36);
        }
    }
    html! {
        <>
        <g class="dots" data-count={count.to_string()} transform="scale(0.1)">
            { for paths.into_iter().map(|(colour, d)| html! { <path key={colour} class="dot" fill={colour} d={d} /> }) }
            <path class="drop" d={crosses} />
        </g>
        { if hits.is_empty() { html! {} } else { html! {
            <g class="dot-hits">{ for hits.into_iter().map(|(id, x, y, colour, dropped)| {
                let onclick = dispatch.reform(move |_: MouseEvent| Action::Select(Some(Selection::Message(id))));
                html! {
                    <circle key={id} class={classes!("dot-hit", (selected_message == Some(id)).then_some("selected"), dropped.then_some("dropped"))}
                            data-message={id.to_string()} cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="7" fill={colour} {onclick}>
                        <title>{ "A message: select it to inspect" }</title>
                    </circle>
                }
            }) }</g>
        } } }
        </>
    }
}
