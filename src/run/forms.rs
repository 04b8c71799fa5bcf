//! The forms in which a secret value can show up in a program's output, so the masker can find
//! every one of them: the raw bytes (and the value without surrounding whitespace), base64
//! (standard and URL-safe alphabets, padded or not, standalone or embedded at any byte offset of
//! a larger encoded blob, as in `Authorization: Basic …`), percent-encoding (as RFC 3986,
//! `encodeURIComponent`, Python's `quote`/`quote_plus` and `URLSearchParams` write it, upper- or
//! lowercase hex) and JSON string escaping (minimal, ASCII-only, `\/`, Go's HTML-safe, upper- or
//! lowercase hex).
//!
//! Pure functions from bytes to bytes; every form is returned in a zeroizing buffer. The
//! matching itself lives in `mask`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

/// Values shorter than this are not masked: masking one- to three-byte values would replace
/// ordinary text everywhere in the output (see docs/AGENTS.md).
pub const MIN_MASK_LEN: usize = 4;

/// A base64 fragment that stands for a secret embedded in a larger blob is used only when it is at
/// least this long, so that short fragments cannot mangle unrelated output.
const MIN_CORE_LEN: usize = 6;

/// Every distinct form of `value` worth looking for (none when the value, without surrounding
/// whitespace, is shorter than [`MIN_MASK_LEN`]).
pub fn forms(value: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let trimmed = value.trim_ascii();
    if trimmed.len() < MIN_MASK_LEN {
        return Vec::new();
    }
    let mut bases = vec![value];
    if trimmed.len() != value.len() {
        bases.push(trimmed);
    }
    let mut out: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    for base in bases {
        out.push(Zeroizing::new(base.to_vec()));
        out.extend(base64_forms(base));
        out.extend(percent_forms(base));
        out.extend(json_forms(base));
    }
    out.sort_by(|a, b| a.as_slice().cmp(b.as_slice()));
    out.dedup_by(|a, b| a.as_slice() == b.as_slice());
    out
}

/// Standalone encodings, plus the fragments that only depend on the value when it sits at byte
/// offset 0, 1 or 2 (mod 3) of a longer encoded input.
fn base64_forms(value: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let mut out = Vec::new();
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.push(Zeroizing::new(engine.encode(value).into_bytes()));
    }
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        for offset in 0..3 {
            if let Some(core) = base64_core(engine, value, offset) {
                out.push(core);
            }
        }
    }
    out
}

/// The base64 characters whose 6 bits all come from `value` when it starts `offset` bytes into
/// the encoded input.
fn base64_core(engine: &base64::engine::GeneralPurpose, value: &[u8], offset: usize) -> Option<Zeroizing<Vec<u8>>> {
    let mut input = Zeroizing::new(vec![0u8; offset]);
    input.extend_from_slice(value);
    input.extend_from_slice(&[0, 0]);
    let encoded = Zeroizing::new(engine.encode(&*input).into_bytes());
    let start = (8 * offset).div_ceil(6);
    let end = 8 * (offset + value.len()) / 6;
    (end >= start + MIN_CORE_LEN).then(|| Zeroizing::new(encoded[start..end].to_vec()))
}

/// Which bytes an encoder leaves alone, besides ASCII letters and digits.
const KEEP_SETS: [&[u8]; 4] = [
    b"-._~",      // RFC 3986 unreserved (Python quote(safe=''), most libraries)
    b"-._~!'()*", // JavaScript encodeURIComponent
    b"-._~/",     // Python quote() with its default safe='/'
    b"*-._",      // URLSearchParams / application/x-www-form-urlencoded
];

fn percent_forms(value: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let mut out = Vec::new();
    for keep in KEEP_SETS {
        for plus_for_space in [false, true] {
            for upper in [false, true] {
                out.push(percent_encode(value, keep, plus_for_space, upper));
            }
        }
    }
    out
}

fn percent_encode(value: &[u8], keep: &[u8], plus_for_space: bool, upper: bool) -> Zeroizing<Vec<u8>> {
    let digits: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 3));
    for &b in value {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b);
        } else if b == b' ' && plus_for_space {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[b'%', digits[usize::from(b >> 4)], digits[usize::from(b & 15)]]);
        }
    }
    out
}

