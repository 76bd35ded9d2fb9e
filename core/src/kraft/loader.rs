//! Kafka's `MetadataLoader` with its `SnapshotGenerator` (KIP-630), shared by controllers
//! and brokers: a node applies the committed records to its image (loading a snapshot first
//! when its log starts past the image), snapshots the image when enough bytes or time went
//! by, and lets its log drop what the snapshot covers.

use super::image::{Delta, MetadataImage};
use crate::config::KRaftConfig;
use crate::raft::client::RaftClient;
use crate::time::SimTime;

#[derive(Clone, Debug, Default)]
pub struct MetadataLoader {
    /// Bytes of records applied since the last snapshot.
    bytes_since_snapshot: u64,
    /// When the last snapshot was taken or loaded (the first load when none yet).
    last_snapshot_at: Option<SimTime>,
}

impl MetadataLoader {
    /// Brings `image` up to the quorum's high watermark, noting the changes in `delta`.
    pub fn follow(
        &mut self,
        image: &mut MetadataImage,
        raft: &mut RaftClient,
        config: &KRaftConfig,
        now: SimTime,
        delta: &mut Delta,
    ) {
        let log = raft.log();
        if let Some(snapshot) = log.snapshot().filter(|s| image.next_offset() < s.id.offset) {
            image.load_snapshot(snapshot, delta);
            self.bytes_since_snapshot = 0;
            self.last_snapshot_at = Some(now);
        }
        let hw = raft.high_watermark();
        while image.next_offset() < hw {
            let Some(entry) = raft.log().entry(image.next_offset()) else {
                break;
            };
            self.bytes_since_snapshot += entry.size_bytes();
            image.apply(entry, delta);
        }
        let since = *self.last_snapshot_at.get_or_insert(now);
        let interval_ms = config.metadata_log_max_snapshot_interval_ms;
        let by_bytes =
            self.bytes_since_snapshot >= config.metadata_log_max_record_bytes_between_snapshots;
        let by_time = interval_ms > 0
            && self.bytes_since_snapshot > 0
            && now.since(since) >= SimTime::from_ms(interval_ms).0;
        let end = image.next_offset();
        let log = raft.log_mut();
        let newer =
            end > log.log_start_offset() && log.snapshot().is_none_or(|s| s.id.offset < end);
        if (by_bytes || by_time) && newer {
            log.create_snapshot(end, image.to_records(), now);
            self.bytes_since_snapshot = 0;
            self.last_snapshot_at = Some(now);
        }
        log.delete_before_snapshot(
            config.metadata_max_retention_bytes,
            config.metadata_max_retention_ms,
            now,
        );
    }
}
