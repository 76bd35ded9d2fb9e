//! Random fault schedules for sweeps (`kplay check --random-faults`): from a seed, a few
//! overlapping faults at random times — broker crashes, ZooKeeper (or KRaft controller)
//! crashes, quorum splits, cut links (both ways or one way), isolated brokers, slow links,
//! paused and crashed consumers — each undone after a
//! random while. Every fault is undone by 75 % of the run, so the rest shows the cluster
//! recovering, and no fault loses a disk: what Kafka promises must then hold in every run.

use crate::ids::{BrokerId, NodeId};
use crate::rng::Rng;
use crate::scenario::command::Command;
use crate::scenario::{CrashPoint, Scenario, ScheduledAction};

/// The most faults one schedule starts.
pub const MAX_FAULTS: u64 = 6;

/// A schedule for `scenario` from `seed`, to add to its own actions. The same seed gives the
/// same schedule on every platform.
pub fn random_schedule(scenario: &Scenario, seed: u64) -> Vec<ScheduledAction> {
    // Its own stream, so the schedule does not shift the simulation's randomness.
    let mut rng = Rng::new(seed ^ 0x6661_756c_7473_2121);
    let duration = scenario.duration_ms;
    let (first, healed_by) = (duration / 10, duration * 3 / 4);
    if healed_by <= first + 1_000 {
        return Vec::new();
    }
    let brokers = scenario.cluster.brokers;
    // The control plane's own nodes: ZooKeeper servers, or KRaft's controllers.
    let control = scenario.cluster.control_nodes();
    let zookeepers = control.len() as u32;
    let consumers = scenario.consumers.len() as u32;
    // Until when each node is already the subject of a fault: faults on one node never overlap,
    // so every undo undoes its own fault.
    let mut busy: Vec<(NodeId, u64)> = Vec::new();
    let mut free_at = |node: NodeId, from: u64, until: u64| -> bool {
        match busy.iter_mut().find(|(n, _)| *n == node) {
            Some((_, end)) if *end > from => false,
            Some((_, end)) => {
                *end = until;
                true
            }
            None => {
                busy.push((node, until));
                true
            }
        }
    };
    let mut out = Vec::new();
    let mut at = |at_ms: u64, command: Command| out.push(ScheduledAction { at_ms, command });
    for _ in 0..1 + rng.below(MAX_FAULTS) {
        let start = first + rng.below(healed_by - first - 1_000);
        let end = (start + 1_000 + rng.below(25_000)).min(healed_by);
        let broker = 1 + rng.below(brokers as u64) as u32;
        let b = NodeId::Broker(BrokerId(broker));
        match rng.below(8) {
            0 | 1 if free_at(b, start, end) => {
                at(start, Command::KillBroker { broker });
                at(
                    end,
                    Command::RestartBroker {
                        broker,
                        disk_lost: false,
                    },
                );
            }
            2 if zookeepers > 0 => {
                let node = control[rng.below(zookeepers as u64) as usize];
                match node {
                    NodeId::ZooKeeper(server) if free_at(node, start, end) => {
                        at(start, Command::KillZookeeper { server });
                        at(end, Command::RestartZookeeper { server });
                    }
                    // A controller crashes, or is cut off from the other voters (a quorum
                    // split: alone, it loses the leadership or a vote).
                    NodeId::Controller(controller) if free_at(node, start, end) => {
                        if rng.chance(0.5) {
                            at(start, Command::KillController { controller });
                            at(end, Command::RestartController { controller });
                        } else {
                            let others: Vec<NodeId> =
                                control.iter().copied().filter(|n| *n != node).collect();
                            at(
                                start,
                                Command::CutLinks {
                                    between: vec![node],
                                    and: others.clone(),
                                    one_way: false,
                                },
                            );
                            at(
                                end,
                                Command::HealLinks {
                                    between: vec![node],
                                    and: others,
                                },
                            );
                        }
                    }
                    _ => {}
                }
            }
            3 if free_at(b, start, end) => {
                at(start, Command::IsolateBroker { broker });
                at(end, Command::HealAllLinks);
            }
            4 | 5 => {
                // A broker cut off from one other broker or ZooKeeper server.
                let other = if zookeepers > 0 && rng.chance(0.5) {
                    control[rng.below(zookeepers as u64) as usize]
                } else {
                    NodeId::Broker(BrokerId(1 + rng.below(brokers as u64) as u32))
                };
                if other != b && free_at(b, start, end) {
                    let one_way = rng.chance(0.3);
                    at(
                        start,
                        Command::CutLinks {
                            between: vec![b],
                            and: vec![other],
                            one_way,
                        },
                    );
                    at(
                        end,
                        Command::HealLinks {
                            between: vec![b],
                            and: vec![other],
                        },
                    );
                }
            }
            6 if free_at(b, start, end) => {
                at(
                    start,
                    Command::SlowLinks {
                        between: vec![b],
                        and: (1..=brokers)
                            .filter(|o| *o != broker)
                            .map(|o| NodeId::Broker(BrokerId(o)))
                            .collect(),
                        extra_latency_us: 50_000 + rng.below(450_000),
                    },
                );
                at(end, Command::HealAllLinks);
            }
            7 if consumers > 0 => {
                let consumer = rng.below(consumers as u64) as u32;
                if free_at(NodeId::Consumer(consumer), start, end) {
                    let point = match rng.below(3) {
                        0 => CrashPoint::Now,
                        1 => CrashPoint::BeforeProcess,
                        _ => CrashPoint::BeforeCommit,
                    };
                    if rng.chance(0.5) {
                        at(
                            start,
                            Command::PauseConsumer {
                                consumer,
                                ms: end - start,
                                at: point,
                            },
                        );
                    } else {
                        at(
                            start,
                            Command::CrashConsumer {
                                consumer,
                                at: point,
                            },
                        );
                        at(end, Command::RestartConsumer { consumer });
                    }
                }
            }
            _ => {}
        }
    }
    crate::sort::sort_by_key(&mut out, |a| a.at_ms);
    out
}

