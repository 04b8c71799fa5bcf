//! The safe pull before a read: fast-forward only, from the upstream of the current branch, never
//! touching a work tree with uncommitted changes. Every problem is a warning for the caller to
//! show; reading then goes on with the local data.

use std::time::Duration;

use super::Repo;

/// What the pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullOutcome {
    /// No upstream configured (or a detached HEAD): nothing to do.
    NoUpstream,
    UpToDate,
    Updated,
    /// Not pulled; the message says why (offline, diverged, dirty work tree, …).
    Skipped(String),
}

/// The remote of the current branch's upstream, read from the config without spawning git.
fn upstream_remote(repo: &Repo) -> Option<String> {
    let r = repo.open().ok()?;
    let head = r.head_name().ok()??;
    let branch = head.shorten().to_string();
    let config = r.config_snapshot();
    let remote = config.string(format!("branch.{branch}.remote").as_str())?.to_string();
    config.string(format!("branch.{branch}.merge").as_str())?;
    Some(remote)
}

pub fn safe_pull(repo: &Repo, timeout: Duration) -> PullOutcome {
    let Some(remote) = upstream_remote(repo) else { return PullOutcome::NoUpstream };
    let status = repo.git().args(["status", "--porcelain", "--untracked-files=no"]).timeout(timeout).run();
    match status {
        Ok(out) if !out.stdout.is_empty() => {
            return PullOutcome::Skipped("the work tree has uncommitted changes, so it was not updated; reading the local vault".into());
        }
        Ok(_) => {}
        Err(e) => return PullOutcome::Skipped(format!("cannot check the work tree ({e}); reading the local vault")),
    }
    let before = head(repo);
    if let Err(e) = repo.git().args(["fetch", "--quiet", "--no-tags", &remote]).timeout(timeout).run() {
        return PullOutcome::Skipped(format!("cannot reach {remote:?} ({}); reading the local vault", first_line(&e.to_string())));
    }
    if let Err(e) = repo.git().args(["merge", "--ff-only", "--quiet", "@{upstream}"]).timeout(timeout).run() {
        return PullOutcome::Skipped(format!(
            "the branch cannot be fast-forwarded to its upstream ({}); reading the local vault",
            first_line(&e.to_string())
        ));
    }
    if head(repo) == before { PullOutcome::UpToDate } else { PullOutcome::Updated }
}

fn head(repo: &Repo) -> Option<String> {
    let out = repo.git().args(["rev-parse", "HEAD"]).run().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn first_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim()
}
