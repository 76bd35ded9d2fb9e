//! # kplay-core: a deterministic simulation of an Apache Kafka cluster
//!
//! The whole cluster — a ZooKeeper ensemble, brokers with their partition logs, the
//! controller, producers and consumers — runs as a discrete-event simulation with no I/O, no
//! clocks and no threads. The same scenario and seed produce the same trace, byte for byte,
//! natively and in WebAssembly.
//!
//! ## How it fits together
//!
//! - [`sim::Sim`] owns an event queue ordered by `(time, sequence)`, the [`sim::network`] (links
//!   with latency, jitter, FIFO order, cuts) and every node (a table by kind and number). It is
//!   the only thing that moves time. A request's timeout leaves the queue when its answer
//!   arrives ([`node::Ctx::cancel`]); timeouts wait in a heap apart from messages.
//! - Nodes are sans-IO state machines. Each handles `on_message`, `on_timer` and `on_disconnect`
//!   with a [`node::Ctx`] and leaves its effects (messages, timers, trace events) in an outbox:
//!   [`zookeeper::server::ZkServer`], [`broker::Broker`] (which also runs the
//!   [`controller::Controller`] when it wins `/controller`), [`client::producer::Producer`] and
//!   [`client::consumer::Consumer`] (a group member through [`client::group_member`]).
//! - Consumer groups: a broker leading a `__consumer_offsets` partition runs the
//!   [`group::coordinator`] for the groups that hash to it; the group leader runs one of the
//!   [`group::assignor`]s; commits are records in that partition ([`group::records`]).
//! - Transactions: a broker leading a `__transaction_state` partition runs the [`txn`]
//!   coordinator; an exactly-once application drives [`client::transactional`].
//! - A record's path: producer → [`partitioner`] → batch → `Produce` to the leader →
//!   [`log::PartitionLog`] append → followers `Fetch` (in KIP-227 sessions: a fetch names,
//!   and its answer lists, only the partitions that moved) → HW advances → acks=all answer →
//!   consumer `Fetch` below the HW. Brokers hold their replicas and producers their
//!   per-partition queues, fetch sessions their partitions and the invariants their ledgers in
//!   a [`partition_map::PartitionMap`] (topic, then partition index).
//! - Ordered maps and sets are [`vec_map::VecMap`] and [`vec_map::VecSet`]: sorted vectors that
//!   iterate as the standard B-tree would, with a fraction of its code in the page's wasm;
//!   lists are sorted by [`sort`], which shares one copy of the sort's code among them.
//!   Scenario JSON is read by serde's derive, except the objects tagged by a field (actions,
//!   key specs), which `scenario::tagged` reads from one map: serde's derived tagging would
//!   bring a second decoder for everything inside them into the page.
//! - Outputs are data: [`trace::TraceEvent`]s, a [`view::View`] snapshot for the UI, and a
//!   [`report::Report`] (with the [`delivery`] ledger of what each group processed, twice or
//!   never). [`invariants`] check Kafka's promises as the trace is written.
//! - [`faults`] draws a random fault schedule from a seed, for sweeps (`kplay check
//!   --random-faults`).
//! - [`tools`] runs Kafka's own command-line tools (`kafka-topics.sh`, `kafka-configs.sh`,
//!   `zookeeper-shell.sh`, …) against a `Sim`, for the web terminal and `kplay shell`/`exec`;
//!   what they change goes through [`Sim::act`], so it is recorded and replayed.
//!
//! ```
//! use kplay_core::{Scenario, Sim, SimTime};
//! let scenario = Scenario::from_json(r#"{
//!     "seed": 7,
//!     "topics": [{"name": "orders", "partitions": 3, "replication_factor": 3}],
//!     "producers": [{"topic": "orders", "rate_per_sec": 100, "keys": {"kind": "random", "count": 10}}],
//!     "consumers": [{"topic": "orders", "config": {"auto.offset.reset": "earliest"}}]
//! }"#).unwrap();
//! let mut sim = Sim::new(scenario).unwrap();
//! sim.run_until(SimTime::from_secs(10));
//! let report = sim.report();
//! assert!(report.acked > 0 && report.acked_lost == 0);
//! ```

pub mod broker;
pub mod client;
pub mod config;
pub mod controller;
pub mod delivery;
pub mod faults;
pub mod group;
pub mod histogram;
pub mod ids;
pub mod invariants;
pub mod kraft;
pub mod lessons;
pub mod log;
pub mod node;
pub mod partition_map;
pub mod partitioner;
pub mod protocol;
pub mod raft;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod share;
pub mod sim;
pub mod sort;
pub mod time;
pub mod tools;
pub mod trace;
pub mod txn;
pub mod vec_map;
pub mod view;
pub mod zookeeper;

pub use ids::{BrokerId, NodeId, Offset, TopicPartition};
pub use report::Report;
pub use scenario::command::Command;
pub use scenario::{Scenario, ScenarioError};
pub use sim::{ClientDelivery, Sim};
pub use time::SimTime;
pub use trace::{Event, TraceEvent};
pub use view::View;
