//! The generic assignment rules: `generic-password` and `generic-secret`.
//!
//! Around a keyword hit (`password`, `token`, `secret`, `api_key`, …) the identifier that
//! contains it is extracted and classified: its last meaningful component (after splitting on
//! `_ - .` and camelCase, and dropping suffixes such as `_value` or `_b64`) must be a secret
//! word (`password`, `token`, `secret`, `api` + `key`, …). Then an assignment operator is parsed
//! (`=`, `:`, `:=`, `=>`, `"name": …`, `<name>…</name>`, `--name value`, `setName("…")`, …)
//! and the value is judged: placeholders, references, paths, code expressions and prose are
//! rejected; entropy and character classes only break ties.
//! Everything works on the line slice with indices: no allocation per line.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::checks::{class_count, entropy, looks_fake, structurally_invalid};
use super::engine::find;

/// What a secret-like name holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameClass {
    Password,
    Secret,
}

/// A generic candidate: the class and the value span within the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub class: NameClass,
    pub start: usize,
    pub end: usize,
}

const PASSWORD_WORDS: &[&[u8]] = &[b"password", b"passwd", b"pass", b"pwd", b"passphrase", b"passcode"];
const SECRET_WORDS: &[&[u8]] = &[
    b"secret",
    b"secrets",
    b"token",
    b"apikey",
    b"credential",
    b"credentials",
    b"creds",
    b"auth",
    b"authorization",
    b"authtoken",
    b"accesstoken",
    b"secretkey",
    b"privatekey",
    b"accesskey",
    b"apitoken",
    b"authkey",
    b"masterkey",
    b"signingkey",
    b"encryptionkey",
    b"accountkey",
    b"clientsecret",
    b"apisecret",
];
const KEY_QUALIFIERS: &[&[u8]] = &[
    b"api",
    b"access",
    b"private",
    b"secret",
    b"auth",
    b"signing",
    b"encryption",
    b"encrypt",
    b"master",
    b"account",
    b"storage",
    b"admin",
    b"session",
    b"hmac",
    b"jwt",
    b"webhook",
    b"unseal",
    b"decryption",
    b"aes",
    b"cipher",
    b"recovery",
];
const NEUTRAL_SUFFIXES: &[&[u8]] = &[
    b"value",
    b"val",
    b"str",
    b"string",
    b"b64",
    b"base64",
    b"hex",
    b"raw",
    b"plain",
    b"plaintext",
    b"text",
    b"data",
    b"env",
    b"var",
    b"default",
    b"prod",
    b"production",
    b"dev",
    b"staging",
    b"local",
    b"live",
    b"current",
    b"new",
    b"old",
    b"base",
];
const NAME_DISQUALIFIERS: &[&[u8]] = &[
    b"public",
    b"publishable",
    b"pub",
    b"csrf",
    b"xsrf",
    b"example",
    b"sample",
    b"dummy",
    b"fake",
    b"mock",
    b"placeholder",
    b"no",
    b"is",
    b"has",
    b"use",
    b"enable",
    b"enabled",
    b"require",
    b"required",
    b"show",
    b"hide",
    b"min",
    b"max",
    b"reset",
    b"forgot",
];

/// `next_token`, `pad_token`, `max_tokens`, `ClientRequestToken`: tokens that are not credentials.
const TOKEN_STOPS: &[&[u8]] = &[
    b"request",
    b"idempotency",
    b"continuation",
    b"next",
    b"page",
    b"pagination",
    b"sync",
    b"output",
    b"input",
    b"cancellation",
    b"cancel",
    b"resume",
    b"marker",
    b"prompt",
    b"completion",
    b"bos",
    b"eos",
    b"pad",
    b"unk",
    b"sep",
    b"cls",
    b"mask",
    b"special",
    b"pattern",
    b"regex",
    b"type",
    b"kind",
    b"start",
    b"end",
    b"last",
    b"first",
    b"lexer",
    b"parse",
    b"split",
    b"word",
    b"sentence",
    b"verification",
    b"change",
    b"lock",
    b"action",
    b"lifecycle",
    b"state",
    b"upload",
    b"transaction",
    b"correlation",
    b"trace",
];

const MAX_PARTS: usize = 16;

/// Splits an identifier into components (ranges) on separators and camelCase boundaries.
fn split_parts(name: &[u8], out: &mut [(usize, usize); MAX_PARTS]) -> usize {
    let mut n = 0;
    let mut start = None::<usize>;
    for i in 0..=name.len() {
        let c = name.get(i).copied();
        let sep = c.is_none_or(|b| !b.is_ascii_alphanumeric());
        let camel = !sep && i > 0 && {
            let (p, b) = (name[i - 1], name[i]);
            let next_lower = name.get(i + 1).is_some_and(u8::is_ascii_lowercase);
            (p.is_ascii_lowercase() && b.is_ascii_uppercase())
                || (p.is_ascii_uppercase() && b.is_ascii_uppercase() && next_lower)
                || (p.is_ascii_alphabetic() && b.is_ascii_digit())
                || (p.is_ascii_digit() && b.is_ascii_alphabetic())
        };
        if let Some(s) = start.filter(|_| sep || camel) {
            if n < MAX_PARTS {
                out[n] = (s, i);
                n += 1;
            }
            start = None;
        }
        if !sep && start.is_none() {
            start = Some(i);
        }
    }
    n
}

