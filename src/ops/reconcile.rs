//! `reconcile`: bring the vault back in line with its manifest after a crash, a merge made
//! without the drivers, or a hand edit. Idempotent. It acts on the findings of a deep `check`:
//!
//! - interrupted writes and metadata without ciphertext are removed;
//! - a ciphertext no group lists is adopted into its group (its value is never dropped);
//! - a listed secret whose ciphertext is gone is dropped from the manifest;
//! - an agent whose `public.key` disagrees with its escrow gets the escrowed key back;
//! - every secret encrypted to the wrong keys, or with wrong metadata, is re-encrypted.
//!
//! The result is committed as the whole vault directory, so what an interrupted command left
//! uncommitted is committed too.

use std::collections::BTreeSet;

use serde::Serialize;

use super::check::{self, CheckReport, Finding, escrowed_identity};
use super::reencrypt::Job;
use super::{Options, Txn, Vault};
use crate::crypto;
use crate::error::Result;
use crate::vault::{AgentName, Manifest, Meta, SecretPath, policy};

/// Codes of findings that re-encrypting the secret repairs.
const REENCRYPT: &[&str] =
    &["recipients_mismatch", "meta_mismatch", "missing_meta", "meta_invalid", "agent_can_decrypt", "agent_cannot_decrypt"];

#[derive(Debug, Default, Serialize)]
pub struct ReconcileReport {
    pub reencrypted: Vec<SecretPath>,
    pub adopted: Vec<SecretPath>,
    pub dropped: Vec<SecretPath>,
    pub removed_files: Vec<String>,
    pub repaired_agents: Vec<AgentName>,
    /// Problems reconcile cannot repair (for example expired secrets or keys it cannot read).
    pub unresolved: Vec<Finding>,
    pub commit: Option<String>,
}

pub fn reconcile(vault: &Vault, opts: &Options) -> Result<ReconcileReport> {
    let (identity, _) = opts.identity()?;
    let mut txn = vault.begin(opts)?;
    let mut m = vault.load_policy()?;
    vault.require_owner(&m, &identity)?;
    txn.whole_vault();
    let mut report = ReconcileReport::default();
    let first = check::check(vault, true, opts)?;
    let changed_agents = repair_files(vault, &mut m, &identity, &first, &mut txn, &mut report)?;
    let second = check::check(vault, true, opts)?;
    let mut targets: BTreeSet<SecretPath> = all_findings(&second)
        .filter(|f| REENCRYPT.contains(&f.code))
        .filter_map(|f| f.secret.clone())
        .filter(|s| m.contains_secret(s))
        .collect();
    for a in &changed_agents {
        targets.extend(policy::readable_by(&m, a));
    }
    let keyring = vault.keyring(&m)?;
    let job = Job { vault, manifest: &m, keyring: &keyring, identity: &identity, now: opts.now };
    let escrow_fix: Vec<AgentName> =
        all_findings(&second).filter(|f| f.code == "escrow_recipients").filter_map(|f| f.agent.clone()).collect();
    job.escrows(&escrow_fix)?;
    let out = job.secrets(&targets, opts.progress)?;
    report.reencrypted = targets.into_iter().filter(|s| !out.missing.contains(s)).collect();
    report.repaired_agents.extend(escrow_fix);
    report.unresolved = check::check(vault, true, opts)?.errors;
    report.commit = txn.commit("reconcile the vault with its manifest")?;
    Ok(report)
}

