use std::path::PathBuf;

use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::agents;
use crate::vault::AgentName;

/// Write an agent's key back from its escrow
///
/// Decrypts the agent's escrowed key with an owner key and writes it to FILE (created 0600;
/// an existing file is never overwritten).
#[derive(Debug, Args)]
pub struct RestoreAgentArgs {
    /// Name of the agent
    pub name: String,
    /// Where to write the key (must not exist)
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
}

pub fn cmd_restore_agent(ctx: &Ctx, args: &RestoreAgentArgs) -> Result<u8> {
    let name = AgentName::parse(&args.name)?;
    let vault = ctx.vault()?;
    let path = agents::restore_agent(&vault, &name, &args.to, &ctx.options(None))?;
    if ctx.ui.json() {
        ctx.ui.out_json(&serde_json::json!({ "agent": name, "key_file": path }))?;
    } else {
        ctx.ui.info(&format!("Restored the key of agent {:?} to {}", name.as_str(), path.display()));
    }
    Ok(EXIT_OK)
}
