use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::init;

/// Configure git for git-vault: diff and merge drivers, pre-commit secret scan
///
/// Writes the `diff.agent-vault` and `merge.agent-vault-*` driver configuration and the
/// pre-commit hook for this clone (honouring core.hooksPath; an existing hook keeps running,
/// chained after ours). Idempotent. With --global: for every repository of this user, through the
/// global git config and a global core.hooksPath whose other hooks run each repository's own.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Configure every repository of this user instead of this clone
    #[arg(long)]
    pub global: bool,
}

pub fn cmd_install(ctx: &Ctx, args: &InstallArgs) -> Result<u8> {
    let report = init::install(&ctx.start_dir(), args.global, &ctx.options(None))?;
    if let Some(hook) = &report.hook {
        ctx.ui.info(&format!("Installed the git-vault drivers and the pre-commit hook {}", hook.display()));
    }
    for chained in &report.chained {
        ctx.ui.info(&format!("The hook that was there runs after ours, from {}", chained.display()));
    }
    Ok(EXIT_OK)
}
