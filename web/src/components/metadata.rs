//! KRaft mode's metadata log: the tail of `__cluster_metadata` on the active controller, drawn
//! like a partition's strip (`partitions.rs`): one cell per record, coloured by the record's
//! type, records above the high watermark faded, and under it the high watermark, each
//! controller's (voter's) log end offset and the offset each broker (observer) has applied.
//! Hovering a cell, or selecting it, shows the record.

use super::PanelProps;
use crate::state::Inner;
use kplay_core::view::{MetadataLogView, View};
use kplay_core::Offset;
use yew::prelude::*;

/// How many of the latest records the strip shows.
const CELLS: usize = 36;
const CELL_W: f64 = 20.0;
const CELL_H: f64 = 24.0;
const MARK_H: f64 = 14.0;

/// Record types and their colours, from the page's one palette (`index.html`), light and dark.
const KINDS: [(&str, &str); 11] = [
    ("LeaderChange", "var(--quorum)"),
    ("RegisterBroker", "var(--isr)"),
    ("BrokerRegistrationChange", "var(--warn)"),
    ("FeatureLevel", "var(--zk)"),
    ("Topic", "var(--leader)"),
    ("Partition", "var(--meta)"),
    ("PartitionChange", "var(--txn)"),
    ("Config", "var(--group)"),
    ("ProducerIds", "var(--muted)"),
    ("RemoveTopic", "var(--bad)"),
    ("NoOp", "var(--lane)"),
];

fn kind_colour(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("var(--lane)", |(_, c)| c)
}

/// The run in KRaft mode: this one, or in the compare view the other.
pub fn kraft_run(inner: &Inner) -> Option<&Inner> {
    if inner.loaded.cluster.mode.is_kraft() {
        Some(inner)
    } else {
        inner.twin.as_deref()
    }
}

/// What a record says: its fields as JSON, read from the controller's log.
fn record_text(inner: &Inner, controller: u32, offset: Offset) -> String {
    inner
        .sim
        .kraft_controller(controller)
        .and_then(|c| c.raft.log().entry(offset))
        .and_then(|e| serde_json::to_string(&e.record).ok())
        .unwrap_or_default()
}

#[component]
pub fn MetadataPanel(props: &PanelProps) -> Html {
    let selected = use_state(|| None::<Offset>);
    let state = props.state.get();
    let Some(inner) = kraft_run(&state) else {
        return html! {};
    };
    let view = inner.sim.view();
    let Some(log) = MetadataLogView::of(&inner.sim, CELLS) else {
        return html! { <p class="muted">{ "Every controller is down: no copy of the metadata log to show." }</p> };
    };
    let detail = selected
        .filter(|o| *o < log.log_end_offset)
        .map(|offset| (offset, record_text(inner, log.controller, offset)));
    strip(inner, &view, &log, detail, &selected)
}

fn strip(
    inner: &Inner,
    view: &View,
    log: &MetadataLogView,
    detail: Option<(Offset, String)>,
    selected: &UseStateHandle<Option<Offset>>,
) -> Html {
    let first = log.first_offset;
    let last = first + CELLS as u64;
    let x_of = |offset: Offset| offset.saturating_sub(first) as f64 * CELL_W;
    // Marks under the strip: the HW, the voters' LEOs, the observers' applied offsets; the
    // voters (or observers) at one offset share a line ("LEO 3000,3001").
    let mut marks: Vec<(Offset, String, &'static str)> = Vec::new();
    let mut mark = |offset: Offset, head: &str, id: u64, class: &'static str| {
        if offset < first || offset > last {
            return;
        }
        match marks
            .iter_mut()
            .find(|(o, _, c)| *o == offset && *c == class)
        {
            Some((_, text, _)) => {
                text.push_str(if class == "observer" { ",b" } else { "," });
                text.push_str(&id.to_string());
            }
            None => marks.push((offset, format!("{head}{id}"), class)),
        }
    };
    mark(log.high_watermark, "HW ", log.high_watermark, "hw");
    for c in view.controllers.iter().filter(|c| c.alive) {
        mark(c.log_end_offset, "LEO ", c.id.into(), "leo");
    }
    for b in view.brokers.iter().filter(|b| b.alive) {
        if let Some(applied) = b.metadata_offset {
            mark(applied + 1, "applied b", b.id.0.into(), "observer");
        }
    }
    kplay_core::sort::sort_by_key(&mut marks, |(o, _, _)| *o);
    let width = (log.cells.len().max(1) as f64) * CELL_W + 200.0;
    let height = CELL_H + 8.0 + marks.len().max(1) as f64 * MARK_H;
    html! {
        <div class="strip metadata" data-controller={log.controller.to_string()}>
            <div class="strip-title"><b>{ "__cluster_metadata-0" }</b>
                <span class="muted">{ format!(" · offsets {}–{} · HW {} · LEO {} (copy on controller {})",
                    first, log.log_end_offset.saturating_sub(1), log.high_watermark, log.log_end_offset, log.controller) }</span>
            </div>
            <div class="strip-scroll">
                <svg viewBox={format!("0 0 {width:.0} {height:.0}")} width={format!("{width:.0}")} height={format!("{height:.0}")} class="cells">
                    { for log.cells.iter().map(|cell| {
                        let x = x_of(cell.offset);
                        let above_hw = cell.offset >= log.high_watermark;
                        let offset = cell.offset;
                        let onclick = { let selected = selected.clone(); Callback::from(move |_| selected.set(Some(offset))) };
                        html! {
                            <g class={classes!("cell", above_hw.then_some("uncommitted"), (detail.as_ref().map(|d| d.0) == Some(offset)).then_some("followed"))}
                               {onclick} data-offset={offset.to_string()} data-kind={cell.kind}>
                                <title>{ format!("offset {offset} · epoch {} · {}{}\n{}", cell.epoch, cell.kind,
                                    if above_hw { " · above the HW: not committed yet" } else { "" }, record_text(inner, log.controller, offset)) }</title>
                                <rect x={format!("{x:.0}")} y="0" width={(CELL_W - 2.0).to_string()} height={CELL_H.to_string()} rx="3" style={format!("fill:{}", kind_colour(cell.kind))} />
                            </g>
                        }
                    }) }
                    { for marks.iter().enumerate().map(|(i, (offset, label, class))| {
                        let x = x_of(*offset) - 1.0;
                        let y = CELL_H + 12.0 + i as f64 * MARK_H;
                        html! {
                            <g class={classes!("mark", *class)} data-offset={offset.to_string()}>
                                <line x1={format!("{x:.0}")} x2={format!("{x:.0}")} y1="0" y2={format!("{:.0}", y - 9.0)} />
                                <text x={format!("{:.0}", x + 3.0)} y={format!("{y:.0}")}>{ label.clone() }</text>
                            </g>
                        }
                    }) }
                </svg>
            </div>
            { match detail {
                Some((offset, text)) => html! { <p class="record-detail"><b>{ format!("offset {offset}: ") }</b><code>{ text }</code></p> },
                None => html! { <p class="muted small">{ "Select a cell to read its record." }</p> },
            } }
            <p class="legend-line muted">
                { for KINDS.iter().map(|(kind, colour)| html! { <span class="kind"><i style={format!("background:{colour}")}></i>{ *kind }</span> }) }
                { " · HW = high watermark: committed below it · LEO = a controller's log end (a voter) · applied b1… = how far a broker (an observer) has applied the log" }
            </p>
        </div>
    }
}
