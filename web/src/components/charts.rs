//! Charts drawn as SVG from the per-second history: throughput, consumer lag per group,
//! end-to-end latency p50/p99, under-replicated and offline partitions — each with the faults
//! marked on its time axis — and a table of the traffic per Kafka API.

use crate::components::diagram::LEGEND;
use crate::history::{History, Sample, Traffic};
use yew::prelude::*;

const W: f64 = 460.0;
const H: f64 = 150.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 20.0;
const TOP: f64 = 8.0;
/// Series colours: the page's one palette (the diagram's message kinds).
const PALETTE: [&str; 6] = [
    LEGEND[0].1,
    LEGEND[1].1,
    LEGEND[2].1,
    LEGEND[3].1,
    LEGEND[6].1,
    LEGEND[5].1,
];

struct Series {
    name: String,
    points: Vec<(f64, f64)>,
}

pub fn charts(history: &History) -> Html {
    let samples = &history.samples;
    if samples.len() < 2 {
        return html! { <p class="muted">{ "The charts start after the first simulated seconds." }</p> };
    }
    let t = |s: &Sample| s.at.as_secs_f64();
    let series = |name: &str, f: &dyn Fn(&Sample) -> Option<f64>| Series {
        name: name.to_string(),
        points: samples.iter().filter_map(|s| Some((t(s), f(s)?))).collect(),
    };
    let mut groups: Vec<String> = samples
        .iter()
        .flat_map(|s| s.lag.iter().map(|(g, _)| g.clone()))
        .collect();
    kplay_core::sort::sort(&mut groups);
    groups.dedup();
    let lag: Vec<Series> = groups
        .iter()
        .map(|g| {
            series(&format!("group {g}"), &|s| {
                s.lag
                    .iter()
                    .find(|(name, _)| name == g)
                    .map(|(_, l)| *l as f64)
            })
        })
        .collect();
    html! {
        <div class="charts">
            { chart("Throughput (records/s)", history, vec![
                series("produced", &|s| Some(s.produced)),
                series("acknowledged", &|s| Some(s.acked)),
                series("consumed", &|s| Some(s.consumed)),
            ]) }
            { if lag.is_empty() {
                html! { <div class="chart"><h3>{ "Consumer lag (records)" }</h3><p class="muted">{ "No consumer group in this scenario." }</p></div> }
            } else { chart("Consumer lag (records)", history, lag) } }
            { chart("End-to-end latency (ms, histogram bucket floors: up to 12.5 % low)", history, vec![
                series("p50", &|s| s.e2e_p50_ms),
                series("p99", &|s| s.e2e_p99_ms),
            ]) }
            { chart("Partitions in trouble (all topics, incl. internal)", history, vec![
                series("under-replicated", &|s| Some(s.under_replicated as f64)),
                series("offline", &|s| Some(s.offline as f64)),
            ]) }
            { traffic(samples.back().map_or(&[], |s| s.traffic.as_slice())) }
        </div>
    }
}

/// APIs shown in the traffic table; the rest are summed in one line.
const TRAFFIC_ROWS: usize = 14;

/// How chatty each protocol is: messages and bytes per API in the last simulated second, as
/// bars coloured like the diagram's dots.
fn traffic(rows: &[Traffic]) -> Html {
    let most = rows.iter().map(|t| t.messages).max().unwrap_or(1).max(1) as f64;
    let rest = rows.iter().skip(TRAFFIC_ROWS);
    let (rest_count, rest_messages) = rest.fold((0, 0), |(n, m), t| (n + 1, m + t.messages));
    html! {
        <div class="chart traffic">
            <h3>{ "Traffic by API (last simulated second: requests and responses)" }</h3>
            <table>
                <thead><tr><th>{ "API" }</th><th>{ "messages/s" }</th><th>{ "bytes/s" }</th></tr></thead>
                <tbody>
                    { for rows.iter().take(TRAFFIC_ROWS).map(|t| html! {
                        <tr data-api={t.api}>
                            <td>{ t.api }</td>
                            <td class="bar-cell">
                                <span class="bar" style={format!("width:{:.0}%;background:{}", t.messages as f64 / most * 100.0, crate::components::diagram::colour(t.kind))}></span>
                                { t.messages.to_string() }
                            </td>
                            <td>{ format_bytes(t.bytes) }</td>
                        </tr>
                    }) }
                    { if rest_count > 0 {
                        html! { <tr><td class="muted">{ format!("{rest_count} more") }</td><td>{ rest_messages.to_string() }</td><td></td></tr> }
                    } else { html! {} } }
                </tbody>
            </table>
        </div>
    }
}

