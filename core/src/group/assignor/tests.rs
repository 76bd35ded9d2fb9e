use super::*;
use crate::rng::Rng;

fn topics(list: &[(&str, u32)]) -> VecMap<TopicName, u32> {
    list.iter()
        .map(|(t, n)| (TopicName::from(*t), *n))
        .collect()
}

fn member(id: &str, subscribed: &[&str]) -> Subscription {
    Subscription {
        member_id: id.into(),
        topics: subscribed.iter().map(|t| TopicName::from(*t)).collect(),
        ..Default::default()
    }
}

fn owning(mut m: Subscription, generation: i32, owned: &[&str]) -> Subscription {
    m.generation = Some(generation);
    m.owned_partitions = owned.iter().map(|s| tp(s)).collect();
    m
}

/// "t0p1" → t0-1.
fn tp(s: &str) -> TopicPartition {
    let (t, p) = s.rsplit_once('p').expect("tNpM");
    TopicPartition::new(&TopicName::from(t), p.parse().expect("partition"))
}

fn names(a: &Assignment) -> VecMap<String, Vec<String>> {
    a.iter()
        .map(|(m, list)| {
            let list = list
                .iter()
                .map(|p| format!("{}p{}", p.topic, p.partition))
                .collect();
            (m.clone(), list)
        })
        .collect()
}

fn expect(a: &Assignment, expected: &[(&str, &[&str])]) {
    let expected: VecMap<String, Vec<String>> = expected
        .iter()
        .map(|(m, l)| (m.to_string(), l.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(names(a), expected);
}

#[test]
fn range_matches_kafkas_documented_example() {
    // RangeAssignor javadoc: C0, C1; t0 and t1 with 3 partitions each.
    let t = topics(&[("t0", 3), ("t1", 3)]);
    let m = [member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])];
    expect(
        &assign(Assignor::Range, &t, &m),
        &[
            ("C0", &["t0p0", "t0p1", "t1p0", "t1p1"]),
            ("C1", &["t0p2", "t1p2"]),
        ],
    );
}

#[test]
fn roundrobin_matches_kafkas_documented_example() {
    let t = topics(&[("t0", 3), ("t1", 3)]);
    let m = [member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])];
    expect(
        &assign(Assignor::RoundRobin, &t, &m),
        &[
            ("C0", &["t0p0", "t0p2", "t1p1"]),
            ("C1", &["t0p1", "t1p0", "t1p2"]),
        ],
    );
}

#[test]
fn mixed_subscriptions_match_kafkas_tests() {
    // testMultipleConsumersMixedTopics in RangeAssignorTest and RoundRobinAssignorTest.
    let t = topics(&[("t1", 3), ("t2", 2)]);
    let m = [
        member("consumer1", &["t1"]),
        member("consumer2", &["t1", "t2"]),
        member("consumer3", &["t1"]),
    ];
    for a in [Assignor::Range, Assignor::RoundRobin] {
        expect(
            &assign(a, &t, &m),
            &[
                ("consumer1", &["t1p0"]),
                ("consumer2", &["t1p1", "t2p0", "t2p1"]),
                ("consumer3", &["t1p2"]),
            ],
        );
    }
}

#[test]
fn sticky_matches_kafkas_documented_example_then_keeps_every_owned_partition() {
    // StickyAssignor javadoc: C0, C1, C2 subscribe to t0..t3 with 2 partitions each.
    let t = topics(&[("t0", 2), ("t1", 2), ("t2", 2), ("t3", 2)]);
    let all = ["t0", "t1", "t2", "t3"];
    let m = [member("C0", &all), member("C1", &all), member("C2", &all)];
    let first = assign(Assignor::Sticky, &t, &m);
    expect(
        &first,
        &[
            ("C0", &["t0p0", "t1p1", "t3p0"]),
            ("C1", &["t0p1", "t2p0", "t3p1"]),
            ("C2", &["t1p0", "t2p1"]),
        ],
    );
    // C1 leaves. Round robin would reshuffle; sticky keeps what C0 and C2 had and shares out
    // C1's partitions (Kafka's constrained algorithm, traced by hand).
    let m = [
        owning(member("C0", &all), 1, &["t0p0", "t1p1", "t3p0"]),
        owning(member("C2", &all), 1, &["t1p0", "t2p1"]),
    ];
    let second = assign(Assignor::Sticky, &t, &m);
    expect(
        &second,
        &[
            // Kept partitions come first, sorted by partition then topic, as Kafka sorts them.
            ("C0", &["t0p0", "t3p0", "t1p1", "t0p1"]),
            ("C2", &["t1p0", "t2p1", "t2p0", "t3p1"]),
        ],
    );
    expect(
        &assign(Assignor::RoundRobin, &t, &m),
        &[
            ("C0", &["t0p0", "t1p0", "t2p0", "t3p0"]),
            ("C2", &["t0p1", "t1p1", "t2p1", "t3p1"]),
        ],
    );
}