/// How a JSON encoder escapes a string.
#[derive(Clone, Copy)]
struct JsonStyle {
    /// Non-ASCII characters as `\uXXXX` (Python's default).
    ascii_only: bool,
    /// `/` as `\/`.
    slash: bool,
    /// `<`, `>`, `&`, U+2028 and U+2029 as `\u…` (Go's encoding/json).
    html: bool,
    /// Uppercase hex digits in `\u` escapes.
    upper: bool,
}

fn json_forms(value: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let Ok(text) = std::str::from_utf8(value) else { return Vec::new() };
    let mut out = Vec::new();
    for bits in 0u8..16 {
        let style = JsonStyle { ascii_only: bits & 1 != 0, slash: bits & 2 != 0, html: bits & 4 != 0, upper: bits & 8 != 0 };
        out.push(json_escape(text, style));
    }
    out
}

fn json_escape(text: &str, style: JsonStyle) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(String::with_capacity(text.len() + 8));
    let mut units = [0u16; 2];
    for c in text.chars() {
        let escaped = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '/' if style.slash => Some("\\/"),
            _ => None,
        };
        let as_unicode = (c as u32) < 0x20
            || (style.ascii_only && !c.is_ascii())
            || (style.html && matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}'));
        match escaped {
            Some(e) => out.push_str(e),
            None if as_unicode => {
                let digits: &[u8; 16] = if style.upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
                for &unit in c.encode_utf16(&mut units).iter() {
                    out.push_str("\\u");
                    for shift in [12, 8, 4, 0] {
                        out.push(char::from(digits[usize::from((unit >> shift) & 15)]));
                    }
                }
            }
            None => out.push(c),
        }
    }
    Zeroizing::new(std::mem::take(&mut *out).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(forms: &[Zeroizing<Vec<u8>>], want: &str) -> bool {
        forms.iter().any(|f| f.as_slice() == want.as_bytes())
    }

    #[test]
    fn short_values_have_no_forms() {
        assert!(forms(b"abc").is_empty());
        assert!(forms(b"  abc \n").is_empty(), "trimmed or not, still too short");
        assert!(!forms(b"abcd").is_empty());
    }

    #[test]
    fn base64_forms_cover_alphabets_padding_and_offsets() {
        let f = forms(b"s3cr3t?>value");
        use base64::engine::general_purpose::STANDARD as B64;
        assert!(has(&f, &B64.encode(b"s3cr3t?>value")));
        assert!(has(&f, B64.encode(b"s3cr3t?>value").trim_end_matches('=')));
        assert!(has(&f, &URL_SAFE.encode(b"s3cr3t?>value")));
        for prefix in ["", "u", "us", "user:"] {
            let blob = B64.encode(format!("{prefix}s3cr3t?>value and more"));
            assert!(f.iter().any(|p| blob.contains(std::str::from_utf8(p).unwrap())), "offset {}", prefix.len());
        }
    }

    #[test]
    fn percent_and_json_forms() {
        let f = forms("a b/c+d\"é".as_bytes());
        assert!(has(&f, "a%20b%2Fc%2Bd%22%C3%A9"));
        assert!(has(&f, "a+b/c%2Bd%22%C3%A9"), "quote_plus with safe='/'");
        assert!(has(&f, "a%20b%2fc%2bd%22%c3%a9"));
        assert!(has(&f, "a b/c+d\\\"é"));
        assert!(has(&f, "a b\\/c+d\\\"\\u00e9"));
        assert!(has(&f, "a b/c+d\\\"\\u00E9"));
        let g = forms("<tag>&\u{1}x".as_bytes());
        assert!(has(&g, "\\u003ctag\\u003e\\u0026\\u0001x"));
    }

    #[test]
    fn surrounding_whitespace_is_also_matched_without() {
        let f = forms(b"token-1234\n");
        assert!(has(&f, "token-1234\n"));
        assert!(has(&f, "token-1234"));
    }
}
