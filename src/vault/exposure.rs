//! Exposure: which secrets one agent could decrypt, and over which stretch of history.
//!
//! Conservative by design: at a commit, the agent could decrypt a secret that has a ciphertext
//! when the policy (the manifest) lets it read the secret **or** the secret's `.meta` lists it in
//! `authorized_agents` (after a crash or a merge the ciphertext may be out of line with the
//! policy). Access is tracked per agent *name* and per public key, so a key replaced by
//! `recover-agent` shows as its own range. Pure: commits are indices in a topological order
//! (parents first) chosen by the caller.

use std::collections::{BTreeMap, BTreeSet};

use super::events::Snapshot;
use super::names::{AgentName, SecretPath};
use super::policy;

/// The agent's public key at a commit (None when it has no `public.key` there).
pub type Key = Option<String>;

/// What one agent could decrypt at one commit: each readable secret with the key holding it.
pub type Access = BTreeSet<(SecretPath, Key)>;

/// The secrets `agent` could decrypt in `snap` (see the module documentation).
pub fn access(snap: &Snapshot, agent: &AgentName) -> Access {
    let readers = snap.manifest.as_deref().map(policy::reader_map).unwrap_or_default();
    let key = snap.agent_keys.get(agent).cloned();
    snap.secrets
        .iter()
        .filter(|(_, f)| f.enc.is_some())
        .filter(|(s, f)| {
            let by_policy = readers.get(*s).is_some_and(|r| r.contains(agent));
            by_policy || f.meta.as_ref().is_some_and(|m| m.authorized_agents.contains(agent))
        })
        .map(|(s, _)| (s.clone(), key.clone()))
        .collect()
}

/// A stretch of history: from the commit where access began to the one where it ended
/// (None: it has not ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub from: usize,
    pub until: Option<usize>,
    pub public_key: Key,
}

/// Builds the ranges commit by commit, in topological order.
///
/// Each (secret, key) pair is followed on its own. At a commit where the pair is readable, a
/// range opens unless one is open; if the last range was closed on a side branch while the first
/// parent still had access, that range is reopened (access never stopped on this line). At a
/// commit where the pair is not readable but some parent had it, the open range ends there, or
/// the last range is extended to there (access lasted at least until this merge).
#[derive(Debug, Default)]
pub struct Ranges {
    by_pair: BTreeMap<(SecretPath, Key), Vec<Range>>,
}

impl Ranges {
    /// One commit: its index, its access and its parents' access (first parent first).
    pub fn step(&mut self, commit: usize, now: &Access, parents: &[&Access]) {
        for pair in now {
            let ranges = self.by_pair.entry(pair.clone()).or_default();
            match ranges.last_mut() {
                Some(r) if r.until.is_none() => {}
                Some(r) if parents.first().is_some_and(|p| p.contains(pair)) => r.until = None,
                _ => ranges.push(Range { from: commit, until: None, public_key: pair.1.clone() }),
            }
        }
        for parent in parents {
            for pair in parent.iter().filter(|p| !now.contains(*p)) {
                if let Some(r) = self.by_pair.get_mut(pair).and_then(|v| v.last_mut()) {
                    r.until = Some(commit);
                }
            }
        }
    }

