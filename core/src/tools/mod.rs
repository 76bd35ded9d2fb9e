//! Kafka's own command-line tools against the simulation, so a learner types here what they
//! will type on a real cluster and reads what it prints there: `kafka-topics.sh`,
//! `kafka-consumer-groups.sh`, `zookeeper-shell.sh`, plus kplay's fault commands (`kill broker
//! 2`). The web terminal and `kplay shell`/`kplay exec` share this module.
//!
//! Reads answer from the cluster's state at the current moment. Changes go through
//! [`Sim::act`], so they are recorded in the scenario's action log (a share link replays them)
//! and travel to the controller like an admin client's requests: their result is printed when
//! the controller answers, which [`Shell::poll`] reports as the simulation runs.

mod args;
mod complete;
mod configs;
mod console_consumer;
mod console_producer;
mod consumer_groups;
mod fault_commands;
mod features;
mod leader_election;
mod metadata_quorum;
mod metadata_shell;
mod topics;
mod zookeeper_shell;

// What the gateway (`kplay serve`) answers with the tools' own rules.
pub use configs::{topic_config_entries, ConfigEntry};
pub use metadata_quorum::{
    controller_endpoint, describe as describe_quorum, DescribeError, Quorum, Replica,
};
pub use topics::parse_configs as parse_topic_configs;

use crate::sim::{AdminResponse, Sim};
use crate::time::SimTime;
use crate::Command;
pub use complete::complete;

/// What a command printed, as a process would: its two streams and its exit code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl Output {
    pub fn out(text: impl Into<String>) -> Output {
        Output {
            stdout: text.into(),
            ..Output::default()
        }
    }
    /// A failure: the message on stderr, exit code 1 (Kafka's tools exit 1 on any error).
    pub fn error(text: impl Into<String>) -> Output {
        Output {
            stderr: text.into(),
            exit_code: 1,
            ..Output::default()
        }
    }
    fn append(&mut self, more: Output) {
        self.stdout.push_str(&more.stdout);
        self.stderr.push_str(&more.stderr);
        self.exit_code = self.exit_code.max(more.exit_code);
    }
}

/// The tools the shell knows, for help and Tab completion.
pub const TOOLS: &[&str] = &[
    "kafka-topics.sh",
    "kafka-console-producer.sh",
    "kafka-console-consumer.sh",
    "kafka-consumer-groups.sh",
    "kafka-configs.sh",
    "kafka-leader-election.sh",
    "kafka-metadata-quorum.sh",
    "kafka-metadata-shell.sh",
    "kafka-features.sh",
    "zookeeper-shell.sh",
];

/// How long a tool waits for the controller's answer: the admin client's
/// `default.api.timeout.ms` (60 s).
const ADMIN_TIMEOUT_US: u64 = 60_000_000;

/// An admin request whose answer the shell has not printed yet.
#[derive(Clone, Debug)]
struct AdminWait {
    sent_at: SimTime,
    api: &'static str,
    topic: String,
    answer: Answer,
}

/// How a tool prints the answer to what it asked (or that none came in time).
#[derive(Clone, Debug)]
enum Answer {
    Topic(topics::Answer),
    Election(leader_election::Answer),
    Config(configs::Answer),
    Reset(consumer_groups::ResetAnswer),
}

impl AdminWait {
    fn new(api: &'static str, topic: &str, answer: Answer) -> AdminWait {
        AdminWait {
            sent_at: SimTime::ZERO,
            api,
            topic: topic.to_string(),
            answer,
        }
    }

    /// What the tool prints: the answer, or (`None`) its timeout.
    fn render(&self, response: Option<&AdminResponse>) -> Output {
        match &self.answer {
            Answer::Topic(a) => a.render(&self.topic, self.api, response),
            Answer::Election(a) => a.render(response),
            Answer::Config(a) => a.render(response),
            Answer::Reset(a) => a.render(response),
        }
    }
}

/// A tool that holds the terminal: the console producer reads the lines typed next, the
/// console consumer prints records until it is done or interrupted.
#[derive(Clone, Debug)]
enum Foreground {
    Producer(console_producer::ConsoleProducer),
    Consumer(console_consumer::ConsoleConsumer),
}

