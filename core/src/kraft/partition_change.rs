//! Kafka's `PartitionChangeBuilder` with Eligible Leader Replicas on (KIP-966 part 1, the
//! default of a new 4.1 cluster): from a partition, its target ISR and an election kind, the
//! PartitionChange record (if anything changes). The last known leader is kept in
//! `LastKnownElr` (`useLastKnownLeaderInBalancedRecovery`, on in Kafka).

use super::image::PartitionRegistration;
use crate::raft::log::{MetadataRecord, NO_LEADER, NO_LEADER_CHANGE};

/// `PartitionChangeBuilder.Election`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Election {
    /// The first replica if it is a valid leader.
    Preferred,
    /// A valid leader: in the ISR, or in the ELR when the ISR is empty.
    Online,
    /// As `Online`, else any acceptable replica (`unclean.leader.election.enable`).
    Unclean,
}

/// One change to build.
#[derive(Debug)]
pub struct PartitionChange<'a> {
    pub partition: &'a PartitionRegistration,
    pub topic_id: u128,
    pub partition_id: u32,
    pub target_isr: Vec<u32>,
    pub election: Election,
    /// `min.insync.replicas`, capped by the replication factor (`getTopicEffectiveMinIsr`).
    pub min_isr: usize,
    /// A replica that re-registered after an unclean shutdown: it leaves the ELR.
    pub unclean_shutdown: Option<u32>,
}

