//! After a vault commit, HEAD and its reflogs are exactly what `git update-ref` (which `git commit`
//! uses) leaves: moved in-process when git would do nothing more than lock, log and rename, and by
//! git when a hook or a setting asks for more.

use std::path::{Path, PathBuf};

use crate::common::*;

const SUBJECT: &str = "agent-vault: set 'svc/token'";

/// The files that hold refs and reflogs, relative to `git_dir`: HEAD, packed-refs, refs/, logs/.
fn ref_state(git_dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = ["refs", "logs"]
        .iter()
        .flat_map(|d| Env::snapshot(&git_dir.join(d)))
        .map(|(p, content)| (p.strip_prefix(git_dir).unwrap().to_owned(), content))
        .collect();
    for f in ["HEAD", "packed-refs"] {
        if let Ok(content) = std::fs::read(git_dir.join(f)) {
            files.push((f.into(), content));
        }
    }
    files
}

/// Runs `set svc/token` in `dir`; returns whether git moved HEAD (`git update-ref`).
fn set_ran_update_ref(env: &Env, dir: &Path) -> bool {
    let mut set = env.cmd_in(dir, &["set", "svc/token"]);
    set.write_stdin("t");
    ran_git(env, set, "update-ref")
}

fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(status.success());
}

fn rev(env: &Env, dir: &Path, what: &str) -> String {
    git_in(&env.home, dir, &["rev-parse", what]).trim().to_owned()
}

#[test]
fn head_and_its_reflogs_move_exactly_as_git_update_ref_moves_them() {
    for layout in ["loose branch", "packed branch", "detached HEAD", "no reflog yet"] {
        let env = Env::with_vault();
        env.set("svc/a", b"a", &[]);
        match layout {
            "packed branch" => drop(env.git(&["pack-refs", "--all"])),
            "detached HEAD" => drop(env.git(&["checkout", "-q", "--detach"])),
            "no reflog yet" => std::fs::remove_dir_all(env.repo.join(".git/logs")).unwrap(),
            _ => {}
        }
        // the same repository, whose HEAD git moves to the same commit
        let twin = env.tmp.path().join("twin");
        copy_dir(&env.repo, &twin);
        let old = rev(&env, &env.repo, "HEAD");
        assert!(!set_ran_update_ref(&env, &env.repo), "{layout}: HEAD is moved in-process");
        let new = rev(&env, &env.repo, "HEAD");
        assert_eq!(rev(&env, &env.repo, "HEAD~1"), old, "{layout}");
        copy_dir(&env.repo.join(".git/objects/."), &twin.join(".git/objects"));
        git_in(&env.home, &twin, &["update-ref", "-m", &format!("commit: {SUBJECT}"), "HEAD", &new, &old]);
        assert_eq!(ref_state(&env.repo.join(".git")), ref_state(&twin.join(".git")), "{layout}");
        assert_eq!(env.git(&["status", "--porcelain"]), "", "{layout}");
    }
}

#[test]
fn in_a_linked_worktree_its_own_head_and_branch_move_as_git_moves_them() {
    let env = Env::with_vault();
    let wt = |name: &str| {
        let dir = env.tmp.path().join(name);
        env.git(&["worktree", "add", "-q", "-b", name, dir.to_str().unwrap(), "main"]);
        dir
    };
    let (ours, theirs) = (wt("ours"), wt("theirs"));
    let main_logs = ref_state(&env.repo.join(".git/logs"));
    let old = rev(&env, &ours, "HEAD");
    assert!(!set_ran_update_ref(&env, &ours), "HEAD is moved in-process");
    let new = rev(&env, &ours, "HEAD");
    git_in(&env.home, &theirs, &["update-ref", "-m", &format!("commit: {SUBJECT}"), "HEAD", &new, &old]);
    let git_dir = env.repo.join(".git");
    let read = |p: &str| std::fs::read_to_string(git_dir.join(p)).unwrap();
    assert_eq!(read("worktrees/ours/logs/HEAD"), read("worktrees/theirs/logs/HEAD"));
    assert_eq!(read("logs/refs/heads/ours"), read("logs/refs/heads/theirs"));
    assert_eq!(rev(&env, &env.repo, "refs/heads/ours"), new);
    assert_eq!(ref_state(&env.repo.join(".git/logs")).iter().filter(|(p, _)| p.ends_with("HEAD")).count(), 1);
    assert_eq!(
        main_logs.iter().find(|(p, _)| p.ends_with("HEAD")),
        ref_state(&env.repo.join(".git/logs")).iter().find(|(p, _)| p.ends_with("HEAD")),
        "the main work tree's HEAD log is untouched"
    );
}

