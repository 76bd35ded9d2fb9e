//! KRaft: a committed metadata record is never lost or changed. Each time a quorum leader's
//! high watermark moves, its log below the high watermark must extend, record for record,
//! everything committed before (Raft's leader completeness: a voter without every committed
//! entry cannot win a majority of votes). Records behind the log start are kept by the
//! snapshot the log was cut behind (KIP-630).

use super::World;
use crate::ids::Offset;
use crate::kraft::image::{Delta, MetadataImage};
use crate::raft::log::{LogEntry, OffsetAndEpoch};
use crate::trace::Event;
use crate::vec_map::VecMap;

pub const NAME: &str = "committed_metadata_survives";

#[derive(Debug, Default)]
pub struct CommittedMetadataSurvives {
    /// The committed prefix of `__cluster_metadata`, as leaders exposed it.
    committed: Vec<Option<LogEntry>>,
    /// Per leader and epoch, how far its log was already compared.
    checked: VecMap<(u32, u32), Offset>,
    /// Per leader, the snapshot already compared with the committed records.
    verified: VecMap<u32, OffsetAndEpoch>,
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
        let start = log.log_start_offset();
        let from = self.checked.get(&(*node, *epoch)).copied().unwrap_or(0);
        for o in from.max(start)..*offset {
            let Some(entry) = log.entry(o) else {
                return Some(format!(
                    "controller {node} (epoch {epoch}) exposes offset {o} below its high \
                     watermark {offset} but does not hold it"
                ));
            };
            let i = o as usize;
            if self.committed.len() <= i {
                // Offsets first seen behind some leader's snapshot stay unknown (`None`).
                self.committed.resize(i + 1, None);
            }
            match &self.committed[i] {
                Some(before) if before != entry => {
                    return Some(format!(
                        "committed metadata record at offset {o} changed: {before:?} became \
                         {entry:?} on controller {node} (epoch {epoch})"
                    ))
                }
                Some(_) => {}
                None => self.committed[i] = Some(entry.clone()),
            }
        }
        // Records below the log start count as kept only by a snapshot that covers them and
        // rebuilds the image they make (checked when all of them were seen).
        let snapshot = log.snapshot();
        if start > snapshot.map_or(0, |s| s.id.offset) {
            return Some(format!(
                "controller {node} (epoch {epoch}) deleted its log below offset {start} \
                 without a snapshot that covers it"
            ));
        }
        let unverified = snapshot.filter(|s| self.verified.get(node) != Some(&s.id));
        if let Some((s, below)) =
            unverified.and_then(|s| Some((s, self.committed.get(..s.id.offset as usize)?)))
        {
            if let Some(entries) = below.iter().map(Option::as_ref).collect::<Option<Vec<_>>>() {
                let mut image = MetadataImage::default();
                for entry in entries {
                    image.apply(entry, &mut Delta::default());
                }
                if image.to_records() != s.records {
                    return Some(format!(
                        "controller {node}: snapshot {:?} differs from the committed records \
                         below it",
                        s.id
                    ));
                }
            }
            self.verified.insert(*node, s.id);
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
        world
            .0
            .insert(3002, log(&[(1, noop.clone()), (1, topic.clone())]));
        assert_eq!(check.observe(&hw(3002, 3, 2), &world), None);
        // So does one cut behind a snapshot of what it held; not one whose snapshot lies.
        let cut = |records| {
            let mut l = log(&[(1, noop.clone()), (1, topic.clone())]);
            l.update_high_watermark(2);
            l.create_snapshot(2, records, crate::time::SimTime::ZERO);
            assert!(l.delete_before_snapshot(0, 0, crate::time::SimTime::ZERO));
            l
        };
        let image_records = vec![topic.clone()];
        world.0.insert(3002, cut(image_records));
        assert_eq!(check.observe(&hw(3002, 4, 2), &world), None);
        world.0.insert(3001, cut(vec![MetadataRecord::NoOp]));
        assert!(check.observe(&hw(3001, 5, 2), &world).is_some());
    }
}
