//! The git drivers: `textconv` for readable diffs of vault files, and the merge drivers that
//! resolve vault conflicts by re-encrypting instead of text-merging. Git runs them; people don't.

pub mod merge;
pub mod textconv;
