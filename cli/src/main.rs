//! `kplay`: the headless front door to the simulation. Output goes to stdout; errors go to
//! stderr with exit code 2 for bad input.

// A command-line tool prints its results.
#![allow(clippy::print_stdout)]

use clap::{Parser, Subcommand};
mod assign;
mod export;
mod run;
mod serve;
mod shell;
mod source;

use kplay_core::group::assignor::Assignor;
use kplay_core::group::coordinator_partition;
use kplay_core::partitioner::partition_for_key;
use kplay_core::scenario::ClusterMode;
use kplay_core::{lessons, share, Scenario};
use std::io::Write;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "kplay",
    version,
    about = "A simulated Apache Kafka cluster: the headless CLI"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Which partition each key goes to, as Kafka's default partitioner decides
    /// (murmur2(key) & 0x7fffffff) % partitions. Prints KEY<TAB>PARTITION per key.
    Partition {
        /// The topic's partition count.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        partitions: u32,
        /// Keys (UTF-8 bytes, as a Java client's StringSerializer would send them).
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Which `__consumer_offsets` partition coordinates each group, as Kafka decides
    /// (abs(groupId.hashCode()) % partitions). Prints GROUP<TAB>PARTITION per group.
    Coordinator {
        /// `offsets.topic.num.partitions` (Kafka's default is 50).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        partitions: u32,
        /// Group ids.
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// What a group's leader assigns: FILE is
    /// {"topics":{"t":3,...},"members":[{"id":"c1","topics":["t"]},...]}; prints
    /// {"c1":[["t",0],...],...} (a fresh assignment: no previous owners).
    Assign {
        /// range, roundrobin, sticky or cooperative-sticky.
        #[arg(long, value_parser = parse_strategy)]
        strategy: Assignor,
        /// The group as JSON (`-` reads stdin).
        file: String,
    },
    /// Runs a scenario and prints its Report as JSON.
    Run {
        /// A scenario JSON file, a lesson name or a share URL.
        scenario: String,
        /// Runs the scenario in this mode: zookeeper or kraft (default: the scenario's).
        #[arg(long, value_parser = source::parse_mode)]
        mode: Option<ClusterMode>,
        /// Overrides the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated seconds to run (default: the scenario's duration_ms).
        #[arg(long)]
        until: Option<f64>,
        /// Writes every trace event as a JSON line to this file.
        #[arg(long)]
        trace: Option<String>,
        /// Adds the random fault schedule for the seed, as `check --random-faults` does.
        #[arg(long)]
        random_faults: bool,
    },
    /// Runs seeds 0..N and prints a JSON summary (violations, acknowledged records lost and
    /// why, consumer loss and duplicates); exits 1 if any invariant broke.
    Check {
        /// A scenario JSON file, a lesson name or a share URL.
        scenario: String,
        /// Runs the scenario in this mode: zookeeper or kraft (default: the scenario's).
        #[arg(long, value_parser = source::parse_mode)]
        mode: Option<ClusterMode>,
        /// How many seeds.
        #[arg(long)]
        seeds: u64,
        /// Simulated seconds per run (default: the scenario's duration_ms).
        #[arg(long)]
        until: Option<f64>,
        /// Adds a random fault schedule per seed: broker and ZooKeeper crashes, cut, one-way
        /// and slow links, isolated brokers, paused and crashed consumers, all undone by 75 %
        /// of the run (no disk is lost).
        #[arg(long)]
        random_faults: bool,
        /// Threads to run seeds on (default: every core); the summary does not depend on it.
        #[arg(long)]
        jobs: Option<usize>,
        /// Lists each seed's trace hash in the summary.
        #[arg(long)]
        hashes: bool,
    },
    /// Share URLs: encode a scenario, decode a string or URL.
    Url {
        #[command(subcommand)]
        command: UrlCmd,
    },
    /// Lists the lessons: NAME<TAB>TITLE per line.
    Lessons,
    /// Prints a lesson's scenario as JSON.
    Lesson {
        /// A name from `kplay lessons`.
        name: String,
    },
    /// Prints the real-Kafka commands and properties that set up the same cluster.
    Export {
        /// A scenario JSON file, a lesson name or a share URL.
        scenario: String,
        /// Runs the scenario in this mode: zookeeper or kraft (default: the scenario's).
        #[arg(long, value_parser = source::parse_mode)]
        mode: Option<ClusterMode>,
    },
    /// Runs Kafka's tools (kafka-topics.sh, kafka-consumer-groups.sh, zookeeper-shell.sh) and
    /// kplay's fault commands (kill broker 2) against the cluster at a simulated moment.
    /// Prints what the tools print; exits with the worst of their exit codes.
    Exec {
        /// A scenario JSON file, a lesson name or a share URL.
        scenario: String,
        /// Runs the scenario in this mode: zookeeper or kraft (default: the scenario's).
        #[arg(long, value_parser = source::parse_mode)]
        mode: Option<ClusterMode>,
        /// Simulated seconds to run before the first command.
        #[arg(long)]
        at: f64,
        /// Commands, each one argument (quote them), run in turn; `sleep SECONDS` moves
        /// simulated time between them.
        #[arg(required = true)]
        commands: Vec<String>,
    },
    /// An interactive terminal with the same commands; `sleep SECONDS` moves simulated time,
    /// `share` prints the share string of everything done.
    Shell {
        /// A scenario JSON file, a lesson name or a share URL.
        scenario: String,
        /// Runs the scenario in this mode: zookeeper or kraft (default: the scenario's).
        #[arg(long, value_parser = source::parse_mode)]
        mode: Option<ClusterMode>,
        /// Simulated seconds to run before the prompt (the cluster forms in the first few).
        #[arg(long, default_value_t = 10.0)]
        at: f64,
    },
    /// Runs the cluster in real time behind Kafka's wire protocol: point any Kafka client at it
    /// (bootstrap.servers=127.0.0.1:9092). Broker n listens on port + n - 1 while it lives.
    /// Lines on stdin (kafka-topics.sh ..., kill broker 2, restart broker 2) act on the cluster
    /// while clients run; the server stops when stdin closes.
    Serve {
        /// A scenario JSON file, a lesson name or a share URL. Default: 3 brokers, 3 ZooKeeper
        /// servers, no topics (clients create them, or auto-creation does).
        scenario: Option<String>,
        /// Runs the scenario in this mode: zookeeper or kraft (default: the scenario's).
        #[arg(long, value_parser = source::parse_mode)]
        mode: Option<ClusterMode>,
        /// Where broker 1 listens, and the address brokers advertise in Metadata.
        #[arg(long, default_value = "127.0.0.1:9092")]
        listen: String,
        /// socket.request.max.bytes: a longer request closes its connection.
        #[arg(long, default_value_t = kplay_gateway::frame::DEFAULT_MAX_REQUEST_BYTES)]
        max_request_bytes: usize,
        /// Ignore stdin and run until killed.
        #[arg(long)]
        no_commands: bool,
    },
}

#[derive(Subcommand, Debug)]
enum UrlCmd {
    /// Prints the share string (`v1.…`; put it after `#s=` in the playground's URL).
    Encode {
        /// A scenario JSON file (`-` reads stdin).
        file: String,
    },
    /// Prints the scenario a share string or URL holds, as JSON.
    Decode {
        /// `v1.…`, `#s=v1.…` or a full URL.
        string: String,
    },
}

fn parse_strategy(s: &str) -> Result<Assignor, String> {
    Assignor::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Assignor::ALL.iter().map(|a| a.name()).collect();
        format!(
            "unknown strategy '{s}' (expected one of: {})",
            names.join(", ")
        )
    })
}

