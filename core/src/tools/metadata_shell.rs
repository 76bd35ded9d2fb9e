//! `kafka-metadata-shell.sh --snapshot PATH COMMAND…` (KRaft): browses a node's metadata image
//! as the tree Kafka 4.x's shell shows (`/image/topics/byName/orders/0`, `/image/cluster/…`),
//! one command per run as the shell's non-interactive mode does. Kafka reads a snapshot file;
//! kplay reads the image of the node the path names (`…/controller-3000/…`, `broker-1`): what
//! that node has applied of the metadata log.

use super::args::{self, Opt};
use super::Output;
use crate::kraft::features::{level_text, METADATA_VERSION, SUPPORTED};
use crate::kraft::image::{topic_id_text, MetadataImage, TopicImage, BROKER_RESOURCE};
use crate::sim::Sim;

const OPTS: &[Opt] = &[
    Opt::with_arg("snapshot", "SNAPSHOT", "The snapshot file to read (kplay: a path naming a node, e.g. controller-3000 or broker-1)."),
    Opt::flag("help", "show this help message and exit"),
];

const USAGE: &str =
    "usage: kafka-metadata-shell [-h] [--snapshot SNAPSHOT] [command [command ...]]";

/// The commands, as the shell's `help` lists them.
const COMMANDS: &str = "cat: Show the contents of metadata files.
find: Search for nodes in the directory hierarchy.
help: Display this help message.
ls: List metadata nodes.
pwd: Print the current working directory.
tree: Show the contents of metadata nodes in a tree structure.
";

/// A node of the shell's tree: a directory of named children, or a file's text.
enum Node {
    Dir(Vec<(String, Node)>),
    File(String),
}

impl Node {
    fn file(name: &str, text: impl Into<String>) -> (String, Node) {
        (name.to_string(), Node::File(text.into()))
    }
    /// Children in the order every command prints them (Java's `String.compareTo`).
    fn children(&self) -> Vec<&(String, Node)> {
        let Node::Dir(children) = self else {
            return Vec::new();
        };
        let mut sorted: Vec<_> = children.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted
    }
}

pub fn run(sim: &Sim, argv: &[String]) -> Output {
    // argparse4j's short form of --snapshot.
    let argv: Vec<String> = argv
        .iter()
        .map(|a| {
            if a == "-s" {
                "--snapshot".into()
            } else {
                a.clone()
            }
        })
        .collect();
    let o = match args::parse(OPTS, &argv) {
        Ok(o) => o,
        Err(e) => return Output::error(format!("{USAGE}\nkafka-metadata-shell: error: {e}\n")),
    };
    if o.has("help") {
        return Output::out(args::help(
            &format!("{USAGE}\n\nThe Apache Kafka metadata shell\n\n"),
            OPTS,
        ));
    }
    let Some(path) = o.value("snapshot") else {
        return Output::error(
            "Unexpected error: You must specify either a raft manager or a snapshot file reader.\n",
        );
    };
    if !sim.scenario().cluster.mode.is_kraft() {
        return Output::error(format!(
            "Unexpected error: {path} (No such file or directory)\n(this cluster runs in ZooKeeper mode: it has no metadata log; zookeeper-shell.sh shows its metadata)\n"
        ));
    }
    let Some(image) = node_image(sim, path) else {
        return Output::error(format!(
            "Unexpected error: {path} (No such file or directory)\n(kplay reads the image of a running node the path names: controller-N or broker-N)\n"
        ));
    };
    if image.offset.is_none() {
        // The shell waits until it has loaded something.
        return Output::error(format!("kplay: {path} has applied no metadata yet\n"));
    }
    let root = Node::Dir(vec![("image".into(), image_tree(image))]);
    let Some((command, targets)) = o.positional.split_first() else {
        return Output::error(
            "kplay: the interactive shell is not built: give a command after the options, e.g. ls /image/topics/byName\n",
        );
    };
    let mut out = String::new();
    match command.as_str() {
        "ls" => ls(&root, targets, &mut out),
        "cat" | "tree" => {
            for target in targets {
                let found = resolve(&root, target);
                if found.is_empty() {
                    out.push_str(&format!("{command}: {target}: No such file or directory.\n"));
                }
                for (_, node) in found {
                    match node {
                        Node::Dir(_) if command == "cat" => {
                            out.push_str(&format!("cat: {target}: Is a directory\n"))
                        }
                        _ => print(node, 0, &mut out),
                    }
                }
            }
        }
        "find" => {
            for target in effective(targets) {
                let found = resolve(&root, target);
                if found.is_empty() {
                    out.push_str(&format!("find: {target}: no such file or directory.\n"));
                }
                // Kafka prints the path as typed, unless a glob expanded it.
                let typed = !target.contains(['*', '?']);
                for (path, node) in found {
                    find(if typed { target } else { &path }, node, &mut out);
                }
            }
        }
        "pwd" => out.push_str("/\n"),
        "help" => out.push_str(COMMANDS),
        // Only one command runs: `cd` leaves nothing to act on.
        "cd" => {}
        other => out.push_str(&format!(
            "invalid choice: '{other}' (choose from 'cat', 'cd', 'find', 'help', 'ls', 'pwd', 'tree')\n"
        )),
    }
    Output::out(out)
}

