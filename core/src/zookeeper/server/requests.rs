//! Client requests (ZooKeeper's request processors as a client sees them): a server that is
//! not serving closes the connection; reads are answered from the server's own tree (and may
//! set a watch); writes, and sessions' creation and close, go to the leader as transactions.

use super::{ZkServer, ZkServerTimer};
use crate::ids::NodeId;
use crate::node::Ctx;
use crate::zookeeper::messages::{Origin, PeerState, Txn, ZkError, ZkMessage};

impl ZkServer {
    pub(super) fn on_client_message(
        &mut self,
        client: NodeId,
        msg: ZkMessage,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        if !self.is_serving() {
            ctx.send_zk(client, ZkMessage::ConnectionClosed);
            return;
        }
        match msg {
            ZkMessage::Connect {
                session: None,
                timeout_ms,
            } => {
                let timeout_ms = self.config.negotiate_session_timeout_ms(timeout_ms);
                let origin = Origin {
                    server: self.sid,
                    client,
                    xid: 0,
                };
                self.submit(
                    Txn::CreateSession {
                        session: 0,
                        timeout_ms,
                    },
                    origin,
                    ctx,
                );
            }
            ZkMessage::Connect {
                session: Some(session),
                ..
            } => {
                let result = match self.tree.sessions().get(&session) {
                    Some(&timeout_ms) => {
                        self.clients.insert(client, session);
                        self.touch(session, ctx.now);
                        Ok((session, timeout_ms))
                    }
                    None => Err(ZkError::SessionExpired),
                };
                ctx.send_zk(client, ZkMessage::ConnectResponse { result });
            }
            ZkMessage::Request { xid, op } => {
                let Some(&session) = self.clients.get(&client) else {
                    ctx.send_zk(client, ZkMessage::ConnectionClosed);
                    return;
                };
                self.touch(session, ctx.now);
                if op.is_read() {
                    let result = self.tree.read(&op);
                    self.register_watch(client, &op, &result);
                    ctx.send_zk(client, ZkMessage::Response { xid, result });
                } else {
                    let origin = Origin {
                        server: self.sid,
                        client,
                        xid,
                    };
                    self.submit(Txn::Write { session, op }, origin, ctx);
                }
            }
            ZkMessage::SetWatches {
                data,
                child,
                last_zxid,
            } => self.set_watches(client, data, child, last_zxid, ctx),
            ZkMessage::Ping => {
                if let Some(&session) = self.clients.get(&client) {
                    self.touch(session, ctx.now);
                    ctx.send_zk(
                        client,
                        ZkMessage::Pong {
                            zxid: self.tree.last_zxid(),
                        },
                    );
                } else {
                    ctx.send_zk(client, ZkMessage::ConnectionClosed);
                }
            }
            ZkMessage::CloseSession => {
                if let Some(session) = self.clients.remove(&client) {
                    let origin = Origin {
                        server: self.sid,
                        client,
                        xid: 0,
                    };
                    self.submit(Txn::CloseSession { session }, origin, ctx);
                }
            }
            msg => debug_assert!(false, "a client sent a server's {msg:?}"),
        }
    }

    fn submit(&mut self, txn: Txn, origin: Origin, ctx: &mut Ctx<'_, ZkServerTimer>) {
        match self.state {
            PeerState::Leading => self.propose(txn, Some(origin), ctx),
            PeerState::Following => {
                if let Some(f) = &self.follower {
                    ctx.send_zk(
                        NodeId::ZooKeeper(f.leader),
                        ZkMessage::Forward { origin, txn },
                    );
                }
            }
            PeerState::Looking => self.answer_failed_write(origin, ZkError::ConnectionLoss, ctx),
        }
    }
}
