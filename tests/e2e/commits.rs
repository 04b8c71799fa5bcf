//! One commit per change with exactly the vault files it changed; the user's staged work stays
//! staged; --no-commit; the user's signing configuration applies.

use crate::common::*;

#[test]
fn the_users_staged_files_stay_staged_and_out_of_vault_commits() {
    let env = Env::with_vault();
    std::fs::write(env.repo.join("notes.txt"), "work in progress\n").unwrap();
    env.git(&["add", "notes.txt"]);
    env.set("svc/token", b"t", &[]);
    let files = env.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        [".agent-vault/manifest.yaml", ".agent-vault/secrets/svc/token.enc", ".agent-vault/secrets/svc/token.meta"]
    );
    assert_eq!(env.git(&["diff", "--cached", "--name-only"]).trim(), "notes.txt", "still staged");
    assert_eq!(env.git(&["status", "--porcelain"]).trim(), "A  notes.txt");
    assert_eq!(env.git(&["log", "-1", "--format=%s|%an|%ae"]).trim(), "agent-vault: set 'svc/token'|Alice Owner|alice@example.com");
}

#[test]
fn no_commit_leaves_the_change_staged() {
    let env = Env::with_vault();
    let head = env.git(&["rev-parse", "HEAD"]);
    env.set("svc/token", b"t", &["--no-commit"]);
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head);
    let staged = env.git(&["diff", "--cached", "--name-only"]);
    assert!(staged.contains(".agent-vault/secrets/svc/token.enc"), "{staged}");
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]).lines().filter(|l| !l.starts_with('A') && !l.starts_with('M')).count(),
        0
    );
}

#[test]
fn each_change_is_one_commit() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    env.set("a/one", b"1", &[]);
    env.ok(&["grant", "ci", "a"]);
    env.ok(&["revoke", "ci", "a"]);
    env.ok(&["rm", "a/one"]);
    env.ok(&["remove-agent", "ci"]);
    let log = env.git(&["log", "--format=%s"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "agent-vault: remove agent 'ci'",
            "agent-vault: remove secret 'a/one'",
            "agent-vault: revoke 'ci' access to 'a'",
            "agent-vault: grant 'ci' access to 'a'",
            "agent-vault: set 'a/one'",
            "agent-vault: add agent 'ci'",
            "agent-vault: init vault",
        ]
    );
    assert_eq!(env.git(&["status", "--porcelain"]), "", "nothing left uncommitted");
}

#[test]
fn commits_are_signed_when_the_user_signs() {
    let env = Env::with_vault();
    let signer = env.tmp.path().join("fake-gpg");
    // reads the payload git writes to it first: exiting before git is done writing would make
    // git's write fail and the signing flaky
    std::fs::write(
        &signer,
        "#!/bin/sh\ncat >/dev/null\necho \"[GNUPG:] SIG_CREATED \" >&2\nprintf -- '-----BEGIN PGP SIGNATURE-----\\nfake\\n-----END PGP SIGNATURE-----\\n'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&signer, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.git(&["config", "commit.gpgSign", "true"]);
    env.git(&["config", "gpg.program", signer.to_str().unwrap()]);
    env.set("svc/token", b"t", &[]);
    let raw = env.git(&["cat-file", "commit", "HEAD"]);
    assert!(raw.contains("gpgsig -----BEGIN PGP SIGNATURE-----"), "{raw}");
}

#[test]
fn concurrent_commands_serialise_and_lose_nothing() {
    let env = Env::with_vault();
    let children: Vec<_> = (0..6)
        .map(|i| {
            let mut cmd = std::process::Command::new(BIN);
            hermetic(&mut cmd, &env.home);
            cmd.current_dir(&env.repo)
                .args(["set", &format!("par/s{i}"), &format!("v{i}")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let list: serde_json::Value = serde_json::from_str(&env.ok(&["list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 6, "no lost update of the manifest");
    assert_eq!(env.git(&["log", "--format=%s"]).lines().count(), 7);
    env.ok(&["check", "--deep"]);
}

#[test]
fn a_held_lock_times_out_with_a_locked_error() {
    let env = Env::with_vault();
    let lock = env.repo.join(".git/agent-vault.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock).unwrap();
    file.lock().unwrap();
    let (code, kind) = fails(env.cmd(&["--json", "set", "x/y"]).env("GIT_VAULT_LOCK_TIMEOUT", "1").write_stdin("v"));
    assert_eq!((code, kind.as_str()), (2, "locked"));
    drop(file);
    env.set("x/y", b"v", &[]);
}
