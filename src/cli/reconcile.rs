use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::reconcile;

/// Bring the vault back in line with its manifest
///
/// After an interrupted command, a merge made without the drivers, or a hand edit: re-encrypts
/// whatever a deep check finds out of line, adopts ciphertext no group lists, drops entries whose
/// ciphertext is gone, removes leftovers of interrupted writes, and commits the vault. Idempotent.
/// Needs an owner key.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Run from the post-merge/post-rewrite hooks: only when a merge or rebase changed the vault
    #[arg(long)]
    pub after_merge: bool,
    #[command(flatten)]
    pub commit: super::CommitArgs,
}

pub fn cmd_reconcile(ctx: &Ctx, args: &ReconcileArgs) -> Result<u8> {
    let report = if args.after_merge {
        match reconcile::after_merge(&ctx.start_dir(), &ctx.options(Some(&args.commit)))? {
            Some(r) => r,
            None => return Ok(EXIT_OK),
        }
    } else {
        reconcile::reconcile(&ctx.vault()?, &ctx.options(Some(&args.commit)))?
    };
    if ctx.ui.json() {
        ctx.ui.out_json(&report)?;
        return Ok(EXIT_OK);
    }
    let list = |v: &[crate::vault::SecretPath]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    if !report.adopted.is_empty() {
        ctx.ui.info(&format!("Adopted into the manifest: {}", list(&report.adopted)));
    }
    if !report.dropped.is_empty() {
        ctx.ui.warn(&format!("dropped from the manifest (their ciphertext is gone): {}", list(&report.dropped)));
    }
    for f in &report.removed_files {
        ctx.ui.info(&format!("Removed {f}"));
    }
    for a in &report.repaired_agents {
        ctx.ui.info(&format!("Repaired the keys of agent {:?}", a.as_str()));
    }
    ctx.ui.info(&format!("Re-encrypted {} secrets", report.reencrypted.len()));
    for f in &report.unresolved {
        ctx.ui.warn(&format!("not repaired: {} [{}]", f.message, f.code));
    }
    ctx.committed(&report.commit, &args.commit);
    Ok(EXIT_OK)
}
