use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::agents;
use crate::vault::AgentName;

/// Add an agent with its own keypair
///
/// Reuses `~/.agent-vault/agents/NAME.key` or creates it (0600); writes the agent's public key
/// and its key escrowed to the owners into the vault; commits. Prints the key file's path: give
/// that key to the agent (for example as AGENT_VAULT_KEY). Then `git vault grant NAME GROUP`.
#[derive(Debug, Args)]
pub struct AddAgentArgs {
    /// Name of the agent
    pub name: String,
    #[command(flatten)]
    pub commit: super::CommitArgs,
}

pub fn cmd_add_agent(ctx: &Ctx, args: &AddAgentArgs) -> Result<u8> {
    let name = AgentName::parse(&args.name)?;
    let vault = ctx.vault()?;
    let report = agents::add_agent(&vault, &name, &ctx.options(Some(&args.commit)))?;
    if ctx.ui.json() {
        ctx.ui.out_json(&report)?;
        return Ok(EXIT_OK);
    }
    let how = if report.key_created { "created" } else { "reused" };
    ctx.ui.info(&format!("Added agent {:?} ({}); its key ({how}) is at:", report.agent, report.public_key));
    ctx.ui.out_line(&report.key_file.display().to_string())?;
    ctx.committed(&report.commit, &args.commit);
    Ok(EXIT_OK)
}
