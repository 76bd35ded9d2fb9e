//! Carrying a run into the other metadata mode: the mode switch and the compare view both
//! translate what the learner did with `Scenario::with_mode`'s own rule (a link to the control
//! plane stays one), and drop, by name, what has no meaning in the other mode (a ZooKeeper
//! server's or a controller's own fault).

use kplay_core::scenario::{ClusterMode, ScheduledAction};
use kplay_core::{Command, Scenario};

pub fn other(mode: ClusterMode) -> ClusterMode {
    match mode {
        ClusterMode::ZooKeeper => ClusterMode::KRaft,
        ClusterMode::KRaft => ClusterMode::ZooKeeper,
    }
}

/// What the modes are called on the page.
pub fn title(mode: ClusterMode) -> &'static str {
    match mode {
        ClusterMode::ZooKeeper => "ZooKeeper mode",
        ClusterMode::KRaft => "KRaft mode",
    }
}

/// `command`, given to a cluster built from `scenario`, as the same cluster in mode `to` has
/// it; None when it means nothing there. The core translates it, as part of a scenario of its
/// own, so the rule is `Scenario::with_mode`'s.
pub fn translate(scenario: &Scenario, command: &Command, to: ClusterMode) -> Option<Command> {
    if scenario.cluster.mode == to {
        return Some(command.clone());
    }
    let mut one = scenario.clone();
    one.lesson = None;
    one.actions = vec![ScheduledAction {
        at_ms: 0,
        command: command.clone(),
    }];
    one.with_mode(to).ok()?.actions.pop().map(|a| a.command)
}

/// The actions recorded on a run of `scenario`, in mode `to`: each translated, or named in the
/// second list when it has no meaning there.
pub fn carry(
    scenario: &Scenario,
    recorded: &[ScheduledAction],
    to: ClusterMode,
) -> (Vec<ScheduledAction>, Vec<String>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for action in recorded {
        match translate(scenario, &action.command, to) {
            Some(command) => kept.push(ScheduledAction {
                at_ms: action.at_ms,
                command,
            }),
            None => dropped.push(action.command.describe()),
        }
    }
    (kept, dropped)
}

/// The sentence that names what was not carried into mode `to`.
pub fn dropped_notice(dropped: &[String], to: ClusterMode) -> Option<String> {
    if dropped.is_empty() {
        return None;
    }
    Some(format!(
        "Not carried over to {}: {} (no such node there).",
        title(to),
        dropped.join("; ")
    ))
}
