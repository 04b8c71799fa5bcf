//! Secrets: set, get, list, rm, and the safe pull before a read.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretSlice};
use serde::Serialize;

use super::{EncodedPolicy, Options, Vault};
use crate::crypto::{self, Identity, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::git::pull::{self, PullOutcome};
use crate::vault::{AgentName, GroupName, Manifest, Meta, SecretPath, Timestamp, policy};

/// What `set` should do with the expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Keep,
    Clear,
    At(Timestamp),
}

/// A `set` request, already validated by the caller's parser.
pub struct SetRequest {
    pub path: SecretPath,
    pub value: SecretSlice<u8>,
    pub group: Option<GroupName>,
    pub expires: Expiry,
    /// `--agents`: None keeps the per-secret readers, Some(empty) clears them.
    pub agents: Option<Vec<AgentName>>,
}

#[derive(Debug, Serialize)]
pub struct SetReport {
    pub name: SecretPath,
    pub group: GroupName,
    pub created: bool,
    pub authorized_agents: Vec<AgentName>,
    pub commit: Option<String>,
}

/// Metadata of one secret, as `list` shows it (JSON field order is the contract).
#[derive(Debug, Clone, Serialize)]
pub struct SecretInfo {
    pub name: SecretPath,
    pub group: GroupName,
    pub created: Option<String>,
    pub rotated: Option<String>,
    pub expires: Option<String>,
    pub authorized_agents: Vec<AgentName>,
}

#[derive(Debug, Serialize)]
pub struct RmReport {
    pub name: SecretPath,
    pub commit: Option<String>,
}

/// The group a set lands in: the one asked for, else the one it has, else the default.
fn target_group(m: &Manifest, req: &SetRequest, old: Option<&Meta>) -> GroupName {
    if let Some(g) = &req.group {
        return g.clone();
    }
    if let Some(meta) = old
        && m.groups_listing(&req.path).contains(&&meta.group)
    {
        return meta.group.clone();
    }
    m.groups_listing(&req.path).first().map(|g| (*g).clone()).unwrap_or_else(|| req.path.default_group())
}

/// The manifest after the set: the secret listed in its group (moved there when the group
/// changed) and its per-secret readers as asked; and whether that changed it.
fn planned_manifest(mut m: Manifest, req: &SetRequest, group: &GroupName, old: Option<&Meta>) -> Result<(Manifest, bool)> {
    let mut changed = false;
    if let Some(agents) = &req.agents {
        for a in agents {
            if m.agent(a).is_none() {
                return Err(Error::new(ErrorKind::AgentNotFound, format!("no agent named {a:?}")).hint("see `git vault list-agents`"));
            }
        }
        changed |= m.set_readers(&req.path, agents);
    }
    if let Some(meta) = old
        && &meta.group != group
    {
        changed |= m.unlist_secret(&req.path, &meta.group);
    }
    changed |= m.add_secret(&req.path, group);
    Ok((m, changed))
}

pub fn set(vault: &Vault, req: SetRequest, opts: &Options) -> Result<SetReport> {
    let mut txn = vault.begin(opts)?;
    let m = vault.load_policy()?;
    let fs = vault.fs();
    let located = fs.locate(&req.path)?;
    let old: Option<Meta> = match &located {
        Some(files) => fs.read_yaml(&files.meta).ok().flatten(),
        None => None,
    };
    let group = target_group(&m, &req, old.as_ref());
    let (next, changed) = planned_manifest(m, &req, &group, old.as_ref())?;
    std::thread::scope(|s| {
        // a large new manifest is encoded on another thread while the secret is encrypted and
        // written (before it, as the write order wants)
        let listed: usize = next.groups.iter().map(|g| g.secrets.len()).sum();
        let encoding = (changed && listed >= ENCODE_BESIDE).then(|| vault.encode_beside(s, &next));
        let readers = policy::readers_of(&next, &req.path);
        let mut recipients: Vec<Recipient> = vault.owner_recipients(&next)?;
        for a in &readers {
            recipients.push(vault.agent_recipient(a)?);
        }
        let ct = crypto::encrypt(&recipients.iter().collect::<Vec<_>>(), req.value.expose_secret())?;
        let mut meta = old.clone().unwrap_or_else(|| Meta::new(req.path.clone(), group.clone(), opts.now));
        meta.name = req.path.clone();
        meta.group = group.clone();
        meta.rotated = Some(opts.now);
        meta.created = meta.created.or(Some(opts.now));
        match req.expires {
            Expiry::Keep => {}
            Expiry::Clear => meta.expires = None,
            Expiry::At(t) => meta.expires = Some(t),
        }
        meta.set_agents(readers.iter().cloned());
        let files = fs.secret_files(&req.path);
        txn.write(&files.enc, &ct)?;
        txn.write_yaml(&files.meta, &meta)?;
        if let Some(legacy) = located.filter(|l| l.legacy) {
            txn.remove(&legacy.enc)?;
            txn.remove(&legacy.meta)?;
        }
        if changed {
            let encoded = match encoding {
                Some(beside) => beside.policy()?,
                None => EncodedPolicy::of(&next)?,
            };
            vault.save_encoded(&mut txn, encoded)?;
        }
        let commit = txn.commit(&format!("set '{}'", req.path))?;
        Ok(SetReport { name: req.path, group, created: old.is_none(), authorized_agents: meta.authorized_agents, commit })
    })
}

