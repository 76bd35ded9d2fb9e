//! KRaft: a committed metadata record is never lost or changed. Each time a quorum leader's
//! high watermark moves, its log below the high watermark must extend, record for record,
//! everything committed before (Raft's leader completeness: a voter without every committed
//! entry cannot win a majority of votes). Records behind the log start are kept by the
//! snapshot the log was cut behind (KIP-630).

use super::World;
use crate::ids::Offset;
use crate::raft::log::LogEntry;
use crate::trace::Event;
use crate::vec_map::VecMap;

pub const NAME: &str = "committed_metadata_survives";

#[derive(Debug, Default)]
pub struct CommittedMetadataSurvives {
    /// The committed prefix of `__cluster_metadata`, as leaders exposed it.
    committed: Vec<LogEntry>,
    /// Per leader and epoch, how far its log was already compared.
    checked: VecMap<(u32, u32), Offset>,
}

impl CommittedMetadataSurvives {
    pub fn observe(&mut self, event: &Event, world: &dyn World) -> Option<String> {
        let Event::QuorumHighWatermark {
            node,
            epoch,
            offset,
        } = event
        else {
            return None;
        };
        let log = world.metadata_log(*node)?;
        // Records below the log start count as kept only by a snapshot that covers them.
        let start = log.log_start_offset();
        if start > 0 && log.snapshot().is_none_or(|s| s.id.offset < start) {
            return Some(format!(
                "controller {node} (epoch {epoch}) deleted its log below offset {start} \
                 without a snapshot that covers it"
            ));
        }
        let from = self.checked.get(&(*node, *epoch)).copied().unwrap_or(0);
        for o in from.max(log.log_start_offset())..*offset {
            let Some(entry) = log.entry(o) else {
                return Some(format!(
                    "controller {node} (epoch {epoch}) exposes offset {o} below its high \
                     watermark {offset} but does not hold it"
                ));
            };
            match self.committed.get(o as usize) {
                Some(before) if before != entry => {
                    return Some(format!(
                        "committed metadata record at offset {o} changed: {before:?} became \
                         {entry:?} on controller {node} (epoch {epoch})"
                    ))
                }
                Some(_) => {}
                None => {
                    debug_assert_eq!(o as usize, self.committed.len());
                    self.committed.push(entry.clone());
                }
            }
        }
        self.checked.insert((*node, *epoch), *offset);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::log::{MetadataRecord, RaftLog};

    struct Logs(VecMap<u32, RaftLog>);
    impl World for Logs {
        fn replica(
            &self,
            _: crate::ids::BrokerId,
            _: &crate::ids::TopicPartition,
        ) -> Option<&crate::broker::replica::Replica> {
            None
        }
        fn log(
            &self,
            _: crate::ids::BrokerId,
            _: &crate::ids::TopicPartition,
        ) -> Option<&crate::log::PartitionLog> {
            None
        }
        fn live_replicas(&self) -> Vec<(crate::ids::BrokerId, &crate::broker::replica::Replica)> {
            Vec::new()
        }
        fn metadata_log(&self, node: u32) -> Option<&RaftLog> {
            self.0.get(&node)
        }
    }

    fn log(records: &[(u32, MetadataRecord)]) -> RaftLog {
        let mut log = RaftLog::new();
        for (epoch, r) in records {
            log.append_as_leader(*epoch, r.clone());
        }
        log
    }

    #[test]
    fn a_changed_committed_record_is_caught() {
        let noop = MetadataRecord::NoOp;
        let topic = MetadataRecord::Topic {
            name: "t".into(),
            topic_id: 1,
        };
        let mut world = Logs(VecMap::new());
        world
            .0
            .insert(3000, log(&[(1, noop.clone()), (1, topic.clone())]));
        // A new leader of epoch 2 whose log lost offset 1.
        world
            .0
            .insert(3001, log(&[(1, noop.clone()), (2, noop.clone())]));
        let mut check = CommittedMetadataSurvives::default();
        let hw = |node, epoch, offset| Event::QuorumHighWatermark {
            node,
            epoch,
            offset,
        };
        assert_eq!(check.observe(&hw(3000, 1, 2), &world), None);
        assert!(check.observe(&hw(3001, 2, 2), &world).is_some());
        // A leader that kept everything passes.
        world.0.insert(3002, log(&[(1, noop), (1, topic)]));
        assert_eq!(check.observe(&hw(3002, 3, 2), &world), None);
    }
}
