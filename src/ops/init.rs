//! `init` (create a vault in a git repository) and `install` (wire git to git-vault).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Options, Vault};
use crate::error::{Error, ErrorKind, Result};
use crate::git::Repo;
use crate::git::install::{self, GITATTRIBUTES, GITIGNORE, InstallReport};
use crate::keys;
use crate::store;
use crate::vault::{Config, Manifest, OwnerName};

#[derive(Debug, Serialize)]
pub struct InitReport {
    pub vault: PathBuf,
    pub owner: String,
    pub owner_key: PathBuf,
    pub owner_key_created: bool,
    pub recipient: String,
    pub commit: Option<String>,
}

/// The owner name to record: the one given, else git's `user.name` when it is a valid name,
/// else `owner`.
fn owner_name(repo: &Repo, given: Option<&str>) -> Result<OwnerName> {
    if let Some(n) = given {
        return Ok(OwnerName::parse(n)?);
    }
    let out = repo.git().args(["config", "user.name"]).output()?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok(OwnerName::parse(&name).unwrap_or_else(|_| OwnerName::parse("owner").expect("a valid literal")))
}

/// Creates the vault in the git work tree at `dir`. Nothing is left behind on failure.
pub fn init(dir: &Path, owner: Option<&str>, opts: &Options) -> Result<InitReport> {
    let repo = Repo::discover(dir)?;
    let vault = Vault::at(&std::path::absolute(dir).map_err(|e| Error::io(dir.display(), e))?);
    let target = vault.fs().dir().to_owned();
    if fs::symlink_metadata(&target).is_ok() {
        return Err(Error::new(ErrorKind::AlreadyExists, format!("{} already exists", target.display()))
            .hint("the vault is already initialised; `git vault check` audits it"));
    }
    let owner = owner_name(&repo, owner)?;
    let key_path = opts.env.owner_key_path()?;
    let key = keys::ensure(&key_path, "owner key", opts.now)?;
    let result = (|| {
        write_skeleton(&target, &owner, &key.identity.recipient().to_string())?;
        install::install_repo(&repo)?;
        let mut txn = vault.begin(opts)?;
        txn.touched(skeleton_files(&target));
        txn.commit("init vault")
    })();
    match result {
        Ok(commit) => Ok(InitReport {
            vault: target,
            owner: owner.to_string(),
            owner_key: key.path,
            owner_key_created: key.created,
            recipient: key.identity.recipient().to_string(),
            commit,
        }),
        Err(e) => {
            let _ = fs::remove_dir_all(&target);
            if key.created {
                let _ = fs::remove_file(&key.path);
            }
            Err(e)
        }
    }
}

fn skeleton_files(dir: &Path) -> Vec<PathBuf> {
    ["config.yaml", "owner.pub", "manifest.yaml", ".gitignore", ".gitattributes"].iter().map(|f| dir.join(f)).collect()
}

/// Builds the vault directory next to its final place and renames it in, so a half-made vault
/// is never visible.
fn write_skeleton(target: &Path, owner: &OwnerName, recipient: &str) -> Result<()> {
    let parent = target.parent().expect("the vault directory has a parent");
    let tmp = tempfile::Builder::new()
        .prefix(".agent-vault.init-")
        .tempdir_in(parent)
        .map_err(|e| Error::io(format!("cannot create a directory in {}", parent.display()), e))?;
    let put = |name: &str, text: &str| {
        store::write_atomic(&tmp.path().join(name), text.as_bytes()).map_err(|e| Error::io(format!("cannot write {name}"), e))
    };
    put("config.yaml", &store::to_yaml(&Config::default())?)?;
    put("owner.pub", &format!("{recipient}\n"))?;
    put("manifest.yaml", &store::to_yaml(&Manifest::new(owner.clone(), "owner.pub"))?)?;
    put(".gitignore", GITIGNORE)?;
    put(".gitattributes", GITATTRIBUTES)?;
    store::create_dir(&tmp.path().join("secrets"), 0o755).map_err(|e| Error::io("cannot create secrets/", e))?;
    let tmp_path = tmp.keep();
    fs::rename(&tmp_path, target).map_err(|e| {
        let _ = fs::remove_dir_all(&tmp_path);
        Error::io(format!("cannot create {}", target.display()), e)
    })
}

/// Wires git to git-vault for this clone, or for every repository of the user.
pub fn install(start: &Path, global: bool, opts: &Options) -> Result<InstallReport> {
    if global {
        let home = opts.env.home.clone().ok_or_else(|| Error::invalid_input("HOME is not set"))?;
        return install::install_global(&home.join(".config/git-vault/hooks"));
    }
    let repo = Repo::discover(start)?;
    install::install_repo(&repo)
}