/// What the terminal is doing, for its prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Waiting for a command.
    Command,
    /// The console producer reads records: one per line, an empty line or Ctrl-D ends.
    ProducerInput,
    /// The console consumer prints records; Ctrl-C stops it.
    Consuming,
}

/// One terminal session: commands run against a [`Sim`], and answers that come later.
#[derive(Clone, Debug, Default)]
pub struct Shell {
    waits: Vec<AdminWait>,
    foreground: Option<Foreground>,
}

impl Shell {
    pub fn new() -> Shell {
        Shell::default()
    }

    /// Runs one command line. What can be answered now is returned; a change sent to the
    /// controller prints when [`Shell::poll`] sees its answer.
    pub fn execute(&mut self, sim: &mut Sim, line: &str) -> Output {
        match &mut self.foreground {
            Some(Foreground::Producer(_)) if line.is_empty() => {
                self.foreground = None;
                return Output::default();
            }
            Some(Foreground::Producer(p)) => {
                return p.line(sim, line).unwrap_or_else(|e| {
                    self.foreground = None;
                    e
                })
            }
            Some(Foreground::Consumer(_)) => {
                return Output::error("kafka-console-consumer.sh is running: Ctrl-C stops it\n")
            }
            None => {}
        }
        let words = match args::words(line) {
            Ok(w) => w,
            Err(e) => return Output::error(format!("kplay: {e}\n")),
        };
        let Some((tool, rest)) = words.split_first() else {
            return Output::default();
        };
        match tool_name(tool) {
            "kafka-topics" => topics::run(self, sim, rest),
            "kafka-consumer-groups" => consumer_groups::run(self, sim, rest),
            "kafka-leader-election" => leader_election::run(self, sim, rest),
            "kafka-configs" => configs::run(self, sim, rest),
            "kafka-console-producer" => match console_producer::start(sim, rest) {
                Ok(p) => {
                    self.foreground = Some(Foreground::Producer(p));
                    Output::default()
                }
                Err(e) => e,
            },
            "kafka-console-consumer" => match console_consumer::start(sim, rest) {
                Ok(c) => {
                    self.foreground = Some(Foreground::Consumer(c));
                    Output::default()
                }
                Err(e) => e,
            },
            "zookeeper-shell" => zookeeper_shell::run(sim, rest),
            "kafka-metadata-quorum" => metadata_quorum::run(sim, rest),
            "kafka-metadata-shell" => metadata_shell::run(sim, rest),
            "kafka-features" => features::run(sim, rest),
            "help" => Output::out(help_text()),
            _ => match fault_commands::parse(&words) {
                Some(Ok(command)) => self.act(sim, command),
                Some(Err(e)) => Output::error(format!("{e}\n")),
                None => Output::error(format!(
                    "{tool}: command not found (type `help` for the commands kplay knows)\n"
                )),
            },
        }
    }

    /// Output that became ready since the last call: answers from the controller, or a
    /// timeout when none came within the admin client's 60 s.
    pub fn poll(&mut self, sim: &mut Sim) -> Output {
        let mut out = Output::default();
        match &mut self.foreground {
            Some(Foreground::Producer(p)) => out.append(p.poll(sim)),
            Some(Foreground::Consumer(c)) => {
                let progress = c.poll(sim);
                out.append(progress.output);
                if progress.done {
                    self.foreground = None;
                }
            }
            None => {}
        }
        let now = sim.now();
        self.waits.retain(|w| {
            if let Some(r) = sim.admin_response(w.sent_at, w.api, &w.topic) {
                out.append(w.render(Some(r)));
                false
            } else if now.as_us() >= w.sent_at.as_us() + ADMIN_TIMEOUT_US {
                out.append(w.render(None));
                false
            } else {
                true
            }
        });
        out
    }

    /// Whether a command still waits for an answer or a console consumer runs.
    pub fn busy(&self) -> bool {
        !self.waits.is_empty() || matches!(self.foreground, Some(Foreground::Consumer(_)))
    }

    pub fn mode(&self) -> Mode {
        match self.foreground {
            None => Mode::Command,
            Some(Foreground::Producer(_)) => Mode::ProducerInput,
            Some(Foreground::Consumer(_)) => Mode::Consuming,
        }
    }

