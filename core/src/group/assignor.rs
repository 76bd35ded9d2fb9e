//! The consumer's partition assignors, ported from Kafka's client (`RangeAssignor`,
//! `RoundRobinAssignor`, `StickyAssignor`, `CooperativeStickyAssignor`). The group leader runs
//! one of them over every member's subscription; the coordinator only relays the result.
//!
//! Where Kafka iterates a `HashMap` (the sticky assignor's pass over previous owners) we go in
//! member-id order, so results are deterministic; with no previous owners the output is
//! Kafka's exactly.

use crate::ids::{TopicName, TopicPartition};
use crate::vec_map::{VecMap, VecSet};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// `partition.assignment.strategy`, by the names Kafka's assignors report.
/// Kafka 3.x's default list is `[range, cooperative-sticky]`, which uses range until every
/// member supports cooperative-sticky: range is the default here too.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Assignor {
    #[serde(rename = "range")]
    #[default]
    Range,
    #[serde(rename = "roundrobin")]
    RoundRobin,
    #[serde(rename = "sticky")]
    Sticky,
    #[serde(rename = "cooperative-sticky")]
    CooperativeSticky,
}

impl Assignor {
    pub const ALL: [Assignor; 4] = [
        Assignor::Range,
        Assignor::RoundRobin,
        Assignor::Sticky,
        Assignor::CooperativeSticky,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::Sticky => "sticky",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    pub fn from_name(name: &str) -> Option<Assignor> {
        Assignor::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Cooperative assignors let members keep consuming through a rebalance and only give up
    /// the partitions that move (KIP-429); the others are eager: everyone revokes everything.
    pub fn is_cooperative(self) -> bool {
        self == Assignor::CooperativeSticky
    }
}

/// What a member sends in JoinGroup: its subscription and, for the sticky assignors, what it
/// owned in which generation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub topics: Vec<TopicName>,
    pub owned_partitions: Vec<TopicPartition>,
    pub generation: Option<i32>,
}

impl Subscription {
    /// Kafka's `MemberInfo` order: by `group.instance.id` when both members have one, else by
    /// member id.
    fn sort_key(&self) -> (&str, &str) {
        (
            self.group_instance_id.as_deref().unwrap_or(""),
            &self.member_id,
        )
    }
}

/// Partitions per member id, each list in the order the assignor chose them.
pub type Assignment = VecMap<String, Vec<TopicPartition>>;

/// Runs an assignor. Subscribed topics missing from `partitions_per_topic` are skipped, as
/// Kafka skips topics without metadata.
pub fn assign(
    assignor: Assignor,
    partitions_per_topic: &VecMap<TopicName, u32>,
    members: &[Subscription],
) -> Assignment {
    let mut members: Vec<&Subscription> = members.iter().collect();
    crate::sort::sort_by(&mut members, |a, b| {
        if a.group_instance_id.is_some() && b.group_instance_id.is_some() {
            a.sort_key().cmp(&b.sort_key())
        } else {
            a.member_id.cmp(&b.member_id)
        }
    });
    let mut out: Assignment = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    if members.is_empty() {
        return out;
    }
    match assignor {
        Assignor::Range => range(partitions_per_topic, &members, &mut out),
        Assignor::RoundRobin => round_robin(partitions_per_topic, &members, &mut out),
        Assignor::Sticky => out = sticky(partitions_per_topic, &members).0,
        Assignor::CooperativeSticky => {
            let (mut assignment, transferring) = sticky(partitions_per_topic, &members);
            // A partition changing owner is left out this round: its old owner revokes it and
            // rejoins, and the next rebalance hands it over.
            for (tp, to) in transferring {
                if let Some(list) = assignment.get_mut(&to) {
                    list.retain(|p| *p != tp);
                }
            }
            out = assignment;
        }
    }
    out
}

fn range(
    partitions_per_topic: &VecMap<TopicName, u32>,
    members: &[&Subscription],
    out: &mut Assignment,
) {
    for (topic, &n) in partitions_per_topic {
        let consumers: Vec<&&Subscription> = members
            .iter()
            .filter(|m| m.topics.contains(topic))
            .collect();
        if consumers.is_empty() {
            continue;
        }
        let c = consumers.len() as u32;
        let (per, extra) = (n / c, n % c);
        for (i, m) in consumers.iter().enumerate() {
            let i = i as u32;
            let start = per * i + i.min(extra);
            let len = per + u32::from(i < extra);
            let list = out.entry(m.member_id.clone()).or_default();
            list.extend((start..start + len).map(|p| TopicPartition::new(topic, p)));
        }
    }
}

fn round_robin(
    partitions_per_topic: &VecMap<TopicName, u32>,
    members: &[&Subscription],
    out: &mut Assignment,
) {
    let subscribed: VecSet<&TopicName> = members.iter().flat_map(|m| m.topics.iter()).collect();
    let mut next = 0usize;
    for (topic, &n) in partitions_per_topic {
        if !subscribed.contains(topic) {
            continue;
        }
        for p in 0..n {
            while !members[next % members.len()].topics.contains(topic) {
                next += 1;
            }
            let m = members[next % members.len()];
            next += 1;
            out.entry(m.member_id.clone())
                .or_default()
                .push(TopicPartition::new(topic, p));
        }
    }
}

/// The sticky assignment and the partitions it moves from one owner to another.
fn sticky(
    partitions_per_topic: &VecMap<TopicName, u32>,
    members: &[&Subscription],
) -> (Assignment, VecMap<TopicPartition, String>) {
    let all_topics: VecSet<&TopicName> = partitions_per_topic.keys().collect();
    let (owned, doubly_claimed, all_equal) = previous_owners(&all_topics, members);
    if all_equal {
        constrained(partitions_per_topic, members, owned, &doubly_claimed)
    } else {
        let assignment = general(partitions_per_topic, members, &owned);
        let transferring = transferring_ownership(members, &assignment);
        (assignment, transferring)
    }
}

/// Kafka's `allSubscriptionsEqual`: each member's still-valid owned partitions (the highest
/// generation wins a partition two members claim), the partitions claimed twice in one
/// generation, and whether every member subscribes to the same topics.
fn previous_owners(
    all_topics: &VecSet<&TopicName>,
    members: &[&Subscription],
) -> (Assignment, VecSet<TopicPartition>, bool) {
    let first: VecSet<&TopicName> = members[0].topics.iter().collect();
    let all_equal = members
        .iter()
        .all(|m| m.topics.iter().collect::<VecSet<_>>() == first);
    let mut owned: Assignment = VecMap::new();
    let mut owner_of: VecMap<TopicPartition, (&str, i32)> = VecMap::new();
    let mut doubly = VecSet::new();
    for m in members {
        let generation = m.generation.unwrap_or(-1);
        owned.entry(m.member_id.clone()).or_default();
        for tp in &m.owned_partitions {
            if !all_topics.contains(&tp.topic) {
                continue;
            }
            match owner_of.get(tp).copied() {
                None => {
                    owned
                        .get_mut(&m.member_id)
                        .expect("inserted")
                        .push(tp.clone());
                    owner_of.insert(tp.clone(), (&m.member_id, generation));
                }
                Some((other, other_generation)) => {
                    if generation == other_generation {
                        doubly.insert(tp.clone());
                        owned
                            .entry(other.to_string())
                            .or_default()
                            .retain(|p| p != tp);
                        owner_of.insert(tp.clone(), (&m.member_id, generation));
                    } else if generation > other_generation {
                        owned
                            .get_mut(&m.member_id)
                            .expect("inserted")
                            .push(tp.clone());
                        owned
                            .entry(other.to_string())
                            .or_default()
                            .retain(|p| p != tp);
                        owner_of.insert(tp.clone(), (&m.member_id, generation));
                    }
                }
            }
        }
    }
    (owned, doubly, all_equal)
}

/// Kafka's `ConstrainedAssignmentBuilder` (every member subscribes to the same topics).
fn constrained(
    partitions_per_topic: &VecMap<TopicName, u32>,
    members: &[&Subscription],
    owned: Assignment,
    doubly_claimed: &VecSet<TopicPartition>,
) -> (Assignment, VecMap<TopicPartition, String>) {
    let total: u32 = partitions_per_topic
        .iter()
        .filter(|(t, _)| members[0].topics.contains(t))
        .map(|(_, n)| n)
        .sum();
    let consumers = members.len() as u32;
    let min_quota = (total / consumers) as usize;
    let max_quota = total.div_ceil(consumers) as usize;
    let expected_over_min = (total % consumers) as usize;
    let mut over_min = 0usize;
    let mut assignment: Assignment = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    let mut maybe_revoked: VecMap<TopicPartition, String> = VecMap::new();
    let mut under_min: Vec<String> = Vec::new();
    let mut exactly_min: VecDeque<String> = VecDeque::new();
    let mut assigned: VecSet<TopicPartition> = VecSet::new();

    // 1. Keep what members owned, up to their quota.
    for (consumer, list) in &owned {
        let mut list: Vec<TopicPartition> = list
            .iter()
            .filter(|tp| !doubly_claimed.contains(tp))
            .cloned()
            .collect();
        crate::sort::sort_by(&mut list, |a, b| {
            (a.partition, &a.topic).cmp(&(b.partition, &b.topic))
        });
        let mine = assignment
            .get_mut(consumer)
            .expect("every member has a list");
        if list.len() < min_quota {
            assigned.extend(list.iter().cloned());
            mine.extend(list);
            under_min.push(consumer.clone());
        } else if list.len() >= max_quota && over_min < expected_over_min {
            over_min += 1;
            if over_min == expected_over_min {
                exactly_min.clear();
            }
            for tp in list.drain(max_quota..) {
                maybe_revoked.insert(tp, consumer.clone());
            }
            assigned.extend(list.iter().cloned());
            mine.extend(list);
        } else {
            for tp in list.drain(min_quota..) {
                maybe_revoked.insert(tp, consumer.clone());
            }
            assigned.extend(list.iter().cloned());
            mine.extend(list);
            if over_min < expected_over_min {
                exactly_min.push_back(consumer.clone());
            }
        }
    }

    // 2. Deal the rest round-robin: first to members under the minimum, then up to the maximum.
    let unassigned: Vec<TopicPartition> = partitions_per_topic
        .iter()
        .filter(|(t, _)| members[0].topics.contains(t))
        .flat_map(|(t, &n)| (0..n).map(move |p| TopicPartition::new(t, p)))
        .filter(|tp| !assigned.contains(tp))
        .collect();
    crate::sort::sort(&mut under_min);
    crate::sort::sort(exactly_min.make_contiguous());
    let mut transferring = VecMap::new();
    let mut cursor = 0usize;
    for tp in unassigned {
        let consumer = if cursor < under_min.len() {
            cursor += 1;
            under_min[cursor - 1].clone()
        } else if under_min.is_empty() {
            match exactly_min.pop_front() {
                Some(c) => c,
                // Kafka throws here; the quotas make it unreachable.
                None => break,
            }
        } else {
            cursor = 1;
            under_min[0].clone()
        };
        let mine = assignment
            .get_mut(&consumer)
            .expect("every member has a list");
        mine.push(tp.clone());
        let count = mine.len();
        if maybe_revoked.get(&tp).is_some_and(|prev| *prev != consumer)
            || doubly_claimed.contains(&tp)
        {
            transferring.insert(tp, consumer.clone());
        }
        if count == min_quota {
            // Java's `iterator.remove()`: the cursor stays on the next member.
            if cursor > 0 && under_min.get(cursor - 1) == Some(&consumer) {
                under_min.remove(cursor - 1);
                cursor -= 1;
            }
            exactly_min.push_back(consumer);
        }
    }
    (assignment, transferring)
}

/// The general case (members subscribe to different topics). Kafka's `GeneralAssignmentBuilder`
/// keeps valid previous ownership, assigns the rest to the least-loaded eligible member and
/// then rebalances; we do the same with a deterministic greedy pass: partitions with the fewest
/// eligible members first, each to the eligible member with the fewest partitions, then moves
/// from the most to the least loaded eligible member until no move improves balance.
fn general(
    partitions_per_topic: &VecMap<TopicName, u32>,
    members: &[&Subscription],
    owned: &Assignment,
) -> Assignment {
    let eligible = |topic: &TopicName| -> Vec<&str> {
        members
            .iter()
            .filter(|m| m.topics.contains(topic))
            .map(|m| m.member_id.as_str())
            .collect()
    };
    let mut assignment: Assignment = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    let mut taken = VecSet::new();
    for m in members {
        for tp in owned.get(&m.member_id).into_iter().flatten() {
            if m.topics.contains(&tp.topic) && partitions_per_topic.contains_key(&tp.topic) {
                assignment
                    .get_mut(&m.member_id)
                    .expect("listed")
                    .push(tp.clone());
                taken.insert(tp.clone());
            }
        }
    }
    let mut todo: Vec<(usize, TopicPartition)> = partitions_per_topic
        .iter()
        .flat_map(|(t, &n)| (0..n).map(move |p| TopicPartition::new(t, p)))
        .filter(|tp| !taken.contains(tp))
        .map(|tp| (eligible(&tp.topic).len(), tp))
        .filter(|(n, _)| *n > 0)
        .collect();
    crate::sort::sort(&mut todo);
    for (_, tp) in todo {
        let to = eligible(&tp.topic)
            .into_iter()
            .min_by_key(|m| (assignment[*m].len(), *m))
            .expect("filtered to topics with members")
            .to_string();
        assignment.get_mut(&to).expect("listed").push(tp);
    }
    // Balance: move a partition from a member to an eligible one holding at least two fewer.
    loop {
        let mut best: Option<(String, String, TopicPartition)> = None;
        'search: for (from, list) in assignment.iter().rev() {
            for tp in list.iter().rev() {
                for to in eligible(&tp.topic) {
                    if assignment[to].len() + 1 < list.len() {
                        best = Some((from.clone(), to.to_string(), tp.clone()));
                        break 'search;
                    }
                }
            }
        }
        let Some((from, to, tp)) = best else { break };
        assignment
            .get_mut(&from)
            .expect("listed")
            .retain(|p| *p != tp);
        assignment.get_mut(&to).expect("listed").push(tp);
    }
    assignment
}

/// Kafka's `computePartitionsTransferringOwnership`: partitions added to one member that
/// another member is giving up.
fn transferring_ownership(
    members: &[&Subscription],
    assignment: &Assignment,
) -> VecMap<TopicPartition, String> {
    let mut added = VecMap::new();
    let mut revoked = VecSet::new();
    for m in members {
        let new = &assignment[&m.member_id];
        for tp in new {
            if !m.owned_partitions.contains(tp) {
                added.insert(tp.clone(), m.member_id.clone());
            }
        }
        for tp in &m.owned_partitions {
            if !new.contains(tp) {
                revoked.insert(tp.clone());
            }
        }
    }
    added.retain(|tp, _| revoked.contains(tp));
    added
}

#[cfg(test)]
mod tests;
