//! At most one leader per partition per leader epoch: the controller never names two, and no
//! two live brokers act as leader in the same epoch.

use super::World;
use crate::ids::{BrokerId, LeaderEpoch, TopicPartition};
use crate::trace::Event;
use crate::vec_map::VecMap;

pub const NAME: &str = "one_leader_per_epoch";

#[derive(Debug, Default)]
pub struct OneLeaderPerEpoch {
    chosen: VecMap<(TopicPartition, LeaderEpoch), Option<BrokerId>>,
}

impl OneLeaderPerEpoch {
    pub fn observe(&mut self, event: &Event) -> Option<String> {
        let Event::LeaderElected {
            topic,
            partition,
            leader,
            leader_epoch,
            ..
        } = event
        else {
            return None;
        };
        let key = (TopicPartition::new(topic, *partition), *leader_epoch);
        match self.chosen.insert(key, *leader) {
            Some(before) if before != *leader => Some(format!(
                "{topic}-{partition} epoch {leader_epoch}: leader {before:?} and then {leader:?}"
            )),
            _ => None,
        }
    }
}

pub fn check_live_leaders(world: &dyn World) -> Option<String> {
    let mut leaders: VecMap<(TopicPartition, LeaderEpoch), BrokerId> = VecMap::new();
    for (broker, replica) in world.live_replicas() {
        if !replica.is_leader() {
            continue;
        }
        if let Some(other) = leaders.insert((replica.tp.clone(), replica.leader_epoch), broker) {
            return Some(format!(
                "{} epoch {}: brokers {other} and {broker} both lead",
                replica.tp, replica.leader_epoch
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elected(leader: u32) -> Event {
        Event::LeaderElected {
            topic: "t".into(),
            partition: 0,
            leader: Some(BrokerId(leader)),
            leader_epoch: 3,
            isr: vec![],
            unclean: false,
        }
    }

    #[test]
    fn two_leaders_in_one_epoch_are_caught() {
        let mut check = OneLeaderPerEpoch::default();
        assert_eq!(check.observe(&elected(1)), None);
        assert_eq!(
            check.observe(&elected(1)),
            None,
            "the same decision twice is fine"
        );
        assert!(check.observe(&elected(2)).is_some());
    }

    #[test]
    fn two_live_brokers_leading_the_same_epoch_are_caught() {
        use super::super::test_world::{leader_with, tp, TestWorld};
        let mut world = TestWorld::default();
        for b in [1, 2] {
            world.replicas.insert((BrokerId(b), tp()), leader_with(1));
        }
        assert!(check_live_leaders(&world).is_some());
    }
}
