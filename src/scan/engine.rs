//! The matching engine: one Aho-Corasick pass over the file finds every rule keyword
//! (ASCII case-insensitive); each hit runs only the rules gated by that keyword, on the line
//! (or a few lines) around it. Each rule scans a given line at most once (`scanned_until`),
//! so long minified lines with many hits stay linear. Armored ciphertext blocks (age, PGP
//! messages) are skipped. The engine produces raw [`Hit`]s; filtering, line numbers and
//! excerpts are done by the caller (`mod.rs`).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::bytes::{CaptureLocations, Regex, RegexBuilder};

use super::ScanError;
use super::checks;
use super::generic::{self, Bare, NameClass, Outcome};
use super::rules::{ARMOR_KEYWORDS, Check, DEFS, Kind};

/// A candidate secret: byte span of the secret, the offset whose line is reported, the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    pub start: usize,
    pub end: usize,
    pub anchor: usize,
    pub rule: RuleRef,
}

/// Which rule produced a hit: an entry of `DEFS`, or a known vault value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RuleRef {
    Def(usize),
    Known(usize),
}

/// What a keyword triggers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Rule(usize),
    Generic,
    Armor(usize),
}

/// Path-derived facts that change how strict the generic rules are.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FileContext {
    /// Dependency lock files and cryptographic test-vector files: generic rules and the AWS
    /// secret-key rule are off.
    pub lockfile: bool,
    /// Minified bundles and source maps: generic rules need a quoted value.
    pub minified: bool,
    /// Program source: a bare value after `name =` is an expression, so generic rules need a
    /// string literal (or a `name=value` inside one, as in connection strings).
    pub code: bool,
}

const CODE_EXTENSIONS: &[&str] = &[
    "rs", "py", "js", "mjs", "cjs", "jsx", "ts", "tsx", "go", "java", "kt", "kts", "scala", "c", "h", "cc", "cpp", "hpp", "cs", "rb",
    "php", "swift", "m", "dart", "lua", "ex", "exs", "clj", "groovy", "vue",
];

const LOCKFILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "Cargo.lock",
    "go.sum",
    "go.work.sum",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "pdm.lock",
    "composer.lock",
    "Gemfile.lock",
    "flake.lock",
    "packages.lock.json",
    "mix.lock",
    "Podfile.lock",
    "pubspec.lock",
    "gradle.lockfile",
    "Package.resolved",
    "deno.lock",
];

impl FileContext {
    pub(crate) fn from_path(path: &str) -> Self {
        let name = path.rsplit('/').next().unwrap_or(path);
        let minified = [".min.js", ".min.css", ".min.mjs", ".js.map", ".css.map", ".bundle.js"].iter().any(|s| name.ends_with(s));
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        let lower = name.to_ascii_lowercase();
        let vectors = ["test-vector", "test_vector", "testvector", "vectors.json"].iter().any(|v| lower.contains(v));
        Self { lockfile: vectors || LOCKFILES.contains(&name), minified, code: CODE_EXTENSIONS.contains(&ext) }
    }
}

/// Lines longer than this are treated like minified code by the generic rules.
const LONG_LINE: usize = 2000;
/// How far back / forward from a hit a line is searched for its boundaries.
const MAX_BACK: usize = 1024;
const MAX_FWD: usize = 4096;

/// Compiled rule table plus keyword automaton. Immutable; shared across threads.
#[derive(Debug)]
pub(crate) struct Engine {
    ac: AhoCorasick,
    targets: Vec<Vec<Target>>,
    regexes: Vec<Option<Regex>>,
    multiline: Vec<bool>,
    generic_password: usize,
    generic_secret: usize,
}

/// Per-file mutable state of one scan.
struct State {
    scanned_until: Vec<usize>,
    /// Reusable capture slots per rule, created on first use (no allocation per hit).
    locs: Vec<Option<CaptureLocations>>,
    /// A byte range known to hold no newline: keeps line lookups linear on long lines.
    nl_free: (usize, usize),
    /// End of the text already searched by the AWS secret-key rule.
    aws_covered: usize,
    generic_until: usize,
    skip_until: usize,
    armor: Vec<(usize, usize)>,
}

