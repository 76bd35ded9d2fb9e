//! Committed offsets, as Kafka's `GroupCoordinator` and `GroupMetadataManager` keep them:
//! OffsetCommit and TxnOffsetCommit become records in the group's `__consumer_offsets`
//! partition, answered once replicated (acks=all); OffsetFetch reads what is committed; a
//! transaction's offsets count once its COMMIT marker reaches the partition.

use super::metadata::{Group, GroupState};
use super::{AfterWrite, CoordinatorWrite, GroupCoordinator, GroupTimer};
use crate::group::records::OffsetsRecord;
use crate::ids::{NodeId, Offset, TopicPartition};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{Correlation, ErrorCode, Message};
use crate::trace::Event;

/// An OffsetCommit or TxnOffsetCommit request as the coordinator takes it: the message's
/// fields and the client it came from.
#[derive(Clone, Debug)]
pub struct OffsetCommit {
    pub from: NodeId,
    pub correlation: Correlation,
    pub group_id: String,
    pub generation: i32,
    pub member_id: String,
    pub offsets: Vec<(TopicPartition, Offset)>,
    /// TxnOffsetCommit: the producer id and epoch whose transaction holds these offsets.
    pub txn: Option<(i64, i16)>,
}

impl GroupCoordinator {
    /// Kafka's `handleCommitOffsets` and `handleTxnCommitOffsets`: a member of the current
    /// generation (or anyone, for a group nobody is in) writes its offsets.
    pub(super) fn commit(
        &mut self,
        request: OffsetCommit,
        writes: &mut Vec<CoordinatorWrite>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let OffsetCommit {
            from,
            correlation,
            group_id,
            generation,
            member_id,
            offsets,
            txn,
        } = request;
        let (group_id, member_id) = (group_id.as_str(), member_id.as_str());
        let answer = |ctx: &mut Ctx<'_, GroupTimer>,
                      e: ErrorCode,
                      offsets: Vec<(TopicPartition, Offset)>| {
            let partitions = offsets.into_iter().map(|(tp, _)| (tp, Some(e))).collect();
            ctx.send(
                from,
                commit_response(txn.is_some(), correlation, partitions),
            );
        };
        let partition = match self.owned_partition(group_id) {
            Ok(p) => p,
            Err(e) => return answer(ctx, e, offsets),
        };
        let group = self
            .groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(group_id, partition));
        let error = if generation < 0 && member_id.is_empty() {
            // A commit from outside the group protocol: only for a group nobody is in.
            (group.state != GroupState::Empty).then_some(ErrorCode::UnknownMemberId)
        } else {
            match group.members.get_mut(member_id) {
                None => Some(ErrorCode::UnknownMemberId),
                Some(_) if generation != group.generation => Some(ErrorCode::IllegalGeneration),
                Some(_) if group.state == GroupState::CompletingRebalance => {
                    Some(ErrorCode::RebalanceInProgress)
                }
                Some(m) => {
                    m.last_heartbeat = ctx.now;
                    None
                }
            }
        };
        if let Some(e) = error {
            return answer(ctx, e, offsets);
        }
        writes.push(CoordinatorWrite {
            partition,
            records: offsets
                .iter()
                .map(|(tp, offset)| OffsetsRecord::Offset {
                    group: group_id.to_string(),
                    tp: tp.clone(),
                    offset: *offset,
                })
                .collect(),
            transactional: txn,
            then: match txn {
                None => AfterWrite::OffsetCommit {
                    client: from,
                    correlation,
                    group: group_id.to_string(),
                    offsets,
                },
                Some((producer_id, _)) => AfterWrite::TxnOffsetCommit {
                    client: from,
                    correlation,
                    group: group_id.to_string(),
                    producer_id,
                    offsets,
                },
            },
        });
    }

    /// Kafka's `handleFetchOffsets`. With `require_stable` (KIP-447), a partition with offsets
    /// in an open transaction answers UNSTABLE_OFFSET_COMMIT.
    pub(super) fn offset_fetch(
        &self,
        correlation: Correlation,
        group_id: &str,
        partitions: Vec<TopicPartition>,
        require_stable: bool,
    ) -> Message {
        match self.owned_partition(group_id) {
            Err(e) => Message::OffsetFetchResponse(msg::OffsetFetchResponse {
                correlation,
                error: Some(e),
                offsets: Vec::new(),
            }),
            Ok(_)
                if require_stable
                    && self.groups.get(group_id).is_some_and(|g| {
                        g.pending_txn_offsets
                            .values()
                            .any(|p| partitions.iter().any(|tp| p.contains_key(tp)))
                    }) =>
            {
                Message::OffsetFetchResponse(msg::OffsetFetchResponse {
                    correlation,
                    error: Some(ErrorCode::UnstableOffsetCommit),
                    offsets: Vec::new(),
                })
            }
            Ok(_) => {
                let committed = self.groups.get(group_id).map(|g| &g.offsets);
                // No partitions named: every committed offset (Kafka's `topics: null`).
                let partitions = if partitions.is_empty() {
                    committed.map_or_else(Vec::new, |c| c.keys().cloned().collect())
                } else {
                    partitions
                };
                let offsets = partitions
                    .into_iter()
                    .map(|tp| {
                        let o = committed.and_then(|c| c.get(&tp).copied());
                        (tp, o)
                    })
                    .collect();
                Message::OffsetFetchResponse(msg::OffsetFetchResponse {
                    correlation,
                    error: None,
                    offsets,
                })
            }
        }
    }

    /// A write to `__consumer_offsets` was replicated (or failed): Kafka's `storeOffsets`
    /// callback answers the commit.
    pub fn on_write_done(
        &mut self,
        then: AfterWrite,
        error: Option<ErrorCode>,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        let (client, correlation, group, offsets, txn) = match then {
            AfterWrite::Nothing => return,
            AfterWrite::OffsetCommit {
                client,
                correlation,
                group,
                offsets,
            } => (client, correlation, group, offsets, None),
            AfterWrite::TxnOffsetCommit {
                client,
                correlation,
                group,
                producer_id,
                offsets,
            } => (client, correlation, group, offsets, Some(producer_id)),
        };
        // Kafka's mapping of append errors to what a committing client understands.
        let error = error.map(|e| match e {
            ErrorCode::NotLeaderOrFollower | ErrorCode::FencedLeaderEpoch => {
                ErrorCode::NotCoordinator
            }
            ErrorCode::UnknownTopicOrPartition
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::NotEnoughReplicasAfterAppend
            | ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
            other => other,
        });
        match (error, txn) {
            (Some(_), _) => {}
            (None, None) => {
                if let Some(g) = self.groups.get_mut(&group) {
                    for (tp, offset) in &offsets {
                        g.offsets.insert(tp.clone(), *offset);
                    }
                }
                ctx.trace(committed_event(&group, &offsets));
            }
            (None, Some(producer_id)) => {
                if let Some(g) = self.groups.get_mut(&group) {
                    g.pending_txn_offsets
                        .entry(producer_id)
                        .or_default()
                        .extend(offsets.iter().cloned());
                }
            }
        }
        let partitions = offsets.into_iter().map(|(tp, _)| (tp, error)).collect();
        ctx.send(
            client,
            commit_response(txn.is_some(), correlation, partitions),
        );
    }

    /// A transaction marker reached `__consumer_offsets-partition`: the offsets that producer
    /// committed inside it count now (COMMIT) or never (ABORT).
    pub fn on_txn_marker(
        &mut self,
        partition: u32,
        producer_id: i64,
        commit: bool,
        ctx: &mut Ctx<'_, GroupTimer>,
    ) {
        for g in self
            .groups
            .values_mut()
            .filter(|g| g.partition == partition)
        {
            let Some(pending) = g.pending_txn_offsets.remove(&producer_id) else {
                continue;
            };
            if commit {
                let offsets: Vec<(TopicPartition, Offset)> = pending.into_iter().collect();
                for (tp, offset) in &offsets {
                    g.offsets.insert(tp.clone(), *offset);
                }
                ctx.trace(committed_event(&g.id, &offsets));
            }
        }
    }
}

fn committed_event(group: &str, offsets: &[(TopicPartition, Offset)]) -> Event {
    Event::OffsetsCommitted {
        group: group.to_string(),
        offsets: offsets
            .iter()
            .map(|(tp, o)| (tp.topic.clone(), tp.partition, *o))
            .collect(),
    }
}

fn commit_response(
    transactional: bool,
    correlation: Correlation,
    partitions: Vec<(TopicPartition, Option<ErrorCode>)>,
) -> Message {
    if transactional {
        Message::TxnOffsetCommitResponse(msg::TxnOffsetCommitResponse {
            correlation,
            partitions,
        })
    } else {
        Message::OffsetCommitResponse(msg::OffsetCommitResponse {
            correlation,
            partitions,
        })
    }
}
