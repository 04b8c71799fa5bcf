//! init, install, owners, agents: the life of a vault.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_creates_the_vault_commits_and_a_private_owner_key() {
    let env = Env::new();
    env.ok(&["init", "--owner", "alice"]);
    for f in ["config.yaml", "owner.pub", "manifest.yaml", ".gitignore", ".gitattributes"] {
        assert!(env.vault().join(f).is_file(), "{f}");
    }
    assert_eq!(mode(&env.owner_key()), 0o600);
    assert_eq!(mode(env.owner_key().parent().unwrap()), 0o700);
    let log = env.git(&["log", "--format=%s"]);
    assert_eq!(log.trim(), "agent-vault: init vault");
    let files = env.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert!(files.lines().all(|l| l.starts_with(".agent-vault/")), "{files}");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    let manifest = std::fs::read_to_string(env.vault().join("manifest.yaml")).unwrap();
    assert!(manifest.contains("name: alice") && manifest.contains("public_key: owner.pub"), "{manifest}");
}

#[test]
fn init_outside_a_repository_fails_and_leaves_nothing() {
    let env = Env::new();
    let outside = env.tmp.path().join("plain");
    std::fs::create_dir_all(&outside).unwrap();
    let (code, kind) = fails(env.cmd_in(&outside, &["--json", "init"]));
    assert_eq!((code, kind.as_str()), (2, "git"));
    assert!(!outside.join(".agent-vault").exists());
    assert!(!env.owner_key().exists(), "no key is created for a failed init");
}

#[test]
fn init_reuses_the_owner_key_and_refuses_a_second_vault() {
    let env = Env::with_vault();
    let key = std::fs::read(env.owner_key()).unwrap();
    let (code, kind) = fails(env.cmd(&["--json", "init"]));
    assert_eq!((code, kind.as_str()), (2, "already_exists"));
    let other = env.tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    git_in(&env.home, &other, &["init", "-q"]);
    env.cmd_in(&other, &["init"]).assert().success();
    assert_eq!(std::fs::read(env.owner_key()).unwrap(), key, "the owner key is never overwritten");
    let pub_a = std::fs::read_to_string(env.vault().join("owner.pub")).unwrap();
    let pub_b = std::fs::read_to_string(other.join(".agent-vault/owner.pub")).unwrap();
    assert_eq!(pub_a, pub_b, "one owner identity owns both vaults");
}

#[test]
fn install_is_idempotent_and_chains_an_existing_hook() {
    let env = Env::new();
    let hooks = env.repo.join(".git/hooks");
    hook(&hooks, "pre-commit", "#!/bin/sh\necho user-hook-ran >&2\n");
    env.ok(&["install"]);
    env.ok(&["install"]);
    let ours = std::fs::read_to_string(hooks.join("pre-commit")).unwrap();
    assert!(ours.contains("git-vault scan --staged"));
    let chained = std::fs::read_to_string(hooks.join("pre-commit.git-vault-chained")).unwrap();
    assert!(chained.contains("user-hook-ran"));
    std::fs::write(env.repo.join("a.txt"), "hello\n").unwrap();
    env.git(&["add", "a.txt"]);
    let mut cmd = std::process::Command::new("git");
    hermetic(&mut cmd, &env.home);
    let out = cmd.current_dir(&env.repo).args(["commit", "-qm", "x"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("user-hook-ran"), "the chained hook still runs");
    let config = env.git(&["config", "--get", "diff.agent-vault.textconv"]);
    assert_eq!(config.trim(), "git-vault textconv");
}

#[test]
fn install_honours_core_hooks_path() {
    let env = Env::new();
    env.git(&["config", "core.hooksPath", "my-hooks"]);
    env.ok(&["install"]);
    assert!(env.repo.join("my-hooks/pre-commit").is_file());
    assert!(!env.repo.join(".git/hooks/pre-commit").exists());
}

#[test]
fn add_agent_creates_a_private_key_escrow_and_reuses_keys() {
    let env = Env::with_vault();
    let out = env.ok(&["add-agent", "ci"]);
    assert_eq!(out.trim(), env.agent_key("ci").display().to_string(), "prints where the key is");
    assert_eq!(mode(&env.agent_key("ci")), 0o600);
    assert!(env.vault().join("agents/ci/public.key").is_file());
    assert!(env.vault().join("agents/ci/private.key.escrow").is_file());
    let tracked = env.git(&["ls-files", ".agent-vault/agents"]);
    assert!(tracked.contains("agents/ci/public.key") && tracked.contains("private.key.escrow"), "{tracked}");
    let (code, kind) = fails(env.cmd(&["--json", "add-agent", "ci"]));
    assert_eq!((code, kind.as_str()), (2, "already_exists"));
    let key = std::fs::read(env.agent_key("ci")).unwrap();
    env.ok(&["remove-agent", "ci"]);
    env.ok(&["add-agent", "ci"]);
    assert_eq!(std::fs::read(env.agent_key("ci")).unwrap(), key, "an existing agent key is reused");
}

#[test]
fn list_agents_and_owners_json() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    env.ok(&["add-agent", "deploy"]);
    env.set("stripe/api-key", b"v", &[]);
    env.ok(&["grant", "ci", "stripe"]);
    let agents: serde_json::Value = serde_json::from_str(&env.ok(&["list-agents", "--json"])).unwrap();
    assert_eq!(agents, serde_json::json!([{"name": "ci", "groups": ["stripe"]}, {"name": "deploy", "groups": []}]));
    let owners: serde_json::Value = serde_json::from_str(&env.ok(&["list-owners", "--json"])).unwrap();
    assert_eq!(owners[0]["name"], "alice");
    assert!(owners[0]["public_key"].as_str().unwrap().starts_with("age1"));
}