impl State {
    /// [`line_bounds`] that reuses what earlier lookups learned: the part of the search range
    /// inside `nl_free` is known to hold no newline and is not searched again.
    fn line_bounds(&mut self, data: &[u8], pos: usize) -> (usize, usize) {
        let (a, b) = self.nl_free;
        let lo = pos.saturating_sub(MAX_BACK);
        let hi = (pos + MAX_FWD).min(data.len());
        let inside = a <= pos && pos <= b;
        let s = if inside && lo >= a {
            lo
        } else {
            let to = if inside { a } else { pos };
            data[lo..to].iter().rposition(|&c| c == b'\n').map_or(lo, |i| lo + i + 1)
        };
        let e = if inside && hi <= b {
            hi
        } else {
            let from = if inside { b.max(pos) } else { pos };
            data[from..hi].iter().position(|&c| c == b'\n').map_or(hi, |i| from + i)
        };
        self.nl_free = if inside { (a.min(s), b.max(e)) } else { (s, e) };
        (s, e)
    }
}

fn compile(pattern: &str, id: &'static str) -> Result<Regex, ScanError> {
    RegexBuilder::new(pattern).unicode(false).build().map_err(|e| ScanError::Rule { rule: id, message: e.to_string() })
}

fn def_index(id: &str) -> Result<usize, ScanError> {
    DEFS.iter().position(|d| d.id == id).ok_or(ScanError::Rule { rule: "generic", message: format!("missing {id}") })
}

