use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Ctx;
use crate::error::{EXIT_NEGATIVE, EXIT_OK, Result};
use crate::ops::drivers::merge::{self, Kind, Outcome, Sides};

/// Merge a vault file (used by git, not by people)
///
/// Git runs this as the `agent-vault-*` merge drivers with `%O %A %B %P` when both sides of a
/// merge changed one vault file: the manifest merges as sets, ciphertexts are decrypted, merged
/// by value and re-encrypted to the merged policy, metadata merges field by field. Exit status 1
/// is a conflict (for example the same secret given two different values), named on stderr.
#[derive(Debug, Args)]
#[command(hide = true)]
pub struct MergeDriverArgs {
    /// Which driver
    pub kind: DriverKind,
    /// The merge base's version (%O)
    pub base: PathBuf,
    /// Our version, replaced by the result (%A)
    pub ours: PathBuf,
    /// Their version (%B)
    pub theirs: PathBuf,
    /// The file's path in the repository (%P)
    pub path: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DriverKind {
    Manifest,
    Secret,
    Meta,
}

pub fn cmd_merge_driver(ctx: &Ctx, args: &MergeDriverArgs) -> Result<u8> {
    let kind = match args.kind {
        DriverKind::Manifest => Kind::Manifest,
        DriverKind::Secret => Kind::Secret,
        DriverKind::Meta => Kind::Meta,
    };
    let sides = Sides { base: args.base.clone(), ours: args.ours.clone(), theirs: args.theirs.clone(), path: args.path.clone() };
    match merge::merge(kind, &sides, &ctx.start_dir(), &ctx.options(None))? {
        Outcome::Clean { notes } => {
            for n in notes {
                ctx.ui.warn(&n);
            }
            Ok(EXIT_OK)
        }
        Outcome::Conflict(why) => {
            ctx.ui.warn(&format!("git-vault: CONFLICT: {why}"));
            Ok(EXIT_NEGATIVE)
        }
    }
}
