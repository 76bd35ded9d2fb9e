//! The cluster diagram (SVG): the ZooKeeper ensemble on top with its leader marked, brokers as
//! cards with their replicas and the controller badge, producers on the left, consumer groups
//! on the right, and every message as a dot moving along its link. Click a node to kill it or
//! start it again.

use crate::flights::{Flight, MIN_VISIBLE_WALL_MS};
use crate::state::{Action, Inner};
use kplay_core::protocol::MessageKind;
use kplay_core::vec_map::VecMap;
use kplay_core::view::{BrokerView, View, ZooKeeperView};
use kplay_core::zookeeper::messages::PeerState;
use kplay_core::{Command, NodeId};
use yew::prelude::*;

const WIDTH: f64 = 900.0;
const BROKERS_TOP: f64 = 100.0;
const BROKERS_LEFT: f64 = 148.0;
const BROKERS_RIGHT: f64 = 744.0;
const CHIP_H: f64 = 20.0;
/// How far a link bows out of a straight line, as a share of its length.
const BOW: f64 = 0.16;

/// Message kinds as the legend groups them, with their colours.
pub const LEGEND: [(&str, &str); 7] = [
    ("produce", "#2f6fde"),
    ("ack / response", "#2e9d62"),
    ("fetch & replicate", "#e08a00"),
    ("metadata & controller", "#8a4fd6"),
    ("ZooKeeper", "#8c6239"),
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

/// A node's box on the diagram.
#[derive(Clone, Copy, Debug)]
struct Place {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Place {
    fn centre(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
}

fn is_internal(topic: &str) -> bool {
    topic.starts_with("__")
}

/// Where every node goes, and how tall the drawing is.
fn layout(view: &View) -> (VecMap<NodeId, Place>, Vec<(String, Place)>, f64) {
    let mut places = VecMap::new();
    let zks = view.zookeepers.len().max(1) as f64;
    let zk_gap = (BROKERS_RIGHT - BROKERS_LEFT) / zks;
    for (i, z) in view.zookeepers.iter().enumerate() {
        let cx = BROKERS_LEFT + zk_gap * (i as f64 + 0.5);
        places.insert(
            NodeId::ZooKeeper(z.id),
            Place {
                x: cx - 38.0,
                y: 12.0,
                w: 76.0,
                h: 50.0,
            },
        );
    }
    let n = view.brokers.len().max(1) as f64;
    let gap = 12.0;
    let card_w = ((BROKERS_RIGHT - BROKERS_LEFT - gap * (n - 1.0)) / n).min(200.0);
    let total = card_w * n + gap * (n - 1.0);
    let left = (WIDTH - total) / 2.0;
    let mut tallest: f64 = 0.0;
    for (i, b) in view.brokers.iter().enumerate() {
        let chips = broker_replicas(view, b).len() as f64;
        let h = 58.0 + (chips / columns(card_w)).ceil() * CHIP_H + 18.0;
        tallest = tallest.max(h);
        places.insert(
            NodeId::Broker(b.id),
            Place {
                x: left + i as f64 * (card_w + gap),
                y: BROKERS_TOP,
                w: card_w,
                h,
            },
        );
    }
    let mut y = BROKERS_TOP;
    for p in &view.producers {
        places.insert(
            NodeId::Producer(p.index),
            Place {
                x: 4.0,
                y,
                w: 134.0,
                h: 40.0,
            },
        );
        y += 48.0;
    }
    let left_bottom = y;
    // Consumers stacked by group, each group in a frame with a header.
    let mut by_group: VecMap<Option<&str>, Vec<u32>> = VecMap::new();
    for c in &view.consumers {
        by_group
            .entry(c.group.as_deref())
            .or_default()
            .push(c.index);
    }
    let mut y = BROKERS_TOP;
    let mut frames = Vec::new();
    for (group, members) in by_group {
        let top = y;
        if group.is_some() {
            y += 34.0;
        }
        for index in members {
            places.insert(
                NodeId::Consumer(index),
                Place {
                    x: 762.0,
                    y,
                    w: 130.0,
                    h: 40.0,
                },
            );
            y += 46.0;
        }
        if let Some(group) = group {
            frames.push((
                group.to_string(),
                Place {
                    x: 756.0,
                    y: top,
                    w: 142.0,
                    h: y - top,
                },
            ));
        }
        y += 10.0;
    }
    places.insert(
        NodeId::Admin,
        Place {
            x: 4.0,
            y: 12.0,
            w: 110.0,
            h: 30.0,
        },
    );
    let height = (BROKERS_TOP + tallest).max(left_bottom).max(y) + 16.0;
    (places, frames, height)
}

fn columns(card_w: f64) -> f64 {
    if card_w >= 150.0 {
        2.0
    } else {
        1.0
    }
}

/// How a replica looks: its partition, and whether it leads, follows in sync, lags or is down.
#[derive(Clone, Debug, PartialEq)]
struct Chip {
    label: String,
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
            let (class, what) = match replica {
                _ if !b.alive => ("chip down", "broker down".to_string()),
                _ if p.offline => ("chip offline", "partition offline".to_string()),
                Some(r) if r.role == "leader" => (
                    "chip leader",
                    format!(
                        "leader · LEO {} · HW {}",
                        r.log_end_offset, r.high_watermark
                    ),
                ),
                Some(r) if p.isr.contains(&b.id) => (
                    "chip follower",
                    format!("in-sync follower · LEO {}", r.log_end_offset),
                ),
                Some(r) => (
                    "chip lagging",
                    format!("out of sync · LEO {}", r.log_end_offset),
                ),
                None => ("chip lagging", "no replica yet".to_string()),
            };
            chips.push(Chip {
                title: format!("{label} on broker {}: {what}", b.id),
                label,
                class,
            });
        }
    }
    chips
}

pub fn diagram(inner: &Inner, view: &View, dispatch: &Callback<Action>) -> Html {
    let (places, frames, height) = layout(view);
    let now = view.now;
    let cut = cut_lines(view, &places);
    html! {
        <figure class="diagram">
            <svg viewBox={format!("0 0 {WIDTH} {height:.0}")} role="img"
                 aria-label="Cluster diagram: ZooKeeper, brokers, producers and consumers">
                { cut }
                // Each kind of node in its own group, so a changing list (dots come and go
                // every frame) never makes the renderer move the clickable nodes.
                <g class="groups">{ for frames.iter().map(|(group, place)| group_frame(view, group, *place)) }</g>
                <g class="zookeepers">{ for view.zookeepers.iter().map(|z| zookeeper(z, places[&NodeId::ZooKeeper(z.id)], dispatch)) }</g>
                <g class="brokers">{ for view.brokers.iter().map(|b| broker(view, b, places[&NodeId::Broker(b.id)], dispatch)) }</g>
                <g class="producers">{ for view.producers.iter().map(|p| {
                    let place = places[&NodeId::Producer(p.index)];
                    let name = if p.index as usize == inner.loaded.producers.len() { "console producer".to_string() } else { format!("producer {}", p.index) };
                    client_box(place, &name, &format!("{} acked · {} failed", p.acked, p.failed), p.alive, "producer")
                }) }</g>
                <g class="consumers">{ for view.consumers.iter().map(|c| {
                    let place = places[&NodeId::Consumer(c.index)];
                    let state = match (&c.group, &c.member_state) {
                        _ if !c.alive => "down".to_string(),
                        (Some(_), Some(s)) if c.idle => format!("idle ({s})"),
                        (Some(_), Some(s)) => s.clone(),
                        _ => "no group".to_string(),
                    };
                    let owned: Vec<String> = c.positions.iter().map(|(p, _)| p.to_string()).collect();
                    let detail = if owned.is_empty() { state } else { format!("owns {} · {state}", owned.join(",")) };
                    client_box(place, &format!("consumer {}", c.index), &detail, c.alive, if c.idle { "consumer idle" } else { "consumer" })
                }) }</g>
                { client_box(places[&NodeId::Admin], "admin client", "", true, "admin") }
            </svg>
            // Messages on their own layer over the diagram: moving them every frame repaints
            // only the dots, not every card and label under them.
            <svg class="flights" viewBox={format!("0 0 {WIDTH} {height:.0}")} aria-hidden="true">
                { dots(inner, &places, now) }
            </svg>
            <figcaption class="legend">
                { for LEGEND.iter().map(|(name, colour)| html! {
                    <span><i style={format!("background:{colour}")}></i>{ *name }</span>
                }) }
                <span><b class="cross">{ "×" }</b>{ "dropped" }</span>
                <span class="muted">{ format!("Dots last at least {:.1} s on screen; slow the speed down to see real timing.", MIN_VISIBLE_WALL_MS / 1000.0) }</span>
            </figcaption>
        </figure>
    }
}

fn zookeeper(z: &ZooKeeperView, place: Place, dispatch: &Callback<Action>) -> Html {
    let leads = z.serving && z.state == Some(PeerState::Leading);
    let role = match (z.alive, z.state) {
        (false, _) => "down".to_string(),
        (true, Some(PeerState::Leading)) => "leader".to_string(),
        (true, Some(PeerState::Following)) => "follower".to_string(),
        (true, _) => "electing".to_string(),
    };
    let command = if z.alive {
        Command::KillZookeeper { server: z.id }
    } else {
        Command::RestartZookeeper { server: z.id }
    };
    let onclick = dispatch.reform(move |_| Action::Act(command.clone()));
    let (cx, cy) = place.centre();
    html! {
        <g key={z.id} class={classes!("node", "zk", (!z.alive).then_some("dead"), leads.then_some("leads"))}
           data-node={NodeId::ZooKeeper(z.id).to_string()} onclick={onclick} role="button"
           tabindex="0">
            <title>{ format!("ZooKeeper {} — {role}, epoch {}, {} sessions. Click to {}.", z.id, z.epoch, z.sessions, if z.alive { "kill it" } else { "start it" }) }</title>
            <ellipse cx={cx.to_string()} cy={cy.to_string()} rx={(place.w / 2.0).to_string()} ry={(place.h / 2.0).to_string()} />
            <text x={cx.to_string()} y={(cy - 3.0).to_string()} class="name">{ format!("zk {}", z.id) }</text>
            <text x={cx.to_string()} y={(cy + 12.0).to_string()} class="role">{ role }</text>
        </g>
    }
}

fn broker(view: &View, b: &BrokerView, place: Place, dispatch: &Callback<Action>) -> Html {
    let command = if b.alive {
        Command::KillBroker { broker: b.id.0 }
    } else {
        Command::RestartBroker {
            broker: b.id.0,
            disk_lost: false,
        }
    };
    let onclick = dispatch.reform(move |_| Action::Act(command.clone()));
    let chips = broker_replicas(view, b);
    let cols = columns(place.w);
    let chip_w = (place.w - 12.0 - (cols - 1.0) * 4.0) / cols;
    let internal: Vec<String> = internal_summary(view, b);
    let status = if !b.alive {
        "down — click to start".to_string()
    } else if !b.registered {
        "starting".to_string()
    } else {
        format!(
            "ZooKeeper session on zk {}",
            b.zookeeper_server.map_or("-".into(), |z| z.to_string())
        )
    };
    html! {
        <g key={b.id.0} class={classes!("node", "broker", (!b.alive).then_some("dead"), b.is_controller.then_some("controller"))}
           data-node={NodeId::Broker(b.id).to_string()} onclick={onclick} role="button" tabindex="0">
            <title>{ format!("Broker {}{}. Click to {}.", b.id, if b.is_controller { " (controller)" } else { "" }, if b.alive { "kill it" } else { "start it" }) }</title>
            <rect x={place.x.to_string()} y={place.y.to_string()} width={place.w.to_string()} height={place.h.to_string()} rx="8" class="card" />
            <text x={(place.x + 8.0).to_string()} y={(place.y + 19.0).to_string()} class="name start">{ format!("broker {}", b.id) }</text>
            { if b.is_controller { html! {
                <g class="badge">
                    <rect x={(place.x + place.w - 74.0).to_string()} y={(place.y + 6.0).to_string()} width="68" height="17" rx="4" />
                    <text x={(place.x + place.w - 40.0).to_string()} y={(place.y + 18.5).to_string()}>{ "controller" }</text>
                </g>
            } } else { html! {} } }
            <text x={(place.x + 8.0).to_string()} y={(place.y + 37.0).to_string()} class="role start">{ status }</text>
            { for chips.iter().enumerate().map(|(i, chip)| {
                let col = (i as f64) % cols;
                let row = ((i as f64) / cols).floor();
                let x = place.x + 6.0 + col * (chip_w + 4.0);
                let y = place.y + 46.0 + row * CHIP_H;
                html! {
                    <g class={chip.class}>
                        <title>{ chip.title.clone() }</title>
                        <rect x={x.to_string()} y={y.to_string()} width={chip_w.to_string()} height={(CHIP_H - 4.0).to_string()} rx="3" />
                        <text x={(x + chip_w / 2.0).to_string()} y={(y + 12.0).to_string()}>{ chip.label.clone() }</text>
                    </g>
                }
            }) }
            { for internal.iter().enumerate().map(|(i, line)| html! {
                <text x={(place.x + 8.0).to_string()} y={(place.y + place.h - 6.0 - 12.0 * (internal.len() - 1 - i) as f64).to_string()} class="internal start">{ line.clone() }</text>
            }) }
        </g>
    }
}

/// "__consumer_offsets: leads 17" — internal topics are too many to draw replica by replica.
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
            let short = t.name.trim_start_matches("__").replace('_', " ");
            format!("{short}: leads {leads}/{}", t.partitions.len())
        })
        .collect()
}

