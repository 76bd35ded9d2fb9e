//! `kafka-consumer-groups.sh --list` and `--describe` (offsets, `--members [--verbose]`,
//! `--state`), with Kafka 3.9's tables: columns as wide as their longest value, at least 15.

use super::args::{self, Opt};
use super::Output;
use crate::group::coordinator::GroupState;
use crate::ids::NodeId;
use crate::sim::Sim;
use crate::view::GroupView;

pub(super) const OPTS: &[Opt] = &[
    Opt::flag("all-groups", "Apply to all consumer groups."),
    Opt::with_arg("bootstrap-server", "String: server to connect to", "REQUIRED: The server(s) to connect to."),
    Opt::flag("describe", "Describe consumer group and list offset lag (number of messages not yet processed) related to given group."),
    Opt::with_arg("group", "String: consumer group", "The consumer group we wish to act on."),
    Opt::flag("help", "Print usage information."),
    Opt::flag("list", "List all consumer groups."),
    Opt::flag("members", "Describe members of the group. This option may be used with '--describe' and '--bootstrap-server' options only."),
    Opt::flag("offsets", "Describe the group and list all topic partitions in the group along with their offset lag. This is the default sub-action of and may be used with '--describe' and '--bootstrap-server' options only."),
    Opt::flag("state", "When specified with '--describe', includes the state of the group. When specified with '--list', it displays the state of all groups."),
    Opt::flag("verbose", "Provide additional information, if any, when describing the group. This option may be used with '--members' option only."),
];

const DASH: &str = "-";

fn help() -> String {
    args::help(
        "This tool helps to list all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets.",
        OPTS,
    )
}

fn usage_error(message: &str) -> Output {
    Output::error(format!("{message}\n{}", help()))
}

/// Kafka's `ConsumerGroupState` names.
fn state_name(state: GroupState) -> &'static str {
    match state {
        GroupState::Empty => "Empty",
        GroupState::PreparingRebalance => "PreparingRebalance",
        GroupState::CompletingRebalance => "CompletingRebalance",
        GroupState::Stable => "Stable",
    }
}

/// The client id and host a member's client has: kplay's consumers are `consumer-N`.
fn client(node: NodeId) -> (String, String) {
    let id = node.to_string().replace(':', "-");
    (id.clone(), format!("/{id}"))
}

