//! Secret scanner: bytes in, findings out.
//!
//! This module owns detection only. It does **not** read git objects or files, walk trees,
//! decrypt the vault or print anything: the caller hands it `(path, bytes)` pairs (and, when an
//! identity is at hand, the vault's decrypted values as [`KnownValue`]s) and gets back
//! [`Finding`]s — path, 1-based line, rule id and a redacted excerpt — sorted by
//! `(path, line, rule)`. [`report::sarif`] renders them as SARIF 2.1.0.
//!
//! # Rules
//! [`rules()`] lists every rule id with a description: age identities (bech32 checksum
//! verified), PEM/PKCS#8/RSA/EC/DSA/OpenSSH/PGP private key blocks (a real base64 body is
//! required; also inside JSON/YAML/env strings and base64-encoded as in Kubernetes secrets),
//! AWS key ids and secret keys (the latter only within three lines of an AWS keyword and on a
//! line that says `secret` or near an access key id), GitHub
//! (classic tokens' CRC32 verified), GitLab, Slack, Stripe, OpenAI, Anthropic, Google, npm,
//! PyPI, SendGrid, Hugging Face and Azure storage keys, GCP service-account JSON, JWTs (header
//! must decode to JSON with `alg`), passwords in URLs, and the generic `generic-password` /
//! `generic-secret` rules for values assigned to secret-like names. Known vault values are
//! reported as `vault-secret:<secret path>`.
//!
//! # What is never reported
//! - files larger than [`ScanOptions::max_file_size`] (skipped whole, nothing reported);
//! - vault ciphertext: files starting with `age-encryption.org/v1` or an age armor header are
//!   skipped whole; armored blocks (`-----BEGIN AGE ENCRYPTED FILE-----`, PGP messages)
//!   inside other files are skipped;
//! - binary files (a NUL byte in the first 8 KiB): only *known vault values* are searched in
//!   them, since an exact vault value inside a binary is a real leak and cannot match by
//!   chance; the pattern rules are not run;
//! - placeholders and examples (`${VAR}`, `{{ var }}`, `<token>`, `changeme`, `xxxx`, values
//!   containing `example`/`dummy`/`fake`/`test-only`…), code expressions (`os.environ[…]`,
//!   `process.env.X`), references (`arn:…`, `op://…`), file paths, prose;
//! - in lock files (`package-lock.json`, `yarn.lock`, `Cargo.lock`, `go.sum`, …) and
//!   cryptographic test-vector files (`*test-vectors*`) the generic and AWS-secret rules are
//!   off; in minified bundles generic values must be string literals, and in program source
//!   (`.rs`, `.py`, `.js`, `.go`, …) a bare `name = value` is code, so only string literals
//!   and `name=value` inside a string (connection strings, URL query parameters) count;
//! - well-known published examples (AWS's `AKIAIOSFODNN7EXAMPLE`, the jwt.io token, Stripe's
//!   documented test key, the Azure storage emulator key) and values whose structural check
//!   fails (age bech32 or GitHub CRC32 mismatch), even when assigned to a secret-like name.
//!
//! # Excerpts
//! The finding's line with every detected secret on it masked, trimmed to about 80 characters
//! around the finding. A masked secret keeps its first 4 characters followed by `****` when it
//! is at least 16 characters long and is not a password or vault value (for provider tokens
//! that is just the public prefix, e.g. `ghp_****`); otherwise it is `****` alone.
//!
//! # Allowlist (`.agent-vault/scan-allow.yaml`)
//! ```yaml
//! version: 1                     # optional
//! paths:                         # files to skip entirely (globs)
//!   - "docs/**"                  #   `*` one segment, `**` any depth, `?` one char;
//!   - glob: "*.pem"              #   no `/` = matches any path component;
//!     reason: throwaway TLS keys #   trailing `/` = everything below
//! rules:                         # rule ids to disable, everywhere or under some paths
//!   - generic-password
//!   - id: jwt
//!     paths: ["web/fixtures/**"]
//!     reason: signed test tokens
//!   - vault-secret               # all vault values (or `vault-secret:<path>` for one)
//! values:                        # exact detected secrets that are known fakes
//!   - "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
//!   - value: "…"
//!     reason: published demo key
//! regexes:                       # regexes (Rust syntax, ASCII classes) searched in the secret
//!   - regex: "^AKIA[A-Z2-7]{12}TEST$"
//!     reason: our test-account key ids
//! ```
//! Every list accepts a bare string or a mapping with an optional `reason`. Unknown keys,
//! unknown rule ids and invalid globs/regexes are errors. The inline marker
//! `agent-vault:allow` anywhere on a line suppresses the findings reported on that line.

