//! The manifest: owners, agents and their groups, groups and their secrets, per-secret readers.
//!
//! This is the document model and its edits. It is pure: reading and writing the file belongs to
//! `store`, deciding who may read what to `policy`. Unknown fields, at the top level and in every
//! entry, are kept in `extra` and written back unchanged.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::names::{AgentName, GroupName, OwnerName, SecretPath};

/// Fields this version does not know, preserved in their original order.
pub type Extra = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    #[serde(default)]
    pub owners: Vec<Owner>,
    #[serde(default)]
    pub agents: Vec<Agent>,
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Agents made readers of one secret with `set --agents` (a git-vault extension).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub readers: BTreeMap<SecretPath, Vec<AgentName>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub name: OwnerName,
    /// An inline `age1…` recipient, or the name of a file in `.agent-vault/` holding one.
    pub public_key: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub name: AgentName,
    #[serde(default)]
    pub groups: Vec<GroupName>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: GroupName,
    #[serde(default)]
    pub secrets: Vec<SecretPath>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where an owner's recipient comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerKeyRef<'a> {
    Inline(&'a str),
    File(&'a str),
}

impl Owner {
    pub fn key_ref(&self) -> OwnerKeyRef<'_> {
        let k = self.public_key.trim();
        if k.starts_with("age1") { OwnerKeyRef::Inline(k) } else { OwnerKeyRef::File(k) }
    }
}

impl Manifest {
    /// A new manifest with its first owner, whose key is in the file `owner.pub`.
    pub fn new(owner: OwnerName, key_file: &str) -> Self {
        Manifest {
            version: 1,
            owners: vec![Owner { name: owner, public_key: key_file.to_owned(), extra: Extra::new() }],
            agents: Vec::new(),
            groups: Vec::new(),
            readers: BTreeMap::new(),
            extra: Extra::new(),
        }
    }

    /// Why this version cannot work with the manifest, if it cannot.
    pub fn unsupported(&self) -> Option<String> {
        (self.version != 1).then(|| format!("manifest version {} is not supported (expected 1)", self.version))
    }

    pub fn owner(&self, name: &OwnerName) -> Option<&Owner> {
        self.owners.iter().find(|o| &o.name == name)
    }

    pub fn agent(&self, name: &AgentName) -> Option<&Agent> {
        self.agents.iter().find(|a| &a.name == name)
    }

    fn agent_mut(&mut self, name: &AgentName) -> Option<&mut Agent> {
        self.agents.iter_mut().find(|a| &a.name == name)
    }

    pub fn group(&self, name: &GroupName) -> Option<&Group> {
        self.groups.iter().find(|g| &g.name == name)
    }

    /// Every secret listed by some group, sorted, once each.
    pub fn secrets(&self) -> BTreeSet<&SecretPath> {
        self.groups.iter().flat_map(|g| g.secrets.iter()).collect()
    }

    pub fn contains_secret(&self, path: &SecretPath) -> bool {
        self.groups.iter().any(|g| g.secrets.contains(path))
    }

    /// The groups that list a secret, in manifest order.
    pub fn groups_listing(&self, path: &SecretPath) -> Vec<&GroupName> {
        self.groups.iter().filter(|g| g.secrets.contains(path)).map(|g| &g.name).collect()
    }

    pub fn add_owner(&mut self, name: OwnerName, recipient: &str) {
        self.owners.push(Owner { name, public_key: recipient.to_owned(), extra: Extra::new() });
    }

    pub fn remove_owner(&mut self, name: &OwnerName) -> bool {
        let before = self.owners.len();
        self.owners.retain(|o| &o.name != name);
        before != self.owners.len()
    }

    pub fn add_agent(&mut self, name: AgentName) {
        self.agents.push(Agent { name, groups: Vec::new(), extra: Extra::new() });
    }

    /// Drops the agent, its group memberships and its per-secret readerships.
    pub fn remove_agent(&mut self, name: &AgentName) -> bool {
        let before = self.agents.len();
        self.agents.retain(|a| &a.name != name);
        for list in self.readers.values_mut() {
            list.retain(|a| a != name);
        }
        self.readers.retain(|_, list| !list.is_empty());
        before != self.agents.len()
    }

    /// Adds the group to the agent's groups; false when it was already there.
    pub fn grant(&mut self, agent: &AgentName, group: &GroupName) -> bool {
        match self.agent_mut(agent) {
            Some(a) if !a.groups.contains(group) => {
                a.groups.push(group.clone());
                true
            }
            _ => false,
        }
    }

    /// Removes the group from the agent's groups; false when it was not there.
    pub fn revoke(&mut self, agent: &AgentName, group: &GroupName) -> bool {
        match self.agent_mut(agent) {
            Some(a) => {
                let before = a.groups.len();
                a.groups.retain(|g| g != group);
                before != a.groups.len()
            }
            None => false,
        }
    }

    /// Lists the secret in the group, creating the group if needed; false when already listed.
    pub fn add_secret(&mut self, path: &SecretPath, group: &GroupName) -> bool {
        let g = match self.groups.iter().position(|g| &g.name == group) {
            Some(i) => &mut self.groups[i],
            None => {
                self.groups.push(Group { name: group.clone(), secrets: Vec::new(), extra: Extra::new() });
                self.groups.last_mut().expect("just pushed")
            }
        };
        if g.secrets.contains(path) {
            return false;
        }
        g.secrets.push(path.clone());
        g.secrets.sort();
        true
    }

    /// Removes the secret from one group (empty groups stay: agents may still be granted them).
    pub fn unlist_secret(&mut self, path: &SecretPath, group: &GroupName) -> bool {
        self.groups.iter_mut().filter(|g| &g.name == group).fold(false, |changed, g| {
            let before = g.secrets.len();
            g.secrets.retain(|s| s != path);
            changed | (before != g.secrets.len())
        })
    }

    /// Removes the secret from every group and drops its readers.
    pub fn remove_secret(&mut self, path: &SecretPath) -> bool {
        let mut changed = self.readers.remove(path).is_some();
        for g in &mut self.groups {
            let before = g.secrets.len();
            g.secrets.retain(|s| s != path);
            changed |= before != g.secrets.len();
        }
        changed
    }

    /// Replaces the per-secret readers; an empty list removes the entry.
    pub fn set_readers(&mut self, path: &SecretPath, agents: &[AgentName]) -> bool {
        let mut sorted: Vec<AgentName> = agents.to_vec();
        sorted.sort();
        sorted.dedup();
        let old = self.readers.get(path).cloned().unwrap_or_default();
        if sorted.is_empty() {
            self.readers.remove(path);
        } else {
            self.readers.insert(path.clone(), sorted.clone());
        }
        old != sorted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::vault::testing::{a, g, s};

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let text = "version: 1\nowners:\n- name: alice\n  public_key: owner.pub\n  email: a@x\nagents:\n- name: ci\n  groups:\n  - stripe\n  team: platform\ngroups:\n- name: stripe\n  secrets:\n  - stripe/api-key\n  color: blue\nx-note: keep me\n";
        let m: Manifest = serde_saphyr::from_str(text).unwrap();
        let out = serde_saphyr::to_string(&m).unwrap();
        for needle in ["email: a@x", "team: platform", "color: blue", "x-note: keep me"] {
            assert!(out.contains(needle), "{needle} lost:\n{out}");
        }
        let again: Manifest = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(m, again);
    }

    #[test]
    fn invalid_names_in_a_manifest_are_refused_at_parse() {
        let text = "version: 1\ngroups:\n- name: x\n  secrets:\n  - ../../etc/passwd\n";
        let e = serde_saphyr::from_str::<Manifest>(text).unwrap_err().to_string();
        assert!(e.contains("'..'"), "{e}");
    }

    #[test]
    fn edits() {
        let mut m = Manifest::new(OwnerName::parse("alice").unwrap(), "owner.pub");
        m.add_agent(a("ci"));
        assert!(m.add_secret(&s("stripe/k"), &g("stripe")));
        assert!(!m.add_secret(&s("stripe/k"), &g("stripe")));
        assert!(m.grant(&a("ci"), &g("stripe")));
        assert!(!m.grant(&a("ci"), &g("stripe")));
        assert!(m.set_readers(&s("stripe/k"), &[a("ci")]));
        assert!(m.revoke(&a("ci"), &g("stripe")));
        assert!(m.remove_agent(&a("ci")));
        assert!(m.readers.is_empty(), "readers of a removed agent are dropped");
        assert!(m.remove_secret(&s("stripe/k")));
        assert!(m.group(&g("stripe")).is_some(), "empty groups stay");
    }
}
