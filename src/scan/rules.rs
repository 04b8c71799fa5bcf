//! The rule table: one entry per detector, with the keywords that gate it.
//!
//! Every rule is *keyword-gated*: the engine runs an Aho-Corasick search for all keywords
//! (ASCII case-insensitive) over the file, and a rule's matcher runs only on the line (or the
//! small window) around one of its keywords. Token patterns are compiled in bytes mode with
//! Unicode disabled, so `[^…]` classes match any byte and `\b` is the ASCII word boundary.
//! A pattern's secret is its capture group named `s` (the whole match when there is none).

use serde::Serialize;

/// Public description of a rule, for SARIF output and documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    /// Stable rule id as printed in findings, e.g. `github-token`.
    pub id: &'static str,
    /// One-sentence description.
    pub description: &'static str,
}

/// How a rule finds its candidates around a keyword hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regex over the keyword's line; the `s` group is the secret.
    Token,
    /// A `-----BEGIN … PRIVATE KEY-----` header followed by a real key body.
    PemBlock,
    /// A base64-encoded PEM private key (`LS0tLS1CRUdJTi…`).
    PemBase64,
    /// A 40-character AWS secret key within a few lines of an AWS keyword.
    AwsSecret,
    /// `"type": "service_account"` with a `private_key` in the same object.
    GcpServiceAccount,
    /// `name = value` assignments of secret-looking names (see `generic.rs`).
    Generic,
}

/// Structural or plausibility check applied to a candidate secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// Bech32 checksum of an age identity.
    AgeBech32,
    /// AWS key id: base32 alphabet (enforced by the pattern), not a documented example.
    AwsKeyId,
    /// GitHub classic tokens carry a CRC32 of their random part; fine-grained PATs are
    /// checked for randomness.
    Github,
    /// npm tokens: CRC32 like GitHub, or else a random-looking body.
    Npm,
    /// Header decodes to a JSON object with `alg`; payload is a JSON object.
    Jwt,
    /// The body after `skip` bytes must look random (no placeholder, enough variety).
    Random { skip: usize },
    /// Same as `Random`, but the value may be a bare token after `_authToken=`.
    NpmAuthToken,
    /// The password part of `scheme://user:password@host`.
    UrlPassword,
}

/// One rule of the table.
#[derive(Debug)]
pub(crate) struct RuleDef {
    pub id: &'static str,
    pub description: &'static str,
    pub kind: Kind,
    /// Keywords (ASCII case-insensitive) that gate this rule.
    pub keywords: &'static [&'static str],
    /// Regex for `Kind::Token` / `Kind::PemBlock` (empty for kinds matched in code).
    pub pattern: &'static str,
    pub check: Option<Check>,
}

/// The id used for findings of known vault values (`vault-secret:<name>`).
pub(crate) const VAULT_SECRET: RuleInfo =
    RuleInfo { id: "vault-secret", description: "The exact value (or its base64 form) of a secret stored in this vault" };

macro_rules! rule {
    ($id:literal, $desc:literal, $kind:ident, [$($kw:literal),* $(,)?], $pat:literal, $check:expr) => {
        RuleDef {
            id: $id,
            description: $desc,
            kind: Kind::$kind,
            keywords: &[$($kw),*],
            pattern: $pat,
            check: $check,
        }
    };
}