mod allow;
mod checks;
mod engine;
mod generic;
mod known;
pub mod report;
mod rules;

#[cfg(test)]
mod corpus_tests;

use std::sync::OnceLock;

use rayon::iter::{IntoParallelIterator, ParallelIterator};
use secrecy::SecretBox;
use serde::{Deserialize, Serialize};

pub use allow::Allowlist;
pub use known::MIN_KNOWN_LEN;
pub use rules::RuleInfo;

use engine::{Engine, FileContext, Hit, RuleRef};
use known::KnownSet;
use rules::DEFS;

/// Default for [`ScanOptions::max_file_size`]: 10 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// The inline marker that suppresses findings on its line.
pub const INLINE_ALLOW_MARKER: &str = "agent-vault:allow";

/// Errors building a scanner or parsing an allowlist.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The allowlist YAML is malformed or refers to unknown rules.
    #[error("invalid scan allowlist: {0}")]
    Allowlist(String),
    /// A built-in rule pattern failed to compile (a bug).
    #[error("rule {rule} has an invalid pattern: {message}")]
    Rule { rule: &'static str, message: String },
    /// The keyword or known-value automaton could not be built.
    #[error("cannot build the scanner's matcher: {0}")]
    Matcher(String),
}

/// One vault secret to look for: its path in the vault and its decrypted value.
#[derive(Debug)]
pub struct KnownValue {
    /// The secret's path, e.g. `stripe/live-key`; findings are `vault-secret:<name>`.
    pub name: String,
    /// The exact value. Never copied into findings.
    pub value: SecretBox<[u8]>,
}

/// Scanner configuration.
#[derive(Debug)]
pub struct ScanOptions {
    pub allowlist: Allowlist,
    pub known_values: Vec<KnownValue>,
    /// Files larger than this many bytes are skipped (nothing reported).
    pub max_file_size: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self { allowlist: Allowlist::empty(), known_values: Vec::new(), max_file_size: DEFAULT_MAX_FILE_SIZE }
    }
}

/// One detected secret. Serializes as `{"path", "line", "rule", "excerpt"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub path: String,
    /// 1-based line number.
    pub line: usize,
    pub rule: String,
    /// The line with the secret(s) redacted, trimmed to about 80 characters.
    pub excerpt: String,
}

/// The compiled scanner. Build once, share across threads (`Send + Sync`).
#[derive(Debug)]
pub struct Scanner {
    engine: Engine,
    known: KnownSet,
    allow: Allowlist,
    max_file_size: u64,
}

/// Every rule this scanner reports (ids and descriptions), `vault-secret` last.
pub fn rules() -> &'static [RuleInfo] {
    static INFOS: OnceLock<Vec<RuleInfo>> = OnceLock::new();
    INFOS.get_or_init(rules::infos)
}

/// Binary: a NUL byte in the first 8 KiB.
fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8192)].contains(&0)
}

/// Vault ciphertext: binary age (`age-encryption.org/v1`) or an age-armored file.
fn is_age_ciphertext(data: &[u8]) -> bool {
    let start = data.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(data.len());
    data.starts_with(b"age-encryption.org/v1\n") || data[start..].starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
}

impl Scanner {
    /// Compiles the rules, the keyword automaton and the known-value matcher.
    pub fn new(opts: ScanOptions) -> Result<Scanner, ScanError> {
        Ok(Scanner {
            engine: Engine::new()?,
            known: KnownSet::new(&opts.known_values)?,
            allow: opts.allowlist,
            max_file_size: opts.max_file_size,
        })
    }

    /// True if `path` is skipped by the allowlist (callers may avoid reading it).
    pub fn skips_path(&self, path: &str) -> bool {
        self.allow.skips_path(path)
    }

    /// The size limit above which files are skipped.
    pub fn max_file_size(&self) -> u64 {
        self.max_file_size
    }

    /// Scans one file's bytes. `path` is used for the allowlist, file-type heuristics and
    /// the findings; it is never opened.
    pub fn scan_bytes(&self, path: &str, data: &[u8]) -> Vec<Finding> {
        let too_big = u64::try_from(data.len()).map_or(true, |n| n > self.max_file_size);
        if too_big || self.allow.skips_path(path) || is_age_ciphertext(data) {
            return Vec::new();
        }
        let mut hits = Vec::new();
        self.known.scan(data, &mut hits);
        if !is_binary(data) {
            self.engine.scan(data, FileContext::from_path(path), &mut hits);
        }
        if hits.is_empty() {
            return Vec::new();
        }
        self.finish(path, data, hits)
    }

