//! Replacing many vault files at once (a re-encryption), each one atomically, with few new
//! inodes.
//!
//! A temp file and a rename per file cost a new inode and the deletion of the replaced one. On
//! some file systems that is most of a re-encryption: ext4 without a journal, for one, searches
//! past every recently deleted inode for each new one. Here the inodes are recycled instead:
//!
//! 1. each new content of a batch goes into a temp file (`.gv-tmp-*`) next to its target: a
//!    recycled one when there is one, else a new one;
//! 2. one `syncfs` puts the whole batch on disk;
//! 3. each temp file is exchanged with its target (`renameat2(RENAME_EXCHANGE)`, atomic like a
//!    rename), after which the temp name holds the replaced inode, ready for the next batch.
//!
//! At every instant each target is whole, old or new. Because a recycled inode is overwritten
//! in place, its new content is flushed before any name points at it, so not even a power cut
//! can leave a target with another file's old content. A killed process leaves at most a batch
//! of temp files, which `check` reports and `reconcile` removes. Where exchanging is not
//! supported, or the target is new, a plain rename is used and the temp file is not recycled.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{VaultFs, fault_point, temp_file};
use crate::error::{Error, Result};

/// Files per flush: large enough that the flush is rare, small enough to bound what a killed
/// process leaves behind.
const BATCH: usize = 512;

impl VaultFs {
    /// A writer for many replacements; its recycled temp files are removed when it is dropped.
    pub fn bulk(&self) -> BulkWriter<'_> {
        BulkWriter { fs: self, pool: Pool::default() }
    }
}

/// Replaces files in batches, recycling inodes from one call to the next.
pub struct BulkWriter<'f> {
    fs: &'f VaultFs,
    pool: Pool,
}

impl BulkWriter<'_> {
    /// Replaces every file of `files` (path, new content) atomically.
    pub fn replace(&mut self, files: &[(PathBuf, Vec<u8>)]) -> Result<()> {
        files.chunks(BATCH).try_for_each(|batch| self.batch(batch))
    }

    fn batch(&mut self, batch: &[(PathBuf, Vec<u8>)]) -> Result<()> {
        let fs = self.fs;
        let mut staged = Vec::with_capacity(batch.len());
        for (target, bytes) in batch {
            fs.check_inside(target)?;
            let dir = target.parent().ok_or_else(|| Error::internal(format!("{} has no directory", target.display())))?;
            let temp = self.pool.fill(dir, bytes).map_err(|e| Error::io(format!("cannot write {}", fs.show(target)), e))?;
            staged.push((target, temp));
        }
        fs.sync()?;
        for (target, temp) in staged {
            let recycled = swap_in(&temp, target).map_err(|e| Error::io(format!("cannot write {}", fs.show(target)), e))?;
            self.pool.ready(temp, recycled);
            fault_point();
        }
        Ok(())
    }
}

/// Temp files by directory: the recyclable ones, and every one still on disk (removed at the end,
/// whatever happened).
#[derive(Default)]
struct Pool {
    free: HashMap<PathBuf, Vec<PathBuf>>,
    alive: HashSet<PathBuf>,
}

impl Pool {
    /// A temp file in `dir` holding `bytes`: a recycled inode when one is free and safe to
    /// overwrite, else a new file.
    fn fill(&mut self, dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
        while let Some(temp) = self.free.get_mut(dir).and_then(Vec::pop) {
            if refill(&temp, bytes).is_ok() {
                return Ok(temp);
            }
            let _ = fs::remove_file(&temp); // not ours to overwrite (another link, another owner)
            self.alive.remove(&temp);
        }
        let temp = fresh(dir, bytes)?;
        self.alive.insert(temp.clone());
        Ok(temp)
    }

    /// After the swap: a temp name holding a replaced inode can be refilled; one that was
    /// renamed onto its target is gone.
    fn ready(&mut self, temp: PathBuf, recycled: bool) {
        if recycled {
            let dir = temp.parent().map(Path::to_owned).unwrap_or_default();
            self.free.entry(dir).or_default().push(temp);
        } else {
            self.alive.remove(&temp);
        }
    }

    fn clear(&mut self) {
        for temp in self.alive.drain() {
            let _ = fs::remove_file(temp);
        }
        self.free.clear();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.clear();
    }
}

