//! `log` and `exposure` against repositories with a known history: built by the real binary and
//! plain git (a hand-edited manifest, a merge, a broken manifest, a lying commit message) in the
//! hermetic environment of the end-to-end tests. Commit ids and age keys vary between runs, so
//! they are replaced by labels before comparing.

#[path = "../e2e/common.rs"]
mod common;

use std::time::Duration;

use common::{Env, fails};
use git_vault::vault::{AgentName, GroupName, Manifest};
use serde_json::Value;

/// A repository whose commits and keys carry labels.
struct Story {
    env: Env,
    commits: Vec<(String, String)>,
    keys: Vec<(String, String)>,
}

impl Story {
    fn new(env: Env) -> Story {
        Story { env, commits: Vec::new(), keys: Vec::new() }
    }

    /// Labels HEAD.
    fn mark(&mut self, label: &str) {
        let id = self.env.git(&["rev-parse", "HEAD"]).trim().to_owned();
        assert!(!self.commits.iter().any(|(c, _)| *c == id), "{label}: no new commit");
        self.commits.push((id, label.to_owned()));
    }

    /// Labels the public key in a file of the vault at HEAD.
    fn mark_key(&mut self, file: &str, label: &str) {
        let key = self.env.git(&["show", &format!("HEAD:.agent-vault/{file}")]).trim().to_owned();
        self.keys.push((key, label.to_owned()));
    }

    fn commit(&self, id: &str) -> String {
        self.commits.iter().find(|(c, _)| c.starts_with(id)).map(|(_, l)| l.clone()).unwrap_or_else(|| panic!("unlabelled commit {id}"))
    }

    fn key(&self, key: &str) -> String {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, l)| format!("<{l}>")).unwrap_or_else(|| panic!("unlabelled key {key}"))
    }

    /// Text output with commit ids and keys replaced by their labels.
    fn normalise(&self, text: &str) -> String {
        let ids = regex::Regex::new(r"\b[0-9a-f]{7,40}\b").unwrap();
        let keys = regex::Regex::new(r"\bage1[0-9a-z]+\b").unwrap();
        let text = keys.replace_all(text, |c: &regex::Captures| self.key(&c[0]));
        ids.replace_all(&text, |c: &regex::Captures| self.commit(&c[0])).into_owned()
    }

    /// `git vault --json ARGS`, parsed.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.env.ok(&all)).unwrap()
    }

    /// `log --json` as one line per event: `LABEL kind field=value…`, after checking the
    /// commit fields every event carries.
    fn log(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["log"];
        all.extend_from_slice(args);
        let v = self.json(&all);
        v.as_array().unwrap().iter().map(|e| self.event(e)).collect()
    }

    fn event(&self, e: &Value) -> String {
        let commit = e["commit"].as_str().unwrap();
        assert_eq!(commit.len(), 40);
        assert!(commit.starts_with(e["short"].as_str().unwrap()));
        assert_eq!(e["author"], serde_json::json!({"name": "Alice Owner", "email": "alice@example.com"}));
        assert_eq!(e["date"], "2026-01-01T00:00:00Z");
        let mut line = format!("{} {}", self.commit(commit), e["kind"].as_str().unwrap());
        for field in ["owner", "agent", "group", "secret"] {
            if let Some(v) = e[field].as_str() {
                line.push_str(&format!(" {field}={v}"));
            }
        }
        if let Some(k) = e["public_key"].as_str() {
            line.push_str(&format!(" key={}", self.key(k)));
        }
        if e.get("detail").is_some() {
            line.push_str(" (detail)");
        }
        line
    }

    /// `exposure --json AGENT` as one line per range: `secret FROM..UNTIL key [now]`.
    fn exposure(&self, agent: &str) -> Vec<String> {
        let v = self.json(&["exposure", agent]);
        let mut out = Vec::new();
        for s in v.as_array().unwrap() {
            let now = if s["currently_readable"].as_bool().unwrap() { " now" } else { "" };
            for r in s["ranges"].as_array().unwrap() {
                let from = self.commit(r["from"]["commit"].as_str().unwrap());
                assert_eq!(r["from"]["date"], "2026-01-01T00:00:00Z");
                let until = r["until"]["commit"].as_str().map(|c| self.commit(c)).unwrap_or_else(|| "still".to_owned());
                let key = r["public_key"].as_str().map(|k| self.key(k)).unwrap_or_else(|| "none".to_owned());
                out.push(format!("{} {from}..{until} {key}{now}", s["secret"].as_str().unwrap()));
            }
        }
        out
    }
}

/// `rotated` has one-second resolution: a new value must come in a later second to be told
/// apart from a re-encryption.
fn next_second() {
    std::thread::sleep(Duration::from_millis(1100));
}

fn edit_manifest(env: &Env, f: impl FnOnce(&mut Manifest)) {
    let path = env.vault().join("manifest.yaml");
    let mut m: Manifest = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    f(&mut m);
    std::fs::write(&path, serde_saphyr::to_string(&m).unwrap()).unwrap();
}

