//! Access-history events: what changed between two states of a vault, derived from the files
//! (never from commit messages, which can say anything).
//!
//! A [`Snapshot`] is what one commit's tree says about the vault: the policy (manifest), the
//! owners' and agents' public keys, and each secret's ciphertext identity and metadata.
//! [`diff`] compares two snapshots as sets and returns the [`Event`]s, in a stable order. Pure:
//! reading trees and blobs belongs to `git::history`, walking commits to `ops::history`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, LazyLock};

use serde::Serialize;

use super::manifest::{Extra, Manifest};
use super::meta::Meta;
use super::names::{AgentName, GroupName, OwnerName, SecretPath};
use super::policy;

/// The vault as one commit's tree has it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The policy in force: this commit's manifest or, when it cannot be read, the last
    /// readable one (the policy stays what it was until a readable manifest replaces it).
    pub manifest: Option<Arc<Manifest>>,
    /// Why this commit's `manifest.yaml` could not be read.
    pub manifest_error: Option<String>,
    /// Each owner's recipient, resolved (inline in the manifest or from the file it names).
    pub owner_keys: BTreeMap<OwnerName, String>,
    /// Each agent's `agents/<agent>/public.key`, trimmed.
    pub agent_keys: BTreeMap<AgentName, String>,
    pub secrets: BTreeMap<SecretPath, SecretFiles>,
}

/// The files of one secret in a snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretFiles {
    /// The identity of the ciphertext (its blob id): equal ids, equal bytes.
    pub enc: Option<String>,
    /// The metadata, when present and readable.
    pub meta: Option<Arc<Meta>>,
}

impl Snapshot {
    /// Whether there is a vault at all (a manifest, readable or not).
    pub fn is_vault(&self) -> bool {
        self.manifest.is_some() || self.manifest_error.is_some()
    }

    /// The secrets of this snapshot: those the manifest lists and those with a ciphertext.
    pub fn secret_names(&self) -> BTreeSet<&SecretPath> {
        let mut out: BTreeSet<&SecretPath> = self.manifest.iter().flat_map(|m| m.secrets()).collect();
        out.extend(self.secrets.iter().filter(|(_, f)| f.enc.is_some()).map(|(s, _)| s));
        out
    }

    /// Whether an agent is named anywhere: manifest agents or readers, a key file, a `.meta`.
    pub fn mentions(&self, agent: &AgentName) -> bool {
        let in_manifest = self.manifest.as_ref().is_some_and(|m| m.agent(agent).is_some() || m.readers.values().any(|r| r.contains(agent)));
        in_manifest
            || self.agent_keys.contains_key(agent)
            || self.secrets.values().any(|f| f.meta.as_ref().is_some_and(|m| m.authorized_agents.contains(agent)))
    }

    fn policy(&self) -> &Manifest {
        self.manifest.as_deref().unwrap_or(&EMPTY)
    }
}

/// The policy of "no vault": nobody, nothing.
static EMPTY: LazyLock<Manifest> = LazyLock::new(|| Manifest {
    version: 1,
    owners: Vec::new(),
    agents: Vec::new(),
    groups: Vec::new(),
    readers: BTreeMap::new(),
    extra: Extra::new(),
});

/// What happened. The JSON spelling (snake case) is part of the `log --json` contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    VaultCreated,
    ManifestUnreadable,
    ManifestRepaired,
    OwnerAdded,
    OwnerKeyChanged,
    OwnerRemoved,
    AgentAdded,
    AgentKeyChanged,
    AgentRemoved,
    Granted,
    Revoked,
    SecretAdded,
    SecretListed,
    SecretUnlisted,
    SecretRotated,
    SecretReencrypted,
    SecretRemoved,
    ReaderAdded,
    ReaderRemoved,
    AccessGained,
    AccessLost,
    VaultRemoved,
}

