//! The one error type of git-vault: a stable kind (SPEC §4), a message, an optional hint and
//! source. Kinds map to exit codes and JSON error kinds here and nowhere else. Messages never
//! carry secret values or key material.

use std::fmt;

use serde::Serialize;

use crate::vault::NameError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    VaultNotFound,
    NoIdentity,
    SecretNotFound,
    AgentNotFound,
    GroupNotFound,
    NotAuthorized,
    InvalidName,
    InvalidInput,
    AlreadyExists,
    Locked,
    Git,
    Io,
    Internal,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::VaultNotFound => "vault_not_found",
            ErrorKind::NoIdentity => "no_identity",
            ErrorKind::SecretNotFound => "secret_not_found",
            ErrorKind::AgentNotFound => "agent_not_found",
            ErrorKind::GroupNotFound => "group_not_found",
            ErrorKind::NotAuthorized => "not_authorized",
            ErrorKind::InvalidName => "invalid_name",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::Locked => "locked",
            ErrorKind::Git => "git",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }
}

/// Exit status of a command that worked.
pub const EXIT_OK: u8 = 0;
/// Exit status of a checking command whose answer is "no" (findings, errors, conflicts).
pub const EXIT_NEGATIVE: u8 = 1;
/// Exit status of any error.
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), hint: None, source: None }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The message followed by the chain of causes.
    pub fn full_message(&self) -> String {
        let mut out = self.message.clone();
        let mut cause = self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(e) = cause {
            let text = e.to_string();
            if !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            cause = e.source();
        }
        out
    }

    pub fn exit_code(&self) -> u8 {
        EXIT_ERROR
    }

    pub fn io(context: impl fmt::Display, e: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, format!("{context}: {e}")).source(e)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<NameError> for Error {
    fn from(e: NameError) -> Self {
        Error::new(ErrorKind::InvalidName, e.to_string())
    }
}

/// The JSON form of an error on stderr (SPEC §4).
#[derive(Serialize)]
pub struct JsonError<'a> {
    pub error: JsonErrorBody<'a>,
}

#[derive(Serialize)]
pub struct JsonErrorBody<'a> {
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'a str>,
}

impl Error {
    pub fn to_json(&self) -> JsonError<'_> {
        JsonError { error: JsonErrorBody { kind: self.kind.as_str(), message: self.full_message(), hint: self.hint.as_deref() } }
    }
}
