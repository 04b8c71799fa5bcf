//! The history of the vault directory, read with gix: every commit reachable from HEAD in a
//! topological order (parents before children), each with the id of its vault subtree, and the
//! files of a vault tree by path. Subtree listings are cached by tree id, so a long history
//! lists each distinct directory once. What the files mean is not decided here (`ops::history`).
//!
//! Order: a depth-first walk from HEAD that follows first parents first, emitted parents first
//! (`git log --topo-order`, reversed). A shallow clone's missing parents are treated as absent.

use std::collections::HashMap;
use std::sync::Arc;

use gix::ObjectId;

use super::{Repo, git_err};
use crate::error::{Error, Result};

/// Deepest directory nesting listed under the vault (deeper entries are ignored).
const MAX_DEPTH: usize = 64;

/// One commit of the walk.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: ObjectId,
    /// Indices of the parents in the walk, first parent first.
    pub parents: Vec<usize>,
    /// The vault directory's tree in this commit, if there is one.
    pub vault: Option<ObjectId>,
}

/// Who made a commit, and when (the author, as `git log` shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub short: String,
    pub name: String,
    pub email: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
}

/// The files of a vault tree: `/`-separated paths relative to it, sorted, with their blob ids.
pub type Files = Arc<Vec<(String, ObjectId)>>;

pub struct History {
    repo: gix::Repository,
    /// Oldest first; the last one is HEAD.
    pub nodes: Vec<Node>,
    trees: HashMap<ObjectId, Files>,
}

impl History {
    /// Walks every commit reachable from HEAD; `vault_dir` is the vault's path in the
    /// repository (`.agent-vault`). An unborn HEAD is an empty history.
    pub fn load(repo: &Repo, vault_dir: &str) -> Result<History> {
        let repo = repo.open()?;
        let tip = repo.head().map_err(|e| git_err("cannot read HEAD", e))?.id().map(|id| id.detach());
        let nodes = match tip {
            Some(tip) => walk(&repo, tip, vault_dir)?,
            None => Vec::new(),
        };
        Ok(History { repo, nodes, trees: HashMap::new() })
    }

    /// Author, time and ids of one commit of the walk.
    pub fn commit_info(&self, index: usize) -> Result<CommitInfo> {
        let id = self.nodes[index].id;
        let commit = self.repo.find_commit(id).map_err(|e| git_err(&format!("cannot read commit {id}"), e))?;
        let author = commit.author().map_err(|e| git_err(&format!("cannot read the author of {id}"), e))?;
        let time = author.time().map(|t| t.seconds).unwrap_or(0);
        let short = commit.short_id().map(|p| p.to_string()).unwrap_or_else(|_| id.to_hex_with_len(7).to_string());
        Ok(CommitInfo { id: id.to_string(), short, name: author.name.to_string(), email: author.email.to_string(), time })
    }

    /// Every blob under a tree, by path (cached by tree id).
    pub fn files(&mut self, tree: ObjectId) -> Result<Files> {
        self.list(tree, 0)
    }

    fn list(&mut self, tree: ObjectId, depth: usize) -> Result<Files> {
        if let Some(files) = self.trees.get(&tree) {
            return Ok(files.clone());
        }
        let mut out = Vec::new();
        for (name, id, is_tree) in self.entries(tree)? {
            if !is_tree {
                out.push((name, id));
            } else if depth < MAX_DEPTH {
                out.extend(self.list(id, depth + 1)?.iter().map(|(p, id)| (format!("{name}/{p}"), *id)));
            }
        }
        out.sort();
        let files = Arc::new(out);
        self.trees.insert(tree, files.clone());
        Ok(files)
    }

    /// The entries of one tree: name, id, whether it is a tree. Submodules are left out.
    fn entries(&self, tree: ObjectId) -> Result<Vec<(String, ObjectId, bool)>> {
        let t = self.repo.find_tree(tree).map_err(|e| git_err(&format!("cannot read tree {tree}"), e))?;
        let mut out = Vec::new();
        for entry in t.iter() {
            let entry = entry.map_err(|e| git_err(&format!("cannot decode tree {tree}"), e))?;
            let mode = entry.inner.mode;
            if mode.is_commit() {
                continue;
            }
            out.push((entry.inner.filename.to_string(), entry.inner.oid.to_owned(), mode.is_tree()));
        }
        Ok(out)
    }

    /// The bytes of a blob; None when it is larger than `max` bytes.
    pub fn blob(&self, id: ObjectId, max: u64) -> Result<Option<Vec<u8>>> {
        super::read_blob(&self.repo, id, max)
    }
}

/// A commit read during the walk, before it gets its index.
struct Pending {
    parents: Vec<ObjectId>,
    vault: Option<ObjectId>,
}

/// Depth-first from `tip`, first parents first; each commit is emitted after its parents.
fn walk(repo: &gix::Repository, tip: ObjectId, vault_dir: &str) -> Result<Vec<Node>> {
    let mut pending: HashMap<ObjectId, Pending> = HashMap::new();
    let mut index: HashMap<ObjectId, usize> = HashMap::new();
    let mut nodes = Vec::new();
    let mut stack = vec![(tip, false)];
    while let Some((id, expanded)) = stack.pop() {
        if expanded {
            let p = pending.remove(&id).ok_or_else(|| Error::internal("a commit was emitted twice"))?;
            let parents = p.parents.iter().filter_map(|q| index.get(q).copied()).collect();
            index.insert(id, nodes.len());
            nodes.push(Node { id, parents, vault: p.vault });
            continue;
        }
        if pending.contains_key(&id) || index.contains_key(&id) {
            continue;
        }
        let p = read_commit(repo, id, vault_dir)?;
        stack.push((id, true));
        for parent in p.parents.iter().rev() {
            if !pending.contains_key(parent) && !index.contains_key(parent) {
                stack.push((*parent, false));
            }
        }
        pending.insert(id, p);
    }
    Ok(nodes)
}

/// A commit's parents (those present in the object database) and its vault subtree.
fn read_commit(repo: &gix::Repository, id: ObjectId, vault_dir: &str) -> Result<Pending> {
    let commit = repo.find_commit(id).map_err(|e| git_err(&format!("cannot read commit {id}"), e))?;
    let parents = commit.parent_ids().map(|p| p.detach()).filter(|p| repo.has_object(p)).collect();
    let tree = commit.tree().map_err(|e| git_err(&format!("cannot read the tree of {id}"), e))?;
    let entry = tree.lookup_entry(vault_dir.split('/')).map_err(|e| git_err(&format!("cannot read the tree of {id}"), e))?;
    let vault = entry.filter(|e| e.mode().is_tree()).map(|e| e.object_id());
    Ok(Pending { parents, vault })
}
