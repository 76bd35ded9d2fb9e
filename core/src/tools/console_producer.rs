//! `kafka-console-producer.sh`: each session is a new producer client (its own settings from
//! `--producer-property`, the console's `linger.ms=1000`), and each line typed after it is a
//! record, until an empty line or Ctrl-D. Records that fail print Kafka's error line.

use super::args::{self, Opt};
use super::Output;
use crate::config::ProducerConfig;
use crate::scenario::ProducerSpec;
use crate::sim::Sim;
use crate::trace::Event;
use crate::Command;

pub(super) const OPTS: &[Opt] = &[
    Opt::with_arg("bootstrap-server", "String: server to connect to", "REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to."),
    Opt::with_arg("broker-list", "String: broker-list", "DEPRECATED, use --bootstrap-server instead."),
    Opt::flag("help", "Print usage information."),
    Opt::with_arg("producer-property", "String: producer_prop", "A mechanism to pass user-defined properties in the form key=value to the producer."),
    Opt::with_arg("property", "String: prop", "A mechanism to pass user-defined properties in the form key=value to the message reader: parse.key=true, key.separator=<sep> (default \\t)."),
    Opt::with_arg("request-required-acks", "String: request required acks", "The required acks of the producer requests (default: -1)."),
    Opt::with_arg("topic", "String: topic", "REQUIRED: The topic name to produce messages to."),
];

/// The producer properties kplay models.
const PRODUCER_PROPERTIES: &[&str] = &[
    "acks",
    "batch.size",
    "delivery.timeout.ms",
    "enable.idempotence",
    "linger.ms",
    "max.in.flight.requests.per.connection",
    "metadata.max.age.ms",
    "partitioner",
    "request.timeout.ms",
    "retries",
    "retry.backoff.ms",
];

fn help() -> String {
    args::help(
        "This tool helps to read data from standard input and publish it to Kafka.",
        OPTS,
    )
}

/// A running console producer: the lines typed next are its records.
#[derive(Clone, Debug)]
pub struct ConsoleProducer {
    producer: u32,
    topic: String,
    parse_key: bool,
    separator: String,
    line_number: u64,
    /// Where in the trace its delivery errors are looked for.
    trace_cursor: u64,
}

/// Starts a session: adds the producer client as a recorded action.
pub fn start(sim: &mut Sim, argv: &[String]) -> Result<ConsoleProducer, Output> {
    let usage_error = |m: &str| Output::error(format!("{m}\n{}", help()));
    let o = args::parse(OPTS, argv).map_err(|e| usage_error(&e))?;
    if o.has("help") {
        return Err(Output::out(help()));
    }
    if !o.has("bootstrap-server") && !o.has("broker-list") {
        return Err(usage_error(
            "Missing required argument \"[bootstrap-server]\"",
        ));
    }
    let Some(topic) = o.value("topic") else {
        return Err(usage_error("Missing required argument \"[topic]\""));
    };
    let mut reader = crate::vec_map::VecMap::new();
    for p in o.values("property") {
        let Some((k, v)) = p.split_once('=') else {
            return Err(usage_error(&format!(
                "Invalid property '{p}': use key=value"
            )));
        };
        reader.insert(k.trim().to_string(), v.to_string());
    }
    // The console producer's own defaults (ConsoleProducer: --timeout 1000 ms → linger.ms).
    let base = ProducerConfig {
        linger_ms: Some(1000),
        ..ProducerConfig::default()
    };
    let mut properties = o.values("producer-property").to_vec();
    if let Some(acks) = o.value("request-required-acks") {
        properties.push(format!("acks={acks}"));
    }
    let config = args::apply_properties(&base, &properties, "producer", PRODUCER_PROPERTIES)
        .map_err(|e| Output::error(format!("{e}\n")))?;
    let spec = ProducerSpec {
        topic: topic.to_string(),
        // No generated load: only the lines typed.
        max_records: Some(0),
        config,
        ..ProducerSpec::default()
    };
    let producer = next_producer_index(sim);
    sim.act(Command::AddProducer { producer: spec })
        .map_err(|e| Output::error(format!("{e}\n")))?;
    Ok(ConsoleProducer {
        producer,
        topic: topic.to_string(),
        parse_key: reader.get("parse.key").is_some_and(|v| v == "true"),
        separator: reader
            .get("key.separator")
            .cloned()
            .unwrap_or_else(|| "\t".to_string()),
        line_number: 0,
        trace_cursor: sim.trace_events_total(),
    })
}

/// The index the producer added by an action recorded now will get: the scenario's
/// producers, the playground's console producer, then those added by earlier actions.
fn next_producer_index(sim: &Sim) -> u32 {
    let added = super::added_before_next_action(sim, |c| matches!(c, Command::AddProducer { .. }));
    (sim.scenario().producers.len() + 1 + added) as u32
}

impl ConsoleProducer {
    /// One typed line: a record. `Err` ends the session, as the real tool exits.
    pub fn line(&mut self, sim: &mut Sim, line: &str) -> Result<Output, Output> {
        self.line_number += 1;
        let (key, value) = if self.parse_key {
            match line.split_once(self.separator.as_str()) {
                Some((k, v)) => (Some(k.to_string()), v.to_string()),
                None => {
                    return Err(Output::error(format!(
                        "org.apache.kafka.common.KafkaException: No key separator found on line number {}: '{line}'\n",
                        self.line_number
                    )))
                }
            }
        } else {
            (None, line.to_string())
        };
        let command = Command::Produce {
            topic: self.topic.clone(),
            key,
            value,
            producer: Some(self.producer),
        };
        sim.act(command)
            .map(|_| Output::default())
            .map_err(|e| Output::error(format!("{e}\n")))
    }

    /// Records that failed since the last call, as the producer's error callback logs them.
    pub fn poll(&mut self, sim: &Sim) -> Output {
        let mut out = Output::default();
        if let Some(events) = sim.trace_since(self.trace_cursor) {
            for e in events {
                if let Event::ProducerFailed {
                    producer,
                    topic,
                    partition,
                    records,
                    error,
                } = &e.event
                {
                    if *producer == self.producer {
                        // The broker's own message for the one invalid record kplay refuses.
                        let exception = if *error == crate::protocol::ErrorCode::InvalidRecord {
                            format!("org.apache.kafka.common.InvalidRecordException: Compacted topic cannot accept message without key in topic partition {topic}-{partition}.")
                        } else {
                            super::exception_name(*error)
                        };
                        out.stderr.push_str(&format!(
                            "ERROR Error when sending message to topic {topic} (partition {partition}, {records} record(s)) with error: {exception}\n"
                        ));
                    }
                }
            }
        }
        self.trace_cursor = sim.trace_events_total();
        out
    }
}
