//! The hermetic test environment.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_git-vault");

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A temporary HOME and a git repository in it.
pub struct Env {
    pub tmp: TempDir,
    pub home: PathBuf,
    pub repo: PathBuf,
}

pub fn path_var() -> String {
    let bin_dir = Path::new(BIN).parent().expect("the binary has a directory");
    format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default())
}

/// Applies the hermetic environment to a command.
pub fn hermetic(cmd: &mut std::process::Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", path_var())
        .env("HOME", home)
        .env("LANG", "C")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z");
}

impl Env {
    /// A fresh HOME with a git identity, and an empty repository `repo`.
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().expect("temp dir");
        let home = tmp.path().join("home");
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(
            home.join(".gitconfig"),
            "[user]\n\tname = Alice Owner\n\temail = alice@example.com\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        let env = Env { tmp, home, repo };
        env.git(&["init", "-q"]);
        env
    }

    /// A repository with an initialised vault.
    pub fn with_vault() -> Env {
        let env = Env::new();
        env.ok(&["init", "--owner", "alice"]);
        env
    }

    /// `git-vault ARGS` in the repository.
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_in(&self.repo, args)
    }

    pub fn cmd_in(&self, dir: &Path, args: &[&str]) -> Command {
        let mut std_cmd = std::process::Command::new(BIN);
        hermetic(&mut std_cmd, &self.home);
        std_cmd.current_dir(dir).args(args);
        Command::from_std(std_cmd)
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        assert!(out.status.success(), "git-vault {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs with a value on stdin and asserts success.
    pub fn set(&self, path: &str, value: &[u8], extra: &[&str]) {
        let mut args = vec!["set", path];
        args.extend_from_slice(extra);
        let out = self.cmd(&args).write_stdin(value.to_vec()).output().unwrap();
        assert!(out.status.success(), "set {path} failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// `get` with a key file; returns the raw output.
    pub fn get_with(&self, path: &str, key: &Path) -> Output {
        self.cmd(&["get", "--no-pull", path, "--key", key.to_str().unwrap()]).output().unwrap()
    }

    /// The value, or None when the key may not read it (asserting the error is `not_authorized`).
    pub fn read_as(&self, path: &str, key: &Path) -> Option<Vec<u8>> {
        let out = self.cmd(&["--json", "get", "--no-pull", path, "--key", key.to_str().unwrap()]).output().unwrap();
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            return Some(v["value"].as_str().map(|s| s.as_bytes().to_vec()).unwrap_or_else(|| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(v["value_base64"].as_str().unwrap()).unwrap()
            }));
        }
        assert_eq!(error_kind(&out), "not_authorized", "{}", String::from_utf8_lossy(&out.stderr));
        None
    }

    pub fn owner_key(&self) -> PathBuf {
        self.home.join(".agent-vault/owner.key")
    }

    pub fn agent_key(&self, name: &str) -> PathBuf {
        self.home.join(".agent-vault/agents").join(format!("{name}.key"))
    }

    pub fn vault(&self) -> PathBuf {
        self.repo.join(".agent-vault")
    }

    /// `git ARGS` in the repository; asserts success and returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(&self.home, &self.repo, args)
    }

    /// Pushes the repository to a new bare remote (`origin`, upstream of main) and clones that;
    /// returns (bare remote, clone).
    pub fn push_and_clone(&self) -> (PathBuf, PathBuf) {
        let bare = self.tmp.path().join("remote.git");
        git_in(&self.home, self.tmp.path(), &["init", "-q", "--bare", bare.to_str().unwrap()]);
        self.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
        self.git(&["push", "-q", "-u", "origin", "main"]);
        let clone = self.tmp.path().join("clone");
        git_in(&self.home, self.tmp.path(), &["clone", "-q", bare.to_str().unwrap(), clone.to_str().unwrap()]);
        (bare, clone)
    }

    /// Every file under `dir`, recursively, for "nothing was written" assertions.
    pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    if p.file_name().is_some_and(|n| n == ".git") {
                        continue;
                    }
                    stack.push(p);
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
                }
            }
        }
        out.sort();
        out
    }
}

