//! `check`: the audit. Reports what is wrong instead of stopping at the first problem: expired
//! and expiring secrets, orphans, missing files, metadata that disagrees with the manifest,
//! invalid names, legacy locations, interrupted writes; with `deep`, decrypts with the owner key
//! and the escrowed agent keys to prove every ciphertext is readable by exactly the keys the
//! manifest allows. `reconcile` acts on the same findings.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde::Serialize;

use super::{Keyring, Options, Vault};
use crate::crypto::{self, Identity};
use crate::error::Result;
use crate::store::TEMP_PREFIX;
use crate::vault::{AgentName, Manifest, Meta, SecretPath, Timestamp, policy};

const EXPIRING_SECONDS: i64 = 30 * 24 * 3600;

/// One problem. `code` is stable; `secret`, `agent` and `file` say what it is about.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Finding {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Finding { code, message: message.into(), secret: None, agent: None, file: None }
    }
    fn secret(mut self, s: &SecretPath) -> Self {
        self.secret = Some(s.clone());
        self
    }
    fn agent(mut self, a: &AgentName) -> Self {
        self.agent = Some(a.clone());
        self
    }
    fn file(mut self, f: String) -> Self {
        self.file = Some(f);
        self
    }
}

#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

impl CheckReport {
    fn error(&mut self, f: Finding) {
        self.errors.push(f);
    }
    fn warn(&mut self, f: Finding) {
        self.warnings.push(f);
    }
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

/// The keys a deep check decrypts with.
pub struct DeepKeys {
    pub owner: Identity,
    /// Agent identities from the escrows; `true` when the agent is in the manifest.
    pub agents: Vec<(AgentName, Identity, bool)>,
}

pub fn check(vault: &Vault, deep: bool, opts: &Options) -> Result<CheckReport> {
    let mut r = CheckReport::default();
    if let Err(e) = vault.config() {
        r.error(Finding::new("config_invalid", e.full_message()));
    }
    let m = match vault.load_policy() {
        Ok(m) => m,
        Err(e) => {
            r.error(Finding::new("manifest_invalid", e.full_message()));
            return Ok(r);
        }
    };
    lint_manifest(&m, &mut r);
    let keyring = check_keys(vault, &m, &mut r)?;
    let deep_keys = if deep { Some(deep_keys(vault, &m, &keyring, opts, &mut r)?) } else { None };
    let readers = policy::reader_map(&m);
    let now = opts.now;
    let per_secret: Vec<Vec<(bool, Finding)>> =
        readers.par_iter().map(|(s, agents)| audit_secret(vault, &keyring, s, agents, now, deep_keys.as_ref())).collect();
    for (is_error, f) in per_secret.into_iter().flatten() {
        if is_error { r.error(f) } else { r.warn(f) }
    }
    check_files(vault, &m, &mut r)?;
    Ok(r)
}

fn lint_manifest(m: &Manifest, r: &mut CheckReport) {
    let dupes = |names: Vec<String>, what: &str, r: &mut CheckReport| {
        let mut seen = BTreeSet::new();
        for n in names {
            if !seen.insert(n.clone()) {
                r.error(Finding::new("duplicate_name", format!("the manifest lists {what} {n:?} twice")));
            }
        }
    };
    dupes(m.owners.iter().map(|o| o.name.to_string()).collect(), "owner", r);
    dupes(m.agents.iter().map(|a| a.name.to_string()).collect(), "agent", r);
    dupes(m.groups.iter().map(|g| g.name.to_string()).collect(), "group", r);
    for a in &m.agents {
        for g in a.groups.iter().filter(|g| m.group(g).is_none()) {
            r.warn(
                Finding::new(
                    "unknown_group",
                    format!("agent {:?} is granted group {:?}, which lists no secret", a.name.as_str(), g.as_str()),
                )
                .agent(&a.name),
            );
        }
    }
    for (s, agents) in &m.readers {
        if !m.contains_secret(s) {
            r.warn(Finding::new("unknown_secret", format!("readers are set for {s:?}, which no group lists")).secret(s));
        }
        for a in agents.iter().filter(|a| m.agent(a).is_none()) {
            r.warn(Finding::new("unknown_agent", format!("{:?} is a reader of {s:?} but is not an agent", a.as_str())).secret(s));
        }
    }
}

/// Checks owner and agent keys; returns the keyring of the keys that parse.
fn check_keys(vault: &Vault, m: &Manifest, r: &mut CheckReport) -> Result<Keyring> {
    let fs = vault.fs();
    let owners = match vault.owner_recipients(m) {
        Ok(o) => o,
        Err(e) => {
            r.error(Finding::new("owner_key_invalid", e.full_message()));
            Vec::new()
        }
    };
    let mut agents = BTreeMap::new();
    for a in &m.agents {
        match vault.agent_recipient(&a.name) {
            Ok(k) => {
                agents.insert(a.name.clone(), k);
            }
            Err(e) => r.error(Finding::new("agent_key_invalid", e.full_message()).agent(&a.name).file(fs.show(&fs.public_key(&a.name)))),
        }
        if !fs.exists(&fs.escrow(&a.name))? {
            r.warn(
                Finding::new("escrow_missing", format!("agent {:?} has no escrowed key, so an owner cannot restore it", a.name.as_str()))
                    .agent(&a.name),
            );
        }
    }
    for dir in fs.agent_dirs()? {
        if !m.agents.iter().any(|a| a.name.as_str() == dir) {
            r.warn(
                Finding::new("stray_agent", format!("agents/{dir}/ belongs to no agent of the manifest"))
                    .file(format!(".agent-vault/agents/{dir}")),
            );
        }
    }
    Ok(Keyring { owners, agents })
}

/// Loads the owner identity and every escrowed agent identity, checking the escrows.
fn deep_keys(vault: &Vault, m: &Manifest, keyring: &Keyring, opts: &Options, r: &mut CheckReport) -> Result<DeepKeys> {
    let (owner, _) = opts.identity()?;
    vault.require_owner(m, &owner)?;
    let fs = vault.fs();
    let mut agents = Vec::new();
    for dir in fs.agent_dirs()? {
        let Ok(name) = AgentName::parse(&dir) else {
            r.error(Finding::new("invalid_name", format!("agents/{dir:?} is not a valid agent name")));
            continue;
        };
        let path = fs.escrow(&name);
        let Some(ct) = fs.read_opt(&path)? else { continue };
        let in_manifest = m.agent(&name).is_some();
        if let Ok(info) = crypto::inspect(&ct)
            && info.recipient_stanzas().len() != keyring.owners.len()
            && in_manifest
        {
            r.error(
                Finding::new(
                    "escrow_recipients",
                    format!("the escrow of agent {dir:?} is not encrypted to exactly the {} owners", keyring.owners.len()),
                )
                .agent(&name),
            );
        }
        match escrowed_identity(&owner, &ct) {
            Ok(id) => {
                if in_manifest && keyring.agents.get(&name).is_some_and(|k| k != id.recipient()) {
                    r.error(
                        Finding::new("escrow_mismatch", format!("the escrow of agent {dir:?} holds a different key than its public.key"))
                            .agent(&name),
                    );
                }
                agents.push((name, id, in_manifest));
            }
            Err(why) => {
                r.error(Finding::new("escrow_unreadable", format!("the escrow of agent {dir:?}: {why}")).agent(&name).file(fs.show(&path)))
            }
        }
    }
    Ok(DeepKeys { owner, agents })
}

/// The agent identity inside an escrow.
pub fn escrowed_identity(owner: &Identity, ct: &[u8]) -> std::result::Result<Identity, String> {
    use secrecy::ExposeSecret;
    let plain = crypto::decrypt(owner, ct).map_err(|e| match e {
        crypto::DecryptFailure::NotAuthorized => "the owner key cannot decrypt it".to_owned(),
        crypto::DecryptFailure::Corrupt(why) => format!("corrupt: {why}"),
    })?;
    let text = std::str::from_utf8(plain.expose_secret()).map_err(|_| "it does not hold a key file".to_owned())?;
    Identity::parse(text).map_err(str::to_owned)
}

/// Everything about one listed secret: (is_error, finding).
fn audit_secret(
    vault: &Vault,
    keyring: &Keyring,
    s: &SecretPath,
    readers: &BTreeSet<AgentName>,
    now: Timestamp,
    deep: Option<&DeepKeys>,
) -> Vec<(bool, Finding)> {
    let mut out = Vec::new();
    let fs = vault.fs();
    let files = match fs.locate(s) {
        Ok(Some(f)) => f,
        Ok(None) => {
            out.push((
                true,
                Finding::new("missing_ciphertext", format!("{s:?} is in the manifest but its ciphertext is missing")).secret(s),
            ));
            return out;
        }
        Err(e) => {
            out.push((true, Finding::new("unreadable", e.full_message()).secret(s)));
            return out;
        }
    };
    let enc_name = fs.show(&files.enc);
    if files.legacy {
        out.push((
            false,
            Finding::new("legacy_location", format!("{s:?} is at the seed tool's location {enc_name}; `git vault set` moves it"))
                .secret(s)
                .file(enc_name.clone()),
        ));
    }
    match fs.read(&files.enc) {
        Ok(ct) => out.extend(audit_ciphertext(keyring, s, readers, &ct, &enc_name, deep)),
        Err(e) => out.push((true, Finding::new("unreadable", e.full_message()).secret(s))),
    }
    out.extend(audit_meta(vault, s, &files.meta, readers, now));
    out
}

fn audit_ciphertext(
    keyring: &Keyring,
    s: &SecretPath,
    readers: &BTreeSet<AgentName>,
    ct: &[u8],
    file: &str,
    deep: Option<&DeepKeys>,
) -> Vec<(bool, Finding)> {
    let mut out = Vec::new();
    let err = |code, msg: String| (true, Finding::new(code, msg).secret(s).file(file.to_owned()));
    let info = match crypto::inspect(ct) {
        Ok(i) => i,
        Err(why) => return vec![err("corrupt_ciphertext", format!("{file} is not a valid age file: {why}"))],
    };
    let expected = keyring.owners.len() + readers.iter().filter(|a| keyring.agents.contains_key(*a)).count();
    let actual = info.recipient_stanzas().len();
    if actual != expected {
        out.push(err("recipients_mismatch", format!("{s:?} is encrypted to {actual} keys; the manifest allows {expected}")));
    }
    let Some(keys) = deep else { return out };
    match crypto::can_decrypt(&keys.owner, ct) {
        Ok(true) => {}
        Ok(false) => out.push(err("owner_cannot_decrypt", format!("the owner key cannot decrypt {s:?}"))),
        Err(_) => return vec![err("corrupt_ciphertext", format!("{file} does not decrypt"))],
    }
    for (agent, id, in_manifest) in &keys.agents {
        let allowed = *in_manifest && readers.contains(agent);
        match crypto::can_decrypt(id, ct) {
            Ok(true) if !allowed => out
                .push(err("agent_can_decrypt", format!("agent {:?} can decrypt {s:?} but the manifest does not allow it", agent.as_str()))),
            Ok(false) if allowed => {
                out.push(err("agent_cannot_decrypt", format!("agent {:?} may read {s:?} but cannot decrypt it", agent.as_str())))
            }
            _ => {}
        }
    }
    out
}

fn audit_meta(
    vault: &Vault,
    s: &SecretPath,
    path: &std::path::Path,
    readers: &BTreeSet<AgentName>,
    now: Timestamp,
) -> Vec<(bool, Finding)> {
    let fs = vault.fs();
    let file = fs.show(path);
    let f = |code, msg: String| Finding::new(code, msg).secret(s).file(file.clone());
    let meta: Meta = match fs.read_yaml(path) {
        Ok(Some(m)) => m,
        Ok(None) => return vec![(true, f("missing_meta", format!("{file} is missing")))],
        Err(e) => return vec![(true, f("meta_invalid", e.full_message()))],
    };
    let mut out = Vec::new();
    if &meta.name != s {
        out.push((true, f("meta_mismatch", format!("{file} names {:?}, not {s:?}", meta.name.as_str()))));
    }
    let recorded: BTreeSet<&AgentName> = meta.authorized_agents.iter().collect();
    if recorded != readers.iter().collect() {
        let show = |v: Vec<&AgentName>| v.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ");
        out.push((
            true,
            f(
                "meta_mismatch",
                format!(
                    "metadata disagrees with the manifest: {s:?} records readers [{}], the manifest allows [{}]",
                    show(recorded.into_iter().collect()),
                    show(readers.iter().collect())
                ),
            ),
        ));
    }
    if let Some(exp) = meta.expires {
        if exp <= now {
            out.push((true, f("expired", format!("{s:?} expired on {exp}"))));
        } else if exp <= now.offset(EXPIRING_SECONDS) {
            out.push((false, f("expiring", format!("{s:?} expires on {exp}"))));
        }
    }
    out
}

/// Files under `secrets/` that no listed secret claims, interrupted writes, invalid names.
fn check_files(vault: &Vault, m: &Manifest, r: &mut CheckReport) -> Result<()> {
    let fs = vault.fs();
    let mut claimed = BTreeSet::new();
    for s in m.secrets() {
        if let Some(files) = fs.locate(s)? {
            claimed.insert(files.enc);
            claimed.insert(files.meta);
        }
    }
    for rel in fs.walk_secrets()? {
        let path = fs.secrets_dir().join(&rel);
        let shown = fs.show(&path);
        let base = rel.rsplit('/').next().unwrap_or(&rel);
        if base.starts_with(TEMP_PREFIX) {
            r.warn(Finding::new("interrupted_write", format!("{shown} is left over from an interrupted write")).file(shown));
            continue;
        }
        if claimed.contains(&path) {
            continue;
        }
        let (stem, is_enc) = match (rel.strip_suffix(".enc"), rel.strip_suffix(".meta")) {
            (Some(stem), _) => (stem, true),
            (None, Some(stem)) => (stem, false),
            _ => {
                r.warn(Finding::new("stray_file", format!("{shown} is not a vault file")).file(shown));
                continue;
            }
        };
        match SecretPath::parse(stem) {
            Err(e) => r.error(Finding::new("invalid_name", format!("{shown}: {e}")).file(shown)),
            Ok(s) if is_enc => r.error(
                Finding::new("orphan", format!("{shown} holds a secret that no group of the manifest lists")).secret(&s).file(shown),
            ),
            Ok(s) => r.warn(Finding::new("orphan_meta", format!("{shown} has no ciphertext")).secret(&s).file(shown)),
        }
    }
    Ok(())
}