/// One change, with the names it is about. Field order is the JSON order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Event {
    pub kind: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwnerName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Event {
    pub fn new(kind: EventKind) -> Event {
        Event { kind, owner: None, agent: None, group: None, secret: None, public_key: None, detail: None }
    }

    pub fn owner(mut self, o: &OwnerName) -> Event {
        self.owner = Some(o.clone());
        self
    }

    pub fn agent(mut self, a: &AgentName) -> Event {
        self.agent = Some(a.clone());
        self
    }

    pub fn group(mut self, g: &GroupName) -> Event {
        self.group = Some(g.clone());
        self
    }

    pub fn secret(mut self, s: &SecretPath) -> Event {
        self.secret = Some(s.clone());
        self
    }

    pub fn public_key(mut self, k: Option<&String>) -> Event {
        self.public_key = k.cloned();
        self
    }

    pub fn detail(mut self, d: impl Into<String>) -> Event {
        self.detail = Some(d.into());
        self
    }

    /// Whether the event is about this agent.
    pub fn concerns(&self, agent: &AgentName) -> bool {
        self.agent.as_ref() == Some(agent)
    }

    /// Access changes (`access_gained`, `access_lost`) are consequences of other events; `log`
    /// shows them only when asked about one agent.
    pub fn is_consequence(&self) -> bool {
        matches!(self.kind, EventKind::AccessGained | EventKind::AccessLost)
    }
}

/// Every change from `before` to `after`, sorted by kind, then by the names involved.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<Event> {
    let mut out = Vec::new();
    lifecycle(before, after, &mut out);
    owners(before, after, &mut out);
    agents(before, after, &mut out);
    grants(before.policy(), after.policy(), &mut out);
    secrets(before, after, &mut out);
    readers(before, after, &mut out);
    access(before.policy(), after.policy(), &mut out);
    out.sort();
    out
}

fn lifecycle(before: &Snapshot, after: &Snapshot, out: &mut Vec<Event>) {
    if !before.is_vault() && after.is_vault() {
        out.push(Event::new(EventKind::VaultCreated));
    }
    if before.is_vault() && !after.is_vault() {
        out.push(Event::new(EventKind::VaultRemoved));
    }
    match (&before.manifest_error, &after.manifest_error) {
        (b, Some(e)) if b.as_ref() != Some(e) => out.push(Event::new(EventKind::ManifestUnreadable).detail(e.clone())),
        (Some(_), None) if after.manifest.is_some() => out.push(Event::new(EventKind::ManifestRepaired)),
        _ => {}
    }
}

fn owners(before: &Snapshot, after: &Snapshot, out: &mut Vec<Event>) {
    let names = |s: &Snapshot| -> BTreeSet<OwnerName> { s.policy().owners.iter().map(|o| o.name.clone()).collect() };
    let (b, a) = (names(before), names(after));
    for o in a.difference(&b) {
        out.push(Event::new(EventKind::OwnerAdded).owner(o).public_key(after.owner_keys.get(o)));
    }
    for o in b.difference(&a) {
        out.push(Event::new(EventKind::OwnerRemoved).owner(o));
    }
    for o in a.intersection(&b) {
        if before.owner_keys.get(o) != after.owner_keys.get(o) {
            out.push(Event::new(EventKind::OwnerKeyChanged).owner(o).public_key(after.owner_keys.get(o)));
        }
    }
}

fn agents(before: &Snapshot, after: &Snapshot, out: &mut Vec<Event>) {
    let names = |s: &Snapshot| -> BTreeSet<AgentName> { s.policy().agents.iter().map(|a| a.name.clone()).collect() };
    let (b, a) = (names(before), names(after));
    for x in a.difference(&b) {
        out.push(Event::new(EventKind::AgentAdded).agent(x).public_key(after.agent_keys.get(x)));
    }
    for x in b.difference(&a) {
        out.push(Event::new(EventKind::AgentRemoved).agent(x));
    }
    for x in a.intersection(&b) {
        if before.agent_keys.get(x) != after.agent_keys.get(x) {
            out.push(Event::new(EventKind::AgentKeyChanged).agent(x).public_key(after.agent_keys.get(x)));
        }
    }
}

