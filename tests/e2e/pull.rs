//! get's pull: fast-forward only from the upstream, never over a dirty work tree, offline is a
//! warning, --no-pull.

use std::path::PathBuf;

use crate::common::*;

/// A vault pushed to a bare remote, and a second clone of it.
fn two_clones() -> (Env, PathBuf, PathBuf) {
    let env = Env::with_vault();
    env.set("svc/token", b"v1", &[]);
    let (bare, clone) = env.push_and_clone();
    (env, bare, clone)
}

fn get_in(env: &Env, dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["get", "svc/token"];
    args.extend_from_slice(extra);
    env.cmd_in(dir, &args).output().unwrap()
}

#[test]
fn get_fast_forwards_from_the_upstream() {
    let (env, _bare, clone) = two_clones();
    env.set("svc/token", b"v2", &[]);
    env.git(&["push", "-q"]);
    let out = get_in(&env, &clone, &["--no-pull"]);
    assert_eq!(out.stdout, b"v1", "--no-pull reads the local copy");
    let out = get_in(&env, &clone, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"v2");
    assert!(out.stderr.is_empty(), "no warning: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_dirty_work_tree_is_never_touched() {
    let (env, _bare, clone) = two_clones();
    env.set("svc/token", b"v2", &[]);
    env.git(&["push", "-q"]);
    let manifest = clone.join(".agent-vault/manifest.yaml");
    let edited = format!("{}# local edit\n", std::fs::read_to_string(&manifest).unwrap());
    std::fs::write(&manifest, &edited).unwrap();
    let head = git_in(&env.home, &clone, &["rev-parse", "HEAD"]);
    let out = get_in(&env, &clone, &[]);
    assert!(out.status.success());
    assert_eq!(out.stdout, b"v1", "served from the local vault");
    assert!(String::from_utf8_lossy(&out.stderr).contains("uncommitted changes"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), edited, "local work untouched");
    assert_eq!(git_in(&env.home, &clone, &["rev-parse", "HEAD"]), head);
}

#[test]
fn offline_is_a_warning_not_an_error() {
    let (env, bare, clone) = two_clones();
    std::fs::rename(&bare, env.tmp.path().join("gone.git")).unwrap();
    let out = get_in(&env, &clone, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"v1");
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("warning: cannot reach"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_diverged_branch_is_not_merged() {
    let (env, _bare, clone) = two_clones();
    env.set("svc/token", b"remote", &[]);
    env.git(&["push", "-q"]);
    env.cmd_in(&clone, &["set", "svc/token"]).write_stdin("local").assert().success();
    let out = get_in(&env, &clone, &[]);
    assert!(out.status.success());
    assert_eq!(out.stdout, b"local");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be fast-forwarded"));
}
