//! One commit per vault change, containing exactly the vault files the change touched.
//!
//! The commit is built in a temporary index (HEAD's tree plus the touched paths), so whatever
//! the user had staged stays staged and out of it; `git commit` makes it, so the user's identity,
//! hooks and signing configuration apply. Afterwards the real index is updated for those paths
//! only. With `--no-commit` the paths are staged in the real index instead.

use std::path::{Path, PathBuf};

use super::Repo;
use crate::error::Result;

/// What to do with a change once its files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    Commit,
    StageOnly,
}

/// Removes the temporary index when dropped, whatever happened.
struct TempIndex(PathBuf);

impl Drop for TempIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let mut lock = self.0.clone().into_os_string();
        lock.push(".lock");
        let _ = std::fs::remove_file(lock);
    }
}

fn stdin_paths(repo: &Repo, paths: &[PathBuf]) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    for p in paths {
        data.extend_from_slice(repo.relative(p)?.as_bytes());
        data.push(0);
    }
    Ok(data)
}

/// Stages `paths` (absolute, inside the work tree; deleted files are removed) in the index
/// `GIT_INDEX_FILE` names, or the real one.
fn update_index(repo: &Repo, index: Option<&Path>, paths: &[PathBuf]) -> Result<()> {
    let mut git = repo.git().args(["update-index", "--add", "--remove", "-z", "--stdin"]).stdin(stdin_paths(repo, paths)?);
    if let Some(i) = index {
        git = git.env("GIT_INDEX_FILE", i);
    }
    git.run().map(drop)
}

fn head_exists(repo: &Repo) -> Result<bool> {
    let out = repo.git().args(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).output()?;
    Ok(out.status.success())
}

/// What a commit contains: exact files, or everything under a directory (`git add -A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Files,
    Tree,
}

fn stage(repo: &Repo, index: Option<&Path>, paths: &[PathBuf], scope: Scope) -> Result<()> {
    if scope == Scope::Files {
        return update_index(repo, index, paths);
    }
    let mut git = repo.git().args(["add", "-A", "--"]);
    for p in paths {
        git = git.arg(repo.relative(p)?);
    }
    if let Some(i) = index {
        git = git.env("GIT_INDEX_FILE", i);
    }
    git.run().map(drop)
}

/// Commits (or stages) the given paths. Returns the new commit id, or None when nothing changed
/// or the change was only staged.
pub fn commit_paths(repo: &Repo, paths: &[PathBuf], message: &str, mode: CommitMode, scope: Scope) -> Result<Option<String>> {
    let mut paths: Vec<PathBuf> = paths.to_vec();
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        return Ok(None);
    }
    if mode == CommitMode::StageOnly {
        stage(repo, None, &paths, scope)?;
        return Ok(None);
    }
    let temp = TempIndex(repo.git_dir().join(format!("agent-vault-index.{}", std::process::id())));
    let has_head = head_exists(repo)?;
    let read_tree = if has_head { vec!["read-tree", "HEAD"] } else { vec!["read-tree", "--empty"] };
    repo.git().args(read_tree).env("GIT_INDEX_FILE", &temp.0).run()?;
    stage(repo, Some(&temp.0), &paths, scope)?;
    if has_head {
        let diff = repo.git().args(["diff-index", "--cached", "--quiet", "HEAD", "--"]).env("GIT_INDEX_FILE", &temp.0).output()?;
        if diff.status.success() {
            return Ok(None);
        }
    }
    repo.git().args(["commit", "--quiet", "--no-edit", "-m", message]).env("GIT_INDEX_FILE", &temp.0).run()?;
    stage(repo, None, &paths, scope)?;
    let out = repo.git().args(["rev-parse", "HEAD"]).run()?;
    Ok(Some(String::from_utf8_lossy(&out.stdout).trim().to_owned()))
}
