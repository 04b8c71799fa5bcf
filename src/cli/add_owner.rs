use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::owners;
use crate::vault::OwnerName;

/// Add an owner: a key that can decrypt everything
///
/// Re-encrypts every secret and every escrowed agent key to the new set of owners. Needs an
/// owner key (--key, AGENT_VAULT_KEY or ~/.agent-vault/owner.key).
#[derive(Debug, Args)]
pub struct AddOwnerArgs {
    /// Name of the new owner
    pub name: String,
    /// The new owner's age recipient (age1…)
    pub recipient: String,
    #[command(flatten)]
    pub commit: super::CommitArgs,
}

pub fn cmd_add_owner(ctx: &Ctx, args: &AddOwnerArgs) -> Result<u8> {
    let name = OwnerName::parse(&args.name)?;
    let vault = ctx.vault()?;
    let report = owners::add_owner(&vault, &name, &args.recipient, &ctx.options(Some(&args.commit)))?;
    if ctx.ui.json() {
        ctx.ui.out_json(&report)?;
    } else {
        ctx.ui.info(&format!("Added owner {:?}; re-encrypted {} secrets", report.owner, report.reencrypted));
        ctx.committed(&report.commit, &args.commit);
    }
    Ok(EXIT_OK)
}
