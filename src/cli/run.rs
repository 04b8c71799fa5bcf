use std::ffi::OsString;
use std::sync::Arc;

use clap::Args;

use super::Ctx;
use crate::error::Result;
use crate::run::{self, MIN_MASK_LEN, env, relay};
use crate::vault::GroupName;

/// Run a command with secrets in its environment, its output masked
///
/// Starts CMD directly (no shell) with this environment minus AGENT_VAULT_KEY, plus the secrets:
/// `--env VAR=PATH` sets VAR to one secret; `--group G` sets every secret of group G under a name
/// derived from its path (`stripe/api-key` → STRIPE_API_KEY). Every secret is decrypted before
/// CMD starts; a name used for two secrets, or a secret the key cannot read, is an error and
/// nothing runs.
///
/// CMD's stdout and stderr pass through a masker that replaces each value, and its base64,
/// percent-encoded and JSON-escaped forms, with `<redacted:PATH>` (values shorter than 4 bytes are
/// not masked; a warning names them). stdin is inherited; SIGINT, SIGTERM, SIGHUP, SIGQUIT,
/// SIGUSR1 and SIGUSR2 are forwarded. The exit status is CMD's, or 128+N when a signal N killed
/// it.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Set VAR to the value of the secret at PATH (repeatable)
    #[arg(long = "env", value_name = "VAR=PATH")]
    pub env: Vec<String>,
    /// Set every secret of GROUP, named after its path (repeatable)
    #[arg(long, value_name = "GROUP")]
    pub group: Vec<String>,
    /// Do not mask: CMD writes to this terminal directly
    #[arg(long)]
    pub no_mask: bool,
    /// The command and its arguments (after `--`)
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

pub fn cmd_run(ctx: &Ctx, args: &RunArgs) -> Result<u8> {
    let explicit = args.env.iter().map(|e| env::parse_env_arg(e)).collect::<Result<Vec<_>>>()?;
    let groups = args.group.iter().map(|g| GroupName::parse(g)).collect::<Result<Vec<_>, _>>()?;
    let vault = ctx.vault()?;
    let secrets = {
        let (identity, _) = ctx.options(None).identity()?;
        run::prepare(&vault, &identity, &explicit, &groups)?
    };
    if secrets.injections().is_empty() {
        ctx.ui.warn("no secrets to set: name some with --env VAR=PATH or --group GROUP");
    }
    let cmd = secrets.command(&args.command)?;
    let masker = (!args.no_mask).then(|| Arc::new(secrets.masker()));
    drop(secrets);
    for label in masker.iter().flat_map(|m| m.unmasked()) {
        ctx.ui.warn(&format!("the value of {label:?} is shorter than {MIN_MASK_LEN} bytes and is not masked"));
    }
    let (stdout, stderr) = ctx.ui.child_sinks();
    relay::run(cmd, masker, relay::Sinks { stdout: Box::new(stdout), stderr: Box::new(stderr) })
}
