//! A vault of the earlier agent-vault tool (fixtures/legacy-vault, built by hand with Go age)
//! opens and works here, and keeps its unknown fields through a save.

use std::path::Path;

use crate::common::*;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The legacy vault in a fresh repository, with its keys in place of ours.
fn legacy() -> (Env, serde_json::Value) {
    let env = Env::new();
    copy_dir(&fixtures().join("legacy-vault/.agent-vault"), &env.vault());
    let keys = env.home.join(".agent-vault");
    copy_dir(&fixtures().join("legacy-vault-keys"), &keys);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "legacy vault"]);
    let expected = serde_json::from_str(&std::fs::read_to_string(fixtures().join("legacy-vault-expected.json")).unwrap()).unwrap();
    (env, expected)
}

#[test]
fn every_key_reads_exactly_what_the_legacy_manifest_allows() {
    let (env, expected) = legacy();
    let keys = env.home.join(".agent-vault");
    for (name, s) in expected["secrets"].as_object().unwrap() {
        let value = s["value"].as_str().unwrap().as_bytes();
        assert_eq!(env.read_as(name, &keys.join("owner.key")).as_deref(), Some(value), "owner reads {name}");
        for agent in ["ci", "deploy"] {
            let allowed = s["readers"].as_array().unwrap().iter().any(|r| r == agent);
            let got = env.read_as(name, &keys.join(format!("agents/{agent}.key")));
            assert_eq!(got.as_deref(), allowed.then_some(value), "{agent} on {name}");
        }
        assert_eq!(env.read_as(name, &keys.join("outsider.key")), None);
    }
    let list: serde_json::Value = serde_json::from_str(&env.ok(&["list", "--json"])).unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["db/prod/password", "plain", "stripe/api-key"]);
    assert_eq!(list[0]["created"], "2026-01-02T03:04:05Z", "nanosecond timestamps are read");
    let agents: serde_json::Value = serde_json::from_str(&env.ok(&["list-agents", "--json"])).unwrap();
    assert_eq!(agents, serde_json::json!([{"name": "ci", "groups": ["stripe", "default"]}, {"name": "deploy", "groups": ["db"]}]));
}

#[test]
fn check_names_the_legacy_location_and_the_vault_keeps_working() {
    let (env, _) = legacy();
    let out = env.cmd(&["--json", "check", "--deep"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    assert!(report["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "legacy_location" && w["secret"] == "plain"));
    env.ok(&["grant", "deploy", "stripe"]);
    env.ok(&["add-agent", "new"]);
    env.set("fresh/one", b"f", &[]);
    let manifest = std::fs::read_to_string(env.vault().join("manifest.yaml")).unwrap();
    assert!(manifest.contains("x-legacy-note: unknown top-level fields must survive a save"), "{manifest}");
    assert!(manifest.contains("team: platform"));
    let meta = std::fs::read_to_string(env.vault().join("secrets/stripe/api-key.meta")).unwrap();
    assert!(meta.contains("source: legacy"), "unknown meta fields survive a re-encryption: {meta}");
    assert!(meta.contains("2026-01-02T03:04:05.123456789Z"), "timestamps are kept as they were");
    env.ok(&["check", "--deep"]);
}

#[test]
fn setting_a_legacy_secret_moves_it_to_the_primary_location() {
    let (env, _) = legacy();
    env.set("plain", b"new-value", &[]);
    assert!(env.vault().join("secrets/plain.enc").is_file());
    assert!(!env.vault().join("secrets/default/plain.enc").exists());
    assert_eq!(env.read_as("plain", &env.home.join(".agent-vault/agents/ci.key")).as_deref(), Some(&b"new-value"[..]));
    let out = env.cmd(&["--json", "check", "--deep"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["errors"], serde_json::json!([]));
    assert!(!report["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "legacy_location"));
}