impl Engine {
    pub(crate) fn new() -> Result<Self, ScanError> {
        let mut keywords: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<Target>> = Vec::new();
        let mut add = |kw: &str, t: Target| {
            let lower = kw.to_ascii_lowercase();
            let idx = keywords.iter().position(|k| *k == lower).unwrap_or_else(|| {
                keywords.push(lower);
                targets.push(Vec::new());
                keywords.len() - 1
            });
            if !targets[idx].contains(&t) {
                targets[idx].push(t);
            }
        };
        for (i, d) in DEFS.iter().enumerate() {
            let t = if d.kind == Kind::Generic { Target::Generic } else { Target::Rule(i) };
            d.keywords.iter().for_each(|k| add(k, t));
        }
        for (i, (begin, _)) in ARMOR_KEYWORDS.iter().enumerate() {
            add(begin, Target::Armor(i));
        }
        let targets = inherit_contained(&keywords, targets);
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostLongest)
            .build(&keywords)
            .map_err(|e| ScanError::Matcher(e.to_string()))?;
        let regexes =
            DEFS.iter().map(|d| (!d.pattern.is_empty()).then(|| compile(d.pattern, d.id)).transpose()).collect::<Result<Vec<_>, _>>()?;
        let multiline = DEFS.iter().map(|d| d.pattern.contains(r"\n")).collect();
        let generic_password = def_index("generic-password")?;
        let generic_secret = def_index("generic-secret")?;
        Ok(Self { ac, targets, regexes, multiline, generic_password, generic_secret })
    }

    /// Scans one text file, appending raw hits.
    pub(crate) fn scan(&self, data: &[u8], ctx: FileContext, out: &mut Vec<Hit>) {
        let first = out.len();
        let mut st = State {
            scanned_until: vec![0; DEFS.len()],
            locs: vec![None; DEFS.len()],
            nl_free: (0, 0),
            aws_covered: 0,
            generic_until: 0,
            skip_until: 0,
            armor: Vec::new(),
        };
        for m in self.ac.find_iter(data) {
            let pos = m.start();
            if pos < st.skip_until {
                continue;
            }
            for &t in &self.targets[m.pattern().as_usize()] {
                match t {
                    Target::Armor(i) => {
                        let end = armor_end(data, pos, ARMOR_KEYWORDS[i].1);
                        st.armor.push((pos, end));
                        st.skip_until = end;
                        break;
                    }
                    Target::Generic if !ctx.lockfile => self.generic(data, pos, ctx, &mut st, out),
                    Target::Generic => {}
                    Target::Rule(r) if pos >= st.scanned_until[r] => self.run_rule(r, data, pos, ctx, &mut st, out),
                    Target::Rule(_) => {}
                }
            }
        }
        if !st.armor.is_empty() {
            let kept: Vec<Hit> = out.drain(first..).filter(|h| !st.armor.iter().any(|&(s, e)| h.start >= s && h.start < e)).collect();
            out.extend(kept);
        }
    }

    fn generic(&self, data: &[u8], pos: usize, ctx: FileContext, st: &mut State, out: &mut Vec<Hit>) {
        if pos < st.generic_until {
            return;
        }
        let (ls, le) = st.line_bounds(data, pos);
        let bare = if ctx.minified || le - ls > LONG_LINE {
            Bare::Never
        } else if ctx.code {
            Bare::InStringOnly
        } else {
            Bare::Literal
        };
        let (ident_end, outcome) = generic::scan_hit(&data[ls..le], pos - ls, bare);
        st.generic_until = ls + ident_end;
        let (base, cand) = match outcome {
            Outcome::None => return,
            Outcome::Found(c) => (ls, c),
            Outcome::ValueOnNextLine(class) => {
                if le >= data.len() {
                    return;
                }
                let (ns, ne) = line_bounds(data, le + 1);
                let Some(c) = generic::next_line_value(&data[ns..ne], class) else { return };
                (ns, c)
            }
        };
        let def = match cand.class {
            NameClass::Password => self.generic_password,
            NameClass::Secret => self.generic_secret,
        };
        let (start, end) = (base + cand.start, base + cand.end);
        out.push(Hit { start, end, anchor: start, rule: RuleRef::Def(def) });
    }

    fn run_rule(&self, r: usize, data: &[u8], pos: usize, ctx: FileContext, st: &mut State, out: &mut Vec<Hit>) {
        let (ls, le) = st.line_bounds(data, pos);
        let done = if le == data.len() || data[le] == b'\n' { le } else { le.saturating_sub(MAX_BACK) };
        st.scanned_until[r] = done.max(pos + 1);
        match DEFS[r].kind {
            Kind::Token => {
                let le = if self.multiline[r] { next_line_end(data, le) } else { le };
                self.token(r, data, (ls, le), st, out);
            }
            Kind::PemBlock => self.pem(r, data, ls, le, out),
            Kind::PemBase64 => pem_base64(r, data, pos, le, out),
            Kind::AwsSecret if !ctx.lockfile => self.aws_secret(r, data, (ls, le), st, out),
            Kind::AwsSecret | Kind::Generic => {}
            Kind::GcpServiceAccount => self.gcp(r, data, ls, le, out),
        }
    }

    fn regex(&self, r: usize) -> Option<&Regex> {
        self.regexes[r].as_ref()
    }

    /// Runs rule `r`'s regex over `data[ls..le]`; the `s` group is checked and reported.
    fn token(&self, r: usize, data: &[u8], (ls, le): (usize, usize), st: &mut State, out: &mut Vec<Hit>) {
        let Some(re) = self.regex(r) else { return };
        let locs = st.locs[r].get_or_insert_with(|| re.capture_locations());
        let hay = &data[..le];
        let mut at = ls;
        while let Some(m) = re.captures_read_at(locs, hay, at) {
            at = if m.end() > m.start() { m.end() } else { m.end() + 1 };
            let (s, e) = secret_span(re, locs).unwrap_or((m.start(), m.end()));
            if accept(DEFS[r].check, data, s, e, re, locs) {
                out.push(Hit { start: s, end: e, anchor: s, rule: RuleRef::Def(r) });
            }
            if at > le {
                break;
            }
        }
    }

    fn pem(&self, r: usize, data: &[u8], ls: usize, le: usize, out: &mut Vec<Hit>) {
        let Some(re) = self.regex(r) else { return };
        let mut at = ls;
        while let Some(m) = re.find_at(&data[..le], at) {
            at = m.end();
            if let Some((bs, be)) = pem_body(data, m.end()) {
                out.push(Hit { start: bs, end: be, anchor: m.start(), rule: RuleRef::Def(r) });
            }
        }
    }

    /// 40-character AWS secret keys within three lines of the keyword, on a line that says
    /// `secret` or paired with an access key id nearby.
    fn aws_secret(&self, r: usize, data: &[u8], (ls, le): (usize, usize), st: &mut State, out: &mut Vec<Hit>) {
        let Some(re) = self.regex(r) else { return };
        let (ws, we) = (lines_before(data, ls, 3), lines_after(data, le, 3));
        let paired = has_key_id(&data[ws..we]);
        // Text before `aws_covered` was searched for an earlier keyword (whose window reached
        // at least as far back), so only the rest of this window is new.
        let mut at = ws.max(st.aws_covered.min(ls));
        st.aws_covered = st.aws_covered.max(we);
        let locs = st.locs[r].get_or_insert_with(|| re.capture_locations());
        while let Some(m) = re.captures_read_at(locs, &data[..we], at) {
            let Some((s, e)) = secret_span(re, locs) else { break };
            at = e;
            let (tls, tle) = line_bounds(data, s);
            let named = checks::contains_ci(&data[tls..tle], b"secret");
            if (paired || named) && aws_secret_plausible(&data[s..e]) {
                out.push(Hit { start: s, end: e, anchor: s, rule: RuleRef::Def(r) });
            }
            if m.end() >= we {
                break;
            }
        }
    }

    /// `"type": "service_account"` with a PEM `private_key` within the surrounding 4 KiB.
    fn gcp(&self, r: usize, data: &[u8], ls: usize, le: usize, out: &mut Vec<Hit>) {
        let Some(re) = self.regex(r) else { return };
        let Some(m) = re.find_at(&data[..le], ls) else { return };
        let ws = m.start().saturating_sub(4096);
        let we = (m.end() + 4096).min(data.len());
        let window = &data[ws..we];
        let has_key = find(window, b"private_key").is_some_and(|p| {
            let tail = &window[p..(p + 120).min(window.len())];
            find(tail, b"-----BEGIN").is_some() && find(tail, b"PRIVATE KEY").is_some()
        });
        if has_key {
            out.push(Hit { start: m.end(), end: m.end(), anchor: m.start(), rule: RuleRef::Def(r) });
        }
    }
}

