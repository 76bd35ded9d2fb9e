//! The consumer's side of a rebalance, as Kafka's `ConsumerCoordinator` drives it from poll:
//! rejoining when the group asks (an eager member revokes everything first), the partitions
//! an assignment adds, revokes or loses (the `ConsumerRebalanceListener` callbacks, which
//! commit what was processed), and the committed offsets a new partition starts from.

use super::poll::App;
use super::{Consumer, ConsumerTimer, PartitionState, Position};
use crate::client::group_member::{MemberEvent, MemberState};
use crate::ids::TopicPartition;
use crate::node::Ctx;
use crate::scenario::CommitMode;
use crate::trace::Event;
use std::collections::VecDeque;

impl Consumer {
    /// Kafka's `ConsumerCoordinator.poll`: find the coordinator, rejoin if needed, and fetch
    /// the committed offsets of partitions that have no position yet.
    pub(super) fn drive_group(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let brokers = &self.metadata.brokers;
        let Some(group) = self.group.as_mut() else {
            return;
        };
        if matches!(group.state, MemberState::Failed(_)) || ctx.now < group.next_try() {
            if ctx.now < group.next_try() {
                let at = group.next_try();
                self.wake(at, ctx);
            }
            return;
        }
        if !group.ensure_coordinator(brokers, ctx) {
            let at = group
                .next_try()
                .max(ctx.now.plus_ms(self.config.retry_backoff_ms));
            self.wake(at, ctx);
            return;
        }
        // Rejoin happens inside poll: a busy application delays it (up to the rebalance
        // timeout, max.poll.interval.ms).
        let polling = matches!(self.app, App::Idle) && ctx.now >= self.paused_until;
        let joinable = matches!(group.state, MemberState::Unjoined | MemberState::Stable);
        if group.rejoin_needed
            && joinable
            && polling
            && self.metadata.partitions(&self.topic).is_some()
        {
            if !group.is_cooperative() {
                // Eager: `onPartitionsRevoked` for everything before rejoining.
                let generation = group.generation;
                let revoked = group.revoke_all();
                self.on_revoked(&revoked, true, ctx);
                if !revoked.is_empty() {
                    ctx.trace(Event::ConsumerAssigned {
                        consumer: self.index,
                        group: self.group_id().unwrap_or_default().to_string(),
                        generation,
                        assigned: Vec::new(),
                        revoked: revoked
                            .iter()
                            .map(|tp| (tp.topic.clone(), tp.partition))
                            .collect(),
                        owns: self.partitions.len() as u32,
                    });
                }
            }
            let group = self.group.as_mut().expect("checked above");
            group.join(&self.topic.clone(), ctx);
        }
        self.fetch_committed_offsets(ctx);
    }

    /// Revoked partitions: commit their progress (if this application commits), drop buffers.
    pub(super) fn on_revoked(
        &mut self,
        revoked: &[TopicPartition],
        commit: bool,
        ctx: &mut Ctx<'_, ConsumerTimer>,
    ) {
        if revoked.is_empty() {
            return;
        }
        let commits = match self.commit_mode {
            CommitMode::Auto => self.auto_commit(),
            CommitMode::BeforeProcessing
            | CommitMode::AfterProcessing
            | CommitMode::AfterProcessingAsync => true,
            // Offsets go only through transactions.
            CommitMode::Transactional => false,
        };
        if commit && commits {
            self.commit_positions(Some(revoked), ctx);
        }
        for tp in revoked {
            self.partitions.remove(&tp.partition);
        }
    }

    fn fetch_committed_offsets(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let wanted: Vec<TopicPartition> = self
            .partitions
            .iter()
            .filter(|(_, s)| s.position == Position::Committed)
            .map(|(&p, _)| TopicPartition::new(&self.topic, p))
            .collect();
        if let Some(group) = self.group.as_mut() {
            if !group.offset_fetch_pending() {
                group.fetch_offsets(wanted, ctx);
            }
        }
    }

    /// What the group member heard, applied to this consumer's partitions.
    pub(super) fn on_member_events(
        &mut self,
        events: Vec<MemberEvent>,
        ctx: &mut Ctx<'_, ConsumerTimer>,
    ) {
        for event in events {
            match event {
                MemberEvent::Assigned {
                    generation,
                    added,
                    revoked,
                } => {
                    self.on_revoked(&revoked, true, ctx);
                    for tp in &added {
                        self.partitions.insert(
                            tp.partition,
                            PartitionState {
                                position: Position::Committed,
                                buffered: VecDeque::new(),
                            },
                        );
                    }
                    let list = |v: &[TopicPartition]| {
                        v.iter()
                            .map(|tp| (tp.topic.clone(), tp.partition))
                            .collect()
                    };
                    ctx.trace(Event::ConsumerAssigned {
                        consumer: self.index,
                        group: self.group_id().unwrap_or_default().to_string(),
                        generation,
                        assigned: list(&added),
                        revoked: list(&revoked),
                        owns: self.partitions.len() as u32,
                    });
                }
                MemberEvent::Lost(lost) => self.on_revoked(&lost, false, ctx),
                MemberEvent::Committed {
                    correlation,
                    result,
                } => self.on_commit_done(correlation, result, ctx),
                MemberEvent::OffsetsFetched(offsets) => {
                    for (tp, committed) in offsets {
                        if let Some(state) = self.partitions.get_mut(&tp.partition) {
                            if state.position == Position::Committed {
                                state.position = committed.map_or(Position::Reset, Position::At);
                            }
                        }
                    }
                }
                MemberEvent::Failed(_) => self.partitions.clear(),
            }
        }
    }
}
