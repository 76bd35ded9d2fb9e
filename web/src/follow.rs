//! Following one record through the cluster, from the simulation's own trace events: the
//! produce request that carried it, the append on the leader, each follower's fetch that copied
//! it, the high watermark passing it, the acknowledgement to its producer, each consumer that
//! processed it and each group's commit past it — or where it was lost (a truncation, a leader
//! elected without it).
//!
//! A record is named by its partition, its offset and the moment its leader appended it (an
//! offset can be reused after the record at it was lost). Until that moment is known, the page
//! follows the newest record at the offset (a cell picked in a log), the one a given producer
//! had acknowledged (a lost record from the outcome), or the next one a producer sends (a record
//! produced by hand). Replaying the run from its seed (a scrub back, a share link) rebuilds the
//! steps from the same events.

use kplay_core::{BrokerId, Event, NodeId, Offset, SimTime, TraceEvent};

/// The most steps kept (a record consumed over and over adds one per consumption).
const MAX_STEPS: usize = 60;
/// Produce requests remembered while waiting for the append they carry.
const MAX_PENDING: usize = 64;

/// Which record to follow.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// The record at this offset.
    At {
        topic: String,
        partition: u32,
        offset: Offset,
        /// When its leader appended it, once known.
        appended_at: Option<SimTime>,
        /// The record this producer had acknowledged there (a lost record's), if any.
        producer: Option<u32>,
        /// Picked at this moment: the newest record at the offset up to then.
        picked_at: SimTime,
    },
    /// The next record `producer` sends after `after` (one produced by hand).
    NextFrom { producer: u32, after: SimTime },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    Request,
    Append,
    Copy,
    Committed,
    Acked,
    Processed,
    OffsetCommitted,
    Election,
    Lost,
}

/// One step of the record's way, as the trace recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub at: SimTime,
    pub kind: StepKind,
    pub text: String,
    /// Where the record is after this step (the diagram marks it).
    pub place: Option<NodeId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Follow {
    pub target: Target,
    pub steps: Vec<Step>,
    /// Brokers whose log holds the record now.
    pub holders: Vec<BrokerId>,
    pub lost: bool,
    leader: Option<BrokerId>,
    acked: bool,
    acked_by: Option<u32>,
    hw_passed: bool,
    /// Groups (or consumers without one) that processed it, and groups that committed past it.
    processed_by: Vec<u32>,
    committed_by: Vec<String>,
    /// Recent produce requests: (arrives at, from producer, to broker, sent at).
    pending: Vec<(SimTime, u32, BrokerId, SimTime)>,
}

