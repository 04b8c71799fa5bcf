//! Timestamps of secret metadata: RFC 3339 in UTC.
//!
//! Written with whole seconds (`2026-11-29T13:29:07Z`); read in any RFC 3339 form, including the
//! seed tool's nanosecond form, which is preserved when a file is saved again. The clock is not
//! read here: callers pass `now` in.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(jiff::Timestamp);

#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid timestamp {0:?}: expected RFC 3339 such as 2026-12-31T00:00:00Z")]
pub struct TimestampError(String);

impl Timestamp {
    pub fn parse(raw: &str) -> Result<Self, TimestampError> {
        let t = raw.trim();
        // RFC 3339 years have four digits; jiff also reads signed six-digit years, which are not
        // timestamps a vault writes and sit at the edge of its range.
        if t.starts_with(['+', '-']) {
            return Err(TimestampError(raw.to_owned()));
        }
        t.parse::<jiff::Timestamp>().map(Self).map_err(|_| TimestampError(raw.to_owned()))
    }

    /// The current time, truncated to whole seconds (the form the vault writes).
    pub fn now() -> Self {
        Self::from_unix(jiff::Timestamp::now().as_second())
    }

    pub fn from_unix(seconds: i64) -> Self {
        Self(jiff::Timestamp::from_second(seconds).expect("seconds from a clock or an offset are in range"))
    }

    pub fn unix(self) -> i64 {
        self.0.as_second()
    }

    /// Adds (or subtracts) whole seconds.
    pub fn offset(self, seconds: i64) -> Self {
        Self::from_unix(self.unix().saturating_add(seconds))
    }

    /// RFC 3339 with whole seconds, for JSON output.
    pub fn to_seconds_string(self) -> String {
        Self::from_unix(self.unix()).to_string()
    }
}

impl TryFrom<String> for Timestamp {
    type Error = TimestampError;
    fn try_from(raw: String) -> Result<Self, TimestampError> {
        Self::parse(&raw)
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_round_trip() {
        let t = Timestamp::parse("2026-11-29T13:29:07Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-29T13:29:07Z");
    }

    #[test]
    fn seed_nanoseconds_are_read_and_kept() {
        let t = Timestamp::parse("2026-01-02T03:04:05.123456789Z").unwrap();
        assert_eq!(t.to_string(), "2026-01-02T03:04:05.123456789Z");
        assert_eq!(t.to_seconds_string(), "2026-01-02T03:04:05Z");
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let t = Timestamp::parse("2026-01-02T05:04:05+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-01-02T03:04:05Z");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(Timestamp::parse("yesterday").is_err());
        assert!(Timestamp::parse("-009999-01-02T01:59:58.5Z").is_err());
    }
}
