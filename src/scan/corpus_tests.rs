//! Corpus evaluation: recall on labelled positives and false-positive rate on hard negatives
//! (`fixtures/scan/`, rendered by `fixtures/scan/gen_corpus.py`).
//!
//! Definitions (printed by the test):
//! - **recall** = labelled `(file, line, rule)` triples reported with exactly that rule ÷ all
//!   labelled triples in `positives/` (`labels.json`).
//! - **false-positive rate** = flagged *cases* ÷ all *cases*, where a case is a "hard" line —
//!   one a naive scanner would look at: it contains a secret-ish keyword (`pass`, `secret`,
//!   `token`, `key`, `auth`, `BEGIN`, `://`, …) or a 16+ character token — in every text
//!   file of `negatives/`, plus the unlabelled hard lines of `positives/`; each binary or
//!   ciphertext file and each synthetic case (oversized file, binary with a token) counts as
//!   one case. A case is flagged when any finding is reported on it.
//!
//! The fixtures directory is `$GIT_VAULT_FIXTURES` (default: `<crate>/fixtures`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::bytes::Regex;
use secrecy::SecretBox;

use super::{Finding, KnownValue, ScanOptions, Scanner, rules};

const MIN_RECALL: f64 = 0.95;
const MAX_FP_RATE: f64 = 0.01;

fn fixtures_root() -> PathBuf {
    let base = std::env::var_os("GIT_VAULT_FIXTURES")
        .map_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")), PathBuf::from);
    base.join("scan")
}

/// All regular files under `dir`, as paths relative to `root` with `/` separators.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("readable fixture dir").flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::path);
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            let rel = p.strip_prefix(root).expect("under root").to_string_lossy().replace('\\', "/");
            out.push(rel);
        }
    }
}

fn known_values(root: &Path) -> Vec<KnownValue> {
    let text = std::fs::read_to_string(root.join("known-values.json")).expect("known-values.json");
    let map: BTreeMap<String, String> = serde_json::from_str(&text).expect("known values map");
    map.into_iter().map(|(name, v)| KnownValue { name, value: SecretBox::new(v.into_bytes().into_boxed_slice()) }).collect()
}

type Triple = (String, usize, String);

fn labels(root: &Path) -> BTreeSet<Triple> {
    #[derive(serde::Deserialize)]
    struct Label {
        line: usize,
        rule: String,
    }
    #[derive(serde::Deserialize)]
    struct Labels {
        positives: BTreeMap<String, Vec<Label>>,
    }
    let text = std::fs::read_to_string(root.join("labels.json")).expect("labels.json");
    let l: Labels = serde_json::from_str(&text).expect("labels format");
    l.positives.into_iter().flat_map(|(f, v)| v.into_iter().map(move |x| (f.clone(), x.line, x.rule))).collect()
}

fn hard_line_regex() -> Regex {
    regex::bytes::RegexBuilder::new(
        r"(?i)pass|pwd|secret|token|key|auth|cred|private|begin|akia|sk[-_]|gh[pousr]_|xox|eyj|aiza|://|[A-Za-z0-9+/=_\-]{16,}",
    )
    .unicode(false)
    .build()
    .expect("valid regex")
}

fn is_binary_or_ciphertext(data: &[u8]) -> bool {
    data[..data.len().min(8192)].contains(&0) || data.starts_with(b"age-encryption.org/v1")
}

/// Hard lines (1-based numbers) of a text file; a binary file is one case (line 0).
fn cases(data: &[u8], hard: &Regex) -> Vec<usize> {
    if is_binary_or_ciphertext(data) {
        return vec![0];
    }
    data.split(|&b| b == b'\n').enumerate().filter(|(_, l)| hard.is_match(l)).map(|(i, _)| i + 1).collect()
}

#[derive(Default)]
struct Tally {
    labelled: usize,
    found: usize,
    cases: usize,
    flagged: usize,
    negative_files: usize,
    negative_files_flagged: usize,
    misses: Vec<Triple>,
    false_alarms: Vec<Finding>,
    per_rule: BTreeMap<String, (usize, usize)>,
}

fn flagged_line(f: &Finding, data: &[u8]) -> usize {
    if is_binary_or_ciphertext(data) { 0 } else { f.line }
}

