use std::path::PathBuf;

use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Error, Result};
use crate::ops::drivers::textconv;

/// Show a vault file as metadata for `git diff` (used by git, not by people)
///
/// Git runs this as the textconv of the `agent-vault` diff driver. It prints the format, the
/// number of recipients and the size of a ciphertext and, when a key that decrypts it is at hand,
/// a keyed fingerprint of its value. It never prints plaintext or ciphertext bytes.
#[derive(Debug, Args)]
#[command(hide = true)]
pub struct TextconvArgs {
    /// The file git hands over (a temporary copy of the blob)
    pub file: PathBuf,
}

pub fn cmd_textconv(ctx: &Ctx, args: &TextconvArgs) -> Result<u8> {
    let bytes = std::fs::read(&args.file).map_err(|e| Error::io(args.file.display(), e))?;
    // git names its temporary copy `XXXXXX_<basename>`, so the suffix tells an escrow apart
    let escrow = args.file.to_string_lossy().ends_with(".escrow");
    let identity = ctx.options(None).identity().ok().map(|(id, _)| id);
    ctx.ui.out_bytes(textconv::render(&bytes, escrow, identity.as_ref()).as_bytes())?;
    Ok(EXIT_OK)
}