fn group_frame(view: &View, group: &str, place: Place) -> Html {
    let detail = match view.groups.iter().find(|g| g.id == group) {
        Some(g) => format!("gen {} · {:?} · lag {}", g.generation, g.state, g.lag),
        None => "no coordinator yet".to_string(),
    };
    html! {
        <g key={group.to_string()} class="group">
            <rect x={place.x.to_string()} y={place.y.to_string()} width={place.w.to_string()} height={place.h.to_string()} rx="8" />
            <text x={(place.x + 6.0).to_string()} y={(place.y + 14.0).to_string()} class="name start">{ format!("group {group}") }</text>
            <text x={(place.x + 6.0).to_string()} y={(place.y + 27.0).to_string()} class="role start">{ detail }</text>
        </g>
    }
}

fn client_box(place: Place, name: &str, detail: &str, alive: bool, class: &str) -> Html {
    html! {
        <g key={name.to_string()} class={classes!("client", class.to_string(), (!alive).then_some("dead"))}>
            <rect x={place.x.to_string()} y={place.y.to_string()} width={place.w.to_string()} height={place.h.to_string()} rx="6" class="card" />
            <text x={(place.x + 7.0).to_string()} y={(place.y + 16.0).to_string()} class="name start">{ name.to_string() }</text>
            <text x={(place.x + 7.0).to_string()} y={(place.y + 31.0).to_string()} class="role start">{ detail.to_string() }</text>
        </g>
    }
}

