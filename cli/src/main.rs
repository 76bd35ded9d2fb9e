//! `kplay`: the headless front door to the simulation. Output goes to stdout; errors go to
//! stderr with exit code 2 for bad input.

// A command-line tool prints its results.
#![allow(clippy::print_stdout)]

use clap::{Parser, Subcommand};
mod assign;

use kplay_core::group::assignor::Assignor;
use kplay_core::group::coordinator_partition;
use kplay_core::partitioner::partition_for_key;
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
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
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
