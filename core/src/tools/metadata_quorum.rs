//! `kafka-metadata-quorum.sh --bootstrap-server … describe --status | --replication
//! [--human-readable]` (KRaft): the quorum as its leader describes it (DescribeQuorum), in
//! Kafka's format (`MetadataQuorumCommand`). Timestamps are simulated milliseconds.

use super::args::{self, Opt};
use super::Output;
use crate::kraft::server::ControllerServer;
use crate::sim::Sim;
use crate::time::SimTime;

const OPTS: &[Opt] = &[
    Opt::with_arg("bootstrap-server", "BOOTSTRAP_SERVER", "A comma-separated list of host:port pairs to use for establishing the connection to the Kafka cluster."),
    Opt::with_arg("bootstrap-controller", "BOOTSTRAP_CONTROLLER", "A comma-separated list of host:port pairs to use for establishing the connection to the Kafka controllers."),
    Opt::flag("help", "show this help message and exit"),
    Opt::flag("status", "A summary of the metadata quorum status"),
    Opt::flag("replication", "The information about replication of the metadata log"),
    Opt::flag("human-readable", "Print timestamps as \"N ms ago\" (with --replication)"),
];

/// `LeaderState.OBSERVER_SESSION_TIMEOUT_MS`.
const OBSERVER_SESSION_TIMEOUT_MS: u64 = 300_000;

const USAGE: &str = "usage: kafka-metadata-quorum [-h] (--bootstrap-server BOOTSTRAP_SERVER | --bootstrap-controller BOOTSTRAP_CONTROLLER) {describe} (--status | --replication [--human-readable])";

/// argparse4j's failure: usage and the message on stderr, exit code 1.
fn failed(message: &str) -> Output {
    Output::error(format!(
        "{USAGE}\nkafka-metadata-quorum: error: {message}\n"
    ))
}

/// Where a controller listens, as `kplay export` writes `controller.quorum.voters`.
pub fn controller_endpoint(id: u32, combined: bool) -> String {
    if combined {
        format!("broker-{id}:9093")
    } else {
        format!("controller-{id}:9093")
    }
}

pub fn run(sim: &Sim, argv: &[String]) -> Output {
    let o = match args::parse(OPTS, argv) {
        Ok(o) => o,
        Err(e) => return failed(&e),
    };
    if o.has("help") || argv.is_empty() {
        let mut help = format!("{USAGE}\n\nThis tool describes kraft metadata quorum status.\n\n");
        for opt in OPTS {
            help.push_str(&format!("  --{:<22} {}\n", opt.name, opt.help));
        }
        return Output::out(help);
    }
    if o.has("bootstrap-server") == o.has("bootstrap-controller") {
        return failed(
            "exactly one of the arguments --bootstrap-server --bootstrap-controller is required",
        );
    }
    match o.positional.as_slice() {
        [command] if command == "describe" => {}
        [] => return failed("too few arguments"),
        [other, ..] => {
            return failed(&format!(
                "argument command: invalid choice: '{other}' (choose from 'describe')"
            ))
        }
    }
    let human = o.has("human-readable");
    let which = match (o.has("status"), o.has("replication")) {
        (true, false) if !human => Which::Status,
        (false, true) => Which::Replication { human },
        (true, false) => return failed("--human-readable goes with --replication"),
        _ => return failed("one of the arguments --status --replication is required"),
    };
    match describe(sim) {
        Ok(quorum) => Output::out(match which {
            Which::Status => quorum.status(),
            Which::Replication { human } => quorum.replication(human),
        }),
        Err(DescribeError::ZooKeeperMode) => Output::error(
            "org.apache.kafka.common.errors.UnsupportedVersionException: The broker does not support DESCRIBE_QUORUM\n(this cluster runs in ZooKeeper mode: it has no KRaft quorum; zookeeper-shell.sh shows its metadata)\n",
        ),
        Err(DescribeError::NoLeader) => Output::error(
            "org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node assignment. Call: describeMetadataQuorum\n",
        ),
    }
}

/// Why DescribeQuorum has no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescribeError {
    /// A ZooKeeper-mode cluster has no KRaft quorum (UNSUPPORTED_VERSION).
    ZooKeeperMode,
    /// No controller leads the quorum now: the request waits until it times out.
    NoLeader,
}

/// DescribeQuorum: the quorum as its leader describes it, for this tool and the gateway.
pub fn describe(sim: &Sim) -> Result<Quorum, DescribeError> {
    if !sim.scenario().cluster.mode.is_kraft() {
        return Err(DescribeError::ZooKeeperMode);
    }
    let leader = sim
        .active_controller()
        .and_then(|(id, _)| sim.kraft_controller(id))
        .ok_or(DescribeError::NoLeader)?;
    Ok(Quorum::read(sim, leader))
}

enum Which {
    Status,
    Replication { human: bool },
}

/// One replica in DescribeQuorum's answer.
#[derive(Debug)]
pub struct Replica {
    pub id: u32,
    pub end_offset: Option<u64>,
    pub last_fetch: Option<SimTime>,
    pub last_caught_up: Option<SimTime>,
}

/// DescribeQuorum's answer for `__cluster_metadata-0`.
#[derive(Debug)]
pub struct Quorum {
    now: SimTime,
    pub leader: u32,
    pub epoch: u32,
    pub high_watermark: u64,
    combined: bool,
    /// The leader first, then the other voters, by id.
    pub voters: Vec<Replica>,
    pub observers: Vec<Replica>,
}

