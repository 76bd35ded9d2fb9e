//! Kafka clients: the producer and the consumer, with the metadata logic they share.

pub mod consumer;
pub mod metadata;
pub mod producer;
