//! `zookeeper-shell.sh HOST:PORT COMMAND`: reads the simulated ensemble's znodes — the ones
//! Kafka really writes (`/brokers/ids/N`, `/controller`, `/brokers/topics/T/partitions/P/state`).
//! Reads only: writing znodes behind Kafka's back is how real clusters get broken, and not
//! what a learner should start with.

use super::Output;
use crate::controller::zk_data;
use crate::sim::Sim;
use crate::zookeeper::paths;
use crate::zookeeper::tree::{DataTree, Znode};

const USAGE: &str = "USAGE: zookeeper-shell.sh zookeeper_host:port [COMMAND]
kplay's zookeeper-shell reads the cluster's znodes:
\tls [-R] path
\tget [-s] path
\tstat path";

/// What the real shell prints once it connects, before the command's own output.
const CONNECTED: &str = "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n";

pub fn run(sim: &Sim, args: &[String]) -> Output {
    let Some((server, command)) = args.split_first() else {
        return Output::error(format!("{USAGE}\n"));
    };
    if server == "--help" || server == "-h" {
        return Output::out(format!("{USAGE}\n"));
    }
    let Some((verb, rest)) = command.split_first() else {
        return Output::error(format!(
            "Connecting to {server}\nkplay runs one command at a time: add it after the address, e.g. `zookeeper-shell.sh {server} ls /brokers/ids`\n"
        ));
    };
    let mut out = Output::out(format!("Connecting to {server}\n"));
    if sim.scenario().cluster.mode.is_kraft() {
        let path = rest.last().map_or("/", String::as_str);
        out.stderr = format!(
            "KeeperErrorCode = ConnectionLoss for {path}\n(this cluster runs in KRaft mode: there is no ZooKeeper to connect to, and Kafka 4.0 removed zookeeper-shell.sh; the metadata lives in the controllers' log: try kafka-metadata-quorum.sh --bootstrap-server localhost:9092 describe --status)\n"
        );
        out.exit_code = 1;
        return out;
    }
    // A server outside a quorum does not serve clients: the real shell gets ConnectionLoss.
    let tree = match (sim.zookeeper_leader(), sim.zookeeper_tree()) {
        (Some(_), Some(tree)) => tree,
        _ => {
            let path = rest.last().map_or("/", String::as_str);
            out.stderr = format!(
                "KeeperErrorCode = ConnectionLoss for {path}\n(no ZooKeeper quorum: a server without a leader serves no client)\n"
            );
            out.exit_code = 1;
            return out;
        }
    };
    out.stdout.push_str(CONNECTED);
    let (flags, paths): (Vec<&String>, Vec<&String>) =
        rest.iter().partition(|a| a.starts_with('-'));
    let [path] = paths.as_slice() else {
        out.stderr = format!("{USAGE}\n");
        out.exit_code = 1;
        return out;
    };
    let has = |flag: &str| flags.iter().any(|f| *f == flag);
    let result = match verb.as_str() {
        "ls" if has("-R") => list_recursive(tree, path),
        "ls" => tree
            .get(path)
            .map(|_| format!("[{}]\n", tree.children(path).join(", "))),
        "get" => tree.get(path).map(|n| {
            let data = shown_data(path, n);
            let text = data.as_deref().unwrap_or("null");
            if has("-s") {
                format!("{text}\n{}", stat_text(n, data.as_deref()))
            } else {
                format!("{text}\n")
            }
        }),
        "stat" => tree
            .get(path)
            .map(|n| stat_text(n, shown_data(path, n).as_deref())),
        other => {
            out.stderr = format!("kplay's zookeeper-shell does not run '{other}'\n{USAGE}\n");
            out.exit_code = 1;
            return out;
        }
    };
    match result {
        Some(text) => out.stdout.push_str(&text),
        None => {
            out.stderr = format!("Node does not exist: {path}\n");
            out.exit_code = 1;
        }
    }
    out
}

/// A node's data as the real shell gets it: `None` for the `null` Kafka creates its persistent
/// paths with (ZooKeeper's own nodes hold empty data instead); a topic znode with the
/// `topic_id` Kafka 3.9 writes into it, the one `kafka-topics.sh --describe` prints.
fn shown_data(path: &str, node: &Znode) -> Option<String> {
    if node.data.is_empty() {
        return zk_data::is_zookeeper_internal(path).then(String::new);
    }
    let topic = path
        .strip_prefix(paths::BROKER_TOPICS)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|t| !t.is_empty() && !t.contains('/'));
    Some(match topic {
        Some(t) => zk_data::topic_znode_with_id(&node.data, &zk_data::topic_id(t, node.stat.czxid)),
        None => node.data.clone(),
    })
}

/// ZooKeeper 3.8's `StatPrinter`: zxids in hex, times as Java's `Date.toString` (UTC), the
/// simulation's time counted from [`zk_data::WALL_CLOCK_EPOCH_MS`].
pub(super) fn stat_text(node: &Znode, data: Option<&str>) -> String {
    let s = node.stat;
    format!(
        "cZxid = {:#x}\nctime = {}\nmZxid = {:#x}\nmtime = {}\npZxid = {:#x}\ncversion = {}\ndataVersion = {}\naclVersion = {}\nephemeralOwner = {:#x}\ndataLength = {}\nnumChildren = {}\n",
        s.czxid,
        java_date(zk_data::wall_clock_ms(s.ctime)),
        s.mzxid,
        java_date(zk_data::wall_clock_ms(s.mtime)),
        s.pzxid,
        s.cversion,
        s.version,
        s.aversion,
        s.ephemeral_owner,
        data.map_or(0, str::len),
        s.num_children
    )
}

/// `java.util.Date.toString()` in UTC: `Thu Jan 01 00:00:00 UTC 2026`.
pub(super) fn java_date(epoch_ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {} {day:02} {:02}:{:02}:{:02} UTC {year}",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// `ls -R`: the path and every node under it, one per line, in path order.
fn list_recursive(tree: &DataTree, path: &str) -> Option<String> {
    tree.get(path)?;
    let mut out = String::new();
    let mut stack = vec![path.to_string()];
    while let Some(p) = stack.pop() {
        out.push_str(&p);
        out.push('\n');
        let base = if p == "/" { String::new() } else { p.clone() };
        for child in tree.children(&p).into_iter().rev() {
            stack.push(format!("{base}/{child}"));
        }
    }
    Some(out)
}