impl Follow {
    pub fn new(target: Target) -> Follow {
        Follow {
            target,
            steps: Vec::new(),
            holders: Vec::new(),
            lost: false,
            leader: None,
            acked: false,
            acked_by: None,
            hw_passed: false,
            processed_by: Vec::new(),
            committed_by: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// The same target, its steps to be found again (a replay from the seed).
    pub fn restarted(&self) -> Follow {
        Follow::new(self.target.clone())
    }

    /// The record's partition and offset, once known.
    pub fn record(&self) -> Option<(&str, u32, Offset)> {
        match &self.target {
            Target::At {
                topic,
                partition,
                offset,
                ..
            } => Some((topic, *partition, *offset)),
            Target::NextFrom { .. } => None,
        }
    }

    /// A short name: "orders-0 offset 8523".
    pub fn name(&self) -> String {
        match self.record() {
            Some((t, p, o)) => format!("{t}-{p} offset {o}"),
            None => "the next record produced by hand".to_string(),
        }
    }

    /// Where the record is at `now`: the place of the latest step up to then.
    pub fn place_at(&self, now: SimTime) -> Option<NodeId> {
        self.steps
            .iter()
            .rev()
            .find(|s| s.at <= now && s.place.is_some())
            .and_then(|s| s.place)
    }

    fn push(&mut self, at: SimTime, kind: StepKind, text: String, place: Option<NodeId>) {
        if self.steps.len() < MAX_STEPS {
            self.steps.push(Step {
                at,
                kind,
                text,
                place,
            });
        }
    }

    /// Starts the record's way at its leader's append.
    fn start(&mut self, at: SimTime, broker: BrokerId, offset: Offset) {
        let pending = std::mem::take(&mut self.pending);
        *self = Follow::new(self.target.clone());
        self.pending = pending;
        let request = self
            .pending
            .iter()
            .find(|(arrives, _, to, _)| *arrives == at && *to == broker)
            .copied();
        if let Some((_, producer, _, sent)) = request {
            self.push(
                sent,
                StepKind::Request,
                format!("producer {producer} sends it to broker {broker} in a Produce request"),
                Some(NodeId::Producer(producer)),
            );
        }
        self.push(
            at,
            StepKind::Append,
            format!("leader broker {broker} appends it at offset {offset}"),
            Some(NodeId::Broker(broker)),
        );
        self.holders = vec![broker];
        self.leader = Some(broker);
    }

    /// Reads one trace event (in order).
    pub fn absorb(&mut self, event: &TraceEvent) {
        let at = event.at;
        if let Event::MessageSent {
            from: NodeId::Producer(p),
            to: NodeId::Broker(b),
            api: "Produce",
            arrives_at,
            ..
        } = &event.event
        {
            let producing = match &self.target {
                Target::NextFrom { producer, after } => *producer == *p && at >= *after,
                Target::At { .. } => true,
            };
            if producing {
                if self.pending.len() == MAX_PENDING {
                    self.pending.remove(0);
                }
                self.pending.push((*arrives_at, *p, *b, at));
            }
            return;
        }
        // A record produced by hand: its first append on a leader names it.
        if let (
            Target::NextFrom { producer, .. },
            Event::RecordsAppended {
                broker,
                topic,
                partition,
                base_offset,
                leader: true,
                ..
            },
        ) = (&self.target, &event.event)
        {
            let ours = self
                .pending
                .iter()
                .any(|(arrives, p, to, _)| *arrives == at && p == producer && to == broker);
            if ours {
                let producer = *producer;
                self.target = Target::At {
                    topic: topic.to_string(),
                    partition: *partition,
                    offset: *base_offset,
                    appended_at: Some(at),
                    producer: Some(producer),
                    picked_at: at,
                };
                self.start(at, *broker, *base_offset);
            }
            return;
        }
        let Target::At {
            topic: t,
            partition: p,
            offset,
            appended_at,
            producer,
            picked_at,
        } = &self.target
        else {
            return;
        };
        let offset = *offset;
        let here = |topic: &str, partition: u32| topic == t && partition == *p;
        match &event.event {
            Event::RecordsAppended {
                broker,
                topic,
                partition,
                base_offset,
                last_offset,
                leader,
                ..
            } if here(topic, *partition) && (*base_offset..=*last_offset).contains(&offset) => {
                if *leader {
                    let begin = match appended_at {
                        Some(when) => *when == at,
                        // The newest record at the offset up to the moment it was picked,
                        // unless the one followed so far is the producer's acknowledged one.
                        None => {
                            at <= *picked_at && !(producer.is_some() && self.acked_by == *producer)
                        }
                    };
                    if begin {
                        self.start(at, *broker, offset);
                    } else if !self.steps.is_empty() && !self.lost {
                        self.push(
                            at,
                            StepKind::Lost,
                            format!("broker {broker} appends another record at offset {offset}"),
                            Some(NodeId::Broker(*broker)),
                        );
                    }
                } else if !self.steps.is_empty()
                    && !self.lost
                    && !self.holders.contains(broker)
                    && self.leader.is_some_and(|l| self.holders.contains(&l))
                {
                    self.holders.push(*broker);
                    self.push(
                        at,
                        StepKind::Copy,
                        format!("follower broker {broker}'s fetch copies it"),
                        Some(NodeId::Broker(*broker)),
                    );
                }
            }
            _ if self.steps.is_empty() || self.lost => {}
            Event::HighWatermarkAdvanced {
                broker,
                topic,
                partition,
                high_watermark,
            } if here(topic, *partition)
                && *high_watermark > offset
                && !self.hw_passed
                && Some(*broker) == self.leader
                && self.holders.contains(broker) =>
            {
                self.hw_passed = true;
                self.push(
                    at,
                    StepKind::Committed,
                    format!("the high watermark on broker {broker} passes it (HW {high_watermark}): committed, consumers may read it"),
                    Some(NodeId::Broker(*broker)),
                );
            }
            Event::ProducerAcked {
                producer: by,
                topic,
                partition,
                base_offset: Some(base),
                records,
                acks,
                ..
            } if here(topic, *partition)
                && (*base..*base + *records as u64).contains(&offset)
                && !self.acked =>
            {
                self.acked = true;
                self.acked_by = Some(*by);
                self.push(
                    at,
                    StepKind::Acked,
                    format!(
                        "producer {by} gets its acknowledgement (acks={})",
                        acks.as_str()
                    ),
                    Some(NodeId::Producer(*by)),
                );
            }
            Event::ConsumerProcessed {
                consumer,
                group,
                topic,
                partition,
                first_offset,
                last_offset,
                ..
            } if here(topic, *partition) && (*first_offset..=*last_offset).contains(&offset) => {
                let again = self.processed_by.contains(consumer);
                self.processed_by.push(*consumer);
                let group = group
                    .as_deref()
                    .map_or(String::new(), |g| format!(" (group {g})"));
                self.push(
                    at,
                    StepKind::Processed,
                    format!(
                        "consumer {consumer}{group} fetched and processed it{}",
                        if again { " again" } else { "" }
                    ),
                    Some(NodeId::Consumer(*consumer)),
                );
            }
            Event::OffsetsCommitted { group, offsets } => {
                let past = offsets
                    .iter()
                    .find(|(topic, partition, o)| here(topic, *partition) && *o > offset);
                if let Some((_, _, o)) = past {
                    if !self.committed_by.contains(group) {
                        self.committed_by.push(group.clone());
                        self.push(
                            at,
                            StepKind::OffsetCommitted,
                            format!("group {group} commits offset {o}, past it"),
                            None,
                        );
                    }
                }
            }
            Event::LogTruncated {
                broker,
                topic,
                partition,
                from,
                to,
            } if here(topic, *partition) && *to <= offset && self.holders.contains(broker) => {
                self.holders.retain(|b| b != broker);
                self.push(
                    at,
                    StepKind::Lost,
                    format!(
                        "broker {broker} truncates its log from {from} to {to}: its copy is gone"
                    ),
                    Some(NodeId::Broker(*broker)),
                );
                self.check_lost(at);
            }
            Event::NodeStarted {
                node: NodeId::Broker(broker),
                disk_lost: true,
            } if self.holders.contains(broker) => {
                self.holders.retain(|b| b != broker);
                self.push(
                    at,
                    StepKind::Lost,
                    format!("broker {broker} restarts with an empty disk: its copy is gone"),
                    Some(NodeId::Broker(*broker)),
                );
                self.check_lost(at);
            }
            Event::LeaderElected {
                topic,
                partition,
                leader: Some(leader),
                leader_epoch,
                unclean,
                ..
            } if here(topic, *partition) && Some(*leader) != self.leader => {
                self.leader = Some(*leader);
                let has = self.holders.contains(leader);
                let how = if *unclean {
                    "unclean election"
                } else {
                    "election"
                };
                let text = if has {
                    format!(
                        "{how}: broker {leader} leads (epoch {leader_epoch}); it has the record"
                    )
                } else {
                    format!("{how}: broker {leader} leads (epoch {leader_epoch}) without the record: the others will truncate to it")
                };
                self.push(at, StepKind::Election, text, Some(NodeId::Broker(*leader)));
                if !has {
                    self.lost = true;
                    self.push(
                        at,
                        StepKind::Lost,
                        format!(
                            "lost{}: the new leader never had it",
                            if self.acked {
                                " after it was acknowledged"
                            } else {
                                ""
                            }
                        ),
                        Some(NodeId::Broker(*leader)),
                    );
                }
            }
            _ => {}
        }
    }

    fn check_lost(&mut self, at: SimTime) {
        if self.holders.is_empty() && !self.lost {
            self.lost = true;
            self.push(
                at,
                StepKind::Lost,
                format!(
                    "lost{}: no replica holds it any more",
                    if self.acked {
                        " after it was acknowledged"
                    } else {
                        ""
                    }
                ),
                None,
            );
        }
    }
}

/// The followed record in a share link: `topic/partition/offset/appended-at-µs`.
pub fn encode(follow: &Follow) -> Option<String> {
    let (topic, partition, offset) = follow.record()?;
    let at = match &follow.target {
        Target::At {
            appended_at: Some(at),
            ..
        } => *at,
        _ => follow.steps.iter().find(|s| s.kind == StepKind::Append)?.at,
    };
    Some(format!("{topic}/{partition}/{offset}/{}", at.as_us()))
}

/// Reads a followed record from a share link; the error says what is wrong.
pub fn decode(text: &str) -> Result<Target, String> {
    let parts: Vec<&str> = text.split('/').collect();
    let [topic, partition, offset, at] = parts[..] else {
        return Err(format!(
            "the followed record must be topic/partition/offset/time, not '{}'",
            text.chars().take(60).collect::<String>()
        ));
    };
    // Kafka's topic names: up to 249 of letters, digits, '.', '_' and '-'.
    if topic.is_empty()
        || topic.len() > 249
        || !topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("the followed record's topic is not a valid topic name".to_string());
    }
    let number = |what: &str, s: &str| {
        s.parse::<u64>().map_err(|_| {
            format!(
                "the followed record's {what} '{}' is not a number",
                s.chars().take(20).collect::<String>()
            )
        })
    };
    let partition = number("partition", partition)?;
    let partition = u32::try_from(partition)
        .map_err(|_| "the followed record's partition is too large".to_string())?;
    Ok(Target::At {
        topic: topic.to_string(),
        partition,
        offset: number("offset", offset)?,
        appended_at: Some(SimTime(number("time", at)?)),
        producer: None,
        picked_at: SimTime(number("time", at)?),
    })
}
