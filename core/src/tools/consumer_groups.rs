//! `kafka-consumer-groups.sh --list` and `--describe` (offsets, `--members [--verbose]`,
//! `--state`), with Kafka 3.9's tables: columns as wide as their longest value, at least 15.

use super::args::{self, Opt, Parsed};
use super::{AdminWait, Output, Shell};
use crate::group::coordinator::GroupState;
use crate::ids::NodeId;
use crate::sim::AdminResponse;
use crate::sim::Sim;
use crate::view::{GroupMemberView, GroupView};
use crate::Command;

pub(super) const OPTS: &[Opt] = &[
    Opt::flag("all-groups", "Apply to all consumer groups."),
    Opt::flag("all-topics", "Consider all topics assigned to a group in the `reset-offsets` process."),
    Opt::with_arg("bootstrap-server", "String: server to connect to", "REQUIRED: The server(s) to connect to."),
    Opt::flag("describe", "Describe consumer group and list offset lag (number of messages not yet processed) related to given group."),
    Opt::flag("dry-run", "Only show results without executing changes on Consumer Groups. Supported operations: reset-offsets."),
    Opt::flag("execute", "Execute operation. Supported operations: reset-offsets."),
    Opt::with_arg("group", "String: consumer group", "The consumer group we wish to act on."),
    Opt::flag("help", "Print usage information."),
    Opt::flag("list", "List all consumer groups."),
    Opt::flag("members", "Describe members of the group. This option may be used with '--describe' and '--bootstrap-server' options only."),
    Opt::flag("offsets", "Describe the group and list all topic partitions in the group along with their offset lag. This is the default sub-action of and may be used with '--describe' and '--bootstrap-server' options only."),
    Opt::flag("reset-offsets", "Reset offsets of consumer group. Supports one consumer group at the time, and instances should be inactive. You must choose one of the following reset specifications: --to-offset, --to-earliest, --to-latest, --shift-by, --to-current. Scope: --all-topics or --topic."),
    Opt::with_arg("shift-by", "Long: number-of-offsets", "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative."),
    Opt::flag("state", "When specified with '--describe', includes the state of the group. When specified with '--list', it displays the state of all groups."),
    Opt::flag("to-current", "Reset offsets to current offset."),
    Opt::flag("to-earliest", "Reset offsets to earliest offset."),
    Opt::flag("to-latest", "Reset offsets to latest offset."),
    Opt::with_arg("to-offset", "Long: offset", "Reset offsets to a specific offset."),
    Opt::with_arg("topic", "String: topic", "The topic whose consumer group information should be deleted or topic whose should be included in the reset offset process. In `reset-offsets` case, partitions can be specified using this format: `topic1:0,1,2`."),
    Opt::flag("verbose", "Provide additional information, if any, when describing the group. This option may be used with '--members' option only."),
];

