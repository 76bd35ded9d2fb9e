//! Becoming and ceasing to be a group coordinator, as Kafka's `GroupMetadataManager` does it:
//! a new leader of a `__consumer_offsets` partition loads its groups and offsets from the log
//! (`loadGroupsAndOffsets`), which is how coordination fails over; a former leader drops them
//! (`removeGroupsForPartition`) and sends its waiting members to the new coordinator.

use super::metadata::{Group, GroupState, Member};
use super::{join_error, sync_error, GroupCoordinator, GroupTimer};
use crate::group::records::OffsetsRecord;
use crate::log::PartitionLog;
use crate::node::Ctx;
use crate::protocol::ErrorCode;
use crate::trace::Event;
use crate::vec_map::VecMap;

impl GroupCoordinator {
    /// This broker now leads `__consumer_offsets-partition`: load its groups from the log.
    pub fn load(&mut self, partition: u32, log: &PartitionLog, ctx: &mut Ctx<'_, GroupTimer>) {
        if !self.partitions.insert(partition) {
            return;
        }
        let mut loaded: VecMap<String, Group> = VecMap::new();
        log.for_each_batch(log.log_start_offset(), u64::MAX, |batch| {
            let h = batch.header;
            if let Some(commit) = batch.marker_commits() {
                for g in loaded.values_mut() {
                    if let Some(pending) = g.pending_txn_offsets.remove(&h.producer_id) {
                        if commit {
                            g.offsets.extend(pending);
                        }
                    }
                }
                return true;
            }
            for r in batch.iter() {
                let Some(record) = OffsetsRecord::decode(r.key, r.value) else {
                    continue;
                };
                match record {
                    OffsetsRecord::Offset { group, tp, offset } => {
                        let g = loaded
                            .entry(group.clone())
                            .or_insert_with(|| Group::new(&group, partition));
                        if h.is_transactional {
                            g.pending_txn_offsets
                                .entry(h.producer_id)
                                .or_default()
                                .insert(tp, offset);
                        } else {
                            g.offsets.insert(tp, offset);
                        }
                    }
                    OffsetsRecord::Group {
                        group,
                        generation,
                        protocol,
                        leader,
                        members,
                    } => {
                        let g = loaded
                            .entry(group.clone())
                            .or_insert_with(|| Group::new(&group, partition));
                        g.generation = generation;
                        g.protocol = protocol;
                        g.leader = leader;
                        g.members = members
                            .into_iter()
                            .map(|m| {
                                let member = Member {
                                    member_id: m.member_id.clone(),
                                    group_instance_id: m.group_instance_id,
                                    client: m.client,
                                    session_timeout_ms: m.session_timeout_ms,
                                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                                    protocols: m.protocols,
                                    subscription: m.subscription,
                                    assignment: m.assignment,
                                    last_heartbeat: ctx.now,
                                    joined_seq: 0,
                                    awaiting_join: None,
                                    awaiting_sync: None,
                                };
                                (m.member_id, member)
                            })
                            .collect();
                        g.state = if g.members.is_empty() {
                            GroupState::Empty
                        } else {
                            GroupState::Stable
                        };
                    }
                }
            }
            true
        });
        let count = loaded.len() as u32;
        for (id, group) in loaded {
            for member in group.members.keys() {
                let timeout = group.members[member].session_timeout_ms;
                self.schedule_session(&id, member, timeout, ctx);
            }
            self.groups.insert(id, group);
        }
        ctx.trace(Event::CoordinatorLoaded {
            broker: self.broker,
            partition,
            groups: count,
        });
    }

    /// This broker no longer leads `__consumer_offsets-partition`: its groups go elsewhere.
    pub fn unload(&mut self, partition: u32, ctx: &mut Ctx<'_, GroupTimer>) {
        if !self.partitions.remove(&partition) {
            return;
        }
        let ids: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.partition == partition)
            .map(|(id, _)| id.clone())
            .collect();
        let moved = ids.len() as u32;
        for id in ids {
            let Some(group) = self.groups.remove(&id) else {
                continue;
            };
            for m in group.members.values() {
                if let Some(correlation) = m.awaiting_join {
                    ctx.send(
                        m.client,
                        join_error(correlation, ErrorCode::NotCoordinator, ""),
                    );
                }
                if let Some(correlation) = m.awaiting_sync {
                    ctx.send(m.client, sync_error(correlation, ErrorCode::NotCoordinator));
                }
            }
        }
        ctx.trace(Event::CoordinatorUnloaded {
            broker: self.broker,
            partition,
            groups: moved,
        });
    }
}