/// C1–C10: the vault commands, one commit each.
fn commands(s: &mut Story) {
    s.env.ok(&["init", "--owner", "alice"]);
    s.mark("C1");
    s.mark_key("owner.pub", "alice");
    for (agent, label) in [("ci", "C2"), ("deploy", "C3")] {
        s.env.ok(&["add-agent", agent]);
        s.mark(label);
        s.mark_key(&format!("agents/{agent}/public.key"), &format!("{agent}#1"));
    }
    s.env.set("stripe/api-key", b"sk_1", &[]);
    s.mark("C4");
    s.env.ok(&["grant", "ci", "stripe"]);
    s.mark("C5");
    s.env.set("db/password", b"pw_1", &["--agents", "ci"]);
    s.mark("C6");
    next_second();
    s.env.set("stripe/api-key", b"sk_2", &[]);
    s.mark("C7");
    s.env.ok(&["recover-agent", "ci"]);
    s.mark("C8");
    s.mark_key("agents/ci/public.key", "ci#2");
    s.env.ok(&["revoke", "ci", "stripe"]);
    s.mark("C9");
    let bob = common::keypair(&s.env.tmp.path().join("bob.key"));
    s.env.ok(&["add-owner", "bob", &bob]);
    s.mark("C10");
    s.keys.push((bob, "bob".to_owned()));
}

/// C11: a hand-made commit whose message says nothing about access; F1 on a branch; C12 on
/// main; M merges the branch (different files, no conflict).
fn hand_edit_and_merge(s: &mut Story) {
    edit_manifest(&s.env, |m| {
        m.grant(&AgentName::parse("deploy").unwrap(), &GroupName::parse("db").unwrap());
    });
    s.env.git(&["commit", "-qam", "docs: fix a typo"]);
    s.mark("C11");
    s.env.git(&["checkout", "-qb", "feature"]);
    s.env.ok(&["grant", "deploy", "stripe"]);
    s.mark("F1");
    s.env.git(&["checkout", "-q", "main"]);
    next_second();
    s.env.set("db/password", b"pw_2", &[]);
    s.mark("C12");
    // without hooks: the post-merge reconcile would repair C11's hand edit in a commit of its own
    s.env.git(&["-c", "core.hooksPath=/dev/null", "merge", "-q", "--no-edit", "feature"]);
    s.mark("M");
    assert_eq!(s.env.git(&["rev-list", "--parents", "-n1", "HEAD"]).split_whitespace().count(), 3, "a merge commit");
}

/// C13–C17: removal, a broken manifest and its repair, and a commit message that lies.
fn removals_and_damage(s: &mut Story) {
    s.env.ok(&["remove-agent", "ci"]);
    s.mark("C13");
    s.env.ok(&["rm", "stripe/api-key"]);
    s.mark("C14");
    std::fs::write(s.env.vault().join("manifest.yaml"), "version: 1\nowners: [\n").unwrap();
    s.env.git(&["commit", "-qam", "tweak"]);
    s.mark("C15");
    s.env.git(&["checkout", "HEAD~1", "--", ".agent-vault/manifest.yaml"]);
    s.env.git(&["commit", "-qm", "restore"]);
    s.mark("C16");
    s.env.git(&["commit", "-q", "--allow-empty", "-m", "agent-vault: revoke 'deploy' access to 'db'"]);
    s.mark("C17");
}

/// The whole story, on top of a root commit without a vault.
fn story() -> Story {
    let mut s = Story::new(Env::new());
    std::fs::write(s.env.repo.join("README"), "hello\n").unwrap();
    s.env.git(&["add", "README"]);
    s.env.git(&["commit", "-qm", "root"]);
    s.mark("R");
    commands(&mut s);
    hand_edit_and_merge(&mut s);
    removals_and_damage(&mut s);
    s
}

const FULL_LOG: &[&str] = &[
    "C16 manifest_repaired",
    "C15 manifest_unreadable (detail)",
    "C14 secret_removed secret=stripe/api-key",
    "C13 agent_removed agent=ci",
    "C13 secret_reencrypted secret=db/password",
    "M granted agent=deploy group=stripe",
    "M secret_reencrypted secret=stripe/api-key",
    "F1 granted agent=deploy group=stripe",
    "F1 secret_reencrypted secret=stripe/api-key",
    "C12 secret_rotated secret=db/password",
    "C11 granted agent=deploy group=db",
    "C10 owner_added owner=bob key=<bob>",
    "C10 secret_reencrypted secret=db/password",
    "C10 secret_reencrypted secret=stripe/api-key",
    "C9 revoked agent=ci group=stripe",
    "C9 secret_reencrypted secret=stripe/api-key",
    "C8 agent_key_changed agent=ci key=<ci#2>",
    "C8 secret_reencrypted secret=db/password",
    "C8 secret_reencrypted secret=stripe/api-key",
    "C7 secret_rotated secret=stripe/api-key",
    "C6 secret_added group=db secret=db/password",
    "C6 reader_added agent=ci secret=db/password",
    "C5 granted agent=ci group=stripe",
    "C5 secret_reencrypted secret=stripe/api-key",
    "C4 secret_added group=stripe secret=stripe/api-key",
    "C3 agent_added agent=deploy key=<deploy#1>",
    "C2 agent_added agent=ci key=<ci#1>",
    "C1 vault_created",
    "C1 owner_added owner=alice key=<alice>",
];

