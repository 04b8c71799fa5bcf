//! The MCP server (`git vault mcp`, SPEC §6) on stdio: the tools `agent_vault_get`,
//! `agent_vault_list`, `agent_vault_run` and `agent_vault_whoami`.
//!
//! `server` is the protocol glue (rmcp), `calls` what each tool does through `ops` and `run`,
//! `audit` the local log of every call. The key is read once by the caller and held in memory;
//! the vault is read again on every call. stdout carries the protocol and nothing else: messages
//! go through the `warn` callback (stderr).

mod audit;
mod calls;
mod server;

use std::path::PathBuf;

pub use audit::{AuditLog, Entry};
pub use calls::{State, Warn, Who, WhoAmI, error_name};
pub use server::VaultServer;

use rmcp::ServiceExt;

use crate::crypto::Identity;
use crate::error::{Error, Result};
use crate::keys::KeySource;

/// What `git vault mcp` starts the server with.
pub struct Config {
    /// Where the vault is looked for.
    pub start: PathBuf,
    pub identity: Identity,
    pub key_source: KeySource,
    pub no_reveal: bool,
    /// `~/.agent-vault/audit.log`.
    pub audit_log: PathBuf,
    pub warn: Warn,
}

/// The server, ready to serve: the audit log is open.
pub fn server(config: Config) -> Result<VaultServer> {
    let audit = AuditLog::open(&config.audit_log)?;
    let state = State::new(config.start, config.identity, config.key_source, config.no_reveal, config.warn);
    Ok(VaultServer::new(state, audit))
}

/// Serves MCP on stdin/stdout until the client closes the connection.
pub fn serve(server: VaultServer) -> Result<()> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Error::io("cannot start the MCP runtime", e))?;
    runtime.block_on(async move {
        let running =
            server.serve(rmcp::transport::stdio()).await.map_err(|e| Error::internal(format!("MCP initialisation failed: {e}")))?;
        running.waiting().await.map_err(|e| Error::internal(format!("the MCP server stopped: {e}")))?;
        Ok(())
    })
}
