//! A vault made here is readable by any age implementation: the Go `age` CLI decrypts its
//! ciphertext with the key files git-vault wrote, and git-vault reads what Go `age` wrote.

use std::process::Command;

use crate::common::*;

fn age() -> Command {
    let probe = Command::new("age").arg("--version").output();
    assert!(probe.is_ok_and(|o| o.status.success()), "the Go `age` CLI is required for interop tests (apt-get install age)");
    Command::new("age")
}

#[test]
fn go_age_decrypts_git_vault_ciphertext() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    let value: Vec<u8> = (0..=255u8).rev().collect();
    env.set("stripe/api-key", &value, &[]);
    env.ok(&["grant", "ci", "stripe"]);
    let enc = env.vault().join("secrets/stripe/api-key.enc");
    for key in [env.owner_key(), env.agent_key("ci")] {
        let out = age().args(["-d", "-i"]).arg(&key).arg(&enc).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, value);
    }
    let escrow = env.vault().join("agents/ci/private.key.escrow");
    let out = age().args(["-d", "-i"]).arg(env.owner_key()).arg(&escrow).output().unwrap();
    assert_eq!(out.stdout, std::fs::read(env.agent_key("ci")).unwrap(), "the escrow is the agent's key file");
}

#[test]
fn git_vault_reads_go_age_ciphertext_and_keys() {
    let env = Env::with_vault();
    let recipient = std::fs::read_to_string(env.vault().join("owner.pub")).unwrap();
    env.set("svc/token", b"placeholder", &[]);
    let enc = env.vault().join("secrets/svc/token.enc");
    let mut child = age().args(["-r", recipient.trim(), "-a", "-o"]).arg(&enc).stdin(std::process::Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"from-go-age").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(env.get_with("svc/token", &env.owner_key()).stdout, b"from-go-age", "armored input is read too");
    let keyfile = env.tmp.path().join("go.key");
    assert!(Command::new("age-keygen").arg("-o").arg(&keyfile).output().unwrap().status.success());
    let out = env.cmd(&["--json", "get", "--no-pull", "svc/token", "--key", keyfile.to_str().unwrap()]).output().unwrap();
    assert_eq!(error_kind(&out), "not_authorized", "an age-keygen key file is read");
}
