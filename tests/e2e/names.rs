//! Every invalid name of SPEC 2.2 is refused before anything is written.

use crate::common::*;

fn vectors() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("names.json")).unwrap()).unwrap()
}

fn list(v: &serde_json::Value, kind: &str, which: &str) -> Vec<String> {
    v[kind][which].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

#[test]
fn invalid_secret_paths_are_refused_and_nothing_is_written() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    let before = Env::snapshot(&env.repo);
    let head = env.git(&["rev-parse", "HEAD"]);
    for bad in list(&vectors(), "secret_paths", "invalid") {
        if bad.contains('\0') {
            continue; // cannot be passed in argv; covered by the unit tests
        }
        let (code, kind) = fails(env.cmd(&["--json", "set", &bad, "--group", "g"]).write_stdin("v"));
        assert_eq!((code, kind.as_str()), (2, "invalid_name"), "set {bad:?}");
        let (code, kind) = fails(env.cmd(&["--json", "get", "--no-pull", &bad]));
        assert_eq!((code, kind.as_str()), (2, "invalid_name"), "get {bad:?}");
        let (code, kind) = fails(env.cmd(&["--json", "rm", &bad]));
        assert_eq!((code, kind.as_str()), (2, "invalid_name"), "rm {bad:?}");
    }
    assert_eq!(Env::snapshot(&env.repo), before, "nothing written");
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head, "nothing committed");
}

#[test]
fn invalid_single_names_are_refused() {
    let env = Env::with_vault();
    let before = Env::snapshot(&env.repo);
    let home_before = Env::snapshot(&env.home);
    for bad in list(&vectors(), "single_names", "invalid") {
        if bad.contains('\0') {
            continue;
        }
        let bad = bad.as_str();
        for args in [vec!["add-agent", bad], vec!["grant", bad, "g"], vec!["grant", "ci", bad], vec!["add-owner", bad, "age1x"]] {
            let mut full = vec!["--json"];
            full.extend(args);
            let (code, kind) = fails(&mut env.cmd(&full));
            assert_eq!((code, kind.as_str()), (2, "invalid_name"), "{full:?}");
        }
        let (code, kind) = fails(env.cmd(&["--json", "set", "x", "--group", bad]).write_stdin("v"));
        assert_eq!((code, kind.as_str()), (2, "invalid_name"), "--group {bad:?}");
    }
    assert_eq!(Env::snapshot(&env.repo), before);
    assert_eq!(Env::snapshot(&env.home), home_before, "no agent key was created");
}

#[test]
fn valid_paths_round_trip() {
    let env = Env::with_vault();
    for (i, good) in list(&vectors(), "secret_paths", "valid").iter().enumerate() {
        let value = format!("value-{i}");
        env.set(good, value.as_bytes(), &[]);
        assert_eq!(env.read_as(good, &env.owner_key()).unwrap(), value.as_bytes(), "{good}");
    }
    env.ok(&["check", "--deep"]);
}

#[test]
fn path_traversal_in_a_manifest_is_refused() {
    let env = Env::with_vault();
    let m = env.vault().join("manifest.yaml");
    let text = std::fs::read_to_string(&m).unwrap().replace("groups: []", "groups:\n- name: x\n  secrets:\n  - ../../../outside\n");
    std::fs::write(&m, text).unwrap();
    let (code, kind) = fails(env.cmd(&["--json", "list"]));
    assert_eq!((code, kind.as_str()), (2, "invalid_input"));
    let out = env.cmd(&["--json", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "check reports instead of aborting");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["errors"][0]["code"], "manifest_invalid");
    assert!(report["errors"][0]["message"].as_str().unwrap().contains("'..'"));
}
