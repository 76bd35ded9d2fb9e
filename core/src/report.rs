//! The report of a run: what was produced, acknowledged, lost, consumed and duplicated, how
//! leadership moved, latencies, and any invariant violated.

use crate::delivery::ReaderReport;
use crate::histogram::Histogram;
use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicName};
pub use crate::invariants::acked_records_survive::LostRecord;
use crate::invariants::Violation;
use crate::sim::Sim;
use serde::Serialize;

/// Latency quantiles from histograms of 8 buckets per power of two: each figure is a bucket,
/// the true value at least `…_at_least` and below `…_below` (at most 12.5 % apart), and says
/// so in its name rather than passing a bucket bound off as exact.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    #[serde(rename = "produce_to_ack_p50_ms_at_least")]
    pub produce_to_ack_p50_ms: Option<f64>,
    pub produce_to_ack_p50_ms_below: Option<f64>,
    #[serde(rename = "produce_to_ack_p99_ms_at_least")]
    pub produce_to_ack_p99_ms: Option<f64>,
    pub produce_to_ack_p99_ms_below: Option<f64>,
    #[serde(rename = "end_to_end_p50_ms_at_least")]
    pub end_to_end_p50_ms: Option<f64>,
    pub end_to_end_p50_ms_below: Option<f64>,
    #[serde(rename = "end_to_end_p99_ms_at_least")]
    pub end_to_end_p99_ms: Option<f64>,
    pub end_to_end_p99_ms_below: Option<f64>,
}

impl Latency {
    pub fn from_histograms(ack: &Histogram, e2e: &Histogram) -> Latency {
        let ms = |h: &Histogram, q| {
            h.quantile_bucket(q)
                .map(|(low, high)| (low as f64 / 1_000.0, high as f64 / 1_000.0))
        };
        let (ack50, ack99, e2e50, e2e99) =
            (ms(ack, 0.5), ms(ack, 0.99), ms(e2e, 0.5), ms(e2e, 0.99));
        Latency {
            produce_to_ack_p50_ms: ack50.map(|b| b.0),
            produce_to_ack_p50_ms_below: ack50.map(|b| b.1),
            produce_to_ack_p99_ms: ack99.map(|b| b.0),
            produce_to_ack_p99_ms_below: ack99.map(|b| b.1),
            end_to_end_p50_ms: e2e50.map(|b| b.0),
            end_to_end_p50_ms_below: e2e50.map(|b| b.1),
            end_to_end_p99_ms: e2e99.map(|b| b.0),
            end_to_end_p99_ms_below: e2e99.map(|b| b.1),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionReport {
    pub topic: TopicName,
    pub partition: u32,
    pub leader: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
    pub high_watermark: Offset,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub seed: u64,
    pub sim_seconds: f64,
    pub produced: u64,
    pub acked: u64,
    /// Acknowledged records lost: missing from the log of a leader elected after their
    /// acknowledgement (each election checks), or from the final log.
    pub acked_lost: u64,
    /// Lost acknowledged records per acks setting ("0", "1", "all").
    pub acked_lost_by_acks: crate::vec_map::VecMap<&'static str, u64>,
    /// Up to 10 lost records per acks setting, each with why it could be lost.
    pub acked_lost_examples: Vec<LostRecord>,
    pub failed: u64,
    pub retries: u64,
    /// Records consumer applications finished processing.
    pub consumed: u64,
    /// Records a reader (group or group-less consumer) processed more than once.
    pub duplicates_consumed: u64,
    /// Records a group committed past without ever processing (at-most-once after a crash).
    pub lost_by_consumers: u64,
    /// Per group (or group-less consumer): processed, duplicates, lost, committed offsets, lag.
    pub readers: Vec<ReaderReport>,
    /// Per exactly-once application: its input against its committed output.
    pub exactly_once: Vec<ExactlyOnceReport>,
    /// Records that appear more than once in a final log (retries without idempotence).
    pub duplicates_in_log: u64,
    pub leader_changes: u64,
    pub unclean_elections: u64,
    pub controller_elections: u64,
    pub zookeeper_elections: u64,
    pub messages_sent: u64,
    pub messages_dropped: u64,
    pub latency: Latency,
    pub partitions: Vec<PartitionReport>,
    pub violations: Vec<Violation>,
    /// FNV-1a over the whole trace, as 16 hex digits (a JSON number would lose bits in JS).
    pub trace_hash: String,
}

/// An exactly-once application checked against the logs: every input record below the
/// group's committed offsets must appear exactly once among the output topic's committed
/// records (what a `read_committed` consumer sees).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExactlyOnceReport {
    pub group: String,
    pub input_topic: TopicName,
    pub output_topic: TopicName,
    /// Input records below the group's committed offsets.
    pub input_records: u64,
    /// Records of committed transactions (and non-transactional records) in the output.
    pub output_records: u64,
    /// Extra copies of input records in the committed output.
    pub duplicates: u64,
    /// Input records below the committed offsets missing from the committed output.
    pub missing: u64,
    /// Output records of aborted transactions: in the log, invisible to `read_committed`.
    pub aborted_records: u64,
    /// Output records of transactions still open when the report was taken.
    pub open_records: u64,
}

impl Sim {
    /// The report of the run so far.
    pub fn report(&self) -> Report {
        Report::of(self)
    }
}

impl Report {
    /// A partition's final log: the leader's, or for an offline partition the longest replica.
    fn final_log<'a>(
        sim: &'a Sim,
        tp: &crate::ids::TopicPartition,
    ) -> Option<&'a crate::log::PartitionLog> {
        let leader = sim.partition_state(&tp.topic, tp.partition)?.0;
        let brokers = sim.brokers_and_disks();
        leader.and_then(|l| brokers.log(l, tp)).or_else(|| {
            (1..=sim.scenario().cluster.brokers)
                .filter_map(|b| brokers.log(crate::ids::BrokerId(b), tp))
                .max_by_key(|l| l.log_end_offset())
        })
    }