/// The rule table. Several entries may share an id (alternative shapes of one secret).
pub(crate) static DEFS: &[RuleDef] = &[
    rule!(
        "age-secret-key",
        "age identity (AGE-SECRET-KEY-1…) with a valid bech32 checksum",
        Token,
        ["AGE-SECRET-KEY-"],
        r"(?i)(?P<s>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]+)",
        Some(Check::AgeBech32)
    ),
    rule!(
        "private-key",
        "PEM private key block (PKCS#1/PKCS#8/EC/DSA/OpenSSH/encrypted), also inside JSON, YAML or env strings",
        PemBlock,
        ["PRIVATE KEY-----", "PRIVATE KEY ----"],
        r"(?:-----|---- )BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?:-----| ----)",
        None
    ),
    rule!("private-key", "PEM private key block (base64-encoded, as in Kubernetes secrets)", PemBase64, ["LS0tLS1CRUdJTi"], r"", None),
    rule!(
        "private-key",
        "PuTTY private key file",
        Token,
        ["Private-Lines:"],
        r"Private-Lines: *[0-9]+\r?\n(?P<s>[A-Za-z0-9+/=]{40,})",
        Some(Check::Random { skip: 0 })
    ),
    rule!(
        "pgp-private-key",
        "OpenPGP private key block",
        PemBlock,
        ["PGP PRIVATE KEY BLOCK"],
        r"-----BEGIN PGP PRIVATE KEY BLOCK-----",
        None
    ),
    rule!(
        "aws-access-key-id",
        "AWS access key id (AKIA/ASIA/ABIA/ACCA…, base32 alphabet)",
        Token,
        ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
        r"(?-i)\b(?P<s>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})\b",
        Some(Check::AwsKeyId)
    ),
    rule!(
        "aws-secret-access-key",
        "AWS secret access key (40 base64 characters near an AWS keyword)",
        AwsSecret,
        ["aws", "secretaccesskey", "secret_access_key", "secret-access-key"],
        r"(?m)(?:^|[^A-Za-z0-9/+_\-])(?P<s>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=_\-]|$)",
        Some(Check::Random { skip: 0 })
    ),
    rule!(
        "github-token",
        "GitHub token (ghp_/gho_/ghu_/ghs_/ghr_ with CRC32, github_pat_)",
        Token,
        ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        r"\b(?P<s>gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
        Some(Check::Github)
    ),
    rule!(
        "gitlab-token",
        "GitLab token (glpat-, gldt-, glrt-, glptt-, … and runner registration tokens)",
        Token,
        ["glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "glft-", "glcbt-", "glimt-", "glagent-", "gloas-", "GR1348941"],
        r"\b(?P<s>(?:(?:glpat|gldt|glrt|glptt|glsoat|glft|glcbt|glimt|glagent|gloas)-|GR1348941)[A-Za-z0-9_\-]{20,}(?:\.[A-Za-z0-9_\-]+){0,2})",
        Some(Check::Random { skip: 0 })
    ),
    rule!(
        "slack-token",
        "Slack token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxe-, xapp-)",
        Token,
        ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe", "xapp-"],
        r"\b(?P<s>xox[abprse]-(?:[0-9]+-)+[A-Za-z0-9]{16,}|xoxe\.xox[bp]-1-[A-Za-z0-9]{60,}|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]{32,})\b",
        Some(Check::Random { skip: 5 })
    ),
    rule!(
        "slack-webhook",
        "Slack incoming-webhook or workflow URL",
        Token,
        ["hooks.slack.com"],
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>T[A-Z0-9]{6,12}/[AB][A-Z0-9]{6,12}/[A-Za-z0-9]{20,})",
        Some(Check::Random { skip: 0 })
    ),
    rule!(
        "stripe-key",
        "Stripe secret or restricted key (sk_live_, rk_live_, sk_test_, rk_test_) or webhook secret",
        Token,
        ["sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_"],
        r"\b(?P<s>(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,247}|whsec_[A-Za-z0-9+/=]{32,})\b",
        Some(Check::Random { skip: 8 })
    ),
    rule!(
        "openai-api-key",
        "OpenAI API key (sk-…T3BlbkFJ…, sk-proj-, sk-svcacct-, sk-admin-)",
        Token,
        ["T3BlbkFJ", "sk-proj-", "sk-svcacct-", "sk-admin-"],
        r"\b(?P<s>sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_\-]{16,}T3BlbkFJ[A-Za-z0-9_\-]{16,}|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,})",
        Some(Check::Random { skip: 3 })
    ),
    rule!(
        "anthropic-api-key",
        "Anthropic API key (sk-ant-api03-…, sk-ant-admin01-…)",
        Token,
        ["sk-ant-"],
        r"\b(?P<s>sk-ant-(?:api|admin|oat|ort|sid)[0-9]{2}-[A-Za-z0-9_\-]{32,})",
        Some(Check::Random { skip: 13 })
    ),
    rule!(
        "google-api-key",
        "Google API key (AIza…)",
        Token,
        ["AIza"],
        r"(?-i)\b(?P<s>AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)",
        Some(Check::Random { skip: 4 })
    ),
    rule!(
        "google-oauth-client-secret",
        "Google OAuth client secret (GOCSPX-…)",
        Token,
        ["GOCSPX-"],
        r"\b(?P<s>GOCSPX-[A-Za-z0-9_\-]{28})(?:[^A-Za-z0-9_\-]|$)",
        Some(Check::Random { skip: 7 })
    ),
    rule!(
        "gcp-service-account",
        "Google Cloud service-account key (JSON with type service_account and a private_key)",
        GcpServiceAccount,
        ["service_account"],
        r#"\\?["']?type\\?["']?\s*[:=]\s*\\?["']?service_account\b"#,
        None
    ),
    rule!(
        "npm-token",
        "npm access token (npm_…) or an .npmrc _authToken",
        Token,
        ["npm_"],
        r"\b(?P<s>npm_[A-Za-z0-9]{36})\b",
        Some(Check::Npm)
    ),
    rule!(
        "npm-token",
        "npm access token (npm_…) or an .npmrc _authToken",
        Token,
        ["_authToken"],
        r#"(?i)_authToken\s*=\s*["']?(?P<s>[A-Za-z0-9_.+/=\-]{16,})"#,
        Some(Check::NpmAuthToken)
    ),
    rule!(
        "pypi-token",
        "PyPI or TestPyPI upload token (pypi-AgEIcHlwaS5vcmc…)",
        Token,
        ["pypi-AgE"],
        r"\b(?P<s>pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,})",
        Some(Check::Random { skip: 20 })
    ),
    rule!(
        "jwt",
        "JSON Web Token (header decodes to JSON with alg)",
        Token,
        ["eyJ"],
        r"(?-i)\b(?P<s>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,})",
        Some(Check::Jwt)
    ),
    rule!(
        "sendgrid-api-key",
        "SendGrid API key (SG.….…)",
        Token,
        ["SG."],
        r"(?-i)\b(?P<s>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)",
        Some(Check::Random { skip: 3 })
    ),
    rule!(
        "huggingface-token",
        "Hugging Face access token (hf_…)",
        Token,
        ["hf_"],
        r"(?-i)\b(?P<s>hf_[A-Za-z]{34})\b",
        Some(Check::Random { skip: 3 })
    ),
    rule!(
        "azure-storage-key",
        "Azure storage account key in a connection string (AccountKey=…)",
        Token,
        ["AccountKey="],
        r"(?i)AccountKey=(?P<s>[A-Za-z0-9+/]{86}==)",
        Some(Check::Random { skip: 0 })
    ),
    rule!(
        "url-credentials",
        "Password embedded in a URL (scheme://user:password@host)",
        Token,
        ["://"],
        r"\b[A-Za-z][A-Za-z0-9+.\-]{1,20}://(?P<u>[^\s:@/?#'\x22<>]{1,64}):(?P<s>[^\s@/?#'\x22<>]{3,128})@(?P<h>[A-Za-z0-9.\-\[][A-Za-z0-9.\-:\]]*)",
        Some(Check::UrlPassword)
    ),
    rule!(
        "generic-password",
        "Password assigned to a password-like name (password, passwd, pwd, passphrase)",
        Generic,
        [
            "passw",
            "passphrase",
            "pwd",
            "_pass",
            "-pass",
            ".pass",
            "pass_",
            "pass=",
            "pass:",
            "pass\"",
            "pass'",
            "pass ",
            "curl",
            "sshpass",
            "mysql",
            "mariadb",
            "redis-cli"
        ],
        r"",
        None
    ),
    rule!(
        "generic-secret",
        "High-entropy value assigned to a secret-like name (secret, token, api_key, credentials, …)",
        Generic,
        [
            "secret",
            "token",
            "apikey",
            "api_key",
            "api-key",
            "accesskey",
            "access_key",
            "access-key",
            "privatekey",
            "private_key",
            "private-key",
            "credential",
            "creds",
            "authorization",
            "auth_",
            "auth-",
            "authkey",
            "auth\"",
            "auth'",
            "auth:",
            "auth=",
            "auth ",
            "accountkey",
            "account_key",
            "signingkey",
            "signing_key",
            "encryptionkey",
            "encryption_key",
            "masterkey",
            "master_key",
            "bearer",
            "unseal"
        ],
        r"",
        None
    ),
];