/// Keywords that contain another keyword inherit its targets (leftmost-longest matching
/// reports only the longer one).
fn inherit_contained(keywords: &[String], targets: Vec<Vec<Target>>) -> Vec<Vec<Target>> {
    let mut out = targets.clone();
    for (i, long) in keywords.iter().enumerate() {
        for (j, short) in keywords.iter().enumerate() {
            if i != j && long.contains(short.as_str()) {
                for t in &targets[j] {
                    if !out[i].contains(t) && !matches!(t, Target::Armor(_)) {
                        out[i].push(*t);
                    }
                }
            }
        }
    }
    out
}

fn secret_span(re: &Regex, locs: &CaptureLocations) -> Option<(usize, usize)> {
    let idx = re.capture_names().position(|n| n == Some("s"))?;
    locs.get(idx)
}

fn group(re: &Regex, locs: &CaptureLocations, name: &str) -> Option<(usize, usize)> {
    let idx = re.capture_names().position(|n| n == Some(name))?;
    locs.get(idx)
}

fn accept(check: Option<Check>, data: &[u8], s: usize, e: usize, re: &Regex, locs: &CaptureLocations) -> bool {
    let secret = &data[s..e];
    match check {
        None => true,
        Some(Check::UrlPassword) => {
            let user = group(re, locs, "u").map(|(a, b)| &data[a..b]);
            let host = group(re, locs, "h").map_or(&b""[..], |(a, b)| &data[a..b]);
            let doc_host = [&b"example.com"[..], b"example.org", b"example.net"]
                .iter()
                .any(|d| host.len() >= d.len() && host[host.len() - d.len()..].eq_ignore_ascii_case(d));
            user != Some(secret) && !doc_host && checks::run(Check::UrlPassword, secret)
        }
        Some(c) => checks::run(c, secret),
    }
}

