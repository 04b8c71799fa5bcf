//! Three-way merge of vault documents as sets, against their merge base.
//!
//! Every membership (an owner, an agent, an agent's group, a group's secret, a per-secret
//! reader) is a flag merged on its own: when the two sides agree, that; otherwise the side that
//! changed it from the base wins. So a revoke (or a removal) on one side is never undone by the
//! other side keeping the base, and an addition on either side is kept. Values (an owner's key,
//! unknown fields) merge the same way, and both sides changing one value differently is a
//! conflict. Pure: no IO.

use std::collections::BTreeSet;

use super::manifest::{Agent, Extra, Group, Manifest, Owner};
use super::meta::Meta;
use super::names::{AgentName, SecretPath};

/// Both sides changed one value, differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collision;

/// The one rule: agree → that; one side unchanged → the other; both changed → conflict.
pub fn merge3<T: PartialEq + Clone>(base: Option<&T>, ours: Option<&T>, theirs: Option<&T>) -> Result<Option<T>, Collision> {
    if ours == theirs {
        Ok(ours.cloned())
    } else if ours == base {
        Ok(theirs.cloned())
    } else if theirs == base {
        Ok(ours.cloned())
    } else {
        Err(Collision)
    }
}

/// A membership flag: never conflicts, because with two values one side equals the base.
pub fn merge_flag(base: bool, ours: bool, theirs: bool) -> bool {
    if ours == theirs {
        ours
    } else if ours == base {
        theirs
    } else {
        ours
    }
}

