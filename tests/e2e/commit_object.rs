//! The commit of a vault change is the one `git commit-tree` makes: written in-process, with the
//! identity and date git gives, when its author and committer are one identity; made by git when
//! they may differ, when a commit encoding is set or when the user signs.

use assert_cmd::Command;

use crate::common::*;

/// Changes to the environment: a variable set, or removed (None).
type Vars<'a> = &'a [(&'a str, Option<&'a str>)];

/// `set <name>` with the environment changed as `vars` says.
fn set_cmd(env: &Env, name: &str, vars: Vars<'_>) -> Command {
    let mut set = env.cmd(&["set", name]);
    for (k, v) in vars {
        match v {
            Some(v) => set.env(k, v),
            None => set.env_remove(k),
        };
    }
    set.write_stdin("v");
    set
}

/// The id `git commit-tree` gives HEAD's tree on HEAD's parent, with the message a `set` of
/// `name` gives it and HEAD's author's and committer's dates, in the environment `vars` makes.
fn made_by_git(env: &Env, name: &str, vars: Vars<'_>) -> String {
    let message = format!("agent-vault: set '{name}'\n");
    let date = |who: &str| env.git(&["log", "-1", &format!("--format=%{who}d"), "--date=raw"]).trim().to_owned();
    let mut git = std::process::Command::new("git");
    hermetic(&mut git, &env.home);
    git.current_dir(&env.repo).args(["commit-tree", "HEAD^{tree}", "-p", "HEAD^"]);
    for (k, v) in vars {
        match v {
            Some(v) => git.env(k, v),
            None => git.env_remove(k),
        };
    }
    git.env("GIT_AUTHOR_DATE", date("a")).env("GIT_COMMITTER_DATE", date("c"));
    let out = Command::from_std(git).write_stdin(message).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn head(env: &Env) -> String {
    env.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

#[test]
fn the_commit_written_here_is_the_one_git_commit_tree_makes() {
    let env = Env::with_vault();
    env.git(&["config", "user.name", "Zoë Q. Public-Ü"]);
    env.git(&["config", "user.email", "zoe+vault@example.com"]);
    let cases: &[(&str, Vars<'_>)] = &[
        // the test environment's fixed dates, given to both
        ("fixed dates", &[]),
        // the clock, and time zones (POSIX ones, which need no time zone database)
        ("now", &[("GIT_AUTHOR_DATE", None), ("GIT_COMMITTER_DATE", None), ("TZ", Some("XST-5:30"))]),
        ("another zone", &[("GIT_AUTHOR_DATE", None), ("GIT_COMMITTER_DATE", None), ("TZ", Some("NST3:30"))]),
        // one identity given to both through the environment
        (
            "identity in the environment",
            &[
                ("GIT_AUTHOR_NAME", Some("CI Bot")),
                ("GIT_COMMITTER_NAME", Some("CI Bot")),
                ("GIT_AUTHOR_EMAIL", Some("ci@example.com")),
                ("GIT_COMMITTER_EMAIL", Some("ci@example.com")),
            ],
        ),
        ("EMAIL", &[("EMAIL", Some("mail@example.com"))]),
    ];
    for (i, (case, vars)) in cases.iter().enumerate() {
        let name = format!("svc/k{i}");
        assert!(!ran_git(&env, set_cmd(&env, &name, vars), "commit-tree"), "{case}: the commit is written in-process");
        assert_eq!(head(&env), made_by_git(&env, &name, vars), "{case}");
        let who = env.git(&["log", "-1", "--format=%an <%ae> | %cn <%ce> | %ad", "--date=raw"]);
        match *case {
            "now" => assert!(who.trim().ends_with("+0530"), "{case}: {who}"),
            "another zone" => assert!(who.trim().ends_with("-0330"), "{case}: {who}"),
            "identity in the environment" => assert!(who.starts_with("CI Bot <ci@example.com> | CI Bot <ci@example.com>"), "{who}"),
            _ => assert!(who.starts_with("Zoë Q. Public-Ü <zoe+vault@example.com> | Zoë"), "{case}: {who}"),
        }
    }
    let fsck = std::process::Command::new("git").current_dir(&env.repo).args(["fsck", "--strict", "--no-dangling"]).output().unwrap();
    assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stderr));
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn git_commit_tree_makes_the_commit_when_author_and_committer_may_differ() {
    let env = Env::with_vault();
    // a setting of the author's own
    env.git(&["config", "author.name", "Author Only"]);
    assert!(ran_git(&env, set_cmd(&env, "svc/a", &[]), "commit-tree"));
    let who = env.git(&["log", "-1", "--format=%an | %cn"]);
    assert_eq!(who.trim(), "Author Only | Alice Owner");
    env.git(&["config", "--unset", "author.name"]);

    // a variable of the committer's own
    let vars: Vars<'_> = &[("GIT_COMMITTER_NAME", Some("Committer Only"))];
    assert!(ran_git(&env, set_cmd(&env, "svc/b", vars), "commit-tree"));
    assert_eq!(env.git(&["log", "-1", "--format=%an | %cn"]).trim(), "Alice Owner | Committer Only");

    // different dates
    let vars: Vars<'_> = &[("GIT_AUTHOR_DATE", Some("2025-06-01T12:00:00Z"))];
    assert!(ran_git(&env, set_cmd(&env, "svc/c", vars), "commit-tree"));
    assert_eq!(env.git(&["log", "-1", "--format=%ad | %cd", "--date=iso-strict"]).trim(), "2025-06-01T12:00:00Z | 2026-01-01T00:00:00Z");

    // a commit encoding, which git records in a header
    env.git(&["config", "i18n.commitEncoding", "ISO-8859-1"]);
    assert!(ran_git(&env, set_cmd(&env, "svc/d", &[]), "commit-tree"));
    assert!(env.git(&["cat-file", "commit", "HEAD"]).contains("\nencoding ISO-8859-1\n"));
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn without_an_identity_git_refuses_the_commit_and_nothing_stays_staged() {
    let env = Env::with_vault();
    env.set("svc/a", b"a", &[]);
    let before = head(&env);
    std::fs::write(env.home.join(".gitconfig"), "[user]\n\tuseConfigOnly = true\n[init]\n\tdefaultBranch = main\n").unwrap();
    let out = env.cmd(&["--json", "set", "svc/a"]).env_remove("EMAIL").write_stdin("b").output().unwrap();
    assert_eq!((out.status.code(), error_kind(&out).as_str()), (Some(2), "git"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Please tell me who you are"), "git's own explanation is passed on: {stderr}");
    assert_eq!(head(&env), before, "nothing was committed");
    assert_eq!(env.git(&["diff", "--cached", "--name-only"]), "", "nothing is left staged");
}

#[test]
fn an_identity_read_over_a_second_before_the_commit_is_not_used() {
    // its date would be late: here the change waits 1.2 s for its settings (`git config`), read
    // beside the identity, so the identity is over a second old by then and `commit-tree` is asked
    let env = Env::with_vault();
    let shim = git_shim(&env, r#"if [ "$1" = config ] && [ "$2" = -z ]; then sleep 1.2; fi"#);
    let mut set = set_cmd(&env, "svc/slow", &[("GIT_AUTHOR_DATE", None), ("GIT_COMMITTER_DATE", None)]);
    set.env("PATH", path_with(&shim));
    assert!(ran_git(&env, set, "commit-tree"));
    assert_eq!(env.git(&["log", "-1", "--format=%an <%ae> | %s"]).trim(), "Alice Owner <alice@example.com> | agent-vault: set 'svc/slow'");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}
