//! `log`: the access history of the vault, from git.

use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::history::{self, LogEvent};
use crate::vault::AgentName;

/// Show who changed which access, and when, newest first
///
/// Reads every commit reachable from HEAD and derives the events from what each commit changed
/// in `.agent-vault/` — not from commit messages: owners and agents added or removed, agent keys
/// replaced, groups granted or revoked, per-secret readers, secrets added, set to a new value,
/// re-encrypted or removed. A merge is compared with its first parent. A commit whose manifest
/// cannot be read is reported, and the policy before it stays in force.
///
/// JSON: an array, newest first, of `{"commit", "short", "author": {"name", "email"}, "date",
/// "kind", …}` with, as the kind needs, `"owner"`, `"agent"`, `"group"`, `"secret"`,
/// `"public_key"`, `"detail"`. Kinds: vault_created, manifest_unreadable, manifest_repaired,
/// owner_added, owner_key_changed, owner_removed, agent_added, agent_key_changed, agent_removed,
/// granted, revoked, secret_added, secret_listed, secret_unlisted, secret_rotated,
/// secret_reencrypted, secret_removed, reader_added, reader_removed, vault_removed, and with
/// `--agent` also access_gained and access_lost.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only events about AGENT, including the secrets it gained or lost through other changes
    /// (a secret added to one of its groups, a group it lost)
    #[arg(long, value_name = "AGENT")]
    pub agent: Option<String>,
}

pub fn cmd_log(ctx: &Ctx, args: &LogArgs) -> Result<u8> {
    let agent = args.agent.as_deref().map(AgentName::parse).transpose()?;
    let events = history::log(&ctx.vault()?, agent.as_ref())?;
    if ctx.ui.json() {
        ctx.ui.out_json(&events)?;
        return Ok(EXIT_OK);
    }
    for line in render(&events) {
        ctx.ui.out_line(&line)?;
    }
    Ok(EXIT_OK)
}

/// One header line per commit, then its events indented, a blank line between commits.
fn render(events: &[LogEvent]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut last: Option<&str> = None;
    for e in events {
        if last != Some(e.commit.as_str()) {
            if last.is_some() {
                lines.push(String::new());
            }
            lines.push(format!("{} {} {} <{}>", e.short, e.date, e.author.name, e.author.email));
            last = Some(&e.commit);
        }
        lines.push(format!("    {}", e.event));
    }
    lines
}
