//! Structural and plausibility checks for candidate secrets: bech32 (age identities),
//! CRC32 suffixes (GitHub and npm tokens), JWT header decoding, placeholder and
//! randomness heuristics. Pure functions over byte slices; no allocation on the common path.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::rules::Check;

/// Bech32 alphabet, indexed by 5-bit value.
const BECH32: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn bech32_value(c: u8) -> Option<u8> {
    let lc = c.to_ascii_lowercase();
    BECH32.iter().position(|&b| b == lc).and_then(|p| u8::try_from(p).ok())
}

fn bech32_polymod_step(chk: u32, v: u8) -> u32 {
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let top = chk >> 25;
    let mut chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
    for (i, g) in GEN.iter().enumerate() {
        if (top >> i) & 1 == 1 {
            chk ^= g;
        }
    }
    chk
}

/// Verifies a bech32 string (BIP-173 checksum, not bech32m), as age uses for identities.
/// Mixed case is invalid, as the standard requires.
pub(crate) fn bech32_valid(s: &[u8]) -> bool {
    let has_upper = s.iter().any(u8::is_ascii_uppercase);
    let has_lower = s.iter().any(u8::is_ascii_lowercase);
    if has_upper && has_lower {
        return false;
    }
    let Some(sep) = s.iter().rposition(|&b| b == b'1') else { return false };
    let (hrp, data) = (&s[..sep], &s[sep + 1..]);
    if hrp.is_empty() || data.len() < 6 {
        return false;
    }
    let mut chk: u32 = 1;
    for &c in hrp {
        chk = bech32_polymod_step(chk, c.to_ascii_lowercase() >> 5);
    }
    chk = bech32_polymod_step(chk, 0);
    for &c in hrp {
        chk = bech32_polymod_step(chk, c.to_ascii_lowercase() & 31);
    }
    for &c in data {
        let Some(v) = bech32_value(c) else { return false };
        chk = bech32_polymod_step(chk, v);
    }
    chk == 1
}

/// An age X25519 identity: `AGE-SECRET-KEY-1` + 52 data characters + 6 checksum characters.
pub(crate) fn age_identity_valid(s: &[u8]) -> bool {
    s.len() == "AGE-SECRET-KEY-1".len() + 58 && bech32_valid(s)
}

const fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC32_TABLE: [u32; 256] = crc32_table();

