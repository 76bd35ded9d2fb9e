//! A client's view of the cluster: bootstrap from any broker, ask `Metadata`, refresh when a
//! leader moves (NOT_LEADER_OR_FOLLOWER) or every `metadata.max.age.ms`. It also keeps Kafka's
//! reconnect backoff: a broker whose connection failed is left alone for
//! `reconnect.backoff.ms` (50 ms), doubling per failure up to `reconnect.backoff.max.ms` (1 s),
//! so a dead broker is not hammered.

use crate::ids::{BrokerId, NodeId, TopicName, TopicPartition};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{Correlation, Message, PartitionMetadata, TopicMetadata};
use crate::time::SimTime;
use crate::vec_map::VecMap;

#[derive(Clone, Debug)]
pub struct ClientMetadata {
    bootstrap: Vec<BrokerId>,
    next_broker: usize,
    pub brokers: Vec<BrokerId>,
    pub topics: VecMap<TopicName, Vec<PartitionMetadata>>,
    in_flight: Option<(BrokerId, Correlation, SimTime)>,
    /// Refresh wanted (after an error, or because a topic has no leader yet).
    pub stale: bool,
    last_update: Option<SimTime>,
    not_before: SimTime,
    /// Brokers whose connection failed: not before when to try again, and how many failures.
    backoff: VecMap<BrokerId, (SimTime, u32)>,
}

/// Kafka's `reconnect.backoff.ms` and `reconnect.backoff.max.ms` defaults.
const RECONNECT_BACKOFF_MS: u64 = 50;
const RECONNECT_BACKOFF_MAX_MS: u64 = 1_000;

impl ClientMetadata {
    pub fn new(bootstrap: Vec<BrokerId>) -> ClientMetadata {
        ClientMetadata {
            bootstrap,
            next_broker: 0,
            brokers: Vec::new(),
            topics: VecMap::new(),
            in_flight: None,
            stale: true,
            last_update: None,
            not_before: SimTime::ZERO,
            backoff: VecMap::new(),
        }
    }

    /// Whether a request may go to `broker` now (it is not in reconnect backoff).
    pub fn connectable(&self, broker: BrokerId, now: SimTime) -> bool {
        self.backoff
            .get(&broker)
            .is_none_or(|(until, _)| *until <= now)
    }

    /// When the earliest broker in backoff may be tried again (for the client to wake then).
    pub fn next_reconnect(&self, now: SimTime) -> Option<SimTime> {
        self.backoff
            .values()
            .map(|(t, _)| *t)
            .filter(|t| *t > now)
            .min()
    }

    pub fn partitions(&self, topic: &str) -> Option<&[PartitionMetadata]> {
        self.topics
            .get(topic)
            .map(Vec::as_slice)
            .filter(|p| !p.is_empty())
    }

    pub fn leader_for(&self, tp: &TopicPartition) -> Option<BrokerId> {
        self.topics
            .get(&tp.topic)?
            .iter()
            .find(|p| p.partition == tp.partition)?
            .leader
    }

    /// When a refresh is due (for the client to wake up then): a stale view after
    /// `retry.backoff.ms`, but not before some broker is out of reconnect backoff.
    pub fn next_refresh(&self, max_age_ms: u64, now: SimTime) -> Option<SimTime> {
        if self.in_flight.is_some() {
            return None;
        }
        if self.stale {
            let due = self.not_before;
            let candidates = self.candidates();
            if candidates
                .iter()
                .any(|b| self.connectable(*b, due.max(now)))
            {
                return Some(due);
            }
            return candidates
                .iter()
                .filter_map(|b| self.backoff.get(b).map(|(until, _)| *until))
                .min()
                .map(|t| t.max(due));
        }
        self.last_update.map(|t| t.plus_ms(max_age_ms))
    }

