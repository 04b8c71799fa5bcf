//! Re-encryption to the recipients the manifest allows, in parallel. Used by every operation
//! that changes who may read what, and by `reconcile`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use rayon::prelude::*;
use secrecy::ExposeSecret;

use super::{Keyring, Progress, Vault};
use crate::crypto::{self, Identity};
use crate::error::{Error, Result};
use crate::store;
use crate::vault::{AgentName, Manifest, Meta, SecretPath, Timestamp, policy};

/// Secrets re-encrypted in memory before their files are written, at most: bounds the memory a
/// large vault needs, and how much a killed process leaves undone.
const CHUNK: usize = 256;
const CHUNK_BYTES: u64 = 64 * 1024 * 1024;

/// New files: path and content.
type Files = Vec<(PathBuf, Vec<u8>)>;

/// What a re-encryption wrote.
#[derive(Debug, Default)]
pub struct Outcome {
    pub written: Vec<PathBuf>,
    /// Secrets the manifest lists whose ciphertext is missing (left for `check`/`reconcile`).
    pub missing: Vec<SecretPath>,
    pub count: usize,
}

/// Everything one re-encryption needs, shared by the worker threads.
pub struct Job<'a> {
    pub vault: &'a Vault,
    pub manifest: &'a Manifest,
    pub keyring: &'a Keyring,
    pub identity: &'a Identity,
    pub now: Timestamp,
}

impl Job<'_> {
    /// Re-encrypts each target to its readers and records them in its `.meta`. Works in chunks:
    /// a chunk's new files are computed in parallel, in memory (ciphertext and metadata only),
    /// and written together by a writer thread ([`crate::store::BulkWriter`]) while the next
    /// chunk is computed.
    pub fn secrets(&self, targets: &BTreeSet<SecretPath>, progress: &dyn Progress) -> Result<Outcome> {
        let readers = policy::reader_map(self.manifest);
        progress.start(targets.len() as u64, "re-encrypting");
        let targets: Vec<&SecretPath> = targets.iter().collect();
        let fs = self.vault.fs();
        let mut out = Outcome::default();
        let mut errors = Vec::new();
        let written = std::thread::scope(|scope| {
            // one chunk waits while one is written: memory stays bounded by a few chunks
            let (tx, rx) = std::sync::mpsc::sync_channel::<Files>(1);
            let writer = scope.spawn(move || {
                let mut bulk = fs.bulk();
                let mut written = Vec::new();
                for files in rx {
                    bulk.replace(&files)?;
                    written.extend(files.into_iter().map(|(p, _)| p));
                }
                Ok::<_, Error>(written)
            });
            for chunk in self.chunks(&targets) {
                let results: Vec<Result<Option<Files>>> = chunk
                    .par_iter()
                    .map(|s| {
                        let r = self.one(s, readers.get(*s));
                        progress.tick();
                        r
                    })
                    .collect();
                let mut files = Vec::new();
                for (s, r) in chunk.iter().zip(results) {
                    match r {
                        Ok(Some(f)) => {
                            files.extend(f);
                            out.count += 1;
                        }
                        Ok(None) => out.missing.push((*s).clone()),
                        Err(e) => errors.push(e),
                    }
                }
                if tx.send(files).is_err() {
                    break; // the writer stopped on an error, returned below
                }
            }
            drop(tx);
            writer.join().unwrap_or_else(|_| Err(Error::internal("the writer thread panicked")))
        })?;
        out.written = written;
        progress.finish();
        match errors.len() {
            0 => Ok(out),
            1 => Err(errors.remove(0)),
            n => {
                let first = errors.remove(0);
                Err(Error::new(first.kind(), format!("{} (and {} more secrets failed)", first.full_message(), n - 1)))
            }
        }
    }

    /// Consecutive runs of targets of at most [`CHUNK`] secrets and about [`CHUNK_BYTES`] of
    /// ciphertext.
    fn chunks<'t>(&self, targets: &'t [&'t SecretPath]) -> Vec<&'t [&'t SecretPath]> {
        let fs = self.vault.fs();
        let mut out = Vec::new();
        let (mut start, mut bytes) = (0, 0);
        for (i, s) in targets.iter().enumerate() {
            let size = std::fs::symlink_metadata(fs.secret_files(s).enc).map_or(0, |m| m.len());
            if i > start && (i - start >= CHUNK || bytes + size > CHUNK_BYTES) {
                out.push(&targets[start..i]);
                (start, bytes) = (i, 0);
            }
            bytes += size;
        }
        if start < targets.len() {
            out.push(&targets[start..]);
        }
        out
    }

    /// The new files of one secret (its ciphertext, and its metadata when that changes); None
    /// when its ciphertext does not exist.
    fn one(&self, path: &SecretPath, readers: Option<&BTreeSet<AgentName>>) -> Result<Option<Files>> {
        let fs = self.vault.fs();
        let Some(files) = fs.locate(path)? else { return Ok(None) };
        let ct = fs.read(&files.enc)?;
        let what = format!("secret {path:?}");
        let plain = crypto::decrypt(self.identity, &ct).map_err(|e| e.into_error(&what))?;
        let empty = BTreeSet::new();
        let readers = readers.unwrap_or(&empty);
        let new_ct = crypto::encrypt(&self.keyring.recipients(readers), plain.expose_secret())?;
        let mut written = vec![(files.enc.clone(), new_ct)];
        let old_meta: Option<Meta> = fs.read_yaml(&files.meta).ok().flatten();
        let mut meta = old_meta.clone().unwrap_or_else(|| self.fresh_meta(path));
        meta.set_agents(readers.iter().cloned());
        if old_meta.as_ref() != Some(&meta) {
            written.push((files.meta, store::to_yaml(&meta)?.into_bytes()));
        }
        Ok(Some(written))
    }

    /// Metadata for a secret whose `.meta` is missing or unreadable.
    fn fresh_meta(&self, path: &SecretPath) -> Meta {
        let group = self.manifest.groups_listing(path).first().map(|g| (*g).clone()).unwrap_or_else(|| path.default_group());
        let mut meta = Meta::new(path.clone(), group, self.now);
        meta.created = None;
        meta.rotated = None;
        meta
    }

    /// Re-encrypts the escrowed keys of the given agents to the current owners.
    pub fn escrows(&self, agents: &[AgentName]) -> Result<Vec<PathBuf>> {
        let owners: Vec<&crypto::Recipient> = self.keyring.owners.iter().collect();
        let files: Files = agents.par_iter().filter_map(|a| self.escrow(a, &owners).transpose()).collect::<Result<_>>()?;
        self.vault.fs().bulk().replace(&files)?;
        Ok(files.into_iter().map(|(p, _)| p).collect())
    }

    /// The new escrow of one agent; None when it has none.
    fn escrow(&self, agent: &AgentName, owners: &[&crypto::Recipient]) -> Result<Option<(PathBuf, Vec<u8>)>> {
        let fs = self.vault.fs();
        let path = fs.escrow(agent);
        let Some(ct) = fs.read_opt(&path)? else { return Ok(None) };
        let plain = crypto::decrypt(self.identity, &ct).map_err(|e| e.into_error(&format!("the escrow of agent {agent:?}")))?;
        Ok(Some((path, crypto::encrypt(owners, plain.expose_secret())?)))
    }
}
