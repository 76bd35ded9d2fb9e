//! Kafka clients: the producer and the consumer, with the metadata logic they share.

pub mod consumer;
pub mod group_member;
pub mod metadata;
pub mod producer;
pub mod transactional;
