use std::sync::Arc;

use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::mcp::{self, Config, Who};
use crate::ui::Ui;

/// Serve the vault to an AI agent over MCP (stdio)
///
/// Tools: agent_vault_get (a value; disabled by --no-reveal), agent_vault_list (metadata),
/// agent_vault_run (run a command with secrets in its environment; its output comes back masked),
/// agent_vault_whoami (which key, its groups, what it may read). The key (--key, else
/// AGENT_VAULT_KEY, else ~/.agent-vault/owner.key) is read once at start and held in memory; the
/// vault is read again on every call, so a revoke applies at once. Every call is appended to
/// ~/.agent-vault/audit.log (JSON lines: time, agent, tool, secret paths, outcome; never a value).
/// stdout carries only the protocol; messages go to stderr.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Never return secret values: agent_vault_get answers with a hint to use agent_vault_run
    #[arg(long)]
    pub no_reveal: bool,
}

pub fn cmd_mcp(ctx: &Ctx, args: &McpArgs) -> Result<u8> {
    let opts = ctx.options(None);
    let (identity, key_source) = opts.identity()?;
    let audit_log = opts.env.key_home()?.join("audit.log");
    let warn_ui = Ui::new(false, ctx.cli.quiet);
    let warn: mcp::Warn = Arc::new(move |msg: &str| warn_ui.warn(msg));
    let start = std::path::absolute(ctx.start_dir()).map_err(|e| crate::error::Error::io("cannot resolve the directory", e))?;
    let server = mcp::server(Config { start, identity, key_source, no_reveal: args.no_reveal, audit_log, warn })?;
    let who = match server.who() {
        Who::Unknown => "a key that is neither an agent nor an owner of the vault here".to_owned(),
        w => w.label(),
    };
    let reveal = if args.no_reveal { ", values never revealed (--no-reveal)" } else { "" };
    ctx.ui.info(&format!("git-vault MCP server on stdio, serving {who}{reveal}"));
    mcp::serve(server)?;
    Ok(EXIT_OK)
}
