//! The allowlist (`.agent-vault/scan-allow.yaml`): paths to skip, rules to disable, and
//! known-fake values. The format is documented in the module doc of `scan`.

use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use super::ScanError;
use super::rules::is_known_id;

/// Parsed allowlist. Build with [`Allowlist::from_yaml`] or [`Allowlist::empty`].
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    paths: Vec<Glob>,
    rules: Vec<RuleAllow>,
    values: Vec<String>,
    regexes: Vec<Regex>,
}

#[derive(Clone, Debug)]
struct RuleAllow {
    id: String,
    paths: Vec<Glob>,
}

/// A path glob: `*` (within one segment), `**` (any depth), `?`; a pattern without `/`
/// matches any single path component (so `*.pem` or `testdata` match at any depth);
/// a trailing `/` means "everything below".
#[derive(Clone, Debug)]
struct Glob {
    pattern: Vec<u8>,
    component: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    paths: Vec<Entry<RawPath>>,
    #[serde(default)]
    rules: Vec<Entry<RawRule>>,
    #[serde(default)]
    values: Vec<Entry<RawValue>>,
    #[serde(default)]
    regexes: Vec<Entry<RawRegex>>,
}

/// Every list accepts a bare string or a mapping with a `reason`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Entry<T> {
    Plain(String),
    Full(T),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPath {
    glob: String,
    #[serde(default)]
    #[allow(dead_code)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValue {
    value: String,
    #[serde(default)]
    #[allow(dead_code)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegex {
    regex: String,
    #[serde(default)]
    #[allow(dead_code)]
    reason: Option<String>,
}

fn bad(msg: impl Into<String>) -> ScanError {
    ScanError::Allowlist(msg.into())
}

impl Allowlist {
    /// An allowlist that allows nothing.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses the YAML allowlist. Unknown keys, unknown rule ids, empty globs and invalid
    /// regexes are errors, so a typo never silently disables nothing (or everything).
    pub fn from_yaml(text: &str) -> Result<Self, ScanError> {
        if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---") {
            return Ok(Self::empty());
        }
        let raw: RawFile = serde_saphyr::from_str(text).map_err(|e| bad(e.to_string()))?;
        if raw.version.is_some_and(|v| v != 1) {
            return Err(bad("unsupported version (expected 1)"));
        }
        let paths = raw.paths.into_iter().map(|e| Glob::new(&e.into_path())).collect::<Result<_, _>>()?;
        let rules = raw.rules.into_iter().map(|e| e.into_rule()).collect::<Result<_, _>>()?;
        let values = raw.values.into_iter().map(Entry::into_value).collect::<Result<_, _>>()?;
        let regexes = raw.regexes.into_iter().map(Entry::into_regex).collect::<Result<_, _>>()?;
        Ok(Self { paths, rules, values, regexes })
    }

    /// True if the whole file is to be skipped.
    pub(crate) fn skips_path(&self, path: &str) -> bool {
        let p = normalize(path);
        self.paths.iter().any(|g| g.matches(p))
    }

    /// True if findings of `rule` (e.g. `jwt` or `vault-secret:db/pass`) are disabled in `path`.
    pub(crate) fn rule_disabled(&self, rule: &str, path: &str) -> bool {
        let p = normalize(path);
        self.rules.iter().any(|r| {
            let id_match = r.id == rule || (r.id == "vault-secret" && rule.starts_with("vault-secret:"));
            id_match && (r.paths.is_empty() || r.paths.iter().any(|g| g.matches(p)))
        })
    }

    /// True if the detected secret is a listed fake value or matches a listed regex.
    pub(crate) fn value_allowed(&self, secret: &[u8]) -> bool {
        self.values.iter().any(|v| v.as_bytes() == secret) || self.regexes.iter().any(|r| r.is_match(secret))
    }

    /// True if nothing is allowlisted by value (lets the engine skip the check).
    pub(crate) fn has_value_rules(&self) -> bool {
        !self.values.is_empty() || !self.regexes.is_empty()
    }
}

impl Entry<RawPath> {
    fn into_path(self) -> String {
        match self {
            Entry::Plain(s) => s,
            Entry::Full(p) => p.glob,
        }
    }
}

impl Entry<RawRule> {
    fn into_rule(self) -> Result<RuleAllow, ScanError> {
        let (id, paths) = match self {
            Entry::Plain(s) => (s, Vec::new()),
            Entry::Full(r) => (r.id, r.paths),
        };
        if !is_known_id(&id) {
            return Err(bad(format!("unknown rule id `{id}`")));
        }
        let paths = paths.iter().map(|p| Glob::new(p)).collect::<Result<_, _>>()?;
        Ok(RuleAllow { id, paths })
    }
}

