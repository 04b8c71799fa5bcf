//! grant, revoke, --agents, remove-agent: exactly the allowed keys decrypt, and only the
//! affected secrets are re-encrypted.

use crate::common::*;

/// Which of the given agents can read `path`, decrypting with each key.
fn readers(env: &Env, path: &str, agents: &[&str]) -> Vec<String> {
    agents.iter().filter(|a| env.read_as(path, &env.agent_key(a)).is_some()).map(|a| a.to_string()).collect()
}

fn setup() -> Env {
    let env = Env::with_vault();
    for a in ["ci", "deploy", "audit"] {
        env.ok(&["add-agent", a]);
    }
    env.set("stripe/api-key", b"sk", &[]);
    env.set("stripe/webhook", b"wh", &[]);
    env.set("db/password", b"pw", &[]);
    env
}

#[test]
fn grant_and_revoke_change_exactly_who_decrypts() {
    let env = setup();
    let all = ["ci", "deploy", "audit"];
    assert!(readers(&env, "stripe/api-key", &all).is_empty());
    let db_before = std::fs::read(env.vault().join("secrets/db/password.enc")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "grant", "ci", "stripe"])).unwrap();
    assert_eq!(json["reencrypted"], 2);
    assert_eq!(readers(&env, "stripe/api-key", &all), ["ci"]);
    assert_eq!(readers(&env, "stripe/webhook", &all), ["ci"]);
    assert!(readers(&env, "db/password", &all).is_empty());
    assert_eq!(std::fs::read(env.vault().join("secrets/db/password.enc")).unwrap(), db_before, "unaffected secrets are not rewritten");
    assert_eq!(env.git(&["log", "-1", "--format=%s"]).trim(), "agent-vault: grant 'ci' access to 'stripe'");
    let out = env.ok(&["revoke", "ci", "stripe"]);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["stripe/api-key", "stripe/webhook"], "revoke lists the secrets to rotate");
    assert!(readers(&env, "stripe/api-key", &all).is_empty());
    env.ok(&["check", "--deep"]);
}

#[test]
fn grant_errors_are_typed() {
    let env = setup();
    let (code, kind) = fails(&mut env.cmd(&["--json", "grant", "ghost", "stripe"]));
    assert_eq!((code, kind.as_str()), (2, "agent_not_found"));
    let (code, kind) = fails(&mut env.cmd(&["--json", "grant", "ci", "nogroup"]));
    assert_eq!((code, kind.as_str()), (2, "group_not_found"));
    let (code, kind) = fails(&mut env.cmd(&["--json", "grant", "ci", "stripe", "--key", env.agent_key("ci").to_str().unwrap()]));
    assert_eq!((code, kind.as_str()), (2, "not_authorized"), "an agent key cannot grant");
    let again = env.ok(&["--json", "grant", "ci", "stripe"]);
    assert!(again.contains("\"changed\": true"));
    let head = env.git(&["rev-parse", "HEAD"]);
    let noop = env.ok(&["--json", "grant", "ci", "stripe"]);
    assert!(noop.contains("\"changed\": false"));
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head, "a no-op makes no commit");
}

#[test]
fn per_secret_readers_survive_later_reencryptions() {
    let env = setup();
    let all = ["ci", "deploy", "audit"];
    env.set("db/password", b"pw2", &["--agents", "deploy,audit"]);
    assert_eq!(readers(&env, "db/password", &all), ["deploy", "audit"]);
    env.ok(&["grant", "ci", "db"]);
    env.ok(&["revoke", "ci", "db"]);
    assert_eq!(readers(&env, "db/password", &all), ["deploy", "audit"], "--agents readers do not vanish on re-encryption");
    env.set("db/password", b"pw3", &[]);
    assert_eq!(readers(&env, "db/password", &all), ["deploy", "audit"], "a set without --agents keeps them");
    env.set("db/password", b"pw4", &["--agents", "audit"]);
    assert_eq!(readers(&env, "db/password", &all), ["audit"], "a later --agents replaces the list");
    env.set("db/password", b"pw5", &["--agents", ""]);
    assert!(readers(&env, "db/password", &all).is_empty(), "--agents '' clears it");
    let (code, kind) = fails(env.cmd(&["--json", "set", "db/password", "--agents", "ghost"]).write_stdin("v"));
    assert_eq!((code, kind.as_str()), (2, "agent_not_found"));
    env.ok(&["check", "--deep"]);
}

#[test]
fn remove_agent_drops_all_access_and_lists_secrets_to_rotate() {
    let env = setup();
    let all = ["ci", "deploy", "audit"];
    env.ok(&["grant", "ci", "stripe"]);
    env.set("db/password", b"pw", &["--agents", "ci"]);
    let out = env.ok(&["remove-agent", "ci"]);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["db/password", "stripe/api-key", "stripe/webhook"]);
    for s in ["db/password", "stripe/api-key", "stripe/webhook"] {
        assert!(readers(&env, s, &all).is_empty(), "{s}");
    }
    assert!(!env.vault().join("agents/ci").exists());
    let manifest = std::fs::read_to_string(env.vault().join("manifest.yaml")).unwrap();
    assert!(!manifest.contains("ci"), "{manifest}");
    env.ok(&["check", "--deep"]);
}

#[test]
fn a_secret_in_two_groups_is_readable_through_either() {
    let env = setup();
    let m = env.vault().join("manifest.yaml");
    let text = std::fs::read_to_string(&m).unwrap();
    let text = text.replace(
        "- name: db\n  secrets:\n  - db/password\n",
        "- name: db\n  secrets:\n  - db/password\n- name: shared\n  secrets:\n  - db/password\n",
    );
    std::fs::write(&m, text).unwrap();
    env.git(&["commit", "-qam", "share db/password"]);
    env.ok(&["grant", "audit", "shared"]);
    assert_eq!(readers(&env, "db/password", &["ci", "deploy", "audit"]), ["audit"]);
    env.ok(&["grant", "deploy", "db"]);
    env.ok(&["revoke", "audit", "shared"]);
    assert_eq!(readers(&env, "db/password", &["ci", "deploy", "audit"]), ["deploy"]);
    env.ok(&["check", "--deep"]);
}
