use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::agents;

/// List the agents and their groups
///
/// JSON: `[{"name": …, "groups": […]}]`, in manifest order.
#[derive(Debug, Args)]
pub struct ListAgentsArgs {}

pub fn cmd_list_agents(ctx: &Ctx, _args: &ListAgentsArgs) -> Result<u8> {
    let list = agents::list_agents(&ctx.vault()?)?;
    if ctx.ui.json() {
        ctx.ui.out_json(&list)?;
        return Ok(EXIT_OK);
    }
    for a in list {
        ctx.ui.out_line(&format!("{}\t{}", a.name, a.groups.join(",")))?;
    }
    Ok(EXIT_OK)
}