fn cut_lines(view: &View, places: &VecMap<NodeId, Place>) -> Html {
    let mut pairs: Vec<(NodeId, NodeId)> = view
        .cut_links
        .iter()
        .map(|&(a, b)| if a <= b { (a, b) } else { (b, a) })
        .collect();
    kplay_core::sort::sort(&mut pairs);
    pairs.dedup();
    html! {
        <g class="cut">
            { for pairs.iter().filter_map(|(a, b)| {
                let (x1, y1) = places.get(a)?.centre();
                let (x2, y2) = places.get(b)?.centre();
                Some(html! {
                    <g>
                        <title>{ format!("network cut: {} ✂ {}", a.label(), b.label()) }</title>
                        <line x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
                        <text x={((x1 + x2) / 2.0).to_string()} y={((y1 + y2) / 2.0).to_string()}>{ "✂" }</text>
                    </g>
                })
            }) }
        </g>
    }
}

/// Where a message's dot is now, or None once it is gone (or its nodes are not drawn).
fn dot_position(
    f: &Flight,
    places: &VecMap<NodeId, Place>,
    now: kplay_core::SimTime,
    speed: f64,
) -> Option<(f64, f64)> {
    let progress = f.progress(now, speed)?;
    let (x1, y1) = places.get(&f.from)?.centre();
    let (x2, y2) = places.get(&f.to)?.centre();
    let t = if f.dropped {
        progress.min(0.5)
    } else {
        progress
    };
    // Links bow to one side (so the two directions and links passing a card stay apart).
    let (dx, dy) = (x2 - x1, y2 - y1);
    let (cx, cy) = ((x1 + x2) / 2.0 + dy * BOW, (y1 + y2) / 2.0 - dx * BOW);
    let u = 1.0 - t;
    Some((
        u * u * x1 + 2.0 * u * t * cx + t * t * x2,
        u * u * y1 + 2.0 * u * t * cy + t * t * y2,
    ))
}