/// Grants of every agent of `after` (new agents included); revokes only of agents still there
/// (a removed agent's groups go with it).
fn grants(b: &Manifest, a: &Manifest, out: &mut Vec<Event>) {
    for agent in &a.agents {
        let old: BTreeSet<&GroupName> = b.agent(&agent.name).map(|x| x.groups.iter().collect()).unwrap_or_default();
        let new: BTreeSet<&GroupName> = agent.groups.iter().collect();
        for g in new.difference(&old) {
            out.push(Event::new(EventKind::Granted).agent(&agent.name).group(g));
        }
        if b.agent(&agent.name).is_some() {
            for g in old.difference(&new) {
                out.push(Event::new(EventKind::Revoked).agent(&agent.name).group(g));
            }
        }
    }
}

fn secrets(before: &Snapshot, after: &Snapshot, out: &mut Vec<Event>) {
    let (b, a) = (before.secret_names(), after.secret_names());
    for s in a.difference(&b) {
        let group = after.secrets.get(*s).and_then(|f| f.meta.as_ref()).map(|m| m.group.clone());
        let group = group.or_else(|| after.policy().groups_listing(s).first().map(|g| (*g).clone()));
        let mut e = Event::new(EventKind::SecretAdded).secret(s);
        e.group = group;
        out.push(e);
    }
    for s in b.difference(&a) {
        out.push(Event::new(EventKind::SecretRemoved).secret(s));
    }
    for s in a.intersection(&b) {
        listing(s, before.policy(), after.policy(), out);
        value(s, before.secrets.get(*s), after.secrets.get(*s), out);
    }
}

/// A secret moved into or out of groups.
fn listing(s: &SecretPath, b: &Manifest, a: &Manifest, out: &mut Vec<Event>) {
    let old: BTreeSet<&GroupName> = b.groups_listing(s).into_iter().collect();
    let new: BTreeSet<&GroupName> = a.groups_listing(s).into_iter().collect();
    for g in new.difference(&old) {
        out.push(Event::new(EventKind::SecretListed).secret(s).group(g));
    }
    for g in old.difference(&new) {
        out.push(Event::new(EventKind::SecretUnlisted).secret(s).group(g));
    }
}

/// The ciphertext of a secret that exists on both sides: a new value when its `rotated` time
/// changed (or a ciphertext appeared), else a re-encryption of the same value.
fn value(s: &SecretPath, b: Option<&SecretFiles>, a: Option<&SecretFiles>, out: &mut Vec<Event>) {
    let none = SecretFiles::default();
    let (b, a) = (b.unwrap_or(&none), a.unwrap_or(&none));
    match (&b.enc, &a.enc) {
        (None, Some(_)) => out.push(Event::new(EventKind::SecretRotated).secret(s)),
        (Some(_), None) => out
            .push(Event::new(EventKind::SecretRemoved).secret(s).detail("the ciphertext was deleted; the manifest still lists the secret")),
        (Some(x), Some(y)) if x != y => {
            let rotated = |f: &SecretFiles| f.meta.as_ref().map(|m| m.rotated);
            let kind = match (rotated(b), rotated(a)) {
                (Some(t0), Some(t1)) if t0 != t1 => EventKind::SecretRotated,
                _ => EventKind::SecretReencrypted,
            };
            let e = Event::new(kind).secret(s);
            let missing = b.meta.is_none() || a.meta.is_none();
            out.push(if missing { e.detail("metadata missing: the value may have changed") } else { e });
        }
        _ => {}
    }
}