/// After a merge or a rebase (the post-merge and post-rewrite hooks): reconciles when the
/// operation changed the vault and was not a fast-forward. Without an owner key it only reports
/// whether an owner needs to run `reconcile`. None: nothing to do.
pub fn after_merge(start: &std::path::Path, opts: &Options) -> Result<Option<ReconcileReport>> {
    let Ok(vault) = Vault::find(start) else { return Ok(None) };
    let repo = vault.repo()?;
    let rel = repo.relative(vault.fs().dir())?;
    let tree = |rev: &str| -> Result<Option<String>> {
        let out = repo.git().args(["rev-parse", "-q", "--verify", &format!("{rev}:{rel}")]).output()?;
        Ok(out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
    };
    if tree("ORIG_HEAD")? == tree("HEAD")? {
        return Ok(None);
    }
    let ff = repo.git().args(["merge-base", "--is-ancestor", "ORIG_HEAD", "HEAD"]).output()?.status.success()
        && repo.git().args(["rev-parse", "-q", "--verify", "HEAD^2"]).output()?.status.code() != Some(0);
    if ff {
        return Ok(None);
    }
    let owner = opts.identity().ok().filter(|(id, _)| vault.load_policy().is_ok_and(|m| vault.require_owner(&m, id).is_ok()));
    if owner.is_none() {
        if check::check(&vault, false, opts)?.is_clean() {
            return Ok(None);
        }
        return Err(crate::error::Error::new(
            crate::error::ErrorKind::NoIdentity,
            "the merge left the vault out of line with its policy, and no owner key is at hand",
        )
        .hint("an owner should run `git vault reconcile`"));
    }
    reconcile(&vault, opts).map(Some)
}

fn all_findings(r: &CheckReport) -> impl Iterator<Item = &Finding> {
    r.errors.iter().chain(r.warnings.iter())
}

/// File-level repairs; returns the agents whose key changed.
fn repair_files(
    vault: &Vault,
    m: &mut Manifest,
    identity: &crypto::Identity,
    found: &CheckReport,
    txn: &mut Txn,
    report: &mut ReconcileReport,
) -> Result<Vec<AgentName>> {
    let fs = vault.fs();
    let before = m.clone();
    let mut changed_agents = Vec::new();
    for f in all_findings(found) {
        let file = f.file.as_ref().map(|rel| vault.root().join(rel));
        match (f.code, &file, &f.secret, &f.agent) {
            ("interrupted_write" | "orphan_meta", Some(path), _, _) => {
                txn.remove(path)?;
                report.removed_files.push(f.file.clone().unwrap_or_default());
            }
            ("orphan", Some(path), Some(s), _) => {
                if let Some(adopted) = adopt(vault, m, identity, path, s)? {
                    report.adopted.push(adopted);
                }
            }
            ("missing_ciphertext", _, Some(s), _) => {
                m.remove_secret(s);
                if let Some(files) = fs.legacy_files(s).into_iter().chain([fs.secret_files(s)]).find(|f| f.meta.exists()) {
                    txn.remove(&files.meta)?;
                }
                report.dropped.push(s.clone());
            }
            ("escrow_mismatch", _, _, Some(a)) => {
                let ct = fs.read(&fs.escrow(a))?;
                if let Ok(id) = escrowed_identity(identity, &ct) {
                    txn.write(&fs.public_key(a), format!("{}\n", id.recipient()).as_bytes())?;
                    changed_agents.push(a.clone());
                    report.repaired_agents.push(a.clone());
                }
            }
            _ => {}
        }
    }
    if *m != before {
        vault.save_policy(txn, m)?;
    }
    Ok(changed_agents)
}

/// Lists an orphan ciphertext in the manifest when the owner key reads it. The secret's name
/// comes from its metadata when that agrees with the file's place (the seed's legacy location
/// included), else from the file's place.
fn adopt(
    vault: &Vault,
    m: &mut Manifest,
    identity: &crypto::Identity,
    enc: &std::path::Path,
    s: &SecretPath,
) -> Result<Option<SecretPath>> {
    let fs = vault.fs();
    let ct = fs.read(enc)?;
    if !matches!(crypto::can_decrypt(identity, &ct), Ok(true)) {
        return Ok(None);
    }
    let meta_path = enc.with_extension("meta");
    let meta: Option<Meta> = fs.read_yaml(&meta_path).ok().flatten();
    let name = match &meta {
        Some(meta) if fs.legacy_files(&meta.name).is_some_and(|l| l.enc == enc) => meta.name.clone(),
        _ => s.clone(),
    };
    let group = meta.as_ref().filter(|meta| meta.name == name).map(|meta| meta.group.clone()).unwrap_or_else(|| name.default_group());
    m.add_secret(&name, &group);
    Ok(Some(name))
}