#[test]
fn cooperative_sticky_moves_a_partition_over_two_rebalances() {
    let t = topics(&[("orders", 6)]);
    let m = [member("a", &["orders"]), member("b", &["orders"])];
    let first = assign(Assignor::CooperativeSticky, &t, &m);
    expect(
        &first,
        &[
            ("a", &["ordersp0", "ordersp2", "ordersp4"]),
            ("b", &["ordersp1", "ordersp3", "ordersp5"]),
        ],
    );
    // c joins: a and b keep two each; the partitions they give up are not handed to c yet.
    let owned = |id: &str, a: &Assignment| owning(member(id, &["orders"]), 1, &[]).with(a, id);
    let m = [
        owned("a", &first),
        owned("b", &first),
        member("c", &["orders"]),
    ];
    let second = assign(Assignor::CooperativeSticky, &t, &m);
    expect(
        &second,
        &[
            ("a", &["ordersp0", "ordersp2"]),
            ("b", &["ordersp1", "ordersp3"]),
            ("c", &[]),
        ],
    );
    // a and b revoked p4 and p5 and rejoined: now c gets them.
    let m = [
        owned("a", &second).generation(2),
        owned("b", &second).generation(2),
        member("c", &["orders"]).generation(2),
    ];
    let third = assign(Assignor::CooperativeSticky, &t, &m);
    expect(
        &third,
        &[
            ("a", &["ordersp0", "ordersp2"]),
            ("b", &["ordersp1", "ordersp3"]),
            ("c", &["ordersp4", "ordersp5"]),
        ],
    );
}

impl Subscription {
    fn with(mut self, a: &Assignment, id: &str) -> Self {
        self.owned_partitions = a[id].clone();
        self
    }
    fn generation(mut self, g: i32) -> Self {
        self.generation = Some(g);
        self
    }
}

#[test]
fn members_beyond_the_partition_count_are_idle() {
    let t = topics(&[("orders", 3)]);
    let m: Vec<Subscription> = (0..5)
        .map(|i| member(&format!("c{i}"), &["orders"]))
        .collect();
    for a in Assignor::ALL {
        let out = assign(a, &t, &m);
        assert_eq!(out.len(), 5, "{a:?} lists every member");
        assert_eq!(out.values().filter(|l| l.is_empty()).count(), 2, "{a:?}");
        assert_eq!(out.values().map(Vec::len).sum::<usize>(), 3, "{a:?}");
    }
}

/// Random groups: the same subscription for everyone, random previous owners.
#[test]
fn properties_hold_across_random_groups() {
    let mut rng = Rng::new(42);
    for case in 0..300 {
        let n_topics = 1 + rng.below(3) as usize;
        let t: VecMap<TopicName, u32> = (0..n_topics)
            .map(|i| {
                (
                    TopicName::from(format!("t{i}").as_str()),
                    1 + rng.below(12) as u32,
                )
            })
            .collect();
        let names: Vec<&str> = vec!["t0", "t1", "t2"][..n_topics].to_vec();
        let total: usize = t.values().map(|n| *n as usize).sum();
        let n_members = 1 + rng.below(8) as usize;
        let fresh: Vec<Subscription> = (0..n_members)
            .map(|i| member(&format!("m{i:02}"), &names))
            .collect();
        for a in Assignor::ALL {
            let out = assign(a, &t, &fresh);
            let all: VecSet<&TopicPartition> = out.values().flatten().collect();
            assert_eq!(all.len(), total, "case {case} {a:?}: each partition once");
            assert_eq!(
                out.values().map(Vec::len).sum::<usize>(),
                total,
                "case {case} {a:?}"
            );
            if a != Assignor::Range {
                let (lo, hi) = (
                    out.values().map(Vec::len).min().unwrap_or(0),
                    out.values().map(Vec::len).max().unwrap_or(0),
                );
                assert!(hi - lo <= 1, "case {case} {a:?}: balanced ({lo}..{hi})");
            }
        }
        // A member leaves and another joins: sticky keeps each survivor's partitions up to the
        // quota; cooperative never hands a partition to someone while another still owns it.
        let previous = assign(Assignor::Sticky, &t, &fresh);
        let mut next: Vec<Subscription> = fresh
            .iter()
            .skip(1)
            .map(|m| m.clone().with(&previous, &m.member_id).generation(1))
            .collect();
        next.push(member("zz-new", &names));
        let quota = total.div_ceil(next.len());
        let sticky = assign(Assignor::Sticky, &t, &next);
        for m in &next {
            let kept = m
                .owned_partitions
                .iter()
                .filter(|p| sticky[&m.member_id].contains(p))
                .count();
            assert!(
                kept >= m.owned_partitions.len().min(total / next.len()),
                "case {case}: {} kept {kept} of {:?} (quota {quota})",
                m.member_id,
                m.owned_partitions
            );
        }
        let coop = assign(Assignor::CooperativeSticky, &t, &next);
        for (member_id, list) in &coop {
            for p in list {
                let other_owner = next
                    .iter()
                    .any(|m| m.member_id != *member_id && m.owned_partitions.contains(p));
                assert!(
                    !other_owner,
                    "case {case}: {p} given to {member_id} while still owned"
                );
            }
        }
    }
}