/// The ways `--reset-offsets` can choose the new offsets.
const RESET_SCENARIOS: [&str; 5] = [
    "to-offset",
    "to-earliest",
    "to-latest",
    "shift-by",
    "to-current",
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

/// The client id and host a group member shows with, in Kafka's forms: the consumer's default
/// `client.id` is `consumer-<group>-<n>` (`ConsumerConfig`: a per-JVM sequence from 1; kplay
/// numbers its consumer applications as one JVM would), the host is `/<ip>` (kplay gives
/// consumer N the address 10.0.1.N+1).
fn client(group: &str, node: NodeId) -> (String, String) {
    match node {
        NodeId::Consumer(i) => (
            format!("consumer-{group}-{}", i + 1),
            format!("/10.0.{}.{}", 1 + i / 254, 1 + i % 254),
        ),
        other => {
            let id = other.to_string().replace(':', "-");
            (id.clone(), format!("/{id}"))
        }
    }
}

/// A member id in Kafka's form, `<client.id>-<UUID>` (`<group.instance.id>-<UUID>` for a
/// static member): the UUID derived from the coordinator's own id for the member, keeping its
/// random hex digits first.
fn member_id(m: &GroupMemberView, client_id: &str) -> String {
    let prefix = m.group_instance_id.as_deref().unwrap_or(client_id);
    let suffix = m.member_id.rsplit('-').next().unwrap_or_default();
    let hash = |seed: u64| {
        m.member_id
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64 ^ seed, |h, b| {
                (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
            })
    };
    let (a, b) = (hash(1), hash(2));
    let first = if suffix.len() == 8 && suffix.bytes().all(|c| c.is_ascii_hexdigit()) {
        suffix.to_ascii_lowercase()
    } else {
        format!("{:08x}", a >> 32)
    };
    // java.util.UUID.randomUUID(): version 4, IETF variant.
    format!(
        "{prefix}-{first}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// A member's CONSUMER-ID, HOST and CLIENT-ID columns.
fn member_columns(group: &str, m: &GroupMemberView) -> (String, String, String) {
    let (client_id, host) = client(group, m.client);
    (member_id(m, &client_id), host, client_id)
}

pub fn run(shell: &mut Shell, sim: &mut Sim, argv: &[String]) -> Output {
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
    let actions = ["list", "describe", "reset-offsets"]
        .iter()
        .filter(|a| o.has(a))
        .count();
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
    let groups = crate::view::GroupView::all(sim);
    if o.has("list") {
        return list(&groups, o.has("state"));
    }
    if o.has("reset-offsets") {
        return reset_offsets(shell, sim, &o, &groups);
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

/// A group's table after the note its state calls for: Kafka prints the note on stderr, then
/// the table (`shouldPrintMemberState`); kplay's terminals print a command's stdout before its
/// stderr, so a note followed by a table goes at the table's head to read in Kafka's order.
fn noted(g: &GroupView, table: String) -> Output {
    let note = state_note(g);
    if table.is_empty() {
        Output {
            stderr: note,
            ..Output::default()
        }
    } else {
        Output::out(format!("{note}{table}"))
    }
}

/// The note Kafka prints (on stderr) before a group's table, if its state calls for one.
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
    crate::sort::sort_by_key(&mut members, |m| std::cmp::Reverse(m.assignment.len()));
    let mut rows = Vec::new();
    for m in &members {
        let (consumer_id, host, client_id) = member_columns(&g.id, m);
        let mut assignment = m.assignment.clone();
        crate::sort::sort_by_key(&mut assignment, |(_, p)| *p);
        for (topic, p) in assignment {
            rows.push(row(&topic, p, &consumer_id, &host, &client_id));
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
    if rows.is_empty() {
        return noted(g, String::new());
    }
    let mut table = String::new();
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
    table.push_str(&line([
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
        table.push_str(&line([
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
    table.push('\n');
    noted(g, table)
}

fn members(g: &GroupView, verbose: bool) -> Output {
    let columns: Vec<(String, String, String)> =
        g.members.iter().map(|m| member_columns(&g.id, m)).collect();
    let width = |values: &mut dyn Iterator<Item = usize>| values.max().unwrap_or(0).max(15);
    let gw = g.id.len().max(15);
    let cw = width(&mut columns.iter().map(|(c, _, _)| c.len()));
    let hw = width(&mut columns.iter().map(|(_, h, _)| h.len()));
    let lw = width(&mut columns.iter().map(|(_, _, c)| c.len()));
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
    // printMembers prints the header even for a group without members.
    let mut table = String::from("\n");
    table.push_str(&line(
        "GROUP",
        "CONSUMER-ID",
        "GROUP-INSTANCE-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS",
    ));
    if verbose {
        table.push_str("ASSIGNMENT");
    }
    table.push('\n');
    for (m, (consumer_id, host, client_id)) in g.members.iter().zip(&columns) {
        table.push_str(&line(
            &g.id,
            consumer_id,
            m.group_instance_id.as_deref().unwrap_or(""),
            host,
            client_id,
            &m.assignment.len().to_string(),
        ));
        if verbose {
            table.push_str(&assignment_text(&m.assignment));
        }
        table.push('\n');
    }
    noted(g, table)
}

/// `--verbose`'s ASSIGNMENT column as Kafka 3.8+'s Java tool prints it: each topic's
/// partitions as `(0,1)`, without the topic's name (the Scala tool up to 3.7 printed
/// `orders(0,1)`), partitions and groups sorted as strings, joined with `, `.
fn assignment_text(assignment: &[(crate::ids::TopicName, u32)]) -> String {
    if assignment.is_empty() {
        return DASH.to_string();
    }
    let mut by_topic: crate::vec_map::VecMap<&str, Vec<String>> = Default::default();
    for (t, p) in assignment {
        by_topic.entry(t).or_default().push(p.to_string());
    }
    let mut groups: Vec<String> = by_topic
        .into_iter()
        .map(|(_, mut ps)| {
            crate::sort::sort(&mut ps);
            format!("({})", ps.join(","))
        })
        .collect();
    crate::sort::sort(&mut groups);
    groups.join(", ")
}

fn state(g: &GroupView) -> Output {
    let coordinator = format!("broker{}:9092  ({})", g.coordinator, g.coordinator);
    let cw = coordinator.len().max(25);
    let strategy = g.protocol.map_or(String::new(), |p| p.name().to_string());
    let line = |a: &str, b: &str, c: &str, d: &str, e: &str| {
        format!("\n{a:<cw$} {b:<25} {c:<20} {d:<15} {e}")
    };
    noted(
        g,
        format!(
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
    )
}

/// The offset a partition's log starts at and the one it ends at (its high watermark: what a
/// consumer can read), from its leader.
fn log_bounds(sim: &Sim, topic: &str, partition: u32) -> Option<(u64, u64)> {
    let log = sim.leader_log(topic, partition)?;
    Some((log.log_start_offset(), log.high_watermark()))
}

/// `--reset-offsets`: new offsets for an inactive group, shown (`--dry-run`, the default) or
/// committed (`--execute`), as ConsumerGroupCommand does.
fn reset_offsets(shell: &mut Shell, sim: &mut Sim, o: &Parsed, groups: &[GroupView]) -> Output {
    if o.has("dry-run") && o.has("execute") {
        return usage_error("Option [reset-offsets] only accepts one of [execute] and [dry-run]");
    }
    let mut out = Output::default();
    if !o.has("dry-run") && !o.has("execute") {
        out.stderr.push_str("WARN: No action will be performed as the --execute option is missing.In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.\n");
    }
    let Some(group) = o.value("group") else {
        return usage_error(
            "Option [reset-offsets] takes one of these options: [all-groups], [group]",
        );
    };
    let scenarios: Vec<&str> = RESET_SCENARIOS
        .iter()
        .copied()
        .filter(|s| o.has(s))
        .collect();
    let scenario = match scenarios.as_slice() {
        [one] => *one,
        [] => return usage_error("Option [reset-offsets] takes one of these options: [to-offset], [to-earliest], [to-latest], [shift-by], [to-current]"),
        [a, b, ..] => return usage_error(&format!("Option \"[{a}]\" can't be used with option \"[{b}]\"")),
    };
    let view = groups.iter().find(|g| g.id == group);
    if let Some(g) = view.filter(|g| g.state != GroupState::Empty) {
        out.stdout.push_str(&format!(
            "\nError: Assignments can only be reset if the group '{group}' is inactive, but the current state is {}.\n\n",
            state_name(g.state)
        ));
        return out;
    }
    let committed = |topic: &str, p: u32| {
        view.and_then(|g| {
            g.offsets
                .iter()
                .find(|c| &*c.topic == topic && c.partition == p)
        })
        .map(|c| c.committed)
    };
    // The partitions to reset: --all-topics (those with committed offsets), or --topic T / T:0,1.
    let mut partitions: Vec<(String, u32)> = Vec::new();
    if o.has("all-topics") {
        partitions.extend(
            view.iter()
                .flat_map(|g| g.offsets.iter().map(|c| (c.topic.to_string(), c.partition))),
        );
    } else if o.has("topic") {
        let topics = sim.topics();
        for arg in o.values("topic") {
            let (topic, list) = match arg.split_once(':') {
                Some((t, l)) => (t, Some(l)),
                None => (arg.as_str(), None),
            };
            let Some(&count) = topics.get(topic) else {
                out.stdout.push_str("\nError: Executing consumer group command failed due to org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition.\n");
                out.exit_code = 1;
                return out;
            };
            match list {
                None => partitions.extend((0..count).map(|p| (topic.to_string(), p))),
                Some(list) => {
                    for p in list.split(',') {
                        match p.trim().parse::<u32>() {
                            Ok(p) => partitions.push((topic.to_string(), p)),
                            Err(_) => {
                                return usage_error(&format!(
                                    "Invalid partition '{p}' in --topic {arg}"
                                ))
                            }
                        }
                    }
                }
            }
        }
    } else {
        return usage_error("One of the reset scopes should be defined: --all-topics, --topic.");
    }
    crate::sort::sort(&mut partitions);
    partitions.dedup();
    let mut offsets = Vec::new();
    for (topic, p) in &partitions {
        let Some((start, end)) = log_bounds(sim, topic, *p) else {
            return usage_error(&format!(
                "Error getting starting offset of topic partition: {topic}-{p}"
            ));
        };
        let requested: i64 = match scenario {
            "to-earliest" => start as i64,
            "to-latest" => end as i64,
            "to-current" => committed(topic, *p).unwrap_or(end) as i64,
            "to-offset" => match o.int("to-offset") {
                Ok(Some(n)) => n,
                _ => {
                    return usage_error(&format!(
                        "Cannot parse argument '{}' of option to-offset",
                        o.value("to-offset").unwrap_or_default()
                    ))
                }
            },
            _ => {
                let shift = match o.int("shift-by") {
                    Ok(Some(n)) => n,
                    _ => {
                        return usage_error(&format!(
                            "Cannot parse argument '{}' of option shift-by",
                            o.value("shift-by").unwrap_or_default()
                        ))
                    }
                };
                match committed(topic, *p) {
                    Some(c) => c as i64 + shift,
                    None => {
                        out.stdout.push_str(&format!("\nError: Executing consumer group command failed due to Cannot shift offset for partition {topic}-{p} since there is no current committed offset\n"));
                        out.exit_code = 1;
                        return out;
                    }
                }
            }
        };
        // checkOffsetsRange: an offset outside the log is moved to its nearest end.
        let offset = requested.clamp(start as i64, end as i64) as u64;
        if requested > end as i64 {
            out.stderr.push_str(&format!("WARN New offset ({requested}) is higher than latest offset for topic partition {topic}-{p}. Value will be set to {end}\n"));
        } else if requested < start as i64 {
            out.stderr.push_str(&format!("WARN New offset ({requested}) is lower than earliest offset for topic partition {topic}-{p}. Value will be set to {start}\n"));
        }
        offsets.push((topic.clone(), *p, offset));
    }
    let table = reset_table(group, &offsets);
    if !o.has("execute") {
        out.stdout.push_str(&table);
        return out;
    }
    let wait = AdminWait::new(
        "OffsetCommit",
        "",
        super::Answer::Reset(ResetAnswer { table }),
    );
    let command = Command::ResetOffsets {
        group: group.to_string(),
        offsets,
    };
    out.append(shell.send_admin(sim, command, wait));
    out
}

/// printOffsetsToReset: `GROUP TOPIC PARTITION NEW-OFFSET`, 30/30/10/15 wide.
fn reset_table(group: &str, offsets: &[(String, u32, u64)]) -> String {
    let mut out = String::new();
    if !offsets.is_empty() {
        out.push_str(&format!(
            "\n{:<30} {:<30} {:<10} {:<15}",
            "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"
        ));
    }
    for (topic, p, offset) in offsets {
        out.push_str(&format!("\n{group:<30} {topic:<30} {p:<10} {offset:<15}"));
    }
    out.push('\n');
    out
}

/// What `--reset-offsets --execute` prints once the coordinator committed.
#[derive(Clone, Debug)]
pub(super) struct ResetAnswer {
    table: String,
}

impl ResetAnswer {
    pub(super) fn render(&self, response: Option<&AdminResponse>) -> Output {
        let error = match response {
            None => Some(super::timed_out("OffsetCommit")),
            Some(r) => r
                .partitions
                .iter()
                .find_map(|(_, e)| *e)
                .map(|e| match e {
                    crate::protocol::ErrorCode::UnknownMemberId => "org.apache.kafka.common.errors.UnknownMemberIdException: The coordinator is not aware of this member (the group is no longer inactive).".to_string(),
                    other => super::exception_name(other),
                }),
        };
        match error {
            None => Output::out(self.table.clone()),
            Some(e) => Output {
                stdout: format!("\nError: Executing consumer group command failed due to {e}\n"),
                exit_code: 1,
                ..Output::default()
            },
        }
    }
}
