//! The HW never passes the LEO of any in-sync replica: a leader's HW is at most its own LEO and
//! every ISR follower's LEO it knows; a follower's HW is at most its own LEO. (A new leader
//! knows no follower's LEO until that follower fetches: Kafka's `UnknownOffset`.)

use super::World;
use crate::broker::replica::{Replica, Role};
use crate::ids::{BrokerId, TopicPartition};
use crate::trace::Event;

pub const NAME: &str = "high_watermark_bound";

pub fn observe(event: &Event, world: &dyn World) -> Option<String> {
    let Event::HighWatermarkAdvanced {
        broker,
        topic,
        partition,
        ..
    } = event
    else {
        return None;
    };
    let replica = world.replica(*broker, &TopicPartition::new(topic, *partition))?;
    check_replica(*broker, replica)
}

pub fn check_replica(broker: BrokerId, replica: &Replica) -> Option<String> {
    let hw = replica.log.high_watermark();
    let leo = replica.log.log_end_offset();
    if hw > leo {
        return Some(format!(
            "broker {broker} {}: HW {hw} > own LEO {leo}",
            replica.tp
        ));
    }
    if let Role::Leader { followers } = &replica.role {
        for member in replica.isr.iter().filter(|b| **b != broker) {
            let Some(follower_leo) = followers.get(member).and_then(|f| f.log_end_offset) else {
                continue;
            };
            if hw > follower_leo {
                return Some(format!(
                    "broker {broker} {}: HW {hw} > ISR member {member}'s LEO {follower_leo}",
                    replica.tp
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_world::{log_with, tp};
    use super::*;
    use crate::broker::replica::FollowerProgress;
    use crate::time::SimTime;

    #[test]
    fn hw_above_an_isr_members_leo_is_caught() {
        let mut r = Replica::new(tp(), log_with(3));
        r.isr = vec![BrokerId(1), BrokerId(2)];
        let progress = FollowerProgress {
            log_end_offset: Some(2),
            last_caught_up: SimTime::ZERO,
            last_fetch: SimTime::ZERO,
            leader_leo_at_last_fetch: 0,
        };
        r.role = Role::Leader {
            followers: [(BrokerId(2), progress)].into(),
        };
        r.log.set_high_watermark(2);
        assert_eq!(check_replica(BrokerId(1), &r), None);
        r.log.set_high_watermark(6);
        assert!(check_replica(BrokerId(1), &r).is_some());
        // A new leader does not know a follower's LEO until it fetches: nothing to compare.
        if let Role::Leader { followers } = &mut r.role {
            followers
                .get_mut(&BrokerId(2))
                .expect("follower")
                .log_end_offset = None;
        }
        assert_eq!(check_replica(BrokerId(1), &r), None);
    }
}
