//! Commands, scheduled or live: faults (processes and links), clients' actions, and admin
//! requests to the controller, with the answers tools wait for.

use super::*;
use crate::protocol::msg;

impl Sim {
    /// Runs a command: a fault (processes and links), a client's action, or an admin request.
    pub(super) fn execute(&mut self, command: Command) {
        self.record(Event::CommandApplied {
            description: command.describe(),
        });
        match command {
            Command::KillBroker { .. }
            | Command::StopBroker { .. }
            | Command::RestartBroker { .. }
            | Command::KillZookeeper { .. }
            | Command::RestartZookeeper { .. }
            | Command::KillController { .. }
            | Command::RestartController { .. }
            | Command::CutLinks { .. }
            | Command::HealLinks { .. }
            | Command::HealAllLinks
            | Command::SlowLinks { .. }
            | Command::IsolateBroker { .. } => self.execute_fault(command),
            Command::CrashConsumer { .. }
            | Command::CloseConsumer { .. }
            | Command::RestartConsumer { .. }
            | Command::PauseConsumer { .. }
            | Command::Produce { .. }
            | Command::AddProducer { .. }
            | Command::StopProducer { .. }
            | Command::AddConsumer { .. } => self.execute_client(command),
            Command::CreateTopic { .. }
            | Command::AddPartitions { .. }
            | Command::DeleteTopic { .. }
            | Command::ElectLeaders { .. }
            | Command::AlterBrokerConfig { .. }
            | Command::AlterTopicConfig { .. }
            | Command::ResetOffsets { .. } => self.execute_admin(command),
        }
    }

    /// Kills, stops and restarts processes; cuts, heals and slows links.
    fn execute_fault(&mut self, command: Command) {
        match command {
            Command::KillBroker { broker } => self.crash(NodeId::broker(broker)),
            Command::StopBroker { broker } => {
                self.with_broker(NodeId::broker(broker), |b, ctx| b.stop(ctx))
            }
            Command::RestartBroker { broker, disk_lost } => {
                let id = BrokerId(broker);
                if self
                    .nodes
                    .get(&NodeId::Broker(id))
                    .is_some_and(|s| s.node.is_none())
                {
                    if disk_lost {
                        let next = self.broker_disks.get(&id).map_or(0, |d| d.next_producer_id);
                        self.broker_disks.insert(
                            id,
                            BrokerDisk {
                                logs: VecMap::new(),
                                next_producer_id: next,
                            },
                        );
                    }
                    self.record(Event::NodeStarted {
                        node: NodeId::Broker(id),
                        disk_lost,
                    });
                    self.start_broker(id);
                }
            }
            Command::KillZookeeper { server } => self.crash(NodeId::ZooKeeper(server)),
            Command::RestartZookeeper { server } => {
                if self
                    .nodes
                    .get(&NodeId::ZooKeeper(server))
                    .is_some_and(|s| s.node.is_none())
                {
                    self.record(Event::NodeStarted {
                        node: NodeId::ZooKeeper(server),
                        disk_lost: false,
                    });
                    self.start_zookeeper(server);
                }
            }
            Command::KillController { controller } => self.crash(NodeId::Controller(controller)),
            Command::RestartController { controller } => {
                let node = NodeId::Controller(controller);
                if self.nodes.get(&node).is_some_and(|s| s.node.is_none()) {
                    self.record(Event::NodeStarted {
                        node,
                        disk_lost: false,
                    });
                    self.start_controller(controller);
                }
            }
            Command::CutLinks {
                between,
                and,
                one_way,
            } => {
                for &a in &between {
                    for &b in &and {
                        if self.network.cut(a, b) {
                            self.record(Event::LinkCut { from: a, to: b });
                        }
                        if !one_way && self.network.cut(b, a) {
                            self.record(Event::LinkCut { from: b, to: a });
                        }
                    }
                }
            }
            Command::HealLinks { between, and } => {
                for &a in &between {
                    for &b in &and {
                        for (x, y) in [(a, b), (b, a)] {
                            if self.network.heal(x, y) {
                                self.record(Event::LinkHealed { from: x, to: y });
                            }
                        }
                    }
                }
            }
            Command::HealAllLinks => {
                for (from, to) in self.network.heal_all() {
                    self.record(Event::LinkHealed { from, to });
                }
            }
            Command::SlowLinks {
                between,
                and,
                extra_latency_us,
            } => {
                for &a in &between {
                    for &b in &and {
                        for (x, y) in [(a, b), (b, a)] {
                            self.network.slow(x, y, extra_latency_us);
                            self.record(Event::LinkSlowed {
                                from: x,
                                to: y,
                                extra_latency_us,
                            });
                        }
                    }
                }
            }
            Command::IsolateBroker { broker } => {
                let me = NodeId::broker(broker);
                let others: Vec<NodeId> = self.nodes.keys().copied().filter(|n| *n != me).collect();
                for other in others {
                    for (x, y) in [(me, other), (other, me)] {
                        if self.network.cut(x, y) {
                            self.record(Event::LinkCut { from: x, to: y });
                        }
                    }
                }
            }
            other => unreachable!("{} is not a fault command", other.describe()),
        }
    }

