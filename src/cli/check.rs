use clap::Args;

use super::Ctx;
use crate::error::{EXIT_NEGATIVE, EXIT_OK, Result};
use crate::ops::check;

/// Audit the vault
///
/// Reports expired and expiring (30 days) secrets, orphans, missing files, metadata that
/// disagrees with the manifest, ciphertext encrypted to the wrong number of keys, invalid names,
/// legacy locations and interrupted writes. --deep also decrypts with the owner key and every
/// escrowed agent key to prove each ciphertext is readable by exactly the keys the manifest
/// allows. Exit status 1 when there are errors. JSON: `{"errors": […], "warnings": […]}`, each
/// `{"code", "message", "secret"?, "agent"?, "file"?}`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Decrypt to prove who can read each secret (needs an owner key)
    #[arg(long)]
    pub deep: bool,
}

pub fn cmd_check(ctx: &Ctx, args: &CheckArgs) -> Result<u8> {
    let report = check::check(&ctx.vault()?, args.deep, &ctx.options(None))?;
    let code = if report.is_clean() { EXIT_OK } else { EXIT_NEGATIVE };
    if ctx.ui.json() {
        ctx.ui.out_json(&report)?;
        return Ok(code);
    }
    for f in &report.errors {
        ctx.ui.out_line(&format!("error: {} [{}]", f.message, f.code))?;
    }
    for f in &report.warnings {
        ctx.ui.out_line(&format!("warning: {} [{}]", f.message, f.code))?;
    }
    let (e, w) = (report.errors.len(), report.warnings.len());
    if e == 0 && w == 0 {
        ctx.ui.info(if args.deep { "The vault is in order (deep check)." } else { "The vault is in order." });
    } else {
        ctx.ui.info(&format!("{e} errors, {w} warnings"));
        if e > 0 {
            ctx.ui.info("`git vault reconcile` repairs what can be repaired.");
        }
    }
    Ok(code)
}
