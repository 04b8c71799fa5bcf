use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::secrets;
use crate::vault::GroupName;

/// List the secrets (metadata only, never values)
///
/// Every secret, nested paths too, sorted. JSON: an array of
/// `{"name", "group", "created", "rotated", "expires", "authorized_agents"}`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only the secrets of GROUP
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
}

pub fn cmd_list(ctx: &Ctx, args: &ListArgs) -> Result<u8> {
    let group = args.group.as_deref().map(GroupName::parse).transpose()?;
    let list = secrets::list(&ctx.vault()?, group.as_ref())?;
    if ctx.ui.json() {
        ctx.ui.out_json(&list)?;
        return Ok(EXIT_OK);
    }
    for s in list {
        let agents = s.authorized_agents.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(",");
        let expires = s.expires.map(|e| format!("\texpires {e}")).unwrap_or_default();
        ctx.ui.out_line(&format!("{}\t{}\t[{agents}]{expires}", s.name, s.group))?;
    }
    Ok(EXIT_OK)
}
