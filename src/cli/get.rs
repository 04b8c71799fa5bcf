use std::time::Duration;

use clap::Args;
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::{Vault, secrets};
use crate::vault::SecretPath;

/// Print a secret's value exactly, with no newline added
///
/// Before reading, fast-forwards the repository from its upstream when one is configured, never
/// touching a work tree with uncommitted changes; being offline is a warning. The identity is
/// --key, else AGENT_VAULT_KEY (a key value or a path), else ~/.agent-vault/owner.key.
/// JSON: `{"name": …, "value": …}`, or `"value_base64"` for a value that is not UTF-8.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Path of the secret
    pub path: String,
    /// Do not pull from the upstream first
    #[arg(long)]
    pub no_pull: bool,
}

pub fn cmd_get(ctx: &Ctx, args: &GetArgs) -> Result<u8> {
    let path = SecretPath::parse(&args.path)?;
    let vault: Vault = ctx.vault()?;
    let opts = ctx.options(None);
    let (identity, _) = opts.identity()?;
    if !args.no_pull
        && let Some(warning) = secrets::pull(&vault, pull_timeout())
    {
        ctx.ui.warn(&warning);
    }
    let value = secrets::get(&vault, &path, &identity)?;
    if !ctx.ui.json() {
        return ctx.ui.out_bytes(value.expose_secret()).map(|()| EXIT_OK);
    }
    let doc = match std::str::from_utf8(value.expose_secret()) {
        Ok(text) => serde_json::json!({ "name": path, "value": text }),
        Err(_) => {
            use base64::Engine as _;
            let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(value.expose_secret()));
            serde_json::json!({ "name": path, "value_base64": *encoded })
        }
    };
    ctx.ui.out_json(&doc)?;
    Ok(EXIT_OK)
}

fn pull_timeout() -> Duration {
    let secs = std::env::var("GIT_VAULT_PULL_TIMEOUT").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    Duration::from_secs(secs)
}
