//! What each MCP tool does, without the protocol: thin calls into `ops` and `run` with the key
//! loaded at start. The vault is found and read again on every call (after a fast-forward pull
//! from its upstream at most every [`PULL_INTERVAL`]), so access changes apply without a restart.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretSlice;
use serde::Serialize;

use crate::crypto::Identity;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::KeySource;
use crate::ops::Vault;
use crate::ops::secrets::{self, SecretInfo};
use crate::run::{self, env, mask::Masker};
use crate::vault::{AgentName, GroupName, Manifest, OwnerName, SecretPath, policy};

/// Least time between two pulls from the vault's upstream.
pub const PULL_INTERVAL: Duration = Duration::from_secs(30);
const PULL_TIMEOUT: Duration = Duration::from_secs(15);

/// Tells the person running the server something (on stderr).
pub type Warn = Arc<dyn Fn(&str) + Send + Sync>;

/// What the server holds for its whole life.
pub struct State {
    /// Where the vault is looked for (and relative `cwd`s start).
    pub start: PathBuf,
    /// The key, read once at start; a raw AGENT_VAULT_KEY value never touches disk.
    pub identity: Identity,
    pub key_source: KeySource,
    pub no_reveal: bool,
    pub warn: Warn,
    last_pull: Mutex<Option<Instant>>,
}

/// Whose key the server holds, as the vault's policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Owner(OwnerName),
    Agent(AgentName),
    Unknown,
}

impl Who {
    pub fn label(&self) -> String {
        match self {
            Who::Owner(o) => format!("owner:{o}"),
            Who::Agent(a) => a.to_string(),
            Who::Unknown => "unknown".into(),
        }
    }
}

/// `agent_vault_whoami`'s answer.
#[derive(Debug, Serialize)]
pub struct WhoAmI {
    /// The agent whose public key matches the key in use, if any.
    pub agent: Option<AgentName>,
    /// The owner whose public key matches, if any.
    pub owner: Option<OwnerName>,
    pub recipient: String,
    pub key_source: String,
    pub vault: String,
    pub groups: Vec<GroupName>,
    pub readable_secrets: Vec<SecretPath>,
    pub reveal: bool,
}

/// A command to run, checked and with its secrets decrypted.
pub struct Prepared {
    pub command: std::process::Command,
    pub masker: Masker,
    pub paths: Vec<SecretPath>,
}

impl State {
    pub fn new(start: PathBuf, identity: Identity, key_source: KeySource, no_reveal: bool, warn: Warn) -> State {
        State { start, identity, key_source, no_reveal, warn, last_pull: Mutex::new(None) }
    }