fn is_one_of(word: &[u8], list: &[&[u8]]) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// `PGPASSWORD`, `dbpassword`, `APITOKEN`: a run-together name ending in a secret word of
/// five or more letters (short words such as `pass` or `auth` must stand alone).
fn ends_with_long_word(word: &[u8], list: &[&[u8]]) -> bool {
    list.iter().any(|w| w.len() >= 5 && word.len() > w.len() && ends_with_ci(word, w))
}

/// Classifies an identifier such as `DB_PASSWORD`, `apiKey` or `spring.datasource.password`.
pub(crate) fn classify_name(name: &[u8]) -> Option<NameClass> {
    let mut parts = [(0usize, 0usize); MAX_PARTS];
    let n = split_parts(name, &mut parts);
    let words = &parts[..n];
    if words.iter().any(|&(s, e)| is_one_of(&name[s..e], NAME_DISQUALIFIERS)) {
        return None;
    }
    let mut last = n;
    while last > 1 {
        let (s, e) = words[last - 1];
        let w = &name[s..e];
        if w.iter().all(u8::is_ascii_digit) || is_one_of(w, NEUTRAL_SUFFIXES) {
            last -= 1;
        } else {
            break;
        }
    }
    let &(s, e) = words.get(last.checked_sub(1)?)?;
    let word = &name[s..e];
    if is_one_of(word, PASSWORD_WORDS) || ends_with_long_word(word, PASSWORD_WORDS) {
        return Some(NameClass::Password);
    }
    if is_one_of(word, SECRET_WORDS) || ends_with_long_word(word, SECRET_WORDS) {
        let prev = last.checked_sub(2).map(|i| &name[words[i].0..words[i].1]);
        let stopped = word.eq_ignore_ascii_case(b"token") && prev.is_some_and(|p| is_one_of(p, TOKEN_STOPS));
        return (!stopped).then_some(NameClass::Secret);
    }
    let qualified_key =
        word.eq_ignore_ascii_case(b"key") && last >= 2 && is_one_of(&name[words[last - 2].0..words[last - 2].1], KEY_QUALIFIERS);
    qualified_key.then_some(NameClass::Secret)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

fn is_quote(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`')
}

fn skip_ws(line: &[u8], mut i: usize) -> usize {
    while line.get(i).is_some_and(|&b| b == b' ' || b == b'\t') {
        i += 1;
    }
    i
}

/// Extent of the identifier containing `pos` (leading `-` and trailing `.`/`-` trimmed).
pub(crate) fn identifier_at(line: &[u8], pos: usize) -> (usize, usize) {
    let mut s = pos;
    while s > 0 && is_name_byte(line[s - 1]) {
        s -= 1;
    }
    let mut e = pos;
    while e < line.len() && is_name_byte(line[e]) {
        e += 1;
    }
    while s < e && line[s] == b'-' {
        s += 1;
    }
    while e > s && matches!(line[e - 1], b'.' | b'-') {
        e -= 1;
    }
    (s, e)
}

/// How the value is introduced, which decides how strict the value check is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// `name = v`, `name: v`, `"name": v`, …
    Assign,
    /// Only a quoted value counts (`put("name", "v")`, `setName("v")`, `x || "v"`).
    QuotedOnly,
    /// `<name>v</name>`
    Xml,
}

/// Skips the closing quote (possibly backslash-escaped, as in JSON-in-JSON) of a quoted key.
fn skip_key_quote(line: &[u8], name_s: usize, mut i: usize) -> (Option<u8>, usize) {
    let q = name_s.checked_sub(1).map(|j| line[j]).filter(|&b| is_quote(b));
    if let Some(q) = q {
        if line.get(i) == Some(&b'\\') && line.get(i + 1) == Some(&q) {
            i += 2;
        } else if line.get(i) == Some(&q) {
            i += 1;
        }
    }
    (q, i)
}

/// Parses what follows an identifier; returns the value form and where the value starts.
fn parse_operator(line: &[u8], name_s: usize, name_e: usize) -> Option<(Form, usize)> {
    let (key_quote, mut i) = skip_key_quote(line, name_s, name_e);
    if line.get(i) == Some(&b']') {
        i += 1;
    }
    if name_s > 0 && line[name_s - 1] == b'<' && line.get(i) == Some(&b'>') {
        return Some((Form::Xml, i + 1));
    }
    let i = skip_ws(line, i);
    let rest = &line[i.min(line.len())..];
    let op_len = match rest {
        [b':', b'=', ..] | [b'=', b'>', ..] | [b'?', b'=', ..] => 2,
        [b'|', b'|', ..] | [b'?', b'?', ..] => return Some((Form::QuotedOnly, i + 2)),
        [b'=', b'=' | b'~', ..] | [b':', b':', ..] => return None,
        [b'=', ..] | [b':', ..] => 1,
        [b',', ..] if key_quote.is_some() && opens_call(line, name_s - 1) => return Some((Form::QuotedOnly, i + 1)),
        [b'(', ..] if callable(&line[name_s..name_e]) => return Some((Form::QuotedOnly, i + 1)),
        [b'(', ..] => return None,
        _ => return whitespace_form(line, name_s, name_e, i),
    };
    let after = i + op_len;
    if rest[0] == b':' && op_len == 1 {
        // `key: v` needs a space or a quote after the colon; `a:b` is a URL, ARN or host:port.
        let glued = line.get(after).is_some_and(|&b| !b.is_ascii_whitespace() && !is_quote(b) && b != b'\\');
        if glued {
            return None;
        }
        return Some((Form::Assign, skip_type_annotation(line, after)));
    }
    Some((Form::Assign, after))
}

/// First words that make a call a setter of the secret: `setPassword("v")`, `with_token("v")`,
/// `apiKey("v")`, `client_secret("v")`.
const CALL_PREFIXES: &[&[u8]] = &[
    b"set", b"with", b"use", b"add", b"put", b"client", b"access", b"refresh", b"bearer", b"bot", b"user", b"admin", b"db", b"root",
    b"app", b"auth", b"api", b"private", b"secret", b"signing", b"master", b"session", b"webhook",
];

/// Calls whose argument is the secret: a bare secret word (`.password("v")`, not `t.pass(…)`)
/// or a setter/compound (`setPassword("v")`, `apiKey("v")`); not `get_secret("name")`,
/// `splitpasswd("…")` or `should_pass("…")`.
fn callable(name: &[u8]) -> bool {
    let name = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
    let mut parts = [(0usize, 0usize); MAX_PARTS];
    let n = split_parts(name, &mut parts);
    if n == 1 {
        let secret_word = PASSWORD_WORDS.iter().chain(SECRET_WORDS).any(|w| w.len() >= 5 && w.eq_ignore_ascii_case(name));
        return secret_word && !is_one_of(name, &[b"secrets", b"credentials"]);
    }
    n > 1 && is_one_of(&name[parts[0].0..parts[0].1], CALL_PREFIXES)
}

/// The quoted key at `quote` is the first argument of a call: `put("password", "v")`.
fn opens_call(line: &[u8], quote: usize) -> bool {
    line[..quote].iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b'(')
}

/// `--name value`, `#define NAME "v"`, Dockerfile `ENV NAME v`, .NET `key="Name" value="v"`
/// and `.netrc` `password v`.
fn whitespace_form(line: &[u8], name_s: usize, name_e: usize, i: usize) -> Option<(Form, usize)> {
    let head = &line[..name_s];
    let trimmed = head.iter().position(|b| !b.is_ascii_whitespace()).map_or(&head[..0], |p| &head[p..]);
    if i == name_e {
        return None;
    }
    if name_s >= 2 && &line[name_s - 2..name_s] == b"--" {
        return Some((Form::Assign, i));
    }
    if trimmed == b"#define " || trimmed.eq_ignore_ascii_case(b"ENV ") {
        return Some((Form::Assign, i));
    }
    let netrc = trimmed.is_empty() || find(trimmed, b"machine ").is_some() || find(trimmed, b"login ").is_some();
    if netrc && matches!(&line[name_s..name_e], b"password" | b"passwd") {
        return Some((Form::Assign, i));
    }
    value_key_at(line, i).map(|j| (Form::QuotedOnly, j))
}

/// At `i`: `value=` / `"value":` / `Value:` (the value half of a name/value pair); returns
/// the offset after the operator.
fn value_key_at(line: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    if line.get(j).is_some_and(|&b| is_quote(b)) {
        j += 1;
    }
    let rest = &line[j.min(line.len())..];
    if rest.len() < 6 || !rest[..5].eq_ignore_ascii_case(b"value") {
        return None;
    }
    j += 5;
    if line.get(j).is_some_and(|&b| is_quote(b)) {
        j += 1;
    }
    let j = skip_ws(line, j);
    matches!(line.get(j), Some(b'=' | b':')).then_some(j + 1)
}

/// After `name:` skips a type annotation followed by ` = ` (`token: string = "…"`).
fn skip_type_annotation(line: &[u8], start: usize) -> usize {
    let s = skip_ws(line, start);
    let mut j = s;
    while line.get(j).is_some_and(|&b| b.is_ascii_alphanumeric() || b"_&<>[]'.?|".contains(&b)) {
        j += 1;
    }
    if j == s || line.get(j) != Some(&b' ') {
        return start;
    }
    let k = skip_ws(line, j);
    if line.get(k) == Some(&b'=') && !matches!(line.get(k + 1), Some(b'=' | b'>')) { k + 1 } else { start }
}

/// Extracts the value span starting at `i`; `quoted` tells whether it was a string literal.
fn parse_value(line: &[u8], i: usize, form: Form) -> Option<(usize, usize, bool)> {
    let mut i = skip_ws(line, i);
    if form == Form::Xml {
        let end = line[i..].iter().position(|&b| b == b'<').map(|p| i + p)?;
        return line[end..].starts_with(b"</").then_some((i, end, true));
    }
    if line.get(i).is_some_and(|b| b"rbfuRBFU@$".contains(b)) && line.get(i + 1).is_some_and(|&b| is_quote(b)) {
        i += 1;
    }
    let escaped = line.get(i) == Some(&b'\\') && line.get(i + 1).is_some_and(|&b| is_quote(b));
    if escaped {
        i += 1;
    }
    let c = *line.get(i)?;
    if is_quote(c) {
        return quoted_span(line, i, c, escaped).map(|(s, e)| (s, e, true));
    }
    if form == Form::QuotedOnly {
        return None;
    }
    let end = line[i..].iter().position(|&b| b.is_ascii_whitespace() || b",;)}]<>\"'`".contains(&b)).map_or(line.len(), |p| i + p);
    Some((i, end, false))
}

/// The contents of a string literal opened by quote `q` at `i` (`\"…\"` when `escaped`).
fn quoted_span(line: &[u8], i: usize, q: u8, escaped: bool) -> Option<(usize, usize)> {
    if !escaped && line.get(i + 1) == Some(&q) && line.get(i + 2) == Some(&q) {
        return None;
    }
    let mut j = i + 1;
    while j < line.len() {
        if line[j] == b'\\' {
            if escaped && line.get(j + 1) == Some(&q) {
                return Some((i + 1, j));
            }
            j += 2;
        } else if line[j] == q && !escaped {
            return Some((i + 1, j));
        } else {
            j += 1;
        }
    }
    None
}

/// What a keyword hit produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    None,
    Found(Candidate),
    /// `- name: DB_PASSWORD` whose value may be on the next line (`value: …`).
    ValueOnNextLine(NameClass),
}

/// Examines the identifier around keyword hit `pos` in `line`. Returns the identifier end
/// (so the caller can skip further hits inside it) and the outcome.
/// Which unquoted values the caller accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bare {
    /// Config, env and shell files: `NAME=value` is a literal.
    Literal,
    /// Program source: a bare value is code, except inside a string literal
    /// (`"host=db password=v"`, `"…?api_key=v&…"`).
    InStringOnly,
    /// Minified bundles and very long lines: only string literals count.
    Never,
}