pub fn run(sim: &Sim, argv: &[String]) -> Output {
    if argv.is_empty() {
        return usage_error("List all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets.");
    }
    let o = match args::parse(OPTS, argv) {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    if o.has("help") {
        return Output::out(help());
    }
    if !o.has("bootstrap-server") {
        return usage_error("Missing required argument \"[bootstrap-server]\"");
    }
    let actions = ["list", "describe"].iter().filter(|a| o.has(a)).count();
    if actions != 1 {
        return usage_error("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets");
    }
    for sub in ["members", "offsets"] {
        if o.has(sub) && !o.has("describe") {
            return usage_error(&format!(
                "Option \"[{sub}]\" can't be used with option \"[list]\""
            ));
        }
    }
    if o.has("verbose") && !o.has("members") {
        return usage_error("Option \"[verbose]\" can't be used with option \"[offsets]\"");
    }
    if sim.brokers().next().is_none() {
        return Output {
            stdout: "\nError: Executing consumer group command failed due to Timed out waiting for a node assignment. Call: listGroups\n".into(),
            exit_code: 1,
            ..Output::default()
        };
    }
    let groups = sim.group_views();
    if o.has("list") {
        return list(&groups, o.has("state"));
    }
    if o.has("group") == o.has("all-groups") {
        return usage_error("Option [describe] takes one of these options: [all-groups], [group]");
    }
    let wanted: Vec<String> = if o.has("all-groups") {
        groups.iter().map(|g| g.id.clone()).collect()
    } else {
        o.values("group").to_vec()
    };
    let mut out = Output::default();
    for id in wanted {
        let group = groups.iter().find(|g| g.id == id);
        out.append(match group {
            None => Output::out(format!("\nError: Consumer group '{id}' does not exist.\n")),
            Some(g) if o.has("members") => members(g, o.has("verbose")),
            Some(g) if o.has("state") && !o.has("offsets") => state(g),
            Some(g) => offsets(sim, g),
        });
    }
    out
}

fn list(groups: &[GroupView], with_state: bool) -> Output {
    if !with_state {
        return Output::out(
            groups
                .iter()
                .map(|g| format!("{}\n", g.id))
                .collect::<String>(),
        );
    }
    let width = groups
        .iter()
        .map(|g| g.id.len().max(15))
        .max()
        .unwrap_or(15)
        + 10;
    let mut out = format!("{:<width$} {:<20}\n", "GROUP", "STATE");
    for g in groups {
        out.push_str(&format!("{:<width$} {:<20}\n", g.id, state_name(g.state)));
    }
    Output::out(out)
}

/// The warning Kafka prints on stderr before a group's table, if its state calls for one.
fn state_note(g: &GroupView) -> String {
    match g.state {
        GroupState::Empty => format!("\nConsumer group '{}' has no active members.\n", g.id),
        GroupState::PreparingRebalance | GroupState::CompletingRebalance => {
            format!("\nWarning: Consumer group '{}' is rebalancing.\n", g.id)
        }
        GroupState::Stable => String::new(),
    }
}

/// One row of the offsets table.
struct Row {
    topic: String,
    partition: String,
    current: String,
    end: String,
    lag: String,
    consumer_id: String,
    host: String,
    client_id: String,
}

fn offsets(sim: &Sim, g: &GroupView) -> Output {
    let committed = |topic: &str, p: u32| {
        g.offsets
            .iter()
            .find(|c| &*c.topic == topic && c.partition == p)
            .map(|c| c.committed)
    };
    let row = |topic: &str, p: u32, consumer_id: &str, host: &str, client_id: &str| {
        let current = committed(topic, p);
        let end = sim.high_watermark(topic, p);
        let lag = current.zip(end).map(|(c, e)| e.saturating_sub(c));
        let show = |v: Option<u64>| v.map_or(DASH.to_string(), |v| v.to_string());
        Row {
            topic: topic.to_string(),
            partition: p.to_string(),
            current: show(current),
            end: show(end),
            lag: show(lag),
            consumer_id: consumer_id.to_string(),
            host: host.to_string(),
            client_id: client_id.to_string(),
        }
    };
    // Members with partitions, most partitions first; each member's partitions by number.
    let mut members: Vec<_> = g
        .members
        .iter()
        .filter(|m| !m.assignment.is_empty())
        .collect();
    members.sort_by_key(|m| std::cmp::Reverse(m.assignment.len()));
    let mut rows = Vec::new();
    for m in &members {
        let (client_id, host) = client(m.client);
        let mut assignment = m.assignment.clone();
        assignment.sort_by_key(|(_, p)| *p);
        for (topic, p) in assignment {
            rows.push(row(&topic, p, &m.member_id, &host, &client_id));
        }
    }
    for c in &g.offsets {
        let assigned = members.iter().any(|m| {
            m.assignment
                .iter()
                .any(|(t, p)| *t == c.topic && *p == c.partition)
        });
        if !assigned {
            rows.push(row(&c.topic, c.partition, DASH, DASH, DASH));
        }
    }
    let mut out = Output {
        stderr: state_note(g),
        ..Output::default()
    };
    if rows.is_empty() {
        return out;
    }
    let w = |f: &dyn Fn(&Row) -> usize| rows.iter().map(f).max().unwrap_or(0).max(15);
    let (gw, tw, cw, hw) = (
        g.id.len().max(15),
        w(&|r| r.topic.len()),
        w(&|r| r.consumer_id.len()),
        w(&|r| r.host.len()),
    );
    let line = |cols: [&str; 9]| {
        format!(
            "\n{:<gw$} {:<tw$} {:<10} {:<15} {:<15} {:<15} {:<cw$} {:<hw$} {}",
            cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8]
        )
    };
    out.stdout.push_str(&line([
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]));
    for r in &rows {
        out.stdout.push_str(&line([
            &g.id,
            &r.topic,
            &r.partition,
            &r.current,
            &r.end,
            &r.lag,
            &r.consumer_id,
            &r.host,
            &r.client_id,
        ]));
    }
    out.stdout.push('\n');
    out
}