fn format_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// A round number at or above `v` for the y axis (1, 2, 5 × 10^n).
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let exp = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * exp)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * exp)
}

fn chart(title: &str, history: &History, series: Vec<Series>) -> Html {
    let samples = &history.samples;
    let (t0, t1) = (
        samples.front().map_or(0.0, |s| s.at.as_secs_f64()),
        samples.back().map_or(1.0, |s| s.at.as_secs_f64()),
    );
    let span = (t1 - t0).max(1.0);
    let max = nice_max(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max),
    );
    let x = |t: f64| LEFT + (t - t0) / span * (W - LEFT - 6.0);
    let y = |v: f64| TOP + (1.0 - v / max) * (H - TOP - BOTTOM);
    let latest = |s: &Series| {
        s.points
            .last()
            .map_or("–".to_string(), |p| format_value(p.1))
    };
    html! {
        <div class="chart">
            <h3>{ title }</h3>
            <svg viewBox={format!("0 0 {W} {H}")} role="img" aria-label={title.to_string()}>
                <line class="axis" x1={LEFT.to_string()} x2={(W - 6.0).to_string()} y1={y(0.0).to_string()} y2={y(0.0).to_string()} />
                <line class="grid" x1={LEFT.to_string()} x2={(W - 6.0).to_string()} y1={y(max).to_string()} y2={y(max).to_string()} />
                <text class="tick end" x={(LEFT - 4.0).to_string()} y={(y(max) + 4.0).to_string()}>{ format_value(max) }</text>
                <text class="tick end" x={(LEFT - 4.0).to_string()} y={(y(0.0) + 4.0).to_string()}>{ "0" }</text>
                <text class="tick start" x={LEFT.to_string()} y={(H - 4.0).to_string()}>{ format!("{t0:.0} s") }</text>
                <text class="tick end" x={(W - 6.0).to_string()} y={(H - 4.0).to_string()}>{ format!("{t1:.0} s") }</text>
                { for history.markers.iter().filter(|m| m.at.as_secs_f64() >= t0).map(|m| {
                    let mx = x(m.at.as_secs_f64());
                    html! {
                        <g class="fault">
                            <title>{ format!("{:.1} s: {}", m.at.as_secs_f64(), m.label) }</title>
                            <line x1={format!("{mx:.1}")} x2={format!("{mx:.1}")} y1={TOP.to_string()} y2={y(0.0).to_string()} />
                            <text x={format!("{mx:.1}")} y={(TOP + 8.0).to_string()}>{ "⚡" }</text>
                        </g>
                    }
                }) }
                { for series.iter().enumerate().map(|(i, s)| {
                    let points: String = s.points.iter().map(|(t, v)| format!("{:.1},{:.1} ", x(*t), y(*v))).collect();
                    html! { <polyline points={points} stroke={PALETTE[i % PALETTE.len()]} /> }
                }) }
            </svg>
            <div class="series">
                { for series.iter().enumerate().map(|(i, s)| html! {
                    <span><i style={format!("background:{}", PALETTE[i % PALETTE.len()])}></i>{ format!("{} {}", s.name, latest(s)) }</span>
                }) }
            </div>
        </div>
    }
}

fn format_value(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1_000.0)
    } else if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
