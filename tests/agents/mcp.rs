//! `git vault mcp` spoken to as raw JSON-RPC lines: the handshake, nothing but protocol on
//! stdout, tool errors by name, masked run output, re-reading the vault on every call, the audit
//! log, and startup errors.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

use crate::common::*;
use crate::{DB, STRIPE, agent_vault, assert_no_value};

/// A running server and the lines it wrote.
struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Server {
    fn start(env: &Env, args: &[&str]) -> Server {
        Server::start_with(env, args, &env.agent_key("ci"))
    }

    fn start_with(env: &Env, args: &[&str], key: &std::path::Path) -> Server {
        let mut cmd = Command::new(BIN);
        hermetic(&mut cmd, &env.home);
        cmd.current_dir(&env.repo).arg("mcp").args(args).env("AGENT_VAULT_KEY", key);
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let (stdin, stdout) = (child.stdin.take().unwrap(), BufReader::new(child.stdout.take().unwrap()));
        let mut s = Server { child, stdin, stdout, next_id: 1 };
        let init = s.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "git-vault");
        assert_eq!(init["result"]["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
        s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        s
    }

    fn send(&mut self, msg: &Value) {
        writeln!(self.stdin, "{msg}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a request; every line until its answer must be JSON-RPC.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "the server closed stdout");
            let msg: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not protocol on stdout: {line:?}: {e}"));
            assert_eq!(msg["jsonrpc"], "2.0");
            if msg["id"] == json!(id) {
                return msg;
            }
        }
    }

    fn call(&mut self, tool: &str, args: Value) -> Value {
        let answer = self.request("tools/call", json!({"name": tool, "arguments": args}));
        answer["result"].clone()
    }

    fn stop(mut self) {
        drop(self.stdin);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the server ends cleanly when the client closes stdin");
    }
}

fn text(result: &Value) -> String {
    result["content"].as_array().unwrap().iter().filter_map(|c| c["text"].as_str()).collect()
}

fn is_error(result: &Value) -> bool {
    result["isError"] == json!(true)
}

#[test]
fn tools_are_listed_with_schemas_and_annotations() {
    let env = agent_vault();
    let mut s = Server::start(&env, &[]);
    let tools = s.request("tools/list", json!({}))["result"]["tools"].as_array().unwrap().clone();
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["agent_vault_get", "agent_vault_list", "agent_vault_run", "agent_vault_whoami"]);
    let tool = |n: &str| tools.iter().find(|t| t["name"] == n).unwrap().clone();
    assert_eq!(tool("agent_vault_get")["inputSchema"]["required"], json!(["secret"]));
    assert_eq!(tool("agent_vault_run")["inputSchema"]["required"], json!(["command"]));
    assert_eq!(tool("agent_vault_get")["annotations"]["readOnlyHint"], true);
    assert_eq!(tool("agent_vault_run")["annotations"]["destructiveHint"], true);
    assert_eq!(tool("agent_vault_run")["annotations"]["openWorldHint"], true);
    assert_eq!(tool("agent_vault_whoami")["annotations"]["openWorldHint"], false);
    s.stop();
}

#[test]
fn calls_answer_values_metadata_masked_runs_and_named_errors() {
    let env = agent_vault();
    let mut s = Server::start(&env, &[]);
    assert_eq!(text(&s.call("agent_vault_get", json!({"secret": "stripe/api-key"}))), STRIPE);
    let denied = s.call("agent_vault_get", json!({"secret": "db/password"}));
    assert!(is_error(&denied) && text(&denied).starts_with("NotAuthorizedError"), "{denied}");
    let missing = s.call("agent_vault_get", json!({"secret": "no/such"}));
    assert!(is_error(&missing) && text(&missing).starts_with("SecretNotFoundError"));
    let list = s.call("agent_vault_list", json!({"group": "stripe"}));
    assert_eq!(list["structuredContent"]["secrets"][0]["name"], "stripe/api-key");
    let me = s.call("agent_vault_whoami", json!({}));
    assert_eq!(me["structuredContent"]["agent"], "ci");
    assert_eq!(me["structuredContent"]["readable_secrets"], json!(["stripe/api-key"]));
    let run = s.call(
        "agent_vault_run",
        json!({"command": ["sh", "-c", "echo $K; printf %s \"$K\" | base64; echo $K >&2; exit 3"], "env": {"K": "stripe/api-key"}}),
    );
    assert_no_value(run.to_string().as_bytes(), &[STRIPE], "the run result");
    assert_eq!(run["structuredContent"]["exit_code"], 3);
    assert_eq!(run["structuredContent"]["stdout"], "<redacted:stripe/api-key>\n<redacted:stripe/api-key>\n");
    assert_eq!(run["structuredContent"]["stderr"], "<redacted:stripe/api-key>\n");
    s.stop();
}

