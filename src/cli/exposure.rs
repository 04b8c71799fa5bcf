//! `exposure`: every secret an agent could decrypt in the history, to rotate after a key leak.

use clap::Args;

use super::Ctx;
use crate::error::{EXIT_OK, Result};
use crate::ops::history::{self, CommitPoint, SecretExposure};
use crate::vault::AgentName;

/// List every secret an agent could decrypt at any point in the history
///
/// Walks every commit reachable from HEAD, oldest first. At each commit the agent counts as able
/// to decrypt a secret when the manifest lets it read the secret or the secret's metadata lists
/// it among `authorized_agents` (a ciphertext can be out of line with the policy after a crash
/// or a merge), so the answer errs on the side of more. Each range runs from the commit where
/// access began to the one where it ended ("still" while it lasts), with the agent's public key
/// at the time: a key replaced by `recover-agent` starts a new range.
///
/// After a key leak, rotate every listed secret at its source: revoking access is not rotation,
/// and old ciphertext stays readable in the git history.
///
/// JSON: `[{"secret", "ranges": [{"from": {"commit", "short", "date"}, "until": {…} | null,
/// "public_key"}], "currently_readable"}]`, sorted by secret.
#[derive(Debug, Args)]
pub struct ExposureArgs {
    /// Name of the agent (it may since have been removed)
    pub agent: String,
}

pub fn cmd_exposure(ctx: &Ctx, args: &ExposureArgs) -> Result<u8> {
    let agent = AgentName::parse(&args.agent)?;
    let list = history::exposure(&ctx.vault()?, &agent)?;
    if ctx.ui.json() {
        ctx.ui.out_json(&list)?;
        return Ok(EXIT_OK);
    }
    if list.is_empty() {
        ctx.ui.info(&format!("Agent {:?} could not decrypt any secret at any commit of this history.", agent.as_str()));
        return Ok(EXIT_OK);
    }
    for line in render(&list) {
        ctx.ui.out_line(&line)?;
    }
    ctx.ui.info(&format!(
        "Agent {:?} could decrypt these {} secrets. If its key leaked, rotate each of them at its source, \
         then `git vault set` the new value: revoking or replacing a key is not rotation, and the old \
         ciphertext stays in the git history.",
        agent.as_str(),
        list.len()
    ));
    Ok(EXIT_OK)
}

/// Per secret: its name (and whether it is readable now), then one line per range.
fn render(list: &[SecretExposure]) -> Vec<String> {
    let mut lines = Vec::new();
    for s in list {
        let now = if s.currently_readable { "  (readable now)" } else { "" };
        lines.push(format!("{}{now}", s.secret));
        for r in &s.ranges {
            let until = r.until.as_ref().map(show).unwrap_or_else(|| "still".to_owned());
            let key = r.public_key.as_deref().unwrap_or("no public key");
            lines.push(format!("    {} .. {until}  key {key}", show(&r.from)));
        }
    }
    lines
}

fn show(p: &CommitPoint) -> String {
    format!("{} ({})", p.short, p.date)
}