    /// Sends a Metadata request if one is due. Brokers are tried in turn: known ones first,
    /// the bootstrap list when none is known.
    pub fn maybe_refresh(
        &mut self,
        topics: &[TopicName],
        correlation: Correlation,
        max_age_ms: u64,
        timeout_ms: u64,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> bool {
        if let Some((broker, _, sent)) = self.in_flight {
            if ctx.now.since(sent) < timeout_ms * 1_000 {
                return false;
            }
            // Kafka closes a connection whose request timed out (`handleTimedOutRequests`).
            self.on_disconnect(broker, ctx.now);
        }
        let due = self
            .next_refresh(max_age_ms, ctx.now)
            .is_some_and(|t| t <= ctx.now);
        if !due {
            return false;
        }
        let Some(broker) = self.least_loaded_node(ctx.now) else {
            return false;
        };
        self.next_broker += 1;
        self.in_flight = Some((broker, correlation, ctx.now));
        ctx.send(
            NodeId::Broker(broker),
            Message::MetadataRequest(msg::MetadataRequest {
                correlation,
                topics: topics.to_vec(),
                allow_auto_topic_creation: true,
            }),
        );
        true
    }

    /// Where to ask, as Kafka's `leastLoadedNode`: a broker out of reconnect backoff, one whose
    /// connection has not failed lately before one that has, in turn among equals.
    fn least_loaded_node(&self, now: SimTime) -> Option<BrokerId> {
        let candidates = self.candidates();
        let in_turn = (0..candidates.len())
            .map(|i| candidates[(self.next_broker + i) % candidates.len()])
            .filter(|b| self.connectable(*b, now));
        in_turn
            .clone()
            .find(|b| !self.failed_lately(*b, now))
            .or_else(|| in_turn.clone().next())
    }

    /// Whether `broker`'s connection failed within the last backoff period and the quiet time
    /// after it (after which a failure no longer counts, see `on_disconnect`).
    fn failed_lately(&self, broker: BrokerId, now: SimTime) -> bool {
        self.backoff
            .get(&broker)
            .is_some_and(|(until, _)| now.since(*until) <= 2 * RECONNECT_BACKOFF_MAX_MS * 1_000)
    }

    /// Known brokers, or the bootstrap list when none is known.
    fn candidates(&self) -> &[BrokerId] {
        if self.brokers.is_empty() {
            &self.bootstrap
        } else {
            &self.brokers
        }
    }

    /// Takes a Metadata response; returns false if it was not the one awaited.
    pub fn on_response(
        &mut self,
        correlation: Correlation,
        brokers: Vec<BrokerId>,
        topics: Vec<TopicMetadata>,
        retry_backoff_ms: u64,
        now: SimTime,
    ) -> bool {
        let Some((from, awaited, _)) = self.in_flight else {
            return false;
        };
        if awaited != correlation {
            return false;
        }
        self.in_flight = None;
        self.backoff.remove(&from);
        if !brokers.is_empty() {
            self.brokers = brokers;
        }
        let mut complete = true;
        for t in topics {
            complete &= t.error.is_none()
                && !t.partitions.is_empty()
                && t.partitions.iter().all(|p| p.leader.is_some());
            if t.error.is_none() {
                self.topics.insert(t.name, t.partitions);
            }
        }
        self.last_update = Some(now);
        self.stale = !complete;
        self.not_before = now.plus_ms(retry_backoff_ms);
        true
    }

    /// Asks for a refresh (no sooner than `retry.backoff.ms` after the last one).
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// The connection to `broker` closed, was refused or timed out. The metadata may be what
    /// sent us there, so a refresh is wanted (Kafka's `handleServerDisconnect` always asks
    /// for one). Refusals of requests sent before the backoff started count once; a failure
    /// after the backoff doubles it.
    pub fn on_disconnect(&mut self, broker: BrokerId, now: SimTime) {
        if self.in_flight.is_some_and(|f| f.0 == broker) {
            self.in_flight = None;
        }
        self.stale = true;
        let (until, failures) = self
            .backoff
            .get(&broker)
            .copied()
            .unwrap_or((SimTime::ZERO, 0));
        if now < until {
            return;
        }
        // A broker that stayed reachable for a while starts again from the shortest backoff.
        let failures = if now.since(until) > 2 * RECONNECT_BACKOFF_MAX_MS * 1_000 {
            1
        } else {
            failures + 1
        };
        let ms = (RECONNECT_BACKOFF_MS << (failures - 1).min(10)).min(RECONNECT_BACKOFF_MAX_MS);
        self.backoff.insert(broker, (now.plus_ms(ms), failures));
    }
}