    /// Scans many files in parallel (rayon); findings sorted by `(path, line, rule)`.
    pub fn scan_all<I>(&self, files: I) -> Vec<Finding>
    where
        I: IntoParallelIterator<Item = (String, Vec<u8>)>,
    {
        let mut all: Vec<Finding> = files.into_par_iter().flat_map_iter(|(p, d)| self.scan_bytes(&p, &d)).collect();
        sort_findings(&mut all);
        all
    }

    fn rule_id(&self, r: RuleRef) -> &str {
        match r {
            RuleRef::Def(i) => DEFS[i].id,
            RuleRef::Known(i) => self.known.rule_id(i),
        }
    }

    fn is_generic(r: RuleRef) -> bool {
        matches!(r, RuleRef::Def(i) if DEFS[i].kind == rules::Kind::Generic)
    }

    /// Dedup, overlap suppression, allowlist, line numbers and excerpts.
    fn finish(&self, path: &str, data: &[u8], mut hits: Vec<Hit>) -> Vec<Finding> {
        hits.sort_by_key(|h| (h.anchor, h.start, h.end, h.rule));
        hits.dedup_by(|a, b| a.start == b.start && a.end == b.end && self.rule_id(a.rule) == self.rule_id(b.rule));
        let specific = SpanIndex::new(hits.iter().filter(|h| !Self::is_generic(h.rule)).map(|h| (h.start, h.end, false)));
        hits.retain(|h| !Self::is_generic(h.rule) || specific.overlapping(h.start, h.end).next().is_none());
        hits.retain(|h| !self.suppressed(path, data, h));
        let masks = SpanIndex::new(hits.iter().filter(|h| h.end > h.start).map(|h| (h.start, h.end, self.shows_prefix(h))));
        let mut lines = LineCounter { data, pos: 0, line: 1 };
        let mut out: Vec<Finding> = hits
            .iter()
            .map(|h| {
                let line = lines.line_of(h.anchor);
                let excerpt = excerpt(data, h, &masks);
                Finding { path: path.to_string(), line, rule: self.rule_id(h.rule).to_string(), excerpt }
            })
            .collect();
        sort_findings(&mut out);
        out.dedup();
        out
    }

    /// Allowlisted rule or value, or an inline `agent-vault:allow` on the reported line.
    fn suppressed(&self, path: &str, data: &[u8], h: &Hit) -> bool {
        if self.allow.rule_disabled(self.rule_id(h.rule), path) {
            return true;
        }
        if self.allow.has_value_rules() && self.allow.value_allowed(&data[h.start..h.end]) {
            return true;
        }
        let (ls, le) = engine::line_bounds(data, h.anchor);
        engine::find(&data[ls..le], INLINE_ALLOW_MARKER.as_bytes()).is_some()
    }

    /// Whether the masked form may keep the first 4 characters (not passwords, vault values).
    fn shows_prefix(&self, h: &Hit) -> bool {
        match h.rule {
            RuleRef::Known(_) => false,
            RuleRef::Def(i) => !matches!(DEFS[i].id, "generic-password" | "url-credentials"),
        }
    }
}

/// The reported line with every hit on it masked, trimmed around this hit.
fn excerpt(data: &[u8], this: &Hit, masks: &SpanIndex) -> String {
    let (ls, le) = engine::line_bounds(data, this.anchor);
    let spans = masks.overlapping(ls, le).map(|&(s, e, prefix)| (s.max(ls), e.min(le), prefix));
    let target = this.start.clamp(ls, le);
    let mut out = String::new();
    let (mut cursor, mut focus) = (ls, None);
    for (s, e, prefix) in spans {
        if e <= cursor {
            continue;
        }
        let s = s.max(cursor);
        if focus.is_none() && target <= s {
            focus = Some(out.chars().count() + char_len(&data[cursor..target.max(cursor)]));
        }
        push_text(&mut out, &data[cursor..s]);
        push_text(&mut out, redact(&data[s..e], prefix));
        out.push_str("****");
        cursor = e;
    }
    if focus.is_none() {
        focus = Some(out.chars().count() + char_len(&data[cursor..target.max(cursor)]));
    }
    push_text(&mut out, &data[cursor..le]);
    trim_around(&out, focus.unwrap_or(0))
}

/// Secret spans sorted by start, for overlap queries in O(log n + k).
struct SpanIndex {
    spans: Vec<(usize, usize, bool)>,
    max_len: usize,
}

