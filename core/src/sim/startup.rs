//! Bringing a scenario's cluster up as a learner would: ZooKeeper and the brokers start at
//! time zero; once a controller is active and every running broker has registered with it,
//! an admin client creates the scenario's topics (`kafka-topics.sh --create`), so their
//! replicas and leaders spread over the whole cluster; once every topic exists, the scenario's
//! producers and consumers start (each no earlier than its own `start_ms`).

use super::{Item, Sim};
use crate::ids::{NodeId, TopicName};
use crate::protocol::msg;
use crate::protocol::{ErrorCode, Message, NewTopic};
use crate::time::SimTime;
use crate::vec_map::VecMap;

/// How long the admin client waits for a CreateTopics answer before asking again (the
/// AdminClient's `request.timeout.ms`).
const CREATE_TOPICS_TIMEOUT_MS: u64 = 30_000;

#[derive(Debug, Default)]
pub(super) struct Startup {
    /// The scenario's topics not yet created.
    pending: Vec<NewTopic>,
    /// CreateTopics requests in flight: correlation → (topic, sent at).
    in_flight: VecMap<u64, (TopicName, SimTime)>,
    /// The clients have been started: nothing is left to do.
    done: bool,
}

impl Startup {
    pub(super) fn new(topics: Vec<NewTopic>) -> Startup {
        Startup {
            pending: topics,
            ..Startup::default()
        }
    }

    pub(super) fn done(&self) -> bool {
        self.done
    }
}

impl Sim {
    /// Moves start-up on after an event: creates the topics once the cluster has registered,
    /// starts the clients once the topics exist.
    pub(super) fn advance_startup(&mut self) {
        debug_assert!(!self.startup.done);
        let now = self.now;
        self.startup
            .in_flight
            .retain(|_, (_, sent)| now.since(*sent) < SimTime::from_ms(CREATE_TOPICS_TIMEOUT_MS).0);
        if !self.startup.in_flight.is_empty() {
            return;
        }
        if self.startup.pending.is_empty() {
            self.start_clients();
            return;
        }
        let Some(controller) = self.registered_controller() else {
            return;
        };
        for topic in self.startup.pending.clone() {
            let name = topic.name.clone();
            let correlation = self.admin_send(
                controller,
                Message::CreateTopicsRequest(msg::CreateTopicsRequest {
                    correlation: 0,
                    topic: Box::new(topic),
                }),
            );
            self.startup.in_flight.insert(correlation, (name, now));
        }
    }

    /// The active controller, once every running broker has registered with it (KRaft:
    /// and is unfenced, as the committed metadata says).
    fn registered_controller(&self) -> Option<NodeId> {
        if self.scenario().cluster.mode.is_kraft() {
            let (id, _) = self.active_controller()?;
            let image = self.kraft_controller(id)?.controller.image();
            let unfenced = image.unfenced_brokers();
            return self
                .brokers()
                .all(|b| unfenced.contains(&b.id))
                .then_some(crate::kraft::server::address(id));
        }
        let (id, _) = self.controller()?;
        let controller = self.brokers().find(|b| b.id == id)?.controller.as_ref()?;
        self.brokers()
            .all(|b| controller.live_brokers.contains(&b.id))
            .then_some(NodeId::Broker(id))
    }

    /// The admin client's CreateTopics answer during start-up: a topic that exists is done
    /// (whoever made it); any other error leaves it to be asked again.
    pub(super) fn startup_answer(&mut self, msg: &Message) {
        let Message::CreateTopicsResponse(msg::CreateTopicsResponse {
            correlation, error, ..
        }) = msg
        else {
            return;
        };
        let Some((topic, _)) = self.startup.in_flight.remove(correlation) else {
            return;
        };
        if matches!(error, None | Some(ErrorCode::TopicAlreadyExists)) {
            self.startup.pending.retain(|t| t.name != topic);
        }
    }

    fn start_clients(&mut self) {
        self.startup.done = true;
        let now = self.now;
        let producers = self.scenario.producers.len() as u32;
        for i in 0..producers {
            self.queue.push(
                now,
                Item::Start {
                    node: NodeId::Producer(i),
                },
            );
        }
        for (i, spec) in self.scenario.consumers.iter().enumerate() {
            self.queue.push(
                now.max(SimTime::from_ms(spec.start_ms)),
                Item::Start {
                    node: NodeId::Consumer(i as u32),
                },
            );
        }
    }
}
