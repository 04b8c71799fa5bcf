//! The MCP server's local audit log: one JSON line per tool call, appended to
//! `~/.agent-vault/audit.log` (file 0600, directory 0700). A line names the time, the key's
//! holder, the tool, the secret paths, the outcome and the vault — never a value, never a
//! command line (which could carry one).

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::store;
use crate::vault::Timestamp;

/// One line of the log (field order is the format).
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub time: String,
    /// The agent the key belongs to, `owner:NAME`, or `unknown`.
    pub agent: String,
    /// The public key (age1…) of the key in use.
    pub recipient: String,
    pub tool: String,
    pub secrets: Vec<String>,
    /// `ok`, `denied` (not authorized, or a refused reveal) or `error`.
    pub outcome: &'static str,
    /// The error's name (e.g. `SecretNotFoundError`) when the outcome is not `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
}

impl Entry {
    pub fn new(tool: &str, secrets: Vec<String>) -> Entry {
        Entry {
            time: Timestamp::now().to_seconds_string(),
            agent: "unknown".into(),
            recipient: String::new(),
            tool: tool.into(),
            secrets,
            outcome: "ok",
            error: None,
            vault: None,
        }
    }
}

/// The open log file; writes are serialised, one `write` per line.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    /// Opens (or creates) the log for appending, with private permissions.
    pub fn open(path: &Path) -> Result<AuditLog> {
        let dir = path.parent().ok_or_else(|| Error::internal("the audit log has no directory"))?;
        store::create_dir(dir, 0o700).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io(format!("cannot open the audit log {}", path.display()), e))?;
        file.set_permissions(Permissions::from_mode(0o600)).map_err(|e| Error::io(format!("cannot restrict {}", path.display()), e))?;
        let dir_mode = fs::metadata(dir).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o700);
        if dir_mode & 0o077 != 0 {
            let _ = fs::set_permissions(dir, Permissions::from_mode(0o700));
        }
        Ok(AuditLog { path: path.to_owned(), file: Mutex::new(file) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line.
    pub fn record(&self, entry: &Entry) -> Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(|e| Error::internal(e.to_string()))?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(&line).map_err(|e| Error::io(format!("cannot write the audit log {}", self.path.display()), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_private_json_lines() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("home/.agent-vault/audit.log");
        let log = AuditLog::open(&path).unwrap();
        let mut e = Entry::new("agent_vault_get", vec!["a/b".into()]);
        e.outcome = "denied";
        e.error = Some("NotAuthorizedError");
        log.record(&e).unwrap();
        log.record(&Entry::new("agent_vault_list", vec![])).unwrap();
        drop(log);
        AuditLog::open(&path).unwrap().record(&Entry::new("agent_vault_whoami", vec![])).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["error"], "NotAuthorizedError");
        assert_eq!(lines[2]["tool"], "agent_vault_whoami");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    }
}
