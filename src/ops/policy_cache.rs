//! A parsed copy of a large manifest, kept in the repository's git directory, so that a command
//! on a vault of thousands of secrets does not parse its YAML every time (190 KB at 10,000
//! secrets: several milliseconds, most of a `set`).
//!
//! The copy is keyed by the SHA-256 of the manifest's bytes and by this build of git-vault, and it
//! is written only by git-vault, from those bytes' own parse or from the manifest it just wrote.
//! A copy whose key does not match the manifest on disk, or that does not parse, is ignored (and
//! replaced). It lives in the git directory, so it is never committed, and it holds nothing the
//! manifest does not.

use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::vault::Manifest;

/// Manifests smaller than this are parsed directly.
const MIN_SIZE: usize = 16 * 1024;

const FILE: &str = "agent-vault-manifest.json";

/// What the first line of a copy says: the format, the build, and the hash of the manifest's bytes.
pub struct Key(String);

/// The key of a copy of the manifest `bytes`, when one is kept for a manifest of their size.
pub fn key_if_kept(bytes: &[u8]) -> Option<Key> {
    (bytes.len() >= MIN_SIZE).then(|| key(bytes))
}

fn key(bytes: &[u8]) -> Key {
    let hash: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    Key(format!("git-vault manifest cache 1 {} {hash}\n", env!("CARGO_PKG_VERSION")))
}

/// The copy kept under `key`, if there is one.
pub fn load(root: &Path, key: &Key) -> Option<Manifest> {
    let data = std::fs::read(cache_file(root)?).ok()?;
    let json = data.strip_prefix(key.0.as_bytes())?;
    serde_json::from_slice(json).ok()
}

/// Keeps a copy of `manifest` under `key`, the key of the bytes it was parsed from (or written
/// as). Best effort: a copy that cannot be written only costs the next command a parse.
pub fn store(root: &Path, key: Key, manifest: &Manifest) {
    if let Some(copy) = encode(key, manifest) {
        write(root, &copy);
    }
}

/// The copy of `manifest` under `key`, as [`write`] keeps it.
pub fn encode(key: Key, manifest: &Manifest) -> Option<Vec<u8>> {
    let json = serde_json::to_vec(manifest).ok()?;
    let mut data = key.0.into_bytes();
    data.extend_from_slice(&json);
    Some(data)
}

/// Keeps an encoded copy. Best effort, as [`store`].
pub fn write(root: &Path, data: &[u8]) {
    let Some(path) = cache_file(root) else { return };
    let Some(dir) = path.parent() else { return };
    if let Ok(mut tmp) = tempfile::Builder::new().prefix(".agent-vault-manifest").tempfile_in(dir) {
        use std::io::Write as _;
        if tmp.write_all(data).is_ok() {
            let _ = tmp.persist(&path);
        }
    }
}

/// The file in the git directory of the work tree holding `root` (`.git`, or the directory a
/// `.git` file points to, as in linked work trees and submodules).
fn cache_file(root: &Path) -> Option<PathBuf> {
    for dir in root.ancestors() {
        let dot_git = dir.join(".git");
        let Ok(meta) = std::fs::metadata(&dot_git) else { continue };
        if meta.is_dir() {
            return Some(dot_git.join(FILE));
        }
        let text = std::fs::read_to_string(&dot_git).ok()?;
        let target = Path::new(text.strip_prefix("gitdir:")?.trim());
        return Some(dir.join(target).join(FILE));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_serves_only_the_exact_bytes_it_was_made_from() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join(".git")).unwrap();
        let text = b"version: 1\nowners:\n- name: alice\n  public_key: owner.pub\n";
        let manifest: Manifest = serde_saphyr::from_slice(text).unwrap();
        assert!(load(tmp.path(), &key(text)).is_none());
        store(tmp.path(), key(text), &manifest);
        assert_eq!(load(tmp.path(), &key(text)), Some(manifest.clone()));
        assert!(load(tmp.path(), &key(b"version: 1\nowners: []\n")).is_none(), "another manifest");
        // a damaged copy is ignored
        let file = tmp.path().join(".git").join(FILE);
        let mut data = std::fs::read(&file).unwrap();
        data.truncate(data.len() - 3);
        std::fs::write(&file, data).unwrap();
        assert!(load(tmp.path(), &key(text)).is_none());
    }
}
