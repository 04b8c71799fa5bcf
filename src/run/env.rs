//! Which secrets go into a child's environment and under which names: `VAR=path` requests,
//! names derived from a group's secret paths, collision checks, decryption of all of them before
//! anything runs, and the child's environment (the parent's, minus `AGENT_VAULT_KEY`, plus the
//! secrets).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use secrecy::{ExposeSecret, SecretSlice};

use super::mask::{Masker, Secret};
use crate::crypto::Identity;
use crate::error::{Error, Result};
use crate::ops::{Vault, secrets};
use crate::vault::{GroupName, Manifest, SecretPath};

/// The variable that names a key; never passed on to a child.
pub const KEY_VAR: &str = "AGENT_VAULT_KEY";

/// One variable to set: its name and the secret it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSpec {
    pub var: String,
    pub path: SecretPath,
}

/// Parses `VAR=path` (as given to `--env`).
pub fn parse_env_arg(raw: &str) -> Result<EnvSpec> {
    let (var, path) = raw.split_once('=').ok_or_else(|| {
        Error::invalid_input(format!("--env {raw:?}: expected VAR=path")).hint("for example --env STRIPE_KEY=stripe/api-key")
    })?;
    spec(var, path)
}

/// A checked variable name and secret path.
pub fn spec(var: &str, path: &str) -> Result<EnvSpec> {
    check_var(var)?;
    Ok(EnvSpec { var: var.to_owned(), path: SecretPath::parse(path)? })
}

/// A variable name must be a portable shell name: `[A-Za-z_][A-Za-z0-9_]*`.
fn check_var(var: &str) -> Result<()> {
    let mut chars = var.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && var != KEY_VAR {
        return Ok(());
    }
    Err(Error::invalid_input(format!("{var:?} is not a usable environment variable name"))
        .hint(format!("use letters, digits and '_', not starting with a digit, and not {KEY_VAR}")))
}

/// The variable a group puts a secret in: uppercase, and every character that is not an ASCII
/// letter or digit becomes `_` (`stripe/api-key` → `STRIPE_API_KEY`); a leading digit gets a `_`
/// in front so the name stays usable in a shell.
pub fn derive_var(path: &SecretPath) -> String {
    let name: String = path.as_str().chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) { format!("_{name}") } else { name }
}

/// Every variable to set, sorted by name. `manifest` is needed only when `groups` is not empty.
/// Two different secrets under one name is an error, before anything is decrypted or run.
pub fn plan(manifest: Option<&Manifest>, explicit: &[EnvSpec], groups: &[GroupName]) -> Result<Vec<EnvSpec>> {
    let mut vars: BTreeMap<String, (SecretPath, String)> = BTreeMap::new();
    for s in explicit {
        add(&mut vars, s.clone(), format!("--env {}", s.var))?;
    }
    for g in groups {
        let group = manifest.and_then(|m| m.group(g)).ok_or_else(|| {
            Error::new(crate::error::ErrorKind::GroupNotFound, format!("no group named {g:?}")).hint("see `git vault list`")
        })?;
        for path in &group.secrets {
            add(&mut vars, EnvSpec { var: derive_var(path), path: path.clone() }, format!("--group {g}"))?;
        }
    }
    Ok(vars.into_iter().map(|(var, (path, _))| EnvSpec { var, path }).collect())
}

fn add(vars: &mut BTreeMap<String, (SecretPath, String)>, s: EnvSpec, origin: String) -> Result<()> {
    match vars.get(&s.var) {
        Some((path, _)) if *path == s.path => Ok(()),
        Some((path, first)) => {
            Err(Error::invalid_input(format!("{} would hold two secrets: {path:?} ({first}) and {:?} ({origin})", s.var, s.path))
                .hint("name one of them explicitly with --env VAR=path"))
        }
        None => {
            vars.insert(s.var, (s.path, origin));
            Ok(())
        }
    }
}

/// One decrypted secret and the variable it goes into.
pub struct Injection {
    pub var: String,
    pub path: SecretPath,
    value: SecretSlice<u8>,
}

