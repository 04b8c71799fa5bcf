//! Which commits a merge driver is merging. Git hands a driver only three temporary files, but
//! re-encrypting a secret needs the merged *policy*, so the driver reads the manifests of the
//! merge base, ours (HEAD) and theirs from the object database: theirs is the `GITHEAD_<id>`
//! variable `git merge`/`git pull` set, or the commit a rebase, cherry-pick or revert is applying.

use std::path::Path;

use gix::ObjectId;

use super::{Repo, git_err};
use crate::error::Result;

/// The three commits of the merge in progress.
pub struct MergeContext {
    repo: gix::Repository,
    pub base: Option<ObjectId>,
    pub ours: ObjectId,
    pub theirs: ObjectId,
}

fn oid(hex: &str) -> Option<ObjectId> {
    ObjectId::from_hex(hex.trim().as_bytes()).ok()
}

/// `theirs` and whether the base is its parent (a pick) or the merge base (a merge).
fn theirs_commit(git_dir: &Path) -> Option<(ObjectId, bool)> {
    let heads: Vec<ObjectId> = std::env::vars().filter_map(|(k, _)| k.strip_prefix("GITHEAD_").and_then(oid)).collect();
    if heads.len() == 1 {
        return Some((heads[0], false));
    }
    if let Ok(done) = std::fs::read_to_string(git_dir.join("rebase-merge/done"))
        && let Some(id) = done.lines().rev().find_map(|l| l.split_whitespace().nth(1).and_then(oid))
    {
        return Some((id, true));
    }
    ["CHERRY_PICK_HEAD", "rebase-apply/original-commit"]
        .iter()
        .find_map(|f| std::fs::read_to_string(git_dir.join(f)).ok().and_then(|t| oid(&t)))
        .map(|id| (id, true))
}

impl MergeContext {
    /// The merge in progress in the repository of `start`; None when it cannot be told.
    pub fn discover(start: &Path) -> Result<Option<MergeContext>> {
        let r = Repo::discover(start)?;
        let repo = r.open()?;
        let Some((theirs, pick)) = theirs_commit(r.git_dir()) else { return Ok(None) };
        let ours = repo.head_id().map_err(|e| git_err("cannot read HEAD", e))?.detach();
        let base = if pick {
            let commit = repo.find_commit(theirs).map_err(|e| git_err(&format!("cannot read {theirs}"), e))?;
            commit.parent_ids().next().map(|p| p.detach())
        } else {
            let out = r.git().args(["merge-base", &ours.to_string(), &theirs.to_string()]).output()?;
            oid(&String::from_utf8_lossy(&out.stdout))
        };
        Ok(Some(MergeContext { repo, base, ours, theirs }))
    }

    /// The bytes of `path` (repository-relative) in a commit; None when it has no such file.
    pub fn read(&self, commit: Option<ObjectId>, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(id) = commit else { return Ok(None) };
        let fail = |e: &dyn std::fmt::Display| git_err(&format!("cannot read {path} at {id}"), e);
        let c = self.repo.find_commit(id).map_err(|e| fail(&e))?;
        let tree = c.tree().map_err(|e| fail(&e))?;
        let Some(entry) = tree.lookup_entry_by_path(path).map_err(|e| fail(&e))? else { return Ok(None) };
        let object = entry.object().map_err(|e| fail(&e))?;
        Ok(Some(object.detach().data))
    }

    /// The same file in base, ours and theirs.
    pub fn read3(&self, path: &str) -> Result<[Option<Vec<u8>>; 3]> {
        Ok([self.read(self.base, path)?, self.read(Some(self.ours), path)?, self.read(Some(self.theirs), path)?])
    }
}
