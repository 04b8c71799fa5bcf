//! The pre-commit scanner through real `git commit`: it sees exactly what the commit will
//! contain (the index), blocks staged secrets, renames and `commit -a`, lets clean commits and
//! vault ciphertext through, and knows the vault's own values.

use std::process::Output;

use crate::common::*;

const AWS_LINE: &str = "aws_access_key_id = AKIAZ7QW3R5T2Y4U6I2O\n";

fn commit(env: &Env, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new("git");
    hermetic(&mut cmd, &env.home);
    cmd.current_dir(&env.repo).arg("commit").args(args).output().unwrap()
}

/// Everything the commit printed (git sends a hook's stdout to stderr).
fn shown(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn write(env: &Env, name: &str, text: &str) {
    let p = env.repo.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn a_staged_secret_blocks_the_commit_with_a_redacted_finding() {
    let env = Env::with_vault();
    write(&env, "config/creds.ini", AWS_LINE);
    env.git(&["add", "config/creds.ini"]);
    let out = commit(&env, &["-qm", "add creds"]);
    assert_eq!(out.status.code(), Some(1), "blocked");
    let text = shown(&out);
    assert!(text.contains("config/creds.ini:1: aws-access-key-id"), "{text}");
    assert!(!text.contains("AKIAZ7QW3R5T2Y4U6I2O"), "the finding is redacted: {text}");
    assert_eq!(env.git(&["log", "--format=%s", "-1"]).trim(), "agent-vault: init vault");
}

#[test]
fn a_clean_commit_and_vault_ciphertext_pass() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    env.set("svc/token", b"a-very-long-token-value-123456", &[]);
    write(&env, "README.md", "# hello\nuuid 123e4567-e89b-12d3-a456-426614174000\n");
    env.git(&["add", "README.md"]);
    assert!(commit(&env, &["-qm", "docs"]).status.success());
}

#[test]
fn the_index_is_scanned_not_the_work_tree() {
    let env = Env::with_vault();
    write(&env, "app.cfg", "name = demo\n");
    env.git(&["add", "app.cfg"]);
    write(&env, "app.cfg", &format!("name = demo\n{AWS_LINE}"));
    assert!(commit(&env, &["-qm", "clean staged, dirty work tree"]).status.success(), "unstaged secrets are not in the commit");
    env.git(&["add", "app.cfg"]);
    write(&env, "app.cfg", "name = demo\n");
    assert_eq!(commit(&env, &["-qm", "secret staged, clean work tree"]).status.code(), Some(1), "partially staged secrets are caught");
}

#[test]
fn renames_and_commit_all_are_caught() {
    let env = Env::with_vault();
    write(&env, "old.ini", AWS_LINE);
    env.git(&["add", "old.ini"]);
    assert!(commit(&env, &["-q", "--no-verify", "-m", "sneaked in"]).status.success());
    env.git(&["mv", "old.ini", "new.ini"]);
    let out = commit(&env, &["-qm", "rename"]);
    assert_eq!(out.status.code(), Some(1), "a renamed file with a key is blocked");
    assert!(shown(&out).contains("new.ini:1"), "{}", shown(&out));
    env.git(&["reset", "-q", "--hard"]);
    write(&env, "tracked.txt", "hello\n");
    env.git(&["add", "tracked.txt"]);
    assert!(commit(&env, &["-qm", "tracked"]).status.success());
    write(&env, "tracked.txt", &format!("hello\n{AWS_LINE}"));
    assert_eq!(commit(&env, &["-qam", "commit -a"]).status.code(), Some(1), "the temporary index of commit -a is scanned");
}

#[test]
fn the_vaults_own_values_are_found_verbatim_and_in_base64() {
    let env = Env::with_vault();
    let value = "plainword-but-from-the-vault-42";
    env.set("app/db-password", value.as_bytes(), &[]);
    write(&env, "notes.txt", &format!("remember {value}\n"));
    env.git(&["add", "notes.txt"]);
    let out = commit(&env, &["-qm", "leak"]);
    assert_eq!(out.status.code(), Some(1));
    let text = shown(&out);
    assert!(text.contains("vault-secret:app/db-password"), "{text}");
    assert!(!text.contains(value));
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(value);
    write(&env, "notes.txt", &format!("encoded {b64}\n"));
    env.git(&["add", "notes.txt"]);
    assert_eq!(commit(&env, &["-qm", "leak b64"]).status.code(), Some(1));
}

#[test]
fn allow_markers_and_the_allowlist_suppress_findings() {
    let env = Env::with_vault();
    write(&env, "a.ini", &format!("{} # agent-vault:allow\n", AWS_LINE.trim_end()));
    env.git(&["add", "a.ini"]);
    assert!(commit(&env, &["-qm", "allowed inline"]).status.success());
    write(&env, "fixtures/b.ini", AWS_LINE);
    std::fs::write(env.vault().join("scan-allow.yaml"), "paths:\n  - glob: \"fixtures/**\"\n    reason: test vectors\n").unwrap();
    env.git(&["add", "fixtures/b.ini"]);
    assert!(commit(&env, &["-qm", "allowed by path"]).status.success());
}

#[test]
fn json_and_sarif_outputs() {
    let env = Env::with_vault();
    write(&env, "x.ini", AWS_LINE);
    let out = env.cmd(&["--json", "scan", "x.ini"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["path"], "x.ini");
    assert_eq!(v[0]["line"], 1);
    assert_eq!(v[0]["rule"], "aws-access-key-id");
    let keys: Vec<&str> = v[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["path", "line", "rule", "excerpt"]);
    let out = env.cmd(&["scan", "--sarif", "x.ini"]).output().unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    std::fs::remove_file(env.repo.join("x.ini")).unwrap();
    env.cmd(&["scan"]).assert().code(0);
}