/// An AWS access key id (`AKIA…`/`ASIA…` + 16 base32 characters) somewhere in `window`.
fn has_key_id(window: &[u8]) -> bool {
    window.windows(20).any(|w| {
        (w.starts_with(b"AKIA") || w.starts_with(b"ASIA")) && w[4..].iter().all(|&b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    })
}

/// Mixed case with digits and base64-level entropy; not CamelCase words
/// (`AWSEC2CapacityReservationFleetRolePolicy`), and several `/` with almost no digits is a
/// path (`/properties/LaunchTemplateData/…`), not a key.
fn aws_secret_plausible(v: &[u8]) -> bool {
    let digits = v.iter().filter(|b| b.is_ascii_digit()).count();
    let slashes = v.iter().filter(|&&b| b == b'/').count();
    v.iter().any(u8::is_ascii_uppercase)
        && v.iter().any(u8::is_ascii_lowercase)
        && digits > 0
        && !(slashes >= 2 && digits <= 2)
        && checks::entropy(v) >= 4.0
        && !checks::camel_words(v)
        && checks::looks_random(v)
}

/// Validates a PEM body after the header: base64 lines (real or `\\n`-escaped newlines,
/// optional `Key: value` armor headers, string quotes and concatenation) with at least 64
/// base64 characters of reasonable variety. Returns the span of the whole body (up to 16 KiB),
/// so that excerpts can mask all of it.
pub(crate) fn pem_body(data: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let limit = (i + 16 * 1024).min(data.len());
    let (mut count, mut first, mut last) = (0usize, None::<usize>, i);
    let mut seen = [false; 128];
    while i < limit {
        let b = data[i];
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=' {
            if first.is_none() && header_line_at(data, i, limit) {
                i = skip_header_line(data, i, limit);
                continue;
            }
            first.get_or_insert(i);
            seen[usize::from(b)] = true;
            count += 1;
            last = i + 1;
            i += 1;
        } else if b == b'\\' && matches!(data.get(i + 1), Some(b'n' | b'r')) {
            i += 2;
        } else if b.is_ascii_whitespace() || b"\"',+;".contains(&b) {
            i += 1;
        } else {
            break;
        }
    }
    let variety = seen.iter().filter(|&&x| x).count();
    let start = first?;
    let head = &data[start..last.min(start + 256)];
    (count >= 64 && variety >= 20 && !checks::has_fake_marker(head)).then_some((start, last))
}

/// An armor header such as `Proc-Type: 4,ENCRYPTED` or `Version: GnuPG v2`.
fn header_line_at(data: &[u8], i: usize, limit: usize) -> bool {
    let mut j = i;
    while j < limit && (data[j].is_ascii_alphanumeric() || data[j] == b'-') {
        j += 1;
    }
    j > i && data.get(j) == Some(&b':')
}

fn skip_header_line(data: &[u8], mut i: usize, limit: usize) -> usize {
    while i < limit && data[i] != b'\n' && !(data[i] == b'\\' && data.get(i + 1) == Some(&b'n')) {
        i += 1;
    }
    i
}

/// `LS0tLS1CRUdJTi…` (base64 of `-----BEGIN`): decodes the run and validates it as PEM.
fn pem_base64(r: usize, data: &[u8], pos: usize, le: usize, out: &mut Vec<Hit>) {
    use base64::Engine as _;
    let run_end = data[pos..le].iter().position(|b| !(b.is_ascii_alphanumeric() || b"+/=".contains(b))).map_or(le, |p| pos + p);
    let run = &data[pos..run_end];
    let take = run.len().min(400) / 4 * 4;
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(&run[..take]) else { return };
    let Some(h) = find(&decoded, b"PRIVATE KEY-----") else { return };
    if find(&decoded[..h], b"-----BEGIN").is_some() && pem_body(&decoded, h + 16).is_some() {
        out.push(Hit { start: pos, end: run_end, anchor: pos, rule: RuleRef::Def(r) });
    }
}

/// Naive substring search (short needles, bounded haystacks).
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    (0..=hay.len() - needle.len()).find(|&i| hay[i] == first && &hay[i..i + needle.len()] == needle)
}

fn armor_end(data: &[u8], pos: usize, end_marker: &str) -> usize {
    find(&data[pos..], end_marker.as_bytes()).map_or(data.len(), |p| pos + p + end_marker.len())
}

/// Start and end of the line containing `pos`, each searched at most `MAX_BACK`/`MAX_FWD`.
pub(crate) fn line_bounds(data: &[u8], pos: usize) -> (usize, usize) {
    let lo = pos.saturating_sub(MAX_BACK);
    let s = data[lo..pos].iter().rposition(|&b| b == b'\n').map_or(lo, |i| lo + i + 1);
    let hi = (pos + MAX_FWD).min(data.len());
    let e = data[pos..hi].iter().position(|&b| b == b'\n').map_or(hi, |i| pos + i);
    (s, e)
}

