//! The partition view: each partition's log as a strip of offset cells, coloured by key (the
//! same key, the same colour), expired records greyed, transaction markers marked; under it
//! the log start offset, the high watermark, each replica's log end offset and each group's
//! committed offset.

use crate::follow::Target;
use crate::state::{Action, Inner};
use kplay_core::view::{CellKind, PartitionLogView, View};
use kplay_core::Offset;
use yew::prelude::*;

/// How many of the latest offsets a strip shows.
pub const CELLS: u64 = 40;
const CELL_W: f64 = 20.0;
const CELL_H: f64 = 24.0;
/// Partitions drawn at most (the rest are listed by count).
const MAX_PARTITIONS: usize = 12;

/// A stable colour per key: FNV-1a of the key picks a hue.
pub fn key_colour(key: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    format!("hsl({}, 65%, {}%)", h % 360, 52 + (h >> 9) % 14)
}

pub fn partitions(inner: &Inner, view: &View, dispatch: &Callback<Action>) -> Html {
    let followed = inner.follow.as_ref().and_then(|f| f.record());
    let shown: Vec<(String, u32)> = view
        .topics
        .iter()
        .filter(|t| !t.name.starts_with("__"))
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.name.to_string(), p.partition))
        })
        .collect();
    let hidden = shown.len().saturating_sub(MAX_PARTITIONS);
    html! {
        <div class="partitions">
            { for shown.iter().take(MAX_PARTITIONS).map(|(topic, p)| {
                match kplay_core::view::PartitionLogView::of(&inner.sim, topic, *p, CELLS) {
                    Some(log) => strip(view, &log, followed, dispatch),
                    None => html! {
                        <div class="strip offline"><div class="strip-title"><b>{ format!("{topic}-{p}") }</b>{ " — no live replica holds it" }</div></div>
                    },
                }
            }) }
            { if hidden > 0 { html! { <p class="muted">{ format!("and {hidden} more partitions (the first {MAX_PARTITIONS} are drawn)") }</p> } } else { html! {} } }
            <p class="legend-line muted">
                <span class="swatch expired"></span>{ "expired (retention) " }
                <span class="swatch txn"></span>{ "in a transaction " }
                <span class="swatch marker"></span>{ "commit/abort marker " }
                { "· HW = high watermark: consumers read below it · LEO = log end offset per replica" }
            </p>
        </div>
    }
}

