//! A client's view of the cluster: bootstrap from any broker, ask `Metadata`, refresh when a
//! leader moves (NOT_LEADER_OR_FOLLOWER) or every `metadata.max.age.ms`.

use crate::ids::{BrokerId, NodeId, TopicName, TopicPartition};
use crate::protocol::{Correlation, Message, PartitionMetadata, TopicMetadata};
use crate::sim::ctx::Ctx;
use crate::time::SimTime;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct ClientMetadata {
    bootstrap: Vec<BrokerId>,
    next_broker: usize,
    pub brokers: Vec<BrokerId>,
    pub topics: BTreeMap<TopicName, Vec<PartitionMetadata>>,
    in_flight: Option<(BrokerId, Correlation, SimTime)>,
    /// Refresh wanted (after an error, or because a topic has no leader yet).
    pub stale: bool,
    last_update: Option<SimTime>,
    not_before: SimTime,
}

impl ClientMetadata {
    pub fn new(bootstrap: Vec<BrokerId>) -> ClientMetadata {
        ClientMetadata {
            bootstrap,
            next_broker: 0,
            brokers: Vec::new(),
            topics: BTreeMap::new(),
            in_flight: None,
            stale: true,
            last_update: None,
            not_before: SimTime::ZERO,
        }
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

    /// When a refresh is due (for the client to wake up then).
    pub fn next_refresh(&self, max_age_ms: u64) -> Option<SimTime> {
        if self.in_flight.is_some() {
            return None;
        }
        if self.stale {
            return Some(self.not_before);
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
        ctx: &mut Ctx<'_>,
    ) -> bool {
        if let Some((_, _, sent)) = self.in_flight {
            if ctx.now.since(sent) < timeout_ms * 1_000 {
                return false;
            }
            self.in_flight = None;
        }
        let due = self.next_refresh(max_age_ms).is_some_and(|t| t <= ctx.now);
        if !due {
            return false;
        }
        let candidates = if self.brokers.is_empty() {
            &self.bootstrap
        } else {
            &self.brokers
        };
        if candidates.is_empty() {
            return false;
        }
        let broker = candidates[self.next_broker % candidates.len()];
        self.next_broker += 1;
        self.in_flight = Some((broker, correlation, ctx.now));
        ctx.send(
            NodeId::Broker(broker),
            Message::MetadataRequest {
                correlation,
                topics: topics.to_vec(),
                allow_auto_topic_creation: true,
            },
        );
        true
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
        if self.in_flight.map(|f| f.1) != Some(correlation) {
            return false;
        }
        self.in_flight = None;
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

    pub fn on_disconnect(&mut self, broker: BrokerId) {
        if self.in_flight.is_some_and(|f| f.0 == broker) {
            self.in_flight = None;
            self.stale = true;
        }
    }
}
