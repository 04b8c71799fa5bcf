//! Model-based property test of access control: random sequences of add-agent, remove-agent,
//! recover-agent, set, rm, grant, revoke, add-owner and remove-owner, run against a real vault
//! with real keys and checked after every step against a simple model: every ciphertext decrypts
//! with every owner key and with exactly the agent keys the model allows, and no other key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use git_vault::crypto::Identity;
use git_vault::git::commit::CommitMode;
use git_vault::keys::KeyEnv;
use git_vault::ops::{self, NoProgress, Options, Vault};
use git_vault::vault::{AgentName, GroupName, OwnerName, SecretPath, Timestamp};
use proptest::prelude::*;
use secrecy::ExposeSecret;

use crate::common::*;

const AGENTS: [&str; 3] = ["a0", "a1", "a2"];
const GROUPS: [&str; 3] = ["g0", "g1", "default"];
const PATHS: [&str; 4] = ["g0/s", "g1/s", "x", "g0/deep/s"];

#[derive(Debug, Clone)]
enum Op {
    AddAgent(usize),
    RemoveAgent(usize),
    RecoverAgent(usize),
    Set { path: usize, group: Option<usize>, agents: Option<Vec<usize>>, value: u8 },
    Rm(usize),
    Grant(usize, usize),
    Revoke(usize, usize),
    AddOwner,
    RemoveOwner(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize).prop_map(Op::AddAgent),
        1 => (0..3usize).prop_map(Op::RemoveAgent),
        1 => (0..3usize).prop_map(Op::RecoverAgent),
        4 => (0..4usize, proptest::option::of(0..3usize), proptest::option::of(proptest::collection::vec(0..3usize, 0..3)), any::<u8>())
            .prop_map(|(path, group, agents, value)| Op::Set { path, group, agents, value }),
        1 => (0..4usize).prop_map(Op::Rm),
        4 => (0..3usize, 0..3usize).prop_map(|(a, g)| Op::Grant(a, g)),
        2 => (0..3usize, 0..3usize).prop_map(|(a, g)| Op::Revoke(a, g)),
        1 => Just(Op::AddOwner),
        1 => (0..3usize).prop_map(Op::RemoveOwner),
    ]
}

#[derive(Default, Debug)]
struct Model {
    /// agent → (groups, recipient of its current key)
    agents: BTreeMap<String, (BTreeSet<String>, String)>,
    /// secret → (group, value, per-secret readers)
    secrets: BTreeMap<String, (String, Vec<u8>, BTreeSet<String>)>,
    groups: BTreeSet<String>,
    /// extra owners: name → key file (alice, the first owner, is never removed)
    owners: BTreeMap<String, PathBuf>,
    /// every key ever used, current or not: recipient → key file
    keys: BTreeMap<String, PathBuf>,
}