#[test]
fn git_moves_head_when_a_hook_or_a_setting_asks_for_more() {
    // a reference-transaction hook, which git runs
    let env = Env::with_vault();
    let script = "#!/bin/sh\necho \"$1\" >> \"$(git rev-parse --git-dir)/ref-states\"\n";
    hook(&env.repo.join(".git/hooks"), "reference-transaction", script);
    assert!(set_ran_update_ref(&env, &env.repo));
    let states = std::fs::read_to_string(env.repo.join(".git/ref-states")).unwrap();
    assert!(states.lines().any(|s| s == "committed"), "{states}");
    assert_eq!(env.git(&["reflog", "-1", "--format=%gs"]).trim(), format!("commit: {SUBJECT}"));

    // reflogs switched off: git keeps none (an in-process move would start them)
    let env = Env::with_vault();
    env.git(&["config", "core.logAllRefUpdates", "false"]);
    std::fs::remove_dir_all(env.repo.join(".git/logs")).unwrap();
    assert!(set_ran_update_ref(&env, &env.repo));
    assert_eq!(env.git(&["log", "-1", "--format=%s"]).trim(), SUBJECT);
    assert!(!env.repo.join(".git/logs").exists(), "no reflog was started");

    // the same setting given on git's command line (`git -c`, as a wrapper would) counts too
    let env = Env::with_vault();
    let mut set = env.cmd(&["set", "svc/token"]);
    set.env("GIT_CONFIG_PARAMETERS", "'core.logallrefupdates'='false'");
    std::fs::remove_dir_all(env.repo.join(".git/logs")).unwrap();
    set.write_stdin("t").assert().success();
    assert!(!env.repo.join(".git/logs").exists(), "no reflog was started");
}

#[test]
fn a_held_ref_lock_fails_the_commit_and_leaves_nothing_staged() {
    let env = Env::with_vault();
    let head = rev(&env, &env.repo, "HEAD");
    let lock = env.repo.join(".git/refs/heads/main.lock");
    std::fs::write(&lock, "someone else's\n").unwrap();
    let out = env.cmd(&["--json", "set", "svc/token"]).write_stdin("t").output().unwrap();
    assert_eq!((out.status.code(), error_kind(&out).as_str()), (Some(2), "git"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("could not move HEAD") && stderr.contains("main.lock"), "the cause is told: {stderr}");
    assert_eq!(rev(&env, &env.repo, "HEAD"), head, "HEAD did not move");
    assert_eq!(env.git(&["diff", "--cached", "--name-only"]), "", "nothing is left staged");
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), "someone else's\n", "the lock is not ours to take");
    std::fs::remove_file(&lock).unwrap();
    env.set("svc/token", b"t", &[]);
    assert_eq!(rev(&env, &env.repo, "HEAD~1"), head);
}

#[test]
fn a_head_moved_by_someone_else_meanwhile_is_not_overwritten() {
    let env = Env::with_vault();
    env.set("svc/a", b"a", &[]);
    let before = rev(&env, &env.repo, "HEAD~1");
    // another process moves the branch back while git makes the commit (which git does when the
    // author has a setting of its own)
    env.git(&["config", "author.name", "Alice Owner"]);
    let shim = git_shim(&env, &format!("if [ \"$1\" = commit-tree ]; then \"$GIT\" update-ref refs/heads/main {before}; fi"));
    let mut set = env.cmd(&["--json", "set", "svc/token"]);
    set.env("PATH", path_with(&shim)).write_stdin("t");
    let out = set.output().unwrap();
    assert_eq!((out.status.code(), error_kind(&out).as_str()), (Some(2), "git"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HEAD moved"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(rev(&env, &env.repo, "HEAD"), before, "the other move stands");
}
