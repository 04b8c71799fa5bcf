//! The textconv driver through real `git diff` / `git log -p`: metadata, never plaintext or
//! ciphertext; a keyed fingerprint tells "value changed" from "only re-encrypted".

use crate::common::*;

fn log_p(env: &Env, home: &std::path::Path) -> String {
    let mut cmd = std::process::Command::new("git");
    hermetic(&mut cmd, home);
    let out = cmd.current_dir(&env.repo).args(["log", "-p", "--format=commit %s"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fingerprints(text: &str) -> Vec<String> {
    text.lines().filter(|l| l.starts_with("+value fingerprint")).map(|l| l.to_owned()).collect()
}

#[test]
fn git_log_p_shows_metadata_and_fingerprints_only() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    env.set("svc/token", b"TOKEN-PLAINTEXT-ONE", &[]);
    env.ok(&["grant", "ci", "svc"]);
    env.set("svc/token", b"TOKEN-PLAINTEXT-TWO", &[]);
    let text = log_p(&env, &env.home);
    assert!(!text.contains("TOKEN-PLAINTEXT"), "no plaintext in git log -p");
    assert!(!text.contains("age-encryption.org"), "no ciphertext bytes");
    assert!(text.contains("+age-encrypted secret (binary age v1)"), "{text}");
    assert!(text.contains("-recipients: 1 (X25519)\n+recipients: 2 (X25519)"), "the grant shows as a recipient change: {text}");
    let fps = fingerprints(&text);
    // newest first: set TWO, grant (re-encryption), set ONE
    assert_eq!(fps.len(), 2, "the grant re-encrypted without changing the fingerprint: {text}");
    assert_ne!(fps[0], fps[1], "a new value changes the fingerprint");
    assert!(text.contains("+holds the identity of age1"), "escrows show whose key they hold");
}

#[test]
fn without_a_key_only_the_metadata_is_shown() {
    let env = Env::with_vault();
    env.set("svc/token", b"TOKEN-PLAINTEXT", &[]);
    let empty_home = env.tmp.path().join("nobody");
    std::fs::create_dir_all(&empty_home).unwrap();
    std::fs::copy(env.home.join(".gitconfig"), empty_home.join(".gitconfig")).unwrap();
    let text = log_p(&env, &empty_home);
    assert!(text.contains("no key at hand"), "{text}");
    assert!(!text.contains("TOKEN-PLAINTEXT"));
}