/// Whether offset `i` of `line` is inside a `"…"` or `'…'` literal (quote parity).
fn inside_string(line: &[u8], i: usize) -> bool {
    let head = &line[..i];
    let count = |q: u8| head.iter().enumerate().filter(|&(j, &b)| b == q && (j == 0 || head[j - 1] != b'\\')).count();
    count(b'"') % 2 == 1 || count(b'\'') % 2 == 1
}

pub(crate) fn scan_hit(line: &[u8], pos: usize, bare: Bare) -> (usize, Outcome) {
    let (ns, ne) = identifier_at(line, pos);
    let name = &line[ns..ne];
    if is_one_of(name, CLI_TOOLS) {
        let c = cli_password(line, ne).map(|(start, end)| Candidate { class: NameClass::Password, start, end });
        return (ne, c.map_or(Outcome::None, Outcome::Found));
    }
    let Some(class) = classify_name(name) else { return (ne, Outcome::None) };
    if let Some(o) = name_value_pair(line, ns, ne, class) {
        return (ne, o);
    }
    let Some((form, vs)) = parse_operator(line, ns, ne) else { return (ne, Outcome::None) };
    let Some((s, mut e, quoted)) = parse_value(line, vs, form) else { return (ne, Outcome::None) };
    let bare_ok = match bare {
        Bare::Literal => true,
        Bare::InStringOnly => inside_string(line, ns),
        Bare::Never => false,
    };
    if !quoted && !bare_ok {
        return (ne, Outcome::None);
    }
    if !quoted && ns > 0 && matches!(line[ns - 1], b'?' | b'&') {
        // A URL query parameter ends at the next `&` or `#`.
        e = line[s..e].iter().position(|b| b"&#".contains(b)).map_or(e, |p| s + p);
    }
    let span = if name.eq_ignore_ascii_case(b"authorization") {
        judge_authorization(line, s, e, quoted)
    } else {
        value_plausible(class, &line[s..e], quoted).then_some((s, e))
    };
    // UUIDs named `…token` are idempotency/request tokens far more often than credentials.
    let span = span.filter(|&(s, e)| !(is_uuid(&line[s..e]) && ends_with_ci(name, b"token")));
    let found = span.map(|(start, end)| Candidate { class, start, end });
    (ne, found.map_or(Outcome::None, Outcome::Found))
}

