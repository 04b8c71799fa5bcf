use std::path::PathBuf;

use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::init;

/// Create a vault in a git repository
///
/// Creates `.agent-vault/` in the git work tree at DIR (default: the current directory), reuses
/// `~/.agent-vault/owner.key` or creates it (0600), installs the diff and merge drivers and the
/// pre-commit hook, and commits. Outside a git repository it fails and leaves nothing behind.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory of the git work tree to put the vault in
    pub dir: Option<PathBuf>,
    /// Name of the first owner (default: git's user.name when it is a valid name, else "owner")
    #[arg(long)]
    pub owner: Option<String>,
    #[command(flatten)]
    pub commit: super::CommitArgs,
}

pub fn cmd_init(ctx: &Ctx, args: &InitArgs) -> Result<u8> {
    let dir = match &args.dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => ctx.start_dir().join(d),
        None => ctx.start_dir(),
    };
    let report = init::init(&dir, args.owner.as_deref(), &ctx.options(Some(&args.commit)))?;
    if ctx.ui.json() {
        ctx.ui.out_json(&report)?;
    } else {
        ctx.ui.info(&format!("Initialized the vault in {} (owner {:?})", report.vault.display(), report.owner));
        let how = if report.owner_key_created { "created" } else { "reused" };
        ctx.ui.info(&format!("Owner key: {} ({how}); recipient {}", report.owner_key.display(), report.recipient));
        ctx.committed(&report.commit, &args.commit);
    }
    Ok(EXIT_OK)
}
