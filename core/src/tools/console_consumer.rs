//! `kafka-console-consumer.sh`: starts a consumer client (in `--group`, or a fresh
//! `console-consumer-N` group without auto-commit, as the real tool does) and prints each
//! record it processes, until `--max-messages`, `--timeout-ms` without a record, or Ctrl-C.

use super::args::{self, Opt};
use super::Output;
use crate::config::{AutoOffsetReset, ConsumerConfig};
use crate::ids::{Offset, TopicPartition};
use crate::scenario::ConsumerSpec;
use crate::sim::Sim;
use crate::time::SimTime;
use crate::trace::Event;
use crate::Command;

pub(super) const OPTS: &[Opt] = &[
    Opt::with_arg("bootstrap-server", "String: server to connect to", "REQUIRED: The server(s) to connect to."),
    Opt::with_arg("consumer-property", "String: consumer_prop", "A mechanism to pass user-defined properties in the form key=value to the consumer."),
    Opt::flag("from-beginning", "If the consumer does not already have an established offset to consume from, start with the earliest message present in the log rather than the latest message."),
    Opt::with_arg("group", "String: consumer group id", "The consumer group id of the consumer."),
    Opt::flag("help", "Print usage information."),
    Opt::with_arg("max-messages", "Integer: num_messages", "The maximum number of messages to consume before exiting. If not set, consumption is continual."),
    Opt::with_arg("property", "String: prop", "The properties to initialize the message formatter: print.key=true|false, print.partition, print.offset, key.separator=<sep> (default \\t)."),
    Opt::with_arg("timeout-ms", "Integer: timeout_ms", "If specified, exit if no message is available for consumption for the specified interval."),
    Opt::with_arg("topic", "String: topic", "The topic to consume on."),
];

/// The consumer properties kplay models.
const CONSUMER_PROPERTIES: &[&str] = &[
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "enable.auto.commit",
    "fetch.max.wait.ms",
    "fetch.min.bytes",
    "group.instance.id",
    "heartbeat.interval.ms",
    "isolation.level",
    "max.poll.interval.ms",
    "max.poll.records",
    "partition.assignment.strategy",
    "session.timeout.ms",
];

fn help() -> String {
    args::help(
        "This tool helps to read data from Kafka topics and outputs it to standard output.",
        OPTS,
    )
}

/// A running console consumer: what it printed so far and when to stop.
#[derive(Clone, Debug)]
pub struct ConsoleConsumer {
    consumer: u32,
    max_messages: Option<u64>,
    timeout_us: Option<u64>,
    print_key: bool,
    print_partition: bool,
    print_offset: bool,
    separator: String,
    printed: u64,
    last_record_at: SimTime,
    trace_cursor: u64,
}

pub fn start(sim: &mut Sim, argv: &[String]) -> Result<ConsoleConsumer, Output> {
    let usage_error = |m: &str| Output::error(format!("{m}\n{}", help()));
    let o = args::parse(OPTS, argv).map_err(|e| usage_error(&e))?;
    if o.has("help") {
        return Err(Output::out(help()));
    }
    if !o.has("bootstrap-server") {
        return Err(usage_error(
            "Missing required argument \"[bootstrap-server]\"",
        ));
    }
    let Some(topic) = o.value("topic") else {
        return Err(usage_error("Exactly one of whitelist/topic is required."));
    };
    let positive = |name: &str| -> Result<Option<u64>, Output> {
        match o.int(name).map_err(|e| usage_error(&e))? {
            Some(n) if n < 1 => Err(usage_error(&format!("--{name} must be at least 1"))),
            n => Ok(n.map(|n| n as u64)),
        }
    };
    let max_messages = positive("max-messages")?;
    let timeout_ms = positive("timeout-ms")?;
    let mut formatter = crate::vec_map::VecMap::new();
    for p in o.values("property") {
        let Some((k, v)) = p.split_once('=') else {
            return Err(usage_error(&format!(
                "Invalid property '{p}': use key=value"
            )));
        };
        formatter.insert(k.trim().to_string(), v.to_string());
    }
    let flag = |name: &str| formatter.get(name).is_some_and(|v| v == "true");
    // ConsoleConsumer: without --group, a throwaway group that commits nothing.
    let group = match o.value("group") {
        Some(g) => g.to_string(),
        None => format!(
            "console-consumer-{}",
            (sim.now().as_us() ^ sim.scenario().seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) % 100_000
        ),
    };
    let base = ConsumerConfig {
        group_id: Some(group),
        enable_auto_commit: o.has("group"),
        auto_offset_reset: if o.has("from-beginning") {
            AutoOffsetReset::Earliest
        } else {
            AutoOffsetReset::Latest
        },
        ..ConsumerConfig::default()
    };
    let config = args::apply_properties(
        &base,
        o.values("consumer-property"),
        "consumer",
        CONSUMER_PROPERTIES,
    )
    .map_err(|e| Output::error(format!("{e}\n")))?;
    let spec = ConsumerSpec {
        topic: topic.to_string(),
        config,
        ..ConsumerSpec::default()
    };
    let consumer = next_consumer_index(sim);
    sim.act(Command::AddConsumer { consumer: spec })
        .map_err(|e| Output::error(format!("{e}\n")))?;
    Ok(ConsoleConsumer {
        consumer,
        max_messages,
        timeout_us: timeout_ms.map(|ms| ms * 1000),
        print_key: flag("print.key"),
        print_partition: flag("print.partition"),
        print_offset: flag("print.offset"),
        separator: formatter
            .get("key.separator")
            .cloned()
            .unwrap_or_else(|| "\t".to_string()),
        printed: 0,
        last_record_at: sim.now(),
        trace_cursor: sim.trace_events_total(),
    })
}

