//! Merges through real git: the drivers merge the manifest as sets and re-encrypt ciphertext to
//! the merged policy; the post-merge hook reconciles files changed on one side only; a true
//! collision is a conflict that names the secret and keeps both values.

use crate::common::*;

fn setup() -> Env {
    let env = Env::with_vault();
    for a in ["ci", "deploy"] {
        env.ok(&["add-agent", a]);
    }
    env.set("stripe/api-key", b"sk", &[]);
    env.set("db/password", b"pw", &[]);
    env.ok(&["grant", "ci", "stripe"]);
    env.ok(&["grant", "deploy", "db"]);
    env
}

fn merge(env: &Env, branch: &str) -> std::process::Output {
    let mut cmd = std::process::Command::new("git");
    hermetic(&mut cmd, &env.home);
    cmd.current_dir(&env.repo).args(["merge", "--no-edit", branch]).output().unwrap()
}

fn deep_clean(env: &Env) {
    let out = env.cmd(&["--json", "check", "--deep"]).output().unwrap();
    assert!(out.status.success(), "check --deep after the merge: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(env.git(&["status", "--porcelain"]), "", "the merge left nothing uncommitted");
}

fn no_markers(env: &Env) {
    for (path, bytes) in Env::snapshot(&env.vault()) {
        assert!(!String::from_utf8_lossy(&bytes).contains("<<<<<<<"), "{} has conflict markers", path.display());
    }
}

#[test]
fn grant_on_one_branch_and_revoke_on_the_other_merge_cleanly() {
    let env = setup();
    env.git(&["checkout", "-q", "-b", "side"]);
    env.ok(&["revoke", "deploy", "db"]);
    env.git(&["checkout", "-q", "main"]);
    env.ok(&["grant", "ci", "db"]);
    let out = merge(&env, "side");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    no_markers(&env);
    assert_eq!(env.read_as("db/password", &env.agent_key("ci")).as_deref(), Some(&b"pw"[..]));
    assert_eq!(env.read_as("db/password", &env.agent_key("deploy")), None, "the revoke is not undone by the merge");
    deep_clean(&env);
}

#[test]
fn agents_and_secrets_added_on_both_sides_are_kept() {
    let env = setup();
    env.git(&["checkout", "-q", "-b", "side"]);
    env.ok(&["add-agent", "side-agent"]);
    env.set("side/one", b"s1", &[]);
    env.set("stripe/api-key", b"sk-rotated-on-side", &[]);
    env.git(&["checkout", "-q", "main"]);
    env.ok(&["add-agent", "main-agent"]);
    env.set("main/one", b"m1", &[]);
    let out = merge(&env, "side");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    no_markers(&env);
    let agents: serde_json::Value = serde_json::from_str(&env.ok(&["list-agents", "--json"])).unwrap();
    let names: Vec<&str> = agents.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ci", "deploy", "main-agent", "side-agent"]);
    assert_eq!(env.read_as("side/one", &env.owner_key()).as_deref(), Some(&b"s1"[..]));
    assert_eq!(env.read_as("main/one", &env.owner_key()).as_deref(), Some(&b"m1"[..]));
    assert_eq!(env.read_as("stripe/api-key", &env.agent_key("ci")).as_deref(), Some(&b"sk-rotated-on-side"[..]));
    deep_clean(&env);
}

#[test]
fn the_same_secret_reencrypted_on_both_sides_merges_by_value() {
    let env = setup();
    env.ok(&["add-agent", "audit"]);
    env.git(&["checkout", "-q", "-b", "side"]);
    env.ok(&["grant", "audit", "stripe"]);
    env.git(&["checkout", "-q", "main"]);
    env.ok(&["revoke", "ci", "stripe"]);
    let out = merge(&env, "side");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.read_as("stripe/api-key", &env.agent_key("audit")).as_deref(), Some(&b"sk"[..]));
    assert_eq!(env.read_as("stripe/api-key", &env.agent_key("ci")), None);
    deep_clean(&env);
}

#[test]
fn a_revoke_is_enforced_on_secrets_the_other_side_added() {
    let env = setup();
    env.git(&["checkout", "-q", "-b", "side"]);
    env.set("stripe/new", b"added-on-side", &[]);
    env.git(&["checkout", "-q", "main"]);
    env.ok(&["revoke", "ci", "stripe"]);
    let out = merge(&env, "side");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.read_as("stripe/new", &env.agent_key("ci")), None, "the revoked agent cannot read what the other side added");
    deep_clean(&env);
}

