//! SARIF 2.1.0 rendering of findings, for code-scanning dashboards.
//!
//! One run, tool `git-vault`, one `reportingDescriptor` per rule. A finding's `ruleId` is its
//! rule id as printed (`vault-secret:<name>` included); `ruleIndex` points at the descriptor
//! (`vault-secret` for vault values). Only the redacted excerpt is included as a snippet.

use serde_json::{Value, json};

use super::{Finding, RuleInfo};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Renders `findings` as a SARIF 2.1.0 log; `rules` is normally [`super::rules()`].
pub fn sarif(findings: &[Finding], rules: &[RuleInfo]) -> Value {
    let descriptors: Vec<Value> = rules.iter().map(descriptor).collect();
    let results: Vec<Value> = findings.iter().map(|f| result(f, rules)).collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "git-vault",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": descriptors,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

fn descriptor(r: &RuleInfo) -> Value {
    json!({
        "id": r.id,
        "name": camel_name(r.id),
        "shortDescription": { "text": r.description },
        "fullDescription": { "text": r.description },
        "defaultConfiguration": { "level": "error" },
        "properties": { "tags": ["security", "secret"] },
    })
}

fn result(f: &Finding, rules: &[RuleInfo]) -> Value {
    let base = f.rule.split(':').next().unwrap_or(&f.rule);
    let mut r = json!({
        "ruleId": f.rule,
        "level": "error",
        "message": { "text": format!("Possible secret ({}) in {}:{}", f.rule, f.path, f.line) },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri_path(&f.path) },
                "region": { "startLine": f.line, "snippet": { "text": f.excerpt } },
            }
        }],
        "partialFingerprints": { "secretLocation/v1": format!("{}:{}:{}", f.rule, f.path, f.line) },
    });
    if let (Some(i), Some(obj)) = (rules.iter().position(|x| x.id == base), r.as_object_mut()) {
        obj.insert("ruleIndex".into(), json!(i));
    }
    r
}

/// `github-token` → `GithubToken` (SARIF `name` is a PascalCase identifier by convention).
fn camel_name(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Percent-encodes a relative path for `artifactLocation.uri` (keeps `/` and unreserved).
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.trim_start_matches("./").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sarif_shape() {
        let findings = vec![
            Finding { path: "a b/c.env".into(), line: 3, rule: "github-token".into(), excerpt: "T=ghp_****".into() },
            Finding { path: "x".into(), line: 1, rule: "vault-secret:db/pass".into(), excerpt: "****".into() },
        ];
        let v = sarif(&findings, crate::scan::rules());
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        let res = &run["results"];
        assert_eq!(res[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "a%20b/c.env");
        assert_eq!(res[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
        let idx = res[1]["ruleIndex"].as_u64().expect("index");
        let idx = usize::try_from(idx).expect("small");
        assert_eq!(run["tool"]["driver"]["rules"][idx]["id"], "vault-secret");
        assert_eq!(camel_name("aws-access-key-id"), "AwsAccessKeyId");
    }
}