/// `scenario` with the random schedule for its seed added to its actions.
pub fn with_random_faults(mut scenario: Scenario) -> Scenario {
    let mut faults = random_schedule(&scenario, scenario.seed);
    scenario.actions.append(&mut faults);
    crate::sort::sort_by_key(&mut scenario.actions, |a| a.at_ms);
    scenario
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> Scenario {
        Scenario::from_json(
            r#"{"topics": [{"name": "t", "partitions": 3, "replication_factor": 3}],
                "producers": [{"topic": "t"}],
                "consumers": [{"topic": "t", "config": {"group.id": "g"}}]}"#,
        )
        .expect("valid")
    }

    #[test]
    fn schedules_are_seeded_valid_and_healed_by_three_quarters_of_the_run() {
        let s = cluster();
        assert_eq!(random_schedule(&s, 7), random_schedule(&s, 7));
        assert_ne!(random_schedule(&s, 7), random_schedule(&s, 8));
        let mut kinds = crate::vec_map::VecSet::new();
        for seed in 0..200 {
            let faulty = with_random_faults(Scenario { seed, ..s.clone() });
            faulty
                .validate()
                .expect("a generated schedule is a valid scenario");
            let schedule = random_schedule(&s, seed);
            for a in &schedule {
                assert!(a.at_ms >= s.duration_ms / 10 && a.at_ms <= s.duration_ms * 3 / 4);
                assert!(
                    !matches!(
                        a.command,
                        Command::RestartBroker {
                            disk_lost: true,
                            ..
                        }
                    ),
                    "no fault loses a disk"
                );
                let words: Vec<String> =
                    a.command.describe().split(' ').map(String::from).collect();
                kinds.insert(words[..2].join(" "));
            }
            // Every kill is followed by a restart of the same node.
            for (i, a) in schedule.iter().enumerate() {
                if let Command::KillBroker { broker } = a.command {
                    assert!(schedule[i..].iter().any(|r| matches!(
                        r.command,
                        Command::RestartBroker { broker: b, .. } if b == broker
                    )));
                }
            }
        }
        assert!(kinds.len() >= 10, "the faults vary: {kinds:?}");
    }
}