fn is_uuid(v: &[u8]) -> bool {
    v.len() == 36 && v.iter().enumerate().all(|(i, &b)| if [8, 13, 18, 23].contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() })
}

/// `name: DB_PASSWORD` / `"name": "DB_PASSWORD"` (Kubernetes env, ECS task definitions):
/// the value follows as `value: …` on the same line or the next one.
fn name_value_pair(line: &[u8], ns: usize, ne: usize, class: NameClass) -> Option<Outcome> {
    let mut h = ns;
    if h > 0 && is_quote(line[h - 1]) {
        h -= 1;
    }
    let head = line[..h].trim_ascii_end();
    let head = head.strip_suffix(b":")?.trim_ascii_end();
    let head = head.strip_suffix(b"\"").unwrap_or(head);
    if !ends_with_ci(head, b"name") || head.len() > 4 && head[head.len() - 5].is_ascii_alphanumeric() {
        return None;
    }
    let (_, i) = skip_key_quote(line, ns, ne);
    let i = skip_ws(line, i);
    let i = if line.get(i) == Some(&b',') { skip_ws(line, i + 1) } else { i };
    if i >= line.trim_ascii_end().len() {
        return Some(Outcome::ValueOnNextLine(class));
    }
    let vs = value_key_at(line, i)?;
    let (s, e, quoted) = parse_value(line, vs, Form::Assign)?;
    let ok = value_plausible(class, &line[s..e], quoted);
    Some(if ok { Outcome::Found(Candidate { class, start: s, end: e }) } else { Outcome::None })
}