#[test]
fn the_story_of_one_vault() {
    let s = story();
    assert_eq!(s.log(&[]), FULL_LOG);
    assert_eq!(
        s.log(&["--agent", "ci"]),
        [
            "C13 agent_removed agent=ci",
            "C13 access_lost agent=ci secret=db/password",
            "C9 revoked agent=ci group=stripe",
            "C9 access_lost agent=ci secret=stripe/api-key",
            "C8 agent_key_changed agent=ci key=<ci#2>",
            "C6 reader_added agent=ci secret=db/password",
            "C6 access_gained agent=ci secret=db/password",
            "C5 granted agent=ci group=stripe",
            "C5 access_gained agent=ci secret=stripe/api-key",
            "C2 agent_added agent=ci key=<ci#1>",
        ]
    );
    assert_eq!(
        s.log(&["--agent", "deploy"]),
        [
            "C14 access_lost agent=deploy secret=stripe/api-key",
            "M granted agent=deploy group=stripe",
            "M access_gained agent=deploy secret=stripe/api-key",
            "F1 granted agent=deploy group=stripe",
            "F1 access_gained agent=deploy secret=stripe/api-key",
            "C11 granted agent=deploy group=db",
            "C11 access_gained agent=deploy secret=db/password",
            "C3 agent_added agent=deploy key=<deploy#1>",
        ]
    );
    // A removed agent's exposure: one range per key, ended by the revoke and the removal.
    assert_eq!(
        s.exposure("ci"),
        ["db/password C6..C8 <ci#1>", "db/password C8..C13 <ci#2>", "stripe/api-key C5..C8 <ci#1>", "stripe/api-key C8..C9 <ci#2>",]
    );
    // The hand edit gave deploy db/password by policy before any re-encryption: counted from there.
    assert_eq!(s.exposure("deploy"), ["db/password C11..still <deploy#1> now", "stripe/api-key F1..C14 <deploy#1>"]);
    json_shapes(&s);
    insta::assert_snapshot!("log", s.normalise(&s.env.ok(&["log"])));
    insta::assert_snapshot!("exposure_ci", s.normalise(&s.env.ok(&["exposure", "ci"])));
}

/// Field names and order of the JSON outputs (the contract documented in the commands' help).
fn json_shapes(s: &Story) {
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let log = s.json(&["log"]);
    assert_eq!(keys(&log[0]), ["commit", "short", "author", "date", "kind"], "manifest_repaired names nothing");
    let granted = log.as_array().unwrap().iter().find(|e| e["kind"] == "granted").unwrap();
    assert_eq!(keys(granted), ["commit", "short", "author", "date", "kind", "agent", "group"]);
    let exposure = s.json(&["exposure", "ci"]);
    assert_eq!(keys(&exposure[0]), ["secret", "ranges", "currently_readable"]);
    let range = &exposure[0]["ranges"][0];
    assert_eq!(keys(range), ["from", "until", "public_key"]);
    assert_eq!(keys(&range["from"]), ["commit", "short", "date"]);
    assert_eq!(s.json(&["exposure", "deploy"])[0]["ranges"][0]["until"], Value::Null);
}

#[test]
fn unknown_agents_are_refused_and_owners_are_not_agents() {
    let env = Env::with_vault();
    assert_eq!(fails(env.cmd(&["--json", "exposure", "ghost"])), (2, "agent_not_found".to_owned()));
    assert_eq!(fails(env.cmd(&["--json", "log", "--agent", "ghost"])), (2, "agent_not_found".to_owned()));
    assert_eq!(fails(env.cmd(&["--json", "exposure", "alice"])), (2, "agent_not_found".to_owned()));
    assert_eq!(fails(env.cmd(&["--json", "exposure", "../x"])), (2, "invalid_name".to_owned()));
}

#[test]
fn a_vault_made_in_the_root_commit() {
    let mut s = Story::new(Env::with_vault());
    s.mark("C1");
    s.mark_key("owner.pub", "alice");
    assert_eq!(s.log(&[]), ["C1 vault_created", "C1 owner_added owner=alice key=<alice>"]);
    s.env.ok(&["add-agent", "ci"]);
    s.mark("C2");
    let out = s.env.cmd(&["exposure", "ci"]).output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "nothing to list");
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not decrypt any secret"));
    assert_eq!(s.json(&["exposure", "ci"]), serde_json::json!([]));
}

#[test]
fn history_outside_the_vault_is_not_an_event() {
    let mut s = Story::new(Env::with_vault());
    s.mark("C1");
    s.mark_key("owner.pub", "alice");
    std::fs::write(s.env.repo.join("notes.txt"), "x\n").unwrap();
    s.env.git(&["add", "notes.txt"]);
    s.env.git(&["commit", "-qm", "agent-vault: grant 'ci' access to 'stripe'"]);
    s.mark("C2");
    assert_eq!(s.log(&[]).len(), 2, "only the init commit has events: {:?}", s.log(&[]));
}