/// From this many secrets listed (a manifest of about 20 KiB), `set` encodes the new manifest on
/// another thread; below it, encoding takes less than a thread costs.
const ENCODE_BESIDE: usize = 1000;

/// Fast-forwards the vault from its upstream when one is configured; returns a warning to show
/// when that was not possible.
pub fn pull(vault: &Vault, timeout: Duration) -> Option<String> {
    let Ok(repo) = vault.repo() else { return None };
    match pull::safe_pull(&repo, timeout) {
        PullOutcome::Skipped(why) => Some(why),
        _ => None,
    }
}

/// Decrypts one secret. No manifest read: the ciphertext is the truth of who may read it.
pub fn get(vault: &Vault, path: &SecretPath, identity: &Identity) -> Result<SecretSlice<u8>> {
    let fs = vault.fs();
    let files = fs
        .locate(path)?
        .ok_or_else(|| Error::new(ErrorKind::SecretNotFound, format!("no secret named {path:?}")).hint("see `git vault list`"))?;
    let ct = fs.read(&files.enc)?;
    crypto::decrypt(identity, &ct).map_err(|e| e.into_error(&format!("secret {path:?}")))
}

pub fn list(vault: &Vault, group: Option<&GroupName>) -> Result<Vec<SecretInfo>> {
    let m = vault.load_policy()?;
    if let Some(g) = group {
        vault.require_group(&m, g)?;
    }
    let mut out = Vec::new();
    for path in m.secrets() {
        if let Some(g) = group
            && !m.groups_listing(path).contains(&g)
        {
            continue;
        }
        out.push(info(vault, &m, path)?);
    }
    Ok(out)
}

/// The listing entry of one secret: its metadata, or what the manifest knows when the
/// metadata is missing or unreadable.
pub fn info(vault: &Vault, m: &Manifest, path: &SecretPath) -> Result<SecretInfo> {
    let meta: Option<Meta> = match vault.fs().locate(path)? {
        Some(files) => vault.fs().read_yaml(&files.meta).ok().flatten(),
        None => None,
    };
    let fallback_group = || m.groups_listing(path).first().map(|g| (*g).clone()).unwrap_or_else(|| path.default_group());
    let secs = |t: Option<Timestamp>| t.map(Timestamp::to_seconds_string);
    Ok(match meta {
        Some(meta) => SecretInfo {
            name: path.clone(),
            group: meta.group,
            created: secs(meta.created),
            rotated: secs(meta.rotated),
            expires: secs(meta.expires),
            authorized_agents: meta.authorized_agents.into_iter().collect::<std::collections::BTreeSet<_>>().into_iter().collect(),
        },
        None => SecretInfo {
            name: path.clone(),
            group: fallback_group(),
            created: None,
            rotated: None,
            expires: None,
            authorized_agents: policy::readers_of(m, path).into_iter().collect(),
        },
    })
}

pub fn rm(vault: &Vault, path: &SecretPath, opts: &Options) -> Result<RmReport> {
    let mut txn = vault.begin(opts)?;
    let mut m = vault.load_policy()?;
    let located = vault.fs().locate(path)?;
    if located.is_none() && !m.contains_secret(path) {
        return Err(Error::new(ErrorKind::SecretNotFound, format!("no secret named {path:?}")).hint("see `git vault list`"));
    }
    if let Some(files) = located {
        txn.remove(&files.enc)?;
        txn.remove(&files.meta)?;
    }
    if m.remove_secret(path) {
        vault.save_policy(&mut txn, &m)?;
    }
    let commit = txn.commit(&format!("remove secret '{path}'"))?;
    Ok(RmReport { name: path.clone(), commit })
}