    /// What an application does: produce, crash, pause, close, or a new producer or consumer.
    fn execute_client(&mut self, command: Command) {
        match command {
            Command::CrashConsumer { consumer, at } => {
                let id = NodeId::Consumer(consumer);
                if at == CrashPoint::Now {
                    self.crash(id);
                } else {
                    self.with_node(id, |n, _| {
                        if let Node::Consumer(c) = n {
                            c.arm_crash(at);
                        }
                    });
                }
            }
            Command::CloseConsumer { consumer } => {
                self.with_consumer(NodeId::Consumer(consumer), |c, ctx| c.close(ctx));
            }
            Command::RestartConsumer { consumer } => {
                let id = NodeId::Consumer(consumer);
                let dead = self.nodes.get(&id).is_some_and(|s| s.node.is_none());
                if let (true, Some(spec)) = (dead, self.consumer_specs.get(consumer as usize)) {
                    let spec = spec.clone();
                    let brokers = self.scenario.cluster.brokers;
                    self.record(Event::NodeStarted {
                        node: id,
                        disk_lost: false,
                    });
                    self.spawn(id, |_| {
                        Node::Consumer(Box::new(new_consumer(consumer, &spec, brokers)))
                    });
                }
            }
            Command::PauseConsumer { consumer, ms, at } => {
                self.with_consumer(NodeId::Consumer(consumer), |c, ctx| {
                    if at == CrashPoint::Now {
                        c.pause(ms, ctx);
                    } else {
                        c.arm_pause(at, ms);
                    }
                });
            }
            Command::Produce {
                topic,
                key,
                value,
                producer,
            } => {
                let by = NodeId::Producer(producer.unwrap_or(self.console_producer));
                self.with_producer(by, |p, ctx| {
                    p.produce(
                        topic.as_str().into(),
                        key.map(String::into_bytes),
                        value.into_bytes(),
                        ctx,
                    );
                });
            }
            Command::AddProducer { producer } => {
                self.added_producers += 1;
                let index = self.console_producer + self.added_producers;
                let brokers: Vec<BrokerId> =
                    (1..=self.scenario.cluster.brokers).map(BrokerId).collect();
                let id = NodeId::Producer(index);
                self.record(Event::NodeStarted {
                    node: id,
                    disk_lost: false,
                });
                let config = producer
                    .config
                    .clone()
                    .in_mode(self.scenario.cluster.mode.is_kraft());
                self.spawn(id, |ctx| {
                    Node::Producer(Box::new(ctx.scoped(Timer::Producer, |ctx| {
                        Producer::new(index, Some(producer), config, brokers, ctx)
                    })))
                });
            }
            Command::StopProducer { producer } => {
                let now = self.now;
                self.with_node(NodeId::Producer(producer), |n, _| {
                    if let Node::Producer(p) = n {
                        p.stop_load(now);
                    }
                });
            }
            Command::AddConsumer { consumer } => {
                let index = self.consumer_specs.len() as u32;
                let id = NodeId::Consumer(index);
                let brokers = self.scenario.cluster.brokers;
                self.record(Event::NodeStarted {
                    node: id,
                    disk_lost: false,
                });
                self.spawn(id, |_| {
                    Node::Consumer(Box::new(new_consumer(index, &consumer, brokers)))
                });
                self.consumer_specs.push(consumer);
            }
            other => unreachable!("{} is not a client command", other.describe()),
        }
    }

    /// What an admin client asks the controller (or a group coordinator) for.
    fn execute_admin(&mut self, command: Command) {
        match command {
            Command::CreateTopic {
                name,
                partitions,
                replication_factor,
                config,
            } => {
                self.admin_request(Message::CreateTopicsRequest(msg::CreateTopicsRequest {
                    correlation: 0,
                    topic: Box::new(NewTopic {
                        name: name.as_str().into(),
                        partitions,
                        replication_factor,
                        config,
                    }),
                }));
            }
            Command::AddPartitions { topic, partitions } => {
                self.admin_request(Message::CreatePartitionsRequest(
                    msg::CreatePartitionsRequest {
                        correlation: 0,
                        topic: topic.as_str().into(),
                        count: partitions,
                    },
                ));
            }
            Command::DeleteTopic { topic } => {
                self.admin_request(Message::DeleteTopicsRequest(msg::DeleteTopicsRequest {
                    correlation: 0,
                    topic: topic.as_str().into(),
                }))
            }
            Command::ElectLeaders {
                unclean,
                partitions,
            } => self.admin_request(Message::ElectLeadersRequest(msg::ElectLeadersRequest {
                correlation: 0,
                unclean,
                partitions: partitions.map(|ps| {
                    ps.iter()
                        .map(|(t, p)| TopicPartition::new(&t.as_str().into(), *p))
                        .collect()
                }),
            })),
            Command::AlterBrokerConfig { broker, config } => self.admin_request(
                Message::AlterBrokerConfigsRequest(msg::AlterBrokerConfigsRequest {
                    correlation: 0,
                    broker: broker.map(BrokerId),
                    config: Box::new(config),
                }),
            ),
            Command::AlterTopicConfig { topic, config } => {
                self.admin_request(Message::AlterConfigsRequest(msg::AlterConfigsRequest {
                    correlation: 0,
                    topic: topic.as_str().into(),
                    config: Box::new(config),
                }))
            }
            Command::ResetOffsets { group, offsets } => self.reset_offsets(group, offsets),
            other => unreachable!("{} is not an admin command", other.describe()),
        }
    }

