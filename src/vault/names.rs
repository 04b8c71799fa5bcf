//! Validated names: secret paths and single-segment names (agents, owners, groups).
//!
//! Every name that comes from a user, a manifest or a file path is parsed here first, so an
//! invalid value (path traversal, control characters, drive prefixes) cannot exist past the
//! parser. The rules are SPEC §2.2; `fixtures/names.json` holds the shared vectors.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a name was refused. The message names the rule that was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {shown}: {rule}")]
pub struct NameError {
    what: &'static str,
    shown: String,
    rule: &'static str,
}

impl NameError {
    fn new(what: &'static str, raw: &str, rule: &'static str) -> Self {
        Self { what, shown: format!("{raw:?}"), rule }
    }
}

/// Checks one segment; returns the rule it breaks, if any.
fn segment_rule(segment: &str) -> Option<&'static str> {
    if segment.is_empty() {
        return Some("empty segment (no leading, trailing or double '/')");
    }
    if segment == "." || segment == ".." {
        return Some("'.' and '..' are not allowed as a segment");
    }
    if segment.contains('\\') {
        return Some("'\\' is not allowed");
    }
    // (ASCII names, nearly all of them, are checked bytewise)
    let control = if segment.is_ascii() { segment.bytes().any(|b| b.is_ascii_control()) } else { segment.chars().any(char::is_control) };
    if control {
        return Some("control characters are not allowed");
    }
    let b = segment.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Some("a drive prefix such as 'C:' is not allowed");
    }
    None
}

/// A secret path: one or more valid segments separated by `/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct SecretPath(String);

/// Written as the string it is (not through a copy, as `serde(into)` would make).
impl Serialize for SecretPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl SecretPath {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        Self::check(raw).map(|()| Self(raw.to_owned()))
    }

    fn check(raw: &str) -> Result<(), NameError> {
        if raw.is_empty() {
            return Err(NameError::new("secret path", raw, "it is empty"));
        }
        for segment in raw.split('/') {
            if let Some(rule) = segment_rule(segment) {
                return Err(NameError::new("secret path", raw, rule));
            }
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The group a new secret gets when none is given: the first segment of a path with a
    /// `/`, else `default`.
    pub fn default_group(&self) -> GroupName {
        match self.0.split_once('/') {
            Some((first, _)) => GroupName(first.to_owned()),
            None => GroupName("default".to_owned()),
        }
    }

    /// Whether the seed tool may have stored this secret at `secrets/default/<path>`.
    pub fn has_legacy_location(&self) -> bool {
        !self.0.contains('/')
    }
}

impl TryFrom<String> for SecretPath {
    type Error = NameError;
    fn try_from(raw: String) -> Result<Self, NameError> {
        Self::check(&raw).map(|()| Self(raw))
    }
}

impl fmt::Display for SecretPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! single_segment_name {
    ($(#[$doc:meta])* $ty:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $ty(String);

        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl $ty {
            pub fn parse(raw: &str) -> Result<Self, NameError> {
                Self::check(raw).map(|()| Self(raw.to_owned()))
            }

            fn check(raw: &str) -> Result<(), NameError> {
                if raw.contains('/') {
                    return Err(NameError::new($what, raw, "'/' is not allowed in a name"));
                }
                match segment_rule(raw) {
                    Some(rule) => Err(NameError::new($what, raw, rule)),
                    None => Ok(()),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(raw: String) -> Result<Self, NameError> {
                Self::check(&raw).map(|()| Self(raw))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

single_segment_name!(
    /// The name of an agent (one path segment).
    AgentName,
    "agent name"
);
single_segment_name!(
    /// The name of a group (one path segment).
    GroupName,
    "group name"
);
single_segment_name!(
    /// The name of an owner (one path segment).
    OwnerName,
    "owner name"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> serde_json::Value {
        let text = include_str!("../../fixtures/names.json");
        serde_json::from_str(text).expect("fixtures/names.json is valid JSON")
    }

    fn list<'a>(v: &'a serde_json::Value, kind: &str, which: &str) -> Vec<&'a str> {
        v[kind][which].as_array().expect("array").iter().map(|s| s.as_str().expect("string")).collect()
    }

    #[test]
    fn shared_secret_path_vectors() {
        let v = vectors();
        for ok in list(&v, "secret_paths", "valid") {
            assert!(SecretPath::parse(ok).is_ok(), "{ok:?} should be valid");
        }
        for bad in list(&v, "secret_paths", "invalid") {
            assert!(SecretPath::parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn shared_single_name_vectors() {
        let v = vectors();
        for ok in list(&v, "single_names", "valid") {
            assert!(AgentName::parse(ok).is_ok(), "{ok:?} should be valid");
            assert!(GroupName::parse(ok).is_ok());
        }
        for bad in list(&v, "single_names", "invalid") {
            assert!(AgentName::parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn the_message_names_the_rule() {
        let e = SecretPath::parse("a/../../x").unwrap_err().to_string();
        assert!(e.contains("'..'"), "{e}");
        let e = SecretPath::parse("C:x").unwrap_err().to_string();
        assert!(e.contains("drive prefix"), "{e}");
        let e = AgentName::parse("a/b").unwrap_err().to_string();
        assert!(e.contains("'/'"), "{e}");
    }

    #[test]
    fn default_group_follows_the_first_segment() {
        assert_eq!(SecretPath::parse("stripe/api-key").unwrap().default_group().as_str(), "stripe");
        assert_eq!(SecretPath::parse("plain").unwrap().default_group().as_str(), "default");
    }

    #[test]
    fn yaml_refuses_invalid_names() {
        let r: Result<Vec<SecretPath>, _> = serde_saphyr::from_str("- ok\n- ../etc/passwd\n");
        assert!(r.is_err());
    }
}
