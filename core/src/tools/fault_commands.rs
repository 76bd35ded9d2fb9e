//! kplay's own commands for what no Kafka tool does — crash a broker, cut a link, pause a
//! consumer — in the words [`Command::describe`] prints, so the event log's lines can be typed
//! back in: `kill broker 2`, `cut links broker:1 <-> zk:1,zk:2`, `pause consumer 0 for 5 s`.

use crate::ids::NodeId;
use crate::scenario::CrashPoint;
use crate::Command;

/// One line per command, for `help`.
pub const USAGE: &[&str] = &[
    "kill broker N (a crash) | stop broker N (a clean, controlled shutdown)",
    "restart broker N [with an empty disk] | isolate broker N",
    "kill zookeeper N | restart zookeeper N",
    "kill controller N | restart controller N   (KRaft: N is a node.id, 3000 and up)",
    "cut links NODES <-> NODES | cut links NODES -> NODES | heal links NODES <-> NODES | heal all links",
    "slow links NODES <-> NODES by MICROSECONDS us",
    "crash consumer N | close consumer N | restart consumer N | pause consumer N for SECONDS s",
    "  (NODES: a comma-separated list of zk:N, broker:N, controller:N, producer:N, consumer:N)",
];

/// The command these words spell, an error saying what is wrong with them, or `None` when
/// they are not a kplay command at all.
pub fn parse(words: &[String]) -> Option<Result<Command, String>> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let verb = *w.first()?;
    if !matches!(
        verb,
        "kill"
            | "stop"
            | "restart"
            | "isolate"
            | "cut"
            | "heal"
            | "slow"
            | "crash"
            | "close"
            | "pause"
    ) {
        return None;
    }
    Some(parse_known(&w).map_err(|e| format!("{e}\nusage: {}", usage_for(verb))))
}

fn usage_for(verb: &str) -> String {
    USAGE
        .iter()
        .filter(|u| u.contains(verb))
        .copied()
        .collect::<Vec<_>>()
        .join("\n       ")
}

fn number(word: Option<&&str>, what: &str) -> Result<u32, String> {
    let word = word.ok_or_else(|| format!("which {what}? a number is missing"))?;
    word.parse()
        .map_err(|_| format!("'{word}' is not a {what} number"))
}

fn nodes(word: Option<&&str>) -> Result<Vec<NodeId>, String> {
    let word = word.ok_or("a list of nodes is missing")?;
    word.split(',').map(str::parse).collect()
}

