use std::path::PathBuf;

use clap::Args;
use secrecy::{ExposeSecret, SecretSlice};

use super::Ctx;
use crate::error::{EXIT_OK, Error, Result};
use crate::ops::secrets::{self, Expiry, SetRequest};
use crate::vault::{AgentName, GroupName, SecretPath, Timestamp};

/// Encrypt and store a secret
///
/// The value is read from stdin when neither VALUE nor --from-file is given (without echo on a
/// terminal). Bytes are stored exactly; binary values are fine. A VALUE on the command line works
/// but shows in process lists and shell history. The group of a new secret is --group, else the
/// first segment of PATH when it has a '/', else "default".
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Path of the secret, e.g. stripe/api-key
    pub path: String,
    /// The value (visible in process lists and shell history: prefer stdin)
    pub value: Option<String>,
    /// Read the value from FILE (exact bytes)
    #[arg(long, value_name = "FILE", conflicts_with = "value")]
    pub from_file: Option<PathBuf>,
    /// Put the secret in GROUP
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Expiry: RFC 3339 (2026-12-31T00:00:00Z), a date (2026-12-31), a duration (90d, 12h, 4w),
    /// or "never" to clear it
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    /// Make these agents readers of this secret (comma-separated; '' clears the list)
    #[arg(long, value_name = "A,B")]
    pub agents: Option<String>,
    #[command(flatten)]
    pub commit: super::CommitArgs,
}

/// Parses `--expires`.
pub fn parse_expiry(raw: &str, now: Timestamp) -> Result<Expiry> {
    let raw = raw.trim();
    if raw.is_empty() || raw == "never" {
        return Ok(Expiry::Clear);
    }
    if let Some((n, unit)) = raw.split_at_checked(raw.len() - 1)
        && let Ok(n) = n.parse::<i64>()
    {
        let secs = match unit {
            "h" => 3600,
            "d" => 86400,
            "w" => 7 * 86400,
            _ => 0,
        };
        if secs > 0 && n > 0 {
            return Ok(Expiry::At(now.offset(n.saturating_mul(secs))));
        }
    }
    let full = if raw.len() == 10 { format!("{raw}T00:00:00Z") } else { raw.to_owned() };
    Timestamp::parse(&full)
        .map(Expiry::At)
        .map_err(|_| Error::invalid_input(format!("invalid --expires {raw:?}: use RFC 3339, YYYY-MM-DD, a duration like 90d, or never")))
}

fn parse_agents(raw: &str) -> Result<Vec<AgentName>> {
    raw.split(',').map(str::trim).filter(|a| !a.is_empty()).map(|a| AgentName::parse(a).map_err(Error::from)).collect()
}

fn read_value(ctx: &Ctx, args: &SetArgs, path: &SecretPath) -> Result<SecretSlice<u8>> {
    if let Some(v) = &args.value {
        ctx.ui.warn("a value on the command line shows in process lists and shell history; prefer stdin or --from-file");
        return Ok(SecretSlice::from(v.as_bytes().to_vec()));
    }
    if let Some(file) = &args.from_file {
        let bytes = std::fs::read(file).map_err(|e| Error::io(format!("cannot read {}", file.display()), e))?;
        return Ok(SecretSlice::from(bytes));
    }
    ctx.ui.read_secret(&format!("Value for {path}: "))
}

pub fn cmd_set(ctx: &Ctx, args: &SetArgs) -> Result<u8> {
    let path = SecretPath::parse(&args.path)?;
    let group = args.group.as_deref().map(GroupName::parse).transpose()?;
    let agents = args.agents.as_deref().map(parse_agents).transpose()?;
    let opts = ctx.options(Some(&args.commit));
    let expires = args.expires.as_deref().map(|e| parse_expiry(e, opts.now)).transpose()?.unwrap_or(Expiry::Keep);
    let vault = ctx.vault()?;
    let value = read_value(ctx, args, &path)?;
    if value.expose_secret().is_empty() {
        return Err(crate::ui::empty_value());
    }
    let report = secrets::set(&vault, SetRequest { path, value, group, expires, agents }, &opts)?;
    if ctx.ui.json() {
        ctx.ui.out_json(&report)?;
        return Ok(EXIT_OK);
    }
    let readers = report.authorized_agents.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ");
    let verb = if report.created { "Added" } else { "Updated" };
    ctx.ui.info(&format!("{verb} {:?} in group {:?}; agents that can read it: [{readers}]", report.name.as_str(), report.group.as_str()));
    ctx.committed(&report.commit, &args.commit);
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_forms() {
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(parse_expiry("never", now).unwrap(), Expiry::Clear);
        assert_eq!(parse_expiry("2d", now).unwrap(), Expiry::At(Timestamp::parse("2026-01-03T00:00:00Z").unwrap()));
        assert_eq!(parse_expiry("2026-12-31", now).unwrap(), Expiry::At(Timestamp::parse("2026-12-31T00:00:00Z").unwrap()));
        assert!(parse_expiry("soon", now).is_err());
        assert!(parse_expiry("0d", now).is_err());
    }
}
