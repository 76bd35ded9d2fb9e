//! `kplay assign`: reads a group description, runs an assignor, prints the assignment.

use kplay_core::group::assignor::{assign, Assignor, Subscription};
use kplay_core::ids::TopicName;
use kplay_core::vec_map::VecMap;
use serde::Deserialize;

/// Bounds that keep a hostile file from taking unbounded time or memory.
const MAX_PARTITIONS_TOTAL: u64 = 100_000;
const MAX_MEMBERS: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    topics: VecMap<String, u32>,
    members: Vec<Member>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Member {
    id: String,
    topics: Vec<String>,
}

pub fn run(strategy: Assignor, path: &str) -> Result<String, String> {
    let text = crate::source::read_capped(path)?;
    let group: GroupFile =
        serde_json::from_str(&text).map_err(|e| format!("{path}: not a group description: {e}"))?;
    let total: u64 = group.topics.values().map(|&n| u64::from(n)).sum();
    if total > MAX_PARTITIONS_TOTAL {
        return Err(format!(
            "{path}: {total} partitions in all; at most {MAX_PARTITIONS_TOTAL}"
        ));
    }
    if group.members.len() > MAX_MEMBERS {
        return Err(format!(
            "{path}: {} members; at most {MAX_MEMBERS}",
            group.members.len()
        ));
    }
    let mut seen = kplay_core::vec_map::VecSet::new();
    for m in &group.members {
        if m.id.is_empty() {
            return Err(format!("{path}: a member has an empty id"));
        }
        if !seen.insert(&m.id) {
            return Err(format!("{path}: member id '{}' appears twice", m.id));
        }
        if let Some(t) = m.topics.iter().find(|t| !group.topics.contains_key(*t)) {
            return Err(format!(
                "{path}: member '{}' subscribes to '{t}', which is not in \"topics\"",
                m.id
            ));
        }
    }
    let partitions: VecMap<TopicName, u32> = group
        .topics
        .iter()
        .map(|(t, n)| (TopicName::from(t.as_str()), *n))
        .collect();
    let members: Vec<Subscription> = group
        .members
        .into_iter()
        .map(|m| Subscription {
            member_id: m.id,
            topics: m
                .topics
                .iter()
                .map(|t| TopicName::from(t.as_str()))
                .collect(),
            ..Default::default()
        })
        .collect();
    let out: VecMap<String, Vec<(TopicName, u32)>> = assign(strategy, &partitions, &members)
        .into_iter()
        .map(|(m, list)| {
            (
                m,
                list.into_iter()
                    .map(|tp| (tp.topic, tp.partition))
                    .collect(),
            )
        })
        .collect();
    serde_json::to_string(&out).map_err(|e| e.to_string())
}