fn eval_positives(scanner: &Scanner, root: &Path, files: &[String], t: &mut Tally, hard: &Regex) {
    let labels = labels(root);
    for rel in files.iter().filter(|f| f.starts_with("positives/")) {
        let data = std::fs::read(root.join(rel)).expect("fixture readable");
        let findings = scanner.scan_bytes(rel, &data);
        let found: BTreeSet<Triple> = findings.iter().map(|f| (f.path.clone(), f.line, f.rule.clone())).collect();
        let mine: Vec<&Triple> = labels.iter().filter(|l| l.0 == *rel).collect();
        let labelled_lines: BTreeSet<usize> = mine.iter().map(|l| l.1).collect();
        for l in &mine {
            let hit = found.contains(*l);
            let e = t.per_rule.entry(rule_family(&l.2)).or_default();
            e.0 += 1;
            e.1 += usize::from(hit);
            t.labelled += 1;
            t.found += usize::from(hit);
            if !hit {
                t.misses.push((*l).clone());
            }
        }
        let unlabelled: BTreeSet<usize> = cases(&data, hard).into_iter().filter(|n| !labelled_lines.contains(n)).collect();
        t.cases += unlabelled.len();
        let bad: Vec<&Finding> = findings.iter().filter(|f| !labelled_lines.contains(&f.line)).collect();
        let bad_lines: BTreeSet<usize> = bad.iter().map(|f| f.line).collect();
        t.flagged += bad_lines.len();
        t.cases += bad_lines.iter().filter(|n| !unlabelled.contains(n)).count();
        t.false_alarms.extend(bad.into_iter().cloned());
    }
}

fn eval_negative(scanner: &Scanner, rel: &str, data: &[u8], t: &mut Tally, hard: &Regex) {
    let findings = scanner.scan_bytes(rel, data);
    let case_lines: BTreeSet<usize> = cases(data, hard).into_iter().collect();
    let flagged: BTreeSet<usize> = findings.iter().map(|f| flagged_line(f, data)).collect();
    t.cases += case_lines.len() + flagged.iter().filter(|n| !case_lines.contains(n)).count();
    t.flagged += flagged.len();
    t.negative_files += 1;
    t.negative_files_flagged += usize::from(!findings.is_empty());
    t.false_alarms.extend(findings);
}

/// Oversized files and binaries are skipped even when they contain a secret.
fn synthetic_negatives(scanner: &Scanner, t: &mut Tally, hard: &Regex) {
    let token = "AKIAZ7VQ3LMX2K4PWR6T"; // throwaway test vector agent-vault:allow
    let mut big = format!("aws_access_key_id = {token}\n").into_bytes();
    big.resize(usize::try_from(scanner.max_file_size()).expect("fits") + 1, b'a');
    eval_negative(scanner, "synthetic/oversized.txt", &big, t, hard);
    let mut bin = vec![0u8, 1, 2, 3];
    bin.extend_from_slice(token.as_bytes());
    eval_negative(scanner, "synthetic/binary.dat", &bin, t, hard);
}

fn rule_family(rule: &str) -> String {
    rule.split(':').next().unwrap_or(rule).to_string()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn report(t: &Tally) {
    println!("per-rule recall:");
    for (rule, (n, hit)) in &t.per_rule {
        println!("  {rule:<28} {hit:>3}/{n:<3}");
    }
    for m in &t.misses {
        println!("MISS {}:{} {}", m.0, m.1, m.2);
    }
    for f in &t.false_alarms {
        println!("FALSE ALARM {}:{} {} {}", f.path, f.line, f.rule, f.excerpt);
    }
    println!(
        "corpus: recall {:.4} ({}/{} labelled secrets); false-positive rate {:.4} ({}/{} hard cases); \
         negative files flagged {}/{}",
        ratio(t.found, t.labelled),
        t.found,
        t.labelled,
        ratio(t.flagged, t.cases),
        t.flagged,
        t.cases,
        t.negative_files_flagged,
        t.negative_files,
    );
}

#[test]
fn corpus_recall_and_false_positive_rate() {
    let root = fixtures_root();
    let mut files = Vec::new();
    walk(&root, &root.join("positives"), &mut files);
    walk(&root, &root.join("negatives"), &mut files);
    let scanner = Scanner::new(ScanOptions { known_values: known_values(&root), ..ScanOptions::default() }).expect("scanner builds");
    let hard = hard_line_regex();
    let mut t = Tally::default();
    eval_positives(&scanner, &root, &files, &mut t, &hard);
    for rel in files.iter().filter(|f| f.starts_with("negatives/")) {
        let data = std::fs::read(root.join(rel)).expect("fixture readable");
        eval_negative(&scanner, rel, &data, &mut t, &hard);
    }
    synthetic_negatives(&scanner, &mut t, &hard);
    report(&t);
    for r in rules() {
        assert!(t.per_rule.contains_key(r.id), "rule {} has no labelled positive in the corpus", r.id);
    }
    assert!(t.labelled >= 150, "corpus too small: {} positives", t.labelled);
    assert!(t.cases >= 300, "corpus too small: {} negative cases", t.cases);
    assert!(ratio(t.found, t.labelled) >= MIN_RECALL, "recall regressed");
    assert!(ratio(t.flagged, t.cases) <= MAX_FP_RATE, "false-positive rate regressed");
}