fn parse_known(w: &[&str]) -> Result<Command, String> {
    let n = |i: usize, what: &str| number(w.get(i), what);
    let rest_is = |from: usize, expected: &[&str]| -> Result<(), String> {
        if w.len() > from + expected.len() || w[from.min(w.len())..] != *expected {
            Err(format!(
                "unexpected words: '{}'",
                w[from.min(w.len())..].join(" ")
            ))
        } else {
            Ok(())
        }
    };
    match (w[0], w.get(1).copied()) {
        ("kill", Some("broker")) => rest_is(3, &[]).and(Ok(Command::KillBroker {
            broker: n(2, "broker")?,
        })),
        ("stop", Some("broker")) => rest_is(3, &[]).and(Ok(Command::StopBroker {
            broker: n(2, "broker")?,
        })),
        ("restart", Some("broker")) => {
            let broker = n(2, "broker")?;
            if w.len() > 3 {
                rest_is(3, &["with", "an", "empty", "disk"])?;
            }
            Ok(Command::RestartBroker {
                broker,
                disk_lost: w.len() > 3,
            })
        }
        ("isolate", Some("broker")) => rest_is(3, &[]).and(Ok(Command::IsolateBroker {
            broker: n(2, "broker")?,
        })),
        ("kill", Some("zookeeper" | "zk")) => rest_is(3, &[]).and(Ok(Command::KillZookeeper {
            server: n(2, "ZooKeeper server")?,
        })),
        ("restart", Some("zookeeper" | "zk")) => {
            rest_is(3, &[]).and(Ok(Command::RestartZookeeper {
                server: n(2, "ZooKeeper server")?,
            }))
        }
        ("kill", Some("controller")) => rest_is(3, &[]).and(Ok(Command::KillController {
            controller: n(2, "controller")?,
        })),
        ("restart", Some("controller")) => rest_is(3, &[]).and(Ok(Command::RestartController {
            controller: n(2, "controller")?,
        })),
        ("heal", Some("all")) => rest_is(2, &["links"]).and(Ok(Command::HealAllLinks)),
        ("cut" | "heal" | "slow", Some("links")) => {
            let between = nodes(w.get(2))?;
            let arrow = w
                .get(3)
                .copied()
                .ok_or("'<->' or '->' and a second list of nodes are missing")?;
            let and = nodes(w.get(4))?;
            match (w[0], arrow) {
                ("cut", "<->" | "->") => rest_is(5, &[]).and(Ok(Command::CutLinks {
                    between,
                    and,
                    one_way: arrow == "->",
                })),
                ("heal", "<->") => rest_is(5, &[]).and(Ok(Command::HealLinks { between, and })),
                ("slow", "<->") => {
                    if w.get(5) != Some(&"by") || w.get(7) != Some(&"us") || w.len() != 8 {
                        return Err("say how much slower: 'by MICROSECONDS us'".into());
                    }
                    let extra_latency_us = w[6]
                        .parse()
                        .map_err(|_| format!("'{}' is not a number of microseconds", w[6]))?;
                    Ok(Command::SlowLinks {
                        between,
                        and,
                        extra_latency_us,
                    })
                }
                _ => Err(format!("'{arrow}' is not a link direction here")),
            }
        }
        ("crash", Some("consumer")) => rest_is(3, &[]).and(Ok(Command::CrashConsumer {
            consumer: n(2, "consumer")?,
            at: CrashPoint::Now,
        })),
        ("close", Some("consumer")) => rest_is(3, &[]).and(Ok(Command::CloseConsumer {
            consumer: n(2, "consumer")?,
        })),
        ("restart", Some("consumer")) => rest_is(3, &[]).and(Ok(Command::RestartConsumer {
            consumer: n(2, "consumer")?,
        })),
        ("pause", Some("consumer")) => {
            let consumer = n(2, "consumer")?;
            if w.get(3) != Some(&"for") || w.get(5) != Some(&"s") || w.len() != 6 {
                return Err("say for how long: 'for SECONDS s'".into());
            }
            let secs: f64 = w[4]
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s > 0.0)
                .ok_or_else(|| format!("'{}' is not a number of seconds", w[4]))?;
            Ok(Command::PauseConsumer {
                consumer,
                ms: (secs * 1000.0).round() as u64,
                at: CrashPoint::Now,
            })
        }
        (verb, what) => Err(format!(
            "kplay cannot {verb} {}",
            what.map_or("that".to_string(), |w| format!("a {w}"))
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::BrokerId;

    fn parsed(line: &str) -> Result<Command, String> {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&words).expect("a kplay command")
    }

    #[test]
    fn every_described_fault_parses_back_to_itself() {
        let b = |n| NodeId::Broker(BrokerId(n));
        let commands = [
            Command::KillBroker { broker: 2 },
            Command::StopBroker { broker: 2 },
            Command::RestartBroker {
                broker: 2,
                disk_lost: false,
            },
            Command::RestartBroker {
                broker: 3,
                disk_lost: true,
            },
            Command::IsolateBroker { broker: 1 },
            Command::KillZookeeper { server: 1 },
            Command::RestartZookeeper { server: 1 },
            Command::KillController { controller: 3001 },
            Command::RestartController { controller: 3001 },
            Command::CutLinks {
                between: vec![b(1)],
                and: vec![b(2), NodeId::ZooKeeper(1)],
                one_way: false,
            },
            Command::CutLinks {
                between: vec![b(1)],
                and: vec![b(2)],
                one_way: true,
            },
            Command::HealLinks {
                between: vec![b(1)],
                and: vec![b(2)],
            },
            Command::HealAllLinks,
            Command::SlowLinks {
                between: vec![b(1)],
                and: vec![NodeId::Consumer(0)],
                extra_latency_us: 5000,
            },
            Command::CrashConsumer {
                consumer: 0,
                at: CrashPoint::Now,
            },
            Command::CloseConsumer { consumer: 1 },
            Command::RestartConsumer { consumer: 1 },
            Command::PauseConsumer {
                consumer: 0,
                ms: 2500,
                at: CrashPoint::Now,
            },
        ];
        for c in commands {
            assert_eq!(parsed(&c.describe()), Ok(c.clone()), "{}", c.describe());
        }
    }

    #[test]
    fn mistakes_say_what_is_wrong_and_other_words_are_not_faults() {
        assert!(parsed("kill broker")
            .unwrap_err()
            .starts_with("which broker?"));
        assert!(parsed("kill broker two")
            .unwrap_err()
            .starts_with("'two' is not a broker number"));
        assert!(parsed("kill broker 2 now")
            .unwrap_err()
            .starts_with("unexpected words: 'now'"));
        assert!(parsed("cut links broker:1 <-> nobody:2")
            .unwrap_err()
            .contains("'nobody:2' is not a node"));
        assert!(parsed("pause consumer 0 for -1 s")
            .unwrap_err()
            .contains("'-1' is not a number of seconds"));
        assert!(parsed("kill producer 1")
            .unwrap_err()
            .starts_with("kplay cannot kill a producer"));
        assert!(parse(&["ls".to_string()]).is_none());
    }
}