/// The image of the running node a path names by its host name (`controller-3000`,
/// `broker-1`) anywhere in it.
fn node_image<'a>(sim: &'a Sim, path: &str) -> Option<&'a MetadataImage> {
    path.split('/').find_map(|part| {
        if let Some(id) = part.strip_prefix("controller-") {
            let id: u32 = id.parse().ok()?;
            return sim.kraft_controller(id).map(|c| c.controller.image());
        }
        let id: u32 = part.strip_prefix("broker-")?.parse().ok()?;
        sim.brokers()
            .find(|b| b.id.0 == id)
            .and_then(|b| b.kraft.as_ref())
            .map(|k| &k.image)
    })
}

/// `/image` as Kafka 4.x's `MetadataImageNode` lays it out, for the parts kplay models.
fn image_tree(image: &MetadataImage) -> Node {
    let mut features = vec![
        Node::file(
            "metadataVersion",
            level_text(
                METADATA_VERSION,
                image.features.get(METADATA_VERSION).copied().unwrap_or(0),
            ),
        ),
        Node::file("zkMigrationState", "NONE"),
    ];
    features.extend(
        image
            .features
            .iter()
            .filter(|(name, _)| name.as_str() != METADATA_VERSION)
            .map(|(name, level)| Node::file(&format!("finalized_{name}"), level.to_string())),
    );
    let supported: Vec<String> = SUPPORTED
        .iter()
        .map(|(f, lo, hi)| format!("{f}: {lo}-{hi}"))
        .collect();
    let brokers = image
        .brokers
        .iter()
        .map(|(id, b)| {
            Node::file(
                &id.to_string(),
                format!(
                    "BrokerRegistration(id={id}, epoch={}, incarnationId={}, listeners=[Endpoint(listenerName='PLAINTEXT', securityProtocol=PLAINTEXT, host='broker-{id}', port=9092)], supportedFeatures={{{}}}, rack=Optional.empty, fenced={}, inControlledShutdown={}, isMigratingZkBroker=false, directories=[])",
                    b.epoch,
                    // A Uuid's 16 bytes from kplay's 64-bit incarnation id.
                    topic_id_text(u128::from(b.incarnation_id) << 64 | u128::from(!b.incarnation_id)),
                    supported.join(", "),
                    b.fenced,
                    b.in_controlled_shutdown,
                ),
            )
        })
        .collect();
    let ids = |v: &[u32]| {
        let ids: Vec<String> = v.iter().map(u32::to_string).collect();
        format!("[{}]", ids.join(", "))
    };
    let topic = |t: &TopicImage| {
        let mut children = vec![
            Node::file("name", t.name.to_string()),
            Node::file("id", topic_id_text(t.id)),
        ];
        children.extend(t.partitions.iter().map(|(p, r)| {
            Node::file(
                &p.to_string(),
                format!(
                    "PartitionRegistration(replicas={}, directories=[], isr={}, removingReplicas=[], addingReplicas=[], elr={}, lastKnownElr={}, leader={}, leaderRecoveryState=RECOVERED, leaderEpoch={}, partitionEpoch={})",
                    ids(&r.replicas),
                    ids(&r.isr),
                    ids(&r.elr),
                    ids(&r.last_known_elr),
                    r.leader,
                    r.leader_epoch,
                    r.partition_epoch,
                ),
            )
        }));
        Node::Dir(children)
    };
    let by_name = image
        .topics
        .values()
        .map(|t| (t.name.to_string(), topic(t)))
        .collect();
    let by_id = image
        .topics
        .values()
        .map(|t| (topic_id_text(t.id), topic(t)))
        .collect();
    let configs = image
        .configs
        .iter()
        .map(|((kind, name), values)| {
            let kind = if *kind == BROKER_RESOURCE {
                "BROKER"
            } else {
                "TOPIC"
            };
            // The cluster-wide default's resource name is empty.
            let key = if name.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}:{name}")
            };
            let values = values
                .iter()
                .map(|(k, v)| Node::file(k, v.as_str()))
                .collect();
            (key, Node::Dir(values))
        })
        .collect();
    Node::Dir(vec![
        ("features".into(), Node::Dir(features)),
        (
            "cluster".into(),
            Node::Dir(vec![
                ("brokers".into(), Node::Dir(brokers)),
                // Controllers register with RegisterControllerRecord (KIP-919), not modelled.
                ("controllers".into(), Node::Dir(Vec::new())),
            ]),
        ),
        (
            "topics".into(),
            Node::Dir(vec![
                ("byName".into(), Node::Dir(by_name)),
                ("byId".into(), Node::Dir(by_id)),
            ]),
        ),
        ("configs".into(), Node::Dir(configs)),
        (
            "producerIds".into(),
            Node::Dir(vec![Node::file(
                "nextProducerId",
                image.next_producer_id.to_string(),
            )]),
        ),
    ])
}

