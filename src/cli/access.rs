//! `grant` and `revoke`, the two halves of one access change.

use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::access::{self, AccessReport};
use crate::vault::{AgentName, GroupName};

/// Let an agent read the secrets of a group
///
/// Re-encrypts exactly the secrets whose readers change, and commits. Needs an owner key.
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// Name of the agent
    pub agent: String,
    /// Name of the group
    pub group: String,
    #[command(flatten)]
    pub commit: super::CommitArgs,
}

/// Take a group away from an agent
///
/// Re-encrypts exactly the secrets the agent can no longer read, commits, and lists them: the
/// agent may have kept their values, and old ciphertext stays in git history, so rotate them at
/// their source. Needs an owner key.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Name of the agent
    pub agent: String,
    /// Name of the group
    pub group: String,
    #[command(flatten)]
    pub commit: super::CommitArgs,
}

pub fn cmd_grant(ctx: &Ctx, args: &GrantArgs) -> Result<u8> {
    let (agent, group) = (AgentName::parse(&args.agent)?, GroupName::parse(&args.group)?);
    let report = access::grant(&ctx.vault()?, &agent, &group, &ctx.options(Some(&args.commit)))?;
    show(ctx, &report, "granted", &args.commit)
}

pub fn cmd_revoke(ctx: &Ctx, args: &RevokeArgs) -> Result<u8> {
    let (agent, group) = (AgentName::parse(&args.agent)?, GroupName::parse(&args.group)?);
    let report = access::revoke(&ctx.vault()?, &agent, &group, &ctx.options(Some(&args.commit)))?;
    show(ctx, &report, "revoked", &args.commit)
}

fn show(ctx: &Ctx, r: &AccessReport, verb: &str, commit: &super::CommitArgs) -> Result<u8> {
    if ctx.ui.json() {
        ctx.ui.out_json(r)?;
        return Ok(EXIT_OK);
    }
    let (agent, group) = (r.agent.as_str(), r.group.as_str());
    if !r.changed {
        ctx.ui.info(&format!("Nothing to do: {agent:?} was already {verb} {group:?}"));
        return Ok(EXIT_OK);
    }
    ctx.ui.info(&format!("{} {agent:?} access to {group:?}; re-encrypted {} secrets", capitalise(verb), r.reencrypted));
    super::print_rotate(ctx, &r.rotate, &format!("Agent {agent:?}"))?;
    ctx.committed(&r.commit, commit);
    Ok(EXIT_OK)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
