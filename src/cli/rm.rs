use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::secrets;
use crate::vault::SecretPath;

/// Delete a secret
///
/// Removes its ciphertext and metadata and its entries in the manifest, and commits. Its old
/// ciphertext stays in git history.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Path of the secret
    pub path: String,
    #[command(flatten)]
    pub commit: super::CommitArgs,
}

pub fn cmd_rm(ctx: &Ctx, args: &RmArgs) -> Result<u8> {
    let path = SecretPath::parse(&args.path)?;
    let report = secrets::rm(&ctx.vault()?, &path, &ctx.options(Some(&args.commit)))?;
    if ctx.ui.json() {
        ctx.ui.out_json(&report)?;
        return Ok(EXIT_OK);
    }
    ctx.ui.info(&format!("Removed {:?}", report.name.as_str()));
    ctx.committed(&report.commit, &args.commit);
    Ok(EXIT_OK)
}
