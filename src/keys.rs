//! Finding and reading identities (SPEC §3) and creating key files under `~/.agent-vault/`.
//!
//! Resolution: `--key FILE` (must exist), else `AGENT_VAULT_KEY` (a raw `AGE-SECRET-KEY-…` value
//! stays in memory only; anything else is a path that must exist), else
//! `~/.agent-vault/owner.key`. There is no silent fallback from a named key to another one.
//! Existing key files are never overwritten.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::crypto::Identity;
use crate::error::{Error, ErrorKind, Result};
use crate::store;
use crate::vault::{AgentName, Timestamp};

const MAX_KEY_FILE: u64 = 64 * 1024;

/// What the process environment says about keys, read once.
#[derive(Clone, Default)]
pub struct KeyEnv {
    /// `AGENT_VAULT_KEY`, if set.
    pub agent_vault_key: Option<Zeroizing<String>>,
    /// `HOME`, if set.
    pub home: Option<PathBuf>,
}

impl fmt::Debug for KeyEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEnv").field("agent_vault_key", &self.agent_vault_key.as_ref().map(|_| "…")).field("home", &self.home).finish()
    }
}

impl KeyEnv {
    pub fn from_process() -> Self {
        KeyEnv {
            agent_vault_key: std::env::var("AGENT_VAULT_KEY").ok().filter(|v| !v.is_empty()).map(Zeroizing::new),
            home: std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from),
        }
    }

    /// `~/.agent-vault`.
    pub fn key_home(&self) -> Result<PathBuf> {
        self.home
            .as_ref()
            .map(|h| h.join(".agent-vault"))
            .ok_or_else(|| Error::new(ErrorKind::NoIdentity, "HOME is not set, so ~/.agent-vault cannot be found"))
    }

    pub fn owner_key_path(&self) -> Result<PathBuf> {
        Ok(self.key_home()?.join("owner.key"))
    }

    pub fn agent_key_path(&self, agent: &AgentName) -> Result<PathBuf> {
        Ok(self.key_home()?.join("agents").join(format!("{agent}.key")))
    }
}

/// Where the identity in use came from (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Flag(PathBuf),
    EnvValue,
    EnvPath(PathBuf),
    Default(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Flag(p) => write!(f, "--key {}", p.display()),
            KeySource::EnvValue => f.write_str("AGENT_VAULT_KEY (value)"),
            KeySource::EnvPath(p) => write!(f, "AGENT_VAULT_KEY={}", p.display()),
            KeySource::Default(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Resolves the identity to decrypt with (SPEC §3).
pub fn resolve(flag: Option<&Path>, env: &KeyEnv) -> Result<(Identity, KeySource)> {
    if let Some(path) = flag {
        return Ok((load(path, "--key")?, KeySource::Flag(path.to_owned())));
    }
    if let Some(value) = &env.agent_vault_key {
        let trimmed = value.trim();
        if trimmed.starts_with("AGE-SECRET-KEY-") {
            let id = Identity::parse(trimmed).map_err(|e| Error::new(ErrorKind::NoIdentity, format!("AGENT_VAULT_KEY: {e}")))?;
            return Ok((id, KeySource::EnvValue));
        }
        let path = PathBuf::from(trimmed);
        return Ok((load(&path, "AGENT_VAULT_KEY")?, KeySource::EnvPath(path)));
    }
    let path = env.owner_key_path()?;
    if !path.exists() {
        return Err(Error::new(ErrorKind::NoIdentity, format!("no identity: {} does not exist", path.display()))
            .hint("pass --key FILE, set AGENT_VAULT_KEY, or run `git vault init` to create an owner key"));
    }
    Ok((load(&path, "owner key")?, KeySource::Default(path)))
}

/// Reads one identity from a key file. Errors name the file, never its content.
pub fn load(path: &Path, what: &str) -> Result<Identity> {
    let file = fs::File::open(path).map_err(|e| {
        let kind = if e.kind() == io::ErrorKind::NotFound { ErrorKind::NoIdentity } else { ErrorKind::Io };
        Error::new(kind, format!("{what}: cannot read {}: {e}", path.display()))
    })?;
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_KEY_FILE)
        .read_to_string(&mut text)
        .map_err(|e| Error::new(ErrorKind::NoIdentity, format!("{what}: cannot read {}: {e}", path.display())))?;
    Identity::parse(&text).map_err(|e| Error::new(ErrorKind::NoIdentity, format!("{what}: {}: {e}", path.display())))
}

/// A key that was found or made.
pub struct EnsuredKey {
    pub identity: Identity,
    pub path: PathBuf,
    pub created: bool,
}

/// Loads the key at `path`, or creates it (0600, never overwriting) when it does not exist.
pub fn ensure(path: &Path, what: &str, now: Timestamp) -> Result<EnsuredKey> {
    if fs::symlink_metadata(path).is_ok() {
        let identity = load(path, what)?;
        return Ok(EnsuredKey { identity, path: path.to_owned(), created: false });
    }
    let identity = Identity::generate();
    write_new(path, &identity, now)?;
    Ok(EnsuredKey { identity, path: path.to_owned(), created: true })
}

/// Writes a new key file; refuses to overwrite one.
pub fn write_new(path: &Path, identity: &Identity, now: Timestamp) -> Result<()> {
    let text = identity.to_key_file(&now.to_string());
    store::create_private(path, text.as_bytes()).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Error::new(ErrorKind::AlreadyExists, format!("{} already exists; key files are never overwritten", path.display()))
        } else {
            Error::io(format!("cannot create {}", path.display()), e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(home: &Path, key: Option<&str>) -> KeyEnv {
        KeyEnv { agent_vault_key: key.map(|k| Zeroizing::new(k.to_owned())), home: Some(home.to_owned()) }
    }

    #[test]
    fn resolution_order_and_no_fallback() {
        let d = tempfile::tempdir().unwrap();
        let e = env(d.path(), None);
        assert_eq!(resolve(None, &e).unwrap_err().kind(), ErrorKind::NoIdentity);
        let owner = ensure(&e.owner_key_path().unwrap(), "owner key", Timestamp::now()).unwrap();
        let (id, src) = resolve(None, &e).unwrap();
        assert_eq!(id.recipient(), owner.identity.recipient());
        assert!(matches!(src, KeySource::Default(_)));
        let missing = d.path().join("nope.key");
        assert!(resolve(Some(&missing), &e).is_err(), "--key never falls back");
        let e2 = env(d.path(), Some(missing.to_str().unwrap()));
        assert!(resolve(None, &e2).is_err(), "AGENT_VAULT_KEY path never falls back");
    }

    #[test]
    fn raw_env_value_is_used_in_memory() {
        let d = tempfile::tempdir().unwrap();
        let id = Identity::generate();
        let text = id.to_key_file("x");
        let raw = text.lines().last().unwrap();
        let (got, src) = resolve(None, &env(d.path(), Some(&format!("  {raw}\n")))).unwrap();
        assert_eq!(got.recipient(), id.recipient());
        assert_eq!(src, KeySource::EnvValue);
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 0, "nothing written");
    }

    #[test]
    fn ensure_reuses_and_never_overwrites() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(".agent-vault/owner.key");
        let a = ensure(&p, "k", Timestamp::now()).unwrap();
        assert!(a.created);
        let b = ensure(&p, "k", Timestamp::now()).unwrap();
        assert!(!b.created);
        assert_eq!(a.identity.recipient(), b.identity.recipient());
        assert_eq!(write_new(&p, &Identity::generate(), Timestamp::now()).unwrap_err().kind(), ErrorKind::AlreadyExists);
    }
}