    fn exactly_once_reports(sim: &Sim, readers: &[ReaderReport]) -> Vec<ExactlyOnceReport> {
        use crate::vec_map::{VecMap, VecSet};
        let apps: VecSet<(String, String, String)> = sim
            .scenario()
            .consumers
            .iter()
            .filter(|c| c.commit == crate::scenario::CommitMode::Transactional)
            .filter_map(|c| {
                Some((
                    c.config.group_id.clone()?,
                    c.topic.clone(),
                    c.output_topic.clone()?,
                ))
            })
            .collect();
        let topics = sim.topics();
        apps.into_iter()
            .map(|(group, input, output)| {
                let reader = crate::delivery::reader_name(Some(&group), 0);
                let committed = readers
                    .iter()
                    .find(|r| r.reader == reader)
                    .map(|r| r.committed.clone())
                    .unwrap_or_default();
                let mut inputs: VecSet<u64> = VecSet::new();
                for (topic, p, offset) in committed.iter().filter(|(t, _, _)| **t == *input) {
                    let tp = crate::ids::TopicPartition::new(topic, *p);
                    if let Some(log) = Report::final_log(sim, &tp) {
                        inputs.extend(log.records_below(*offset).into_iter().map(|(_, id)| id));
                    }
                }
                let mut counts: VecMap<u64, u64> = VecMap::new();
                let (mut aborted, mut open) = (0u64, 0u64);
                let out_name: TopicName = output.as_str().into();
                for p in 0..topics.get(&out_name).copied().unwrap_or(0) {
                    let tp = crate::ids::TopicPartition::new(&out_name, p);
                    let Some(log) = Report::final_log(sim, &tp) else {
                        continue;
                    };
                    let mut pending: VecMap<i64, Vec<u64>> = VecMap::new();
                    log.for_each_batch(log.log_start_offset(), u64::MAX, |b| {
                        let pid = b.header.producer_id;
                        match b.marker_commits() {
                            Some(commit) => {
                                let ids = pending.remove(&pid).unwrap_or_default();
                                if commit {
                                    for id in ids {
                                        *counts.entry(id).or_default() += 1;
                                    }
                                } else {
                                    aborted += ids.len() as u64;
                                }
                            }
                            None if b.header.is_transactional => {
                                pending
                                    .entry(pid)
                                    .or_default()
                                    .extend(b.iter().map(|r| r.record_id));
                            }
                            None => {
                                for r in b.iter() {
                                    *counts.entry(r.record_id).or_default() += 1;
                                }
                            }
                        }
                        true
                    });
                    open += pending.values().map(|v| v.len() as u64).sum::<u64>();
                }
                ExactlyOnceReport {
                    group,
                    input_topic: input.as_str().into(),
                    output_topic: out_name,
                    input_records: inputs.len() as u64,
                    output_records: counts.values().sum(),
                    duplicates: counts.values().map(|c| c.saturating_sub(1)).sum(),
                    missing: inputs.iter().filter(|id| !counts.contains_key(id)).count() as u64,
                    aborted_records: aborted,
                    open_records: open,
                }
            })
            .collect()
    }

    /// Every live client's latencies so far, in µs: (produce → ack, produce → consumed).
    /// The UI charts a window by subtracting an earlier copy ([`Histogram::since`]).
    pub fn latency_histograms(sim: &Sim) -> (Histogram, Histogram) {
        let mut ack_latency = Histogram::default();
        let mut e2e = Histogram::default();
        for p in sim.producers() {
            ack_latency.merge(&p.stats.ack_latency_us);
        }
        for c in sim.consumers() {
            e2e.merge(&c.stats.end_to_end_latency_us);
        }
        (ack_latency, e2e)
    }