/// Per-secret readers (`set --agents`). Readers dropped because their agent or their secret
/// went away are implied by those events.
fn readers(before: &Snapshot, after: &Snapshot, out: &mut Vec<Event>) {
    let pairs = |m: &Manifest| -> BTreeSet<(SecretPath, AgentName)> {
        m.readers.iter().flat_map(|(s, list)| list.iter().map(move |a| (s.clone(), a.clone()))).collect()
    };
    let (b, a) = (pairs(before.policy()), pairs(after.policy()));
    for (s, x) in a.difference(&b) {
        out.push(Event::new(EventKind::ReaderAdded).agent(x).secret(s));
    }
    let secrets_after = after.secret_names();
    for (s, x) in b.difference(&a) {
        let agent_gone = before.policy().agent(x).is_some() && after.policy().agent(x).is_none();
        if agent_gone || !secrets_after.contains(s) {
            continue;
        }
        out.push(Event::new(EventKind::ReaderRemoved).agent(x).secret(s));
    }
}

/// Who may read what, by the policy, before and after.
fn access(b: &Manifest, a: &Manifest, out: &mut Vec<Event>) {
    let (old, new) = (policy::reader_map(b), policy::reader_map(a));
    let none = BTreeSet::new();
    let secrets: BTreeSet<&SecretPath> = old.keys().chain(new.keys()).collect();
    for s in secrets {
        let (o, n) = (old.get(s).unwrap_or(&none), new.get(s).unwrap_or(&none));
        for x in n.difference(o) {
            out.push(Event::new(EventKind::AccessGained).agent(x).secret(s));
        }
        for x in o.difference(n) {
            out.push(Event::new(EventKind::AccessLost).agent(x).secret(s));
        }
    }
}

/// A sentence for people, without the commit.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (owner, agent, group, secret) = (shown(&self.owner), shown(&self.agent), shown(&self.group), shown(&self.secret));
        let key = self.public_key.as_deref().map(|k| format!(" ({k})")).unwrap_or_default();
        let detail = self.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        let text = match self.kind {
            EventKind::VaultCreated => "vault created".to_owned(),
            EventKind::VaultRemoved => "vault removed".to_owned(),
            EventKind::ManifestUnreadable => "manifest unreadable; the previous policy stays in force".to_owned(),
            EventKind::ManifestRepaired => "manifest readable again".to_owned(),
            EventKind::OwnerAdded => format!("owner {owner} added{key}"),
            EventKind::OwnerKeyChanged => format!("owner {owner} has a new key{key}"),
            EventKind::OwnerRemoved => format!("owner {owner} removed"),
            EventKind::AgentAdded => format!("agent {agent} added{key}"),
            EventKind::AgentKeyChanged => format!("agent {agent} has a new key{key}"),
            EventKind::AgentRemoved => format!("agent {agent} removed"),
            EventKind::Granted => format!("agent {agent} granted group {group}"),
            EventKind::Revoked => format!("agent {agent} revoked from group {group}"),
            EventKind::SecretAdded => {
                format!("secret {secret} added{}", self.group.as_ref().map(|g| format!(" to group {g}")).unwrap_or_default())
            }
            EventKind::SecretListed => format!("secret {secret} listed in group {group}"),
            EventKind::SecretUnlisted => format!("secret {secret} unlisted from group {group}"),
            EventKind::SecretRotated => format!("secret {secret} set to a new value"),
            EventKind::SecretReencrypted => format!("secret {secret} re-encrypted (same value)"),
            EventKind::SecretRemoved => format!("secret {secret} removed"),
            EventKind::ReaderAdded => format!("agent {agent} made a reader of {secret}"),
            EventKind::ReaderRemoved => format!("agent {agent} no longer a reader of {secret}"),
            EventKind::AccessGained => format!("agent {agent} can read {secret}"),
            EventKind::AccessLost => format!("agent {agent} can no longer read {secret}"),
        };
        write!(f, "{text}{detail}")
    }
}

