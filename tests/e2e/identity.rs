//! SPEC §3: --key, then AGENT_VAULT_KEY (value in memory, or a path), then the owner key; never
//! a silent fallback.

use crate::common::*;

fn setup() -> Env {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    env.set("stripe/api-key", b"sk", &[]);
    env.ok(&["grant", "ci", "stripe"]);
    env.set("db/password", b"pw", &[]);
    env
}

fn raw_key(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap().lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap().to_owned()
}

#[test]
fn a_missing_key_file_never_falls_back() {
    let env = setup();
    let (code, kind) = fails(&mut env.cmd(&["--json", "get", "--no-pull", "db/password", "--key", "/nonexistent.key"]));
    assert_eq!((code, kind.as_str()), (2, "no_identity"));
    let (code, kind) = fails(env.cmd(&["--json", "get", "--no-pull", "db/password"]).env("AGENT_VAULT_KEY", "/nonexistent.key"));
    assert_eq!((code, kind.as_str()), (2, "no_identity"));
}

#[test]
fn raw_agent_vault_key_is_used_and_never_written() {
    let env = setup();
    let raw = raw_key(&env.agent_key("ci"));
    std::fs::remove_file(env.agent_key("ci")).unwrap();
    let before = Env::snapshot(env.tmp.path());
    let out = env.cmd(&["get", "--no-pull", "stripe/api-key"]).env("AGENT_VAULT_KEY", format!("  {raw}\n")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"sk");
    let out = env.cmd(&["--json", "get", "--no-pull", "db/password"]).env("AGENT_VAULT_KEY", &raw).output().unwrap();
    assert_eq!(error_kind(&out), "not_authorized");
    assert_eq!(Env::snapshot(env.tmp.path()), before, "nothing was written anywhere");
    for (path, bytes) in Env::snapshot(env.tmp.path()) {
        assert!(!String::from_utf8_lossy(&bytes).contains(&raw), "{} holds the raw key", path.display());
    }
}

#[test]
fn precedence_is_flag_then_env_then_owner_key() {
    let env = setup();
    let ci = env.agent_key("ci");
    let out = env.cmd(&["get", "--no-pull", "db/password"]).output().unwrap();
    assert_eq!(out.stdout, b"pw", "the owner key is the default");
    let (_, kind) = fails(env.cmd(&["--json", "get", "--no-pull", "db/password"]).env("AGENT_VAULT_KEY", &ci));
    assert_eq!(kind, "not_authorized", "AGENT_VAULT_KEY (a path) wins over the owner key");
    let out = env
        .cmd(&["get", "--no-pull", "db/password", "--key", env.owner_key().to_str().unwrap()])
        .env("AGENT_VAULT_KEY", &ci)
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"pw", "--key wins over AGENT_VAULT_KEY");
}

#[test]
fn bare_key_files_work_and_garbage_is_refused_without_echo() {
    let env = setup();
    let bare = env.tmp.path().join("bare.key");
    std::fs::write(&bare, format!("{}\n", raw_key(&env.agent_key("ci")))).unwrap();
    assert_eq!(env.read_as("stripe/api-key", &bare).as_deref(), Some(&b"sk"[..]));
    let junk = env.tmp.path().join("junk.key");
    std::fs::write(&junk, "AGE-SECRET-KEY-1NOTAREALKEYATALLXYZ\n").unwrap();
    let out = env.cmd(&["--json", "get", "--no-pull", "stripe/api-key", "--key", junk.to_str().unwrap()]).output().unwrap();
    assert_eq!(error_kind(&out), "no_identity");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("NOTAREALKEY"));
}

#[test]
fn no_identity_at_all_is_a_clear_error() {
    let env = setup();
    std::fs::remove_file(env.owner_key()).unwrap();
    let (code, kind) = fails(&mut env.cmd(&["--json", "get", "--no-pull", "db/password"]));
    assert_eq!((code, kind.as_str()), (2, "no_identity"));
}

#[test]
fn no_vault_is_a_clear_error() {
    let env = Env::new();
    let (code, kind) = fails(&mut env.cmd(&["--json", "list"]));
    assert_eq!((code, kind.as_str()), (2, "vault_not_found"));
    let sub = env.repo.join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    env.ok(&["init"]);
    env.cmd_in(&sub, &["list"]).assert().success();
    env.cmd_in(env.tmp.path(), &["-C", env.repo.to_str().unwrap(), "list"]).assert().success();
}