    /// The report of the run so far.
    pub fn of(sim: &Sim) -> Report {
        use crate::invariants::acked_records_survive::loss_reason;
        use crate::vec_map::VecSet;
        let (ack_latency, e2e) = Report::latency_histograms(sim);
        let (mut produced, mut acked, mut failed, mut retries) = (0, 0, 0, 0);
        for p in sim.producers() {
            produced += p.stats.produced;
            acked += p.stats.acked;
            failed += p.stats.failed;
            retries += p.stats.retries;
        }
        let mut readers = sim.delivery().reports();
        let consumed = readers.iter().map(|r| r.processed).sum();
        let duplicates_consumed = sim.delivery().duplicates();
        let lost_by_consumers = readers.iter().map(|r| r.lost).sum();
        let mut partitions = Vec::new();
        let mut losses = sim.acked_records().lost.clone();
        let any_non_idempotent = sim.producers().any(|p| !p.config.idempotence());
        let mut duplicates_in_log = 0;
        for (topic, count) in sim.topics() {
            // Internal topics (__consumer_offsets) are the groups' business: see `readers`.
            if topic.starts_with("__") {
                continue;
            }
            for p in 0..count {
                let tp = crate::ids::TopicPartition::new(&topic, p);
                let (leader, leader_epoch, isr) =
                    sim.partition_state(&topic, p)
                        .unwrap_or((None, 0, Vec::new()));
                let Some(log) = Report::final_log(sim, &tp) else {
                    continue;
                };
                partitions.push(PartitionReport {
                    topic: topic.clone(),
                    partition: p,
                    leader,
                    leader_epoch,
                    isr,
                    log_start_offset: log.log_start_offset(),
                    log_end_offset: log.log_end_offset(),
                    high_watermark: log.high_watermark(),
                });
                // Duplicates only come from producers without idempotence retrying.
                if any_non_idempotent {
                    let mut ids = VecSet::new();
                    for (_, id) in log.records_below(log.log_end_offset()) {
                        if !ids.insert(id) {
                            duplicates_in_log += 1;
                        }
                    }
                }
                // Elections already moved what their new leaders lacked into `lost`, and the
                // ledger placed every other acknowledgement it could: check the rest.
                let ledger = &sim.acked_records();
                let tainted = ledger.tainted.get(&tp);
                let mut ids = None;
                for b in ledger.acked.get(&tp).iter().flat_map(|l| &l.unchecked) {
                    let why = loss_reason(tainted, b.acks);
                    losses.add_missing(&tp, b, log, &mut ids, &why);
                }
            }
        }
        for r in &mut readers {
            r.lag = r
                .committed
                .iter()
                .filter_map(|(t, p, c)| {
                    let part = partitions
                        .iter()
                        .find(|x| x.topic == *t && x.partition == *p)?;
                    Some(part.high_watermark.saturating_sub(*c))
                })
                .sum();
        }
        Report {
            seed: sim.scenario().seed,
            sim_seconds: sim.now().as_secs_f64(),
            produced,
            acked,
            acked_lost: losses.total(),
            acked_lost_by_acks: losses.by_acks,
            acked_lost_examples: losses.examples,
            failed,
            retries,
            consumed,
            duplicates_consumed,
            lost_by_consumers,
            exactly_once: Report::exactly_once_reports(sim, &readers),
            readers,
            duplicates_in_log,
            leader_changes: sim.counters().leader_changes,
            unclean_elections: sim.counters().unclean_elections,
            controller_elections: sim.counters().controller_elections,
            zookeeper_elections: sim.counters().zookeeper_elections,
            messages_sent: sim.counters().messages_sent,
            messages_dropped: sim.counters().messages_dropped,
            latency: Latency::from_histograms(&ack_latency, &e2e),
            partitions,
            violations: sim.violations().to_vec(),
            trace_hash: format!("{:016x}", sim.trace_hash()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantile_bucket_holds_the_true_value() {
        for v in [
            0u64, 7, 15, 16, 17, 1_023, 1_024, 1_100, 16_777_216, 20_000_000,
        ] {
            let mut h = Histogram::default();
            h.record(v);
            let (low, high) = h.quantile_bucket(0.5).unwrap();
            assert!(low <= v && v < high, "{v} in [{low}, {high})");
            assert!(
                high - low <= low / 8 + 1,
                "{v}: [{low}, {high}) is at most 12.5 % wide"
            );
        }
        let latency = Latency::from_histograms(&Histogram::default(), &Histogram::default());
        let json = serde_json::to_value(&latency).unwrap();
        assert!(json.get("end_to_end_p99_ms_at_least").is_some(), "{json}");
        assert!(json.get("end_to_end_p99_ms_below").is_some(), "{json}");
    }
}