impl SpanIndex {
    fn new(spans: impl Iterator<Item = (usize, usize, bool)>) -> Self {
        let mut spans: Vec<_> = spans.collect();
        spans.sort_unstable();
        let max_len = spans.iter().map(|&(s, e, _)| e - s).max().unwrap_or(0);
        Self { spans, max_len }
    }

    /// Spans that overlap `[start, end)` (an empty range overlaps spans containing it).
    fn overlapping(&self, start: usize, end: usize) -> impl Iterator<Item = &(usize, usize, bool)> {
        let lo = self.spans.partition_point(|&(s, _, _)| s < start.saturating_sub(self.max_len));
        let hi = self.spans.partition_point(|&(s, _, _)| s < end.max(start + 1));
        self.spans[lo..hi].iter().filter(move |&&(s, e, _)| s < end.max(start + 1) && e > start)
    }
}

fn sort_findings(v: &mut [Finding]) {
    v.sort_by(|a, b| (&a.path, a.line, &a.rule, &a.excerpt).cmp(&(&b.path, b.line, &b.rule, &b.excerpt)));
}

/// Counts newlines incrementally; offsets must be non-decreasing.
struct LineCounter<'a> {
    data: &'a [u8],
    pos: usize,
    line: usize,
}

impl LineCounter<'_> {
    fn line_of(&mut self, off: usize) -> usize {
        if off > self.pos {
            self.line += self.data[self.pos..off].iter().filter(|&&b| b == b'\n').count();
            self.pos = off;
        }
        self.line
    }
}

/// `abcd****` for secrets of 16+ characters when a prefix may be shown, else `****`.
fn redact(secret: &[u8], show_prefix: bool) -> &[u8] {
    if show_prefix && secret.len() >= 16 && secret[..4].iter().all(|b| b.is_ascii_graphic()) { &secret[..4] } else { b"" }
}

fn char_len(bytes: &[u8]) -> usize {
    String::from_utf8_lossy(bytes).chars().count()
}

fn push_text(out: &mut String, bytes: &[u8]) {
    out.extend(String::from_utf8_lossy(bytes).chars().map(|c| match c {
        '\t' => ' ',
        c if c.is_control() => '?',
        c => c,
    }));
}

