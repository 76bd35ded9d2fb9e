//! KRaft's quorum on its own: N replicas exchanging `RaftMessage`s over a queue with latency,
//! crashes and cuts, driven by one seed. Every step checks the quorum's safety properties:
//! never two leaders in an epoch, and a committed entry is never lost or changed.

use kplay_core::ids::NodeId;
use kplay_core::node::{Ctx, Outbox, TimerId};
use kplay_core::protocol::Message;
use kplay_core::raft::client::{RaftClient, RaftTimer};
use kplay_core::raft::log::{LogEntry, MetadataRecord, RaftLog};
use kplay_core::raft::messages::RaftMessage;
use kplay_core::raft::state::{ElectionState, RoleName};
use kplay_core::raft::{Epoch, RaftConfig};
use kplay_core::rng::Rng;
use kplay_core::time::SimTime;
use kplay_core::trace::Event;
use kplay_core::vec_map::{VecMap, VecSet};
use std::collections::VecDeque;

enum Input {
    Deliver {
        from: u32,
        to: u32,
        msg: RaftMessage,
    },
    Timer {
        node: u32,
        incarnation: u64,
        timer: RaftTimer,
    },
    /// The quorum controller appends a record to whoever leads.
    Append,
}

struct Cluster {
    now: SimTime,
    rng: Rng,
    voters: Vec<u32>,
    config: RaftConfig,
    nodes: VecMap<u32, RaftClient>,
    /// A crashed node's disk: its `quorum-state` and log.
    disks: VecMap<u32, (ElectionState, RaftLog)>,
    incarnation: VecMap<u32, u64>,
    queue: VecMap<(SimTime, u64), Input>,
    seq: u64,
    timer_ids: u64,
    latency_us: (u64, u64),
    cut: VecSet<(u32, u32)>,
    /// Each link's last arrival, so links are FIFO (TCP).
    link_last: VecMap<(u32, u32), SimTime>,
    /// Every epoch's leader ever seen.
    leaders: VecMap<Epoch, u32>,
    /// The longest committed prefix any replica exposed.
    committed: Vec<LogEntry>,
    /// Per node, how far its log was checked against `committed`.
    checked: VecMap<u32, u64>,
    appends: u64,
    /// 0: no appends.
    append_every_ms: u64,
    trace: Vec<(SimTime, Event)>,
}

fn address(id: u32) -> NodeId {
    NodeId::broker(id)
}
fn id_of(node: NodeId) -> u32 {
    match node {
        NodeId::Broker(b) => b.0,
        other => panic!("not a quorum node: {other:?}"),
    }
}

impl Cluster {
    fn new(seed: u64, voters: u32, config: RaftConfig) -> Cluster {
        let ids: Vec<u32> = (1..=voters).collect();
        let mut c = Cluster {
            now: SimTime::ZERO,
            rng: Rng::new(seed),
            voters: ids.clone(),
            config,
            nodes: VecMap::new(),
            disks: VecMap::new(),
            incarnation: VecMap::new(),
            queue: VecMap::new(),
            seq: 0,
            timer_ids: 0,
            latency_us: (500, 1_500),
            cut: VecSet::new(),
            link_last: VecMap::new(),
            leaders: VecMap::new(),
            committed: Vec::new(),
            checked: VecMap::new(),
            appends: 0,
            append_every_ms: 100,
            trace: Vec::new(),
        };
        for id in ids {
            let client = RaftClient::new(id, c.voters.clone(), c.config.clone(), address);
            c.boot(id, client);
        }
        c.push(SimTime::from_ms(c.append_every_ms), Input::Append);
        c
    }

    fn push(&mut self, at: SimTime, input: Input) {
        self.seq += 1;
        self.queue.insert((at, self.seq), input);
    }

    fn boot(&mut self, id: u32, client: RaftClient) {
        self.nodes.insert(id, client);
        *self.incarnation.entry(id).or_insert(0) += 1;
        self.with(id, |c, ctx| c.start(ctx));
    }