/// Keys of `a` in order, then those of `b` not in `a`.
fn union_order<K: PartialEq + Clone>(a: impl IntoIterator<Item = K>, b: impl IntoIterator<Item = K>) -> Vec<K> {
    let mut out: Vec<K> = Vec::new();
    for k in a.into_iter().chain(b) {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// Merges unknown fields key by key; conflicting keys are reported.
fn merge_extra(base: Option<&Extra>, ours: &Extra, theirs: &Extra, what: &str, conflicts: &mut Vec<String>) -> Extra {
    let mut out = Extra::new();
    for key in union_order(ours.keys().cloned(), theirs.keys().cloned()) {
        let b = base.and_then(|e| e.get(&key));
        match merge3(b, ours.get(&key), theirs.get(&key)) {
            Ok(Some(v)) => {
                out.insert(key, v);
            }
            Ok(None) => {}
            Err(Collision) => conflicts.push(format!("{what}: field {key:?} was changed differently on both sides")),
        }
    }
    out
}

fn merge_set<T: Ord + Clone>(base: &BTreeSet<T>, ours: &BTreeSet<T>, theirs: &BTreeSet<T>) -> BTreeSet<T> {
    ours.union(theirs).chain(base.iter()).filter(|x| merge_flag(base.contains(x), ours.contains(x), theirs.contains(x))).cloned().collect()
}

/// Merges an ordered list of named entries: presence per name, then the entries themselves.
fn merge_entries<E: Clone, N: PartialEq + Clone>(
    base: &[E],
    ours: &[E],
    theirs: &[E],
    name: impl Fn(&E) -> N,
    mut merge_one: impl FnMut(Option<&E>, Option<&E>, Option<&E>) -> E,
) -> Vec<E> {
    let find = |list: &[E], n: &N| list.iter().find(|e| &name(e) == n).cloned();
    let names = union_order(ours.iter().map(&name), theirs.iter().map(&name));
    let mut out = Vec::new();
    for n in names {
        let (b, o, t) = (find(base, &n), find(ours, &n), find(theirs, &n));
        if merge_flag(b.is_some(), o.is_some(), t.is_some()) {
            out.push(merge_one(b.as_ref(), o.as_ref(), t.as_ref()));
        }
    }
    out
}

/// Merges two manifests against their base (None when the file was added on both sides).
pub fn merge_manifests(base: Option<&Manifest>, ours: &Manifest, theirs: &Manifest) -> Result<Manifest, Vec<String>> {
    let empty = Manifest {
        version: ours.version,
        owners: vec![],
        agents: vec![],
        groups: vec![],
        readers: Default::default(),
        extra: Extra::new(),
    };
    let base = base.unwrap_or(&empty);
    let mut conflicts = Vec::new();
    let owners =
        merge_entries(&base.owners, &ours.owners, &theirs.owners, |o| o.name.clone(), |b, o, t| merge_owner(b, o, t, &mut conflicts));
    let agents =
        merge_entries(&base.agents, &ours.agents, &theirs.agents, |a| a.name.clone(), |b, o, t| merge_agent(b, o, t, &mut conflicts));
    let groups =
        merge_entries(&base.groups, &ours.groups, &theirs.groups, |g| g.name.clone(), |b, o, t| merge_group(b, o, t, &mut conflicts));
    let mut readers = std::collections::BTreeMap::new();
    for s in union_order(ours.readers.keys().cloned(), theirs.readers.keys().cloned()).into_iter().chain(base.readers.keys().cloned()) {
        let set = |m: &Manifest| m.readers.get(&s).map(|v| v.iter().cloned().collect::<BTreeSet<AgentName>>()).unwrap_or_default();
        let merged = merge_set(&set(base), &set(ours), &set(theirs));
        if !merged.is_empty() {
            readers.insert(s, merged.into_iter().collect());
        }
    }
    let extra = merge_extra(Some(&base.extra), &ours.extra, &theirs.extra, "manifest", &mut conflicts);
    let version = ours.version.max(theirs.version);
    if conflicts.is_empty() { Ok(Manifest { version, owners, agents, groups, readers, extra }) } else { Err(conflicts) }
}

fn pick<'a, E>(o: Option<&'a E>, t: Option<&'a E>) -> &'a E {
    o.or(t).expect("a merged entry exists on at least one side")
}

fn merge_owner(b: Option<&Owner>, o: Option<&Owner>, t: Option<&Owner>, conflicts: &mut Vec<String>) -> Owner {
    let (Some(o), Some(t)) = (o, t) else { return pick(o, t).clone() };
    let key = merge3(b.map(|b| &b.public_key), Some(&o.public_key), Some(&t.public_key)).unwrap_or_else(|Collision| {
        conflicts.push(format!("owner {:?}: the key was changed differently on both sides", o.name.as_str()));
        None
    });
    let what = format!("owner {:?}", o.name.as_str());
    Owner {
        name: o.name.clone(),
        public_key: key.unwrap_or_else(|| o.public_key.clone()),
        extra: merge_extra(b.map(|b| &b.extra), &o.extra, &t.extra, &what, conflicts),
    }
}

fn merge_agent(b: Option<&Agent>, o: Option<&Agent>, t: Option<&Agent>, conflicts: &mut Vec<String>) -> Agent {
    let (Some(o), Some(t)) = (o, t) else { return pick(o, t).clone() };
    let set = |a: Option<&Agent>| a.map(|a| a.groups.iter().cloned().collect::<BTreeSet<_>>()).unwrap_or_default();
    let merged = merge_set(&set(b), &set(Some(o)), &set(Some(t)));
    let groups = union_order(o.groups.iter().cloned(), t.groups.iter().cloned()).into_iter().filter(|g| merged.contains(g)).collect();
    let what = format!("agent {:?}", o.name.as_str());
    Agent { name: o.name.clone(), groups, extra: merge_extra(b.map(|b| &b.extra), &o.extra, &t.extra, &what, conflicts) }
}

fn merge_group(b: Option<&Group>, o: Option<&Group>, t: Option<&Group>, conflicts: &mut Vec<String>) -> Group {
    let (Some(o), Some(t)) = (o, t) else { return pick(o, t).clone() };
    let set = |g: Option<&Group>| g.map(|g| g.secrets.iter().cloned().collect::<BTreeSet<SecretPath>>()).unwrap_or_default();
    let secrets = merge_set(&set(b), &set(Some(o)), &set(Some(t))).into_iter().collect();
    let what = format!("group {:?}", o.name.as_str());
    Group { name: o.name.clone(), secrets, extra: merge_extra(b.map(|b| &b.extra), &o.extra, &t.extra, &what, conflicts) }
}

/// Merges secret metadata. Never conflicts: `created` is the earliest, `rotated` the latest, a
/// group or expiry changed differently on both sides takes ours (resp. the later expiry).
/// `authorized_agents` is merged as a set; callers that know the merged policy replace it.
pub fn merge_meta(base: Option<&Meta>, ours: &Meta, theirs: &Meta) -> Meta {
    let mut ignored = Vec::new();
    let set = |m: Option<&Meta>| m.map(|m| m.authorized_agents.iter().cloned().collect::<BTreeSet<_>>()).unwrap_or_default();
    let agents = merge_set(&set(base), &set(Some(ours)), &set(Some(theirs)));
    let min_max = |a: Option<super::Timestamp>, b: Option<super::Timestamp>, max: bool| match (a, b) {
        (Some(a), Some(b)) => Some(if max { a.max(b) } else { a.min(b) }),
        (a, b) => a.or(b),
    };
    Meta {
        name: ours.name.clone(),
        group: merge3(base.map(|b| &b.group), Some(&ours.group), Some(&theirs.group)).ok().flatten().unwrap_or_else(|| ours.group.clone()),
        created: min_max(ours.created, theirs.created, false),
        rotated: min_max(ours.rotated, theirs.rotated, true),
        expires: merge3(base.map(|b| &b.expires), Some(&ours.expires), Some(&theirs.expires))
            .ok()
            .flatten()
            .unwrap_or_else(|| min_max(ours.expires, theirs.expires, true)),
        authorized_agents: agents.into_iter().collect(),
        extra: merge_extra(base.map(|b| &b.extra), &ours.extra, &theirs.extra, "meta", &mut ignored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::names::OwnerName;
    use crate::vault::policy;
    use proptest::prelude::*;

    use crate::vault::testing::{a, g, s};

    fn base() -> Manifest {
        crate::vault::testing::sample()
    }

    #[test]
    fn grant_on_one_side_and_revoke_on_the_other_both_apply() {
        let b = base();
        let mut ours = b.clone();
        ours.grant(&a("deploy"), &g("db"));
        let mut theirs = b.clone();
        theirs.revoke(&a("ci"), &g("stripe"));
        let m = merge_manifests(Some(&b), &ours, &theirs).unwrap();
        assert!(policy::readers_of(&m, &s("stripe/k")).is_empty(), "the revoke is not undone");
        assert_eq!(policy::readers_of(&m, &s("db/p")), [a("deploy")].into());
    }

    #[test]
    fn agents_and_secrets_added_on_both_sides_are_kept() {
        let b = base();
        let mut ours = b.clone();
        ours.add_agent(a("new1"));
        ours.add_secret(&s("stripe/two"), &g("stripe"));
        let mut theirs = b.clone();
        theirs.add_agent(a("new2"));
        theirs.add_secret(&s("ops/x"), &g("ops"));
        let m = merge_manifests(Some(&b), &ours, &theirs).unwrap();
        let names: Vec<&str> = m.agents.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["ci", "deploy", "new1", "new2"]);
        assert!(m.contains_secret(&s("stripe/two")) && m.contains_secret(&s("ops/x")));
    }

    #[test]
    fn a_removed_agent_stays_removed_even_if_the_other_side_granted_it() {
        let b = base();
        let mut ours = b.clone();
        ours.remove_agent(&a("ci"));
        let mut theirs = b.clone();
        theirs.grant(&a("ci"), &g("db"));
        let m = merge_manifests(Some(&b), &ours, &theirs).unwrap();
        assert!(m.agent(&a("ci")).is_none());
    }

    #[test]
    fn an_owner_key_changed_differently_is_a_conflict() {
        let b = base();
        let mut ours = b.clone();
        ours.owners[0].public_key = "age1ours".into();
        let mut theirs = b.clone();
        theirs.owners[0].public_key = "age1theirs".into();
        assert!(merge_manifests(Some(&b), &ours, &theirs).is_err());
    }

    fn arb_manifest() -> impl Strategy<Value = Manifest> {
        let agents = ["a0", "a1", "a2"];
        let groups = ["g0", "g1"];
        let secrets = ["g0/s", "g1/s", "g0/t"];
        (
            proptest::collection::vec(any::<bool>(), 3),
            proptest::collection::vec(any::<bool>(), 6),
            proptest::collection::vec(any::<bool>(), 6),
        )
            .prop_map(move |(has_agent, grants, listings)| {
                let mut m = Manifest::new(OwnerName::parse("o").unwrap(), "owner.pub");
                for (i, name) in agents.iter().enumerate() {
                    if has_agent[i] {
                        m.add_agent(a(name));
                        for (j, group) in groups.iter().enumerate() {
                            if grants[i * 2 + j] {
                                m.grant(&a(name), &g(group));
                            }
                        }
                    }
                }
                for (i, secret) in secrets.iter().enumerate() {
                    for (j, group) in groups.iter().enumerate() {
                        if listings[i * 2 + j] {
                            m.add_secret(&s(secret), &g(group));
                        }
                    }
                }
                m
            })
    }

    fn access(m: &Manifest) -> BTreeSet<(SecretPath, AgentName)> {
        policy::reader_map(m).into_iter().flat_map(|(s, agents)| agents.into_iter().map(move |a| (s.clone(), a))).collect()
    }

    /// Every membership flag: (agent, group) grants and (group, secret) listings.
    fn memberships(m: &Manifest) -> BTreeSet<(String, String)> {
        let grants = m.agents.iter().flat_map(|x| x.groups.iter().map(move |g| (format!("agent {}", x.name), g.to_string())));
        let listings = m.groups.iter().flat_map(|g| g.secrets.iter().map(move |s| (format!("group {}", g.name), s.to_string())));
        grants.chain(listings).collect()
    }

    proptest! {
        #[test]
        fn merging_is_symmetric_and_idempotent(b in arb_manifest(), o in arb_manifest(), t in arb_manifest()) {
            let m1 = merge_manifests(Some(&b), &o, &t).unwrap();
            let m2 = merge_manifests(Some(&b), &t, &o).unwrap();
            prop_assert_eq!(access(&m1), access(&m2));
            prop_assert_eq!(access(&merge_manifests(Some(&b), &o, &o).unwrap()), access(&o));
            prop_assert_eq!(access(&merge_manifests(Some(&b), &b, &t).unwrap()), access(&t));
            prop_assert_eq!(access(&merge_manifests(Some(&b), &o, &b).unwrap()), access(&o));
        }

        #[test]
        fn access_removed_on_either_side_stays_removed(b in arb_manifest(), o in arb_manifest(), t in arb_manifest()) {
            let m = merge_manifests(Some(&b), &o, &t).unwrap();
            let (fb, fo, ft, fm) = (memberships(&b), memberships(&o), memberships(&t), memberships(&m));
            for flag in &fm {
                prop_assert!(fo.contains(flag) || ft.contains(flag), "{:?} invented", flag);
            }
            for flag in fb.iter().filter(|f| !fo.contains(f) || !ft.contains(f)) {
                prop_assert!(!fm.contains(flag), "{:?} was removed on a side and came back", flag);
            }
        }
    }
}
