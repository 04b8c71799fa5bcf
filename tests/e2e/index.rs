//! Vault commits stage their files in the index in-process when git would store them unchanged:
//! the index is the one `git update-index` writes, byte for byte, and everything git does on
//! the way (filters, racily clean entries, its lock) is still honoured.

use std::path::Path;

use crate::common::*;

/// Runs a vault command; returns whether it ran `git update-index`.
fn ran_update_index(env: &Env, args: &[&str], stdin: Option<&str>) -> bool {
    let mut cmd = env.cmd(args);
    if let Some(s) = stdin {
        cmd.write_stdin(s.to_owned());
    }
    ran_git(env, cmd, "update-index")
}

/// The index `git update-index` makes of `before` (with its original modification time) for every
/// vault path, and the ones HEAD's commit removed (it skips the unchanged ones, as vault commits do).
fn index_git_makes(env: &Env, before: &[u8], before_mtime: std::time::SystemTime) -> Vec<u8> {
    let copy = env.repo.join(".git/index-by-git");
    std::fs::write(&copy, before).unwrap();
    std::fs::File::options().write(true).open(&copy).unwrap().set_modified(before_mtime).unwrap();
    let paths = env.git(&["ls-files", ".agent-vault"]) + &env.git(&["show", "--name-only", "--format=", "HEAD"]);
    let mut cmd = std::process::Command::new("git");
    hermetic(&mut cmd, &env.home);
    cmd.current_dir(&env.repo).env("GIT_INDEX_FILE", &copy).args(["update-index", "--add", "--remove", "--"]);
    cmd.args(paths.lines());
    assert!(cmd.status().unwrap().success());
    std::fs::read(&copy).unwrap()
}

fn index(env: &Env) -> (Vec<u8>, std::time::SystemTime) {
    let path = env.repo.join(".git/index");
    (std::fs::read(&path).unwrap(), std::fs::metadata(&path).unwrap().modified().unwrap())
}

#[test]
fn the_index_written_is_the_one_git_update_index_writes() {
    index_written_is_the_one_git_update_index_writes(false);
}

#[test]
fn a_large_index_edited_beside_the_tree_is_the_one_git_update_index_writes() {
    // from 256 KiB on, the index is read ahead and edited on another thread while the tree is
    // made, and the old index is closed on a third
    index_written_is_the_one_git_update_index_writes(true);
}

fn index_written_is_the_one_git_update_index_writes(large: bool) {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    for i in 0..4 {
        env.set(&format!("svc/k{i}"), b"v", &[]);
    }
    // the user's own work: a staged file, and a committed file in a directory that sorts between
    std::fs::create_dir_all(env.repo.join("src")).unwrap();
    std::fs::write(env.repo.join("src/main.rs"), "fn main() {}\n").unwrap();
    if large {
        write_user_files(&env);
    }
    env.git(&["add", "src"]);
    env.git(&["commit", "-qm", "code", "--no-verify"]);
    let size = std::fs::metadata(env.repo.join(".git/index")).unwrap().len();
    assert_eq!(size >= 256 * 1024, large, "an index of {size} bytes");
    std::fs::write(env.repo.join("notes.txt"), "work in progress\n").unwrap();
    env.git(&["add", "notes.txt"]);

    let steps: [(&[&str], Option<&str>); 8] = [
        (&["set", "svc/k1"], Some("replaced")),             // two entries replaced
        (&["set", "svc/new"], Some("added")),               // entries inserted, the manifest replaced
        (&["set", "other/first"], Some("a new directory")), // a directory that did not exist
        (&["set", "svc/k1/deep"], Some("d")),               // a directory named like files beside it
        (&["set", "svc/k1-x"], Some("x")),                  // names that sort between those
        (&["set", "svc.x/y"], Some("y")),                   // a directory that sorts before `svc/`
        (&["rm", "svc/k2"], None),                          // entries removed
        (&["set", "svc/k0", "--agents", "ci"], Some("x")),  // readers recorded
    ];
    for (args, stdin) in steps {
        let (before, mtime) = index(&env);
        assert!(!ran_update_index(&env, args, stdin), "{args:?} staged in-process");
        let (after, _) = index(&env);
        let by_git = index_git_makes(&env, &before, mtime);
        assert!(after == by_git, "{args:?}: the index differs from git's");
        assert!(!env.repo.join(".git/index.lock").exists());
        assert_eq!(env.git(&["diff-files", "--name-only"]), "", "{args:?}");
        assert_eq!(env.git(&["diff", "--cached", "--name-only"]).trim(), "notes.txt", "{args:?}: only the user's file is staged");
        assert_eq!(env.git(&["status", "--porcelain"]).trim(), "A  notes.txt");
        env.git(&["fsck", "--strict", "--no-dangling", "--no-progress"]); // trees well-formed and sorted
    }
    // git finds the index sound, and its cached trees right once rebuilt
    env.git(&["update-index", "--refresh"]);
    env.git(&["commit", "-qm", "notes", "--no-verify"]);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert_eq!(env.git(&["ls-files", "--stage", "--", ".agent-vault/secrets/svc/k2.enc"]), "");
}