fn next_line_end(data: &[u8], le: usize) -> usize {
    if le >= data.len() {
        return le;
    }
    line_bounds(data, le + 1).1
}

fn lines_before(data: &[u8], mut ls: usize, n: usize) -> usize {
    for _ in 0..n {
        if ls == 0 {
            break;
        }
        ls = line_bounds(data, ls - 1).0;
    }
    ls
}

fn lines_after(data: &[u8], mut le: usize, n: usize) -> usize {
    for _ in 0..n {
        le = next_line_end(data, le);
    }
    le
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Vec<(&'static str, String)> {
        scan_path("x.txt", text)
    }

    fn scan_path(path: &str, text: &str) -> Vec<(&'static str, String)> {
        let engine = Engine::new().expect("engine");
        let mut hits = Vec::new();
        engine.scan(text.as_bytes(), FileContext::from_path(path), &mut hits);
        hits.iter()
            .filter_map(|h| match h.rule {
                RuleRef::Def(i) => Some((DEFS[i].id, text[h.start..h.end].to_string())),
                RuleRef::Known(_) => None,
            })
            .collect()
    }

    #[test]
    fn pem_needs_a_body() {
        let body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0";
        let real = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\nabc\n-----END RSA PRIVATE KEY-----\n");
        assert_eq!(scan(&real).len(), 1);
        let escaped = format!("{{\"key\": \"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n\"}}");
        assert_eq!(scan(&escaped).len(), 1);
        assert!(scan("if line.startswith('-----BEGIN RSA PRIVATE KEY-----'):\n    pass\n").is_empty());
        assert!(scan("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----").is_empty());
        assert!(scan(&format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----")).is_empty());
    }

    #[test]
    fn armor_is_skipped() {
        let text = "-----BEGIN AGE ENCRYPTED FILE-----\ntoken = Zq7xL2mN9pR4tV6wQ8\n-----END AGE ENCRYPTED FILE-----\n";
        assert!(scan(text).is_empty());
        assert_eq!(scan("token = Zq7xL2mN9pR4tV6wQ8\n").len(), 1); // agent-vault:allow
    }

    #[test]
    fn lockfiles_disable_generic() {
        let line = "token = Zq7xL2mN9pR4tV6wQ8\n"; // agent-vault:allow
        assert!(scan_path("a/yarn.lock", line).is_empty());
        assert_eq!(scan_path("a/yarn.txt", line).len(), 1);
    }

    #[test]
    fn aws_pair() {
        // Throwaway test vector, not a real key. agent-vault:allow
        let text =
            "[default]\naws_access_key_id = AKIAZ3MHLSQ4V7N2XQ5T\naws_secret_access_key = 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\n"; // agent-vault:allow
        let hits = scan(text);
        assert!(hits.iter().any(|(r, _)| *r == "aws-access-key-id"), "{hits:?}");
        assert!(hits.iter().any(|(r, _)| *r == "aws-secret-access-key"), "{hits:?}");
    }

    #[test]
    fn cached_line_bounds_agree() {
        let mut data = Vec::new();
        for i in 0..400 {
            data.extend(std::iter::repeat_n(b'x', (i * 37) % 9000));
            data.push(b'\n');
        }
        let mut st = State {
            scanned_until: Vec::new(),
            locs: Vec::new(),
            nl_free: (0, 0),
            aws_covered: 0,
            generic_until: 0,
            skip_until: 0,
            armor: Vec::new(),
        };
        for pos in (0..data.len()).step_by(97) {
            assert_eq!(st.line_bounds(&data, pos), line_bounds(&data, pos), "at {pos}");
        }
    }

    #[test]
    fn line_bounds_caps() {
        let data = b"ab\ncd\nef";
        assert_eq!(line_bounds(data, 4), (3, 5));
        assert_eq!(line_bounds(data, 0), (0, 2));
        assert_eq!(line_bounds(data, 7), (6, 8));
    }
}
