//! The merge drivers git runs when both sides of a merge changed the same vault file:
//!
//! - `manifest`: merged as sets against the base (`vault::merge`);
//! - `secret` (`*.enc`, `*.escrow`): the three versions are decrypted with the owner key, the
//!   *values* are merged three-way, and the result is encrypted to the recipients of the merged
//!   policy. The same value re-encrypted on both sides merges cleanly; two different new values
//!   are a true collision: a conflict that names the secret, keeping ours in the work tree and
//!   theirs in the commit being merged;
//! - `meta`: merged field by field, with the readers of the merged policy.
//!
//! Files changed on one side only are not seen by any driver; the post-merge hook runs
//! `reconcile`, which re-encrypts them to the merged policy.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::super::Options;
use crate::crypto::{self, Identity, Recipient};
use crate::error::{Error, ErrorKind, Result};
use crate::git::merge_context::MergeContext;
use crate::store::split_vault_path;
use crate::vault::manifest::OwnerKeyRef;
use crate::vault::merge::{merge_manifests, merge_meta, merge3};
use crate::vault::{Manifest, Meta, SecretPath, policy};

/// Which driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Manifest,
    Secret,
    Meta,
}

/// The files git passes: `%O %A %B %P`. The result is written to `ours`.
pub struct Sides {
    pub base: PathBuf,
    pub ours: PathBuf,
    pub theirs: PathBuf,
    /// The path in the repository.
    pub path: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Clean { notes: Vec<String> },
    Conflict(String),
}

fn conflict(msg: impl Into<String>) -> Result<Outcome> {
    Ok(Outcome::Conflict(msg.into()))
}

pub fn merge(kind: Kind, sides: &Sides, start: &Path, opts: &Options) -> Result<Outcome> {
    match kind {
        Kind::Manifest => manifest(sides),
        Kind::Secret => secret(sides, start, opts),
        Kind::Meta => meta(sides, start),
    }
}

fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
    Ok((!bytes.is_empty()).then_some(bytes))
}

fn parse<T: serde::de::DeserializeOwned>(bytes: Option<&[u8]>, what: &str) -> std::result::Result<Option<T>, String> {
    bytes.map(|b| serde_saphyr::from_slice(b).map_err(|e| format!("the {what} version does not parse: {e}"))).transpose()
}

type Three<T> = (Option<T>, Option<T>, Option<T>);

/// Parses base, ours and theirs; ours and theirs must exist.
fn parse3<T: serde::de::DeserializeOwned>(
    b: Option<&[u8]>,
    o: Option<&[u8]>,
    t: Option<&[u8]>,
) -> std::result::Result<(Option<T>, T, T), String> {
    let parsed: Three<T> = (parse(b, "base")?, parse(o, "our")?, parse(t, "their")?);
    match parsed {
        (b, Some(o), Some(t)) => Ok((b, o, t)),
        _ => Err("a side is empty".into()),
    }
}

fn write_result(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path.display(), e))
}

fn manifest(sides: &Sides) -> Result<Outcome> {
    let [b, o, t] = [read(&sides.base)?, read(&sides.ours)?, read(&sides.theirs)?];
    let (b, o, t) = match parse3::<Manifest>(b.as_deref(), o.as_deref(), t.as_deref()) {
        Ok(p) => p,
        Err(why) => return conflict(format!("{}: {why}", sides.path)),
    };
    match merge_manifests(b.as_ref(), &o, &t) {
        Ok(m) => {
            write_result(&sides.ours, crate::store::to_yaml(&m)?.as_bytes())?;
            Ok(Outcome::Clean { notes: Vec::new() })
        }
        Err(conflicts) => conflict(format!("{}: {}", sides.path, conflicts.join("; "))),
    }
}

/// What a vault file path names.
enum Target {
    Secret { prefix: String, stem: String },
    Escrow { prefix: String },
    Meta { prefix: String },
}

