//! A change to the vault: holds the lock, records every file written or removed, and ends in one
//! commit of exactly those files.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Options, Vault};
use crate::error::Result;
use crate::git::Repo;
use crate::git::commit::{self, CommitMode, Scope};
use crate::store::Lock;

pub struct Txn<'v> {
    vault: &'v Vault,
    repo: Repo,
    mode: CommitMode,
    touched: Vec<PathBuf>,
    scope: Scope,
    /// What the commit reads, read while the change is made.
    prefetch: Option<commit::Prefetch>,
    _lock: Lock,
}

impl<'v> Txn<'v> {
    pub(super) fn begin(vault: &'v Vault, opts: &Options) -> Result<Txn<'v>> {
        let repo = vault.repo()?;
        let lock = Lock::acquire(&repo.git_dir().join("agent-vault.lock"), opts.lock_timeout, opts.on_lock_wait)?;
        let prefetch = (opts.commit == CommitMode::Commit).then(|| commit::prefetch(&repo));
        Ok(Txn { vault, repo, mode: opts.commit, touched: Vec::new(), scope: Scope::Files, prefetch, _lock: lock })
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// Called before each change to the vault's files: the commit's reads that wait for the
    /// change to write start now (see [`commit::Prefetch`]).
    fn writing(&mut self) {
        if let Some(p) = &mut self.prefetch {
            p.start_git_reads(&self.repo);
        }
    }

    pub fn write(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        self.writing();
        self.vault.fs().write(path, bytes)?;
        self.record(path);
        Ok(())
    }

    fn record(&mut self, path: &Path) {
        if self.scope == Scope::Files {
            self.touched.push(path.to_owned());
        }
    }

    pub fn write_yaml<T: Serialize>(&mut self, path: &Path, value: &T) -> Result<()> {
        self.writing();
        self.vault.fs().write_yaml(path, value)?;
        self.record(path);
        Ok(())
    }

    pub fn remove(&mut self, path: &Path) -> Result<()> {
        self.writing();
        self.vault.fs().remove(path)?;
        self.record(path);
        Ok(())
    }

    /// Records files written elsewhere (by the parallel re-encryption).
    pub fn touched(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        self.writing();
        if self.scope == Scope::Files {
            self.touched.extend(paths);
        }
    }

    /// Makes the commit take the whole vault directory as it is (used by `reconcile`, whose
    /// job includes committing what an interrupted command left uncommitted).
    pub fn whole_vault(&mut self) {
        self.scope = Scope::Tree;
        self.touched = vec![self.vault.fs().dir().to_owned()];
    }

    /// Commits (or stages) every touched file with `agent-vault: <what>`.
    pub fn commit(self, what: &str) -> Result<Option<String>> {
        commit::commit_paths(&self.repo, &self.touched, &format!("agent-vault: {what}"), self.mode, self.scope, self.prefetch)
    }
}
