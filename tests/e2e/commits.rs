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

/// What `git commit` leaves behind: the reflog entry, an index that matches HEAD with the stat
/// data of the files (so even git's plumbing, which never refreshes, sees no change).
fn assert_committed_like_git(env: &Env, subject: &str) {
    assert_eq!(env.git(&["reflog", "-1", "--format=%gs"]).trim(), format!("commit: {subject}"));
    assert_eq!(env.git(&["diff-index", "--cached", "--name-only", "HEAD"]), "", "the index holds the commit");
    assert_eq!(env.git(&["diff-files", "--name-only"]), "", "the index has the files' stat data");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn vault_commits_leave_the_reflog_and_index_as_git_commit_does() {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    env.set("svc/token", b"t", &[]);
    assert_committed_like_git(&env, "agent-vault: set 'svc/token'");
    env.ok(&["grant", "ci", "svc"]);
    assert_committed_like_git(&env, "agent-vault: grant 'ci' access to 'svc'");
    env.ok(&["rm", "svc/token"]);
    assert_committed_like_git(&env, "agent-vault: remove secret 'svc/token'");
    assert_eq!(env.git(&["ls-tree", "-r", "--name-only", "HEAD", ".agent-vault/secrets"]), "");
}

#[test]
fn the_users_commit_hooks_run_for_vault_commits() {
    let env = Env::with_vault();
    let hooks = env.repo.join(".git/hooks");
    hook(&hooks, "commit-msg", "#!/bin/sh\nprintf '\\nHooked: yes\\n' >> \"$1\"\n");
    hook(&hooks, "post-commit", "#!/bin/sh\ntouch \"$(git rev-parse --git-dir)/post-commit-ran\"\n");
    env.set("svc/token", b"t", &[]);
    assert!(env.git(&["log", "-1", "--format=%B"]).contains("Hooked: yes"), "commit-msg ran");
    assert!(env.repo.join(".git/post-commit-ran").exists(), "post-commit ran");
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    // under a global hooks directory, the stubs hand over to the repository's own hook
    let env = Env::with_vault();
    env.ok(&["install", "--global"]);
    hook(&env.repo.join(".git/hooks"), "commit-msg", "#!/bin/sh\nprintf '\\nHooked: own\\n' >> \"$1\"\n");
    env.set("svc/token", b"t", &[]);
    assert!(env.git(&["log", "-1", "--format=%B"]).contains("Hooked: own"), "the repository's own commit-msg ran");
    // and a hook chained behind git-vault's pre-commit hook runs too
    let env = Env::with_vault();
    hook(&env.repo.join(".git/hooks"), "pre-commit.git-vault-chained", "#!/bin/sh\ntouch \"$(git rev-parse --git-dir)/chained-ran\"\n");
    env.set("svc/token", b"t", &[]);
    assert!(env.repo.join(".git/chained-ran").exists(), "the chained pre-commit hook ran");
}

#[test]
fn a_failed_signature_commits_nothing_and_stages_nothing() {
    let env = Env::with_vault();
    std::fs::write(env.repo.join("notes.txt"), "work in progress\n").unwrap();
    env.git(&["add", "notes.txt"]);
    env.git(&["config", "commit.gpgSign", "true"]);
    env.git(&["config", "gpg.program", "false"]);
    let head = env.git(&["rev-parse", "HEAD"]);
    let (code, kind) = fails(env.cmd(&["--json", "set", "svc/token"]).write_stdin("t"));
    assert_eq!((code, kind.as_str()), (2, "git"));
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head, "no commit");
    assert_eq!(env.git(&["diff", "--cached", "--name-only"]).trim(), "notes.txt", "only the user's file is staged");
}

#[test]
fn the_users_clean_filters_apply_to_vault_commits() {
    let env = Env::with_vault();
    // a clean filter that marks what it stored, as LFS or git-crypt would transform it
    std::fs::write(env.repo.join(".gitattributes"), "*.meta filter=mark\n").unwrap();
    env.git(&["config", "filter.mark.clean", "sed '$a# stored'"]);
    env.git(&["config", "filter.mark.smudge", "sed '/^# stored$/d'"]);
    env.git(&["add", ".gitattributes"]);
    env.git(&["commit", "-qm", "attributes"]);
    env.set("svc/token", b"t", &[]);
    let stored = env.git(&["show", "HEAD:.agent-vault/secrets/svc/token.meta"]);
    assert!(stored.ends_with("# stored\n"), "{stored}");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn large_changes_are_one_exact_commit_with_or_without_the_users_hooks() {
    for with_hook in [false, true] {
        let env = Env::with_vault();
        bulk(&env, 300);
        env.ok(&["add-agent", "ci"]);
        if with_hook {
            hook(&env.repo.join(".git/hooks"), "post-commit", "#!/bin/sh\ntouch \"$(git rev-parse --git-dir)/post-commit-ran\"\n");
        }
        env.ok(&["grant", "ci", "g"]);
        assert_eq!(env.repo.join(".git/post-commit-ran").exists(), with_hook);
        let files = env.git(&["show", "--name-only", "--format=", "HEAD"]);
        assert_eq!(files.lines().count(), 601, "every .enc and .meta, and the manifest");
        assert_committed_like_git(&env, "agent-vault: grant 'ci' access to 'g'");
        let report: serde_json::Value = serde_json::from_str(&env.ok(&["check", "--deep", "--json"])).unwrap();
        assert_eq!(report["warnings"].as_array().map(Vec::len), Some(0), "no temp file left over: {report}");
        assert_eq!(report["errors"].as_array().map(Vec::len), Some(0), "{report}");
        assert_eq!(env.read_as("g/s123", &env.agent_key("ci")).as_deref(), Some(&b"value-123"[..]));
    }
}

#[test]
fn vault_commits_land_on_a_detached_head_and_in_linked_worktrees() {
    let env = Env::with_vault();
    let branch = env.git(&["rev-parse", "HEAD"]);
    env.git(&["checkout", "-q", "--detach"]);
    env.set("svc/token", b"t", &[]);
    assert_eq!(env.git(&["rev-parse", "HEAD~1"]), branch, "committed on the detached HEAD");
    assert_eq!(env.git(&["rev-parse", "refs/heads/main"]), branch, "no branch moved");
    assert_committed_like_git(&env, "agent-vault: set 'svc/token'");

    let wt = env.tmp.path().join("wt");
    env.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap(), "main"]);
    env.cmd_in(&wt, &["set", "svc/other"]).write_stdin("o").assert().success();
    assert_eq!(git_in(&env.home, &wt, &["log", "-1", "--format=%s"]).trim(), "agent-vault: set 'svc/other'");
    assert_eq!(git_in(&env.home, &wt, &["status", "--porcelain"]), "");
    assert_eq!(git_in(&env.home, &wt, &["diff-files", "--name-only"]), "");
    assert_eq!(env.git(&["rev-parse", "refs/heads/main"]), branch, "the main work tree's branch did not move");
    assert_eq!(env.git(&["status", "--porcelain"]), "", "the main work tree's index is untouched");
}
