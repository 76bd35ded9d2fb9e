//! What the page draws. Each module draws one panel from the `View` (and the reducer's
//! history and log); none of them changes state except by dispatching an `Action`.

pub mod actions;
pub mod charts;
pub mod config;
pub mod controls;
pub mod diagram;
pub mod event_log;
pub mod help;
pub mod lesson;
pub mod outcome;
pub mod partitions;

use crate::state::{Action, Playground};
use yew::prelude::*;

/// What a panel with its own state (filters, a form) gets: the reducer's handle and a way to
/// dispatch actions to it.
#[derive(Properties, PartialEq, Debug)]
pub struct PanelProps {
    pub state: Playground,
    pub dispatch: Callback<Action>,
}