/// The `value: …` line that follows a `name: SECRET_NAME` line.
pub(crate) fn next_line_value(line: &[u8], class: NameClass) -> Option<Candidate> {
    let i = skip_ws(line, 0);
    let i = if line.get(i) == Some(&b'-') { skip_ws(line, i + 1) } else { i };
    let vs = value_key_at(line, i)?;
    let (s, e, quoted) = parse_value(line, vs, Form::Assign)?;
    value_plausible(class, &line[s..e], quoted).then_some(Candidate { class, start: s, end: e })
}

const CLI_TOOLS: &[&[u8]] = &[b"curl", b"sshpass", b"mysql", b"mariadb", b"redis-cli"];

/// Next whitespace-separated token at or after `i` (quotes stripped): (start, end, next).
fn next_token(line: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    let s = skip_ws(line, i);
    let q = *line.get(s)?;
    if is_quote(q) {
        let e = line[s + 1..].iter().position(|&b| b == q).map(|p| s + 1 + p)?;
        return Some((s + 1, e, e + 1));
    }
    let e = line[s..].iter().position(|b| b.is_ascii_whitespace()).map_or(line.len(), |p| s + p);
    (e > s).then_some((s, e, e))
}

/// Password given on a command line: `curl -u user:pw`, `sshpass -p pw`, `mysql -ppw`,
/// `redis-cli -a pw`.
fn cli_password(line: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let mut steps = 0;
    while let Some((s, e, next)) = next_token(line, i) {
        let tok = &line[s..e];
        if matches!(tok, b"|" | b"&&" | b";" | b"||") || steps > 40 {
            return None;
        }
        let span = match tok {
            b"-u" | b"--user" | b"-p" | b"-a" | b"--pass" => next_token(line, next).map(|(a, b, _)| (a, b)),
            [b'-', b'u' | b'p', ..] if tok.len() > 2 => Some((s + 2, e)),
            _ => None,
        };
        let user_flag = matches!(tok, b"-u" | b"--user") || tok.starts_with(b"-u");
        if let Some((a, b)) = span {
            let colon = line[a..b].iter().position(|&c| c == b':');
            let (a, b) = match colon {
                Some(c) if user_flag => (a + c + 1, b),
                _ => (a, b),
            };
            if (!user_flag || colon.is_some()) && password_plausible(&line[a..b]) {
                return Some((a, b));
            }
        }
        i = next;
        steps += 1;
    }
    None
}

const AUTH_SCHEMES: &[&[u8]] = &[b"bearer", b"basic", b"token", b"bot", b"apikey", b"key"];

/// `Authorization: Bearer x` / `Token x` / `Basic base64(user:pass)`; returns the credential span.
fn judge_authorization(line: &[u8], s: usize, e: usize, quoted: bool) -> Option<(usize, usize)> {
    let v = &line[s..e];
    let (scheme, cs, ce) = if let Some(sp) = v.iter().position(|&b| b == b' ') {
        (&v[..sp], skip_ws(line, s + sp), e)
    } else if !quoted
        && v.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && (is_one_of(v, AUTH_SCHEMES) || line.get(e) == Some(&b' '))
    {
        let cs = skip_ws(line, e);
        let ce = line[cs..].iter().position(|&b| b.is_ascii_whitespace() || b"\"',;".contains(&b)).map_or(line.len(), |p| cs + p);
        (v, cs, ce)
    } else {
        (&v[..0], s, e)
    };
    let cred = &line[cs..ce];
    let ok = if scheme.eq_ignore_ascii_case(b"basic") {
        STANDARD.decode(cred).ok().is_some_and(|raw| raw.iter().position(|&b| b == b':').is_some_and(|c| password_plausible(&raw[c + 1..])))
    } else {
        value_plausible(NameClass::Secret, cred, quoted || !scheme.is_empty())
    };
    ok.then_some((cs, ce))
}