fn strip(
    view: &View,
    log: &PartitionLogView,
    followed: Option<(&str, u32, Offset)>,
    dispatch: &Callback<Action>,
) -> Html {
    let topic = &log.topic;
    let partition = view
        .topics
        .iter()
        .find(|t| t.name == *topic)
        .and_then(|t| t.partitions.iter().find(|p| p.partition == log.partition));
    let ids = |v: &[kplay_core::BrokerId]| {
        v.iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let title = match partition {
        Some(p) if p.offline => format!(
            "{topic}-{} · OFFLINE · ISR [{}]",
            log.partition,
            ids(&p.isr)
        ),
        Some(p) => format!(
            "{topic}-{} · leader {} · ISR [{}]{}",
            log.partition,
            p.leader.map_or("-".into(), |l| l.to_string()),
            ids(&p.isr),
            if p.under_replicated {
                " · under-replicated"
            } else {
                ""
            }
        ),
        None => format!("{topic}-{}", log.partition),
    };
    let first = log.first_offset;
    let x_of = |offset: Offset| (offset.saturating_sub(first)) as f64 * CELL_W;
    // Markers under the strip: (offset, label, class), drawn as ticks with labels.
    let mut marks: Vec<(Offset, String, &'static str)> = vec![
        (
            log.log_start_offset,
            format!("start {}", log.log_start_offset),
            "start",
        ),
        (
            log.high_watermark,
            format!("HW {}", log.high_watermark),
            "hw",
        ),
    ];
    for b in &view.brokers {
        if let Some(r) = b
            .replicas
            .iter()
            .find(|r| r.topic == *topic && r.partition == log.partition)
        {
            marks.push((r.log_end_offset, format!("LEO b{}", b.id), "leo"));
        }
    }
    for g in &view.groups {
        if let Some(c) = g
            .offsets
            .iter()
            .find(|c| c.topic == *topic && c.partition == log.partition)
        {
            marks.push((c.committed, format!("{} committed", g.id), "committed"));
        }
    }
    marks.retain(|(o, _, _)| *o >= first && *o <= first + CELLS);
    kplay_core::sort::sort_by_key(&mut marks, |(o, _, _)| *o);
    let width = CELLS as f64 * CELL_W + 90.0;
    let height = CELL_H + 16.0 + marks.len().max(1) as f64 * 12.0;
    html! {
        <div class="strip" data-partition={format!("{topic}-{}", log.partition)}>
            <div class="strip-title"><b>{ title }</b>
                <span class="muted">{ format!(" · offsets {}–{} · log start {} · HW {} · LEO {} (copy on broker {})",
                    first, log.log_end_offset.saturating_sub(1), log.log_start_offset, log.high_watermark, log.log_end_offset, log.source) }</span>
            </div>
            <svg viewBox={format!("0 0 {width:.0} {height:.0}")} class="cells">
                { for log.cells.iter().map(|cell| {
                    let x = x_of(cell.offset);
                    let (class, fill, label) = match cell.kind {
                        CellKind::Expired => ("cell expired", "#d9dce3".to_string(), String::new()),
                        CellKind::Compacted => ("cell compacted", "#ffffff".to_string(), String::new()),
                        CellKind::Marker { commits } => ("cell marker", if commits { "#1d2330".to_string() } else { "#c8412b".to_string() }, if commits { "C".into() } else { "A".into() }),
                        CellKind::Record | CellKind::Transactional => {
                            let fill = cell.key.as_deref().map_or("#b7c2d6".to_string(), key_colour);
                            (if cell.kind == CellKind::Transactional { "cell txn" } else { "cell" }, fill, String::new())
                        }
                    };
                    let above_hw = cell.offset >= log.high_watermark && cell.kind != CellKind::Expired;
                    let is_followed = followed == Some((&**topic, log.partition, cell.offset));
                    let follow = Target::At { topic: topic.to_string(), partition: log.partition, offset: cell.offset, appended_at: None, producer: None, picked_at: view.now };
                    let onclick = dispatch.reform(move |_| Action::Follow(Some(follow.clone())));
                    html! {
                        <g class={classes!(class, above_hw.then_some("uncommitted"), is_followed.then_some("followed"))} {onclick} data-offset={cell.offset.to_string()}>
                            <title>{ format!("offset {}{}{}{}", cell.offset,
                                cell.key.as_deref().map_or(String::new(), |k| format!(" · key {k}")),
                                match cell.kind { CellKind::Expired => " · deleted by retention", CellKind::Compacted => " · removed by compaction", CellKind::Transactional => " · transactional", CellKind::Marker { commits: true } => " · COMMIT marker", CellKind::Marker { commits: false } => " · ABORT marker", CellKind::Record => "" },
                                if above_hw { " · above the HW: not yet visible to consumers" } else { "" }) }</title>
                            <rect x={format!("{x:.0}")} y="0" width={(CELL_W - 2.0).to_string()} height={CELL_H.to_string()} rx="3" fill={fill} />
                            { if label.is_empty() { html! {} } else { html! { <text x={format!("{:.0}", x + CELL_W / 2.0 - 1.0)} y="16">{ label }</text> } } }
                        </g>
                    }
                }) }
                { for marks.iter().enumerate().map(|(i, (offset, label, class))| {
                    let x = x_of(*offset) - 1.0;
                    let y = CELL_H + 12.0 + i as f64 * 12.0;
                    html! {
                        <g class={classes!("mark", *class)}>
                            <line x1={format!("{x:.0}")} x2={format!("{x:.0}")} y1="0" y2={format!("{:.0}", y - 8.0)} />
                            <text x={format!("{:.0}", x + 3.0)} y={format!("{y:.0}")}>{ label.clone() }</text>
                        </g>
                    }
                }) }
            </svg>
        </div>
    }
}
