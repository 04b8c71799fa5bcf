//! Known vault values: the exact secrets of the vault, searched verbatim and in standard and
//! URL-safe base64 (padded or not: the unpadded form is a prefix of the padded one).
//!
//! Values shorter than [`MIN_KNOWN_LEN`] bytes are skipped (too many false alarms). A value
//! ending in a newline is also searched without it. The derived search patterns are built in
//! zeroizing buffers; the Aho-Corasick automaton keeps its own copy for the scanner's lifetime
//! (it cannot be zeroized), which is no more exposure than the caller's decrypted values.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::engine::{Hit, RuleRef};
use super::{KnownValue, ScanError};

/// Known values shorter than this are not searched.
pub const MIN_KNOWN_LEN: usize = 8;

/// Search structure for the vault's values.
pub(crate) struct KnownSet {
    ac: Option<AhoCorasick>,
    /// Pattern index → (index into `rule_ids`, is a base64 form).
    pattern_owner: Vec<(usize, bool)>,
    /// `vault-secret:<name>` per known value.
    rule_ids: Vec<String>,
}

impl std::fmt::Debug for KnownSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownSet").field("rules", &self.rule_ids).finish_non_exhaustive()
    }
}

/// The forms searched for one value: raw (and without a trailing newline), base64 std/url.
/// The flag tells a base64 form (whose match may be followed by `=` padding).
fn forms(value: &[u8]) -> Vec<(Zeroizing<Vec<u8>>, bool)> {
    let mut raws: Vec<&[u8]> = vec![value];
    let trimmed = value.strip_suffix(b"\n").map(|v| v.strip_suffix(b"\r").unwrap_or(v));
    if let Some(t) = trimmed.filter(|t| t.len() >= MIN_KNOWN_LEN) {
        raws.push(t);
    }
    let mut out: Vec<(Zeroizing<Vec<u8>>, bool)> = Vec::new();
    for raw in raws {
        let std = Zeroizing::new(STANDARD_NO_PAD.encode(raw).into_bytes());
        let url = Zeroizing::new(URL_SAFE_NO_PAD.encode(raw).into_bytes());
        for (f, b64) in [(Zeroizing::new(raw.to_vec()), false), (std, true), (url, true)] {
            if !out.iter().any(|(o, _)| **o == *f) {
                out.push((f, b64));
            }
        }
    }
    out
}

impl KnownSet {
    pub(crate) fn new(values: &[KnownValue]) -> Result<Self, ScanError> {
        let mut patterns: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut pattern_owner = Vec::new();
        let mut rule_ids = Vec::new();
        for kv in values {
            let v = kv.value.expose_secret();
            if v.len() < MIN_KNOWN_LEN {
                continue;
            }
            for (f, b64) in forms(v) {
                patterns.push(f);
                pattern_owner.push((rule_ids.len(), b64));
            }
            rule_ids.push(format!("vault-secret:{}", kv.name));
        }
        let ac = if patterns.is_empty() {
            None
        } else {
            let built = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(patterns.iter().map(|p| p.as_slice()))
                .map_err(|e| ScanError::Matcher(e.to_string()))?;
            Some(built)
        };
        Ok(Self { ac, pattern_owner, rule_ids })
    }

    /// Rule id (`vault-secret:<name>`) of a known-value hit.
    pub(crate) fn rule_id(&self, idx: usize) -> &str {
        &self.rule_ids[idx]
    }

    /// Appends a hit for every occurrence of a known value in `data`.
    pub(crate) fn scan(&self, data: &[u8], out: &mut Vec<Hit>) {
        let Some(ac) = &self.ac else { return };
        for m in ac.find_iter(data) {
            let (owner, b64) = self.pattern_owner[m.pattern().as_usize()];
            let pad = if b64 { data[m.end()..].iter().take(2).take_while(|&&b| b == b'=').count() } else { 0 };
            out.push(Hit { start: m.start(), end: m.end() + pad, anchor: m.start(), rule: RuleRef::Known(owner) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretBox;

    fn kv(name: &str, v: &[u8]) -> KnownValue {
        KnownValue { name: name.into(), value: SecretBox::new(v.to_vec().into_boxed_slice()) }
    }

    #[test]
    fn finds_raw_and_base64_forms() {
        let set = KnownSet::new(&[kv("db/pass", b"hunter2-but-longer\n"), kv("short", b"abc")]).expect("builds");
        let data = format!(
            "a=hunter2-but-longer\nb={}\nc={}\n",
            base64::engine::general_purpose::STANDARD.encode(b"hunter2-but-longer"),
            URL_SAFE_NO_PAD.encode(b"hunter2-but-longer\n"),
        );
        let mut hits = Vec::new();
        set.scan(data.as_bytes(), &mut hits);
        assert_eq!(hits.len(), 3);
        assert!(hits.iter().all(|h| matches!(h.rule, RuleRef::Known(0))));
        assert_eq!(set.rule_id(0), "vault-secret:db/pass");
    }

    #[test]
    fn empty_set_finds_nothing() {
        let set = KnownSet::new(&[]).expect("builds");
        let mut hits = Vec::new();
        set.scan(b"anything", &mut hits);
        assert!(hits.is_empty());
    }
}