/// A new temp file in `dir` (created when missing) holding `bytes`, kept on disk.
fn fresh(dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let (_, path) = temp_file(dir, bytes)?.keep().map_err(|e| e.error)?;
    Ok(path)
}

/// Overwrites a recycled temp file with `bytes`, only if it is a regular file with no other
/// name (a hard link elsewhere must never see its content change).
fn refill(temp: &Path, bytes: &[u8]) -> io::Result<()> {
    let nofollow = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
    let mut file: File = OpenOptions::new().write(true).custom_flags(nofollow).open(temp)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.nlink() != 1 {
        return Err(io::Error::other("not a private regular file"));
    }
    file.write_all(bytes)?;
    file.set_len(bytes.len() as u64)?;
    if meta.mode() & 0o7777 != 0o644 {
        file.set_permissions(fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}

/// Puts `temp` in place of `target`. Returns whether the two were exchanged (the temp name now
/// holds the replaced file) rather than renamed.
fn swap_in(temp: &Path, target: &Path) -> io::Result<bool> {
    let regular = fs::symlink_metadata(target).is_ok_and(|m| m.is_file());
    if regular && exchange(temp, target)? {
        return Ok(true);
    }
    fs::rename(temp, target)?;
    Ok(false)
}

/// `renameat2(RENAME_EXCHANGE)`; false where the system or file system does not support it.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TEMP_PREFIX;

    fn vault() -> (tempfile::TempDir, VaultFs) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".agent-vault");
        fs::create_dir_all(dir.join("secrets/a")).unwrap();
        (tmp, VaultFs::new(dir))
    }

    fn leftovers(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in walk(dir) {
            if e.file_name().is_some_and(|n| n.to_string_lossy().starts_with(TEMP_PREFIX)) {
                out.push(e);
            }
        }
        out
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
        }
        out
    }

    #[test]
    fn every_file_gets_its_own_content_across_batches() {
        let (_t, v) = vault();
        let n = BATCH * 2 + 7;
        let path = |i: usize| v.dir().join(format!("secrets/{}/f{i}", if i.is_multiple_of(3) { "a" } else { "b/c" }));
        // half exist already (exchanged), half are new (renamed), in two directories
        for i in (0..n).step_by(2) {
            fs::create_dir_all(path(i).parent().unwrap()).unwrap();
            fs::write(path(i), format!("old {i} {}", "x".repeat(i % 50))).unwrap();
        }
        let files: Vec<_> = (0..n).map(|i| (path(i), format!("new {i}{}", "y".repeat((i * 7) % 90)).into_bytes())).collect();
        v.bulk().replace(&files).unwrap();
        for (p, want) in &files {
            assert_eq!(&fs::read(p).unwrap(), want, "{}", p.display());
            assert_eq!(fs::metadata(p).unwrap().mode() & 0o777, 0o644);
        }
        assert_eq!(leftovers(v.dir()), Vec::<PathBuf>::new());
    }

    #[test]
    fn a_hard_linked_target_keeps_its_other_name_intact() {
        let (t, v) = vault();
        let outside = t.path().join("backup");
        let files: Vec<_> = (0..4).map(|i| (v.dir().join(format!("secrets/a/f{i}")), format!("new {i}").into_bytes())).collect();
        for (i, (p, _)) in files.iter().enumerate() {
            fs::write(p, format!("old {i}")).unwrap();
        }
        fs::hard_link(&files[0].0, &outside).unwrap();
        v.bulk().replace(&files).unwrap();
        assert_eq!(fs::read_to_string(&outside).unwrap(), "old 0", "the other name still has the old content");
        for (p, want) in &files {
            assert_eq!(&fs::read(p).unwrap(), want);
        }
    }

    #[test]
    fn a_symlinked_directory_is_refused_before_anything_is_written() {
        let (t, v) = vault();
        let elsewhere = t.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, v.dir().join("secrets/link")).unwrap();
        let files = vec![(v.dir().join("secrets/a/ok"), b"x".to_vec()), (v.dir().join("secrets/link/f"), b"y".to_vec())];
        assert!(v.bulk().replace(&files).is_err());
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
        assert_eq!(leftovers(v.dir()), Vec::<PathBuf>::new());
    }
}
