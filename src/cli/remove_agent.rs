use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::agents;
use crate::vault::AgentName;

/// Remove an agent and all its access
///
/// Drops the agent from the manifest (groups and per-secret readers), re-encrypts every secret it
/// could read without it, deletes its public key and escrow, commits, and lists the secrets it
/// could read: rotate them at their source, since old ciphertext stays in git history.
#[derive(Debug, Args)]
pub struct RemoveAgentArgs {
    /// Name of the agent
    pub name: String,
    #[command(flatten)]
    pub commit: super::CommitArgs,
}

pub fn cmd_remove_agent(ctx: &Ctx, args: &RemoveAgentArgs) -> Result<u8> {
    let name = AgentName::parse(&args.name)?;
    let vault = ctx.vault()?;
    let report = agents::remove_agent(&vault, &name, &ctx.options(Some(&args.commit)))?;
    if ctx.ui.json() {
        ctx.ui.out_json(&report)?;
        return Ok(EXIT_OK);
    }
    ctx.ui.info(&format!("Removed agent {:?}", report.agent));
    super::print_rotate(ctx, &report.rotate, &format!("Agent {:?}", report.agent))?;
    ctx.committed(&report.commit, &args.commit);
    Ok(EXIT_OK)
}
