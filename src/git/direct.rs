//! Vault commits built without `git commit`, when nothing `git commit` adds would apply.
//!
//! `git commit` of a vault change costs most of a `set` in a large vault: it re-reads and
//! re-checks the whole index, refreshes it against the work tree and writes a second index. The
//! same commit can be made from its parts:
//!
//! 1. the changed paths are staged in the real index: in-process when git would store the files
//!    as they are and nothing else git does when it writes the index applies (see
//!    [`super::index_edit`]), otherwise by `git update-index` (git hashes them, applying the
//!    user's filters); either way with their stat data, exactly as after `git commit` of them;
//! 2. the new tree is HEAD's tree with those entries replaced, spliced into the stored trees
//!    (see [`super::tree_edit`]);
//! 3. `git commit-tree` makes the commit (the user's identity, encoding and, with `-S` when
//!    `commit.gpgSign` asks, signature), and `git update-ref` moves HEAD only if nobody else moved
//!    it meanwhile, with the reflog entry `git commit` writes;
//! 4. `git maintenance run --auto`, as after every `git commit`.
//!
//! This path is taken only when it makes the same commit `git commit` would: HEAD has commits, no
//! merge, cherry-pick or revert is in progress, and no commit hook would run (git-vault's own
//! hook does nothing for its own commits). Otherwise the caller uses `git commit`.

use std::path::PathBuf;

use gix::ObjectId;

use super::index_edit::{self, Change};
use super::{Repo, git_err, install};
use crate::error::{Error, ErrorKind, Result};

/// What the direct path needs to know, read before anything is changed.
pub struct Plan {
    repo: gix::Repository,
    head: ObjectId,
    tree: ObjectId,
    sign: bool,
    index: index_edit::Config,
}

/// How a direct commit ended.
pub enum Outcome {
    Committed(String),
    /// The paths hold what HEAD holds: there is nothing to commit (and nothing is staged).
    Unchanged,
    /// The staged result cannot be read or written here; `git commit` must make the commit.
    Fallback,
}

/// States in which `git commit` records more than a commit of the index (a merge's second
/// parent, a cherry-pick's authorship).
const SEQUENCER_STATES: &[&str] = &["MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD"];

impl Plan {
    /// The plan for a direct commit, or None when `git commit` must make it. `config` is the
    /// configuration read started earlier, if any.
    pub fn for_repo(repo: &Repo, config: Option<PendingConfig>) -> Result<Option<Plan>> {
        if SEQUENCER_STATES.iter().any(|f| repo.git_dir().join(f).exists()) {
            return Ok(None);
        }
        // tree objects are mostly hashes, which do not compress: storing them uncompressed (a
        // valid zlib stream all the same, and repacked as usual by gc) saves most of the cost of
        // rewriting the tree of a directory of thousands of secrets
        let mut r = gix::open_opts(repo.git_dir(), gix::open::Options::default().config_overrides(["core.looseCompression=0"]))
            .map_err(|e| git_err("cannot open the repository", e))?;
        r.objects.refresh_never(); // opened after the blobs were packed; what is written later is loose
        let mut head = r.head().map_err(|e| git_err("cannot read HEAD", e))?;
        if head.is_unborn() {
            return Ok(None);
        }
        let commit = head.peel_to_commit().map_err(|e| git_err("cannot read HEAD", e))?;
        let tree = commit.tree_id().map_err(|e| git_err("cannot read HEAD's tree", e))?.detach();
        let pending = match config {
            Some(p) => p,
            None => PendingConfig::start(repo)?,
        };
        let Some(config) = CommitConfig::parse(&pending.finish()?)? else { return Ok(None) };
        if config.hook_config || install::commit_hooks_would_run(repo, &install::hooks_dir_from(repo, config.hooks_path.as_deref())) {
            return Ok(None);
        }
        let head = commit.id;
        drop(commit);
        Ok(Some(Plan { repo: r, head, tree, sign: config.sign, index: config.index }))
    }

    /// Makes the commit of `paths` (absolute, in the work tree; missing ones are deletions).
    pub fn commit(&self, repo: &Repo, paths: &[PathBuf], message: &str) -> Result<Outcome> {
        let staged = index_edit::stage(repo, &self.repo, &self.index, paths)?;
        if staged.is_none() {
            super::commit::update_index(repo, None, paths)?;
        }
        let made = self.make(repo, paths, staged, message);
        if made.is_err() {
            // the commit did not happen: the paths go back to what HEAD has in the index, so the
            // change is left in the work tree only, as after a failed `git commit`
            let _ = unstage(repo, &self.head, paths);
        }
        let made = made?;
        if matches!(made, Outcome::Committed(_)) {
            // what `git commit` runs after every commit; it decides quickly whether there is
            // anything to do and detaches from anything long, so it is not waited for, and its
            // failure never fails the commit
            let _ = repo.git().args(["maintenance", "run", "--auto", "--quiet"]).spawn_detached();
        }
        Ok(made)
    }

