//! The event log the page shows: the trace's human-readable lines, each with a kind to filter
//! by. Bounded: the oldest lines go first.

use kplay_core::{Event, SimTime, TraceEvent};
use std::collections::VecDeque;

const MAX_LINES: usize = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Something a person or the scenario did: crashes, restarts, cut links, commands.
    Fault,
    ZooKeeper,
    Controller,
    Partition,
    Group,
    Transaction,
    Client,
    /// `__consumer_offsets` and `__transaction_state` partitions: many, and rarely the point.
    Internal,
    Violation,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Fault,
        Kind::ZooKeeper,
        Kind::Controller,
        Kind::Partition,
        Kind::Group,
        Kind::Transaction,
        Kind::Client,
        Kind::Internal,
        Kind::Violation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Fault => "faults & actions",
            Kind::ZooKeeper => "ZooKeeper",
            Kind::Controller => "controller",
            Kind::Partition => "partitions",
            Kind::Group => "groups",
            Kind::Transaction => "transactions",
            Kind::Client => "clients",
            Kind::Internal => "internal topics",
            Kind::Violation => "violations",
        }
    }

    pub fn of(event: &Event) -> Kind {
        match event {
            Event::NodeCrashed { .. }
            | Event::NodeClosed { .. }
            | Event::NodeStarted { .. }
            | Event::LinkCut { .. }
            | Event::LinkHealed { .. }
            | Event::LinkSlowed { .. }
            | Event::CommandApplied { .. } => Kind::Fault,
            Event::ZkLeaderElected { .. }
            | Event::ZkLookingForLeader { .. }
            | Event::ZnodeCreated { .. }
            | Event::ZnodeDeleted { .. }
            | Event::ZkSessionExpired { .. } => Kind::ZooKeeper,
            Event::QuorumElectionStarted { .. }
            | Event::QuorumLeaderElected { .. }
            | Event::QuorumResigned { .. }
            | Event::QuorumHighWatermark { .. }
            | Event::KRaftControllerActivated { .. }
            | Event::KRaftBrokerUnfenced { .. }
            | Event::KRaftBrokerFenced { .. } => Kind::Controller,
            Event::ControllerElected { .. }
            | Event::ControllerResigned { .. }
            | Event::TopicCreated { .. }
            | Event::InternalTopicRefused { .. }
            | Event::PartitionsAdded { .. }
            | Event::TopicConfigChanged { .. }
            | Event::TopicDeleted { .. } => Kind::Controller,
            Event::LeaderElected { .. }
            | Event::IsrShrunk { .. }
            | Event::IsrExpanded { .. }
            | Event::LogTruncated { .. }
            | Event::RecordsExpired { .. }
            | Event::RecordsCompacted { .. }
            | Event::RecordsAppended { .. }
            | Event::HighWatermarkAdvanced { .. } => Kind::Partition,
            Event::CoordinatorLoaded { .. }
            | Event::CoordinatorUnloaded { .. }
            | Event::GroupRebalanceStarted { .. }
            | Event::GroupRebalanced { .. }
            | Event::GroupStable { .. }
            | Event::GroupMemberRemoved { .. }
            | Event::OffsetsCommitted { .. }
            | Event::ConsumerAssigned { .. }
            | Event::ConsumerPollTimeout { .. } => Kind::Group,
            Event::TransactionEnding { .. }
            | Event::TransactionEnded { .. }
            | Event::ProducerFenced { .. } => Kind::Transaction,
            Event::InvariantViolated { .. } => Kind::Violation,
            Event::MessageSent { .. }
            | Event::MessageDropped { .. }
            | Event::ProducerAcked { .. }
            | Event::ProducerRetry { .. }
            | Event::ProducerFailed { .. }
            | Event::ConsumerProcessed { .. }
            | Event::ConsumerOffsetReset { .. }
            | Event::ConsumerNoOffset { .. } => Kind::Client,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub at: SimTime,
    pub kind: Kind,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct EventLog {
    lines: VecDeque<Line>,
    /// Lines added so far (the log panel's version).
    pub added: u64,
}

impl EventLog {
    pub fn absorb(&mut self, event: &TraceEvent) {
        if let Some(text) = event.event.describe() {
            if self.lines.len() == MAX_LINES {
                self.lines.pop_front();
            }
            self.added += 1;
            self.lines.push_back(Line {
                at: event.at,
                kind: if text.contains("__consumer_offsets") || text.contains("__transaction_state")
                {
                    Kind::Internal
                } else {
                    Kind::of(&event.event)
                },
                text,
            });
        }
    }

    /// The newest lines first, of the kinds shown and containing `search` (ASCII letters in any case:
    /// `to_ascii_lowercase` keeps the page free of the Unicode case tables, about 18 KB gzipped).
    pub fn newest<'a>(
        &'a self,
        shown: &'a [Kind],
        search: &'a str,
    ) -> impl Iterator<Item = &'a Line> + 'a {
        let search = search.to_ascii_lowercase();
        self.lines.iter().rev().filter(move |l| {
            shown.contains(&l.kind)
                && (search.is_empty() || l.text.to_ascii_lowercase().contains(&search))
        })
    }
}
