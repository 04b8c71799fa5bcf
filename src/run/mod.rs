//! Running a command with secrets in its environment (`git vault run`, MCP `agent_vault_run`):
//! which secrets under which names (`env`), the streaming masker (`mask`, over the encoded forms
//! of `forms`), the interactive child with signal forwarding (`relay`) and the captured child
//! with a timeout (`capture`).
//!
//! Plaintext stays in memory: in `secrecy`/`zeroize` buffers, in the child's environment, and in
//! the masker's automaton. It is never written to a file, a log, an error message or the child's
//! argv. Reading the vault goes through `ops`; printing is the caller's business.

pub mod capture;
pub mod env;
mod forms;
pub mod mask;
pub mod relay;

pub use env::{EnvSpec, Secrets};
pub use forms::MIN_MASK_LEN;

use crate::crypto::Identity;
use crate::error::Result;
use crate::ops::Vault;
use crate::vault::GroupName;

/// Plans the variables (explicit `VAR=path` and whole groups) and decrypts every secret, all
/// before anything runs.
pub fn prepare(vault: &Vault, identity: &Identity, explicit: &[EnvSpec], groups: &[GroupName]) -> Result<Secrets> {
    let manifest = if groups.is_empty() { None } else { Some(vault.load_policy()?) };
    let plan = env::plan(manifest.as_ref(), explicit, groups)?;
    Secrets::decrypt(vault, &plan, identity)
}
