//! Re-encryption to the recipients the manifest allows, in parallel. Used by every operation
//! that changes who may read what, and by `reconcile`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use rayon::prelude::*;
use secrecy::ExposeSecret;

use super::{Keyring, Progress, Vault};
use crate::crypto::{self, Identity};
use crate::error::{Error, Result};
use crate::vault::{AgentName, Manifest, Meta, SecretPath, Timestamp, policy};

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
    /// Re-encrypts each target to its readers and records them in its `.meta`.
    pub fn secrets(&self, targets: &BTreeSet<SecretPath>, progress: &dyn Progress) -> Result<Outcome> {
        let readers = policy::reader_map(self.manifest);
        progress.start(targets.len() as u64, "re-encrypting");
        let results: Vec<Result<Option<Vec<PathBuf>>>> = targets
            .par_iter()
            .map(|s| {
                let r = self.one(s, readers.get(s));
                progress.tick();
                r.map(|written| written.map(|w| w.into_iter().collect()))
            })
            .collect();
        progress.finish();
        let mut out = Outcome::default();
        let mut errors = Vec::new();
        for (s, r) in targets.iter().zip(results) {
            match r {
                Ok(Some(paths)) => {
                    out.written.extend(paths);
                    out.count += 1;
                }
                Ok(None) => out.missing.push(s.clone()),
                Err(e) => errors.push(e),
            }
        }
        match errors.len() {
            0 => Ok(out),
            1 => Err(errors.remove(0)),
            n => {
                let first = errors.remove(0);
                Err(Error::new(first.kind(), format!("{} (and {} more secrets failed)", first.full_message(), n - 1)))
            }
        }
    }

    /// Re-encrypts one secret; None when its ciphertext does not exist.
    fn one(&self, path: &SecretPath, readers: Option<&BTreeSet<AgentName>>) -> Result<Option<Vec<PathBuf>>> {
        let fs = self.vault.fs();
        let Some(files) = fs.locate(path)? else { return Ok(None) };
        let ct = fs.read(&files.enc)?;
        let what = format!("secret {path:?}");
        let plain = crypto::decrypt(self.identity, &ct).map_err(|e| e.into_error(&what))?;
        let empty = BTreeSet::new();
        let readers = readers.unwrap_or(&empty);
        let new_ct = crypto::encrypt(&self.keyring.recipients(readers), plain.expose_secret())?;
        fs.write_deferred(&files.enc, &new_ct)?;
        let mut written = vec![files.enc.clone()];
        let old_meta: Option<Meta> = fs.read_yaml(&files.meta).ok().flatten();
        let mut meta = old_meta.clone().unwrap_or_else(|| self.fresh_meta(path));
        meta.set_agents(readers.iter().cloned());
        if old_meta.as_ref() != Some(&meta) {
            fs.write_yaml_deferred(&files.meta, &meta)?;
            written.push(files.meta);
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
        let results: Vec<Result<Option<PathBuf>>> = agents
            .par_iter()
            .map(|a| {
                let fs = self.vault.fs();
                let path = fs.escrow(a);
                let Some(ct) = fs.read_opt(&path)? else { return Ok(None) };
                let plain = crypto::decrypt(self.identity, &ct).map_err(|e| e.into_error(&format!("the escrow of agent {a:?}")))?;
                fs.write_deferred(&path, &crypto::encrypt(&owners, plain.expose_secret())?)?;
                Ok(Some(path))
            })
            .collect();
        results.into_iter().filter_map(Result::transpose).collect()
    }
}
