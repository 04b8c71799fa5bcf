//! Owners: humans whose keys decrypt everything. Adding or removing one re-encrypts every secret
//! and every escrowed agent key to the new owner set.

use std::collections::BTreeSet;

use serde::Serialize;

use super::reencrypt::Job;
use super::{Options, Vault};
use crate::crypto::Recipient;
use crate::error::{Error, ErrorKind, Result};
use crate::vault::{AgentName, Manifest, OwnerName, SecretPath};

#[derive(Debug, Serialize)]
pub struct OwnerInfo {
    pub name: String,
    pub public_key: String,
}

#[derive(Debug, Serialize)]
pub struct OwnerChange {
    pub owner: String,
    pub reencrypted: usize,
    pub commit: Option<String>,
}

pub fn list_owners(vault: &Vault) -> Result<Vec<OwnerInfo>> {
    let m = vault.load_policy()?;
    let keys = vault.owner_recipients(&m)?;
    Ok(m.owners.iter().zip(keys).map(|(o, k)| OwnerInfo { name: o.name.to_string(), public_key: k.to_string() }).collect())
}

pub fn add_owner(vault: &Vault, name: &OwnerName, recipient: &str, opts: &Options) -> Result<OwnerChange> {
    let recipient = Recipient::parse(recipient).map_err(Error::invalid_input)?;
    let (identity, _) = opts.identity()?;
    let mut txn = vault.begin(opts)?;
    let mut m = vault.load_policy()?;
    vault.require_owner(&m, &identity)?;
    if m.owner(name).is_some() {
        return Err(Error::new(ErrorKind::AlreadyExists, format!("an owner named {name:?} already exists")));
    }
    if vault.owner_recipients(&m)?.contains(&recipient) {
        return Err(Error::new(ErrorKind::AlreadyExists, format!("{recipient} is already an owner's key")));
    }
    m.add_owner(name.clone(), &recipient.to_string());
    let count = rewrite_all(vault, &m, &identity, opts, &mut txn)?;
    let commit = txn.commit(&format!("add owner '{name}'"))?;
    Ok(OwnerChange { owner: name.to_string(), reencrypted: count, commit })
}

pub fn remove_owner(vault: &Vault, name: &OwnerName, opts: &Options) -> Result<OwnerChange> {
    let (identity, _) = opts.identity()?;
    let mut txn = vault.begin(opts)?;
    let mut m = vault.load_policy()?;
    vault.require_owner(&m, &identity)?;
    if m.owner(name).is_none() {
        return Err(Error::new(ErrorKind::InvalidInput, format!("no owner named {name:?}")).hint("see `git vault list-owners`"));
    }
    if m.owners.len() == 1 {
        return Err(Error::invalid_input("cannot remove the last owner").hint("add another owner first"));
    }
    m.remove_owner(name);
    if !vault.owner_recipients(&m)?.contains(identity.recipient()) {
        return Err(Error::invalid_input("cannot remove your own key from the owners with your own key")
            .hint("let another owner remove you, so the vault never loses its last usable owner key"));
    }
    let count = rewrite_all(vault, &m, &identity, opts, &mut txn)?;
    let commit = txn.commit(&format!("remove owner '{name}'"))?;
    Ok(OwnerChange { owner: name.to_string(), reencrypted: count, commit })
}

/// Saves the manifest, then re-encrypts every secret and escrow to its owners.
fn rewrite_all(vault: &Vault, m: &Manifest, identity: &crate::crypto::Identity, opts: &Options, txn: &mut super::Txn) -> Result<usize> {
    let keyring = vault.keyring(m)?;
    vault.save_policy(txn, m)?;
    let job = Job { vault, manifest: m, keyring: &keyring, identity, now: opts.now };
    let all: BTreeSet<SecretPath> = m.secrets().into_iter().cloned().collect();
    let out = job.secrets(&all, opts.progress)?;
    txn.touched(out.written);
    let agents: Vec<AgentName> = m.agents.iter().map(|a| a.name.clone()).collect();
    txn.touched(job.escrows(&agents)?);
    Ok(out.count)
}
