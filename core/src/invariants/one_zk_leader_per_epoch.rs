//! At most one ZooKeeper leader per epoch: a leader is established only with a quorum that
//! accepted its new epoch, and two quorums always overlap.

use crate::trace::Event;
use crate::vec_map::VecMap;

pub const NAME: &str = "one_zk_leader_per_epoch";

#[derive(Debug, Default)]
pub struct OneZkLeaderPerEpoch {
    by_epoch: VecMap<u32, u32>,
}

impl OneZkLeaderPerEpoch {
    pub fn observe(&mut self, event: &Event) -> Option<String> {
        let Event::ZkLeaderElected { server, epoch } = event else {
            return None;
        };
        match self.by_epoch.insert(*epoch, *server) {
            Some(before) if before != *server => Some(format!(
                "ZooKeeper epoch {epoch}: server {before} and server {server}"
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_zookeeper_leaders_in_one_epoch_are_caught() {
        let mut check = OneZkLeaderPerEpoch::default();
        assert_eq!(
            check.observe(&Event::ZkLeaderElected {
                server: 1,
                epoch: 1
            }),
            None
        );
        assert!(check
            .observe(&Event::ZkLeaderElected {
                server: 2,
                epoch: 1
            })
            .is_some());
    }
}
