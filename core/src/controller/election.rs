//! Becoming controller (`KafkaController.elect`): the broker that created `/controller` bumps
//! `/controller_epoch` and takes its version as the fence for every later write, so a deposed
//! controller's writes fail once a successor has bumped it.

use super::{Controller, ControllerTag, ControllerTimer, Ops};
use crate::node::Ctx;
use crate::trace::Event;
use crate::zookeeper::messages::{ZkError, ZkOp, ZkReply};
use crate::zookeeper::paths;

/// Requests about `/controller_epoch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EpochTag {
    Read,
    /// Bump it to `epoch`, if no one else has since it was read.
    Write {
        epoch: u32,
    },
    /// The first controller of a cluster creates it.
    Create,
    /// A fenced write failed: is the epoch still ours?
    Verify,
}

impl Controller {
    /// Just won `/controller`: bump the controller epoch first.
    pub fn begin_failover(&mut self, ops: &mut Ops) {
        ops.push((
            ZkOp::GetData {
                path: paths::CONTROLLER_EPOCH.into(),
                watch: false,
            },
            ControllerTag::Epoch(EpochTag::Read),
        ));
    }

    pub(super) fn fenced(&self, op: ZkOp) -> ZkOp {
        ZkOp::Multi(vec![
            ZkOp::Check {
                path: paths::CONTROLLER_EPOCH.into(),
                version: self.epoch_zk_version,
            },
            op,
        ])
    }

    /// A fenced write failed its check: read the epoch, to resign if a successor bumped it.
    pub(super) fn verify_epoch(&self, ops: &mut Ops) {
        ops.push((
            ZkOp::GetData {
                path: paths::CONTROLLER_EPOCH.into(),
                watch: false,
            },
            ControllerTag::Epoch(EpochTag::Verify),
        ));
    }

    /// Returns true if this broker must stop being controller.
    pub(super) fn on_epoch_response(
        &mut self,
        tag: EpochTag,
        result: Result<ZkReply, ZkError>,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) -> bool {
        match tag {
            EpochTag::Read => match result {
                Ok(ZkReply::Data { data, stat }) => {
                    let epoch = data.trim().parse::<u32>().unwrap_or(0) + 1;
                    ops.push((
                        ZkOp::SetData {
                            path: paths::CONTROLLER_EPOCH.into(),
                            data: epoch.to_string(),
                            version: Some(stat.version),
                        },
                        ControllerTag::Epoch(EpochTag::Write { epoch }),
                    ));
                }
                Err(ZkError::NoNode) => ops.push((
                    ZkOp::Create {
                        path: paths::CONTROLLER_EPOCH.into(),
                        data: "1".into(),
                        ephemeral: false,
                    },
                    ControllerTag::Epoch(EpochTag::Create),
                )),
                _ => return true,
            },
            EpochTag::Create => match result {
                Ok(_) => self.on_epoch(1, 0, ops, ctx),
                Err(_) => return true,
            },
            EpochTag::Write { epoch } => match result {
                Ok(ZkReply::Stat(stat)) => self.on_epoch(epoch, stat.version, ops, ctx),
                _ => return true,
            },
            EpochTag::Verify => {
                let still_ours = matches!(&result, Ok(ZkReply::Data { data, .. }) if data.trim() == self.epoch.to_string());
                if !still_ours {
                    return true;
                }
            }
        }
        false
    }

    /// The epoch is ours, at `version` of `/controller_epoch`: load the cluster.
    fn on_epoch(
        &mut self,
        epoch: u32,
        version: i32,
        ops: &mut Ops,
        ctx: &mut Ctx<'_, ControllerTimer>,
    ) {
        self.epoch = epoch;
        self.epoch_zk_version = version;
        ctx.trace(Event::ControllerElected {
            broker: self.me,
            epoch,
        });
        self.begin_loading(ops);
    }
}
