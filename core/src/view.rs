//! `View`: a snapshot of everything the UI draws, built from the simulation's state.

use crate::broker::replica::Role;
use crate::client::group_member::MemberState;
use crate::group::assignor::Assignor;
use crate::group::coordinator::GroupState;
use crate::ids::{BrokerId, NodeId, Offset, TopicName};
use crate::protocol::MessageKind;
use crate::raft::log::MetadataRecord;
use crate::raft::state::RoleName;
use crate::scenario::ClusterMode;
use crate::sim::Sim;
use crate::time::SimTime;
use crate::txn::TxnState;
use crate::zookeeper::messages::PeerState;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct View {
    pub now: SimTime,
    /// Where the cluster keeps its metadata: ZooKeeper or KRaft's controller quorum.
    pub mode: ClusterMode,
    /// ZooKeeper mode: the ensemble; empty in KRaft mode.
    pub zookeepers: Vec<ZooKeeperView>,
    /// KRaft mode: the controller quorum; empty in ZooKeeper mode.
    pub controllers: Vec<ControllerView>,
    pub brokers: Vec<BrokerView>,
    /// ZooKeeper mode: the broker acting as controller (None in KRaft mode).
    pub controller: Option<BrokerId>,
    pub controller_epoch: Option<u32>,
    pub topics: Vec<TopicView>,
    pub producers: Vec<ProducerView>,
    pub consumers: Vec<ConsumerView>,
    pub groups: Vec<GroupView>,
    pub transactions: Vec<TransactionView>,
    pub cut_links: Vec<(NodeId, NodeId)>,
    pub slow_links: Vec<(NodeId, NodeId, u64)>,
    pub messages_in_flight: Vec<MessageView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ZooKeeperView {
    pub id: u32,
    pub alive: bool,
    pub state: Option<PeerState>,
    pub serving: bool,
    pub epoch: u32,
    pub last_zxid: u64,
    pub sessions: usize,
    pub znodes: usize,
}

/// One KRaft controller: its place in the Raft quorum and its copy of `__cluster_metadata`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ControllerView {
    /// Its `node.id`: 3000, 3001, …
    pub id: u32,
    pub alive: bool,
    /// Kafka's quorum state names: "leader", "follower", "candidate", "prospective",
    /// "unattached" or "resigned"; None when down.
    pub role: Option<&'static str>,
    pub epoch: u32,
    /// The leader this controller knows of in its epoch.
    pub leader: Option<u32>,
    /// The quorum controller is active: the leader, once its LeaderChange is committed.
    pub active: bool,
    pub log_end_offset: Offset,
    pub high_watermark: Offset,
    /// The active controller's unfenced brokers (empty on a standby).
    pub unfenced_brokers: Vec<BrokerId>,
}

