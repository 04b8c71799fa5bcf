use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::owners;
use crate::vault::OwnerName;

/// Remove an owner
///
/// Re-encrypts every secret and every escrowed agent key to the remaining owners. The removed
/// key can still decrypt old ciphertext in git history: rotate what matters.
#[derive(Debug, Args)]
pub struct RemoveOwnerArgs {
    /// Name of the owner to remove
    pub name: String,
    #[command(flatten)]
    pub commit: super::CommitArgs,
}

pub fn cmd_remove_owner(ctx: &Ctx, args: &RemoveOwnerArgs) -> Result<u8> {
    let name = OwnerName::parse(&args.name)?;
    let vault = ctx.vault()?;
    let report = owners::remove_owner(&vault, &name, &ctx.options(Some(&args.commit)))?;
    if ctx.ui.json() {
        ctx.ui.out_json(&report)?;
    } else {
        ctx.ui.info(&format!("Removed owner {:?}; re-encrypted {} secrets", report.owner, report.reencrypted));
        ctx.committed(&report.commit, &args.commit);
    }
    Ok(EXIT_OK)
}