fn members(g: &GroupView, verbose: bool) -> Output {
    let mut out = Output {
        stderr: state_note(g),
        ..Output::default()
    };
    let clients: Vec<(String, String)> = g.members.iter().map(|m| client(m.client)).collect();
    let width = |values: &mut dyn Iterator<Item = usize>| values.max().unwrap_or(0).max(15);
    let gw = g.id.len().max(15);
    let cw = width(&mut g.members.iter().map(|m| m.member_id.len()));
    let hw = width(&mut clients.iter().map(|(_, h)| h.len()));
    let lw = width(&mut clients.iter().map(|(c, _)| c.len()));
    let with_instance = g.members.iter().any(|m| m.group_instance_id.is_some());
    let iw = width(
        &mut g
            .members
            .iter()
            .map(|m| m.group_instance_id.as_deref().map_or(0, str::len)),
    )
    .max(17);
    let line = |group: &str, consumer: &str, instance: &str, host: &str, client: &str, n: &str| {
        if with_instance {
            format!(
                "{group:<gw$} {consumer:<cw$} {instance:<iw$} {host:<hw$} {client:<lw$} {n:<15} "
            )
        } else {
            format!("{group:<gw$} {consumer:<cw$} {host:<hw$} {client:<lw$} {n:<15} ")
        }
    };
    out.stdout.push('\n');
    out.stdout.push_str(&line(
        "GROUP",
        "CONSUMER-ID",
        "GROUP-INSTANCE-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS",
    ));
    if verbose {
        out.stdout.push_str("ASSIGNMENT");
    }
    out.stdout.push('\n');
    for (m, (client_id, host)) in g.members.iter().zip(&clients) {
        out.stdout.push_str(&line(
            &g.id,
            &m.member_id,
            m.group_instance_id.as_deref().unwrap_or(""),
            host,
            client_id,
            &m.assignment.len().to_string(),
        ));
        if verbose {
            out.stdout.push_str(&assignment_text(&m.assignment));
        }
        out.stdout.push('\n');
    }
    out
}

/// `--verbose`'s ASSIGNMENT column: `topic(0,1), other(2)`, topics sorted.
fn assignment_text(assignment: &[(crate::ids::TopicName, u32)]) -> String {
    if assignment.is_empty() {
        return DASH.to_string();
    }
    let mut by_topic: std::collections::BTreeMap<&str, Vec<u32>> = Default::default();
    for (t, p) in assignment {
        by_topic.entry(t).or_default().push(*p);
    }
    by_topic
        .into_iter()
        .map(|(t, mut ps)| {
            ps.sort_unstable();
            let list: Vec<String> = ps.iter().map(u32::to_string).collect();
            format!("{t}({})", list.join(","))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn state(g: &GroupView) -> Output {
    let coordinator = format!("broker{}:9092  ({})", g.coordinator, g.coordinator);
    let cw = coordinator.len().max(25);
    let strategy = g.protocol.map_or(String::new(), |p| p.name().to_string());
    let line = |a: &str, b: &str, c: &str, d: &str, e: &str| {
        format!("\n{a:<cw$} {b:<25} {c:<20} {d:<15} {e}")
    };
    Output {
        stdout: format!(
            "{}{}\n",
            line(
                "GROUP",
                "COORDINATOR (ID)",
                "ASSIGNMENT-STRATEGY",
                "STATE",
                "#MEMBERS"
            ),
            line(
                &g.id,
                &coordinator,
                &strategy,
                state_name(g.state),
                &g.members.len().to_string()
            )
        ),
        stderr: state_note(g),
        exit_code: 0,
    }
}