/// Standard CRC-32 (IEEE, as zlib computes it).
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc = CRC32_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// Base62 (0-9A-Za-z) of `n`, left-padded with `0` to 6 digits.
pub(crate) fn base62_6(mut n: u32) -> [u8; 6] {
    const ALPHA: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = ALPHA[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// `prefix_` + 30 random characters + 6-character base62 CRC32 of the random part.
pub(crate) fn crc_token_valid(token: &[u8], prefix_len: usize) -> bool {
    if token.len() != prefix_len + 36 {
        return false;
    }
    let body = &token[prefix_len..token.len() - 6];
    base62_6(crc32(body)) == token[token.len() - 6..]
}

/// A JWT whose header is a JSON object with `alg` and whose payload is a JSON object.
/// The ubiquitous jwt.io documentation token (`"name": "John Doe"`) is rejected.
pub(crate) fn jwt_valid(token: &[u8]) -> bool {
    let mut parts = token.split(|&b| b == b'.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else { return false };
    let Some(header) = decode_json_object(h) else { return false };
    if !header.get("alg").is_some_and(serde_json::Value::is_string) {
        return false;
    }
    let Some(payload) = decode_json_object(p) else { return false };
    let doc_example = payload.get("name").and_then(serde_json::Value::as_str) == Some("John Doe")
        && payload.get("sub").and_then(serde_json::Value::as_str) == Some("1234567890");
    !doc_example
}

fn decode_json_object(part: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    let trimmed = part.strip_suffix(b"==").or_else(|| part.strip_suffix(b"=")).unwrap_or(part);
    let raw = URL_SAFE_NO_PAD.decode(trimmed).ok()?;
    serde_json::from_slice(&raw).ok()
}

/// Markers that show a value is a placeholder or a documentation example.
const FAKE_MARKERS: &[&[u8]] = &[
    b"example",
    b"dummy",
    b"fake",
    b"sample",
    b"placeholder",
    b"redacted",
    b"changeme",
    b"change_me",
    b"change-me",
    b"notreal",
    b"not_real",
    b"not-real",
    b"not_a_real",
    b"not-a-real",
    b"testonly",
    b"test_only",
    b"test-only",
    b"your_",
    b"your-",
    b"yourkey",
    b"yourtoken",
    b"yoursecret",
    b"yourpassword",
    b"xxxx",
    b"insert",
    b"replace",
    b"todo",
    b"...",
    b"\xe2\x80\xa6",
    b"***",
    b"lorem",
    b"foobar",
    b"secretkey",
    b"password",
    b"mysecret",
    b"supersecret",
    b"mock",
    b"hunter",
];

/// Weak words that, even spelled in leetspeak (`P@55w0rd`), mark a demo value.
const LEET_MARKERS: &[&[u8]] = &[b"password", b"changeme", b"letmein", b"secret", b"qwerty"];

fn unleet(b: u8) -> u8 {
    match b {
        b'0' => b'o',
        b'1' | b'!' => b'i',
        b'3' => b'e',
        b'4' | b'@' => b'a',
        b'5' | b'$' => b's',
        b'7' => b't',
        _ => b.to_ascii_lowercase(),
    }
}

fn contains_leet(v: &[u8], word: &[u8]) -> bool {
    v.windows(word.len()).any(|w| w.iter().zip(word).all(|(&a, &b)| unleet(a) == b || (b == b'i' && unleet(a) == b'l')))
}

/// Secrets published in vendor documentation and emulators, known to everybody.
const PUBLISHED_EXAMPLES: &[&[u8]] = &[
    b"sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    b"sk_test_BQokikJOvBiI2HlWgH4olfQ2",
    b"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
];

/// Whether `needle` occurs in `hay`, ASCII case-insensitively.
pub(crate) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// True if the value carries a placeholder or example marker or is a published example.
pub(crate) fn has_fake_marker(v: &[u8]) -> bool {
    FAKE_MARKERS.iter().any(|m| contains_ci(v, m))
        || PUBLISHED_EXAMPLES.iter().any(|m| contains_ci(v, m))
        || LEET_MARKERS.iter().any(|m| contains_leet(v, m))
}

/// True if the value carries a placeholder or example marker, or is visibly not random:
/// a run of 6 identical characters or a 6-character ascending/descending sequence.
pub(crate) fn looks_fake(v: &[u8]) -> bool {
    if has_fake_marker(v) {
        return true;
    }
    let (mut same, mut up, mut down) = (1, 1, 1);
    for w in v.windows(2) {
        let (a, b) = (w[0].to_ascii_lowercase(), w[1].to_ascii_lowercase());
        same = if a == b { same + 1 } else { 1 };
        up = if b == a.wrapping_add(1) { up + 1 } else { 1 };
        down = if a == b.wrapping_add(1) { down + 1 } else { 1 };
        if same >= 6 || up >= 6 || down >= 6 {
            return true;
        }
    }
    false
}

/// Character classes present: lowercase, uppercase, digit, other.
pub(crate) fn class_count(v: &[u8]) -> usize {
    let lower = v.iter().any(u8::is_ascii_lowercase);
    let upper = v.iter().any(u8::is_ascii_uppercase);
    let digit = v.iter().any(u8::is_ascii_digit);
    let other = v.iter().any(|b| !b.is_ascii_alphanumeric());
    [lower, upper, digit, other].iter().filter(|&&x| x).count()
}

/// Shannon entropy in bits per byte.
pub(crate) fn entropy(v: &[u8]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in v {
        counts[usize::from(b)] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// A provider token body that looks machine-generated: not a placeholder, at least two
/// character classes (or hex of 16+), and enough distinct symbols.
pub(crate) fn looks_random(body: &[u8]) -> bool {
    if body.len() < 8 || looks_fake(body) {
        return false;
    }
    let mut seen = [false; 256];
    let mut distinct = 0usize;
    for &b in body {
        if !seen[usize::from(b)] {
            seen[usize::from(b)] = true;
            distinct += 1;
        }
    }
    let need = (body.len() / 3).clamp(6, 14);
    distinct >= need && (class_count(body) >= 2 || body.len() >= 16) && entropy(body) >= 3.0
}

/// CamelCase words and numbers (`AWSEC2CapacityReservationFleetRolePolicy`): the runs between
/// case/digit changes average 4.5+ characters, while random base64 switches every ~2
/// (a random 40-character key looks like this about once in 30,000).
pub(crate) fn camel_words(v: &[u8]) -> bool {
    let kind = |b: u8| {
        if b.is_ascii_lowercase() {
            0
        } else if b.is_ascii_uppercase() {
            1
        } else if b.is_ascii_digit() {
            2
        } else {
            3
        }
    };
    let mut runs = 1usize;
    for w in v.windows(2) {
        let (a, b) = (kind(w[0]), kind(w[1]));
        // An uppercase letter starting a lowercase word continues that word.
        if a != b && !(a == 1 && b == 0) {
            runs += 1;
        }
    }
    2 * v.len() >= 9 * runs
}

/// Runs a rule's check on the candidate secret `s`.
pub(crate) fn run(check: Check, s: &[u8]) -> bool {
    if PUBLISHED_EXAMPLES.iter().any(|m| contains_ci(s, m)) {
        return false;
    }
    match check {
        Check::AgeBech32 => age_identity_valid(s),
        Check::AwsKeyId => !looks_fake(&s[4..]) && looks_random(&s[4..]),
        Check::Github => github_valid(s),
        Check::Npm => crc_token_valid(s, 4) || looks_random(&s[4..]),
        Check::Jwt => jwt_valid(s),
        Check::Random { skip } => s.len() > skip && looks_random(&s[skip..]),
        Check::NpmAuthToken => looks_random(s) && !s.starts_with(b"$"),
        Check::UrlPassword => super::generic::password_plausible(&percent_decode(s)),
    }
}

/// Decodes `%XX` escapes (URL userinfo); invalid escapes are kept as they are.
pub(crate) fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let pair = (s[i] == b'%').then(|| (s.get(i + 1).copied().and_then(hex), s.get(i + 2).copied().and_then(hex)));
        if let Some((Some(h), Some(l))) = pair {
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

fn github_valid(s: &[u8]) -> bool {
    if let Some(rest) = s.strip_prefix(b"github_pat_") {
        return looks_random(rest);
    }
    crc_token_valid(s, 4)
}

/// A value that carries a known prefix but fails that format's structural check: such a
/// value is a fake and must not be reported by the generic rules either.
pub(crate) fn structurally_invalid(v: &[u8]) -> bool {
    let gh = [b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"];
    if v.len() == 40 && gh.iter().any(|p| v.starts_with(*p)) {
        return !crc_token_valid(v, 4);
    }
    if v.len() >= 16 && v[..15].eq_ignore_ascii_case(b"AGE-SECRET-KEY-") {
        return !age_identity_valid(v);
    }
    if v.starts_with(b"eyJ") && v.iter().filter(|&&b| b == b'.').count() == 2 {
        return !jwt_valid(v);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bech32_age_identity() {
        // Test vector generated with age-keygen for this test only.
        let key = b"AGE-SECRET-KEY-1EVDNH3CVQVYGX0V4K77L6UZW79TTHM8YYRCJ082SDLKPKA9QZNUQRP298E"; // test vector, agent-vault:allow
        assert!(age_identity_valid(key));
        let mut bad = key.to_vec();
        bad[40] = if bad[40] == b'Q' { b'P' } else { b'Q' };
        assert!(!age_identity_valid(&bad));
        assert!(!bech32_valid(b"AGE-SECRET-KEY-1evdnh3cvqvygx0v4k77l6uzw79tthm8yyrcj082sdlkpka9qznuqrp298e"));
    }

    #[test]
    fn crc32_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn github_crc_roundtrip() {
        let body = b"aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1";
        let mut tok = b"ghp_".to_vec();
        tok.extend_from_slice(body);
        tok.extend_from_slice(&base62_6(crc32(body)));
        assert!(crc_token_valid(&tok, 4));
        assert!(github_valid(&tok));
        let last = tok.len() - 1;
        tok[last] = if tok[last] == b'a' { b'b' } else { b'a' };
        assert!(!github_valid(&tok));
    }

    #[test]
    fn jwt_checks() {
        let good = b"eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjoiYm9iIn0.c2lnbmF0dXJlc2lnbmF0dXJl"; // agent-vault:allow
        assert!(jwt_valid(good));
        let no_alg = b"eyJ0eXAiOiJKV1QifQ.eyJ1c2VyIjoiYm9iIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
        assert!(!jwt_valid(no_alg));
        let doc = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert!(!jwt_valid(doc));
    }

    #[test]
    fn fake_and_random() {
        assert!(looks_fake(b"xxxxxxxxxxxxxxxx"));
        assert!(looks_fake(b"your-api-key-here"));
        assert!(looks_fake(b"abcdefghijklmnop"));
        assert!(looks_fake(b"AKIAIOSFODNN7EXAMPLE"));
        assert!(looks_fake(b"P@55w0rd!"));
        assert!(looks_fake(b"Ch4ngeMe2024"));
        assert!(!looks_fake(b"q8Zr2LmX0pVt7KsWc4Nd"));
        assert!(looks_random(b"q8Zr2LmX0pVt7KsWc4Nd"));
        assert!(looks_random(b"9f86d081884c7d659a2feaa0c55ad015"));
        assert!(!looks_random(b"aaaaabbbbbcccccddddd"));
    }

    #[test]
    fn camel() {
        assert!(camel_words(b"AWSEC2CapacityReservationFleetRolePolicy"));
        assert!(camel_words(b"policy/AmazonRoute53RecoveryReadinessFullAccess"));
        assert!(!camel_words(b"9dK2mX7pQ4rT8vW1yZ3bC6fH0jL5nP2sU4wA7cE9"));
    }

    #[test]
    fn entropy_bounds() {
        assert!(entropy(b"aaaa") < 0.01);
        assert!((entropy(b"ab") - 1.0).abs() < 1e-9);
    }
}
