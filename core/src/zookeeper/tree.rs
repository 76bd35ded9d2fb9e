//! ZooKeeper's data tree: znodes by path, with versions, ephemeral owners and sessions.

use super::messages::{SessionId, Txn, WatchKind, ZkError, ZkOp, ZkReply, Zxid};
use crate::vec_map::VecMap;
use serde::{Deserialize, Serialize};

/// A znode's metadata, as `stat` shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub czxid: Zxid,
    pub mzxid: Zxid,
    /// Zxid of the last change to this node's children.
    pub pzxid: Zxid,
    pub version: i32,
    pub ephemeral_owner: SessionId,
    pub num_children: u32,
    /// When the node was created, in simulated milliseconds (the tree's clock then, see
    /// [`DataTree::set_time_ms`]).
    #[serde(default)]
    pub ctime: u64,
    /// When its data last changed, in simulated milliseconds.
    #[serde(default)]
    pub mtime: u64,
    /// How many times its children changed (a child created or deleted).
    #[serde(default)]
    pub cversion: i32,
    /// How many times its ACL changed: never, kplay sets no ACLs.
    #[serde(default)]
    pub aversion: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Znode {
    pub data: String,
    pub stat: Stat,
}

/// A change that fires watches: which path, and what happened to it.
pub type WatchTrigger = (String, WatchKind);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataTree {
    nodes: VecMap<String, Znode>,
    /// Live sessions and their negotiated timeouts.
    sessions: VecMap<SessionId, u64>,
    last_zxid: Zxid,
    /// The time the next transactions happen at, in simulated milliseconds: stamped into
    /// `ctime`/`mtime` as ZooKeeper stamps its transaction header's time.
    time_ms: u64,
}

impl Default for DataTree {
    fn default() -> Self {
        let mut nodes = VecMap::new();
        nodes.insert(
            "/".to_string(),
            Znode {
                data: String::new(),
                stat: Stat::default(),
            },
        );
        DataTree {
            nodes,
            sessions: VecMap::new(),
            last_zxid: 0,
            time_ms: 0,
        }
    }
}

pub fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn child_prefix(path: &str) -> String {
    if path == "/" {
        "/".to_string()
    } else {
        format!("{path}/")
    }
}