    /// The commit of the staged `paths`, whose index entries are `staged` when known.
    fn make(&self, repo: &Repo, paths: &[PathBuf], staged: Option<Vec<Change>>, message: &str) -> Result<Outcome> {
        let changes = match staged {
            Some(changes) => changes,
            None => match self.index_changes(repo, paths)? {
                Some(changes) => changes,
                None => return Ok(Outcome::Fallback),
            },
        };
        // None when a file would become a directory or the reverse: `git commit` decides then
        let Some(tree) = super::tree_edit::edit(&self.repo, self.tree, &changes)? else { return Ok(Outcome::Fallback) };
        if tree == self.tree {
            return Ok(Outcome::Unchanged);
        }
        let mut git = repo.git().args(["commit-tree", &tree.to_string(), "-p", &self.head.to_string()]);
        if self.sign {
            git = git.arg("-S");
        }
        let out = git.stdin(format!("{message}\n").into_bytes()).run()?;
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if ObjectId::from_hex(id.as_bytes()).is_err() {
            return Err(Error::new(ErrorKind::Git, format!("`git commit-tree` printed {id:?}, not a commit id")));
        }
        let subject = message.lines().next().unwrap_or_default();
        repo.git().args(["update-ref", "-m", &format!("commit: {subject}"), "HEAD", &id, &self.head.to_string()]).run().map_err(|e| {
            Error::new(ErrorKind::Git, "HEAD moved while the vault change was being committed; run the command again").source(e)
        })?;
        Ok(Outcome::Committed(id))
    }

    /// The index entries of `paths` (stage 0; absent means deleted), as `update-index` left them.
    /// None when the index cannot be used for this (sparse, or a path still in conflict): `git
    /// commit` then decides.
    fn index_changes(&self, repo: &Repo, paths: &[PathBuf]) -> Result<Option<Vec<Change>>> {
        let r = &self.repo;
        let Ok(index) = gix::index::File::at(super::commit::real_index(repo), r.object_hash(), true, Default::default()) else {
            return Ok(None);
        };
        if index.is_sparse() {
            return Ok(None);
        }
        let mut changes = Vec::with_capacity(paths.len());
        for p in paths {
            let rel = repo.relative(p)?;
            let path: &gix::bstr::BStr = rel.as_str().into();
            let entry = match index.entry_by_path_and_stage(path, gix::index::entry::Stage::Unconflicted) {
                Some(e) => match e.mode.to_tree_entry_mode() {
                    Some(mode) => Some((mode.kind(), e.id)),
                    None => return Ok(None),
                },
                None if index.entry_by_path(path).is_some() => return Ok(None), // unmerged
                None => None,
            };
            changes.push((rel, entry));
        }
        Ok(Some(changes))
    }
}

/// Puts HEAD's entries of `paths` back into the index.
fn unstage(repo: &Repo, head: &ObjectId, paths: &[PathBuf]) -> Result<()> {
    repo.git()
        .args(["--literal-pathspecs", "reset", "-q", &head.to_string(), "--pathspec-from-file=-", "--pathspec-file-nul"])
        .stdin(super::commit::stdin_paths(repo, paths)?)
        .run()
        .map(drop)
}

/// The configuration that decides how a commit is made, read with one `git config` call so that
/// every source git knows (including `git -c`) applies.
struct CommitConfig {
    sign: bool,
    hooks_path: Option<String>,
    /// Hooks defined in configuration (`hook.<name>.*`), which only `git commit` knows how to run.
    hook_config: bool,
    /// What decides whether the index can be edited in-process.
    index: index_edit::Config,
}

/// The `git config` read of what decides how a commit is made, started before the vault's files
/// are written so that git's start-up overlaps with that work. Dropped unread, it is stopped.
pub struct PendingConfig(Option<std::process::Child>);

impl PendingConfig {
    pub fn start(repo: &Repo) -> Result<PendingConfig> {
        let keys = format!(r"^(commit\.gpgsign|core\.hookspath|hook\..*|{})$", index_edit::Config::KEYS);
        repo.git().args(["config", "-z", "--get-regexp", &keys]).spawn_piped().map(|c| PendingConfig(Some(c)))
    }

    /// The values git printed (`key\nvalue\0` each).
    fn finish(mut self) -> Result<Vec<u8>> {
        let child = self.0.take().expect("a pending read is finished once");
        let out = child.wait_with_output().map_err(|e| Error::new(ErrorKind::Git, format!("git config failed: {e}")))?;
        // 1: no such key, which is not an error here
        if !out.status.success() && out.status.code() != Some(1) {
            let why = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            return Err(Error::new(ErrorKind::Git, format!("`git config` failed: {why}")));
        }
        Ok(out.stdout)
    }
}

impl Drop for PendingConfig {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl CommitConfig {
    /// None when a value is not one git-vault reads the way git does.
    fn parse(stdout: &[u8]) -> Result<Option<CommitConfig>> {
        let mut config = CommitConfig { sign: false, hooks_path: None, hook_config: false, index: index_edit::Config::default() };
        for item in stdout.split(|b| *b == 0).filter(|i| !i.is_empty()) {
            let item = String::from_utf8_lossy(item);
            let (key, value) = match item.split_once('\n') {
                Some((k, v)) => (k, Some(v)),
                None => (item.as_ref(), None),
            };
            match key {
                "commit.gpgsign" => match parse_bool(value) {
                    Some(b) => config.sign = b,
                    None => return Ok(None),
                },
                "core.hookspath" => config.hooks_path = value.map(str::to_owned),
                _ if config.index.take(key, value) => {}
                _ => config.hook_config = true,
            }
        }
        Ok(Some(config))
    }
}

/// A boolean as git reads it: a key without a value is true, an empty one false.
pub(super) fn parse_bool(value: Option<&str>) -> Option<bool> {
    let Some(v) = value else { return Some(true) };
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" | "" => Some(false),
        n => n.parse::<i64>().ok().map(|n| n != 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_read_as_git_reads_them() {
        for (v, want) in [
            (None, Some(true)),
            (Some(""), Some(false)),
            (Some("TRUE"), Some(true)),
            (Some("yes"), Some(true)),
            (Some("off"), Some(false)),
            (Some("0"), Some(false)),
            (Some("2"), Some(true)),
            (Some("maybe"), None),
        ] {
            assert_eq!(parse_bool(v), want, "{v:?}");
        }
    }
}
