//! One function per vault operation: lock → load → change through the model → write atomically
//! → commit. The CLI and the MCP server both call these; neither re-implements them.
//!
//! Order of writes, so that a command killed at any point leaves a vault that `check` reports and
//! `reconcile` repairs with no secret lost: access changes write the manifest first and then
//! re-encrypt; `set` writes the ciphertext, then its metadata, then the manifest; `rm` removes
//! the files, then the manifest entry.

pub mod access;
pub mod agents;
pub mod check;
pub mod drivers;
pub mod history;
pub mod init;
pub mod owners;
mod policy_cache;
pub mod reconcile;
pub mod reencrypt;
pub mod scan;
pub mod secrets;
mod txn;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::crypto::{Identity, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::git::Repo;
use crate::git::commit::CommitMode;
use crate::keys::{self, KeyEnv, KeySource};
use crate::store::{VAULT_DIR, VaultFs};
use crate::vault::manifest::OwnerKeyRef;
use crate::vault::{AgentName, Config, GroupName, Manifest, Timestamp};

pub use txn::Txn;

/// Progress of long work; the UI decides whether and how to show it.
pub trait Progress: Sync {
    fn start(&self, total: u64, what: &str);
    fn tick(&self);
    fn finish(&self);
}

/// Shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64, _: &str) {}
    fn tick(&self) {}
    fn finish(&self) {}
}

/// What every operation may need from its caller: keys, clock, commit mode, progress.
pub struct Options<'a> {
    pub env: KeyEnv,
    /// `--key FILE`.
    pub key: Option<PathBuf>,
    pub now: Timestamp,
    pub commit: CommitMode,
    pub lock_timeout: Duration,
    pub progress: &'a dyn Progress,
    /// Called once when another command holds the lock and this one waits.
    pub on_lock_wait: &'a (dyn Fn() + Sync),
}

impl Options<'_> {
    /// The identity to decrypt with (SPEC §3).
    pub fn identity(&self) -> Result<(Identity, KeySource)> {
        keys::resolve(self.key.as_deref(), &self.env)
    }
}

/// A manifest encoded for saving: its YAML and, for a large one, the parsed copy kept beside it.
pub struct EncodedPolicy {
    yaml: Vec<u8>,
    copy: Option<Vec<u8>>,
}

impl EncodedPolicy {
    pub fn of(manifest: &Manifest) -> Result<EncodedPolicy> {
        let yaml = crate::store::to_yaml(manifest)?.into_bytes();
        let copy = policy_cache::key_if_kept(&yaml).and_then(|key| policy_cache::encode(key, manifest));
        Ok(EncodedPolicy { yaml, copy })
    }
}

/// A manifest being encoded on another thread. Encoding the manifest of thousands of secrets
/// takes milliseconds, which `set` spends there while it encrypts and writes the secret. The
/// YAML is handed over as soon as it is made; the thread then encodes and keeps the parsed copy
/// of a large manifest itself (a copy serves only the exact bytes it was made from, so when it is
/// written does not matter).
pub struct EncodingBeside<'scope> {
    yaml: std::sync::mpsc::Receiver<Result<Vec<u8>>>,
    thread: std::thread::ScopedJoinHandle<'scope, ()>,
}

impl EncodingBeside<'_> {
    /// The manifest's YAML, to save; its copy is the thread's to keep.
    pub fn policy(self) -> Result<EncodedPolicy> {
        match self.yaml.recv() {
            Ok(yaml) => Ok(EncodedPolicy { yaml: yaml?, copy: None }),
            // the thread ended without a result: it panicked
            Err(_) => std::panic::resume_unwind(self.thread.join().expect_err("the encoding thread sends before it ends")),
        }
    }
}

/// A vault found on disk: `<root>/.agent-vault`.
#[derive(Debug, Clone)]
pub struct Vault {
    root: PathBuf,
    fs: VaultFs,
}

