//! Helpers shared by the model's unit tests (compiled for tests only).

use super::manifest::Manifest;
use super::names::{AgentName, GroupName, OwnerName, SecretPath};

pub fn a(n: &str) -> AgentName {
    AgentName::parse(n).expect("a valid agent name in a test")
}

pub fn g(n: &str) -> GroupName {
    GroupName::parse(n).expect("a valid group name in a test")
}

pub fn s(n: &str) -> SecretPath {
    SecretPath::parse(n).expect("a valid secret path in a test")
}

pub fn o(n: &str) -> OwnerName {
    OwnerName::parse(n).expect("a valid owner name in a test")
}

/// Owner `o`; agents `ci` (granted `stripe`) and `deploy`; `stripe/k` in group `stripe` and
/// `db/p` in group `db`.
pub fn sample() -> Manifest {
    let mut m = Manifest::new(o("o"), "owner.pub");
    m.add_agent(a("ci"));
    m.add_agent(a("deploy"));
    m.add_secret(&s("stripe/k"), &g("stripe"));
    m.add_secret(&s("db/p"), &g("db"));
    m.grant(&a("ci"), &g("stripe"));
    m
}