/// The decrypted secrets for one child. Values stay in `secrecy` buffers until they are copied
/// into the child's environment.
pub struct Secrets(Vec<Injection>);

impl Secrets {
    /// Decrypts every planned secret; the first failure (not found, not authorized) is the
    /// result, so nothing runs with half of its secrets.
    pub fn decrypt(vault: &Vault, plan: &[EnvSpec], identity: &Identity) -> Result<Secrets> {
        let mut out = Vec::with_capacity(plan.len());
        for s in plan {
            let value = secrets::get(vault, &s.path, identity)?;
            if value.expose_secret().contains(&0) {
                return Err(Error::invalid_input(format!(
                    "secret {:?} contains a NUL byte, so it cannot be passed in an environment variable",
                    s.path
                )));
            }
            out.push(Injection { var: s.var.clone(), path: s.path.clone(), value });
        }
        Ok(Secrets(out))
    }

    pub fn injections(&self) -> &[Injection] {
        &self.0
    }

    /// The masker for these values, each replaced by `<redacted:PATH>`.
    pub fn masker(&self) -> Masker {
        let list: Vec<Secret> = self.0.iter().map(|i| Secret { label: i.path.as_str(), value: i.value.expose_secret() }).collect();
        Masker::new(&list)
    }

    /// `argv[0]` started directly (no shell) with `argv[1..]`, the parent's environment minus
    /// `AGENT_VAULT_KEY`, and the secrets.
    pub fn command(&self, argv: &[OsString]) -> Result<Command> {
        let (program, args) = argv.split_first().ok_or_else(|| Error::invalid_input("no command to run"))?;
        let mut cmd = Command::new(program);
        cmd.args(args).env_remove(KEY_VAR);
        for i in &self.0 {
            cmd.env(&i.var, OsStr::from_bytes(i.value.expose_secret()));
        }
        Ok(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::OwnerName;

    fn p(s: &str) -> SecretPath {
        SecretPath::parse(s).unwrap()
    }

    #[test]
    fn derived_names() {
        assert_eq!(derive_var(&p("stripe/api-key")), "STRIPE_API_KEY");
        assert_eq!(derive_var(&p("db/prod.password")), "DB_PROD_PASSWORD");
        assert_eq!(derive_var(&p("unicode/秘密")), "UNICODE___");
        assert_eq!(derive_var(&p("1password/x")), "_1PASSWORD_X");
    }

    #[test]
    fn env_args() {
        assert_eq!(parse_env_arg("K=a/b").unwrap(), EnvSpec { var: "K".into(), path: p("a/b") });
        for bad in ["K", "=a", "1K=a", "K-1=a", "K=", "AGENT_VAULT_KEY=a", "K=../x"] {
            assert!(parse_env_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plan_merges_and_refuses_collisions() {
        let mut m = Manifest::new(OwnerName::parse("o").unwrap(), "owner.pub");
        let g = GroupName::parse("g").unwrap();
        m.add_secret(&p("a/b"), &g);
        m.add_secret(&p("a-b"), &GroupName::parse("h").unwrap());
        let same = spec("A_B", "a/b").unwrap();
        let got = plan(Some(&m), &[same, spec("Z", "a-b").unwrap()], std::slice::from_ref(&g)).unwrap();
        assert_eq!(got.iter().map(|s| s.var.as_str()).collect::<Vec<_>>(), ["A_B", "Z"]);
        let other = spec("A_B", "a-b").unwrap();
        let err = plan(Some(&m), &[other], std::slice::from_ref(&g)).unwrap_err();
        assert!(err.message().contains("A_B would hold two secrets"), "{}", err.message());
        let both = [GroupName::parse("g").unwrap(), GroupName::parse("h").unwrap()];
        assert!(plan(Some(&m), &[], &both).is_err(), "a/b and a-b both derive A_B");
        assert!(plan(Some(&m), &[], &[GroupName::parse("nope").unwrap()]).is_err());
    }
}
