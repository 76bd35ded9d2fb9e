//! KRaft: one quorum leader per epoch. A voter grants one vote per epoch and a leader needs a
//! majority, so two voters can never both lead the same epoch (KIP-595).

use crate::trace::Event;
use crate::vec_map::VecMap;

pub const NAME: &str = "one_quorum_leader_per_epoch";

#[derive(Debug, Default)]
pub struct OneQuorumLeaderPerEpoch {
    by_epoch: VecMap<u32, u32>,
}

impl OneQuorumLeaderPerEpoch {
    pub fn observe(&mut self, event: &Event) -> Option<String> {
        let Event::QuorumLeaderElected { node, epoch } = event else {
            return None;
        };
        match self.by_epoch.insert(*epoch, *node) {
            Some(before) if before != *node => Some(format!(
                "quorum epoch {epoch}: controller {before} and controller {node} both lead"
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_leaders_in_one_epoch_are_caught() {
        let mut check = OneQuorumLeaderPerEpoch::default();
        let elected = |node, epoch| Event::QuorumLeaderElected { node, epoch };
        assert_eq!(check.observe(&elected(3000, 1)), None);
        assert_eq!(check.observe(&elected(3001, 2)), None);
        assert_eq!(check.observe(&elected(3001, 2)), None);
        assert!(check.observe(&elected(3002, 2)).is_some());
    }
}
