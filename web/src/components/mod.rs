//! What the page draws. Each module draws one panel from the `View` (and the reducer's
//! history and log); none of them changes state except by dispatching an `Action`.

pub mod actions;
pub mod charts;
pub mod config;
pub mod controls;
pub mod diagram;
pub mod event_log;
pub mod follow_panel;
pub mod help;
pub mod inspector;
pub mod layout;
pub mod lesson;
pub mod metadata;
pub mod outcome;
pub mod partitions;
pub mod terminal;

use crate::state::{Action, Playground};
use yew::prelude::*;

/// What a panel component gets: the reducer's handle, a way to dispatch actions, and the
/// version of what it draws. It redraws only when that version changes, not every frame.
#[derive(Properties, Debug)]
pub struct PanelProps {
    pub state: Playground,
    pub dispatch: Callback<Action>,
    pub version: u64,
}

impl PartialEq for PanelProps {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.dispatch == other.dispatch
    }
}

/// Charts, as a component so they redraw once per sample rather than every frame.
#[component]
pub fn ChartsPanel(props: &PanelProps) -> Html {
    charts::charts(&props.state.get().history)
}

/// The partition strips, as a component so they redraw at most ten times a wall second while
/// playing (`Inner::logs_version`) instead of every frame.
#[component]
pub fn PartitionsPanel(props: &PanelProps) -> Html {
    let inner = props.state.get();
    partitions::partitions(&inner, &inner.sim.view(), &props.dispatch)
}
