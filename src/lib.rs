//! git-vault: a Git-native, zero-trust credential manager for AI agents.
//!
//! Layers (dependencies point down): `cli` → `ops` → `store`, `git`, `keys`, `crypto` → `vault`.
//! `ui` is the only writer to stdout and stderr.
#![forbid(unsafe_code)]

pub mod cli;
pub mod crypto;
pub mod error;
pub mod git;
pub mod keys;
pub mod mcp;
pub mod ops;
pub mod run;
pub mod scan;
pub mod store;
pub mod ui;
pub mod vault;

pub use error::{Error, ErrorKind, Result};
