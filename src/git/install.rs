//! Wiring git to git-vault: the diff (textconv) and merge drivers in git config, and the
//! pre-commit hook. Idempotent; honours `core.hooksPath`; a pre-commit hook that was already
//! there keeps running (renamed to `pre-commit.git-vault-chained` and called by ours).

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{Git, Repo};
use crate::error::{Error, Result};

/// The hook scripts (`hooks/` of the source tree): name and content.
pub const HOOKS: &[(&str, &str)] = &[
    ("pre-commit", include_str!("../../hooks/pre-commit")),
    ("post-merge", include_str!("../../hooks/post-merge")),
    ("post-rewrite", include_str!("../../hooks/post-rewrite")),
];

/// `git config` entries for the drivers named in `.agent-vault/.gitattributes`.
pub const DRIVER_CONFIG: &[(&str, &str)] = &[
    ("diff.agent-vault.textconv", "git-vault textconv"),
    ("diff.agent-vault.cachetextconv", "false"),
    ("merge.agent-vault-manifest.name", "git-vault: merge the vault manifest as sets"),
    ("merge.agent-vault-manifest.driver", "git-vault merge-driver manifest %O %A %B %P"),
    ("merge.agent-vault-secret.name", "git-vault: re-encrypt secrets to the merged policy"),
    ("merge.agent-vault-secret.driver", "git-vault merge-driver secret %O %A %B %P"),
    ("merge.agent-vault-meta.name", "git-vault: merge secret metadata"),
    ("merge.agent-vault-meta.driver", "git-vault merge-driver meta %O %A %B %P"),
];

/// The content of `.agent-vault/.gitattributes`.
pub const GITATTRIBUTES: &str = "\
# git-vault: readable diffs of vault files and merges that re-encrypt instead of text-merging.
*.enc -text diff=agent-vault merge=agent-vault-secret
*.escrow -text diff=agent-vault merge=agent-vault-secret
*.meta merge=agent-vault-meta
manifest.yaml merge=agent-vault-manifest
";

