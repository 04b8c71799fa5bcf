//! set, get, list, rm: values stored exactly, metadata listed, nothing leaked.

use crate::common::*;

#[test]
fn binary_and_large_values_round_trip_exactly() {
    let env = Env::with_vault();
    let binary: Vec<u8> = (0..=255u8).chain([0, 0, 0xff, b'\n']).collect();
    env.set("bin/blob", &binary, &[]);
    let out = env.get_with("bin/blob", &env.owner_key());
    assert!(out.status.success());
    assert_eq!(out.stdout, binary, "no newline added, bytes exact");
    let large: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let file = env.tmp.path().join("large.bin");
    std::fs::write(&file, &large).unwrap();
    env.ok(&["set", "big/one", "--from-file", file.to_str().unwrap()]);
    assert_eq!(env.get_with("big/one", &env.owner_key()).stdout, large);
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "get", "--no-pull", "bin/blob"])).unwrap();
    assert!(json["value_base64"].is_string(), "non-UTF-8 values come back as base64 in JSON");
}

#[test]
fn value_on_the_command_line_works_with_a_warning() {
    let env = Env::with_vault();
    let out = env.cmd(&["set", "x/y", "argv-value"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("process lists"));
    assert_eq!(env.get_with("x/y", &env.owner_key()).stdout, b"argv-value");
}

#[test]
fn empty_values_and_missing_files_are_refused() {
    let env = Env::with_vault();
    let (code, kind) = fails(env.cmd(&["--json", "set", "x"]).write_stdin(""));
    assert_eq!((code, kind.as_str()), (2, "invalid_input"));
    let (code, kind) = fails(&mut env.cmd(&["--json", "set", "x", "--from-file", "/nonexistent/file"]));
    assert_eq!((code, kind.as_str()), (2, "io"));
    let (code, kind) = fails(&mut env.cmd(&["--json", "get", "--no-pull", "nope"]));
    assert_eq!((code, kind.as_str()), (2, "secret_not_found"));
    let (code, kind) = fails(&mut env.cmd(&["--json", "rm", "nope"]));
    assert_eq!((code, kind.as_str()), (2, "secret_not_found"));
    let (code, kind) = fails(env.cmd(&["--json", "set", "x", "--expires", "soon"]).write_stdin("v"));
    assert_eq!((code, kind.as_str()), (2, "invalid_input"));
}

#[test]
fn list_shows_nested_secrets_sorted_with_metadata() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    env.set("stripe/api-key", b"1", &["--expires", "2099-01-01"]);
    env.set("a/b/c/deep", b"2", &[]);
    env.set("plain", b"3", &["--agents", "ci"]);
    let list: serde_json::Value = serde_json::from_str(&env.ok(&["list", "--json"])).unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a/b/c/deep", "plain", "stripe/api-key"]);
    let first = list[0].as_object().unwrap();
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(keys, ["name", "group", "created", "rotated", "expires", "authorized_agents"], "stable field order");
    assert_eq!(list[0]["group"], "a");
    assert_eq!(list[1]["group"], "default");
    assert_eq!(list[1]["authorized_agents"], serde_json::json!(["ci"]));
    assert_eq!(list[2]["expires"], "2099-01-01T00:00:00Z");
    let only: serde_json::Value = serde_json::from_str(&env.ok(&["list", "--json", "--group", "stripe"])).unwrap();
    assert_eq!(only.as_array().unwrap().len(), 1);
    let (code, kind) = fails(&mut env.cmd(&["--json", "list", "--group", "nope"]));
    assert_eq!((code, kind.as_str()), (2, "group_not_found"));
    let text = env.ok(&["list"]);
    assert!(!text.contains('1') || !text.contains("\t1\n"), "no values in listings");
}

#[test]
fn set_updates_rotated_but_keeps_created_and_group() {
    let env = Env::with_vault();
    env.set("svc/token", b"one", &["--group", "ops"]);
    let meta1 = std::fs::read_to_string(env.vault().join("secrets/svc/token.meta")).unwrap();
    assert!(meta1.contains("group: ops"));
    env.set("svc/token", b"two", &[]);
    let meta2 = std::fs::read_to_string(env.vault().join("secrets/svc/token.meta")).unwrap();
    assert!(meta2.contains("group: ops"), "a set without --group keeps the group");
    assert_eq!(env.get_with("svc/token", &env.owner_key()).stdout, b"two");
    let list: serde_json::Value = serde_json::from_str(&env.ok(&["list", "--json"])).unwrap();
    assert_eq!(list[0]["group"], "ops");
}

#[test]
fn rm_removes_files_and_manifest_entries() {
    let env = Env::with_vault();
    env.set("a/x", b"1", &[]);
    env.set("a/deep/y", b"2", &[]);
    env.ok(&["rm", "a/deep/y"]);
    assert!(!env.vault().join("secrets/a/deep").exists(), "empty directories go too");
    let manifest = std::fs::read_to_string(env.vault().join("manifest.yaml")).unwrap();
    assert!(!manifest.contains("a/deep/y"));
    assert_eq!(env.git(&["log", "-1", "--format=%s"]).trim(), "agent-vault: remove secret 'a/deep/y'");
    env.ok(&["check", "--deep"]);
}

