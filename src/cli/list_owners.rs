use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::owners;

/// List the owners and their keys
///
/// JSON: `[{"name": …, "public_key": "age1…"}]`.
#[derive(Debug, Args)]
pub struct ListOwnersArgs {}

pub fn cmd_list_owners(ctx: &Ctx, _args: &ListOwnersArgs) -> Result<u8> {
    let list = owners::list_owners(&ctx.vault()?)?;
    if ctx.ui.json() {
        ctx.ui.out_json(&list)?;
        return Ok(EXIT_OK);
    }
    for o in list {
        ctx.ui.out_line(&format!("{}\t{}", o.name, o.public_key))?;
    }
    Ok(EXIT_OK)
}
