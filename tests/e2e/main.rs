//! End-to-end tests of git-vault: the built binary, real git, real age keys, in a hermetic
//! environment (temporary HOME, no system or global git config, fixed identities).

mod common;

mod access;
mod check_reconcile;
mod commit_object;
mod commits;
mod crash;
mod diff;
mod identity;
mod index;
mod interop;
mod legacy;
mod lifecycle;
mod man;
mod merge;
mod model;
mod names;
mod pull;
mod refs;
mod scan;
mod secrets;
