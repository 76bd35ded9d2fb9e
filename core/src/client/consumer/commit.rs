//! Commits, as the consumer's application makes them: auto-commit inside poll every
//! `auto.commit.interval.ms`, commitSync (the application waits for the answer) before
//! processing (at-most-once) or after it (at-least-once), commitAsync (it goes on polling),
//! and, for an exactly-once application, offsets committed inside the transaction that
//! carries the records' outputs (`sendOffsetsToTransaction`).

use super::poll::{App, Polled};
use super::{Consumer, ConsumerTimer, Position};
use crate::client::group_member::GroupMember;
use crate::client::transactional::GroupContext;
use crate::ids::{Offset, TopicPartition};
use crate::node::Ctx;
use crate::protocol::{Correlation, ErrorCode};
use crate::scenario::CommitMode;

impl Consumer {
    /// `enable.auto.commit`, for an application that leaves committing to the consumer.
    pub(super) fn auto_commit(&self) -> bool {
        self.commit_mode == CommitMode::Auto && self.config.enable_auto_commit
    }

    /// Commits the current positions (of `only` these partitions, if given); returns the
    /// commit's correlation if one was sent.
    pub(super) fn commit_positions(
        &mut self,
        only: Option<&[TopicPartition]>,
        ctx: &mut Ctx<'_, ConsumerTimer>,
    ) -> Option<Correlation> {
        let offsets: Vec<(TopicPartition, Offset)> = self
            .partitions
            .iter()
            .filter_map(|(&p, s)| match s.position {
                Position::At(o) => Some((TopicPartition::new(&self.topic, p), o)),
                _ => None,
            })
            .filter(|(tp, _)| only.is_none_or(|o| o.contains(tp)))
            .collect();
        let group = self.group.as_mut()?;
        let correlation = group.commit(offsets, ctx);
        if correlation.is_some() {
            self.stats.commits += 1;
        }
        correlation
    }

    /// An OffsetCommit answered (or failed): a commitSync the application waits for is done.
    pub(super) fn on_commit_done(
        &mut self,
        correlation: Correlation,
        result: Result<(), ErrorCode>,
        ctx: &mut Ctx<'_, ConsumerTimer>,
    ) {
        if result.is_err() {
            self.stats.failed_commits += 1;
        }
        if let App::Committing {
            correlation: waiting,
            then,
        } = &mut self.app
        {
            if *waiting == correlation {
                let then = then.take();
                self.app = App::Idle;
                // The commit failed (e.g. a rebalance): at-most-once still goes on
                // to process, as an application catching CommitFailedException would.
                if let Some(records) = then {
                    self.start_processing(records, ctx);
                }
            }
        }
    }

    /// Exactly-once: one transaction for the outputs of these records and their offsets.
    pub(super) fn begin_transaction(&mut self, records: &Polled, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let outputs = self
            .output_topic
            .as_ref()
            .and_then(|t| self.metadata.partitions(t))
            .map_or(0, |p| p.len() as u32);
        let (Some(txn), Some(member), true) = (self.txn.as_mut(), self.group.as_ref(), outputs > 0)
        else {
            // No output metadata yet: these records will be fetched again.
            self.rewind();
            return;
        };
        let mut out = Vec::with_capacity(records.record_ids.len());
        let mut i = 0;
        for &(partition, _, _, count) in &records.ranges {
            for _ in 0..count {
                out.push((
                    partition % outputs,
                    records.record_ids[i],
                    records.timestamps[i],
                ));
                i += 1;
            }
        }
        let offsets: Vec<(TopicPartition, Offset)> = records
            .ranges
            .iter()
            .map(|&(p, _, last, _)| (TopicPartition::new(&self.topic, p), last + 1))
            .collect();
        let group = group_context(member);
        txn.begin(&out, offsets, &group, ctx);
        if txn.in_transaction() {
            self.app = App::Transacting;
        } else {
            self.rewind();
        }
    }

    pub(super) fn drive_transaction(&mut self, ctx: &mut Ctx<'_, ConsumerTimer>) {
        let (Some(txn), Some(member)) = (self.txn.as_mut(), self.group.as_ref()) else {
            return;
        };
        let group = group_context(member);
        let metadata = &self.metadata;
        txn.prepare(&metadata.brokers, ctx);
        txn.send_adds(&group, ctx);
        txn.advance(|tp| metadata.leader_for(tp), &group, ctx);
        if !txn.in_transaction() {
            self.app = App::Idle;
        } else {
            let at = txn
                .next_try()
                .max(ctx.now.plus_ms(self.config.retry_backoff_ms));
            self.wake(at, ctx);
        }
    }

    /// Forgets positions and buffered records: start again from the committed offsets.
    pub(super) fn rewind(&mut self) {
        for state in self.partitions.values_mut() {
            state.position = Position::Committed;
            state.buffered.clear();
        }
    }
}

fn group_context(member: &GroupMember) -> GroupContext {
    GroupContext {
        group_id: member.group_id.clone(),
        coordinator: member.coordinator,
        generation: member.generation,
        member_id: member.member_id.clone(),
    }
}
