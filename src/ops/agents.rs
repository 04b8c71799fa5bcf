//! Agents: their keypairs, escrows, and removal or recovery with re-encryption.
//!
//! Write order, for crash safety: the local key file first, then the escrow (the source of truth
//! `reconcile` trusts), then `public.key`, then the manifest or the re-encryption.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use serde::Serialize;

use super::reencrypt::Job;
use super::{Options, Txn, Vault};
use crate::crypto::{self, Identity};
use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::vault::{AgentName, Manifest, SecretPath, policy};

#[derive(Debug, Serialize)]
pub struct AgentInfo {
    pub name: String,
    pub groups: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct AddAgentReport {
    pub agent: String,
    pub key_file: PathBuf,
    pub key_created: bool,
    pub public_key: String,
    pub commit: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RemoveAgentReport {
    pub agent: String,
    /// Secrets the agent could read: rotate them at their source.
    pub rotate: Vec<SecretPath>,
    pub commit: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RecoverAgentReport {
    pub agent: String,
    pub key_file: PathBuf,
    /// Where the replaced key file was moved, if there was one.
    pub old_key_file: Option<PathBuf>,
    pub public_key: String,
    pub reencrypted: usize,
    pub rotate: Vec<SecretPath>,
    pub commit: Option<String>,
}

pub fn list_agents(vault: &Vault) -> Result<Vec<AgentInfo>> {
    let m = vault.load_policy()?;
    Ok(m.agents.iter().map(|a| AgentInfo { name: a.name.to_string(), groups: a.groups.iter().map(|g| g.to_string()).collect() }).collect())
}

/// Writes the escrow (the identity encrypted to the owners), then `public.key`.
fn write_agent_files(vault: &Vault, m: &Manifest, txn: &mut Txn, agent: &AgentName, id: &Identity, opts: &Options) -> Result<()> {
    let owners = vault.owner_recipients(m)?;
    let key_text = id.to_key_file(&opts.now.to_string());
    let escrow = crypto::encrypt(&owners.iter().collect::<Vec<_>>(), key_text.as_bytes())?;
    txn.write(&vault.fs().escrow(agent), &escrow)?;
    txn.write(&vault.fs().public_key(agent), format!("{}\n", id.recipient()).as_bytes())
}

pub fn add_agent(vault: &Vault, agent: &AgentName, opts: &Options) -> Result<AddAgentReport> {
    let mut txn = vault.begin(opts)?;
    let mut m = vault.load_policy()?;
    if m.agent(agent).is_some() {
        return Err(Error::new(ErrorKind::AlreadyExists, format!("an agent named {agent:?} already exists"))
            .hint("`git vault recover-agent` gives it a new key"));
    }
    let key = keys::ensure(&opts.env.agent_key_path(agent)?, "agent key", opts.now)?;
    write_agent_files(vault, &m, &mut txn, agent, &key.identity, opts)?;
    m.add_agent(agent.clone());
    vault.save_policy(&mut txn, &m)?;
    let commit = txn.commit(&format!("add agent '{agent}'"))?;
    Ok(AddAgentReport {
        agent: agent.to_string(),
        key_file: key.path,
        key_created: key.created,
        public_key: key.identity.recipient().to_string(),
        commit,
    })
}

pub fn remove_agent(vault: &Vault, agent: &AgentName, opts: &Options) -> Result<RemoveAgentReport> {
    let (identity, _) = opts.identity()?;
    let mut txn = vault.begin(opts)?;
    let mut m = vault.load_policy()?;
    vault.require_owner(&m, &identity)?;
    vault.require_agent(&m, agent)?;
    let readable = policy::readable_by(&m, agent);
    m.remove_agent(agent);
    let keyring = vault.keyring(&m)?;
    vault.save_policy(&mut txn, &m)?;
    let job = Job { vault, manifest: &m, keyring: &keyring, identity: &identity, now: opts.now };
    let out = job.secrets(&readable, opts.progress)?;
    txn.touched(out.written);
    txn.remove(&vault.fs().escrow(agent))?;
    txn.remove(&vault.fs().public_key(agent))?;
    let commit = txn.commit(&format!("remove agent '{agent}'"))?;
    Ok(RemoveAgentReport { agent: agent.to_string(), rotate: readable.into_iter().collect(), commit })
}

/// Moves an existing key file aside (never deleting or overwriting it); returns where it went.
fn move_aside(path: &Path, opts: &Options) -> Result<Option<PathBuf>> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let base = format!("{}.replaced-{}", path.display(), opts.now.unix());
    let aside = (0..1000)
        .map(|n| PathBuf::from(if n == 0 { base.clone() } else { format!("{base}-{n}") }))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .ok_or_else(|| Error::new(ErrorKind::AlreadyExists, format!("{base} already exists")))?;
    std::fs::rename(path, &aside).map_err(|e| Error::io(format!("cannot move {} aside", path.display()), e))?;
    Ok(Some(aside))
}

pub fn recover_agent(vault: &Vault, agent: &AgentName, to: Option<&Path>, opts: &Options) -> Result<RecoverAgentReport> {
    let (identity, _) = opts.identity()?;
    let mut txn = vault.begin(opts)?;
    let m = vault.load_policy()?;
    vault.require_owner(&m, &identity)?;
    vault.require_agent(&m, agent)?;
    let key_file = match to {
        Some(p) => p.to_owned(),
        None => opts.env.agent_key_path(agent)?,
    };
    let old_key_file = if to.is_some() { None } else { move_aside(&key_file, opts)? };
    let new_id = Identity::generate();
    keys::write_new(&key_file, &new_id, opts.now)?;
    write_agent_files(vault, &m, &mut txn, agent, &new_id, opts)?;
    let keyring = vault.keyring(&m)?;
    let readable = policy::readable_by(&m, agent);
    let job = Job { vault, manifest: &m, keyring: &keyring, identity: &identity, now: opts.now };
    let out = job.secrets(&readable, opts.progress)?;
    txn.touched(out.written);
    let commit = txn.commit(&format!("recover agent '{agent}' with a new key"))?;
    Ok(RecoverAgentReport {
        agent: agent.to_string(),
        key_file,
        old_key_file,
        public_key: new_id.recipient().to_string(),
        reencrypted: out.count,
        rotate: readable.into_iter().collect(),
        commit,
    })
}

/// Writes the agent's key back from its escrow to a new file (0600, never overwriting).
pub fn restore_agent(vault: &Vault, agent: &AgentName, to: &Path, opts: &Options) -> Result<PathBuf> {
    let (identity, _) = opts.identity()?;
    let m = vault.load_policy()?;
    vault.require_owner(&m, &identity)?;
    vault.require_agent(&m, agent)?;
    let path = vault.fs().escrow(agent);
    let ct = vault.fs().read_opt(&path)?.ok_or_else(|| Error::invalid_input(format!("{} is missing", vault.fs().show(&path))))?;
    let plain = crypto::decrypt(&identity, &ct).map_err(|e| e.into_error(&format!("the escrow of agent {agent:?}")))?;
    let text = std::str::from_utf8(plain.expose_secret()).map_err(|_| Error::invalid_input("the escrow does not hold a key file"))?;
    let restored = Identity::parse(text).map_err(|e| Error::invalid_input(format!("the escrow of agent {agent:?}: {e}")))?;
    keys::write_new(to, &restored, opts.now)?;
    Ok(to.to_owned())
}