/// The content of `.agent-vault/.gitignore`: private key material never gets staged.
pub const GITIGNORE: &str = "\
# git-vault: never commit private key material.
*.key
*.pem
**/private.*
!agents/*/public.key
!*.escrow
";

/// What `install` did, for the user.
#[derive(Debug, Default)]
pub struct InstallReport {
    pub hook: Option<PathBuf>,
    /// Hooks that were already there and now run after ours.
    pub chained: Vec<PathBuf>,
}

/// Configures the drivers and the pre-commit hook for one repository.
pub fn install_repo(repo: &Repo) -> Result<InstallReport> {
    for (key, value) in DRIVER_CONFIG {
        repo.git().args(["config", "--local", key, value]).run()?;
    }
    let hooks = hooks_dir(repo)?;
    let chained = install_hooks(&hooks)?;
    Ok(InstallReport { hook: Some(hooks.join("pre-commit")), chained })
}

/// The stub that keeps a repository's own hooks working under a global `core.hooksPath`.
pub const PASS_THROUGH: &str = include_str!("../../hooks/pass-through");

/// Client-side hooks git runs, which a global hooks directory must pass through.
const OTHER_HOOKS: &[&str] = &[
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-checkout",
    "pre-push",
    "pre-auto-gc",
    "post-index-change",
    "reference-transaction",
    "sendemail-validate",
];

/// Configures the drivers and the hooks for every repository of the user: the global git
/// config gets the drivers, and `core.hooksPath` (the user's own when set, else `default_dir`)
/// gets our hooks. In a directory of our own, every other hook is a stub that runs the
/// repository's own hook, so no repository loses its hooks.
pub fn install_global(default_dir: &Path) -> Result<InstallReport> {
    let cwd = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
    for (key, value) in DRIVER_CONFIG {
        Git::new(&cwd).args(["config", "--global", key, value]).run()?;
    }
    let out = Git::new(&cwd).args(["config", "--global", "--get", "core.hooksPath"]).output()?;
    let configured = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let dir = if configured.is_empty() { default_dir.to_owned() } else { expand_home(&configured) };
    let chained = install_hooks(&dir)?;
    if configured.is_empty() {
        for name in OTHER_HOOKS {
            write_script(&dir.join(name), PASS_THROUGH)?;
        }
        Git::new(&cwd).args(["config", "--global", "core.hooksPath"]).arg(&dir).run()?;
    }
    Ok(InstallReport { hook: Some(dir.join("pre-commit")), chained })
}

/// `core.hooksPath` (relative to the work tree when relative), else `<common git dir>/hooks`.
pub fn hooks_dir(repo: &Repo) -> Result<PathBuf> {
    let out = repo.git().args(["config", "--get", "core.hooksPath"]).output()?;
    let configured = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok(hooks_dir_from(repo, out.status.success().then_some(configured.as_str())))
}

/// The hooks directory for a `core.hooksPath` value already read (None when unset).
pub fn hooks_dir_from(repo: &Repo, configured: Option<&str>) -> PathBuf {
    match configured.filter(|c| !c.is_empty()) {
        Some(c) => {
            let p = expand_home(c);
            if p.is_absolute() { p } else { repo.workdir().join(p) }
        }
        None => repo.common_dir().join("hooks"),
    }
}

/// The hooks `git commit` runs.
pub const COMMIT_HOOKS: &[&str] = &["pre-commit", "prepare-commit-msg", "commit-msg", "post-commit"];

/// Whether git would run any of the hooks `names` for a commit of git-vault's own in `dir`, the
/// hooks directory in effect. git-vault's own pre-commit hook and the pass-through stubs of
/// `install --global` do nothing for such a commit unless they hand over to another hook (a
/// chained one, or the repository's own under a global directory), so only those count. Any
/// other executable hook counts, including an edited copy of ours.
pub fn hooks_would_run(repo: &Repo, dir: &Path, names: &[&str]) -> bool {
    let own_dir = repo.common_dir().join("hooks");
    let in_own_dir = same_dir(dir, &own_dir);
    let pre_commit = HOOKS.iter().find(|(n, _)| *n == "pre-commit").map(|(_, s)| *s).unwrap_or_default();
    names.iter().any(|name| {
        let hook = dir.join(name);
        if !is_executable(&hook) {
            return false; // git skips a hook it cannot execute
        }
        let Ok(text) = fs::read(&hook) else { return true };
        let hands_over_to_own = !in_own_dir && is_executable(&own_dir.join(name)) && !same_file(&own_dir.join(name), &hook);
        if *name == "pre-commit" && text == pre_commit.as_bytes() {
            return is_executable(&dir.join("pre-commit.git-vault-chained")) || hands_over_to_own;
        }
        if text == PASS_THROUGH.as_bytes() {
            return hands_over_to_own;
        }
        true
    })
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || same_file(a, b)
}

pub(super) fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// Writes every hook; returns the foreign hooks now chained.
fn install_hooks(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut chained = Vec::new();
    for (name, script) in HOOKS {
        chained.extend(install_hook(dir, name, script)?);
    }
    Ok(chained)
}

/// Writes one hook into `dir`, moving a foreign hook aside to be chained. Returns the chained
/// hook's path when there is one.
fn install_hook(dir: &Path, name: &str, script: &str) -> Result<Option<PathBuf>> {
    crate::store::create_dir(dir, 0o755).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let hook = dir.join(name);
    let chained = dir.join(format!("{name}.git-vault-chained"));
    let marker = format!("# git-vault {name} hook");
    let ours = match fs::read(&hook) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).contains(&marker),
        Err(e) if e.kind() == io::ErrorKind::NotFound => true,
        Err(e) => return Err(Error::io(hook.display(), e)),
    };
    if !ours {
        if chained.exists() {
            return Err(Error::invalid_input(format!(
                "{} exists and {} too; merge them by hand, then run install again",
                hook.display(),
                chained.display()
            )));
        }
        fs::rename(&hook, &chained).map_err(|e| Error::io(format!("cannot move {} aside", hook.display()), e))?;
    }
    write_script(&hook, script)?;
    Ok(chained.exists().then_some(chained))
}

fn write_script(path: &Path, script: &str) -> Result<()> {
    crate::store::write_atomic(path, script.as_bytes()).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(|e| Error::io(path.display(), e))
}