/// Trims to about 80 characters around char index `focus`, marking cuts with `…`.
fn trim_around(s: &str, focus: usize) -> String {
    const WIDTH: usize = 80;
    let chars: Vec<char> = s.chars().collect();
    let lead = chars.iter().take_while(|c| c.is_whitespace()).count();
    let focus = focus.max(lead);
    let end_all = chars.len() - chars.iter().rev().take_while(|c| c.is_whitespace()).count();
    let mut start = lead.max(focus.saturating_sub(24));
    let end = (start + WIDTH).min(end_all);
    start = start.min(end.saturating_sub(WIDTH)).max(lead);
    let mut out = String::new();
    if start > lead {
        out.push('…');
    }
    out.extend(&chars[start..end]);
    if end < end_all {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner() -> Scanner {
        Scanner::new(ScanOptions::default()).expect("scanner")
    }

    fn kv(name: &str, v: &str) -> KnownValue {
        KnownValue { name: name.into(), value: SecretBox::new(v.as_bytes().to_vec().into_boxed_slice()) }
    }

    // Fake test vectors below are built at run time so this file holds no literal secret.
    fn fake_github_token() -> String {
        let body = "Zq7xL2mN9pR4tV6wQ8sY1uC3eG5iK7";
        let crc = checks::base62_6(checks::crc32(body.as_bytes()));
        format!("ghp_{body}{}", String::from_utf8_lossy(&crc))
    }

    #[test]
    fn finds_and_redacts() {
        let tok = fake_github_token();
        let text = format!("# config\nexport GITHUB_TOKEN={tok}\n");
        let f = scanner().scan_bytes("deploy.sh", text.as_bytes());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].line, f[0].rule.as_str()), (2, "github-token"));
        assert_eq!(f[0].excerpt, "export GITHUB_TOKEN=ghp_****");
        assert!(!f[0].excerpt.contains(&tok[4..10]));
    }

    #[test]
    fn inline_marker_and_allowlist() {
        let tok = fake_github_token();
        let text = format!("a = \"{tok}\" # agent-vault:allow\n");
        assert!(scanner().scan_bytes("a.py", text.as_bytes()).is_empty());
        let allow = Allowlist::from_yaml("rules: [github-token]").expect("yaml");
        let s = Scanner::new(ScanOptions { allowlist: allow, ..ScanOptions::default() }).expect("scanner");
        assert!(s.scan_bytes("a.py", format!("a = \"{tok}\"\n").as_bytes()).is_empty());
    }

    #[test]
    fn skips_ciphertext_binary_and_large() {
        let tok = fake_github_token();
        let s = scanner();
        assert!(s.scan_bytes("x.enc", format!("age-encryption.org/v1\n-> X25519 abc\n{tok}\n").as_bytes()).is_empty());
        assert!(s.scan_bytes("x.bin", format!("\0\0{tok}").as_bytes()).is_empty());
        let small = Scanner::new(ScanOptions { max_file_size: 10, ..ScanOptions::default() }).expect("scanner");
        assert!(small.scan_bytes("x.txt", tok.as_bytes()).is_empty());
    }

    #[test]
    fn known_values_everywhere_but_ciphertext() {
        let opts = ScanOptions { known_values: vec![kv("db/pass", "correct-horse-42")], ..ScanOptions::default() };
        let s = Scanner::new(opts).expect("scanner");
        let f = s.scan_bytes("dump.bin", b"\0\0\0correct-horse-42\0");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "vault-secret:db/pass");
        let f = s.scan_bytes("notes.md", b"the password is correct-horse-42, keep it safe");
        assert_eq!(f[0].excerpt, "the password is ****, keep it safe");
    }

    #[test]
    fn scan_all_sorts() {
        let tok = fake_github_token();
        let files = vec![("b.txt".to_string(), format!("x\n{tok}\n").into_bytes()), ("a.txt".to_string(), format!("{tok}\n").into_bytes())];
        let f = scanner().scan_all(files);
        assert_eq!(f.iter().map(|f| (f.path.as_str(), f.line)).collect::<Vec<_>>(), [("a.txt", 1), ("b.txt", 2)]);
    }

    #[test]
    fn every_secret_on_the_line_is_masked() {
        let tok = fake_github_token();
        let known = "correct-horse-42";
        let opts = ScanOptions { known_values: vec![kv("db/pass", known)], ..ScanOptions::default() };
        let s = Scanner::new(opts).expect("scanner");
        let line = format!("curl -u bot:{known} -H 'Authorization: token {tok}' https://api.acme.test\n");
        let f = s.scan_bytes("run.sh", line.as_bytes());
        assert!(f.len() >= 2, "{f:?}");
        for x in &f {
            assert!(!x.excerpt.contains(known) && !x.excerpt.contains(&tok[4..]), "{x:?}");
        }
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, known);
        let f = s.scan_bytes("secret.yaml", format!("data:\n  password: {b64}\n").as_bytes());
        assert_eq!((f[0].line, f[0].rule.as_str(), f[0].excerpt.as_str()), (2, "vault-secret:db/pass", "password: ****"));
    }

    #[test]
    fn escaped_pem_is_masked_to_the_end_of_the_key() {
        let body: String = (0..40).map(|i| ["MIIE", "q8Zr", "2LmX", "0pVt", "7KsW", "c4Nd"][i % 6]).collect();
        let line = format!("{{\"key\": \"-----BEGIN PRIVATE KEY-----\\n{body}\\n{body}\\n-----END PRIVATE KEY-----\\n\"}}\n");
        let f = scanner().scan_bytes("sa.json", line.as_bytes());
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(!f[0].excerpt.contains("q8Zr2LmX"), "{}", f[0].excerpt);
    }

    #[test]
    fn allowlisted_values_and_paths() {
        let tok = fake_github_token();
        let yaml = format!("paths: [\"docs/**\"]\nvalues:\n  - value: \"{tok}\"\n    reason: revoked demo token\n");
        let s =
            Scanner::new(ScanOptions { allowlist: Allowlist::from_yaml(&yaml).expect("yaml"), ..ScanOptions::default() }).expect("scanner");
        assert!(s.skips_path("docs/setup.md"));
        assert!(s.scan_bytes("docs/setup.md", tok.as_bytes()).is_empty());
        assert!(s.scan_bytes("src/a.env", format!("T={tok}").as_bytes()).is_empty());
    }

    #[test]
    fn excerpt_trimming() {
        let long = format!("{}KEY{}", "a".repeat(100), "b".repeat(100));
        let t = trim_around(&long, 100);
        assert!(t.starts_with('…') && t.ends_with('…'));
        assert!(t.contains("KEY"));
        assert_eq!(trim_around("  short  ", 0), "short");
    }

    #[test]
    fn rules_list_and_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Scanner>();
        assert!(rules().iter().any(|r| r.id == "age-secret-key"));
        assert_eq!(rules().last().map(|r| r.id), Some("vault-secret"));
    }
}