#[test]
fn two_values_for_one_secret_are_a_conflict_that_keeps_both() {
    let env = setup();
    env.git(&["checkout", "-q", "-b", "side"]);
    env.set("db/password", b"theirs-value", &[]);
    env.git(&["checkout", "-q", "main"]);
    env.set("db/password", b"ours-value", &[]);
    let out = merge(&env, "side");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"db/password\"") && stderr.contains("different values"), "{stderr}");
    assert_eq!(env.get_with("db/password", &env.owner_key()).stdout, b"ours-value", "ours is kept in the work tree");
    let mut cmd = std::process::Command::new("git");
    hermetic(&mut cmd, &env.home);
    let blob = cmd.current_dir(&env.repo).args(["show", "MERGE_HEAD:.agent-vault/secrets/db/password.enc"]).output().unwrap().stdout;
    let id = git_vault::keys::load(&env.owner_key(), "k").unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(git_vault::crypto::decrypt(&id, &blob).unwrap().expose_secret(), b"theirs-value", "theirs is recoverable");
    env.set("db/password", b"resolved", &["--no-commit"]);
    env.git(&["add", "-A", ".agent-vault"]);
    env.git(&["commit", "-qm", "resolve"]);
    env.ok(&["reconcile"]);
    deep_clean(&env);
}

#[test]
fn git_pull_between_two_clones_merges_the_vault() {
    let env = setup();
    let (_bare, clone) = env.push_and_clone();
    env.cmd_in(&clone, &["install"]).assert().success();
    env.cmd_in(&clone, &["revoke", "ci", "stripe"]).assert().success();
    env.cmd_in(&clone, &["set", "clone/secret"]).write_stdin("c").assert().success();
    git_in(&env.home, &clone, &["push", "-q"]);
    env.ok(&["grant", "deploy", "stripe"]);
    env.set("stripe/extra", b"x", &[]);
    let mut cmd = std::process::Command::new("git");
    hermetic(&mut cmd, &env.home);
    let out = cmd.current_dir(&env.repo).args(["pull", "--no-rebase", "--no-edit"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.read_as("stripe/extra", &env.agent_key("ci")), None);
    assert_eq!(env.read_as("stripe/extra", &env.agent_key("deploy")).as_deref(), Some(&b"x"[..]));
    assert_eq!(env.read_as("clone/secret", &env.owner_key()).as_deref(), Some(&b"c"[..]));
    deep_clean(&env);
}

#[test]
fn without_drivers_reconcile_repairs_the_merged_tree() {
    let env = setup();
    for section in ["merge.agent-vault-manifest", "merge.agent-vault-secret", "merge.agent-vault-meta"] {
        env.git(&["config", "--remove-section", section]);
    }
    std::fs::remove_file(env.repo.join(".git/hooks/post-merge")).unwrap();
    env.git(&["checkout", "-q", "-b", "side"]);
    env.set("stripe/new", b"added-on-side", &[]);
    env.git(&["checkout", "-q", "main"]);
    env.ok(&["add-agent", "audit"]);
    env.ok(&["revoke", "ci", "stripe"]);
    let out = merge(&env, "side");
    assert!(out.status.success(), "the text merge of these changes is clean: {}", String::from_utf8_lossy(&out.stderr));
    let check = env.cmd(&["check", "--deep"]).output().unwrap();
    assert_eq!(check.status.code(), Some(1), "the merged tree is out of line");
    env.ok(&["reconcile"]);
    assert_eq!(env.read_as("stripe/new", &env.agent_key("ci")), None);
    deep_clean(&env);
}

#[test]
fn a_rebase_is_brought_in_line_too() {
    let env = setup();
    env.git(&["checkout", "-q", "-b", "side"]);
    env.set("stripe/new", b"added-on-side", &[]);
    env.git(&["checkout", "-q", "main"]);
    env.ok(&["revoke", "ci", "stripe"]);
    env.git(&["checkout", "-q", "side"]);
    let mut cmd = std::process::Command::new("git");
    hermetic(&mut cmd, &env.home);
    let out = cmd.current_dir(&env.repo).args(["rebase", "main"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.read_as("stripe/new", &env.agent_key("ci")), None);
    deep_clean(&env);
}
