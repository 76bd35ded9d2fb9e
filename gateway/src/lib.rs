//! The Kafka wire protocol in front of kplay's simulated cluster (`kplay serve`): real Kafka
//! clients — kafka-python, kafkajs, librdkafka, the Java client — connect to it as to a real
//! cluster, and see the simulation's brokers, leaders, ISRs, groups and failures.
//!
//! - [`frame`]: Kafka's framing, request decoding with bounded memory.
//! - [`versions`]: the APIs and versions advertised by `ApiVersions`.
//! - `apis`: each Kafka request as kplay messages, and their answers as the Kafka response.
//! - [`records`]: record batches between Kafka's v2 format and kplay's log format.
//! - [`gateway`]: connections and in-order responses over a [`kplay_core::Sim`], without I/O.
//! - [`server`]: TCP, the wall clock and stdin commands around it (tokio, one thread).
//!
//! The core stays sans-IO: clients are `client:N` nodes of the simulated network whose messages
//! the simulation hands back through [`kplay_core::Sim::take_client_deliveries`].

mod apis;
mod errors;
pub mod frame;
pub mod gateway;
pub mod records;
pub mod server;
pub mod versions;

pub use apis::Addresses;
pub use gateway::{Gateway, Output};
pub use server::{serve, warm_up, ServeConfig};