const REFERENCE_PREFIXES: &[&[u8]] = &[
    b"arn:",
    b"op://",
    b"vault:",
    b"ref+",
    b"sm://",
    b"secret://",
    b"projects/",
    b"env:",
    b"file:",
    b"http://",
    b"https://",
    b"s3://",
    b"gs://",
    b"azurekeyvault",
    b"awskms",
    b"sops:",
    b"enc[",
    b"enc(",
];
const FILE_SUFFIXES: &[&[u8]] = &[
    b".pem", b".key", b".json", b".txt", b".yaml", b".yml", b".crt", b".p12", b".pfx", b".jks", b".env", b".cfg", b".conf", b".gpg",
    b".asc", b".age", b".enc",
];
/// Template openers and the closer that must follow them (`${VAR}`, `{{ v }}`, `%(v)s`, …).
const TEMPLATES: &[(&[u8], &[u8])] = &[
    (b"${", b"}"),
    (b"{{", b"}}"),
    (b"#{", b"}"),
    (b"%(", b")"),
    (b"$(", b")"),
    (b"<%", b"%>"),
    (b"{0}", b""),
    (b"{}", b""),
    (b"@@", b"@@"),
    (b"{", b"}"),
];

fn has_template(v: &[u8]) -> bool {
    TEMPLATES.iter().any(|(open, close)| {
        find(v, open).is_some_and(|p| {
            let rest = &v[p + open.len()..];
            let ident_next = rest.first().is_none_or(|b| b.is_ascii_alphabetic() || b"_ .@".contains(b));
            close.is_empty() || (ident_next && find(rest, close).is_some())
        })
    })
}

fn starts_with_ci(v: &[u8], p: &[u8]) -> bool {
    v.len() >= p.len() && v[..p.len()].eq_ignore_ascii_case(p)
}

fn ends_with_ci(v: &[u8], p: &[u8]) -> bool {
    v.len() >= p.len() && v[v.len() - p.len()..].eq_ignore_ascii_case(p)
}

/// A filesystem path: a path prefix, only path characters, and no random-looking segment.
fn is_path(v: &[u8]) -> bool {
    let prefixed = [&b"/"[..], b"./", b"../", b"~/", b"c:\\"].iter().any(|p| starts_with_ci(v, p));
    let random_segment = |seg: &[u8]| {
        seg.len() >= 12 && [u8::is_ascii_uppercase, u8::is_ascii_lowercase, u8::is_ascii_digit].iter().all(|f| seg.iter().any(f))
    };
    let ext = v.iter().rposition(|&b| b == b'.').map(|p| &v[p + 1..]);
    let file_like = v.contains(&b'/') && ext.is_some_and(|e| (1..=5).contains(&e.len()) && e.iter().all(u8::is_ascii_lowercase));
    file_like
        || (prefixed
            && v.iter().all(|&b| b.is_ascii_alphanumeric() || b"_.-/~\\:@*".contains(&b))
            && !v.split(|&b| b == b'/' || b == b'\\').any(random_segment))
}

/// Values that are references, templates, paths or placeholders rather than secrets.
fn is_reference(v: &[u8], quoted: bool) -> bool {
    let first = v.first().copied().unwrap_or(b' ');
    let last = v.last().copied().unwrap_or(b' ');
    let wrapped = (first == b'<' && last == b'>') || (first == b'%' && last == b'%') || b"{[".contains(&first);
    let var = first == b'$' && v.get(1).is_some_and(|b| b.is_ascii_alphabetic() || b"_{(".contains(b));
    let bare_sigil = !quoted && b"$%&*!@{[(<|>".contains(&first);
    REFERENCE_PREFIXES.iter().any(|p| starts_with_ci(v, p))
        || FILE_SUFFIXES.iter().any(|p| ends_with_ci(v, p))
        || is_path(v)
        || has_template(v)
        || wrapped
        || var
        || bare_sigil
        || looks_fake(v)
        || structurally_invalid(v)
}

