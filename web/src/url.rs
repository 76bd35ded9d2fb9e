//! The URL fragment that shares a run: `#s=<share string>&t=<ms>` (milliseconds of simulated
//! time, with a fraction when paused between milliseconds, so the moment is exact). It never reaches a server;
//! the share string is `kplay_core::share`'s (versioned, compressed, validated on the way in).

use kplay_core::{share, Scenario, SimTime};

/// The fragment (without `#`) for a scenario's share string at a moment.
pub fn fragment(share_string: &str, at: SimTime) -> String {
    let us = at.as_us();
    if us.is_multiple_of(1_000) {
        format!("s={share_string}&t={}", us / 1_000)
    } else {
        format!("s={share_string}&t={}.{:03}", us / 1_000, us % 1_000)
    }
}

/// Reads a fragment (with or without `#`): the scenario and, if given, the moment to open at.
pub fn parse(fragment: &str) -> Result<(Scenario, Option<SimTime>), String> {
    let fragment = fragment.trim().trim_start_matches('#');
    let mut share_string = None;
    let mut at = None;
    for part in fragment.split('&') {
        if let Some(s) = part.strip_prefix("s=") {
            share_string = Some(s);
        } else if let Some(t) = part.strip_prefix("t=") {
            let ms: f64 = t
                .parse()
                .ok()
                .filter(|ms: &f64| ms.is_finite() && *ms >= 0.0)
                .ok_or_else(|| format!("the time t={t} is not a number of milliseconds"))?;
            if ms > kplay_core::scenario::LIMITS.duration_ms as f64 {
                return Err(format!(
                    "the time t={t} is past the longest run kplay allows"
                ));
            }
            at = Some(SimTime((ms * 1_000.0).round() as u64));
        }
    }
    let share_string = share_string.ok_or("it has no s=… part with a scenario")?;
    let scenario = share::decode(share_string).map_err(|e| e.to_string())?;
    Ok((scenario, at))
}

/// The record a fragment follows (`&f=topic/partition/offset/µs`), if any; a malformed one is
/// an error that says what is wrong.
pub fn followed(fragment: &str) -> Result<Option<crate::follow::Target>, String> {
    let fragment = fragment.trim().trim_start_matches('#');
    match fragment.split('&').find_map(|part| part.strip_prefix("f=")) {
        Some(f) if f.len() > 400 => Err("the followed record is too long".to_string()),
        Some(f) => crate::follow::decode(f).map(Some),
        None => Ok(None),
    }
}

/// The compare view's part of a fragment, if it opens the compare view: `1`, or the other
/// run's share string (`&c=v1.…`).
pub fn compare(fragment: &str) -> Option<&str> {
    fragment
        .trim()
        .split('&')
        .find_map(|part| part.strip_prefix("c="))
}

/// The current page's fragment, if any.
pub fn current_fragment() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    Some(hash.trim_start_matches('#').to_string()).filter(|h| !h.is_empty())
}

/// The full link for a fragment, from the page's own address.
pub fn link(fragment: &str) -> String {
    let base = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default();
    let base = base.split('#').next().unwrap_or_default();
    format!("{base}#{fragment}")
}
