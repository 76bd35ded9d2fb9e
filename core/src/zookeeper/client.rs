//! The ZooKeeper client library a broker embeds: connects to one server at a time, moves to
//! another when that server dies or stops answering, keeps its session alive with pings,
//! re-sends requests after a reconnect and re-registers watches (`SetWatches`).

use super::messages::{SessionId, WatchKind, ZkError, ZkMessage, ZkOp, ZkReply, Zxid};
use crate::ids::NodeId;
use crate::node::Ctx;
use crate::vec_map::{VecMap, VecSet};

/// How long to wait before trying the next server after a failed connect.
const RECONNECT_BACKOFF_MS: u64 = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZkClientTimer {
    /// Ping the server (every third of the session timeout) and check it still answers.
    Ping {
        connection: u64,
    },
    Reconnect {
        connection: u64,
    },
}

/// What the owner of the client learns from one message or timer.
#[derive(Clone, Debug, PartialEq)]
pub enum ZkClientEvent<T> {
    /// A session exists: `new_session` is false after a reconnect that kept the old one.
    Connected {
        new_session: bool,
    },
    Response {
        tag: T,
        result: Result<ZkReply, ZkError>,
    },
    Watch {
        path: String,
        kind: WatchKind,
    },
    /// The session is gone: ephemeral nodes and watches with it. A new one is being created.
    SessionExpired,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Disconnected,
    Connecting { server: u32 },
    Connected { server: u32 },
}

#[derive(Clone, Debug)]
pub struct ZkClient<T> {
    servers: Vec<u32>,
    next_server: usize,
    state: State,
    /// Bumped on every (re)connect, so timers of an older connection are ignored.
    connection: u64,
    session: Option<(SessionId, u64)>,
    requested_timeout_ms: u64,
    next_xid: u64,
    /// Requests sent and not yet answered, re-sent after a reconnect.
    in_flight: VecMap<u64, (ZkOp, T)>,
    data_watches: VecSet<String>,
    child_watches: VecSet<String>,
    last_zxid: Zxid,
    heard_since_ping: bool,
}

