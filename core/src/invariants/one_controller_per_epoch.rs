//! One controller per controller epoch: `/controller_epoch` is bumped with a version check, so
//! two brokers can never both win the same epoch.

use crate::ids::BrokerId;
use crate::trace::Event;
use crate::vec_map::VecMap;

pub const NAME: &str = "one_controller_per_epoch";

#[derive(Debug, Default)]
pub struct OneControllerPerEpoch {
    by_epoch: VecMap<u32, BrokerId>,
}

impl OneControllerPerEpoch {
    pub fn observe(&mut self, event: &Event) -> Option<String> {
        let Event::ControllerElected { broker, epoch } = event else {
            return None;
        };
        match self.by_epoch.insert(*epoch, *broker) {
            Some(before) if before != *broker => Some(format!(
                "controller epoch {epoch}: broker {before} and broker {broker}"
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_controllers_in_one_epoch_are_caught() {
        let mut check = OneControllerPerEpoch::default();
        assert_eq!(
            check.observe(&Event::ControllerElected {
                broker: BrokerId(1),
                epoch: 1
            }),
            None
        );
        assert_eq!(
            check.observe(&Event::ControllerElected {
                broker: BrokerId(2),
                epoch: 2
            }),
            None
        );
        assert!(check
            .observe(&Event::ControllerElected {
                broker: BrokerId(3),
                epoch: 2
            })
            .is_some());
    }
}