#[test]
fn an_index_changed_after_it_was_read_ahead_is_read_again() {
    // a large index is read ahead, without git's lock, while the change is made; here the user
    // stages a file in between (a `git` that does so when git-vault reads its commit settings,
    // which a large vault does once the index is read ahead), and that must survive the vault commit
    let env = with_large_index();
    std::fs::write(env.repo.join("notes.txt"), "staged meanwhile\n").unwrap();
    let shim = git_shim(&env, r#"if [ "$1" = config ] && [ "$2" = -z ]; then sleep 0.3; "$GIT" add notes.txt || exit 9; fi"#);
    let mut set = env.cmd(&["set", "svc/token"]);
    set.env("PATH", path_with(&shim)).write_stdin("t");
    set.assert().success();
    assert_eq!(env.git(&["show", "--name-only", "--format=", "HEAD"]).lines().filter(|l| !l.starts_with(".agent-vault/")).count(), 0);
    assert_eq!(env.git(&["diff", "--cached", "--name-only"]).trim(), "notes.txt", "the file staged meanwhile is still staged");
    assert_eq!(env.git(&["status", "--porcelain"]).trim(), "A  notes.txt");
}

#[test]
fn a_replaced_large_index_is_freed_by_maintenance_which_still_runs() {
    // closing the last handle on a large replaced index frees its storage (milliseconds): the
    // handle is the input of `git maintenance run --auto`, started after the commit and not
    // waited for, so that it is freed there; maintenance reads no input and works as usual
    let env = with_large_index();
    env.git(&["config", "gc.auto", "1"]);
    env.git(&["config", "gc.autoDetach", "false"]);
    let input = maintenance_input(&env);
    assert!(input.trim().ends_with("/.git/index (deleted)"), "maintenance's input is the replaced index: {input}");
    // and it ran: gc packed the loose objects
    let packed = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        env.git(&["count-objects", "-v"]).lines().any(|l| l == "count: 0")
    });
    assert!(packed, "{}", env.git(&["count-objects", "-v"]));
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    // a small index is not handed over: maintenance's input is empty
    assert_eq!(maintenance_input(&Env::with_vault()).trim(), "/dev/null");
}

/// A vault whose index is large (256 KiB or more): the user's own files, committed.
fn with_large_index() -> Env {
    let env = Env::with_vault();
    std::fs::create_dir_all(env.repo.join("src")).unwrap();
    write_user_files(&env);
    env.git(&["add", "src"]);
    env.git(&["commit", "-qm", "code", "--no-verify"]);
    assert!(std::fs::metadata(env.repo.join(".git/index")).unwrap().len() >= 256 * 1024);
    env
}

