//! Loading the cluster from ZooKeeper (`KafkaController.initializeControllerContext`): the live
//! brokers, the topics with their assignments and configs, and each partition's state. The
//! controller takes charge once every read is answered (`onControllerFailover`). The reads of
//! `/brokers/ids` and `/brokers/topics` set watches; when one fires, the same read runs again
//! (Kafka's BrokerChangeHandler and TopicChangeHandler).

use super::{zk_data, Controller, ControllerTag, ControllerTimer, Ops, Phase, TopicInfo};
use crate::ids::{BrokerId, TopicName, TopicPartition};
use crate::node::Ctx;
use crate::protocol::PartitionState;
use crate::vec_map::VecSet;
use crate::zookeeper::messages::{ZkError, ZkOp, ZkReply};
use crate::zookeeper::paths;

/// Reads of the cluster's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadTag {
    LiveBrokers,
    TopicList,
    TopicAssignment(TopicName),
    TopicConfig(TopicName),
    PartitionState(TopicPartition),
}

/// `/brokers/ids`, watched.
pub(super) fn read_live_brokers(ops: &mut Ops) {
    ops.push((
        ZkOp::GetChildren {
            path: paths::BROKER_IDS.into(),
            watch: true,
        },
        ControllerTag::Load(LoadTag::LiveBrokers),
    ));
}

/// `/brokers/topics`, watched.
pub(super) fn read_topics(ops: &mut Ops) {
    ops.push((
        ZkOp::GetChildren {
            path: paths::BROKER_TOPICS.into(),
            watch: true,
        },
        ControllerTag::Load(LoadTag::TopicList),
    ));
}

impl Controller {
    /// The epoch is ours: read the live brokers and the topics, then what they lead to.
    pub(super) fn begin_loading(&mut self, ops: &mut Ops) {
        self.phase = Phase::Loading { outstanding: 2 };
        read_live_brokers(ops);
        read_topics(ops);
    }

    pub(super) fn on_load_response(
        &mut self,
        tag: LoadTag,
        result: Result<ZkReply, ZkError>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        match tag {
            LoadTag::LiveBrokers => {
                if let Ok(ZkReply::Children(children)) = result {
                    let live: VecSet<BrokerId> = children
                        .iter()
                        .filter_map(|c| c.parse().ok())
                        .map(BrokerId)
                        .collect();
                    if self.is_active() {
                        self.on_broker_change(live, ops, ctx);
                    } else {
                        self.live_brokers = live;
                        self.loaded(ops, ctx);
                    }
                }
            }
            LoadTag::TopicList => {
                if let Ok(ZkReply::Children(children)) = result {
                    for topic in children {
                        if self.topics.contains_key(topic.as_str()) {
                            continue;
                        }
                        let name: TopicName = topic.as_str().into();
                        self.topics.insert(name.clone(), TopicInfo::default());
                        self.expect(2);
                        ops.push((
                            ZkOp::GetData {
                                path: paths::topic(&topic),
                                watch: false,
                            },
                            ControllerTag::Load(LoadTag::TopicAssignment(name.clone())),
                        ));
                        ops.push((
                            ZkOp::GetData {
                                path: paths::topic_config(&topic),
                                watch: false,
                            },
                            ControllerTag::Load(LoadTag::TopicConfig(name)),
                        ));
                    }
                }
                self.loaded(ops, ctx);
            }
            LoadTag::TopicAssignment(topic) => {
                if let Ok(ZkReply::Data { data, .. }) = result {
                    let assignment = zk_data::parse_topic_assignment(&data).unwrap_or_default();
                    for p in assignment.keys() {
                        let tp = TopicPartition::new(&topic, *p);
                        if !self.states.contains_key(&tp) {
                            self.expect(1);
                            ops.push((
                                ZkOp::GetData {
                                    path: paths::partition_state(&topic, *p),
                                    watch: false,
                                },
                                ControllerTag::Load(LoadTag::PartitionState(tp)),
                            ));
                        }
                    }
                    self.topics.entry(topic).or_default().assignment = assignment;
                }
                self.loaded(ops, ctx);
            }
            LoadTag::TopicConfig(topic) => {
                if let Ok(ZkReply::Data { data, .. }) = result {
                    self.topics.entry(topic).or_default().config =
                        zk_data::parse_topic_config(&data).unwrap_or_default();
                }
                self.loaded(ops, ctx);
            }
            LoadTag::PartitionState(tp) => {
                if let Ok(ZkReply::Data { data, stat }) = result {
                    if let Some((leader, leader_epoch, isr)) = zk_data::parse_partition_state(&data)
                    {
                        let replicas = self.replicas_of(&tp);
                        self.states.insert(
                            tp.clone(),
                            PartitionState {
                                tp,
                                leader,
                                leader_epoch,
                                isr,
                                replicas,
                                partition_epoch: stat.version as u32,
                            },
                        );
                    }
                }
                self.loaded(ops, ctx);
            }
        }
    }

    /// `n` more reads to wait for, while loading.
    fn expect(&mut self, n: u32) {
        if let Phase::Loading { outstanding } = &mut self.phase {
            *outstanding += n;
        }
    }

    /// One load answer arrived; when all have, take charge (`onControllerFailover`).
    fn loaded(&mut self, ops: &mut Ops, ctx: &mut Ctx<'_, ControllerTimer>) {
        let Phase::Loading { outstanding } = &mut self.phase else {
            return;
        };
        *outstanding = outstanding.saturating_sub(1);
        if *outstanding > 0 {
            return;
        }
        self.phase = Phase::Active;
        let tps: Vec<TopicPartition> = self.states.keys().cloned().collect();
        for tp in tps {
            self.repair(&tp, ops);
        }
        for tp in self.new_partitions() {
            self.init_partition(&tp, ops);
        }
        self.full_update = self.live_brokers.clone();
        if self.config.auto_leader_rebalance_enable {
            // Kafka's `onControllerFailover` runs the first check 5 s after taking over.
            ctx.timer_in_ms(
                5_000,
                ControllerTimer::PreferredLeaderCheck { epoch: self.epoch },
            );
        }
        if self.writes_in_flight == 0 {
            self.flush(ctx);
        }
    }
}
