//! Secret metadata (`secrets/<path>.meta`): plaintext facts about one secret, never its value.

use serde::{Deserialize, Serialize};

use super::manifest::Extra;
use super::names::{AgentName, GroupName, SecretPath};
use super::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub name: SecretPath,
    pub group: GroupName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    /// When the value last changed; re-encryption does not bump it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
    /// The agents this ciphertext is encrypted to, sorted.
    #[serde(default)]
    pub authorized_agents: Vec<AgentName>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Meta {
    pub fn new(name: SecretPath, group: GroupName, now: Timestamp) -> Self {
        Meta { name, group, created: Some(now), rotated: Some(now), expires: None, authorized_agents: Vec::new(), extra: Extra::new() }
    }

    pub fn set_agents(&mut self, agents: impl IntoIterator<Item = AgentName>) {
        let mut v: Vec<AgentName> = agents.into_iter().collect();
        v.sort();
        v.dedup();
        self.authorized_agents = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_meta_is_read_and_unknown_fields_kept() {
        let text = "name: plain\ngroup: default\ncreated: 2026-01-02T03:04:05.123456789Z\nrotated: 2026-01-02T03:04:05.123456789Z\nauthorized_agents:\n- ci\nsource: legacy\n";
        let m: Meta = serde_saphyr::from_str(text).unwrap();
        assert_eq!(m.name.as_str(), "plain");
        let out = serde_saphyr::to_string(&m).unwrap();
        assert!(out.contains("source: legacy"));
        assert!(out.contains("2026-01-02T03:04:05.123456789Z"));
    }
}