impl DataTree {
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }
    /// Sets the clock the next transactions are stamped with (`ctime`, `mtime`); the server
    /// applying them calls it with the simulated time. Until it is called, the tree's time is 0.
    pub fn set_time_ms(&mut self, ms: u64) {
        self.time_ms = ms;
    }
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }
    pub fn get(&self, path: &str) -> Option<&Znode> {
        self.nodes.get(path)
    }
    pub fn sessions(&self) -> &VecMap<SessionId, u64> {
        &self.sessions
    }
    pub fn has_session(&self, session: SessionId) -> bool {
        self.sessions.contains_key(&session)
    }
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
    pub fn approx_bytes(&self) -> usize {
        self.nodes
            .iter()
            .map(|(p, n)| p.len() + n.data.len() + 40)
            .sum()
    }

    /// Names of a node's children, sorted.
    pub fn children(&self, path: &str) -> Vec<String> {
        let prefix = child_prefix(path);
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, _)| p.len() > prefix.len() && !p[prefix.len()..].contains('/'))
            .map(|(p, _)| p[prefix.len()..].to_string())
            .collect()
    }

    /// All nodes with their data, in path order (for views and `zookeeper-shell`).
    pub fn nodes(&self) -> impl Iterator<Item = (&String, &Znode)> {
        self.nodes.iter()
    }

    /// Creates a persistent node and any missing parents, outside of any transaction (used to
    /// lay down the tree a cluster already had when the simulation starts).
    pub fn ensure_path(&mut self, path: &str, data: &str) {
        if path != "/" && !self.nodes.contains_key(parent_of(path)) {
            self.ensure_path(parent_of(path), "");
        }
        if !self.nodes.contains_key(path) {
            let _ = self.create(path, data.to_string(), 0, 0);
        } else if let Some(node) = self.nodes.get_mut(path) {
            node.data = data.to_string();
        }
    }

    pub fn read(&self, op: &ZkOp) -> Result<ZkReply, ZkError> {
        match op {
            ZkOp::GetData { path, .. } => self
                .nodes
                .get(path)
                .map(|n| ZkReply::Data {
                    data: n.data.clone(),
                    stat: n.stat,
                })
                .ok_or(ZkError::NoNode),
            ZkOp::GetChildren { path, .. } => {
                if self.nodes.contains_key(path) {
                    Ok(ZkReply::Children(self.children(path)))
                } else {
                    Err(ZkError::NoNode)
                }
            }
            ZkOp::Exists { path, .. } => Ok(ZkReply::Exists(self.nodes.get(path).map(|n| n.stat))),
            _ => Err(ZkError::BadVersion),
        }
    }

    /// Applies a committed (or, on the leader, proposed) transaction. A failed `Multi` changes
    /// nothing.
    pub fn apply(
        &mut self,
        zxid: Zxid,
        txn: &Txn,
    ) -> Result<(ZkReply, Vec<WatchTrigger>), ZkError> {
        self.last_zxid = self.last_zxid.max(zxid);
        match txn {
            Txn::CreateSession {
                session,
                timeout_ms,
            } => {
                self.sessions.insert(*session, *timeout_ms);
                Ok((ZkReply::Done, Vec::new()))
            }
            Txn::CloseSession { session } => {
                self.sessions.remove(session);
                let owned: Vec<String> = self
                    .nodes
                    .iter()
                    .filter(|(_, n)| n.stat.ephemeral_owner == *session)
                    .map(|(p, _)| p.clone())
                    .collect();
                let mut triggers = Vec::new();
                for path in owned {
                    triggers.extend(self.delete(&path, None, zxid)?);
                }
                Ok((ZkReply::Done, triggers))
            }
            Txn::Write { session, op } => self.write(op, *session, zxid),
        }
    }

    fn write(
        &mut self,
        op: &ZkOp,
        session: SessionId,
        zxid: Zxid,
    ) -> Result<(ZkReply, Vec<WatchTrigger>), ZkError> {
        match op {
            ZkOp::Create {
                path,
                data,
                ephemeral,
            } => {
                let owner = if *ephemeral { session } else { 0 };
                let triggers = self.create(path, data.clone(), owner, zxid)?;
                Ok((ZkReply::Created(path.clone()), triggers))
            }
            ZkOp::Delete { path, version } => {
                Ok((ZkReply::Done, self.delete(path, *version, zxid)?))
            }
            ZkOp::SetData {
                path,
                data,
                version,
            } => {
                let node = self.nodes.get_mut(path).ok_or(ZkError::NoNode)?;
                if version.is_some_and(|v| v != node.stat.version) {
                    return Err(ZkError::BadVersion);
                }
                node.data = data.clone();
                node.stat.version += 1;
                node.stat.mzxid = zxid;
                node.stat.mtime = self.time_ms;
                Ok((
                    ZkReply::Stat(node.stat),
                    vec![(path.clone(), WatchKind::NodeDataChanged)],
                ))
            }
            ZkOp::Check { path, version } => {
                let node = self.nodes.get(path).ok_or(ZkError::NoNode)?;
                if node.stat.version != *version {
                    return Err(ZkError::BadVersion);
                }
                Ok((ZkReply::Done, Vec::new()))
            }
            ZkOp::Multi(ops) => {
                let mut scratch = self.clone();
                let mut triggers = Vec::new();
                for op in ops {
                    triggers.extend(scratch.write(op, session, zxid)?.1);
                }
                *self = scratch;
                Ok((ZkReply::Done, triggers))
            }
            ZkOp::GetData { .. } | ZkOp::GetChildren { .. } | ZkOp::Exists { .. } => {
                self.read(op).map(|r| (r, Vec::new()))
            }
        }
    }

    fn create(
        &mut self,
        path: &str,
        data: String,
        owner: SessionId,
        zxid: Zxid,
    ) -> Result<Vec<WatchTrigger>, ZkError> {
        if self.nodes.contains_key(path) {
            return Err(ZkError::NodeExists);
        }
        let parent = parent_of(path).to_string();
        let parent_node = self.nodes.get_mut(&parent).ok_or(ZkError::NoNode)?;
        if parent_node.stat.ephemeral_owner != 0 {
            return Err(ZkError::NoChildrenForEphemerals);
        }
        parent_node.stat.num_children += 1;
        parent_node.stat.cversion += 1;
        parent_node.stat.pzxid = zxid;
        let stat = Stat {
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            version: 0,
            ephemeral_owner: owner,
            num_children: 0,
            ctime: self.time_ms,
            mtime: self.time_ms,
            cversion: 0,
            aversion: 0,
        };
        self.nodes.insert(path.to_string(), Znode { data, stat });
        Ok(vec![
            (path.to_string(), WatchKind::NodeCreated),
            (parent, WatchKind::NodeChildrenChanged),
        ])
    }

    fn delete(
        &mut self,
        path: &str,
        version: Option<i32>,
        zxid: Zxid,
    ) -> Result<Vec<WatchTrigger>, ZkError> {
        let node = self.nodes.get(path).ok_or(ZkError::NoNode)?;
        if version.is_some_and(|v| v != node.stat.version) {
            return Err(ZkError::BadVersion);
        }
        if node.stat.num_children > 0 {
            return Err(ZkError::NotEmpty);
        }
        self.nodes.remove(path);
        let parent = parent_of(path).to_string();
        if let Some(p) = self.nodes.get_mut(&parent) {
            p.stat.num_children -= 1;
            p.stat.cversion += 1;
            p.stat.pzxid = zxid;
        }
        Ok(vec![
            (path.to_string(), WatchKind::NodeDeleted),
            (parent, WatchKind::NodeChildrenChanged),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(op: ZkOp) -> Txn {
        Txn::Write { session: 7, op }
    }

    #[test]
    fn create_list_and_delete() {
        let mut t = DataTree::default();
        t.ensure_path("/brokers/ids", "");
        let create = write(ZkOp::Create {
            path: "/brokers/ids/1".into(),
            data: "{}".into(),
            ephemeral: true,
        });
        let (_, triggers) = t.apply(1, &create).unwrap();
        assert!(triggers.contains(&("/brokers/ids".to_string(), WatchKind::NodeChildrenChanged)));
        assert_eq!(t.apply(2, &create), Err(ZkError::NodeExists));
        assert_eq!(t.children("/brokers/ids"), vec!["1"]);
        assert_eq!(t.children("/"), vec!["brokers"]);
        t.apply(3, &Txn::CloseSession { session: 7 }).unwrap();
        assert!(
            t.children("/brokers/ids").is_empty(),
            "ephemeral node goes with its session"
        );
    }

    #[test]
    fn failed_multi_changes_nothing() {
        let mut t = DataTree::default();
        t.ensure_path("/a", "x");
        let multi = write(ZkOp::Multi(vec![
            ZkOp::SetData {
                path: "/a".into(),
                data: "y".into(),
                version: None,
            },
            ZkOp::Check {
                path: "/a".into(),
                version: 5,
            },
        ]));
        assert_eq!(t.apply(1, &multi), Err(ZkError::BadVersion));
        assert_eq!(t.get("/a").map(|n| n.data.as_str()), Some("x"));
    }
}