impl<T: Clone> ZkClient<T> {
    pub fn new(servers: Vec<u32>, first: usize, requested_timeout_ms: u64) -> ZkClient<T> {
        let next_server = if servers.is_empty() {
            0
        } else {
            first % servers.len()
        };
        ZkClient {
            servers,
            next_server,
            state: State::Disconnected,
            connection: 0,
            session: None,
            requested_timeout_ms,
            next_xid: 1,
            in_flight: VecMap::new(),
            data_watches: VecSet::new(),
            child_watches: VecSet::new(),
            last_zxid: 0,
            heard_since_ping: false,
        }
    }

    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. })
    }
    pub fn session(&self) -> Option<SessionId> {
        self.session.map(|s| s.0)
    }
    pub fn server(&self) -> Option<u32> {
        match self.state {
            State::Connected { server } | State::Connecting { server } => Some(server),
            State::Disconnected => None,
        }
    }

    /// Connects to the next server in the list; the owner wraps the timer it asks for.
    pub fn connect(&mut self, ctx: &mut Ctx<'_, impl Sized>) -> ZkClientTimer {
        let server = self.servers[self.next_server];
        self.next_server = (self.next_server + 1) % self.servers.len();
        self.connection += 1;
        self.state = State::Connecting { server };
        ctx.send_zk(
            NodeId::ZooKeeper(server),
            ZkMessage::Connect {
                session: self.session.map(|s| s.0),
                timeout_ms: self.requested_timeout_ms,
            },
        );
        // If the server never answers (link cut), give up on it after a read timeout.
        ZkClientTimer::Ping {
            connection: self.connection,
        }
    }

    /// Sends (or queues until connected) a request; its answer comes back with `tag`.
    pub fn submit(&mut self, op: ZkOp, tag: T, ctx: &mut Ctx<'_, impl Sized>) {
        let xid = self.next_xid;
        self.next_xid += 1;
        self.remember_watch(&op);
        if let State::Connected { server } = self.state {
            ctx.send_zk(
                NodeId::ZooKeeper(server),
                ZkMessage::Request {
                    xid,
                    op: op.clone(),
                },
            );
        }
        self.in_flight.insert(xid, (op, tag));
    }

    fn remember_watch(&mut self, op: &ZkOp) {
        match op {
            ZkOp::GetData { path, watch: true } | ZkOp::Exists { path, watch: true } => {
                self.data_watches.insert(path.clone());
            }
            ZkOp::GetChildren { path, watch: true } => {
                self.child_watches.insert(path.clone());
            }
            _ => {}
        }
    }

    /// Ends the session cleanly: the server deletes its ephemeral nodes at once.
    pub fn close(&mut self, ctx: &mut Ctx<'_, impl Sized>) {
        if let State::Connected { server } = self.state {
            ctx.send_zk(NodeId::ZooKeeper(server), ZkMessage::CloseSession);
        }
        self.state = State::Disconnected;
        self.session = None;
    }

    /// Handles a message from a ZooKeeper server. Returns events and maybe a timer to set.
    pub fn on_message(
        &mut self,
        from: u32,
        msg: ZkMessage,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> (Vec<ZkClientEvent<T>>, Option<ZkClientTimer>) {
        let current = match self.state {
            State::Connected { server } | State::Connecting { server } => server,
            State::Disconnected => return (Vec::new(), None),
        };
        if from != current {
            return (Vec::new(), None);
        }
        self.heard_since_ping = true;
        let mut events = Vec::new();
        match msg {
            ZkMessage::ConnectResponse {
                result: Ok((session, timeout_ms)),
            } => {
                let new_session = self.session.map(|s| s.0) != Some(session);
                self.session = Some((session, timeout_ms));
                self.state = State::Connected { server: from };
                let has_watches = !self.data_watches.is_empty() || !self.child_watches.is_empty();
                if !new_session && has_watches {
                    ctx.send_zk(
                        NodeId::ZooKeeper(from),
                        ZkMessage::SetWatches {
                            data: self.data_watches.iter().cloned().collect(),
                            child: self.child_watches.iter().cloned().collect(),
                            last_zxid: self.last_zxid,
                        },
                    );
                }
                for (xid, (op, _)) in &self.in_flight {
                    ctx.send_zk(
                        NodeId::ZooKeeper(from),
                        ZkMessage::Request {
                            xid: *xid,
                            op: op.clone(),
                        },
                    );
                }
                events.push(ZkClientEvent::Connected { new_session });
                self.connection += 1;
                return (
                    events,
                    Some(ZkClientTimer::Ping {
                        connection: self.connection,
                    }),
                );
            }
            ZkMessage::ConnectResponse {
                result: Err(ZkError::SessionExpired),
            } => {
                // The old session is gone; start a new one on this same server.
                self.session = None;
                self.in_flight.clear();
                self.data_watches.clear();
                self.child_watches.clear();
                events.push(ZkClientEvent::SessionExpired);
                return (events, Some(self.connect_to(from, ctx)));
            }
            ZkMessage::ConnectResponse { result: Err(_) } | ZkMessage::ConnectionClosed => {
                return (events, Some(self.disconnect()));
            }
            ZkMessage::Response { xid, result } => {
                if let Some((op, tag)) = self.in_flight.remove(&xid) {
                    if let Err(ZkError::SessionExpired) = result {
                        self.in_flight.insert(xid, (op, tag));
                        return (events, None);
                    }
                    if let Ok(ZkReply::Stat(stat) | ZkReply::Data { stat, .. }) = &result {
                        self.last_zxid = self.last_zxid.max(stat.mzxid);
                    }
                    events.push(ZkClientEvent::Response { tag, result });
                }
            }
            ZkMessage::WatchEvent { path, kind } => {
                match kind {
                    WatchKind::NodeChildrenChanged => self.child_watches.remove(&path),
                    _ => self.data_watches.remove(&path),
                };
                events.push(ZkClientEvent::Watch { path, kind });
            }
            ZkMessage::Pong { zxid } => self.last_zxid = self.last_zxid.max(zxid),
            _ => {}
        }
        (events, None)
    }

    fn connect_to(&mut self, server: u32, ctx: &mut Ctx<'_, impl Sized>) -> ZkClientTimer {
        if let Some(i) = self.servers.iter().position(|s| *s == server) {
            self.next_server = i;
        }
        self.connect(ctx)
    }

    fn disconnect(&mut self) -> ZkClientTimer {
        self.state = State::Disconnected;
        self.connection += 1;
        ZkClientTimer::Reconnect {
            connection: self.connection,
        }
    }

    /// The connection to `server` closed (the server process died).
    pub fn on_disconnect(&mut self, server: u32) -> Option<ZkClientTimer> {
        (self.server() == Some(server)).then(|| self.disconnect())
    }

    pub fn reconnect_delay_ms(&self) -> u64 {
        RECONNECT_BACKOFF_MS
    }

    /// Interval between pings: a third of the session timeout.
    pub fn ping_interval_ms(&self) -> u64 {
        self.session.map_or(self.requested_timeout_ms, |s| s.1) / 3
    }

    pub fn on_timer(
        &mut self,
        timer: ZkClientTimer,
        ctx: &mut Ctx<'_, impl Sized>,
    ) -> Option<ZkClientTimer> {
        match timer {
            ZkClientTimer::Reconnect { connection } if connection == self.connection => {
                Some(self.connect(ctx))
            }
            ZkClientTimer::Ping { connection } if connection == self.connection => {
                // Nothing heard for a whole ping interval while connecting, or for two while
                // connected (ZooKeeper's read timeout is 2/3 of the session timeout).
                if !self.heard_since_ping {
                    return Some(self.connect(ctx));
                }
                self.heard_since_ping = false;
                if let State::Connected { server } = self.state {
                    ctx.send_zk(NodeId::ZooKeeper(server), ZkMessage::Ping);
                }
                Some(ZkClientTimer::Ping { connection })
            }
            _ => None,
        }
    }
}
