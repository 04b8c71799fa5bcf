//! Who may read what. The single source of the access rule (FORMAT.md "Who may read a secret"):
//! a secret is readable by every owner, by every existing agent granted a group that lists it, and
//! by every existing agent named as its reader. Pure functions over a [`Manifest`].

use std::collections::{BTreeMap, BTreeSet};

use super::manifest::Manifest;
use super::names::{AgentName, GroupName, SecretPath};

/// The agents that may read each secret of the manifest (every listed secret has an entry).
pub fn reader_map(m: &Manifest) -> BTreeMap<SecretPath, BTreeSet<AgentName>> {
    let mut by_group: BTreeMap<&GroupName, Vec<&AgentName>> = BTreeMap::new();
    for agent in &m.agents {
        for g in &agent.groups {
            by_group.entry(g).or_default().push(&agent.name);
        }
    }
    let mut out: BTreeMap<SecretPath, BTreeSet<AgentName>> = BTreeMap::new();
    for group in &m.groups {
        let agents = by_group.get(&group.name);
        for s in &group.secrets {
            let entry = out.entry(s.clone()).or_default();
            entry.extend(agents.into_iter().flatten().map(|a| (*a).clone()));
        }
    }
    for (s, agents) in &m.readers {
        if let Some(entry) = out.get_mut(s) {
            entry.extend(agents.iter().filter(|a| m.agent(a).is_some()).cloned());
        }
    }
    out
}

/// The agents that may read one secret (empty when the manifest does not list it).
pub fn readers_of(m: &Manifest, path: &SecretPath) -> BTreeSet<AgentName> {
    let mut out = BTreeSet::new();
    if !m.contains_secret(path) {
        return out;
    }
    let listing: BTreeSet<&GroupName> = m.groups_listing(path).into_iter().collect();
    for agent in &m.agents {
        if agent.groups.iter().any(|g| listing.contains(g)) {
            out.insert(agent.name.clone());
        }
    }
    if let Some(extra) = m.readers.get(path) {
        out.extend(extra.iter().filter(|a| m.agent(a).is_some()).cloned());
    }
    out
}

/// The secrets one agent may read.
pub fn readable_by(m: &Manifest, agent: &AgentName) -> BTreeSet<SecretPath> {
    reader_map(m).into_iter().filter(|(_, agents)| agents.contains(agent)).map(|(s, _)| s).collect()
}

/// Secrets present in both manifests whose set of agent readers differs.
pub fn changed_readers(before: &Manifest, after: &Manifest) -> BTreeSet<SecretPath> {
    let old = reader_map(before);
    reader_map(after).into_iter().filter(|(s, agents)| old.get(s).is_some_and(|o| o != agents)).map(|(s, _)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::vault::testing::{a, g, s};

    fn sample() -> Manifest {
        let mut m = crate::vault::testing::sample();
        m.add_secret(&s("db/p"), &g("shared"));
        m.grant(&a("deploy"), &g("shared"));
        m
    }

    #[test]
    fn groups_and_readers_both_grant() {
        let mut m = sample();
        assert_eq!(readers_of(&m, &s("stripe/k")), [a("ci")].into());
        assert_eq!(readers_of(&m, &s("db/p")), [a("deploy")].into());
        m.set_readers(&s("db/p"), &[a("ci"), a("ghost")]);
        assert_eq!(readers_of(&m, &s("db/p")), [a("ci"), a("deploy")].into(), "unknown agents grant nothing");
        assert_eq!(reader_map(&m)[&s("db/p")], readers_of(&m, &s("db/p")));
        assert_eq!(readable_by(&m, &a("ci")), [s("db/p"), s("stripe/k")].into());
    }

    #[test]
    fn changed_readers_sees_only_affected_secrets() {
        let before = sample();
        let mut after = before.clone();
        after.grant(&a("ci"), &g("db"));
        assert_eq!(changed_readers(&before, &after), [s("db/p")].into());
    }
}
