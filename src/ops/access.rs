//! `grant` and `revoke`: change an agent's groups and re-encrypt exactly the secrets whose
//! readers change. The manifest is written first; the re-encryption follows.

use serde::Serialize;

use super::reencrypt::Job;
use super::{Options, Vault};
use crate::error::Result;
use crate::vault::{AgentName, GroupName, SecretPath, policy};

#[derive(Debug, Serialize)]
pub struct AccessReport {
    pub agent: AgentName,
    pub group: GroupName,
    /// False when the agent already had (grant) or did not have (revoke) the group.
    pub changed: bool,
    pub reencrypted: usize,
    /// After a revoke: the secrets the agent could read and no longer can; rotate them at the
    /// source, since the agent may have kept their values.
    pub rotate: Vec<SecretPath>,
    pub commit: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Grant,
    Revoke,
}

pub fn grant(vault: &Vault, agent: &AgentName, group: &GroupName, opts: &Options) -> Result<AccessReport> {
    change(vault, agent, group, Change::Grant, opts)
}

pub fn revoke(vault: &Vault, agent: &AgentName, group: &GroupName, opts: &Options) -> Result<AccessReport> {
    change(vault, agent, group, Change::Revoke, opts)
}

fn change(vault: &Vault, agent: &AgentName, group: &GroupName, how: Change, opts: &Options) -> Result<AccessReport> {
    let (identity, _) = opts.identity()?;
    let mut txn = vault.begin(opts)?;
    let before = vault.load_policy()?;
    vault.require_owner(&before, &identity)?;
    vault.require_agent(&before, agent)?;
    vault.require_group(&before, group)?;
    let mut after = before.clone();
    let changed = match how {
        Change::Grant => after.grant(agent, group),
        Change::Revoke => after.revoke(agent, group),
    };
    let mut report = AccessReport { agent: agent.clone(), group: group.clone(), changed, reencrypted: 0, rotate: Vec::new(), commit: None };
    if !changed {
        return Ok(report);
    }
    let affected = policy::changed_readers(&before, &after);
    let keyring = vault.keyring(&after)?;
    vault.save_policy(&mut txn, &after)?;
    let job = Job { vault, manifest: &after, keyring: &keyring, identity: &identity, now: opts.now };
    let out = job.secrets(&affected, opts.progress)?;
    txn.touched(out.written);
    report.reencrypted = out.count;
    if how == Change::Revoke {
        let still = policy::readable_by(&after, agent);
        report.rotate = policy::readable_by(&before, agent).into_iter().filter(|s| !still.contains(s)).collect();
    }
    let what = match how {
        Change::Grant => format!("grant '{agent}' access to '{group}'"),
        Change::Revoke => format!("revoke '{agent}' access to '{group}'"),
    };
    report.commit = txn.commit(&what)?;
    Ok(report)
}