    /// Runs `f` on node `id` with a context, then carries out its effects.
    fn with(&mut self, id: u32, f: impl FnOnce(&mut RaftClient, &mut Ctx<'_, RaftTimer>)) {
        let Some(client) = self.nodes.get_mut(&id) else {
            return;
        };
        let mut out = Outbox::default();
        let mut timers: VecDeque<(SimTime, RaftTimer, Option<TimerId>)> = VecDeque::new();
        let mut ctx = Ctx::new(
            self.now,
            address(id),
            &mut self.rng,
            &mut out,
            &mut timers,
            &mut self.timer_ids,
        );
        f(client, &mut ctx);
        let incarnation = self.incarnation[&id];
        for (at, timer, _) in timers {
            self.push(
                at,
                Input::Timer {
                    node: id,
                    incarnation,
                    timer,
                },
            );
        }
        for (to, msg) in out.sends {
            let Message::Raft(msg) = msg else {
                panic!("the quorum sends only RaftMessages")
            };
            let to = id_of(to);
            let (lo, hi) = self.latency_us;
            let latency = lo + self.rng.below(hi - lo + 1);
            let link_last = self
                .link_last
                .get(&(id, to))
                .copied()
                .unwrap_or(SimTime::ZERO);
            let at = self.now.plus_us(latency).max(link_last);
            self.link_last.insert((id, to), at);
            self.push(
                at,
                Input::Deliver {
                    from: id,
                    to,
                    msg: *msg,
                },
            );
        }
        for event in out.events {
            // The leader exposes older entries only by committing one of its own epoch.
            if let Event::QuorumHighWatermark {
                node,
                epoch,
                offset,
            } = event
            {
                let last = self.nodes[&node].log().entry(offset - 1).map(|e| e.epoch);
                assert_eq!(
                    last,
                    Some(epoch),
                    "HW {offset} of epoch {epoch} covers no entry of it"
                );
            }
            self.trace.push((self.now, event));
        }
        self.check(id);
    }

    /// The safety properties, after every step of node `id`.
    fn check(&mut self, id: u32) {
        let Some(node) = self.nodes.get(&id) else {
            return;
        };
        if node.role() == RoleName::Leader {
            let newly_elected = !self.leaders.contains_key(&node.epoch());
            let first = *self.leaders.entry(node.epoch()).or_insert(id);
            assert_eq!(first, id, "two leaders in epoch {}", node.epoch());
            // Leader completeness: a new leader holds every entry committed before it (a
            // deposed leader of an older epoch may not).
            let committed = if newly_elected {
                &self.committed[..]
            } else {
                &[]
            };
            for (i, e) in committed.iter().enumerate() {
                assert_eq!(
                    node.log().entry(i as u64),
                    Some(e),
                    "leader {id} of epoch {} lacks committed offset {i}",
                    node.epoch()
                );
            }
        }
        let hw = node.high_watermark();
        let from = self.checked.get(&id).copied().unwrap_or(0);
        for offset in from..hw {
            let entry = node
                .log()
                .entry(offset)
                .expect("entries below the HW exist");
            match self.committed.get(offset as usize) {
                Some(c) => assert_eq!(c, entry, "node {id} changed committed offset {offset}"),
                None => {
                    assert_eq!(offset as usize, self.committed.len());
                    self.committed.push(entry.clone());
                }
            }
        }
        self.checked.insert(id, hw.max(from));
    }

    fn step(&mut self) -> bool {
        let Some((&key, _)) = self.queue.first_key_value() else {
            return false;
        };
        let input = self.queue.remove(&key).expect("first key");
        self.now = key.0;
        match input {
            Input::Deliver { from, to, msg } => {
                if !self.cut.contains(&(from, to)) {
                    self.with(to, |c, ctx| c.on_message(from, msg, ctx));
                }
            }
            Input::Timer {
                node,
                incarnation,
                timer,
            } => {
                if self.incarnation.get(&node) == Some(&incarnation)
                    && self.nodes.contains_key(&node)
                {
                    self.with(node, |c, ctx| c.on_timer(timer, ctx));
                }
            }
            Input::Append => {
                if let Some(leader) = self.leader().filter(|_| self.append_every_ms > 0) {
                    self.appends += 1;
                    let record = MetadataRecord::Config {
                        resource_type: 2,
                        resource_name: "orders".into(),
                        name: "retention.ms".into(),
                        value: Some(self.appends.to_string()),
                    };
                    self.with(leader, |c, ctx| {
                        let end = c.log().end_offset().offset;
                        let offset = c.append(record, ctx).expect("the leader appends");
                        assert!(offset >= end, "a new record goes after the log's end");
                    });
                }
                let at = self.now.plus_ms(self.append_every_ms.max(100));
                self.push(at, Input::Append);
            }
        }
        true
    }

    fn run_until(&mut self, secs_ms: u64) {
        let until = SimTime::from_ms(secs_ms);
        while self
            .queue
            .first_key_value()
            .is_some_and(|(k, _)| k.0 <= until)
        {
            self.step();
        }
        self.now = until;
    }

    /// The live leader of the highest epoch.
    fn leader(&self) -> Option<u32> {
        self.nodes
            .iter()
            .filter(|(_, c)| c.role() == RoleName::Leader)
            .max_by_key(|(_, c)| c.epoch())
            .map(|(id, _)| *id)
    }

    fn crash(&mut self, id: u32) {
        if let Some(c) = self.nodes.remove(&id) {
            self.disks.insert(id, (c.election_state(), c.log().clone()));
            self.checked.insert(id, 0);
        }
    }
    fn restart(&mut self, id: u32) {
        if let Some((election, log)) = self.disks.remove(&id) {
            let c = RaftClient::restart(
                id,
                self.voters.clone(),
                self.config.clone(),
                address,
                election,
                log,
            );
            self.boot(id, c);
        }
    }
    /// Cuts every link between `side` and the other nodes.
    fn partition(&mut self, side: &[u32]) {
        for &a in side {
            for &b in &self.voters {
                if !side.contains(&b) {
                    self.cut.insert((a, b));
                    self.cut.insert((b, a));
                }
            }
        }
    }
    fn heal(&mut self) {
        self.cut.clear();
    }

    fn events_after(&self, at: SimTime) -> impl Iterator<Item = &Event> {
        self.trace
            .iter()
            .filter(move |(t, _)| *t >= at)
            .map(|(_, e)| e)
    }
}

fn stable_leader(c: &mut Cluster, by_ms: u64) -> u32 {
    c.run_until(by_ms);
    c.leader().expect("a leader is elected")
}

#[test]
fn a_cold_quorum_elects_one_leader_and_commits() {
    for seed in 0..10 {
        let mut c = Cluster::new(seed, 3, RaftConfig::default());
        let leader = stable_leader(&mut c, 10_000);
        let node = &c.nodes[&leader];
        // Appends every 100 ms for ~7 s since the election: they commit.
        assert!(
            c.committed.len() > 40,
            "seed {seed}: only {} committed",
            c.committed.len()
        );
        assert!(matches!(
            node.log().entry(0).map(|e| &e.record),
            Some(MetadataRecord::LeaderChange { .. })
        ));
        for (id, n) in c.nodes.iter() {
            assert!(
                node.high_watermark() - n.high_watermark() <= 5,
                "seed {seed}: node {id} lags the leader's HW"
            );
        }
    }
}

#[test]
fn committed_entries_survive_leader_crashes_and_restarts() {
    for seed in 0..8 {
        let mut c = Cluster::new(seed, 5, RaftConfig::default());
        let mut t = 5_000;
        c.run_until(t);
        for round in 0..12 {
            // Crash the leader (or a random node), at most two down at once.
            let victim = match c.leader() {
                Some(l) if round % 2 == 0 => l,
                _ => 1 + c.rng.below(5) as u32,
            };
            c.crash(victim);
            if c.disks.len() > 2 {
                let back = *c.disks.keys().next().unwrap();
                c.restart(back);
            }
            t += 1_000 + c.rng.below(4_000);
            c.run_until(t);
        }
        let down: Vec<u32> = c.disks.keys().copied().collect();
        for id in down {
            c.restart(id);
        }
        let before = c.committed.len();
        t += 15_000;
        c.run_until(t);
        let leader = c.leader().expect("a leader after the faults end");
        assert!(
            c.committed.len() > before + 50,
            "seed {seed}: the quorum stopped committing"
        );
        assert!(
            c.leaders.len() >= 4,
            "seed {seed}: the leader crashes forced elections"
        );
        // Everyone caught up to the same log.
        let end = c.nodes[&leader].log().end_offset();
        for (id, n) in c.nodes.iter() {
            assert!(
                end.offset - n.log().end_offset().offset <= 5,
                "seed {seed}: node {id} did not catch up"
            );
        }
    }
}

#[test]
fn a_partitioned_leader_resigns_by_check_quorum_and_the_majority_elects_a_new_one() {
    for seed in 0..8 {
        let mut c = Cluster::new(seed, 5, RaftConfig::default());
        let old = stable_leader(&mut c, 8_000);
        let old_epoch = c.nodes[&old].epoch();
        let cut_at = c.now;
        c.partition(&[old]);
        // Check-quorum: 1.5 × fetch.timeout.ms after the last majority of fetches.
        c.run_until(8_000 + 3_100);
        let resigned = c.events_after(cut_at).any(|e| {
            matches!(e, Event::QuorumResigned { node, epoch, check_quorum: true } if *node == old && *epoch == old_epoch)
        });
        assert!(
            resigned,
            "seed {seed}: the cut-off leader {old} kept leading"
        );
        assert_ne!(c.nodes[&old].role(), RoleName::Leader);
        // The majority: fetch timeout (2 s) + at most a few election timeouts.
        c.run_until(8_000 + 8_000);
        let new = c.leader().expect("the majority elects");
        assert_ne!(new, old, "seed {seed}");
        assert!(c.nodes[&new].epoch() > old_epoch);
        // The isolated node never got a pre-vote majority, so it did not bump its epoch.
        assert_eq!(c.nodes[&old].epoch(), old_epoch, "seed {seed}");
        c.heal();
        c.run_until(8_000 + 12_000);
        assert_eq!(
            c.leader(),
            Some(new),
            "seed {seed}: the old leader disrupted the new one"
        );
        assert_eq!(c.nodes[&old].role(), RoleName::Follower);
        assert_eq!(c.nodes[&old].epoch(), c.nodes[&new].epoch());
    }
}

#[test]
fn a_deposed_leaders_uncommitted_entries_are_truncated() {
    for seed in 0..8 {
        let mut c = Cluster::new(seed, 3, RaftConfig::default());
        let old = stable_leader(&mut c, 6_000);
        c.run_until(6_050);
        c.partition(&[old]);
        // The harness keeps appending to the old leader until it resigns: entries of its epoch
        // that no majority holds.
        c.run_until(9_500);
        let stale: Vec<LogEntry> = c.nodes[&old].log().entries().to_vec();
        let new = c.leader().expect("the majority elects");
        assert_ne!(new, old);
        c.run_until(12_000);
        c.heal();
        c.run_until(16_000);
        let leader_log = c.nodes[&new].log();
        let old_log = c.nodes[&old].log();
        // The two logs diverged: the old leader held entries the new leader never had.
        let diverged: Vec<&LogEntry> = stale
            .iter()
            .filter(|e| leader_log.entry(e.offset) != Some(*e))
            .collect();
        assert!(diverged.len() > 5, "seed {seed}: the logs never diverged");
        // The old leader truncated them and took the new leader's entries instead.
        assert!(
            old_log.end_offset().offset > stale.len() as u64,
            "seed {seed}: caught up"
        );
        for offset in 0..old_log
            .end_offset()
            .offset
            .min(leader_log.end_offset().offset)
        {
            assert_eq!(
                old_log.entry(offset),
                leader_log.entry(offset),
                "seed {seed}: logs differ at {offset}"
            );
        }
        assert!(diverged.iter().all(|e| old_log.entry(e.offset) != Some(*e)));
    }
}

#[test]
fn pre_vote_keeps_a_rejoining_follower_with_a_stale_log_from_disrupting_the_leader() {
    for seed in 0..8 {
        let mut c = Cluster::new(seed, 5, RaftConfig::default());
        let leader = stable_leader(&mut c, 6_000);
        let epoch = c.nodes[&leader].epoch();
        let loner = (1..=5).find(|&n| n != leader).unwrap();
        c.partition(&[loner]);
        c.run_until(26_000);
        // It timed out many times, but as a prospective: no candidacy, no epoch bump.
        assert_eq!(c.nodes[&loner].epoch(), epoch, "seed {seed}");
        assert!(c.nodes[&loner].log().end_offset() < c.nodes[&leader].log().end_offset());
        let healed_at = c.now;
        c.heal();
        c.run_until(36_000);
        assert_eq!(
            c.leader(),
            Some(leader),
            "seed {seed}: the leader was disrupted"
        );
        assert_eq!(c.nodes[&leader].epoch(), epoch);
        assert!(
            !c.events_after(healed_at)
                .any(|e| matches!(e, Event::QuorumElectionStarted { .. })),
            "seed {seed}: an election after the heal"
        );
        assert_eq!(c.nodes[&loner].role(), RoleName::Follower);
        assert_eq!(c.nodes[&loner].epoch(), epoch);
    }
}

#[test]
fn randomized_timeouts_resolve_split_votes() {
    // Slow links (200–400 ms) make candidacies overlap: split votes are common, and the
    // randomized election timeouts and backoffs must still settle on one leader.
    let mut seeds_with_split_votes = 0;
    for seed in 0..30 {
        let mut c = Cluster::new(seed, 5, RaftConfig::default());
        c.latency_us = (200_000, 400_000);
        c.run_until(30_000);
        let leader = c
            .leader()
            .unwrap_or_else(|| panic!("seed {seed}: no leader"));
        let mut candidates: VecMap<Epoch, u32> = VecMap::new();
        for (_, e) in &c.trace {
            if let Event::QuorumElectionStarted { epoch, .. } = e {
                *candidates.entry(*epoch).or_insert(0) += 1;
            }
        }
        if candidates.values().any(|&n| n > 1) {
            seeds_with_split_votes += 1;
        }
        // Once elected, it stays: the followers fetch well within the timeouts.
        let elected_epoch = c.nodes[&leader].epoch();
        assert_eq!(
            c.leaders.len() as u32,
            c.leaders.keys().filter(|&&e| e <= elected_epoch).count() as u32
        );
        assert!(c.committed.len() > 20, "seed {seed}: nothing committed");
    }
    assert!(
        seeds_with_split_votes > 0,
        "the test never produced a split vote"
    );
}

#[test]
fn a_graceful_resignation_hands_leadership_over_at_once() {
    for seed in 0..8 {
        let mut c = Cluster::new(seed, 3, RaftConfig::default());
        let old = stable_leader(&mut c, 6_000);
        let at = c.now;
        c.with(old, |n, ctx| n.resign(ctx));
        // EndQuorumEpoch: the first preferred successor skips the fetch timeout (2 s).
        c.run_until(6_000 + 1_000);
        let new = c.leader().expect("a successor within an election round");
        assert_ne!(new, old, "seed {seed}");
        assert!(c.events_after(at).any(
            |e| matches!(e, Event::QuorumResigned { node, check_quorum: false, .. } if *node == old)
        ));
    }
}

#[test]
fn followers_that_hear_their_leader_deny_pre_votes() {
    // KIP-996: a voter cut off from the leader alone, with a log as long as everyone's (no
    // appends), asks the other followers for pre-votes; they still fetch from the leader, so
    // they deny it and the leader keeps its epoch.
    for seed in 0..8 {
        let mut c = Cluster::new(seed, 3, RaftConfig::default());
        c.append_every_ms = 0;
        let leader = stable_leader(&mut c, 6_000);
        let epoch = c.nodes[&leader].epoch();
        let loner = (1..=3).find(|&n| n != leader).unwrap();
        c.cut.insert((loner, leader));
        c.cut.insert((leader, loner));
        c.run_until(20_000);
        assert!(
            c.nodes[&loner].log().end_offset() >= c.nodes[&leader].log().end_offset(),
            "seed {seed}: the loner's log is up to date"
        );
        assert_eq!(
            c.leader(),
            Some(leader),
            "seed {seed}: the loner deposed the leader"
        );
        assert_eq!(c.nodes[&leader].epoch(), epoch, "seed {seed}");
        assert_eq!(c.nodes[&loner].epoch(), epoch, "seed {seed}");
    }
}