#[test]
fn recover_agent_replaces_the_key_and_restore_agent_writes_it_back() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    env.set("stripe/api-key", b"sk", &[]);
    env.ok(&["grant", "ci", "stripe"]);
    let old_key = env.tmp.path().join("old.key");
    std::fs::copy(env.agent_key("ci"), &old_key).unwrap();
    env.ok(&["recover-agent", "ci"]);
    assert_eq!(env.read_as("stripe/api-key", &old_key), None, "the old key stops working");
    assert_eq!(env.read_as("stripe/api-key", &env.agent_key("ci")).as_deref(), Some(&b"sk"[..]));
    let aside: Vec<_> = std::fs::read_dir(env.agent_key("ci").parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("ci.key.replaced-"))
        .collect();
    assert_eq!(aside.len(), 1, "the old key file is moved aside, not destroyed");
    let restored = env.tmp.path().join("restored.key");
    env.ok(&["restore-agent", "ci", "--to", restored.to_str().unwrap()]);
    assert_eq!(mode(&restored), 0o600);
    assert_eq!(env.read_as("stripe/api-key", &restored).as_deref(), Some(&b"sk"[..]));
    let (code, kind) = fails(env.cmd(&["--json", "restore-agent", "ci", "--to", restored.to_str().unwrap()]));
    assert_eq!((code, kind.as_str()), (2, "already_exists"), "restore never overwrites");
    env.ok(&["check", "--deep"]);
}

#[test]
fn owners_can_be_added_and_removed() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    env.set("a/one", b"1", &[]);
    env.set("b/two", b"2", &[]);
    let bob_key = env.tmp.path().join("bob.key");
    let bob = keypair(&bob_key);
    env.ok(&["add-owner", "bob", &bob]);
    assert_eq!(env.read_as("a/one", &bob_key).as_deref(), Some(&b"1"[..]));
    assert_eq!(env.read_as("b/two", &bob_key).as_deref(), Some(&b"2"[..]));
    env.ok(&["check", "--deep"]);
    env.cmd(&["check", "--deep", "--key", bob_key.to_str().unwrap()]).assert().success();
    let (code, kind) = fails(env.cmd(&["--json", "add-owner", "bob", &bob]));
    assert_eq!((code, kind.as_str()), (2, "already_exists"));
    env.ok(&["remove-owner", "bob"]);
    assert_eq!(env.read_as("a/one", &bob_key), None);
    let (code, _) = fails(env.cmd(&["--json", "remove-owner", "alice"]));
    assert_eq!(code, 2, "the last owner stays");
    env.ok(&["check", "--deep"]);
}

#[test]
fn help_completions_and_version() {
    let env = Env::new();
    env.cmd(&["--help"]).assert().success().stdout(predicates::str::contains("grant"));
    env.cmd(&["--version"]).assert().success();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = env.ok(&["completions", shell]);
        assert!(out.contains("git-vault") || out.contains("git_vault"), "{shell}");
    }
    assert!(env.ok(&["completions", "bash"]).contains("_git_vault()"), "git's completion finds _git_vault");
    env.cmd(&["frobnicate"]).assert().code(2);
}

#[test]
fn the_template_hooks_are_the_installed_hooks() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["pre-commit", "post-merge", "post-rewrite"] {
        let hook = std::fs::read(root.join("hooks").join(name)).unwrap();
        assert_eq!(std::fs::read(root.join("git-templates/hooks").join(name)).unwrap(), hook, "git-templates/hooks/{name} is stale");
        assert_eq!(mode(&root.join("git-templates/hooks").join(name)) & 0o111, 0o111, "{name} is executable");
    }
}

#[test]
fn install_global_covers_every_repository_and_keeps_their_own_hooks() {
    let env = Env::new();
    env.ok(&["install", "--global"]);
    env.ok(&["install", "--global"]);
    let global = env.git(&["config", "--global", "--get", "core.hooksPath"]);
    assert!(global.trim().ends_with(".config/git-vault/hooks"), "{global}");
    // a repository that never ran `git vault install`, with a post-commit hook of its own
    let hooks = env.repo.join(".git/hooks");
    hook(&hooks, "post-commit", "#!/bin/sh\ntouch \"$(git rev-parse --git-dir)/own-hook-ran\"\n");
    std::fs::write(env.repo.join("creds.ini"), "aws_access_key_id = AKIAZ7QW3R5T2Y4U6I2O\n").unwrap();
    env.git(&["add", "creds.ini"]);
    let mut cmd = std::process::Command::new("git");
    hermetic(&mut cmd, &env.home);
    let out = cmd.current_dir(&env.repo).args(["commit", "-qm", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the global pre-commit hook scans");
    std::fs::write(env.repo.join("creds.ini"), "clean = true\n").unwrap();
    env.git(&["add", "creds.ini"]);
    env.git(&["commit", "-qm", "clean"]);
    assert!(env.repo.join(".git/own-hook-ran").exists(), "the repository's own hook still runs");
    assert_eq!(env.git(&["config", "--global", "--get", "diff.agent-vault.textconv"]).trim(), "git-vault textconv");
}