impl Entry<RawValue> {
    fn into_value(self) -> Result<String, ScanError> {
        let v = match self {
            Entry::Plain(s) => s,
            Entry::Full(v) => v.value,
        };
        if v.is_empty() { Err(bad("empty value")) } else { Ok(v) }
    }
}

impl Entry<RawRegex> {
    fn into_regex(self) -> Result<Regex, ScanError> {
        let r = match self {
            Entry::Plain(s) => s,
            Entry::Full(r) => r.regex,
        };
        RegexBuilder::new(&r).unicode(false).size_limit(1 << 20).build().map_err(|e| bad(format!("invalid regex `{r}`: {e}")))
    }
}

fn normalize(path: &str) -> &str {
    let mut p = path;
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.trim_start_matches('/')
}

impl Glob {
    fn new(pattern: &str) -> Result<Self, ScanError> {
        let p = normalize(pattern.trim());
        if p.is_empty() {
            return Err(bad("empty path glob"));
        }
        let mut pat = p.as_bytes().to_vec();
        if pat.ends_with(b"/") {
            pat.extend_from_slice(b"**");
        }
        let component = !pat.contains(&b'/');
        Ok(Self { pattern: pat, component })
    }

    fn matches(&self, path: &str) -> bool {
        let s = normalize(path).as_bytes();
        if self.component { s.split(|&b| b == b'/').any(|c| glob_match(&self.pattern, c)) } else { glob_match(&self.pattern, s) }
    }
}

/// Backtracking glob matcher over bytes (`*`, `**`, `?`, literals).
fn glob_match(p: &[u8], s: &[u8]) -> bool {
    if let Some(rest) = p.strip_prefix(b"**/") {
        return glob_match(rest, s) || s.iter().enumerate().any(|(i, &b)| b == b'/' && glob_match(rest, &s[i + 1..]));
    }
    if let Some(rest) = p.strip_prefix(b"**") {
        return (0..=s.len()).any(|i| glob_match(rest, &s[i..]));
    }
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => {
            let stop = s.iter().position(|&b| b == b'/').unwrap_or(s.len());
            (0..=stop).any(|i| glob_match(&p[1..], &s[i..]))
        }
        Some(b'?') => s.first().is_some_and(|&b| b != b'/') && glob_match(&p[1..], &s[1..]),
        Some(&c) => s.first() == Some(&c) && glob_match(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = |p: &str, s: &str| Glob::new(p).expect("glob").matches(s);
        assert!(g("*.pem", "a/b/key.pem"));
        assert!(g("testdata", "x/testdata/y.txt"));
        assert!(g("docs/**", "docs/a/b.md"));
        assert!(g("docs/", "docs/a/b.md"));
        assert!(!g("docs/*", "docs/a/b.md"));
        assert!(g("docs/*", "docs/a.md"));
        assert!(g("**/fixtures/*.json", "fixtures/a.json"));
        assert!(g("**/fixtures/*.json", "x/y/fixtures/a.json"));
        assert!(!g("src/*.rs", "src/scan/mod.rs"));
        assert!(g("/src/?.rs", "./src/a.rs"));
    }

    #[test]
    fn parse_full_file() {
        let y = r#"
version: 1
paths:
  - "docs/**"
  - glob: "*.pem"
    reason: throwaway TLS keys
rules:
  - generic-password
  - id: jwt
    paths: ["web/fixtures/**"]
    reason: signed test tokens
  - vault-secret
values:
  - "not-a-secret-123456"
  - value: "other-fake-value"
    reason: demo
regexes:
  - "^sk_test_"
  - regex: "(?i)^demo-"
"#;
        let a = Allowlist::from_yaml(y).expect("parses");
        assert!(a.skips_path("docs/x.md"));
        assert!(a.skips_path("a/server.pem"));
        assert!(!a.skips_path("src/main.rs"));
        assert!(a.rule_disabled("generic-password", "src/x"));
        assert!(a.rule_disabled("jwt", "web/fixtures/a.json"));
        assert!(!a.rule_disabled("jwt", "web/app.js"));
        assert!(a.rule_disabled("vault-secret:db/password", "x"));
        assert!(a.value_allowed(b"not-a-secret-123456"));
        assert!(a.value_allowed(b"sk_test_abc"));
        assert!(!a.value_allowed(b"sk_live_abc"));
        assert!(a.value_allowed(b"DEMO-123"));
    }

    #[test]
    fn errors_and_empty() {
        assert!(Allowlist::from_yaml("").is_ok());
        assert!(Allowlist::from_yaml("# nothing\n").is_ok());
        assert!(Allowlist::from_yaml("rules: [no-such-rule]").is_err());
        assert!(Allowlist::from_yaml("path: [x]").is_err());
        assert!(Allowlist::from_yaml("regexes: ['(']").is_err());
        assert!(Allowlist::from_yaml("version: 2").is_err());
    }
}
