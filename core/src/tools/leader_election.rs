//! `kafka-leader-election.sh --election-type preferred|unclean (--topic T --partition P |
//! --all-topic-partitions)`: asks the controller to elect (KIP-460) and prints what it did,
//! in Kafka's words.

use super::args::{self, Opt};
use super::{AdminWait, Output, Shell};
use crate::protocol::ErrorCode;
use crate::sim::{AdminResponse, Sim};
use crate::Command;

pub(super) const OPTS: &[Opt] = &[
    Opt::flag("all-topic-partitions", "Perform election on all of the eligible topic partitions based on the type of election (see the --election-type flag). Not allowed if --topic or --path-to-json-file is specified."),
    Opt::with_arg("bootstrap-server", "host:port", "A hostname and port for the broker to connect to, in the form host:port. Multiple comma separated URLs can be given. REQUIRED."),
    Opt::with_arg("election-type", "election type", "Type of election to attempt. Possible values are \"preferred\" for preferred leader election or \"unclean\" for unclean leader election. If preferred election is selection, the election is only performed if the current leader is not the preferred leader for the topic partition. If unclean election is selected, the election is only performed if there are no leader for the topic partition. REQUIRED."),
    Opt::flag("help", "Print usage information."),
    Opt::with_arg("partition", "Integer: partition id", "Partition id for which to perform an election. REQUIRED if --topic is specified."),
    Opt::with_arg("topic", "topic name", "Name of topic for which to perform an election. Not allowed if --path-to-json-file or --all-topic-partitions is specified."),
];

fn help() -> String {
    args::help("This tool attempts to elect a new leader for a set of topic partitions. The type of elections supported are preferred replicas and unclean replicas.", OPTS)
}

/// LeaderElectionCommand's failures: the message on stderr, exit code 1.
fn failed(message: &str) -> Output {
    Output::error(format!("{message}\n"))
}

pub fn run(shell: &mut Shell, sim: &mut Sim, argv: &[String]) -> Output {
    let o = match args::parse(OPTS, argv) {
        Ok(o) => o,
        Err(e) => return Output::error(format!("{e}\n{}", help())),
    };
    if o.has("help") || argv.is_empty() {
        return Output::out(help());
    }
    let missing: Vec<&str> = ["bootstrap-server", "election-type"]
        .into_iter()
        .filter(|n| !o.has(n))
        .collect();
    if !missing.is_empty() {
        return failed(&format!(
            "Missing required option(s): {}",
            missing.join(", ")
        ));
    }
    let unclean = match o
        .value("election-type")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("preferred") => false,
        Some("unclean") => true,
        _ => {
            return failed(&format!(
                "Cannot parse argument '{}' of option election-type: use preferred or unclean",
                o.value("election-type").unwrap_or_default()
            ))
        }
    };
    if o.has("topic") == o.has("all-topic-partitions") {
        return failed("One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file");
    }
    let partitions = match (o.value("topic"), o.int("partition")) {
        (_, Err(e)) => return failed(&e),
        (Some(_), Ok(None)) => return failed("Missing required option(s): partition"),
        (None, Ok(Some(_))) => return failed("Option partition is only allowed if topic is used"),
        (Some(_), Ok(Some(p))) if p < 0 => return failed(&format!("Invalid partition: {p}")),
        (Some(t), Ok(Some(p))) => Some(vec![(t.to_string(), p as u32)]),
        (None, Ok(None)) => None,
    };
    if sim.controller().is_none() {
        return failed("Timeout waiting for election results");
    }
    let wait = AdminWait::new(
        "ElectLeaders",
        "",
        super::Answer::Election(Answer { unclean }),
    );
    shell.send_admin(
        sim,
        Command::ElectLeaders {
            unclean,
            partitions,
        },
        wait,
    )
}

/// What the tool prints when the controller answers.
#[derive(Clone, Debug)]
pub(super) struct Answer {
    unclean: bool,
}

impl Answer {
    pub(super) fn render(&self, response: Option<&AdminResponse>) -> Output {
        let Some(response) = response else {
            return Output {
                stdout: "Timeout waiting for election results\n".into(),
                stderr: "Timeout waiting for election results\n".into(),
                exit_code: 1,
            };
        };
        let kind = if self.unclean { "UNCLEAN" } else { "PREFERRED" };
        let strategy = if self.unclean {
            "OfflinePartitionLeaderElectionStrategy"
        } else {
            "PreferredReplicaPartitionLeaderElectionStrategy"
        };
        let mut results = response.partitions.clone();
        crate::sort::sort_by(&mut results, |a, b| a.0.cmp(&b.0));
        let names = |pick: &dyn Fn(&Option<ErrorCode>) -> bool| {
            results
                .iter()
                .filter(|(_, e)| pick(e))
                .map(|(tp, _)| tp.to_string())
                .collect::<Vec<_>>()
        };
        let mut out = Output::default();
        let elected = names(&|e| e.is_none());
        if !elected.is_empty() {
            out.stdout.push_str(&format!(
                "Successfully completed leader election ({kind}) for partitions {}\n",
                elected.join(", ")
            ));
        }
        let noop = names(&|e| *e == Some(ErrorCode::ElectionNotNeeded));
        if !noop.is_empty() {
            out.stdout.push_str(&format!(
                "Valid replica already elected for partitions {}\n",
                noop.join(", ")
            ));
        }
        let failed: Vec<_> = results
            .iter()
            .filter(|(_, e)| e.is_some_and(|e| e != ErrorCode::ElectionNotNeeded))
            .collect();
        for (tp, error) in &failed {
            let exception = match error {
                Some(ErrorCode::PreferredLeaderNotAvailable) => format!("org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: Failed to elect leader for partition {tp} under strategy {strategy}"),
                Some(ErrorCode::EligibleLeadersNotAvailable) => format!("org.apache.kafka.common.errors.EligibleLeadersNotAvailableException: Failed to elect leader for partition {tp} under strategy {strategy}"),
                Some(ErrorCode::UnknownTopicOrPartition) => "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: The partition does not exist.".to_string(),
                Some(other) => super::exception_name(*other),
                None => String::new(),
            };
            out.stdout.push_str(&format!(
                "Error completing leader election ({kind}) for partition: {tp}: {exception}\n"
            ));
        }
        if !failed.is_empty() {
            out.stderr = format!("{} replica(s) could not be elected\n", failed.len());
            out.exit_code = 1;
        }
        out
    }
}