impl PartitionChange<'_> {
    /// `PartitionChangeBuilder.build`: `None` when the record would change nothing.
    pub fn build(mut self, acceptable: impl Fn(u32) -> bool) -> Option<MetadataRecord> {
        let p = self.partition;
        let mut elr = self.target_elr();
        let (leader, unclean) = self.elect(&elr, &acceptable);
        let mut record_leader = NO_LEADER_CHANGE;
        let mut record_isr = None;
        if leader != p.leader {
            if let Ok(l) = u32::try_from(leader) {
                if elr.contains(&l) {
                    self.target_isr = vec![l];
                    elr.retain(|r| *r != l);
                } else if unclean {
                    // May lose records: the new leader's log is all there is.
                    record_isr = Some(vec![l]);
                }
            }
            record_leader = leader;
        }
        // `maybeUpdateRecordElr`: an unclean election clears the ELR.
        if record_isr.is_some() {
            elr.clear();
        }
        let record_elr = (elr != p.elr).then_some(elr);
        if record_isr.is_none() && self.target_isr != p.isr {
            record_isr = Some(self.target_isr.clone());
        }
        let record_lke = self.last_known_leader(record_leader, record_isr.as_deref());
        if record_isr.is_none()
            && record_elr.is_none()
            && record_lke.is_none()
            && record_leader == NO_LEADER_CHANGE
        {
            return None;
        }
        Some(MetadataRecord::PartitionChange {
            partition_id: self.partition_id,
            topic_id: self.topic_id,
            isr: record_isr,
            leader: record_leader,
            replicas: None,
            eligible_leader_replicas: record_elr,
            last_known_elr: record_lke,
        })
    }

    /// `maybePopulateTargetElr`: at or above min ISR no ELR; below it, whoever was in the
    /// ELR or the ISR and is not in the new ISR, unless it shut down uncleanly (its log may
    /// miss committed records). (Kafka also works out the former members outside both, but
    /// with the last known leader kept in LastKnownElr it never writes them.)
    fn target_elr(&self) -> Vec<u32> {
        let p = self.partition;
        if self.target_isr.len() >= self.min_isr {
            return Vec::new();
        }
        let mut elr: Vec<u32> = p
            .elr
            .iter()
            .chain(&p.isr)
            .copied()
            .filter(|r| !self.target_isr.contains(r) && Some(*r) != self.unclean_shutdown)
            .collect();
        elr.sort_unstable();
        elr.dedup();
        elr
    }

    /// `electLeader`: the current leader if still valid, else the first valid replica, else
    /// the last known leader if it is acceptable, else (unclean) any acceptable replica.
    /// Returns the leader (or [`NO_LEADER`]) and whether the election was unclean.
    fn elect(&self, elr: &[u32], acceptable: &impl Fn(u32) -> bool) -> (i32, bool) {
        let p = self.partition;
        let isr = &self.target_isr;
        let valid =
            |r: u32| (isr.contains(&r) || (isr.is_empty() && elr.contains(&r))) && acceptable(r);
        let current = u32::try_from(p.leader).ok().filter(|l| valid(*l));
        let preferred = p.replicas.first().copied().filter(|r| valid(*r));
        let clean = match self.election {
            Election::Preferred => preferred.or(current),
            Election::Online | Election::Unclean => current,
        }
        .or_else(|| p.replicas.iter().copied().find(|r| valid(*r)));
        if let Some(l) = clean {
            return (l as i32, false);
        }
        // `canElectLastKnownLeader`: nobody in the ISR or ELR, one last known leader.
        if isr.is_empty() && elr.is_empty() {
            if let [l] = p.last_known_elr[..] {
                if acceptable(l) {
                    return (l as i32, true);
                }
            }
        }
        if self.election == Election::Unclean {
            if let Some(l) = p.replicas.iter().copied().find(|r| acceptable(*r)) {
                return (l as i32, true);
            }
        }
        (NO_LEADER, false)
    }

    /// `maybeUpdateLastKnownLeader`: the leader is remembered when the ISR first empties,
    /// and forgotten once the partition has a leader again.
    fn last_known_leader(&self, leader: i32, isr: Option<&[u32]>) -> Option<Vec<u32>> {
        let p = self.partition;
        let remembered = p.last_known_elr.len() == 1 && p.last_known_elr[0] as i32 == p.leader;
        if isr.is_some_and(|i| i.is_empty()) && !remembered {
            return u32::try_from(p.leader).ok().map(|l| vec![l]);
        }
        let led = leader >= 0 || (p.leader != NO_LEADER && leader != NO_LEADER);
        (led && !p.last_known_elr.is_empty()).then(Vec::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(isr: &[u32], elr: &[u32], lke: &[u32], leader: i32) -> PartitionRegistration {
        PartitionRegistration {
            replicas: vec![1, 2, 3],
            isr: isr.to_vec(),
            leader,
            leader_epoch: 0,
            partition_epoch: 0,
            elr: elr.to_vec(),
            last_known_elr: lke.to_vec(),
        }
    }

    /// A PartitionChange's leader, ISR, ELR and LastKnownElr.
    type Fields = (i32, Option<Vec<u32>>, Option<Vec<u32>>, Option<Vec<u32>>);

    /// The record when broker 1 leaves the ISR and only `live` brokers may lead.
    fn leave_1(p: &PartitionRegistration, live: &[u32]) -> Fields {
        let change = PartitionChange {
            partition: p,
            topic_id: 1,
            partition_id: 0,
            target_isr: p.isr.iter().copied().filter(|b| *b != 1).collect(),
            election: Election::Online,
            min_isr: 2,
            unclean_shutdown: None,
        };
        match change.build(|r| live.contains(&r)) {
            Some(MetadataRecord::PartitionChange {
                leader,
                isr,
                eligible_leader_replicas,
                last_known_elr,
                ..
            }) => (leader, isr, eligible_leader_replicas, last_known_elr),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_isr_member_leads_first() {
        // ISR {1, 2} shrinks to {2}: 1 joins the ELR, 2 leads.
        let p = partition(&[1, 2], &[], &[], 1);
        let elr = Some(vec![1]);
        assert_eq!(leave_1(&p, &[2, 3]), (2, Some(vec![2]), elr, None));
    }

    #[test]
    fn an_unfenced_elr_member_leads_when_the_isr_empties() {
        // ISR {1}, ELR {2, 3} with 2 fenced: 3 leads, the ISR is {3}, 1 joins the ELR.
        let p = partition(&[1], &[2, 3], &[], 1);
        let got = leave_1(&p, &[3]);
        assert_eq!(got, (3, Some(vec![3]), Some(vec![1, 2]), None));
    }

    #[test]
    fn the_last_known_leader_leads_only_with_isr_and_elr_empty() {
        // Nobody acceptable: no leader, the last leader remembered.
        let p = partition(&[1], &[], &[], 1);
        assert_eq!(
            leave_1(&p, &[]),
            (NO_LEADER, Some(vec![]), Some(vec![1]), Some(vec![1]))
        );
        // ISR and ELR empty: the last known leader leads (unclean: ISR is just it).
        let p = partition(&[], &[], &[1], NO_LEADER);
        let change = PartitionChange {
            partition: &p,
            topic_id: 1,
            partition_id: 0,
            target_isr: Vec::new(),
            election: Election::Online,
            min_isr: 2,
            unclean_shutdown: None,
        };
        let record = change.build(|_| true);
        assert!(matches!(
            record,
            Some(MetadataRecord::PartitionChange { leader: 1, isr: Some(ref i), last_known_elr: Some(ref l), .. }) if i == &[1] && l.is_empty()
        ));
    }

    #[test]
    fn an_unclean_election_clears_the_elr() {
        let p = partition(&[], &[2], &[1], NO_LEADER);
        let change = PartitionChange {
            partition: &p,
            topic_id: 1,
            partition_id: 0,
            target_isr: Vec::new(),
            election: Election::Unclean,
            min_isr: 2,
            unclean_shutdown: None,
        };
        // 2 (ELR) is fenced, so is 1 (last known leader): 3 leads, unclean.
        let record = change.build(|r| r == 3);
        assert!(matches!(
            record,
            Some(MetadataRecord::PartitionChange { leader: 3, isr: Some(ref i), eligible_leader_replicas: Some(ref e), .. }) if i == &[3] && e.is_empty()
        ));
    }

    #[test]
    fn reaching_min_isr_clears_the_elr_and_an_unclean_shutdown_leaves_it() {
        let p = partition(&[2], &[1, 3], &[], 2);
        let mut change = PartitionChange {
            partition: &p,
            topic_id: 1,
            partition_id: 0,
            target_isr: vec![2, 3],
            election: Election::Online,
            min_isr: 2,
            unclean_shutdown: None,
        };
        let record = change.build(|_| true);
        assert!(
            matches!(record, Some(MetadataRecord::PartitionChange { eligible_leader_replicas: Some(ref e), .. }) if e.is_empty())
        );
        change = PartitionChange {
            partition: &p,
            topic_id: 1,
            partition_id: 0,
            target_isr: vec![2],
            election: Election::Online,
            min_isr: 2,
            unclean_shutdown: Some(3),
        };
        let record = change.build(|_| true);
        assert!(
            matches!(record, Some(MetadataRecord::PartitionChange { eligible_leader_replicas: Some(ref e), .. }) if e == &[1])
        );
    }
}