impl Vault {
    /// The vault from `start` upward, like git finds its repository.
    pub fn find(start: &Path) -> Result<Vault> {
        let start = std::path::absolute(start).map_err(|e| Error::io(start.display(), e))?;
        for dir in start.ancestors() {
            if dir.join(VAULT_DIR).join("manifest.yaml").is_file() {
                return Ok(Vault::at(dir));
            }
        }
        Err(Error::new(ErrorKind::VaultNotFound, format!("no vault in {} or any parent directory", start.display()))
            .hint("run `git vault init` in a git repository, or pass -C <dir>"))
    }

    /// The vault of the directory `root` (which may not exist yet).
    pub fn at(root: &Path) -> Vault {
        Vault { root: root.to_owned(), fs: VaultFs::new(root.join(VAULT_DIR)) }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn fs(&self) -> &VaultFs {
        &self.fs
    }

    pub fn repo(&self) -> Result<Repo> {
        Repo::discover(&self.root)
    }

    pub fn config(&self) -> Result<Config> {
        let config: Config = self.fs.read_yaml(&self.fs.config())?.unwrap_or_default();
        if let Some(why) = config.unsupported() {
            return Err(Error::invalid_input(format!("{}: {why}", self.fs.show(&self.fs.config())))
                .hint("upgrade git-vault to work with this vault"));
        }
        Ok(config)
    }

    /// The access policy. Every policy read goes through here, so that a future integrity check
    /// of the policy files (SPEC §10) has one place to live.
    pub fn load_policy(&self) -> Result<Manifest> {
        self.config()?;
        let path = self.fs.manifest();
        let bytes =
            self.fs.read_opt(&path)?.ok_or_else(|| Error::new(ErrorKind::VaultNotFound, format!("{} is missing", self.fs.show(&path))))?;
        let key = policy_cache::key_if_kept(&bytes);
        let manifest = match key.as_ref().and_then(|k| policy_cache::load(&self.root, k)) {
            Some(m) => m,
            None => {
                let m: Manifest = self.fs.parse_yaml(&path, &bytes)?;
                if let Some(key) = key {
                    policy_cache::store(&self.root, key, &m);
                }
                m
            }
        };
        if let Some(why) = manifest.unsupported() {
            return Err(Error::invalid_input(why));
        }
        Ok(manifest)
    }

    /// Starts encoding `manifest` on another thread of `scope` (see [`EncodingBeside`]).
    pub fn encode_beside<'scope>(
        &'scope self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        manifest: &'scope Manifest,
    ) -> EncodingBeside<'scope> {
        let (sender, yaml) = std::sync::mpsc::channel();
        let thread = crate::git::spawn_scoped_beside(scope, move || {
            let encoded = crate::store::to_yaml(manifest).map(String::into_bytes);
            let key = encoded.as_ref().ok().and_then(|y| policy_cache::key_if_kept(y));
            let _ = sender.send(encoded);
            if let Some(copy) = key.and_then(|k| policy_cache::encode(k, manifest)) {
                policy_cache::write(&self.root, &copy);
            }
        });
        EncodingBeside { yaml, thread }
    }

    pub fn save_policy(&self, txn: &mut Txn, manifest: &Manifest) -> Result<()> {
        self.save_encoded(txn, EncodedPolicy::of(manifest)?)
    }

    /// Saves a manifest encoded ahead (see [`EncodedPolicy`]).
    pub fn save_encoded(&self, txn: &mut Txn, encoded: EncodedPolicy) -> Result<()> {
        txn.write(&self.fs.manifest(), &encoded.yaml)?;
        if let Some(copy) = encoded.copy {
            policy_cache::write(&self.root, &copy);
        }
        Ok(())
    }

    /// The recipients of every owner, in manifest order.
    pub fn owner_recipients(&self, manifest: &Manifest) -> Result<Vec<Recipient>> {
        if manifest.owners.is_empty() {
            return Err(Error::invalid_input("the manifest lists no owner"));
        }
        manifest.owners.iter().map(|o| self.owner_recipient(o)).collect()
    }

    fn owner_recipient(&self, owner: &crate::vault::manifest::Owner) -> Result<Recipient> {
        let text = match owner.key_ref() {
            OwnerKeyRef::Inline(k) => k.to_owned(),
            OwnerKeyRef::File(name) => {
                let file = crate::vault::OwnerName::parse(name).map_err(|_| {
                    Error::invalid_input(format!("owner {}: public_key {name:?} is neither age1… nor a file in .agent-vault/", owner.name))
                })?;
                let path = self.fs.dir().join(file.as_str());
                String::from_utf8_lossy(&self.fs.read(&path)?).into_owned()
            }
        };
        Recipient::parse(&text).map_err(|e| Error::invalid_input(format!("owner {}: {e}", owner.name)))
    }

    pub fn agent_recipient(&self, agent: &AgentName) -> Result<Recipient> {
        let path = self.fs.public_key(agent);
        let bytes = self.fs.read_opt(&path)?.ok_or_else(|| {
            Error::invalid_input(format!("{} is missing", self.fs.show(&path)))
                .hint("run `git vault recover-agent` to give the agent a new key")
        })?;
        Recipient::parse(&String::from_utf8_lossy(&bytes)).map_err(|e| Error::invalid_input(format!("{}: {e}", self.fs.show(&path))))
    }

    /// Every recipient the manifest needs: owners and the agents it lists.
    pub fn keyring(&self, manifest: &Manifest) -> Result<Keyring> {
        let owners = self.owner_recipients(manifest)?;
        let agents = manifest.agents.iter().map(|a| Ok((a.name.clone(), self.agent_recipient(&a.name)?))).collect::<Result<_>>()?;
        Ok(Keyring { owners, agents })
    }

    /// Refuses an identity that is not one of the owners.
    pub fn require_owner(&self, manifest: &Manifest, identity: &Identity) -> Result<()> {
        if self.owner_recipients(manifest)?.iter().any(|r| r == identity.recipient()) {
            return Ok(());
        }
        Err(Error::new(ErrorKind::NotAuthorized, "this operation needs an owner key, and the key in use is not an owner of this vault")
            .hint("pass the owner key with --key FILE (or AGENT_VAULT_KEY)"))
    }

    pub fn require_agent(&self, manifest: &Manifest, agent: &AgentName) -> Result<()> {
        if manifest.agent(agent).is_some() {
            return Ok(());
        }
        Err(Error::new(ErrorKind::AgentNotFound, format!("no agent named {agent:?}")).hint("see `git vault list-agents`"))
    }

    pub fn require_group(&self, manifest: &Manifest, group: &GroupName) -> Result<()> {
        if manifest.group(group).is_some() {
            return Ok(());
        }
        Err(Error::new(ErrorKind::GroupNotFound, format!("no group named {group:?}"))
            .hint("groups are created by `git vault set <path> --group <group>`; see `git vault list`"))
    }

    /// Starts a change: takes the lock.
    pub fn begin(&self, opts: &Options) -> Result<Txn<'_>> {
        Txn::begin(self, opts)
    }
}

/// The public keys a vault encrypts to.
#[derive(Debug, Clone)]
pub struct Keyring {
    pub owners: Vec<Recipient>,
    pub agents: BTreeMap<AgentName, Recipient>,
}

impl Keyring {
    /// Owners plus the given agents (agents without a key are skipped: `check` reports them).
    pub fn recipients<'a>(&'a self, agents: impl IntoIterator<Item = &'a AgentName>) -> Vec<&'a Recipient> {
        let mut out: Vec<&Recipient> = self.owners.iter().collect();
        out.extend(agents.into_iter().filter_map(|a| self.agents.get(a)));
        out
    }
}