/// Code rather than a literal: identifiers, dotted paths, calls, indexing.
fn is_code_expression(v: &[u8]) -> bool {
    let v = v.trim_ascii_end();
    let core = v.strip_suffix(b"!").or_else(|| v.strip_suffix(b"?")).unwrap_or(v);
    let dotted = core.contains(&b'.')
        && core.split(|&b| b == b'.').all(|seg| seg.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_' || *b == b'$'));
    v.contains(&b'(')
        || v.contains(&b'[')
        || v.windows(2).any(|w| w == b"->" || w == b"::")
        || core.iter().all(|&b| b.is_ascii_alphabetic() || b == b'_' || b == b'.')
        || (dotted && core.iter().all(|&b| b.is_ascii_alphanumeric() || b"_.$".contains(&b)))
}

/// Single-case words or numbers joined by `_ - . /` (`db-password`, `prod/api/token`,
/// `my-pass-2024`, `DEPLOY_KEY`): a name or path, not a secret.
fn is_wordy(v: &[u8]) -> bool {
    let seps = |b: &u8| b"_-./".contains(b);
    let lower = v.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || seps(b));
    let upper = v.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || seps(b) || *b == b'=');
    (lower || upper)
        && v.split(|b| seps(b) || *b == b'=')
            .all(|seg| seg.len() <= 3 || seg.iter().all(u8::is_ascii_alphabetic) || seg.iter().all(u8::is_ascii_digit))
}

/// `ExclusiveStartShardId`, `CloudFrontOriginAccessIdentityList.NextMarker`,
/// `Access-Control-Allow-Credentials`: identifiers (letter-only words of 3+ characters joined
/// by `. _ - /`), not random strings.
fn is_identifier_like(v: &[u8]) -> bool {
    v.split(|b| b"._-/".contains(b)).all(|seg| {
        let mut parts = [(0usize, 0usize); MAX_PARTS];
        let n = split_parts(seg, &mut parts);
        !seg.is_empty()
            && seg.iter().all(|&b| b.is_ascii_alphabetic() || b == b'_')
            && n > 0
            && n < MAX_PARTS
            && parts[..n].iter().all(|&(a, b)| b - a >= 3)
    })
}

fn distinct(v: &[u8]) -> usize {
    let mut seen = [false; 256];
    v.iter().filter(|&&b| !std::mem::replace(&mut seen[usize::from(b)], true)).count()
}

/// Base64 that decodes to printable text (`.npmrc` `_password`, Docker `auth`): the text.
fn decoded_printable(v: &[u8]) -> Option<Vec<u8>> {
    if v.len() < 8 || !v.len().is_multiple_of(4) {
        return None;
    }
    let raw = STANDARD.decode(v).ok()?;
    raw.iter().all(|b| (0x20..0x7f).contains(b)).then_some(raw)
}

/// Whether a literal value assigned to a secret-like name looks like a real secret.
pub(crate) fn value_plausible(class: NameClass, v: &[u8], quoted: bool) -> bool {
    if let Some(text) = decoded_printable(v) {
        let secret_part = text.iter().position(|&b| b == b':').map_or(&text[..], |c| &text[c + 1..]);
        return password_plausible(secret_part) && (class == NameClass::Password || token_plausible(v));
    }
    value_plausible_raw(class, v, quoted)
}

fn value_plausible_raw(class: NameClass, v: &[u8], quoted: bool) -> bool {
    if v.iter().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) || is_reference(v, quoted) {
        return false;
    }
    if (!quoted && is_code_expression(v)) || is_wordy(v) || !v.is_ascii() || is_identifier_like(v) {
        return false;
    }
    match class {
        NameClass::Password => password_plausible(v),
        NameClass::Secret => token_plausible(v),
    }
}

/// A password: 6–256 bytes, not letters only, some variety, no placeholder markers.
pub(crate) fn password_plausible(v: &[u8]) -> bool {
    (6..=256).contains(&v.len())
        && v.is_ascii()
        && !is_wordy(v)
        && !v.iter().all(u8::is_ascii_alphabetic)
        && !v.iter().all(u8::is_ascii_digit)
        && class_count(v) >= 2
        && distinct(v) >= 5
        && !is_reference(v, true)
        && !v.iter().any(u8::is_ascii_whitespace)
}

