//! The rmcp glue: tool declarations (names, JSON schemas, annotations), the server's identity in
//! `initialize`, and the turn of every call into a tool result plus one audit line. Failures come
//! back as tool errors (`isError`) whose text starts with the error's name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData as McpError, ServerHandler, schemars, tool, tool_handler, tool_router};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use super::audit::{AuditLog, Entry};
use super::calls::{State, Who, error_name};
use crate::error::{Error, ErrorKind, Result};
use crate::run::capture::{self, Limits};

/// Default and largest `timeout_s` of `agent_vault_run`.
pub const DEFAULT_TIMEOUT_S: u64 = 60;
pub const MAX_TIMEOUT_S: u64 = 3600;
/// Bytes of each output stream `agent_vault_run` returns.
pub const MAX_OUTPUT: usize = 256 * 1024;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct GetArgs {
    /// Path of the secret, for example "stripe/api-key" (agent_vault_list shows them).
    pub secret: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ListArgs {
    /// Only the secrets of this group (optional).
    #[serde(default)]
    pub group: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct RunArgs {
    /// The program and its arguments, started directly without a shell, for example
    /// ["curl", "-sS", "-H", "Authorization: Bearer $TOKEN"] does NOT expand $TOKEN; use
    /// ["sh", "-c", "curl -sS -H \"Authorization: Bearer $TOKEN\" https://…"] for shell syntax.
    pub command: Vec<String>,
    /// Environment variables to set, each to the value of a secret: {"TOKEN": "github/token"}.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory; relative paths start at the directory the server runs in (the default).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Seconds before the command is stopped (SIGTERM, then SIGKILL); default 60, at most 3600.
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

/// The MCP server: the state loaded at start and the audit log.
#[derive(Clone)]
pub struct VaultServer {
    state: Arc<State>,
    audit: Arc<AuditLog>,
}

#[tool_router]
impl VaultServer {
    pub fn new(state: State, audit: AuditLog) -> VaultServer {
        VaultServer { state: Arc::new(state), audit: Arc::new(audit) }
    }

    #[tool(
        description = "Return the value of one secret from the git-vault. Prefer agent_vault_run, which \
            passes secrets to a command without showing them to you. Disabled when the server runs \
            with --no-reveal. Errors: SecretNotFoundError, NotAuthorizedError, VaultNotFoundError.",
        annotations(
            title = "Get a secret value",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn agent_vault_get(&self, Parameters(args): Parameters<GetArgs>) -> Result<CallToolResult, McpError> {
        let entry = Entry::new("agent_vault_get", vec![args.secret.clone()]);
        if self.state.no_reveal {
            return Ok(self.refuse_reveal(entry).await);
        }
        let secret = args.secret.clone();
        let (entry, result) = self.call(entry, move |s| s.get(&secret)).await;
        Ok(self.finish(entry, result.map(|v| value_result(&args.secret, v.expose_secret()))))
    }

    #[tool(
        description = "List the secrets of the git-vault: metadata only (name, group, created, rotated, \
            expires, authorized_agents), never values. Optionally only one group.",
        annotations(
            title = "List secrets",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn agent_vault_list(&self, Parameters(args): Parameters<ListArgs>) -> Result<CallToolResult, McpError> {
        let entry = Entry::new("agent_vault_list", Vec::new());
        let (entry, result) = self.call(entry, move |s| s.list(args.group.as_deref())).await;
        Ok(self.finish(entry, result.map(|list| CallToolResult::structured(json!({ "secrets": list })))))
    }

    #[tool(
        description = "Run a command with secrets in its environment and return its exit code and its \
            stdout/stderr, in which every secret value (also base64, URL- or JSON-encoded) is replaced by \
            <redacted:PATH>. The values never enter your context. The command is started directly (no \
            shell, stdin closed) and stopped after timeout_s seconds.",
        annotations(
            title = "Run a command with secrets",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn agent_vault_run(&self, Parameters(args): Parameters<RunArgs>) -> Result<CallToolResult, McpError> {
        let entry = Entry::new("agent_vault_run", args.env.values().cloned().collect());
        let (command, env, cwd) = (args.command.clone(), args.env.clone(), args.cwd.clone());
        let (entry, prepared) = self.call(entry, move |s| s.prepare_run(&command, &env, cwd.as_deref())).await;
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => return Ok(self.finish(entry, Err(e))),
        };
        let timeout = Duration::from_secs(args.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S).clamp(1, MAX_TIMEOUT_S));
        let limits = Limits { timeout, max_output: MAX_OUTPUT };
        let captured = capture::run(prepared.command, Arc::new(prepared.masker), limits).await;
        Ok(self.finish(entry, captured.map(|c| CallToolResult::structured(json!(c)))))
    }

    #[tool(
        description = "Tell which key this server holds: the agent (or owner) it belongs to, its groups, \
            the secrets it may read, the vault, and whether agent_vault_get may reveal values.",
        annotations(title = "Who am I", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn agent_vault_whoami(&self) -> Result<CallToolResult, McpError> {
        let entry = Entry::new("agent_vault_whoami", Vec::new());
        let (entry, result) = self.call(entry, |s| s.whoami()).await;
        Ok(self.finish(entry, result.map(|w| CallToolResult::structured(json!(w)))))
    }
}

impl VaultServer {
    /// Runs blocking vault work off the async thread; fills in who made the call.
    async fn call<T: Send + 'static>(&self, mut entry: Entry, op: impl FnOnce(&State) -> Result<T> + Send + 'static) -> (Entry, Result<T>) {
        let state = self.state.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let result = op(&state);
            let (who, vault) = state.who_now();
            (result, who, vault)
        })
        .await;
        entry.recipient = self.state.identity.recipient().to_string();
        match joined {
            Ok((result, who, vault)) => {
                entry.agent = who.label();
                entry.vault = vault;
                (entry, result)
            }
            Err(e) => (entry, Err(Error::internal(format!("the call failed: {e}")))),
        }
    }

    async fn refuse_reveal(&self, entry: Entry) -> CallToolResult {
        let (mut entry, _) = self.call(entry, |_| Ok(())).await;
        entry.outcome = "denied";
        entry.error = Some("RevealDisabledError");
        self.log(&entry);
        error_result(
            "RevealDisabledError",
            "this server runs with --no-reveal, so secret values are never returned",
            Some("use agent_vault_run with env {\"VAR\": \"secret/path\"} to run a command that uses the secret"),
            "not_authorized",
        )
    }

    /// Records the call and turns its result into what the client gets.
    fn finish(&self, mut entry: Entry, result: Result<CallToolResult>) -> CallToolResult {
        let out = match result {
            Ok(r) => r,
            Err(e) => {
                let name = error_name(&e);
                entry.outcome = if e.kind() == ErrorKind::NotAuthorized { "denied" } else { "error" };
                entry.error = Some(name);
                error_result(name, &e.full_message(), e.hint_text(), e.kind().as_str())
            }
        };
        self.log(&entry);
        out
    }

    fn log(&self, entry: &Entry) {
        if let Err(e) = self.audit.record(entry) {
            (self.state.warn)(&e.full_message());
        }
    }

    /// Whose key this is in the vault as it is now (for the startup message).
    pub fn who(&self) -> Who {
        self.state.who_now().0
    }
}

/// The value as text, or base64 in a JSON object when it is not UTF-8.
fn value_result(path: &str, value: &[u8]) -> CallToolResult {
    match std::str::from_utf8(value) {
        Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
        Err(_) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(value);
            CallToolResult::structured(json!({ "name": path, "value_base64": encoded }))
        }
    }
}

/// A tool error: `Name: message` (and the hint) as text, and the same as structured content.
fn error_result(name: &str, message: &str, hint: Option<&str>, kind: &str) -> CallToolResult {
    let text = match hint {
        Some(h) => format!("{name}: {message}\nhint: {h}"),
        None => format!("{name}: {message}"),
    };
    let mut r = CallToolResult::error(vec![ContentBlock::text(text)]);
    r.structured_content = Some(json!({ "error": { "type": name, "kind": kind, "message": message, "hint": hint } }));
    r
}

const INSTRUCTIONS: &str = "git-vault holds secrets (API keys, tokens, passwords) in the git repository, \
    encrypted to the keys allowed to read them. Use agent_vault_list to see the secrets, agent_vault_whoami \
    to see what this key may read, and agent_vault_run to run a command with secrets in its environment: \
    its output comes back with every value masked, so secrets never enter the conversation. \
    agent_vault_get returns a raw value and should be the last resort.";

#[tool_handler]
impl ServerHandler for VaultServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("git-vault", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}