pub fn git_in(home: &Path, dir: &Path, args: &[&str]) -> String {
    let mut cmd = std::process::Command::new("git");
    hermetic(&mut cmd, home);
    let out = cmd.current_dir(dir).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes the executable script `name` in `dir` (created if missing), such as a git hook.
pub fn hook(dir: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), script).unwrap();
    std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A directory holding a `git` that runs the shell `prelude`, in which `$GIT` is the real git, and
/// then the real git with its arguments: first in PATH, it disturbs what git-vault runs.
pub fn git_shim(env: &Env, prelude: &str) -> PathBuf {
    let real = std::process::Command::new("sh").args(["-c", "command -v git"]).output().unwrap().stdout;
    let shim = env.tmp.path().join("shim");
    hook(&shim, "git", &format!("#!/bin/sh\nGIT='{}'\n{prelude}\nexec \"$GIT\" \"$@\"\n", String::from_utf8(real).unwrap().trim()));
    shim
}

/// Runs `cmd`, which must succeed, with git's trace; returns whether it ran `git <subcommand>`.
pub fn ran_git(env: &Env, mut cmd: Command, subcommand: &str) -> bool {
    let trace = env.tmp.path().join("trace2.json");
    let _ = std::fs::remove_file(&trace);
    cmd.env("GIT_TRACE2_EVENT", &trace).assert().success();
    std::fs::read_to_string(&trace).unwrap_or_default().contains(&format!("\"{subcommand}\""))
}

/// PATH with `shim` first.
pub fn path_with(shim: &Path) -> String {
    format!("{}:{}", shim.display(), path_var())
}

/// The `kind` of a `--json` error on stderr.
pub fn error_kind(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no JSON error in {text:?}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["error"]["kind"].as_str().unwrap().to_owned()
}

/// Runs a `--json` command expected to fail; returns (exit code, kind).
pub fn fails<C: std::borrow::BorrowMut<Command>>(mut cmd: C) -> (i32, String) {
    let out = cmd.borrow_mut().output().unwrap();
    assert!(!out.status.success(), "expected a failure: {}", String::from_utf8_lossy(&out.stdout));
    (out.status.code().unwrap_or(-1), error_kind(&out))
}

/// Writes a fresh identity file (age-keygen form) and returns its recipient.
pub fn keypair(path: &Path) -> String {
    let id = git_vault::crypto::Identity::generate();
    std::fs::write(path, id.to_key_file("2026-01-01T00:00:00Z").as_bytes()).unwrap();
    id.recipient().to_string()
}

pub fn values(n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("g/s{i:03}"), format!("value-{i}"))).collect()
}

/// Fills the vault with `n` secrets of group g in one commit (through the library, for speed).
pub fn bulk(env: &Env, n: usize) {
    use git_vault::ops::{NoProgress, Options, Vault, secrets};
    let vault = Vault::find(&env.repo).unwrap();
    let opts = Options {
        env: git_vault::keys::KeyEnv { agent_vault_key: None, home: Some(env.home.clone()) },
        key: None,
        now: git_vault::vault::Timestamp::now(),
        commit: git_vault::git::commit::CommitMode::StageOnly,
        lock_timeout: std::time::Duration::from_secs(10),
        progress: &NoProgress,
        on_lock_wait: &|| {},
    };
    for (path, value) in values(n) {
        let req = secrets::SetRequest {
            path: git_vault::vault::SecretPath::parse(&path).unwrap(),
            value: secrecy::SecretSlice::from(value.into_bytes()),
            group: None,
            expires: secrets::Expiry::Keep,
            agents: None,
        };
        secrets::set(&vault, req, &opts).unwrap();
    }
    env.git(&["commit", "-qm", "bulk"]);
}