fn classify(path: &str) -> Option<Target> {
    let (prefix, rel) = split_vault_path(path)?;
    let prefix = prefix.to_owned();
    if let Some(stem) = rel.strip_prefix("secrets/").and_then(|r| r.strip_suffix(".enc")) {
        return Some(Target::Secret { prefix, stem: stem.to_owned() });
    }
    if rel.starts_with("secrets/") && rel.ends_with(".meta") {
        return Some(Target::Meta { prefix });
    }
    (rel.starts_with("agents/") && rel.ends_with(".escrow")).then_some(Target::Escrow { prefix })
}

/// The merged manifest and the commits it came from.
struct Merged {
    ctx: MergeContext,
    manifest: Manifest,
    prefix: String,
}

fn merged_policy(start: &Path, prefix: &str) -> Result<std::result::Result<Merged, String>> {
    let Some(ctx) = MergeContext::discover(start)? else {
        return Ok(Err("git-vault cannot tell which commits are being merged".into()));
    };
    let [b, o, t] = ctx.read3(&format!("{prefix}manifest.yaml"))?;
    let (b, o, t) = match parse3::<Manifest>(b.as_deref(), o.as_deref(), t.as_deref()) {
        Ok(p) => p,
        Err(why) => return Ok(Err(format!("manifest: {why}"))),
    };
    Ok(match merge_manifests(b.as_ref(), &o, &t) {
        Ok(manifest) => Ok(Merged { ctx, manifest, prefix: prefix.to_owned() }),
        Err(c) => Err(format!("the manifest itself conflicts ({})", c.join("; "))),
    })
}

impl Merged {
    /// A file of the vault as it is after the merge: three-way on its bytes; None if it
    /// conflicts or is gone.
    fn file(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let [b, o, t] = self.ctx.read3(&format!("{}{rel}", self.prefix))?;
        Ok(merge3(b.as_ref(), o.as_ref(), t.as_ref()).ok().flatten())
    }

    fn owners(&self) -> Result<Vec<Recipient>> {
        let mut out = Vec::new();
        for o in &self.manifest.owners {
            let text = match o.key_ref() {
                OwnerKeyRef::Inline(k) => k.to_owned(),
                OwnerKeyRef::File(f) => {
                    let bytes = self.file(f)?.ok_or_else(|| {
                        Error::invalid_input(format!("the key file of owner {:?} conflicts or is missing", o.name.as_str()))
                    })?;
                    String::from_utf8_lossy(&bytes).into_owned()
                }
            };
            out.push(Recipient::parse(&text).map_err(Error::invalid_input)?);
        }
        Ok(out)
    }

    /// Owners plus the agents that may read `secret` under the merged policy. Agents whose key
    /// conflicts are left out (never more access than the policy allows) and noted.
    fn recipients(&self, secret: Option<&SecretPath>, notes: &mut Vec<String>) -> Result<Vec<Recipient>> {
        let mut out = self.owners()?;
        let Some(s) = secret else { return Ok(out) };
        for a in policy::readers_of(&self.manifest, s) {
            match self.file(&format!("agents/{a}/public.key"))?.map(|b| Recipient::parse(&String::from_utf8_lossy(&b))) {
                Some(Ok(r)) => out.push(r),
                _ => notes.push(format!(
                    "agent {:?} was left out of {s:?}: its key conflicts; run `git vault reconcile` once resolved",
                    a.as_str()
                )),
            }
        }
        Ok(out)
    }

    /// The secret a `secrets/<stem>` file holds (the seed's legacy location included).
    fn secret_of(&self, stem: &str) -> Option<SecretPath> {
        let direct = SecretPath::parse(stem).ok()?;
        if self.manifest.contains_secret(&direct) {
            return Some(direct);
        }
        let legacy = SecretPath::parse(stem.strip_prefix("default/")?).ok()?;
        self.manifest.contains_secret(&legacy).then_some(legacy)
    }
}

