//! `zookeeper-shell.sh HOST:PORT COMMAND`: reads the simulated ensemble's znodes — the ones
//! Kafka really writes (`/brokers/ids/N`, `/controller`, `/brokers/topics/T/partitions/P/state`).
//! Reads only: writing znodes behind Kafka's back is how real clusters get broken, and not
//! what a learner should start with.

use super::Output;
use crate::sim::Sim;
use crate::zookeeper::tree::DataTree;

const USAGE: &str = "USAGE: zookeeper-shell.sh zookeeper_host:port [COMMAND]
kplay's zookeeper-shell reads the cluster's znodes:
\tls [-R] path
\tget path
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
    let recursive = flags.iter().any(|f| *f == "-R");
    let result = match verb.as_str() {
        "ls" if recursive => list_recursive(tree, path),
        "ls" => tree
            .get(path)
            .map(|_| format!("[{}]\n", tree.children(path).join(", "))),
        "get" => tree.get(path).map(|n| format!("{}\n", n.data)),
        "stat" => tree.get(path).map(|n| {
            let s = n.stat;
            format!(
                "cZxid = {:#x}\nmZxid = {:#x}\npZxid = {:#x}\ndataVersion = {}\nephemeralOwner = {:#x}\ndataLength = {}\nnumChildren = {}\n",
                s.czxid,
                s.mzxid,
                s.pzxid,
                s.version,
                s.ephemeral_owner,
                n.data.len(),
                s.num_children
            )
        }),
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
