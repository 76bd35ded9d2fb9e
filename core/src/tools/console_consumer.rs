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
    Opt::with_arg("property", "String: prop", "The properties to initialize the message formatter: print.timestamp, print.partition, print.offset, print.headers, print.key, print.value (true|false), key.separator=<sep> (default \\t), line.separator, null.literal."),
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
    format: Formatter,
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
    // DefaultMessageFormatter.getBoolProperty: "true" in any case, around spaces.
    let flag = |name: &str, default: bool| {
        formatter
            .get(name)
            .map_or(default, |v| v.trim().eq_ignore_ascii_case("true"))
    };
    let text = |name: &str, default: &str| {
        formatter
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let format = Formatter {
        print_timestamp: flag("print.timestamp", false),
        print_partition: flag("print.partition", false),
        print_offset: flag("print.offset", false),
        print_headers: flag("print.headers", false),
        print_key: flag("print.key", false),
        print_value: flag("print.value", true),
        key_separator: text("key.separator", "\t"),
        line_separator: text("line.separator", "\n"),
        null_literal: text("null.literal", "null"),
    };
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
        format,
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
            for (offset, timestamp_us, key, value) in records(sim, &tp, first, last) {
                if self.max_messages.is_some_and(|m| self.printed >= m) {
                    break;
                }
                let record = Shown {
                    partition: tp.partition,
                    offset,
                    timestamp_ms: crate::controller::zk_data::wall_clock_ms(timestamp_us / 1000),
                    key: key.as_deref(),
                    value: &value,
                };
                output.stdout.push_str(&self.format.write(&record));
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
}

/// A record as the formatter gets it.
struct Shown<'a> {
    partition: u32,
    offset: Offset,
    /// The record's CreateTime: the producer's clock when it was sent, as epoch milliseconds.
    timestamp_ms: u64,
    key: Option<&'a [u8]>,
    value: &'a [u8],
}

/// Kafka's `DefaultMessageFormatter` and its `--property` settings.
#[derive(Clone, Debug)]
struct Formatter {
    print_timestamp: bool,
    print_partition: bool,
    print_offset: bool,
    print_headers: bool,
    print_key: bool,
    print_value: bool,
    key_separator: String,
    line_separator: String,
    null_literal: String,
}

impl Formatter {
    /// `writeTo`: timestamp, partition, offset, headers, key, value, each followed by the key
    /// separator if a column follows it, else by the line separator.
    fn write(&self, r: &Shown<'_>) -> String {
        let mut line = String::new();
        let mut column = |text: String, more: bool| {
            line.push_str(&text);
            line.push_str(if more {
                &self.key_separator
            } else {
                &self.line_separator
            });
        };
        let bytes = |b: Option<&[u8]>| {
            b.map_or(self.null_literal.clone(), |b| {
                String::from_utf8_lossy(b).into_owned()
            })
        };
        let (value, key, headers, offset) = (
            self.print_value,
            self.print_key || self.print_value,
            self.print_headers || self.print_key || self.print_value,
            self.print_offset || self.print_headers || self.print_key || self.print_value,
        );
        if self.print_timestamp {
            // kplay's records all carry their producer's CreateTime.
            column(
                format!("CreateTime:{}", r.timestamp_ms),
                offset || self.print_partition,
            );
        }
        if self.print_partition {
            column(format!("Partition:{}", r.partition), offset);
        }
        if self.print_offset {
            column(format!("Offset:{}", r.offset), headers);
        }
        if self.print_headers {
            // kplay's records carry no headers.
            column("NO_HEADERS".to_string(), key);
        }
        if self.print_key {
            column(bytes(r.key), value);
        }
        if self.print_value {
            column(bytes(Some(r.value)), false);
        }
        line
    }
}

/// Records `first..=last` of a partition (offset, timestamp in simulated µs, key, value), from
/// its leader's log (or any replica holding them).
#[allow(clippy::type_complexity)]
fn records(
    sim: &Sim,
    tp: &TopicPartition,
    first: Offset,
    last: Offset,
) -> Vec<(Offset, u64, Option<Vec<u8>>, Vec<u8>)> {
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
                    out.push((
                        offset,
                        r.timestamp_us,
                        r.key.map(<[u8]>::to_vec),
                        r.value.to_vec(),
                    ));
                }
            }
            batch.header.last_offset() < last
        });
    }
    out
}