/// Bad input: one line on stderr, exit code 2.
fn bad_input(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let result = match cli.command {
        Cmd::Partition { partitions, keys } => keys.iter().try_for_each(|key| {
            writeln!(
                out,
                "{key}\t{}",
                partition_for_key(key.as_bytes(), partitions)
            )
        }),
        Cmd::Coordinator { partitions, groups } => groups.iter().try_for_each(|group| {
            writeln!(out, "{group}\t{}", coordinator_partition(group, partitions))
        }),
        Cmd::Assign { strategy, file } => match assign::run(strategy, &file) {
            Ok(json) => writeln!(out, "{json}"),
            Err(e) => return bad_input(&e),
        },
        Cmd::Run {
            scenario,
            mode,
            seed,
            until,
            trace,
            random_faults,
        } => {
            let report = source::load_in(&scenario, mode)
                .and_then(|s| run::run(s, seed, until, trace.as_deref(), random_faults));
            match report {
                Ok(r) => writeln!(out, "{}", to_json(&r)),
                Err(e) => return bad_input(&e),
            }
        }
        Cmd::Check {
            scenario,
            mode,
            seeds,
            until,
            random_faults,
            jobs,
            hashes,
        } => {
            let options = run::CheckOptions {
                seeds,
                until,
                random_faults,
                jobs: jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
                hashes,
            };
            match source::load_in(&scenario, mode).and_then(|s| run::check(s, &options)) {
                Ok(summary) => {
                    let failed = summary.runs_with_violations > 0;
                    let written = writeln!(out, "{}", to_json(&summary));
                    if failed && written.is_ok() {
                        return ExitCode::from(1);
                    }
                    written
                }
                Err(e) => return bad_input(&e),
            }
        }
        Cmd::Url {
            command: UrlCmd::Encode { file },
        } => {
            let scenario = source::read_capped(&file)
                .and_then(|t| Scenario::from_json(&t).map_err(|e| format!("{file}: {e}")));
            match scenario {
                Ok(s) => writeln!(out, "{}", share::encode(&s)),
                Err(e) => return bad_input(&e),
            }
        }
        Cmd::Url {
            command: UrlCmd::Decode { string },
        } => match share::decode(&string) {
            Ok(s) => writeln!(out, "{}", s.to_json_pretty()),
            Err(e) => return bad_input(&e.to_string()),
        },
        Cmd::Lessons => lessons::list()
            .iter()
            .try_for_each(|(name, title)| writeln!(out, "{name}\t{title}")),
        Cmd::Lesson { name } => match lessons::get(&name) {
            Some(s) => writeln!(out, "{}", s.to_json_pretty()),
            None => return bad_input(&format!("no lesson named '{name}' (see `kplay lessons`)")),
        },
        Cmd::Export { scenario, mode } => match source::load_in(&scenario, mode) {
            Ok(s) => write!(out, "{}", export::export(&s)),
            Err(e) => return bad_input(&e),
        },
        Cmd::Exec {
            scenario,
            mode,
            at,
            commands,
        } => {
            drop(out);
            return match source::load_in(&scenario, mode)
                .and_then(|s| shell::exec(s, at, &commands))
            {
                Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
                Err(e) => bad_input(&e),
            };
        }
        Cmd::Serve {
            scenario,
            mode,
            listen,
            max_request_bytes,
            no_commands,
        } => {
            drop(out);
            let scenario = match scenario.as_deref() {
                None => kplay_core::Scenario::default()
                    .with_mode(mode.unwrap_or_default())
                    .map_err(|e| e.to_string()),
                Some(s) => source::load_in(s, mode),
            };
            return match scenario
                .and_then(|s| serve::run(s, &listen, max_request_bytes, !no_commands))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => bad_input(&e),
            };
        }
        Cmd::Shell { scenario, mode, at } => {
            drop(out);
            return match source::load_in(&scenario, mode).and_then(|s| shell::interactive(s, at)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => bad_input(&e),
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`kplay partition … | head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kplay: {e}");
            ExitCode::from(1)
        }
    }
}
