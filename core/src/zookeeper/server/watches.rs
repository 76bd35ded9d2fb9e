//! Watches (ZooKeeper's WatchManager): one-shot, set by a read on this server and fired by the
//! first committed change that triggers them; a reconnecting client sets its watches again
//! with the last zxid it saw, and hears at once of any change it missed. A server that stops
//! serving drops its clients and their watches.

use super::{ZkServer, ZkServerTimer};
use crate::ids::NodeId;
use crate::node::Ctx;
use crate::zookeeper::messages::{WatchKind, ZkError, ZkMessage, ZkOp, ZkReply, Zxid};
use crate::zookeeper::tree::WatchTrigger;

impl ZkServer {
    pub(super) fn register_watch(
        &mut self,
        client: NodeId,
        op: &ZkOp,
        result: &Result<ZkReply, ZkError>,
    ) {
        match op {
            ZkOp::GetData { path, watch: true } if result.is_ok() => {
                self.data_watches
                    .entry(path.clone())
                    .or_default()
                    .insert(client);
            }
            ZkOp::Exists { path, watch: true } => {
                self.data_watches
                    .entry(path.clone())
                    .or_default()
                    .insert(client);
            }
            ZkOp::GetChildren { path, watch: true } if result.is_ok() => {
                self.child_watches
                    .entry(path.clone())
                    .or_default()
                    .insert(client);
            }
            _ => {}
        }
    }

    pub(super) fn set_watches(
        &mut self,
        client: NodeId,
        data: Vec<String>,
        child: Vec<String>,
        last_zxid: Zxid,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        for path in data {
            let fired = match self.tree.get(&path) {
                Some(node) if node.stat.czxid > last_zxid => Some(WatchKind::NodeCreated),
                Some(node) if node.stat.mzxid > last_zxid => Some(WatchKind::NodeDataChanged),
                None if last_zxid < self.tree.last_zxid() => Some(WatchKind::NodeDeleted),
                _ => None,
            };
            match fired {
                Some(kind) => ctx.send_zk(client, ZkMessage::WatchEvent { path, kind }),
                None => {
                    self.data_watches.entry(path).or_default().insert(client);
                }
            }
        }
        for path in child {
            match self.tree.get(&path) {
                Some(node) if node.stat.pzxid > last_zxid => ctx.send_zk(
                    client,
                    ZkMessage::WatchEvent {
                        path,
                        kind: WatchKind::NodeChildrenChanged,
                    },
                ),
                None => ctx.send_zk(
                    client,
                    ZkMessage::WatchEvent {
                        path,
                        kind: WatchKind::NodeDeleted,
                    },
                ),
                Some(_) => {
                    self.child_watches.entry(path).or_default().insert(client);
                }
            }
        }
    }

    pub(super) fn fire_watches(
        &mut self,
        triggers: &[WatchTrigger],
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        for (path, kind) in triggers {
            let watchers = match kind {
                WatchKind::NodeChildrenChanged => self.child_watches.remove(path),
                WatchKind::NodeDeleted => {
                    let mut w = self.data_watches.remove(path).unwrap_or_default();
                    w.extend(self.child_watches.remove(path).unwrap_or_default());
                    Some(w)
                }
                _ => self.data_watches.remove(path),
            };
            for client in watchers.into_iter().flatten() {
                ctx.send_zk(
                    client,
                    ZkMessage::WatchEvent {
                        path: path.clone(),
                        kind: *kind,
                    },
                );
            }
        }
    }

    pub(super) fn close_client_connections(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        for client in std::mem::take(&mut self.clients).into_keys() {
            ctx.send_zk(client, ZkMessage::ConnectionClosed);
        }
        self.data_watches.clear();
        self.child_watches.clear();
    }
}