/// The input of the `git maintenance` a `set` starts (`readlink` of its stdin), once it ran.
fn maintenance_input(env: &Env) -> String {
    let seen = env.tmp.path().join("maintenance-input");
    let record = format!(r#"if [ "$1" = maintenance ]; then readlink /proc/$$/fd/0 > '{}.part'; mv '{0}.part' '{0}'; fi"#, seen.display());
    let mut set = env.cmd(&["set", "svc/token"]);
    set.env("PATH", path_with(&git_shim(env, &record))).write_stdin("t");
    set.assert().success();
    // (maintenance is not waited for)
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(&seen) {
            return text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("maintenance never ran");
}

#[test]
fn a_racily_clean_file_of_the_user_is_still_seen_as_changed() {
    // git compares only the size and the modification time here, so a same-size change within the
    // second the index was written is invisible to the stat data: git re-reads such files when it
    // rewrites the index and marks the changed ones, and so must a vault commit
    let env = Env::with_vault();
    env.git(&["config", "core.checkStat", "minimal"]);
    env.git(&["config", "core.trustctime", "false"]);
    // a file from a minute ago, added then (so once the index is rewritten, git trusts its stat)
    let (notes, then) = commit_notes_from_a_minute_ago(&env, "aaaa\n");
    // changed in the second the index was written, to the same size
    std::fs::write(&notes, "bbbb\n").unwrap();
    set_mtime(&notes, then);
    set_mtime(&env.repo.join(".git/index"), then);
    assert!(!ran_update_index(&env, &["set", "svc/token"], Some("t")), "staged in-process, the racy file checked");
    assert_eq!(env.git(&["diff-files", "--name-only"]).trim(), "notes.txt", "even git's plumbing sees the change");
    assert_eq!(env.git(&["status", "--porcelain"]).trim(), "M notes.txt");
}

#[test]
fn a_crlf_file_is_staged_in_process_unless_a_text_attribute_may_apply() {
    // git turns CRLF into LF only for files with the `text` attribute; a vault's ciphertext holds
    // a CRLF by chance (one `.enc` in 250), and so may a user's racily clean file, re-read here
    for (attributes, to_git) in [(None, false), (Some("*.txt text\n"), true), (Some("*.txt -text\n"), false)] {
        let env = Env::with_vault();
        if let Some(a) = attributes {
            std::fs::write(env.repo.join(".gitattributes"), a).unwrap();
            env.git(&["add", ".gitattributes"]);
        }
        let (_, then) = commit_notes_from_a_minute_ago(&env, "one\r\ntwo\r\n");
        set_mtime(&env.repo.join(".git/index"), then); // the file is racily clean
        assert_eq!(ran_update_index(&env, &["set", "svc/token"], Some("t")), to_git, "{attributes:?}");
        assert_eq!(env.git(&["status", "--porcelain"]), "", "{attributes:?}: nothing seen as changed");
        assert_eq!(env.git(&["diff-files", "--name-only"]), "", "{attributes:?}");
    }
}

/// Writes 3,000 files under `src/`: added, they make an index of more than 256 KiB, the size from
/// which the index is read ahead and edited on another thread.
fn write_user_files(env: &Env) {
    for i in 0..3000 {
        std::fs::write(env.repo.join(format!("src/generated-module-number-{i:05}.rs")), format!("// {i}\n")).unwrap();
    }
}

/// Commits `notes.txt` holding `content`, its modification time a minute ago; returns its path
/// and that time.
fn commit_notes_from_a_minute_ago(env: &Env, content: &str) -> (std::path::PathBuf, std::time::SystemTime) {
    let notes = env.repo.join("notes.txt");
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::write(&notes, content).unwrap();
    set_mtime(&notes, then);
    env.git(&["add", "notes.txt"]);
    env.git(&["commit", "-qm", "notes", "--no-verify"]);
    (notes, then)
}

fn set_mtime(path: &Path, t: std::time::SystemTime) {
    std::fs::File::options().write(true).open(path).unwrap().set_modified(t).unwrap();
}

#[test]
fn content_conversions_from_any_attribute_source_leave_staging_to_git() {
    let sources: [(&str, &str); 5] = [
        (".gitattributes", "*.meta filter=mark\n"),
        (".gitattributes", "[attr]marked filter=mark\n*.meta marked\n"),
        (".git/info/attributes", "*.meta filter=mark\n"),
        (".agent-vault/secrets/.gitattributes", "*.meta filter=mark\n"),
        ("home/attributes", "*.meta filter=mark\n"),
    ];
    for (file, text) in sources {
        let env = Env::with_vault();
        let path = if let Some(rest) = file.strip_prefix("home/") {
            env.git(&["config", "core.attributesFile", env.home.join(rest).to_str().unwrap()]);
            env.home.join(rest)
        } else {
            env.repo.join(file)
        };
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        env.git(&["config", "filter.mark.clean", "sed '$a# stored'"]);
        env.git(&["config", "filter.mark.smudge", "sed '/^# stored$/d'"]);
        assert!(ran_update_index(&env, &["set", "svc/token"], Some("t")), "{file}");
        let stored = env.git(&["show", "HEAD:.agent-vault/secrets/svc/token.meta"]);
        assert!(stored.ends_with("# stored\n"), "{file}: {stored}");
    }
}

#[test]
fn a_held_index_lock_fails_the_commit_and_stays() {
    let env = Env::with_vault();
    let head = env.git(&["rev-parse", "HEAD"]);
    let lock = env.repo.join(".git/index.lock");
    std::fs::write(&lock, "another git").unwrap();
    let (code, kind) = fails(env.cmd(&["--json", "set", "svc/token"]).write_stdin("t"));
    assert_eq!((code, kind.as_str()), (2, "git"));
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), "another git", "another process's lock is not ours to remove");
    assert_eq!(env.git(&["rev-parse", "HEAD"]), head);
}
