//! `scan`: builds the scanner for a repository (its allowlist, and the exact values of the
//! vault's secrets when an identity can decrypt them, in memory only) and feeds it the staged
//! blobs or the work tree's files.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use secrecy::ExposeSecret;

use super::{Options, Vault};
use crate::crypto;
use crate::error::{Error, ErrorKind, Result};
use crate::git::staged;
use crate::scan::{Allowlist, Finding, KnownValue, ScanOptions, Scanner};

/// What to scan.
pub enum Target {
    Staged,
    Paths(Vec<PathBuf>),
}

/// The allowlist of the vault of `start`, if there is one.
fn allowlist(vault: Option<&Vault>) -> Result<Allowlist> {
    let Some(v) = vault else { return Ok(Allowlist::empty()) };
    let path = v.fs().dir().join("scan-allow.yaml");
    match v.fs().read_opt(&path)? {
        None => Ok(Allowlist::empty()),
        Some(bytes) => {
            Allowlist::from_yaml(&String::from_utf8_lossy(&bytes)).map_err(|e| Error::invalid_input(format!("{}: {e}", v.fs().show(&path))))
        }
    }
}

/// Values longer than this (certificates, whole files) are not searched for verbatim: a leak
/// of such a value is caught by the pattern rules, and huge needles make the matcher slow.
const MAX_KNOWN_VALUE: usize = 4096;

/// The values of every secret the available identity decrypts. No identity: none.
fn known_values(vault: Option<&Vault>, opts: &Options) -> Result<Vec<KnownValue>> {
    let Some(v) = vault else { return Ok(Vec::new()) };
    let identity = match opts.identity() {
        Ok((id, _)) => id,
        Err(e) if e.kind() == ErrorKind::NoIdentity => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let Ok(m) = v.load_policy() else { return Ok(Vec::new()) };
    let secrets: Vec<_> = m.secrets().into_iter().cloned().collect();
    Ok(secrets
        .par_iter()
        .filter_map(|s| {
            let files = v.fs().locate(s).ok()??;
            let ct = v.fs().read(&files.enc).ok()?;
            let value = crypto::decrypt(&identity, &ct).ok()?;
            (value.expose_secret().len() <= MAX_KNOWN_VALUE).then(|| KnownValue { name: s.to_string(), value })
        })
        .collect())
}

/// Files git-vault itself writes into the vault directory: ciphertext, metadata, keys, policy.
/// They cannot hold a plaintext value unless edited by hand, so when only they are scanned the
/// vault's values are not decrypted (the pattern rules still run on them).
fn vault_managed(path: &str) -> bool {
    let Some((_, rel)) = crate::store::split_vault_path(path) else { return false };
    let name = rel.rsplit('/').next().unwrap_or(rel);
    (rel.starts_with("secrets/") && (name.ends_with(".enc") || name.ends_with(".meta")))
        || (rel.starts_with("agents/") && (name == "public.key" || name.ends_with(".escrow")))
        || ["manifest.yaml", "config.yaml", "owner.pub", ".gitignore", ".gitattributes"].contains(&rel)
}

pub fn scan(start: &Path, target: Target, opts: &Options) -> Result<Vec<Finding>> {
    // the commit git-vault makes of a vault change holds only what it just wrote
    let own = matches!(target, Target::Staged) && std::env::var_os(crate::git::commit::OWN_COMMIT_ENV).is_some();
    let vault = Vault::find(start).ok();
    let allow = allowlist(vault.as_ref())?;
    let max_file_size = crate::scan::DEFAULT_MAX_FILE_SIZE;
    let files = match target {
        Target::Staged => staged::staged_files(start, max_file_size, &|p| allow.skips_path(p) || (own && vault_managed(p)))?,
        Target::Paths(paths) => read_files(start, &paths, &allow, max_file_size)?,
    };
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let known_values = if files.iter().all(|(p, _)| vault_managed(p)) { Vec::new() } else { known_values(vault.as_ref(), opts)? };
    let scanner =
        Scanner::new(ScanOptions { allowlist: allow, known_values, max_file_size }).map_err(|e| Error::invalid_input(e.to_string()))?;
    Ok(scanner.scan_all(files))
}

/// Reads work-tree files, leaving out those the allowlist skips and those over `max_size`.
fn read_files(start: &Path, paths: &[PathBuf], allow: &Allowlist, max_size: u64) -> Result<Vec<(String, Vec<u8>)>> {
    let base = std::path::absolute(start).map_err(|e| Error::io(start.display(), e))?;
    let files = staged::worktree_files(&base, paths)?;
    Ok(files
        .par_iter()
        .filter_map(|p| {
            let shown = p.strip_prefix(&base).unwrap_or(p).to_string_lossy().into_owned();
            let meta = std::fs::metadata(p).ok()?;
            if meta.len() > max_size || allow.skips_path(&shown) {
                return None;
            }
            Some((shown, std::fs::read(p).ok()?))
        })
        .collect())
}
