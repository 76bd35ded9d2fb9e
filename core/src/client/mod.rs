//! Kafka clients: the producer and the consumer, with the metadata logic they share.

pub mod consumer;
pub mod group_member;
pub mod metadata;
pub mod producer;
pub mod transactional;

use crate::ids::{BrokerId, NodeId};
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{CoordinatorType, Correlation, Message};

/// A correlation id for group and transaction requests, unique per client: drawn from the
/// shared random source rather than a counter threaded through every call.
pub(crate) fn random_correlation(ctx: &mut Ctx<'_, impl Sized>) -> Correlation {
    ctx.rng.next_u64() >> 1
}

/// Sends FindCoordinator for a group or transactional id to a random known broker; returns
/// the correlation to match the answer.
pub(crate) fn find_coordinator(
    key: &str,
    key_type: CoordinatorType,
    brokers: &[BrokerId],
    ctx: &mut Ctx<'_, impl Sized>,
) -> Option<Correlation> {
    if brokers.is_empty() {
        return None;
    }
    let correlation = random_correlation(ctx);
    let broker = brokers[ctx.rng.below(brokers.len() as u64) as usize];
    ctx.send(
        NodeId::Broker(broker),
        Message::FindCoordinatorRequest(msg::FindCoordinatorRequest {
            correlation,
            key: key.to_string(),
            key_type,
        }),
    );
    Some(correlation)
}