    /// The vault, found again from the start directory, pulled when it is time to.
    pub fn vault(&self) -> Result<Vault> {
        let vault = Vault::find(&self.start)?;
        let due = {
            let mut last = self.last_pull.lock().unwrap_or_else(|e| e.into_inner());
            let due = last.is_none_or(|t| t.elapsed() >= PULL_INTERVAL);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if due && let Some(warning) = secrets::pull(&vault, PULL_TIMEOUT) {
            (self.warn)(&warning);
        }
        Ok(vault)
    }

    /// Matches the key's public key against the owners, then the agents.
    pub fn who(&self, vault: &Vault, m: &Manifest) -> Who {
        let me = self.identity.recipient();
        let owners = vault.owner_recipients(m).unwrap_or_default();
        if let Some((owner, _)) = m.owners.iter().zip(owners).find(|(_, r)| r == me) {
            return Who::Owner(owner.name.clone());
        }
        m.agents
            .iter()
            .find(|a| vault.agent_recipient(&a.name).is_ok_and(|r| &r == me))
            .map_or(Who::Unknown, |a| Who::Agent(a.name.clone()))
    }

    /// Who the key belongs to in the current vault (`Unknown` when there is none).
    pub fn who_now(&self) -> (Who, Option<String>) {
        match self.vault().and_then(|v| Ok((v.load_policy()?, v))) {
            Ok((m, v)) => (self.who(&v, &m), Some(v.root().display().to_string())),
            Err(_) => (Who::Unknown, None),
        }
    }

    /// The value (the caller refuses it under `--no-reveal` before calling).
    pub fn get(&self, secret: &str) -> Result<SecretSlice<u8>> {
        let path = SecretPath::parse(secret)?;
        secrets::get(&self.vault()?, &path, &self.identity)
    }

    pub fn list(&self, group: Option<&str>) -> Result<Vec<SecretInfo>> {
        let group = group.map(GroupName::parse).transpose()?;
        secrets::list(&self.vault()?, group.as_ref())
    }

    pub fn whoami(&self) -> Result<WhoAmI> {
        let vault = self.vault()?;
        let m = vault.load_policy()?;
        let who = self.who(&vault, &m);
        let (groups, readable) = match &who {
            Who::Owner(_) => (m.groups.iter().map(|g| g.name.clone()).collect(), m.secrets().into_iter().cloned().collect()),
            Who::Agent(a) => (m.agent(a).map(|x| x.groups.clone()).unwrap_or_default(), policy::readable_by(&m, a).into_iter().collect()),
            Who::Unknown => (Vec::new(), Vec::new()),
        };
        Ok(WhoAmI {
            agent: if let Who::Agent(a) = &who { Some(a.clone()) } else { None },
            owner: if let Who::Owner(o) = &who { Some(o.clone()) } else { None },
            recipient: self.identity.recipient().to_string(),
            key_source: self.key_source.to_string(),
            vault: vault.root().display().to_string(),
            groups,
            readable_secrets: readable,
            reveal: !self.no_reveal,
        })
    }

    /// Checks a run request and decrypts its secrets; nothing has started yet.
    pub fn prepare_run(&self, command: &[String], vars: &BTreeMap<String, String>, cwd: Option<&str>) -> Result<Prepared> {
        if command.is_empty() {
            return Err(Error::invalid_input("command is empty").hint("pass the program and its arguments, e.g. [\"env\"]"));
        }
        let explicit = vars.iter().map(|(var, path)| env::spec(var, path)).collect::<Result<Vec<_>>>()?;
        let vault = self.vault()?;
        let secrets = run::prepare(&vault, &self.identity, &explicit, &[])?;
        let argv: Vec<OsString> = command.iter().map(OsString::from).collect();
        let mut cmd = secrets.command(&argv)?;
        cmd.current_dir(self.workdir(cwd)?);
        let paths = secrets.injections().iter().map(|i| i.path.clone()).collect();
        Ok(Prepared { command: cmd, masker: secrets.masker(), paths })
    }

    fn workdir(&self, cwd: Option<&str>) -> Result<PathBuf> {
        let dir = match cwd {
            Some(c) => self.start.join(Path::new(c)),
            None => self.start.clone(),
        };
        if dir.is_dir() {
            return Ok(dir);
        }
        Err(Error::invalid_input(format!("cwd {} is not a directory", dir.display())))
    }
}

/// The error name a client sees (the SDKs' names where they exist).
pub fn error_name(e: &Error) -> &'static str {
    match e.kind() {
        ErrorKind::SecretNotFound => "SecretNotFoundError",
        ErrorKind::NotAuthorized => "NotAuthorizedError",
        ErrorKind::VaultNotFound => "VaultNotFoundError",
        ErrorKind::InvalidName => "InvalidIdentifierError",
        ErrorKind::InvalidInput => "InvalidInputError",
        ErrorKind::GroupNotFound => "GroupNotFoundError",
        ErrorKind::AgentNotFound => "AgentNotFoundError",
        ErrorKind::NoIdentity => "NoIdentityError",
        _ => "VaultError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_match_the_sdks() {
        let name = |kind| error_name(&Error::new(kind, "m"));
        assert_eq!(name(ErrorKind::SecretNotFound), "SecretNotFoundError");
        assert_eq!(name(ErrorKind::NotAuthorized), "NotAuthorizedError");
        assert_eq!(name(ErrorKind::VaultNotFound), "VaultNotFoundError");
        assert_eq!(name(ErrorKind::InvalidName), "InvalidIdentifierError");
        assert_eq!(name(ErrorKind::Git), "VaultError");
    }

    #[test]
    fn labels_name_the_holder() {
        assert_eq!(Who::Owner(OwnerName::parse("alice").unwrap()).label(), "owner:alice");
        assert_eq!(Who::Agent(AgentName::parse("ci").unwrap()).label(), "ci");
        assert_eq!(Who::Unknown.label(), "unknown");
    }
}