/// The index the consumer added by an action recorded now will get: the scenario's
/// consumers, then those added by earlier actions.
fn next_consumer_index(sim: &Sim) -> u32 {
    let added = super::added_before_next_action(sim, |c| matches!(c, Command::AddConsumer { .. }));
    (sim.scenario().consumers.len() + added) as u32
}

/// What `poll` found: output, and whether the tool has exited.
pub struct Progress {
    pub output: Output,
    pub done: bool,
}

impl ConsoleConsumer {
    /// Prints the records the consumer processed since the last call.
    pub fn poll(&mut self, sim: &mut Sim) -> Progress {
        let mut output = Output::default();
        let mut processed: Vec<(TopicPartition, Offset, Offset)> = Vec::new();
        if let Some(events) = sim.trace_since(self.trace_cursor) {
            for e in events {
                if let Event::ConsumerProcessed {
                    consumer,
                    topic,
                    partition,
                    first_offset,
                    last_offset,
                    ..
                } = &e.event
                {
                    if *consumer == self.consumer {
                        processed.push((
                            TopicPartition::new(topic, *partition),
                            *first_offset,
                            *last_offset,
                        ));
                    }
                }
            }
        }
        self.trace_cursor = sim.trace_events_total();
        for (tp, first, last) in processed {
            for (offset, key, value) in records(sim, &tp, first, last) {
                if self.max_messages.is_some_and(|m| self.printed >= m) {
                    break;
                }
                output
                    .stdout
                    .push_str(&self.format(&tp, offset, key.as_deref(), &value));
                self.printed += 1;
                self.last_record_at = sim.now();
            }
        }
        let reached = self.max_messages.is_some_and(|m| self.printed >= m);
        let idle = self
            .timeout_us
            .is_some_and(|t| sim.now().since(self.last_record_at) >= t);
        if reached || idle {
            if idle && !reached {
                output.stderr.push_str("ERROR Error processing message, terminating consumer process: org.apache.kafka.common.errors.TimeoutException\n");
            }
            output.append(self.stop(sim));
            return Progress { output, done: true };
        }
        Progress {
            output,
            done: false,
        }
    }

    /// The tool exits (Ctrl-C, or it is done): the consumer closes and leaves its group.
    pub fn stop(&self, sim: &mut Sim) -> Output {
        let mut out = Output::default();
        if let Err(e) = sim.act(Command::CloseConsumer {
            consumer: self.consumer,
        }) {
            out.stderr.push_str(&format!("{e}\n"));
        }
        out.stderr
            .push_str(&format!("Processed a total of {} messages\n", self.printed));
        out
    }

    /// Kafka's DefaultMessageFormatter: partition, offset, key, value, tab-separated.
    fn format(
        &self,
        tp: &TopicPartition,
        offset: Offset,
        key: Option<&[u8]>,
        value: &[u8],
    ) -> String {
        let mut line = String::new();
        if self.print_partition {
            line.push_str(&format!("Partition:{}{}", tp.partition, self.separator));
        }
        if self.print_offset {
            line.push_str(&format!("Offset:{offset}{}", self.separator));
        }
        if self.print_key {
            line.push_str(&key.map_or("null".into(), String::from_utf8_lossy));
            line.push_str(&self.separator);
        }
        line.push_str(&String::from_utf8_lossy(value));
        line.push('\n');
        line
    }
}

/// Records `first..=last` of a partition, from its leader's log (or any replica holding them).
fn records(
    sim: &Sim,
    tp: &TopicPartition,
    first: Offset,
    last: Offset,
) -> Vec<(Offset, Option<Vec<u8>>, Vec<u8>)> {
    let log = sim
        .leader_log(&tp.topic, tp.partition)
        .filter(|l| l.log_end_offset() > last)
        .or_else(|| {
            sim.brokers()
                .filter_map(|b| b.log(tp))
                .find(|l| l.log_start_offset() <= first && l.log_end_offset() > last)
        });
    let mut out = Vec::new();
    if let Some(log) = log {
        log.for_each_batch(first, log.log_end_offset(), |batch| {
            for r in batch.iter() {
                let offset = batch.header.base_offset + r.offset_delta as u64;
                if (first..=last).contains(&offset) {
                    out.push((offset, r.key.map(<[u8]>::to_vec), r.value.to_vec()));
                }
            }
            batch.header.last_offset() < last
        });
    }
    out
}
