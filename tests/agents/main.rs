//! End-to-end tests of what agents use: `git vault run` (environment, masking, signals, exit
//! status) and `git vault mcp` (spoken to as raw JSON-RPC lines), through the built binary in the
//! hermetic environment of the e2e suite. Client tests with the real MCP SDKs are in tests/mcp/.

#[path = "../e2e/common.rs"]
mod common;

mod mcp;
mod run;

use std::path::Path;

use common::Env;

pub const STRIPE: &str = "sk_live_51RustAgentsTestValue0123456789";
pub const DB: &str = "p@ss w/rd\"+\u{e9}-agents";

/// A vault with an agent `ci` that may read `stripe/api-key` (group stripe) but not
/// `db/password` (group db).
pub fn agent_vault() -> Env {
    let env = Env::with_vault();
    env.ok(&["add-agent", "ci"]);
    env.set("stripe/api-key", STRIPE.as_bytes(), &[]);
    env.set("db/password", DB.as_bytes(), &["--group", "db"]);
    env.ok(&["grant", "ci", "stripe"]);
    env
}

/// The forms a value must never appear in: raw, base64 (both alphabets), URL- and JSON-encoded.
pub fn forms(value: &str) -> Vec<String> {
    use base64::Engine as _;
    let b = value.as_bytes();
    let json = serde_json::to_string(value).unwrap();
    vec![
        value.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(b),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
        b.iter().map(|c| if c.is_ascii_alphanumeric() { (*c as char).to_string() } else { format!("%{c:02X}") }).collect(),
        json[1..json.len() - 1].to_owned(),
    ]
}

pub fn assert_no_value(haystack: &[u8], values: &[&str], what: &str) {
    for v in values {
        for f in forms(v) {
            assert!(!haystack.windows(f.len()).any(|w| w == f.as_bytes()), "{f:?} leaked in {what}");
        }
    }
}

/// Every file under `dir` whose content holds `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    Env::snapshot(dir).into_iter().filter(|(_, data)| data.windows(needle.len()).any(|w| w == needle)).map(|(p, _)| p).collect()
}