#[test]
fn plaintext_never_reaches_the_repository_or_history() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    let value = "PLAINTEXT-CANARY-7d1e0c";
    env.set("canary/value", value.as_bytes(), &["--agents", "ci"]);
    env.ok(&["grant", "ci", "canary"]);
    env.ok(&["revoke", "ci", "canary"]);
    env.set("canary/value", b"PLAINTEXT-CANARY-second", &[]);
    for (path, bytes) in Env::snapshot(&env.repo) {
        assert!(!String::from_utf8_lossy(&bytes).contains("PLAINTEXT-CANARY"), "{} holds plaintext", path.display());
    }
    let history = env.git(&["log", "-p", "--all", "--text"]);
    assert!(!history.contains("PLAINTEXT-CANARY"));
    let objects = env.git(&["rev-list", "--objects", "--all"]);
    for line in objects.lines() {
        let id = line.split(' ').next().unwrap();
        let blob = env.git(&["cat-file", "-p", id]);
        assert!(!blob.contains("PLAINTEXT-CANARY"));
    }
    for (path, bytes) in Env::snapshot(&env.home) {
        assert!(!String::from_utf8_lossy(&bytes).contains("PLAINTEXT-CANARY"), "{}", path.display());
    }
}

#[test]
fn errors_never_print_values_or_keys() {
    let env = Env::with_vault();
    env.set("x/y", b"SECRET-VALUE-abc123", &[]);
    let enc = env.vault().join("secrets/x/y.enc");
    let mut bytes = std::fs::read(&enc).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 0x55;
    std::fs::write(&enc, bytes).unwrap();
    let out = env.cmd(&["get", "--no-pull", "x/y"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert!(!stderr.contains("SECRET-VALUE"));
    let key = std::fs::read_to_string(env.owner_key()).unwrap();
    let secret_line = key.lines().find(|l| l.starts_with("AGE-SECRET-KEY")).unwrap();
    assert!(!stderr.contains(secret_line));
    assert!(out.stdout.is_empty(), "no partial plaintext on stdout");
}

#[test]
fn a_set_in_a_vault_of_thousands_saves_the_manifest_it_encoded_beside_the_secret() {
    // from 1,000 listed secrets, the new manifest is encoded on another thread while the secret
    // is encrypted and written
    let env = Env::with_vault();
    env.set("bulk/first", b"1", &[]);
    let manifest = env.vault().join("manifest.yaml");
    let listed: String = (0..1500).map(|i| format!("  - bulk/s{i:04}\n")).collect();
    let text = std::fs::read_to_string(&manifest).unwrap().replace("  - bulk/first\n", &format!("  - bulk/first\n{listed}"));
    std::fs::write(&manifest, text).unwrap();
    env.git(&["commit", "-qam", "listed", "--no-verify"]);
    env.set("other/new", b"n", &[]);
    env.set("bulk/first", b"2", &["--group", "other"]); // moved: a change of the manifest too
    let m: serde_json::Value = serde_saphyr::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let names = |g: usize| m["groups"][g]["secrets"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(m["groups"][0]["name"], "bulk");
    assert_eq!(names(0).len(), 1500, "the hand-listed ones kept, the moved one gone");
    assert_eq!(names(1), ["bulk/first", "other/new"]);
    assert_eq!(env.git(&["status", "--porcelain"]), "", "the manifest written is the one committed");
    assert_eq!(env.read_as("bulk/first", &env.owner_key()).as_deref(), Some(&b"2"[..]));
    // and the thread kept the parsed copy of exactly the manifest written
    use sha2::Digest as _;
    let bytes = std::fs::read(&manifest).unwrap();
    let hash: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let copy = std::fs::read_to_string(env.repo.join(".git/agent-vault-manifest.json")).unwrap();
    let (key, json) = copy.split_once('\n').unwrap();
    assert!(key.starts_with("git-vault manifest cache 1 ") && key.ends_with(&format!(" {hash}")), "{key}");
    let kept: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(kept["groups"], m["groups"], "the copy holds the manifest written");
}

#[test]
fn a_large_manifests_parsed_copy_serves_only_while_the_manifest_is_unchanged() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    // past the size from which a parsed copy is kept (an unknown field, which saves keep)
    let manifest = env.vault().join("manifest.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap() + &format!("x-notes: {}\n", "n".repeat(20_000));
    std::fs::write(&manifest, text).unwrap();
    env.git(&["commit", "-qam", "notes", "--no-verify"]);
    env.set("svc/token", b"t", &[]);
    let copy = env.repo.join(".git/agent-vault-manifest.json");
    assert!(copy.is_file(), "the copy of the manifest just written");
    assert!(std::fs::read_to_string(&manifest).unwrap().contains(&"n".repeat(20_000)));

    // a change by hand (or by a pull) is seen at once: the copy is of other bytes
    let text = std::fs::read_to_string(&manifest).unwrap().replace("  groups: []", "  groups:\n  - svc");
    std::fs::write(&manifest, text).unwrap();
    let agents: serde_json::Value = serde_json::from_str(&env.ok(&["list-agents", "--json"])).unwrap();
    assert_eq!(agents[0]["groups"], serde_json::json!(["svc"]), "{agents}");
    env.git(&["commit", "-qam", "grant by hand", "--no-verify"]);
    env.set("svc/token", b"t2", &[]);
    assert_eq!(env.read_as("svc/token", &env.agent_key("ci")).as_deref(), Some(&b"t2"[..]), "encrypted to the hand-made grant");

    // a damaged copy is ignored and replaced
    std::fs::write(&copy, "git-vault manifest cache 1 garbage").unwrap();
    let listed: serde_json::Value = serde_json::from_str(&env.ok(&["list", "--json"])).unwrap();
    assert_eq!(listed[0]["name"], "svc/token");
    assert!(std::fs::read_to_string(&copy).unwrap().contains("\"x-notes\""));
}
