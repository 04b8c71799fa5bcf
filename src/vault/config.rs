//! `config.yaml`: the format version and the encryption format, plus any settings we do not know.

use serde::{Deserialize, Serialize};

use super::manifest::Extra;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub version: u32,
    pub encryption: Encryption,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encryption {
    pub format: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for Config {
    fn default() -> Self {
        Config { version: 1, encryption: Encryption { format: "age".to_owned(), extra: Extra::new() }, extra: Extra::new() }
    }
}

impl Config {
    /// Why this version cannot work with the vault, if it cannot.
    pub fn unsupported(&self) -> Option<String> {
        if self.version != 1 {
            return Some(format!("vault format version {} is not supported (expected 1)", self.version));
        }
        if self.encryption.format != "age" {
            return Some(format!("encryption format {:?} is not supported (expected age)", self.encryption.format));
        }
        None
    }
}