/// `CommandUtils.getEffectivePaths`: empty paths dropped, `.` when none is left.
fn effective(targets: &[String]) -> Vec<&str> {
    let paths: Vec<&str> = targets
        .iter()
        .map(String::as_str)
        .filter(|p| !p.is_empty())
        .collect();
    if paths.is_empty() {
        vec!["."]
    } else {
        paths
    }
}

/// Every node a path (with `*`/`?` globs, `.` and `..`) names, with its absolute path, from
/// the root: the non-interactive shell's working directory.
fn resolve<'a>(root: &'a Node, path: &str) -> Vec<(String, &'a Node)> {
    let mut stack: Vec<&str> = Vec::new();
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            stack.pop();
        } else {
            stack.push(part);
        }
    }
    parts.extend(stack);
    let mut found = vec![(String::new(), root)];
    for part in parts {
        found = found
            .into_iter()
            .flat_map(|(at, node)| {
                node.children()
                    .into_iter()
                    .filter(|(name, _)| glob(part.as_bytes(), name.as_bytes()))
                    .map(move |(name, child)| (format!("{at}/{name}"), child))
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    found
        .into_iter()
        .map(|(p, n)| (if p.is_empty() { "/".into() } else { p }, n))
        .collect()
}

/// A shell glob: `*` any run, `?` any one character.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.split_first(), name.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => {
            glob(rest, name) || name.split_first().is_some_and(|(_, n)| glob(pattern, n))
        }
        (Some((p, rest)), Some((c, n))) => (*p == b'?' || p == c) && glob(rest, n),
        _ => false,
    }
}

/// `LsCommandHandler` with no terminal: one name per line; files first, then each directory's
/// children, headed by its name when there is more than one thing to list.
fn ls(root: &Node, targets: &[String], out: &mut String) {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for target in effective(targets) {
        let found = resolve(root, target);
        if found.is_empty() {
            out.push_str(&format!("ls: {target}: no such file or directory.\n"));
        }
        for (path, node) in found {
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            match node {
                Node::Dir(_) => dirs.push((name, node)),
                Node::File(_) => files.push(name),
            }
        }
    }
    for f in &files {
        out.push_str(&format!("{f}\n"));
    }
    let intro = !files.is_empty() || dirs.len() > 1;
    let mut first = files.is_empty();
    for (name, node) in dirs {
        let heading = match (intro, first) {
            (false, _) => None,
            (true, true) => Some(format!("{name}:\n")),
            (true, false) => Some(format!("\n{name}:\n")),
        };
        first = first && !intro;
        let children = node.children();
        if children.is_empty() {
            continue;
        }
        out.push_str(&heading.unwrap_or_default());
        for (child, _) in children {
            out.push_str(&format!("{child}\n"));
        }
    }
}

/// `MetadataNode.print` through `ShellNodePrinter`: a directory's children by name, indented
/// two spaces a level; a file's text.
fn print(node: &Node, depth: usize, out: &mut String) {
    match node {
        Node::File(text) => out.push_str(&format!("{:indent$}{text}\n", "", indent = depth * 2)),
        Node::Dir(_) => {
            for (name, child) in node.children() {
                out.push_str(&format!("{:indent$}{name}:\n", "", indent = depth * 2));
                print(child, depth + 1, out);
            }
        }
    }
}

/// `FindCommandHandler`: the path, then every path under it.
fn find(path: &str, node: &Node, out: &mut String) {
    out.push_str(&format!("{path}\n"));
    for (name, child) in node.children() {
        let next = if path == "/" {
            format!("/{name}")
        } else {
            format!("{path}/{name}")
        };
        find(&next, child, out);
    }
}
