//! Tab completion for the terminal: tool names and kplay's verbs first, then a tool's
//! options, topic names after `--topic`, group ids after `--group`, znode paths for
//! `zookeeper-shell.sh`.

use super::args::{self, Opt};
use super::{tool_name, TOOLS};
use crate::sim::Sim;

/// kplay's own first words (see `fault_commands`).
const VERBS: &[&str] = &[
    "kill", "stop", "restart", "isolate", "cut", "heal", "slow", "crash", "close", "pause", "help",
];

fn options_of(tool: &str) -> &'static [Opt] {
    match tool {
        "kafka-topics" => super::topics::OPTS,
        "kafka-consumer-groups" => super::consumer_groups::OPTS,
        "kafka-console-producer" => super::console_producer::OPTS,
        "kafka-console-consumer" => super::console_consumer::OPTS,
        "kafka-configs" => super::configs::OPTS,
        "kafka-leader-election" => super::leader_election::OPTS,
        _ => &[],
    }
}

/// The lines `line` can become by completing its last word, sorted; empty if none.
pub fn complete(sim: &Sim, line: &str) -> Vec<String> {
    let Ok(words) = args::words(line) else {
        return Vec::new();
    };
    // The word being completed is empty when the line ends in a space.
    let ends_in_space = line.ends_with(char::is_whitespace) || line.is_empty();
    let (done, last) = match (ends_in_space, words.split_last()) {
        (true, _) | (false, None) => (words.as_slice(), ""),
        (false, Some((last, done))) => (done, last.as_str()),
    };
    let candidates: Vec<String> = match done.first() {
        None => TOOLS.iter().chain(VERBS).map(|s| s.to_string()).collect(),
        Some(tool) => {
            let tool = tool_name(tool);
            let previous = done.last().map(String::as_str);
            if last.starts_with('-') {
                options_of(tool)
                    .iter()
                    .map(|o| format!("--{}", o.name))
                    .collect()
            } else if matches!(previous, Some("--topic")) {
                sim.topics().keys().map(|t| t.to_string()).collect()
            } else if matches!(previous, Some("--group")) {
                crate::view::GroupView::all(sim)
                    .into_iter()
                    .map(|g| g.id)
                    .collect()
            } else if tool == "zookeeper-shell" && done.len() >= 3 {
                znodes(sim, last)
            } else {
                Vec::new()
            }
        }
    };
    // Only a word typed plainly (no quotes or escapes) is completed in place.
    let Some(prefix) = line.strip_suffix(last) else {
        return Vec::new();
    };
    let mut out: Vec<String> = candidates
        .into_iter()
        .filter(|c| c.starts_with(last) && c != last)
        .map(|c| format!("{prefix}{c}"))
        .collect();
    crate::sort::sort(&mut out);
    out.dedup();
    out
}

/// Paths under the parent of what is typed (`/brokers/t` → `/brokers/topics`).
fn znodes(sim: &Sim, typed: &str) -> Vec<String> {
    let Some(tree) = sim.zookeeper_tree() else {
        return Vec::new();
    };
    let parent = match typed.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &typed[..i],
    };
    let base = if parent == "/" { "" } else { parent };
    tree.children(parent)
        .into_iter()
        .map(|c| format!("{base}/{c}"))
        .collect()
}
