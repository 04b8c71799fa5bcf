//! The vault model, pure: names, manifest, metadata, config, timestamps and the access policy.
//! Nothing here touches the file system, processes, the environment or the clock.

pub mod config;
pub mod events;
pub mod exposure;
pub mod manifest;
pub mod merge;
pub mod meta;
pub mod names;
pub mod policy;
#[cfg(test)]
pub mod testing;
pub mod time;

pub use config::Config;
pub use manifest::Manifest;
pub use meta::Meta;
pub use names::{AgentName, GroupName, NameError, OwnerName, SecretPath};
pub use time::Timestamp;