/// Keywords that open an encrypted block whose contents are never reported
/// (age armor, PGP messages): the engine skips keyword hits until the matching END line.
pub(crate) static ARMOR_KEYWORDS: &[(&str, &str)] = &[
    ("-----BEGIN AGE ENCRYPTED FILE-----", "-----END AGE ENCRYPTED FILE-----"),
    ("-----BEGIN PGP MESSAGE-----", "-----END PGP MESSAGE-----"),
];

/// Deduplicated public rule list (first description of each id), plus `vault-secret`.
pub(crate) fn infos() -> Vec<RuleInfo> {
    let mut out: Vec<RuleInfo> = Vec::new();
    for d in DEFS {
        if !out.iter().any(|r| r.id == d.id) {
            out.push(RuleInfo { id: d.id, description: d.description });
        }
    }
    out.push(VAULT_SECRET);
    out
}

/// Whether `id` is a rule id this scanner knows (`vault-secret:<name>` included).
pub(crate) fn is_known_id(id: &str) -> bool {
    id == VAULT_SECRET.id || id.strip_prefix("vault-secret:").is_some() || DEFS.iter().any(|d| d.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_kebab_case_and_described() {
        for r in infos() {
            assert!(r.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{}", r.id);
            assert!(!r.description.is_empty());
        }
    }

    #[test]
    fn every_rule_has_keywords() {
        for d in DEFS {
            assert!(!d.keywords.is_empty(), "{}", d.id);
            assert!(d.keywords.iter().all(|k| k.len() >= 2), "{}", d.id);
        }
    }

    #[test]
    fn known_ids() {
        assert!(is_known_id("jwt"));
        assert!(is_known_id("vault-secret:db/password"));
        assert!(!is_known_id("nope"));
    }
}
