use std::path::PathBuf;

use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::agents;
use crate::vault::AgentName;

/// Give an agent a new keypair after its key was lost or leaked
///
/// Creates a new key (the old key file, if any, is moved aside, never deleted), escrows it,
/// re-encrypts the agent's secrets to it and commits: the old key stops working for every
/// secret. Prints the new key's path. Rotate the listed secrets if the old key leaked.
#[derive(Debug, Args)]
pub struct RecoverAgentArgs {
    /// Name of the agent
    pub name: String,
    /// Write the new key here instead of ~/.agent-vault/agents/NAME.key (must not exist)
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,
    #[command(flatten)]
    pub commit: super::CommitArgs,
}

pub fn cmd_recover_agent(ctx: &Ctx, args: &RecoverAgentArgs) -> Result<u8> {
    let name = AgentName::parse(&args.name)?;
    let vault = ctx.vault()?;
    let report = agents::recover_agent(&vault, &name, args.to.as_deref(), &ctx.options(Some(&args.commit)))?;
    if ctx.ui.json() {
        ctx.ui.out_json(&report)?;
        return Ok(EXIT_OK);
    }
    if let Some(old) = &report.old_key_file {
        ctx.ui.info(&format!("The old key file was moved to {}", old.display()));
    }
    ctx.ui.info(&format!(
        "Agent {:?} has a new key ({}); re-encrypted {} secrets. The new key is at:",
        report.agent, report.public_key, report.reencrypted
    ));
    ctx.ui.out_line(&report.key_file.display().to_string())?;
    if !report.rotate.is_empty() {
        ctx.ui.info("If the old key leaked, rotate these secrets at their source:");
        for s in &report.rotate {
            ctx.ui.info(&format!("  {s}"));
        }
    }
    ctx.committed(&report.commit, &args.commit);
    Ok(EXIT_OK)
}
