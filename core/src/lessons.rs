//! Lessons: scenarios a teacher can share, one per concept, each with the text a learner
//! follows and the question its run answers. They live as JSON in `core/lessons/`.

use crate::scenario::Scenario;

/// (name, scenario JSON), in teaching order.
pub const LESSONS: &[(&str, &str)] = &[
    (
        "topics-partitions-offsets",
        include_str!("../lessons/topics-partitions-offsets.json"),
    ),
    ("retention", include_str!("../lessons/retention.json")),
    (
        "keys-and-partitions",
        include_str!("../lessons/keys-and-partitions.json"),
    ),
    ("null-keys", include_str!("../lessons/null-keys.json")),
    (
        "bootstrap-and-metadata",
        include_str!("../lessons/bootstrap-and-metadata.json"),
    ),
    (
        "replication-and-isr",
        include_str!("../lessons/replication-and-isr.json"),
    ),
    (
        "acks-and-leader-crash",
        include_str!("../lessons/acks-and-leader-crash.json"),
    ),
    (
        "controlled-shutdown",
        include_str!("../lessons/controlled-shutdown.json"),
    ),
    (
        "min-insync-replicas",
        include_str!("../lessons/min-insync-replicas.json"),
    ),
    (
        "unclean-leader-election",
        include_str!("../lessons/unclean-leader-election.json"),
    ),
    (
        "tolerate-failures",
        include_str!("../lessons/tolerate-failures.json"),
    ),
    ("ordering", include_str!("../lessons/ordering.json")),
    (
        "consumer-groups",
        include_str!("../lessons/consumer-groups.json"),
    ),
    ("rebalances", include_str!("../lessons/rebalances.json")),
    (
        "committed-offsets",
        include_str!("../lessons/committed-offsets.json"),
    ),
    ("at-most-once", include_str!("../lessons/at-most-once.json")),
    (
        "at-least-once",
        include_str!("../lessons/at-least-once.json"),
    ),
    ("exactly-once", include_str!("../lessons/exactly-once.json")),
    (
        "zookeeper-quorum",
        include_str!("../lessons/zookeeper-quorum.json"),
    ),
    (
        "controller-failover",
        include_str!("../lessons/controller-failover.json"),
    ),
    ("kraft-quorum", include_str!("../lessons/kraft-quorum.json")),
    (
        "kraft-controller-failover",
        include_str!("../lessons/kraft-controller-failover.json"),
    ),
    (
        "kraft-quorum-split",
        include_str!("../lessons/kraft-quorum-split.json"),
    ),
    (
        "network-partition",
        include_str!("../lessons/network-partition.json"),
    ),
    (
        "partial-partition",
        include_str!("../lessons/partial-partition.json"),
    ),
    ("latency", include_str!("../lessons/latency.json")),
];

/// Every lesson's name and title, in teaching order.
pub fn list() -> Vec<(&'static str, String)> {
    LESSONS
        .iter()
        .map(|(name, _)| {
            let title = get(name)
                .and_then(|s| s.lesson.map(|l| l.title))
                .unwrap_or_default();
            (*name, title)
        })
        .collect()
}

/// A lesson's scenario by name.
pub fn get(name: &str) -> Option<Scenario> {
    let (_, json) = LESSONS.iter().find(|(n, _)| *n == name)?;
    Scenario::from_json(json).ok()
}