    /// Ctrl-C or Ctrl-D: ends the console producer's input or stops the console consumer.
    pub fn interrupt(&mut self, sim: &mut Sim) -> Output {
        match self.foreground.take() {
            Some(Foreground::Consumer(mut c)) => {
                let progress = c.poll(sim);
                let mut out = progress.output;
                if !progress.done {
                    out.append(c.stop(sim));
                }
                out
            }
            Some(Foreground::Producer(_)) | None => Output::default(),
        }
    }

    /// Runs a kplay command (a fault, a restart) as a recorded action.
    fn act(&mut self, sim: &mut Sim, command: Command) -> Output {
        let description = command.describe();
        match sim.act(command) {
            Ok(at) => Output::out(format!("{description} at {:.3} s\n", at.as_secs_f64())),
            Err(e) => Output::error(format!("{e}\n")),
        }
    }

    /// Sends an admin request as a recorded action and waits for its answer.
    fn send_admin(&mut self, sim: &mut Sim, command: Command, wait: AdminWait) -> Output {
        match sim.act(command) {
            Ok(at) => {
                self.waits.push(AdminWait {
                    sent_at: at,
                    ..wait
                });
                Output::default()
            }
            Err(e) => Output::error(format!("{e}\n")),
        }
    }
}

/// How many actions of a kind run before one recorded now (`Sim::act` records at the next
/// millisecond, after every action already due then): clients added by actions are numbered
/// in the order their actions run.
fn added_before_next_action(sim: &Sim, kind: fn(&Command) -> bool) -> usize {
    let at_ms = sim.now().as_ms() + 1;
    sim.scenario()
        .actions
        .iter()
        .filter(|a| a.at_ms <= at_ms && kind(&a.command))
        .count()
}

/// The tool a word names: `bin/kafka-topics.sh`, `kafka-topics.sh` and `kafka-topics` (the
/// Confluent packaging) are the same tool.
fn tool_name(word: &str) -> &str {
    let base = word.rsplit('/').next().unwrap_or(word);
    base.strip_suffix(".sh").unwrap_or(base)
}

/// The admin client's name for a call, as its timeout message says it.
fn call_name(api: &str) -> &'static str {
    match api {
        "CreateTopics" => "createTopics",
        "CreatePartitions" => "createPartitions",
        "DeleteTopics" => "deleteTopics",
        "ElectLeaders" => "electLeaders",
        "AlterConfigs" => "incrementalAlterConfigs",
        "OffsetCommit" => "alterConsumerGroupOffsets",
        _ => "unknown",
    }
}

/// The admin client's timeout, as its exception message says it.
fn timed_out(api: &str) -> String {
    format!(
        "Timed out waiting for a node assignment. Call: {}",
        call_name(api)
    )
}

/// How Kafka's clients name an error when they log it.
fn exception_name(error: crate::protocol::ErrorCode) -> String {
    use crate::protocol::ErrorCode as E;
    let (class, message) = match error {
        E::NotEnoughReplicas => ("NotEnoughReplicasException", "Messages are rejected since there are fewer in-sync replicas than required."),
        E::NotEnoughReplicasAfterAppend => ("NotEnoughReplicasAfterAppendException", "Messages are written to the log, but to fewer in-sync replicas than required."),
        E::DeliveryTimeout | E::RequestTimedOut => ("TimeoutException", "Expiring record(s): delivery.timeout.ms has passed since batch creation"),
        E::UnknownTopicOrPartition => ("UnknownTopicOrPartitionException", "This server does not host this topic-partition."),
        E::NotLeaderOrFollower => ("NotLeaderOrFollowerException", "For requests intended only for the leader, this error indicates that the broker is not the current leader."),
        E::InvalidRecord => ("InvalidRecordException", "This record has failed the validation on broker and hence will be rejected."),
        other => return format!("org.apache.kafka.common.errors.{other:?}"),
    };
    format!("org.apache.kafka.common.errors.{class}: {message}")
}

fn help_text() -> String {
    let mut out = String::from("Kafka's tools (each takes --help):\n");
    for tool in TOOLS {
        out.push_str(&format!("  {tool}\n"));
    }
    out.push_str("kplay's fault commands:\n");
    for line in fault_commands::USAGE {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests;