/// A token or key: 12–4096 bytes with token-like variety (entropy as the tie-breaker).
fn token_plausible(v: &[u8]) -> bool {
    if !(12..=4096).contains(&v.len()) {
        return false;
    }
    let letters_only = v.iter().all(u8::is_ascii_alphabetic);
    let (min_len, min_entropy) = if letters_only { (20, 3.5) } else { (12, 3.0) };
    v.len() >= min_len && class_count(v) >= 2 && distinct(v) >= 8 && entropy(v) >= min_entropy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(n: &str) -> Option<NameClass> {
        classify_name(n.as_bytes())
    }

    #[test]
    fn names() {
        use NameClass::*;
        assert_eq!(class("DB_PASSWORD"), Some(Password));
        assert_eq!(class("spring.datasource.password"), Some(Password));
        assert_eq!(class("apiKey"), Some(Secret));
        assert_eq!(class("APIKey"), Some(Secret));
        assert_eq!(class("AWS_SECRET_ACCESS_KEY"), Some(Secret));
        assert_eq!(class("client_secret"), Some(Secret));
        assert_eq!(class("GITHUB_TOKEN"), Some(Secret));
        assert_eq!(class("secret_key_base"), Some(Secret));
        assert_eq!(class("SECRET_KEY"), Some(Secret));
        assert_eq!(class("password2"), Some(Password));
        assert_eq!(class("token_value"), Some(Secret));
        assert_eq!(class("token_url"), None);
        assert_eq!(class("password_hash"), None);
        assert_eq!(class("public_key"), None);
        assert_eq!(class("max_tokens"), None);
        assert_eq!(class("passport"), None);
        assert_eq!(class("bypass"), None);
        assert_eq!(class("primary_key"), None);
    }

    fn hit(line: &str, word: &str) -> Option<String> {
        let pos = line.to_ascii_lowercase().find(&word.to_ascii_lowercase()).expect("word in line");
        match scan_hit(line.as_bytes(), pos, Bare::Literal).1 {
            Outcome::Found(c) => Some(line[c.start..c.end].to_string()),
            _ => None,
        }
    }

    #[test]
    fn assignment_forms() {
        let v = "Zq7xL2mN9pR4tV6w";
        for line in [
            format!("PASSWORD={v}"),
            format!("export DB_PASSWORD=\"{v}\""),
            format!("password: {v}"),
            format!("  \"password\": \"{v}\","),
            format!("password = '{v}'"),
            format!("$password = \"{v}\";"),
            format!("os.environ[\"DB_PASSWORD\"] = \"{v}\""),
            format!("<password>{v}</password>"),
            format!("conn.setPassword(\"{v}\");"),
            format!("mytool --password {v}"),
            format!("const password: string = \"{v}\";"),
            format!("#define PASSWORD \"{v}\""),
            format!("props.put(\"password\", \"{v}\");"),
            format!("password := \"{v}\""),
            format!(":password => '{v}',"),
            format!("\"os.environ[\\\"DB_PASSWORD\\\"] = \\\"{v}\\\"\\n\","),
            format!("const pw = process.env.DB_PASSWORD || '{v}';"),
            format!("<add key=\"SmtpPassword\" value=\"{v}\" />"),
            format!("{{\"name\": \"DB_PASSWORD\", \"value\": \"{v}\"}}"),
            format!("  password {v}"),
        ] {
            assert_eq!(hit(&line, "assword").as_deref(), Some(v), "{line}");
        }
    }

    #[test]
    fn rejected_values() {
        for line in [
            "password = os.getenv(\"DB_PASSWORD\")",
            "password: ${DB_PASSWORD}",
            "password = \"{{ vault_password }}\"",
            "password = \"%(password)s\"",
            "password: <your-password>",
            "password = password",
            "password = self.password",
            "PASSWORD=changeme",
            "password: \"Enter your password\"",
            "if password == \"Zq7xL2mN9pR4tV6w\":",
            "password_file = /run/secrets/db.txt",
            "password: !vault |",
            "token = process.env.API_TOKEN",
            "api_key: \"********\"",
            "api_key = \"your-api-key-here\"",
            "token: arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
            "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        ] {
            let lower = line.to_ascii_lowercase();
            let word = ["assword", "token", "api_key", "authorization"].into_iter().find(|w| lower.contains(w)).expect("kw");
            assert_eq!(hit(line, word), None, "{line}");
        }
    }

    #[test]
    fn cli_and_next_line() {
        let v = "Zq7xL2mN9pR4tV6w";
        for (line, tool) in [
            (format!("curl -sf -u \"deployer:{v}\" https://x"), "curl"),
            (format!("sshpass -p '{v}' ssh host"), "sshpass"),
            (format!("mysql -u root -p{v} db"), "mysql"),
            (format!("redis-cli -h cache -a {v} ping"), "redis-cli"),
        ] {
            assert_eq!(hit(&line, tool).as_deref(), Some(v), "{line}");
        }
        assert_eq!(hit("curl -u user https://x", "curl"), None);
        let line = "  - name: DATABASE_PASSWORD";
        let pos = line.find("PASSWORD").expect("kw");
        assert_eq!(scan_hit(line.as_bytes(), pos, Bare::Literal).1, Outcome::ValueOnNextLine(NameClass::Password));
        let next = format!("    value: \"{v}\"");
        let c = next_line_value(next.as_bytes(), NameClass::Password).expect("value");
        assert_eq!(&next[c.start..c.end], v);
    }

    #[test]
    fn token_values() {
        assert!(hit("API_KEY=4f9c2a7e1b8d3f6a0c5e9b2d7a4f1c8e", "API_KEY").is_some()); // agent-vault:allow
        assert!(hit("Authorization: Bearer q8Zr2LmX0pVt7KsWc4NdQ1", "Authorization").is_some()); // agent-vault:allow
        assert!(hit("api_key = \"abc\"", "api_key").is_none());
    }
}