fn shown<T: fmt::Display>(name: &Option<T>) -> String {
    name.as_ref().map(|n| n.to_string()).unwrap_or_else(|| "?".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::Timestamp;

    use crate::vault::testing::{a, g, s};

    /// A vault with owner `o`, agents `ci` (group `stripe`) and `deploy`, one secret.
    fn base() -> Snapshot {
        let mut m = Manifest::new(OwnerName::parse("o").unwrap(), "owner.pub");
        m.add_agent(a("ci"));
        m.add_agent(a("deploy"));
        m.add_secret(&s("stripe/k"), &g("stripe"));
        m.grant(&a("ci"), &g("stripe"));
        let mut snap = Snapshot { manifest: Some(Arc::new(m)), ..Snapshot::default() };
        snap.owner_keys.insert(OwnerName::parse("o").unwrap(), "age1o".into());
        snap.agent_keys.insert(a("ci"), "age1ci".into());
        snap.agent_keys.insert(a("deploy"), "age1deploy".into());
        put_secret(&mut snap, "stripe/k", "enc1", 100, &["ci"]);
        snap
    }

    fn put_secret(snap: &mut Snapshot, path: &str, enc: &str, rotated: i64, agents: &[&str]) {
        let mut meta = Meta::new(s(path), s(path).default_group(), Timestamp::from_unix(rotated));
        meta.set_agents(agents.iter().map(|x| a(x)));
        snap.secrets.insert(s(path), SecretFiles { enc: Some(enc.into()), meta: Some(Arc::new(meta)) });
    }

    fn edit(snap: &Snapshot, f: impl FnOnce(&mut Manifest)) -> Snapshot {
        let mut next = snap.clone();
        let mut m = (**snap.manifest.as_ref().unwrap()).clone();
        f(&mut m);
        next.manifest = Some(Arc::new(m));
        next
    }

    /// The events as `kind agent/group/secret` strings, for compact assertions.
    fn short(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| {
                let parts = [
                    e.owner.as_ref().map(|x| x.to_string()),
                    e.agent.as_ref().map(|x| x.to_string()),
                    e.group.as_ref().map(|x| x.to_string()),
                    e.secret.as_ref().map(|x| x.to_string()),
                ];
                let names: Vec<String> = parts.into_iter().flatten().collect();
                format!("{} {}", serde_json::to_value(e.kind).unwrap().as_str().unwrap(), names.join(" "))
            })
            .collect()
    }

    #[test]
    fn creating_a_vault_adds_everything() {
        let ev = diff(&Snapshot::default(), &base());
        assert_eq!(
            short(&ev),
            [
                "vault_created ",
                "owner_added o",
                "agent_added ci",
                "agent_added deploy",
                "granted ci stripe",
                "secret_added stripe stripe/k",
                "access_gained ci stripe/k"
            ]
        );
        assert_eq!(ev[2].public_key.as_deref(), Some("age1ci"));
    }

    #[test]
    fn grant_and_revoke_show_the_access_they_change() {
        let b = base();
        let after = edit(&b, |m| {
            m.revoke(&a("ci"), &g("stripe"));
            m.grant(&a("deploy"), &g("stripe"));
        });
        assert_eq!(
            short(&diff(&b, &after)),
            ["granted deploy stripe", "revoked ci stripe", "access_gained deploy stripe/k", "access_lost ci stripe/k"]
        );
    }

    #[test]
    fn removing_an_agent_implies_its_revokes_and_readerships() {
        let mut b = base();
        b = edit(&b, |m| {
            m.set_readers(&s("stripe/k"), &[a("deploy")]);
        });
        let mut after = edit(&b, |m| {
            m.remove_agent(&a("deploy"));
        });
        after.agent_keys.remove(&a("deploy"));
        assert_eq!(short(&diff(&b, &after)), ["agent_removed deploy", "access_lost deploy stripe/k"]);
    }

    #[test]
    fn readers_are_reported_per_secret() {
        let b = base();
        let after = edit(&b, |m| {
            m.set_readers(&s("stripe/k"), &[a("deploy")]);
        });
        assert_eq!(short(&diff(&b, &after)), ["reader_added deploy stripe/k", "access_gained deploy stripe/k"]);
        assert_eq!(short(&diff(&after, &b)), ["reader_removed deploy stripe/k", "access_lost deploy stripe/k"]);
    }

    #[test]
    fn a_new_rotated_time_is_a_new_value_else_a_reencryption() {
        let b = base();
        let mut rotated = b.clone();
        put_secret(&mut rotated, "stripe/k", "enc2", 200, &["ci"]);
        assert_eq!(short(&diff(&b, &rotated)), ["secret_rotated stripe/k"]);
        let mut reenc = b.clone();
        put_secret(&mut reenc, "stripe/k", "enc2", 100, &["ci"]);
        assert_eq!(short(&diff(&b, &reenc)), ["secret_reencrypted stripe/k"]);
        assert_eq!(diff(&b, &b.clone()), vec![], "nothing changed, nothing to say");
    }

    #[test]
    fn removing_a_secret_drops_its_readers_silently() {
        let b = edit(&base(), |m| {
            m.set_readers(&s("stripe/k"), &[a("deploy")]);
        });
        let mut after = edit(&b, |m| {
            m.remove_secret(&s("stripe/k"));
        });
        after.secrets.clear();
        assert_eq!(short(&diff(&b, &after)), ["secret_removed stripe/k", "access_lost ci stripe/k", "access_lost deploy stripe/k"]);
    }

    #[test]
    fn moving_a_secret_between_groups() {
        let b = base();
        let after = edit(&b, |m| {
            m.unlist_secret(&s("stripe/k"), &g("stripe"));
            m.add_secret(&s("stripe/k"), &g("ops"));
        });
        assert_eq!(short(&diff(&b, &after)), ["secret_listed ops stripe/k", "secret_unlisted stripe stripe/k", "access_lost ci stripe/k"]);
    }

    #[test]
    fn key_changes_of_agents_and_owners() {
        let b = base();
        let mut after = b.clone();
        after.agent_keys.insert(a("ci"), "age1new".into());
        after.owner_keys.insert(OwnerName::parse("o").unwrap(), "age1o2".into());
        let ev = diff(&b, &after);
        assert_eq!(short(&ev), ["owner_key_changed o", "agent_key_changed ci"]);
        assert_eq!(ev[1].public_key.as_deref(), Some("age1new"));
    }

    #[test]
    fn an_unreadable_manifest_keeps_the_policy_and_says_so() {
        let b = base();
        let broken = Snapshot { manifest_error: Some("bad yaml".into()), ..b.clone() };
        let ev = diff(&b, &broken);
        assert_eq!(short(&ev), ["manifest_unreadable "]);
        assert_eq!(ev[0].detail.as_deref(), Some("bad yaml"));
        assert_eq!(short(&diff(&broken, &b)), ["manifest_repaired "]);
        assert!(diff(&broken, &broken.clone()).is_empty());
    }

    #[test]
    fn deleting_the_vault_removes_everything() {
        let ev = diff(&base(), &Snapshot::default());
        assert_eq!(short(&ev)[0], "owner_removed o");
        assert_eq!(short(&ev).last().unwrap(), "vault_removed ");
        assert!(short(&ev).contains(&"agent_removed ci".to_owned()));
    }

    #[test]
    fn display_and_json_spelling() {
        let e = Event::new(EventKind::Granted).agent(&a("ci")).group(&g("stripe"));
        assert_eq!(e.to_string(), "agent ci granted group stripe");
        assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"kind":"granted","agent":"ci","group":"stripe"}"#);
        assert!(e.concerns(&a("ci")) && !e.concerns(&a("deploy")));
    }
}