/// One side's value, in a zeroizing buffer from the start (never a bare copy of plaintext).
fn decrypt_side(identity: &Identity, bytes: Option<&[u8]>, side: &str) -> std::result::Result<Option<Zeroizing<Vec<u8>>>, String> {
    let Some(ct) = bytes else { return Ok(None) };
    match crypto::decrypt(identity, ct) {
        Ok(v) => Ok(Some(Zeroizing::new(v.expose_secret().to_vec()))),
        Err(e) => Err(format!("the {side} version does not decrypt with the owner key ({})", e.into_error("it").message())),
    }
}

fn secret(sides: &Sides, start: &Path, opts: &Options) -> Result<Outcome> {
    let (prefix, stem) = match classify(&sides.path) {
        Some(Target::Secret { prefix, stem }) => (prefix, Some(stem)),
        Some(Target::Escrow { prefix }) => (prefix, None),
        _ => return conflict(format!("{} is not a vault ciphertext", sides.path)),
    };
    let identity = match opts.identity() {
        Ok((id, _)) => id,
        Err(e) if e.kind() == ErrorKind::NoIdentity => {
            return conflict(format!("{}: an owner key is needed to merge ciphertext ({})", sides.path, e.message()));
        }
        Err(e) => return Err(e),
    };
    let raw = [read(&sides.base)?, read(&sides.ours)?, read(&sides.theirs)?];
    let values = (|| {
        Ok::<_, String>([
            decrypt_side(&identity, raw[0].as_deref(), "base")?,
            decrypt_side(&identity, raw[1].as_deref(), "our")?,
            decrypt_side(&identity, raw[2].as_deref(), "their")?,
        ])
    })();
    let [b, o, t] = match values {
        Ok(v) => v,
        Err(why) => return conflict(format!("{}: {why}", sides.path)),
    };
    let value = match merge3(b.as_ref(), o.as_ref(), t.as_ref()) {
        Ok(Some(v)) => v,
        Ok(None) => return conflict(format!("{}: deleted on both sides", sides.path)),
        Err(_) => {
            let name = stem.as_deref().unwrap_or(&sides.path);
            return conflict(format!(
                "secret {name:?} was set to different values on both sides: ours is kept in the work tree, theirs is in the commit being merged (`git show MERGE_HEAD:{}` or the picked commit); set the right one with `git vault set {name}`, then `git vault reconcile`",
                sides.path
            ));
        }
    };
    let merged = match merged_policy(start, &prefix)? {
        Ok(m) => m,
        Err(why) => return conflict(format!("{}: {why}; resolve the merge by hand, then run `git vault reconcile`", sides.path)),
    };
    let mut notes = Vec::new();
    let secret = match &stem {
        Some(stem) => match merged.secret_of(stem) {
            Some(s) => Some(s),
            None => return conflict(format!("{}: the merged manifest does not list this secret", sides.path)),
        },
        None => None,
    };
    let recipients = merged.recipients(secret.as_ref(), &mut notes)?;
    let ct = crypto::encrypt(&recipients.iter().collect::<Vec<_>>(), &value)?;
    write_result(&sides.ours, &ct)?;
    Ok(Outcome::Clean { notes })
}

fn meta(sides: &Sides, start: &Path) -> Result<Outcome> {
    let [b, o, t] = [read(&sides.base)?, read(&sides.ours)?, read(&sides.theirs)?];
    let (b, o, t) = match parse3::<Meta>(b.as_deref(), o.as_deref(), t.as_deref()) {
        Ok(p) => p,
        Err(why) => return conflict(format!("{}: {why}", sides.path)),
    };
    let mut merged = merge_meta(b.as_ref(), &o, &t);
    let mut notes = Vec::new();
    if let Some(Target::Meta { prefix, .. }) = classify(&sides.path) {
        match merged_policy(start, &prefix)? {
            Ok(p) => merged.set_agents(policy::readers_of(&p.manifest, &merged.name)),
            Err(why) => notes.push(format!("{}: readers merged as sets ({why}); `git vault reconcile` checks them", sides.path)),
        }
    }
    write_result(&sides.ours, crate::store::to_yaml(&merged)?.as_bytes())?;
    Ok(Outcome::Clean { notes })
}
