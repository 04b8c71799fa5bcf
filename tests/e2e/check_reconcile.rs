//! check reports damage instead of aborting; reconcile repairs it; both are idempotent.

use crate::common::*;

fn report(env: &Env, deep: bool) -> (i32, serde_json::Value) {
    let mut args = vec!["--json", "check"];
    if deep {
        args.push("--deep");
    }
    let out = env.cmd(&args).output().unwrap();
    (out.status.code().unwrap(), serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr))))
}

fn codes(v: &serde_json::Value, which: &str) -> Vec<String> {
    v[which].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect()
}

fn setup() -> Env {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    env.set("stripe/api-key", b"sk", &[]);
    env.set("db/password", b"pw", &[]);
    env.ok(&["grant", "ci", "stripe"]);
    env
}

#[test]
fn a_clean_vault_checks_clean() {
    let env = setup();
    let (code, r) = report(&env, true);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r, serde_json::json!({"errors": [], "warnings": []}));
}

#[test]
fn corrupt_files_are_reported_not_fatal() {
    let env = setup();
    std::fs::write(env.vault().join("secrets/stripe/api-key.enc"), b"not age at all").unwrap();
    std::fs::write(env.vault().join("secrets/db/password.meta"), b"name: [unclosed").unwrap();
    let (code, r) = report(&env, false);
    assert_eq!(code, 1);
    let errors = codes(&r, "errors");
    assert!(errors.contains(&"corrupt_ciphertext".to_owned()), "{r}");
    assert!(errors.contains(&"meta_invalid".to_owned()), "{r}");
}

#[test]
fn orphans_missing_files_and_expiry_are_reported() {
    let env = setup();
    std::fs::copy(env.vault().join("secrets/db/password.enc"), env.vault().join("secrets/db/orphan.enc")).unwrap();
    std::fs::remove_file(env.vault().join("secrets/stripe/api-key.enc")).unwrap();
    std::fs::write(env.vault().join("secrets/db/.gv-tmp-abc"), b"x").unwrap();
    env.set("soon/one", b"x", &["--expires", "10d"]);
    env.set("past/one", b"x", &["--expires", "2020-01-01"]);
    let (code, r) = report(&env, false);
    assert_eq!(code, 1);
    let errors = codes(&r, "errors");
    let warnings = codes(&r, "warnings");
    for c in ["orphan", "missing_ciphertext", "expired"] {
        assert!(errors.contains(&c.to_owned()), "{c}: {r}");
    }
    for c in ["interrupted_write", "expiring"] {
        assert!(warnings.contains(&c.to_owned()), "{c}: {r}");
    }
}

#[test]
fn reconcile_repairs_a_hand_edited_manifest_and_is_idempotent() {
    let env = setup();
    let m = env.vault().join("manifest.yaml");
    let text = std::fs::read_to_string(&m).unwrap().replace("  - stripe\n", "  - db\n");
    std::fs::write(&m, text).unwrap();
    let (code, r) = report(&env, true);
    assert_eq!(code, 1);
    assert!(codes(&r, "errors").contains(&"agent_can_decrypt".to_owned()), "{r}");
    assert!(codes(&r, "errors").contains(&"agent_cannot_decrypt".to_owned()), "{r}");
    env.ok(&["reconcile"]);
    let (code, r) = report(&env, true);
    assert_eq!(code, 0, "{r}");
    assert_eq!(env.read_as("stripe/api-key", &env.agent_key("ci")), None);
    assert_eq!(env.read_as("db/password", &env.agent_key("ci")).as_deref(), Some(&b"pw"[..]));
    assert_eq!(env.git(&["status", "--porcelain"]), "", "reconcile commits its repair");
    let head = env.git(&["rev-parse", "HEAD"]);
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "reconcile"])).unwrap();
    assert_eq!(json["reencrypted"], serde_json::json!([]));
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head, "a second reconcile changes nothing");
}

#[test]
fn reconcile_adopts_orphans_and_drops_missing_entries() {
    let env = setup();
    std::fs::copy(env.vault().join("secrets/db/password.enc"), env.vault().join("secrets/db/copy.enc")).unwrap();
    std::fs::remove_file(env.vault().join("secrets/stripe/api-key.enc")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "reconcile"])).unwrap();
    assert_eq!(json["adopted"], serde_json::json!(["db/copy"]));
    assert_eq!(json["dropped"], serde_json::json!(["stripe/api-key"]));
    assert_eq!(env.read_as("db/copy", &env.owner_key()).as_deref(), Some(&b"pw"[..]));
    let (code, r) = report(&env, true);
    assert_eq!(code, 0, "{r}");
}

#[test]
fn a_swapped_public_key_is_caught_by_the_deep_check() {
    let env = setup();
    let fake = env.tmp.path().join("attacker.key");
    let attacker = keypair(&fake);
    std::fs::write(env.vault().join("agents/ci/public.key"), format!("{attacker}\n")).unwrap();
    let (code, r) = report(&env, true);
    assert_eq!(code, 1);
    assert!(codes(&r, "errors").contains(&"escrow_mismatch".to_owned()), "{r}");
    env.ok(&["reconcile"]);
    env.ok(&["check", "--deep"]);
    assert_eq!(env.read_as("stripe/api-key", &fake), None, "reconcile trusts the escrow, not the swapped key");
}