impl Quorum {
    fn read(sim: &Sim, server: &ControllerServer) -> Quorum {
        let raft = &server.raft;
        let leader = raft.node_id();
        let now = sim.now();
        let progress = raft.replica_progress().cloned().unwrap_or_default();
        let replica = |id: u32| match progress.get(&id) {
            Some(p) => Replica {
                id,
                end_offset: p.end_offset,
                last_fetch: p.last_fetch,
                last_caught_up: p.last_caught_up,
            },
            None => Replica {
                id,
                end_offset: None,
                last_fetch: None,
                last_caught_up: None,
            },
        };
        let mut voters = vec![Replica {
            id: leader,
            end_offset: Some(raft.log().end_offset().offset),
            last_fetch: Some(now),
            last_caught_up: Some(now),
        }];
        voters.extend(
            raft.voters()
                .iter()
                .copied()
                .filter(|v| *v != leader)
                .map(replica),
        );
        // `LeaderState`: an observer that has not fetched for 5 minutes is forgotten.
        let observers = progress
            .iter()
            .filter(|(id, p)| {
                !raft.voters().contains(id)
                    && p.last_fetch.is_some_and(|t| {
                        now.since(t) < SimTime::from_ms(OBSERVER_SESSION_TIMEOUT_MS).0
                    })
            })
            .map(|(id, _)| replica(*id))
            .collect();
        Quorum {
            now,
            leader,
            epoch: raft.epoch(),
            high_watermark: raft.high_watermark(),
            combined: sim.scenario().cluster.combined,
            voters,
            observers,
        }
    }

    fn leader_end(&self) -> u64 {
        self.voters[0].end_offset.unwrap_or(0)
    }

    fn status(&self) -> String {
        // `MaxFollowerLag`: from the voter with the smallest log end offset.
        let laggard = self
            .voters
            .iter()
            .min_by_key(|r| r.end_offset.unwrap_or(0))
            .expect("the leader is a voter");
        let lag = self.leader_end() - laggard.end_offset.unwrap_or(0);
        let lag_ms = if laggard.id == self.leader {
            0
        } else {
            laggard
                .last_caught_up
                .map_or(-1, |t| (self.now.since(t) / 1_000) as i64)
        };
        let voters: Vec<String> = self
            .voters
            .iter()
            .map(|v| {
                format!(
                    "{{\"id\": {}, \"directoryId\": null, \"endpoints\": [\"CONTROLLER://{}\"]}}",
                    v.id,
                    controller_endpoint(v.id, self.combined)
                )
            })
            .collect();
        let observers: Vec<String> = self
            .observers
            .iter()
            .map(|o| format!("{{\"id\": {}, \"directoryId\": null}}", o.id))
            .collect();
        let line = |label: &str, value: String| format!("{label:<24}{value}\n");
        [
            line("ClusterId:", crate::controller::zk_data::cluster_id()),
            line("LeaderId:", self.leader.to_string()),
            line("LeaderEpoch:", self.epoch.to_string()),
            line("HighWatermark:", self.high_watermark.to_string()),
            line("MaxFollowerLag:", lag.to_string()),
            line("MaxFollowerLagTimeMs:", lag_ms.to_string()),
            line("CurrentVoters:", format!("[{}]", voters.join(", "))),
            line("CurrentObservers:", format!("[{}]", observers.join(", "))),
        ]
        .concat()
    }

    /// `ToolsUtils.prettyPrintTable`: every cell padded to its column and followed by a tab.
    fn replication(&self, human: bool) -> String {
        let header = [
            "NodeId",
            "DirectoryId",
            "LogEndOffset",
            "Lag",
            "LastFetchTimestamp",
            "LastCaughtUpTimestamp",
            "Status",
        ];
        let time = |t: Option<SimTime>| match (t, human) {
            (None, _) => "-1".to_string(),
            (Some(t), false) => (t.0 / 1_000).to_string(),
            (Some(t), true) => format!("{} ms ago", self.now.since(t) / 1_000),
        };
        let leader_end = self.leader_end();
        let mut rows: Vec<[String; 7]> = Vec::new();
        let statuses = self
            .voters
            .iter()
            .enumerate()
            .map(|(i, r)| (r, if i == 0 { "Leader" } else { "Follower" }))
            .chain(self.observers.iter().map(|r| (r, "Observer")));
        for (r, status) in statuses {
            let end = r.end_offset.unwrap_or(0);
            rows.push([
                r.id.to_string(),
                "AAAAAAAAAAAAAAAAAAAAAA".to_string(),
                end.to_string(),
                leader_end.saturating_sub(end).to_string(),
                time(r.last_fetch),
                time(r.last_caught_up),
                status.to_string(),
            ]);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|c| {
                rows.iter()
                    .map(|r| r[c].len())
                    .chain([header[c].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let mut print = |cells: &mut dyn Iterator<Item = &str>| {
            for (cell, width) in cells.zip(&widths) {
                out.push_str(&format!("{cell:<width$}\t"));
            }
            out.push('\n');
        };
        print(&mut header.iter().copied());
        for row in &rows {
            print(&mut row.iter().map(String::as_str));
        }
        out
    }
}