    /// Sends an admin request to the active controller (as the admin client would after asking
    /// any broker who the controller is).
    fn admin_request(&mut self, request: Message) {
        if self.scenario().cluster.mode.is_kraft() {
            // `--bootstrap-controller`: KRaft's tools can talk to the controllers directly.
            match self.active_controller() {
                Some((id, _)) => {
                    self.admin_send(crate::kraft::server::address(id), request);
                }
                None => self.record(Event::CommandApplied {
                    description: format!(
                        "{} failed: the controller quorum has no active controller",
                        request.api()
                    ),
                }),
            }
            return;
        }
        match self.controller() {
            Some((controller, _)) => {
                self.admin_send(NodeId::Broker(controller), request);
            }
            None => self.record(Event::CommandApplied {
                description: format!("{} failed: no controller is available", request.api()),
            }),
        }
    }

    /// Sends an admin client's request, numbered so its answer can be matched to it.
    pub(super) fn admin_send(&mut self, to: NodeId, mut request: Message) -> u64 {
        let correlation = self.next_message_id + 1;
        request.set_correlation(correlation);
        self.admin_sent.insert(correlation, self.now);
        self.transmit(NodeId::Admin, to, request);
        correlation
    }

    /// Commits offsets for a group from outside it (generation -1, no member id), to the
    /// group's coordinator: the leader of its `__consumer_offsets` partition.
    fn reset_offsets(&mut self, group: String, offsets: Vec<(String, u32, u64)>) {
        let partitions = self
            .scenario
            .cluster
            .broker_config
            .offsets_topic_num_partitions;
        let p = crate::group::coordinator_partition(&group, partitions);
        let coordinator = self
            .partition_state(crate::group::coordinator::OFFSETS_TOPIC, p)
            .and_then(|(leader, _, _)| leader)
            .filter(|l| self.is_alive(NodeId::Broker(*l)));
        let offsets = offsets
            .iter()
            .map(|(t, p, o)| (TopicPartition::new(&t.as_str().into(), *p), *o))
            .collect();
        let request = Message::OffsetCommitRequest(msg::OffsetCommitRequest {
            correlation: 0,
            group_id: group.clone(),
            generation: -1,
            member_id: String::new(),
            offsets,
        });
        match coordinator {
            Some(c) => {
                self.admin_send(NodeId::Broker(c), request);
            }
            None => self.record(Event::CommandApplied {
                description: format!(
                    "reset offsets of {group} failed: its coordinator is not available"
                ),
            }),
        }
    }

    pub(super) fn keep_admin_response(&mut self, msg: &Message) {
        let (correlation, topic, error, partitions) = match msg {
            Message::CreateTopicsResponse(msg::CreateTopicsResponse {
                correlation,
                topic,
                error,
            })
            | Message::CreatePartitionsResponse(msg::CreatePartitionsResponse {
                correlation,
                topic,
                error,
            })
            | Message::DeleteTopicsResponse(msg::DeleteTopicsResponse {
                correlation,
                topic,
                error,
            })
            | Message::AlterConfigsResponse(msg::AlterConfigsResponse {
                correlation,
                topic,
                error,
            }) => (correlation, topic.to_string(), *error, Vec::new()),
            Message::ElectLeadersResponse(msg::ElectLeadersResponse {
                correlation,
                results,
            }) => (correlation, String::new(), None, results.clone()),
            Message::OffsetCommitResponse(msg::OffsetCommitResponse {
                correlation,
                partitions,
            }) => (correlation, String::new(), None, partitions.clone()),
            _ => return,
        };
        let Some(sent_at) = self.admin_sent.remove(correlation) else {
            return;
        };
        if self.admin_responses.len() == ADMIN_RESPONSES_KEPT {
            self.admin_responses.pop_front();
        }
        self.admin_responses.push_back(AdminResponse {
            sent_at,
            api: msg.api(),
            topic,
            error,
            partitions,
        });
    }

    /// The answer to the admin request of this API and topic sent at `sent_at`, once it came.
    pub fn admin_response(
        &self,
        sent_at: SimTime,
        api: &str,
        topic: &str,
    ) -> Option<&AdminResponse> {
        self.admin_responses
            .iter()
            .find(|r| r.sent_at == sent_at && r.api == api && r.topic == topic)
    }
}