#[test]
fn access_changes_apply_without_a_restart_and_every_call_is_audited() {
    let env = agent_vault();
    let mut s = Server::start(&env, &[]);
    let denied = s.call("agent_vault_get", json!({"secret": "db/password"}));
    assert!(is_error(&denied));
    env.ok(&["grant", "ci", "db"]);
    assert_eq!(text(&s.call("agent_vault_get", json!({"secret": "db/password"}))), DB);
    env.ok(&["revoke", "ci", "db"]);
    let again = s.call("agent_vault_get", json!({"secret": "db/password"}));
    assert!(is_error(&again) && text(&again).starts_with("NotAuthorizedError"));
    s.stop();
    let log = env.home.join(".agent-vault/audit.log");
    assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
    let content = std::fs::read(&log).unwrap();
    assert_no_value(&content, &[STRIPE, DB], "the audit log");
    let lines: Vec<Value> = String::from_utf8(content).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["denied", "ok", "denied"]);
    assert!(lines.iter().all(|l| l["agent"] == "ci" && l["tool"] == "agent_vault_get" && l["secrets"] == json!(["db/password"])));
}

#[test]
fn no_reveal_refuses_values_but_runs_commands() {
    let env = agent_vault();
    let mut s = Server::start(&env, &["--no-reveal"]);
    let refused = s.call("agent_vault_get", json!({"secret": "stripe/api-key"}));
    assert!(is_error(&refused) && text(&refused).starts_with("RevealDisabledError"));
    assert!(text(&refused).contains("agent_vault_run"));
    let run = s.call("agent_vault_run", json!({"command": ["printenv", "K"], "env": {"K": "stripe/api-key"}}));
    assert_eq!(run["structuredContent"]["stdout"], "<redacted:stripe/api-key>\n");
    s.stop();
}

#[test]
fn startup_needs_a_key_and_a_missing_vault_is_a_tool_error() {
    let env = agent_vault();
    let out = env.cmd(&["--json", "mcp", "--key", "/nonexistent/key"]).output().unwrap();
    assert_eq!((out.status.code(), error_kind(&out).as_str()), (Some(2), "no_identity"));
    assert!(out.stdout.is_empty(), "nothing but protocol on stdout");
    let elsewhere = env.tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let mut s = Server::start(&env, &["-C", elsewhere.to_str().unwrap()]);
    let none = s.call("agent_vault_list", json!({}));
    assert!(is_error(&none) && text(&none).starts_with("VaultNotFoundError"), "{none}");
    s.stop();
}

#[test]
fn whoami_knows_owners_and_strangers() {
    let env = agent_vault();
    let mut s = Server::start_with(&env, &[], &env.owner_key());
    let me = s.call("agent_vault_whoami", json!({}))["structuredContent"].clone();
    assert_eq!((me["owner"].as_str(), me["agent"].is_null()), (Some("alice"), true));
    assert_eq!(me["readable_secrets"], json!(["db/password", "stripe/api-key"]));
    s.stop();
    let stranger = env.tmp.path().join("stranger.key");
    keypair(&stranger);
    let mut s = Server::start_with(&env, &[], &stranger);
    let me = s.call("agent_vault_whoami", json!({}))["structuredContent"].clone();
    assert!(me["owner"].is_null() && me["agent"].is_null());
    assert_eq!(me["readable_secrets"], json!([]));
    s.stop();
}