/// Every message in flight, drawn as one SVG path per colour (hundreds of dots would be
/// hundreds of elements to diff every frame) plus one path of crosses for dropped messages.
/// Coordinates are written as whole tenths under a `scale(0.1)`: integers format faster than
/// floats, and this runs for every dot every frame.
fn dots(inner: &Inner, places: &VecMap<NodeId, Place>, now: kplay_core::SimTime) -> Html {
    use std::fmt::Write;
    let mut paths: VecMap<&'static str, String> = VecMap::new();
    let mut crosses = String::new();
    let mut count = 0;
    for f in inner.flights.iter() {
        let Some((x, y)) = dot_position(f, places, now, inner.speed) else {
            continue;
        };
        count += 1;
        let (x, y) = ((x * 10.0).round() as i64, (y * 10.0).round() as i64);
        if f.dropped {
            let _ = write!(crosses, "M{} {}l80 80m0 -80l-80 80", x - 40, y - 40);
        } else {
            let path = paths.entry(colour(f.kind)).or_default();
            let _ = write!(path, "M{} {y}a36 36 0 1 0 72 0a36 36 0 1 0 -72 0", x - 36);
        }
    }
    html! {
        <g class="dots" data-count={count.to_string()} transform="scale(0.1)">
            { for paths.into_iter().map(|(colour, d)| html! { <path key={colour} class="dot" fill={colour} d={d} /> }) }
            <path class="drop" d={crosses} />
        </g>
    }
}