/// Kafka's name for a quorum role (`QuorumState`'s `*State.name()`, lower case).
pub fn role_name(role: RoleName) -> &'static str {
    match role {
        RoleName::Unattached => "unattached",
        RoleName::Prospective => "prospective",
        RoleName::Candidate => "candidate",
        RoleName::Leader => "leader",
        RoleName::Follower => "follower",
        RoleName::Resigned => "resigned",
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplicaView {
    pub topic: TopicName,
    pub partition: u32,
    /// "leader", "follower" or "none".
    pub role: &'static str,
    pub in_isr: bool,
    pub leader_epoch: u32,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
    pub high_watermark: Offset,
    pub size_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BrokerView {
    pub id: BrokerId,
    pub alive: bool,
    pub registered: bool,
    pub is_controller: bool,
    pub zookeeper_server: Option<u32>,
    pub replicas: Vec<ReplicaView>,
    /// KRaft mode: the active controller last said this broker is fenced (None in ZooKeeper
    /// mode).
    pub fenced: Option<bool>,
    /// KRaft mode: the offset of the last metadata record this broker applied.
    pub metadata_offset: Option<Offset>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionView {
    pub partition: u32,
    pub leader: Option<BrokerId>,
    pub leader_epoch: u32,
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    pub offline: bool,
    pub under_replicated: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopicView {
    pub name: TopicName,
    pub partitions: Vec<PartitionView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProducerView {
    pub index: u32,
    pub alive: bool,
    pub produced: u64,
    pub acked: u64,
    pub failed: u64,
    pub retries: u64,
    pub in_flight_requests: usize,
    pub queued_batches: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsumerView {
    pub index: u32,
    pub alive: bool,
    pub topic: TopicName,
    pub consumed: u64,
    pub commits: u64,
    pub positions: Vec<(u32, Option<Offset>)>,
    pub group: Option<String>,
    pub member_id: Option<String>,
    pub generation: Option<i32>,
    /// `unjoined`, `joining`, `syncing`, `stable` or `failed: ERROR`.
    pub member_state: Option<String>,
    /// A stable member with no partitions (more members than partitions).
    pub idle: bool,
    /// Exactly-once applications: their transactional id and transactions so far.
    pub transactional_id: Option<String>,
    pub transactions_committed: u64,
    pub transactions_aborted: u64,
}

/// A transactional id as its coordinator sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransactionView {
    pub transactional_id: String,
    pub coordinator: BrokerId,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub state: TxnState,
    /// Partitions in the current transaction (markers go to each).
    pub partitions: Vec<(TopicName, u32)>,
}

/// A consumer group as its coordinator sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupView {
    pub id: String,
    pub coordinator: BrokerId,
    /// `__consumer_offsets` partition holding the group.
    pub offsets_partition: u32,
    pub state: GroupState,
    pub generation: i32,
    pub protocol: Option<Assignor>,
    pub leader: Option<String>,
    pub members: Vec<GroupMemberView>,
    pub offsets: Vec<CommittedOffsetView>,
    /// Sum of per-partition lag.
    pub lag: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupMemberView {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client: NodeId,
    pub assignment: Vec<(TopicName, u32)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommittedOffsetView {
    pub topic: TopicName,
    pub partition: u32,
    pub committed: Offset,
    pub high_watermark: Offset,
    /// High watermark minus committed offset.
    pub lag: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageView {
    pub id: u64,
    pub from: NodeId,
    pub to: NodeId,
    pub kind: MessageKind,
    pub api: &'static str,
    pub sent_at: SimTime,
    pub arrives_at: SimTime,
    pub dropped: bool,
}

impl Sim {
    /// A snapshot of everything the UI draws.
    pub fn view(&self) -> View {
        View::of(self)
    }
}

impl View {
    pub fn of(sim: &Sim) -> View {
        let cluster = &sim.scenario().cluster;
        let kraft = cluster.mode.is_kraft();
        let zookeepers = (1..=if kraft { 0 } else { cluster.zookeepers })
            .map(|id| match sim.zookeeper(id) {
                Some(z) => ZooKeeperView {
                    id,
                    alive: true,
                    state: Some(z.state()),
                    serving: z.is_serving(),
                    epoch: z.current_epoch(),
                    last_zxid: z.tree().last_zxid(),
                    sessions: z.tree().sessions().len(),
                    znodes: z.tree().node_count(),
                },
                None => ZooKeeperView {
                    id,
                    alive: false,
                    state: None,
                    serving: false,
                    epoch: 0,
                    last_zxid: 0,
                    sessions: 0,
                    znodes: 0,
                },
            })
            .collect();
        let controller = sim.controller();
        let brokers = (1..=cluster.brokers)
            .map(|id| match sim.broker(id) {
                Some(b) => BrokerView {
                    id: BrokerId(id),
                    alive: true,
                    registered: b.registered,
                    is_controller: controller.is_some_and(|c| c.0 == b.id),
                    zookeeper_server: b.zk_server(),
                    replicas: b
                        .replicas
                        .values()
                        .map(|r| ReplicaView {
                            topic: r.tp.topic.clone(),
                            partition: r.tp.partition,
                            role: match r.role {
                                Role::Leader { .. } => "leader",
                                Role::Follower { .. } => "follower",
                                Role::None => "none",
                            },
                            in_isr: r.isr.contains(&b.id),
                            leader_epoch: r.leader_epoch,
                            log_start_offset: r.log.log_start_offset(),
                            log_end_offset: r.log.log_end_offset(),
                            high_watermark: r.log.high_watermark(),
                            size_bytes: r.log.size_bytes(),
                        })
                        .collect(),
                    fenced: b.kraft.as_ref().map(|k| k.fenced),
                    metadata_offset: b.kraft.as_ref().and_then(|k| k.image.offset),
                },
                None => BrokerView {
                    id: BrokerId(id),
                    alive: false,
                    registered: false,
                    is_controller: false,
                    zookeeper_server: None,
                    replicas: Vec::new(),
                    fenced: None,
                    metadata_offset: None,
                },
            })
            .collect();
        let live = |b: &BrokerId| sim.broker(b.0).is_some();
        // KRaft: replicas come from the committed image (None in ZooKeeper mode).
        let image = sim.metadata_image();
        let topics = sim
            .topics()
            .into_iter()
            .map(|(name, count)| {
                let assignment = sim
                    .zookeeper_tree()
                    .and_then(|t| t.get(&crate::zookeeper::paths::topic(&name)))
                    .and_then(|n| crate::controller::zk_data::parse_topic_assignment(&n.data))
                    .unwrap_or_default();
                let partitions = (0..count)
                    .map(|p| {
                        let (leader, leader_epoch, isr) = sim
                            .partition_state(&name, p)
                            .unwrap_or((None, 0, Vec::new()));
                        let replicas = if let Some(image) = image {
                            let tp = crate::ids::TopicPartition::new(&name, p);
                            image
                                .partition(&tp)
                                .map(|r| r.replicas.iter().copied().map(BrokerId).collect())
                                .unwrap_or_default()
                        } else {
                            assignment.get(&p).cloned().unwrap_or_default()
                        };
                        PartitionView {
                            partition: p,
                            offline: !leader.is_some_and(|l| live(&l)),
                            under_replicated: isr.len() < replicas.len(),
                            leader,
                            leader_epoch,
                            replicas,
                            isr,
                        }
                    })
                    .collect();
                TopicView { name, partitions }
            })
            .collect();
        let producers = sim
            .producer_indices()
            .map(|i| match sim.producer(i) {
                Some(p) => ProducerView {
                    index: i,
                    alive: true,
                    produced: p.stats.produced,
                    acked: p.stats.acked,
                    failed: p.stats.failed,
                    retries: p.stats.retries,
                    in_flight_requests: p.in_flight_requests(),
                    queued_batches: p.queued_batches(),
                },
                None => ProducerView {
                    index: i,
                    alive: false,
                    produced: 0,
                    acked: 0,
                    failed: 0,
                    retries: 0,
                    in_flight_requests: 0,
                    queued_batches: 0,
                },
            })
            .collect();
        let consumers = (0..sim.consumer_specs().len() as u32)
            .map(|i| match sim.consumer(i) {
                Some(c) => {
                    let member = c.group.as_ref();
                    ConsumerView {
                        index: c.index,
                        alive: true,
                        topic: c.topic.clone(),
                        consumed: c.stats.consumed,
                        commits: c.stats.commits,
                        positions: c.positions().into_iter().collect(),
                        group: member.map(|g| g.group_id.clone()),
                        member_id: member
                            .map(|g| g.member_id.clone())
                            .filter(|m| !m.is_empty()),
                        generation: member.map(|g| g.generation).filter(|g| *g >= 0),
                        member_state: member.map(|g| match &g.state {
                            MemberState::Unjoined => "unjoined".to_string(),
                            MemberState::Joining(_) => "joining".to_string(),
                            MemberState::Syncing(_) => "syncing".to_string(),
                            MemberState::Stable => "stable".to_string(),
                            MemberState::Failed(e) => format!("failed: {}", e.name()),
                        }),
                        idle: c.is_idle(),
                        transactional_id: c.txn.as_ref().map(|t| t.transactional_id.clone()),
                        transactions_committed: c.txn.as_ref().map_or(0, |t| t.committed),
                        transactions_aborted: c.txn.as_ref().map_or(0, |t| t.aborted),
                    }
                }
                None => {
                    let spec = &sim.consumer_specs()[i as usize];
                    ConsumerView {
                        index: i,
                        alive: false,
                        topic: spec.topic.as_str().into(),
                        consumed: 0,
                        commits: 0,
                        positions: Vec::new(),
                        group: spec.config.group_id.clone(),
                        member_id: None,
                        generation: None,
                        member_state: None,
                        idle: false,
                        transactional_id: None,
                        transactions_committed: 0,
                        transactions_aborted: 0,
                    }
                }
            })
            .collect();
        let groups = GroupView::all(sim);
        let mut messages_in_flight: Vec<MessageView> = sim
            .messages_in_flight()
            .map(|m| MessageView {
                id: m.id,
                from: m.from,
                to: m.to,
                kind: m.msg.kind(),
                api: m.msg.api(),
                sent_at: m.sent_at,
                arrives_at: m.arrives_at,
                dropped: m.dropped,
            })
            .collect();
        crate::sort::sort_by_key(&mut messages_in_flight, |m| m.id);
        let controllers = if kraft {
            cluster
                .controller_ids()
                .into_iter()
                .map(|id| ControllerView::of(sim, id))
                .collect()
        } else {
            Vec::new()
        };
        View {
            now: sim.now(),
            mode: cluster.mode,
            zookeepers,
            controllers,
            brokers,
            controller: controller.map(|c| c.0),
            controller_epoch: controller.map(|c| c.1),
            topics,
            producers,
            consumers,
            groups,
            transactions: TransactionView::all(sim),
            cut_links: sim.network().cut_links().copied().collect(),
            slow_links: sim
                .network()
                .slow_links()
                .map(|(&(a, b), &us)| (a, b, us))
                .collect(),
            messages_in_flight,
        }
    }
}

impl ControllerView {
    fn of(sim: &Sim, id: u32) -> ControllerView {
        match sim.kraft_controller(id) {
            Some(c) => ControllerView {
                id,
                alive: true,
                role: Some(role_name(c.raft.role())),
                epoch: c.raft.epoch(),
                leader: c.raft.leader_id(),
                active: c.controller.is_active(),
                log_end_offset: c.raft.log().end_offset().offset,
                high_watermark: c.raft.high_watermark(),
                unfenced_brokers: if c.controller.is_active() {
                    c.controller.image().unfenced_brokers()
                } else {
                    Vec::new()
                },
            },
            None => ControllerView {
                id,
                alive: false,
                role: None,
                epoch: 0,
                leader: None,
                active: false,
                log_end_offset: 0,
                high_watermark: 0,
                unfenced_brokers: Vec::new(),
            },
        }
    }
}

impl TransactionView {
    /// Every transactional id a live coordinator has loaded.
    pub fn all(sim: &Sim) -> Vec<TransactionView> {
        let mut out: Vec<TransactionView> = sim
            .brokers()
            .flat_map(|b| {
                b.txns.transactions().map(move |t| TransactionView {
                    transactional_id: t.transactional_id.clone(),
                    coordinator: b.id,
                    producer_id: t.producer_id,
                    producer_epoch: t.producer_epoch,
                    state: t.state,
                    partitions: t
                        .partitions
                        .iter()
                        .map(|tp| (tp.topic.clone(), tp.partition))
                        .collect(),
                })
            })
            .collect();
        crate::sort::sort_by(&mut out, |a, b| a.transactional_id.cmp(&b.transactional_id));
        out
    }
}

impl GroupView {
    /// Every group a live coordinator has loaded (the one with the group's partition).
    pub fn all(sim: &Sim) -> Vec<GroupView> {
        let mut out: Vec<GroupView> = Vec::new();
        for b in sim.brokers() {
            for g in b.groups.groups.values() {
                if !b.groups.partitions.contains(&g.partition) {
                    continue;
                }
                let offsets: Vec<CommittedOffsetView> = g
                    .offsets
                    .iter()
                    .map(|(tp, &committed)| {
                        let high_watermark = sim
                            .high_watermark(&tp.topic, tp.partition)
                            .unwrap_or(committed);
                        CommittedOffsetView {
                            topic: tp.topic.clone(),
                            partition: tp.partition,
                            committed,
                            high_watermark,
                            lag: high_watermark.saturating_sub(committed),
                        }
                    })
                    .collect();
                out.push(GroupView {
                    id: g.id.clone(),
                    coordinator: b.id,
                    offsets_partition: g.partition,
                    state: g.state,
                    generation: g.generation,
                    protocol: g.protocol,
                    leader: g.leader.clone(),
                    members: g
                        .members
                        .values()
                        .map(|m| GroupMemberView {
                            member_id: m.member_id.clone(),
                            group_instance_id: m.group_instance_id.clone(),
                            client: m.client,
                            assignment: m
                                .assignment
                                .iter()
                                .map(|tp| (tp.topic.clone(), tp.partition))
                                .collect(),
                        })
                        .collect(),
                    lag: offsets.iter().map(|o| o.lag).sum(),
                    offsets,
                });
            }
        }
        crate::sort::sort_by(&mut out, |a, b| a.id.cmp(&b.id));
        out
    }
}

/// The tail of one partition's log, one cell per offset, as the UI draws it as a strip.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionLogView {
    pub topic: TopicName,
    pub partition: u32,
    /// The broker whose copy the cells come from: the leader, else the live replica furthest on.
    pub source: BrokerId,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
    pub high_watermark: Offset,
    /// Offsets `first_offset..log_end_offset`; those below the log start have expired.
    pub first_offset: Offset,
    pub cells: Vec<RecordCell>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordCell {
    pub offset: Offset,
    pub kind: CellKind,
    /// The record key as text (lossy UTF-8, at most 24 characters); None for a null key.
    pub key: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// Deleted by retention (below the log start offset).
    Expired,
    Record,
    /// A record written inside a transaction.
    Transactional,
    /// A COMMIT or ABORT marker (a control batch).
    Marker {
        commits: bool,
    },
    /// No record at this offset: compaction removed it.
    Compacted,
}

const KEY_CHARS: usize = 24;

impl PartitionLogView {
    /// The last `max_cells` offsets of a partition's log. None when no live broker holds it.
    pub fn of(sim: &Sim, topic: &str, partition: u32, max_cells: u64) -> Option<PartitionLogView> {
        let (source, replica) = sim
            .brokers()
            .filter_map(|b| {
                b.replicas
                    .iter()
                    .find(|(tp, _)| &*tp.topic == topic && tp.partition == partition)
                    .map(|(_, r)| (b.id, r))
            })
            .max_by_key(|(_, r)| {
                (
                    matches!(r.role, Role::Leader { .. }),
                    r.log.log_end_offset(),
                )
            })?;
        let log = &replica.log;
        let end = log.log_end_offset();
        let first = end.saturating_sub(max_cells);
        let mut cells: Vec<RecordCell> = (first..log.log_start_offset().min(end))
            .map(|offset| RecordCell {
                offset,
                kind: CellKind::Expired,
                key: None,
            })
            .collect();
        let mut next = first.max(log.log_start_offset());
        log.for_each_batch(next, Offset::MAX, |batch| {
            let h = batch.header;
            let marker = batch.marker_commits();
            for record in batch.iter() {
                let offset = h.base_offset + record.offset_delta as u64;
                if offset < next {
                    continue;
                }
                cells.extend((next..offset).map(|offset| RecordCell {
                    offset,
                    kind: CellKind::Compacted,
                    key: None,
                }));
                let kind = match marker {
                    Some(commits) => CellKind::Marker { commits },
                    None if h.is_transactional => CellKind::Transactional,
                    None => CellKind::Record,
                };
                let key = record
                    .key
                    .filter(|_| marker.is_none())
                    .map(|k| String::from_utf8_lossy(k).chars().take(KEY_CHARS).collect());
                cells.push(RecordCell { offset, kind, key });
                next = offset + 1;
            }
            true
        });
        cells.extend((next..end).map(|offset| RecordCell {
            offset,
            kind: CellKind::Compacted,
            key: None,
        }));
        Some(PartitionLogView {
            topic: replica.tp.topic.clone(),
            partition,
            source,
            log_start_offset: log.log_start_offset(),
            log_end_offset: end,
            high_watermark: log.high_watermark(),
            first_offset: first,
            cells,
        })
    }
}

/// KRaft mode: the tail of `__cluster_metadata` as the active controller holds it (else the
/// live controller furthest on), one cell per record, as the UI draws it as a strip. Built on
/// demand, like [`PartitionLogView`], not with every [`View`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetadataLogView {
    /// The controller whose copy the cells come from.
    pub controller: u32,
    pub log_end_offset: Offset,
    pub high_watermark: Offset,
    /// Offsets `first_offset..log_end_offset`.
    pub first_offset: Offset,
    pub cells: Vec<MetadataCell>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetadataCell {
    pub offset: Offset,
    /// The leader epoch that appended it.
    pub epoch: u32,
    /// The record's type, as Kafka names it: `RegisterBroker`, `PartitionChange`, `NoOp`, …
    pub kind: &'static str,
}

impl MetadataLogView {
    /// The last `max_cells` records. None in ZooKeeper mode or with every controller down.
    pub fn of(sim: &Sim, max_cells: usize) -> Option<MetadataLogView> {
        let source = match sim.active_controller() {
            Some((id, _)) => sim.kraft_controller(id)?,
            None => sim
                .kraft_controllers()
                .max_by_key(|c| (c.raft.log().end_offset().offset, c.node_id()))?,
        };
        let entries = source.raft.log().entries();
        let tail = &entries[entries.len().saturating_sub(max_cells)..];
        let log_end_offset = source.raft.log().end_offset().offset;
        Some(MetadataLogView {
            controller: source.node_id(),
            log_end_offset,
            high_watermark: source.raft.high_watermark(),
            first_offset: tail.first().map_or(log_end_offset, |e| e.offset),
            cells: tail
                .iter()
                .map(|e| MetadataCell {
                    offset: e.offset,
                    epoch: e.epoch,
                    kind: metadata_record_kind(&e.record),
                })
                .collect(),
        })
    }
}

/// A metadata record's type, as Kafka names it (`*Record`, without the suffix).
pub fn metadata_record_kind(record: &MetadataRecord) -> &'static str {
    match record {
        MetadataRecord::LeaderChange { .. } => "LeaderChange",
        MetadataRecord::NoOp => "NoOp",
        MetadataRecord::RegisterBroker { .. } => "RegisterBroker",
        MetadataRecord::BrokerRegistrationChange { .. } => "BrokerRegistrationChange",
        MetadataRecord::Topic { .. } => "Topic",
        MetadataRecord::Partition { .. } => "Partition",
        MetadataRecord::PartitionChange { .. } => "PartitionChange",
        MetadataRecord::Config { .. } => "Config",
        MetadataRecord::ProducerIds { .. } => "ProducerIds",
        MetadataRecord::FeatureLevel { .. } => "FeatureLevel",
        MetadataRecord::RemoveTopic { .. } => "RemoveTopic",
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::ClusterMode;
    use crate::{lessons, Sim, SimTime};

    fn run(mode: ClusterMode, secs: u64) -> Sim {
        let scenario = lessons::get("replication-and-isr")
            .expect("the lesson exists")
            .with_mode(mode)
            .expect("the lesson runs in both modes");
        let mut sim = Sim::new(scenario).expect("valid");
        sim.run_until(SimTime::from_secs(secs));
        sim
    }

    #[test]
    fn kraft_mode_shows_the_quorum_and_each_brokers_fencing_and_metadata_offset() {
        let view = run(ClusterMode::KRaft, 8).view();
        assert_eq!(view.mode, ClusterMode::KRaft);
        assert!(view.zookeepers.is_empty());
        let ids: Vec<u32> = view.controllers.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![3000, 3001, 3002]);
        let leaders: Vec<_> = view
            .controllers
            .iter()
            .filter(|c| c.role == Some("leader"))
            .collect();
        assert_eq!(leaders.len(), 1, "{:?}", view.controllers);
        assert!(leaders[0].active);
        assert_eq!(leaders[0].unfenced_brokers.len(), 3);
        for c in &view.controllers {
            assert!(c.alive && c.high_watermark <= c.log_end_offset);
            assert_eq!(c.leader, Some(leaders[0].id));
        }
        for b in &view.brokers {
            assert_eq!(b.fenced, Some(false), "broker {} is unfenced", b.id);
            assert!(b.metadata_offset.is_some_and(|o| o > 0));
        }
        // The topic's replicas come from the metadata image.
        let orders = view.topics.iter().find(|t| &*t.name == "orders");
        assert!(orders.is_some_and(|t| t.partitions.iter().all(|p| p.replicas.len() == 3)));
    }

    #[test]
    fn the_metadata_log_view_is_the_active_controllers_tail() {
        let sim = run(ClusterMode::KRaft, 5);
        let log = super::MetadataLogView::of(&sim, 8).expect("KRaft mode has a metadata log");
        let (active, _) = sim.active_controller().expect("an active controller");
        assert_eq!(log.controller, active);
        assert_eq!(log.cells.len(), 8);
        assert_eq!(log.first_offset, log.log_end_offset - 8);
        let offsets: Vec<u64> = log.cells.iter().map(|c| c.offset).collect();
        assert_eq!(
            offsets,
            (log.first_offset..log.log_end_offset).collect::<Vec<_>>()
        );
        assert!(log.high_watermark <= log.log_end_offset && log.high_watermark > 0);
        // Five idle seconds on: the tail is NoOps, and the log began with the first leader's
        // LeaderChange and the metadata version.
        assert!(log.cells.iter().any(|c| c.kind == "NoOp"), "{log:?}");
        let whole = super::MetadataLogView::of(&sim, 10_000).expect("a log");
        assert_eq!(whole.first_offset, 0);
        assert!(whole.cells.iter().any(|c| c.kind == "RegisterBroker"));
        assert!(whole.cells.iter().any(|c| c.kind == "LeaderChange"));
        assert!(super::MetadataLogView::of(&run(ClusterMode::ZooKeeper, 1), 8).is_none());
    }

    #[test]
    fn a_dead_controller_is_shown_down() {
        let mut sim = run(ClusterMode::KRaft, 5);
        sim.act(crate::Command::KillController { controller: 3001 })
            .expect("a controller of this cluster");
        sim.run_until(SimTime::from_secs(6));
        let view = sim.view();
        let dead = view
            .controllers
            .iter()
            .find(|c| c.id == 3001)
            .expect("drawn");
        assert!(!dead.alive && dead.role.is_none() && !dead.active);
    }

    #[test]
    fn zookeeper_mode_has_no_controllers_and_no_kraft_broker_fields() {
        let view = run(ClusterMode::ZooKeeper, 5).view();
        assert_eq!(view.mode, ClusterMode::ZooKeeper);
        assert!(view.controllers.is_empty());
        assert_eq!(view.zookeepers.len(), 3);
        assert!(view.controller.is_some());
        assert!(view
            .brokers
            .iter()
            .all(|b| b.fenced.is_none() && b.metadata_offset.is_none()));
    }
}