impl Model {
    fn readers(&self, secret: &str) -> BTreeSet<String> {
        let (group, _, extra) = &self.secrets[secret];
        self.agents
            .iter()
            .filter(|(name, (groups, _))| groups.contains(group) || extra.contains(*name))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

struct World {
    env: Env,
    vault: Vault,
    model: Model,
    owner_count: usize,
}

impl World {
    fn new() -> World {
        let env = Env::new();
        env.ok(&["init", "--owner", "alice"]);
        let vault = Vault::find(&env.repo).unwrap();
        let mut model = Model::default();
        let alice = recipient_of(&env.owner_key());
        model.keys.insert(alice, env.owner_key());
        World { env, vault, model, owner_count: 0 }
    }

    fn opts(&self) -> Options<'static> {
        Options {
            env: KeyEnv { agent_vault_key: None, home: Some(self.env.home.clone()) },
            key: None,
            now: Timestamp::now(),
            commit: CommitMode::Commit,
            lock_timeout: Duration::from_secs(10),
            progress: &NoProgress,
            on_lock_wait: &|| {},
        }
    }

    /// Applies the op to the vault and to the model; the vault must fail exactly when the model
    /// says the op is invalid.
    fn apply(&mut self, op: &Op) {
        let o = self.opts();
        let v = &self.vault;
        let m = &mut self.model;
        let agent = |i: usize| AgentName::parse(AGENTS[i]).unwrap();
        let group = |i: usize| GroupName::parse(GROUPS[i]).unwrap();
        match op {
            Op::AddAgent(i) => {
                let r = ops::agents::add_agent(v, &agent(*i), &o);
                assert_eq!(r.is_ok(), !m.agents.contains_key(AGENTS[*i]), "{op:?}: {:?}", r.err());
                if let Ok(r) = r {
                    m.keys.insert(r.public_key.clone(), r.key_file);
                    m.agents.insert(AGENTS[*i].into(), (BTreeSet::new(), r.public_key));
                }
            }
            Op::RemoveAgent(i) => {
                let r = ops::agents::remove_agent(v, &agent(*i), &o);
                assert_eq!(r.is_ok(), m.agents.contains_key(AGENTS[*i]), "{op:?}: {:?}", r.err());
                if r.is_ok() {
                    m.agents.remove(AGENTS[*i]);
                    for (_, _, extra) in m.secrets.values_mut() {
                        extra.remove(AGENTS[*i]);
                    }
                }
            }
            Op::RecoverAgent(i) => {
                let r = ops::agents::recover_agent(v, &agent(*i), None, &o);
                assert_eq!(r.is_ok(), m.agents.contains_key(AGENTS[*i]), "{op:?}: {:?}", r.err());
                if let Ok(r) = r {
                    m.keys.insert(r.public_key.clone(), r.key_file.clone());
                    if let Some(old) = &r.old_key_file {
                        let old_recipient = m.agents[AGENTS[*i]].1.clone();
                        m.keys.insert(old_recipient, old.clone());
                    }
                    m.agents.get_mut(AGENTS[*i]).unwrap().1 = r.public_key;
                }
            }
            Op::Set { path, group: g, agents, value } => self.set(*path, *g, agents.as_deref(), *value),
            Op::Rm(p) => {
                let r = ops::secrets::rm(v, &SecretPath::parse(PATHS[*p]).unwrap(), &o);
                assert_eq!(r.is_ok(), m.secrets.contains_key(PATHS[*p]), "{op:?}: {:?}", r.err());
                m.secrets.remove(PATHS[*p]);
            }
            Op::Grant(a, g) | Op::Revoke(a, g) => {
                let grant = matches!(op, Op::Grant(..));
                let r = if grant {
                    ops::access::grant(v, &agent(*a), &group(*g), &o)
                } else {
                    ops::access::revoke(v, &agent(*a), &group(*g), &o)
                };
                let valid = m.agents.contains_key(AGENTS[*a]) && m.groups.contains(GROUPS[*g]);
                assert_eq!(r.is_ok(), valid, "{op:?}: {:?}", r.err());
                if valid {
                    let groups = &mut m.agents.get_mut(AGENTS[*a]).unwrap().0;
                    if grant {
                        groups.insert(GROUPS[*g].into())
                    } else {
                        groups.remove(GROUPS[*g])
                    };
                }
            }
            Op::AddOwner => {
                self.owner_count += 1;
                let name = format!("owner{}", self.owner_count);
                let file = self.env.tmp.path().join(format!("{name}.key"));
                let recipient = keypair(&file);
                ops::owners::add_owner(v, &OwnerName::parse(&name).unwrap(), &recipient, &o).unwrap();
                m.keys.insert(recipient, file.clone());
                m.owners.insert(name, file);
            }
            Op::RemoveOwner(i) => {
                let Some(name) = m.owners.keys().nth(*i).cloned() else { return };
                ops::owners::remove_owner(v, &OwnerName::parse(&name).unwrap(), &o).unwrap();
                m.owners.remove(&name);
            }
        }
    }

    fn set(&mut self, path: usize, g: Option<usize>, agents: Option<&[usize]>, value: u8) {
        let opts = self.opts();
        let m = &mut self.model;
        let p = SecretPath::parse(PATHS[path]).unwrap();
        let agent_names: Option<Vec<AgentName>> = agents.map(|a| a.iter().map(|i| AgentName::parse(AGENTS[*i]).unwrap()).collect());
        let valid = agents.is_none_or(|a| a.iter().all(|i| m.agents.contains_key(AGENTS[*i])));
        let req = ops::secrets::SetRequest {
            path: p.clone(),
            value: secrecy::SecretSlice::from(vec![value, b'!']),
            group: g.map(|i| GroupName::parse(GROUPS[i]).unwrap()),
            expires: ops::secrets::Expiry::Keep,
            agents: agent_names,
        };
        let r = ops::secrets::set(&self.vault, req, &opts);
        assert_eq!(r.is_ok(), valid, "set {p}: {:?}", r.err());
        if !valid {
            return;
        }
        let group = match (g, m.secrets.get(PATHS[path])) {
            (Some(i), _) => GROUPS[i].to_owned(),
            (None, Some((old, _, _))) => old.clone(),
            (None, None) => p.default_group().to_string(),
        };
        let readers = match (agents, m.secrets.get(PATHS[path])) {
            (Some(a), _) => a.iter().map(|i| AGENTS[*i].to_owned()).collect(),
            (None, Some((_, _, old))) => old.clone(),
            (None, None) => BTreeSet::new(),
        };
        m.groups.insert(group.clone());
        m.secrets.insert(PATHS[path].to_owned(), (group, vec![value, b'!'], readers));
    }

    /// Every ciphertext decrypts with exactly the keys the model allows.
    fn verify(&self) {
        let m = &self.model;
        let mut owners: BTreeSet<String> = m.owners.values().map(|f| recipient_of(f)).collect();
        owners.insert(recipient_of(&self.env.owner_key()));
        for (secret, (_, value, _)) in &m.secrets {
            let allowed: BTreeSet<String> = m.readers(secret).iter().map(|a| m.agents[a].1.clone()).chain(owners.iter().cloned()).collect();
            let path = SecretPath::parse(secret).unwrap();
            for (recipient, file) in &m.keys {
                let id = git_vault::keys::load(file, "test key").unwrap();
                let got = ops::secrets::get(&self.vault, &path, &id);
                match got {
                    Ok(v) => {
                        assert!(allowed.contains(recipient), "{secret}: a key outside the policy decrypts it");
                        assert_eq!(v.expose_secret(), &value[..]);
                    }
                    Err(e) => {
                        assert!(!allowed.contains(recipient), "{secret}: an allowed key cannot decrypt it: {}", e.full_message());
                        assert_eq!(e.kind(), git_vault::ErrorKind::NotAuthorized);
                    }
                }
            }
        }
        let listed: BTreeSet<String> = ops::secrets::list(&self.vault, None).unwrap().into_iter().map(|s| s.name.to_string()).collect();
        assert_eq!(listed, m.secrets.keys().cloned().collect());
    }
}

fn recipient_of(file: &std::path::Path) -> String {
    let id: Identity = git_vault::keys::load(file, "key").unwrap();
    id.recipient().to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 64, ..ProptestConfig::default() })]
    #[test]
    fn access_matches_the_model_after_every_step(ops in proptest::collection::vec(op(), 1..14)) {
        let mut world = World::new();
        for op in &ops {
            world.apply(op);
            world.verify();
        }
        world.env.ok(&["check", "--deep"]);
    }
}
