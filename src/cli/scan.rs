use std::path::PathBuf;

use clap::Args;

use super::Ctx;
use crate::error::{EXIT_NEGATIVE, EXIT_OK, Result};
use crate::ops::scan::{self, Target};

/// Scan for secrets: the staged changes (for the pre-commit hook) or files
///
/// Finds private keys, cloud and SaaS API tokens, JWTs, passwords assigned in config files and,
/// when an identity is at hand, the exact values of this vault's secrets (decrypted in memory
/// only). Findings show file, line, rule and a redacted excerpt, never the whole secret. Exit
/// status 1 when something is found. False positives: an `agent-vault:allow` comment on the line,
/// or `.agent-vault/scan-allow.yaml`. JSON: an array of `{"path", "line", "rule", "excerpt"}`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Scan what the next commit would contain (the index), not the work tree
    #[arg(long, conflicts_with = "paths")]
    pub staged: bool,
    /// Print SARIF 2.1.0 (for code-scanning dashboards); takes precedence over --json
    #[arg(long)]
    pub sarif: bool,
    /// Files or directories to scan (default: every tracked and untracked, not ignored file)
    pub paths: Vec<PathBuf>,
}

pub fn cmd_scan(ctx: &Ctx, args: &ScanArgs) -> Result<u8> {
    let target = if args.staged { Target::Staged } else { Target::Paths(args.paths.clone()) };
    let findings = scan::scan(&ctx.start_dir(), target, &ctx.options(None))?;
    let code = if findings.is_empty() { EXIT_OK } else { EXIT_NEGATIVE };
    if args.sarif {
        ctx.ui.out_json(&crate::scan::report::sarif(&findings, crate::scan::rules()))?;
        return Ok(code);
    }
    if ctx.ui.json() {
        ctx.ui.out_json(&findings)?;
        return Ok(code);
    }
    for f in &findings {
        ctx.ui.out_line(&format!("{}:{}: {}: {}", f.path, f.line, f.rule, f.excerpt))?;
    }
    if !findings.is_empty() {
        let what = if args.staged { " in the staged changes; the commit is blocked" } else { "" };
        ctx.ui.info(&format!("git-vault: {} possible secrets found{what}", findings.len()));
        ctx.ui.info("Move them into the vault (`git vault set`), or mark a false positive with an `agent-vault:allow` comment or in .agent-vault/scan-allow.yaml.");
    }
    Ok(code)
}