    /// The ranges of each secret, ordered by where they begin.
    pub fn finish(self) -> BTreeMap<SecretPath, Vec<Range>> {
        let mut out: BTreeMap<SecretPath, Vec<Range>> = BTreeMap::new();
        for ((secret, _), ranges) in self.by_pair {
            out.entry(secret).or_default().extend(ranges);
        }
        for ranges in out.values_mut() {
            ranges.sort_by_key(|r| (r.from, r.until.is_none(), r.until));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: &str) -> SecretPath {
        SecretPath::parse(n).unwrap()
    }

    fn acc(pairs: &[(&str, &str)]) -> Access {
        pairs.iter().map(|(x, k)| (s(x), Some((*k).to_owned()))).collect()
    }

    fn range(from: usize, until: Option<usize>, key: &str) -> Range {
        Range { from, until, public_key: Some(key.to_owned()) }
    }

    /// Runs a history given as (access, parent indices) per commit, parents first.
    fn run(history: &[(Access, Vec<usize>)]) -> BTreeMap<SecretPath, Vec<Range>> {
        let mut r = Ranges::default();
        for (i, (now, parents)) in history.iter().enumerate() {
            let ps: Vec<&Access> = parents.iter().map(|p| &history[*p].0).collect();
            r.step(i, now, &ps);
        }
        r.finish()
    }

    #[test]
    fn linear_grant_then_revoke() {
        let h = vec![(acc(&[]), vec![]), (acc(&[("a", "k1")]), vec![0]), (acc(&[("a", "k1")]), vec![1]), (acc(&[]), vec![2])];
        assert_eq!(run(&h)[&s("a")], vec![range(1, Some(3), "k1")]);
    }

    #[test]
    fn a_new_key_starts_a_new_range() {
        let h = vec![(acc(&[("a", "k1")]), vec![]), (acc(&[("a", "k2")]), vec![0])];
        assert_eq!(run(&h)[&s("a")], vec![range(0, Some(1), "k1"), range(1, None, "k2")]);
    }

    #[test]
    fn a_revoke_on_a_side_branch_merged_away_keeps_the_range_open() {
        // 0 grant; 1 main (readable); 2 side revoke (parent 0); 3 merge keeps access.
        let h = vec![(acc(&[("a", "k")]), vec![]), (acc(&[("a", "k")]), vec![0]), (acc(&[]), vec![0]), (acc(&[("a", "k")]), vec![1, 2])];
        assert_eq!(run(&h)[&s("a")], vec![range(0, None, "k")]);
    }

    #[test]
    fn a_revoke_merged_in_ends_at_the_merge() {
        let h = vec![(acc(&[("a", "k")]), vec![]), (acc(&[("a", "k")]), vec![0]), (acc(&[]), vec![0]), (acc(&[]), vec![1, 2])];
        assert_eq!(run(&h)[&s("a")], vec![range(0, Some(3), "k")]);
    }

    #[test]
    fn access_only_on_a_side_branch_ends_at_the_merge() {
        // 0 base; 1 main; 2 side grants (parent 0); 3 merge drops it.
        let h = vec![(acc(&[]), vec![]), (acc(&[]), vec![0]), (acc(&[("a", "k")]), vec![0]), (acc(&[]), vec![1, 2])];
        assert_eq!(run(&h)[&s("a")], vec![range(2, Some(3), "k")]);
    }

    #[test]
    fn policy_or_metadata_grants_access() {
        use crate::vault::events::SecretFiles;
        use crate::vault::{GroupName, Manifest, Meta, OwnerName, Timestamp};
        use std::sync::Arc;
        let ci = AgentName::parse("ci").unwrap();
        let mut m = Manifest::new(OwnerName::parse("o").unwrap(), "owner.pub");
        m.add_agent(ci.clone());
        m.add_secret(&s("p/x"), &GroupName::parse("p").unwrap());
        m.grant(&ci, &GroupName::parse("p").unwrap());
        let mut meta = Meta::new(s("q/y"), GroupName::parse("q").unwrap(), Timestamp::from_unix(0));
        meta.set_agents([ci.clone()]);
        let mut snap = Snapshot { manifest: Some(Arc::new(m)), ..Snapshot::default() };
        snap.agent_keys.insert(ci.clone(), "age1ci".to_owned());
        snap.secrets.insert(s("p/x"), SecretFiles { enc: Some("1".into()), meta: None });
        snap.secrets.insert(s("q/y"), SecretFiles { enc: Some("2".into()), meta: Some(Arc::new(meta)) });
        snap.secrets.insert(s("p/z"), SecretFiles { enc: None, meta: None });
        assert_eq!(access(&snap, &ci), acc(&[("p/x", "age1ci"), ("q/y", "age1ci")]));
    }
}
