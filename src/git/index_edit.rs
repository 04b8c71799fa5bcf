//! Staging a few vault files in the index in-process, as `git update-index` would.
//!
//! In a vault of 10,000 secrets, `git update-index` of the two files a `set` changes costs most of
//! the command: git reads an index of 20,000 entries (2 MB), writes it back and hashes it with its
//! collision-detecting SHA-1. The edit itself is small: replace or insert a few entries, mark the
//! cached trees above them invalid, write the index back under git's lock (`index.lock`, created
//! exclusively, renamed over `index`). This module makes that edit, giving the index
//! `update-index` writes, but only when nothing else git does on that path applies. Otherwise it
//! changes nothing ([`Staged::ToGit`]), and the caller runs `git update-index`. The edited index
//! is written to the lock file and put in place by the caller ([`Written::finish`]) once the
//! blobs it names are stored. The index may be read ahead, without the lock ([`IndexRead`]): it
//! is used only if, under the lock, it still is the index. It applies when:
//! - the index is version 2 or 3, and its only extensions are the cached trees and the offset
//!   tables git rebuilds when it wants them (no split or sparse index, untracked cache, fsmonitor
//!   data or resolve-undo record), and no configuration asks git to write it differently;
//! - every other racily clean entry (its file changed in the second the index was written) is a
//!   plain file this module can hash: git re-checks such entries when it rewrites the index and
//!   smudges the changed ones, and so does this module;
//! - each staged path is not in conflict, carries no assume-unchanged, skip-worktree or
//!   intent-to-add flag, is a regular non-executable file or is gone, and clashes with no
//!   directory or file of the index;
//! - git would store the file's bytes as they are: no attribute file that can apply mentions a
//!   filter, an end-of-line or encoding setting or `ident`, `core.autocrlf` is off, `core.eol` is
//!   not `crlf`, and, when an attribute source may set `text` for it, the file holds no CRLF
//!   (the only sequence git's end-of-line normalisation changes when it stores a file).
//!
//! The result is byte for byte `update-index`'s (the end-to-end tests compare them), with two
//! differences that only make git look again: the optional offset tables are left for git to
//! rebuild, and a racily clean entry whose file changed is smudged even when its stat data already
//! differs (git skips those, their stat data showing the change anyway).

use std::fs::{File, Metadata, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::{Repo, git_err};
use crate::error::{Error, Result};

/// At most this many paths are staged here; more go to `git update-index`, which is efficient
/// for large batches (and those are not where its fixed cost matters).
pub const MAX_PATHS: usize = 16;

/// Files larger than this (none of a vault's: values are at most a few MiB) are hashed by git,
/// which streams them.
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// A path's new state in the index: its kind and object, or None when it is gone.
pub type Target = Option<(gix::object::tree::EntryKind, ObjectId)>;

/// A path (relative to the work tree, `/`-separated) and its new state.
pub type Change = (String, Target);

/// The configuration that decides whether git would write the index or hash a file differently,
/// read from the same `git config` call as the commit settings.
#[derive(Debug, Default)]
pub struct Config {
    /// `core.attributesFile`, as configured.
    pub attributes_file: Option<String>,
    /// A setting under which only git can stage the files.
    pub unsupported: Option<String>,
}

impl Config {
    /// The keys this reads, as a `git config --get-regexp` alternative.
    pub const KEYS: &'static str = r"core\.(attributesfile|autocrlf|eol|ignorecase|splitindex|sharedrepository|fsmonitor|untrackedcache|fsync|fsyncobjectfiles)|attr\.tree|feature\.manyfiles|index\.(skiphash|version)";

    /// Takes one `git config` item; false when the key is not one of [`Config::KEYS`].
    pub fn take(&mut self, key: &str, value: Option<&str>) -> bool {
        let on = || super::direct::parse_bool(value) != Some(false);
        let unsupported = match key {
            "core.attributesfile" => {
                self.attributes_file = value.map(str::to_owned);
                false
            }
            "core.eol" => value.is_some_and(|v| v.eq_ignore_ascii_case("crlf")),
            // `keep` (the default) keeps an untracked cache the index has, and this one has none
            "core.untrackedcache" => !value.is_some_and(|v| v.eq_ignore_ascii_case("keep")) && on(),
            // what git would add to or change in the index it writes, or how it would hash a file
            "core.autocrlf" | "core.ignorecase" | "core.splitindex" | "core.fsmonitor" | "feature.manyfiles" | "index.skiphash" => on(),
            // what git would flush to disk, and how (git's own writes honour it)
            "core.fsyncobjectfiles" => on(),
            "core.sharedrepository" | "attr.tree" | "index.version" | "core.fsync" => true,
            _ => return false,
        };
        if unsupported {
            self.unsupported = Some(key.to_owned());
        }
        true
    }
}

/// The files to stage, read and hashed: what both the index edit and the tree edit need.
pub struct Files(Vec<StagedFile>);

impl Files {
    /// `paths` (absolute, in the work tree; missing ones are removed), read and hashed. None when
    /// git must stage them: too many, a setting or variable git would act on, or a file that is
    /// not plain. Nothing is changed here.
    pub fn read(repo: &Repo, objects: &gix::Repository, config: &Config, paths: &[PathBuf]) -> Result<Option<Files>> {
        if paths.len() > MAX_PATHS
            || config.unsupported.is_some()
            || objects.object_hash() != gix::hash::Kind::Sha1
            || ["GIT_INDEX_FILE", "GIT_ATTR_SOURCE"].iter().any(|v| std::env::var_os(v).is_some())
        {
            return Ok(None);
        }
        let mut files = Vec::with_capacity(paths.len());
        for p in paths {
            let Some(file) = StagedFile::read(repo, p)? else { return Ok(None) };
            files.push(file);
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Some(Files(files)))
    }

    /// Each path's new state, as the tree records it.
    pub fn changes(&self) -> Vec<Change> {
        self.0.iter().map(|f| (f.name_str(), f.blob.as_ref().map(|b| (gix::object::tree::EntryKind::Blob, b.0)))).collect()
    }

    /// Writes the files' blobs, which must be stored before an index naming them is in place.
    pub fn write_blobs(&self, objects: &gix::Repository, loose: &mut super::loose::Loose) -> Result<()> {
        for (id, content) in self.0.iter().filter_map(|f| f.blob.as_ref()) {
            loose.write(objects, gix::object::Kind::Blob, content, *id)?;
        }
        Ok(())
    }
}

/// What became of the index.
pub enum Staged {
    /// Only git can stage the files; nothing was changed.
    ToGit,
    /// The index already holds them.
    Unchanged,
    /// The new index, written to git's lock file: `finish` puts it in place, and dropping it
    /// leaves the index as it was.
    Written(Written),
}

/// Stages `files` in the real index: reads it under git's lock and writes the edited index to the
/// lock file. `decided` hears, as soon as that is known and before the index is hashed and
/// written, that the edit is made here (it is dropped unused when the files go to git).
pub fn stage(repo: &Repo, config: &Config, files: &Files, read: Option<IndexRead>, decided: std::sync::mpsc::Sender<()>) -> Result<Staged> {
    let files = &files.0;
    let index_path = repo.git_dir().join("index");
    let Some(mut lock) = Lock::take(&index_path) else { return Ok(Staged::ToGit) };
    // the index read ahead, if it is still the index; otherwise it is read now, under the lock
    let read = match read.filter(|r| r.is_current(&index_path)) {
        Some(read) => read,
        None => match IndexRead::open(&index_path) {
            Ok(read) => read,
            Err(_) => return Ok(Staged::ToGit),
        },
    };
    let IndexRead { file: replaced, data, meta, layout } = read;
    let index_mtime = meta.mtime();
    let Some(index) = layout.map(|l| l.on(&data)) else { return Ok(Staged::ToGit) };
    // racily clean entries are re-checked against their files, as git does when it rewrites the
    // index, and smudged (size 0) when their file changed. Only plain files hashed exactly here
    // can be checked; anything else goes to git. Git skips the content check when the stat data
    // already differs; checking every one is the safe side of that (a changed file is smudged).
    let mut smudge = Vec::new();
    let mut checked = Vec::new();
    let mut crlf = files.iter().any(|f| f.crlf);
    for i in index.racy(index_mtime, files) {
        let e = &index.entries[i];
        let Ok(name) = std::str::from_utf8(index.name(e)) else { return Ok(Staged::ToGit) };
        if !index.plain(e) {
            return Ok(Staged::ToGit);
        }
        let Ok(Some(file)) = StagedFile::read(repo, &repo.workdir().join(name)) else { return Ok(Staged::ToGit) };
        match &file.blob {
            None => {} // gone: git leaves the entry as it is, and its file shows as deleted
            Some((id, _)) if id.as_bytes() == index.id(e) => {}
            Some(_) => smudge.push(i),
        }
        crlf |= file.crlf;
        checked.push(file.name);
    }
    let names = files.iter().map(|f| f.name.as_slice()).chain(checked.iter().map(Vec::as_slice));
    match conversions(repo, config, &index, names) {
        None => return Ok(Staged::ToGit),
        // git's end-of-line normalisation (the `text` attribute) only ever turns CRLF into LF
        Some(Text::MayApply) if crlf => return Ok(Staged::ToGit),
        Some(_) => {}
    }
    let Some(edited) = index.edit(files, &smudge) else { return Ok(Staged::ToGit) };
    let _ = decided.send(());
    let Some(pieces) = edited else { return Ok(Staged::Unchanged) };
    lock.write(&pieces).map_err(|e| Error::io(format!("cannot write {}", lock.path.display()), e))?;
    Ok(Staged::Written(Written { lock, replaced }))
}

/// An edited index in git's lock file.
pub struct Written {
    lock: Lock,
    /// The index it replaces, open.
    replaced: File,
}

impl Written {
    /// Puts the index in place. Returns the replaced index, still open: its storage is freed when
    /// it is closed, which takes as long as writing it did (ms for a large index).
    pub fn finish(self) -> Result<File> {
        let target = self.lock.target.clone();
        self.lock.finish().map_err(|e| Error::io(format!("cannot write {}", target.display()), e))?;
        Ok(self.replaced)
    }
}

/// An index as read: the file, still open, its bytes, its metadata, and where its entries are
/// (None when it is not one this module edits). Read ahead, it is parsed ahead too.
pub struct IndexRead {
    file: File,
    data: Vec<u8>,
    meta: Metadata,
    layout: Option<Layout>,
}

impl IndexRead {
    pub fn open(path: &Path) -> std::io::Result<IndexRead> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let mut data = Vec::with_capacity(meta.len() as usize + 1);
        file.read_to_end(&mut data)?;
        let layout = Layout::parse(&data);
        Ok(IndexRead { file, data, meta, layout })
    }

    /// Whether `path` still is this index, unchanged. Git (and every tool that writes an index
    /// with git's lock) replaces the index by renaming a new file over it, and the file read is
    /// still open, so its inode cannot be reused: the same inode, size and modification time
    /// mean the same bytes.
    fn is_current(&self, path: &Path) -> bool {
        let (a, b) = match std::fs::metadata(path) {
            Ok(now) => (now, &self.meta),
            Err(_) => return false,
        };
        (a.dev(), a.ino(), a.size(), a.mtime(), a.mtime_nsec()) == (b.dev(), b.ino(), b.size(), b.mtime(), b.mtime_nsec())
    }
}

/// One path to stage: its name in the index, and its stat data and blob when it exists.
struct StagedFile {
    name: Vec<u8>,
    blob: Option<(ObjectId, Vec<u8>)>,
    stat: Option<[u8; 40]>,
    /// Whether it holds a CRLF, which a `text` attribute would make git store as LF. (A vault's
    /// ciphertext is random bytes: about one `.enc` file in 250 holds one.)
    crlf: bool,
}

impl StagedFile {
    /// None when only git can stage it (not a regular non-executable file, or not UTF-8 named).
    fn read(repo: &Repo, path: &Path) -> Result<Option<StagedFile>> {
        let name = repo.relative(path)?.into_bytes();
        // lstat before reading, as git does: a change after the stat shows as a newer file
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Some(StagedFile { name, blob: None, stat: None, crlf: false }));
            }
            Err(e) => return Err(Error::io(path.display(), e)),
        };
        if !meta.file_type().is_file() || meta.mode() & 0o111 != 0 || meta.len() > MAX_FILE {
            return Ok(None);
        }
        let content = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        if content.len() as u64 != meta.len() {
            return Ok(None); // changed while read
        }
        let crlf = content.windows(2).any(|w| w == b"\r\n");
        let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::object::Kind::Blob, &content)
            .map_err(|e| git_err("cannot hash a blob", e))?;
        Ok(Some(StagedFile { name, blob: Some((id, content)), stat: Some(stat_data(&meta)), crlf }))
    }

    fn name_str(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// The index entry git writes for this file (version 2 layout, no extended flags).
    fn entry(&self) -> Option<Vec<u8>> {
        let (stat, (id, _)) = (self.stat.as_ref()?, self.blob.as_ref()?);
        let mut e = Vec::with_capacity(entry_len(self.name.len(), 0));
        e.extend_from_slice(stat);
        e.extend_from_slice(id.as_bytes());
        e.extend_from_slice(&(self.name.len().min(NAME_MASK as usize) as u16).to_be_bytes());
        e.extend_from_slice(&self.name);
        e.resize(entry_len(self.name.len(), 0), 0);
        Some(e)
    }
}

/// ctime, mtime, dev, ino, mode, uid, gid and size, each truncated to 32 bits, as git records them.
fn stat_data(m: &Metadata) -> [u8; 40] {
    let fields = [
        m.ctime() as u32,
        m.ctime_nsec() as u32,
        m.mtime() as u32,
        m.mtime_nsec() as u32,
        m.dev() as u32,
        m.ino() as u32,
        0o100644,
        m.uid(),
        m.gid(),
        m.size() as u32,
    ];
    let mut out = [0u8; 40];
    for (chunk, v) in out.chunks_exact_mut(4).zip(fields) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    out
}

const HASH_LEN: usize = 20;
/// Stat data (40 bytes), object id, flags.
const ENTRY_FIXED: usize = 40 + HASH_LEN + 2;
const NAME_MASK: u16 = 0x0fff;
const FLAG_ASSUME_VALID: u16 = 0x8000;
const FLAG_EXTENDED: u16 = 0x4000;
const STAGE_MASK: u16 = 0x3000;

/// An entry's size on disk: its fixed part, name and 1 to 8 NUL bytes, to a multiple of 8.
fn entry_len(name_len: usize, extended: usize) -> usize {
    (ENTRY_FIXED + extended + name_len + 8) & !7
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

/// A part of the index to write: bytes of the index read, or new ones.
enum Piece<'a> {
    Stored(&'a [u8]),
    New(Vec<u8>),
}

impl Piece<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Piece::Stored(b) => b,
            Piece::New(b) => b,
        }
    }
}

/// An index file, split into its parts (everything borrowed from the bytes read).
struct Index<'a> {
    data: &'a [u8],
    entries: Vec<Entry>,
    /// The cached trees (`TREE`), when present.
    tree: Option<&'a [u8]>,
}

/// Where the entries and the cached trees of an index are in its bytes.
struct Layout {
    entries: Vec<Entry>,
    tree: Option<std::ops::Range<usize>>,
}

struct Entry {
    start: usize,
    end: usize,
    name: std::ops::Range<usize>,
    flags: u16,
}

impl Layout {
    /// None when the index is not one this module edits (see the module documentation).
    fn parse(data: &[u8]) -> Option<Layout> {
        if data.len() < 12 + HASH_LEN || &data[..4] != b"DIRC" {
            return None;
        }
        let version = be32(data, 4);
        if !(2..=3).contains(&version) {
            return None;
        }
        let body_end = data.len() - HASH_LEN;
        let count = be32(data, 8) as usize;
        let mut entries = Vec::with_capacity(count);
        let mut at = 12;
        for _ in 0..count {
            if at + ENTRY_FIXED > body_end {
                return None;
            }
            let flags = u16::from_be_bytes([data[at + 60], data[at + 61]]);
            let extended = if flags & FLAG_EXTENDED != 0 { 2 } else { 0 };
            if extended != 0 && version < 3 {
                return None;
            }
            let name_start = at + ENTRY_FIXED + extended;
            let name_len = match flags & NAME_MASK {
                NAME_MASK => data.get(name_start..body_end)?.iter().position(|b| *b == 0)?,
                n => n as usize,
            };
            let end = at + entry_len(name_len, extended);
            if end > body_end || data[name_start + name_len] != 0 {
                return None;
            }
            entries.push(Entry { start: at, end, name: name_start..name_start + name_len, flags });
            at = end;
        }
        let mut tree = None;
        while at < body_end {
            // the checksum follows, so the 8-byte header is always there to read; an extension
            // that runs past the body leaves `at` past its end and the index refused below
            let size = be32(data, at + 4) as usize;
            let body = data.get(at + 8..(at + 8).checked_add(size)?)?;
            match &data[at..at + 4] {
                b"TREE" => tree = Some(at + 8..at + 8 + body.len()),
                // offset tables for reading with threads: optional, rebuilt by git when it wants
                b"EOIE" | b"IEOT" => {}
                _ => return None,
            }
            at += 8 + size;
        }
        (at == body_end).then_some(Layout { entries, tree })
    }

    /// The index of `data`, the bytes this was parsed from.
    fn on(self, data: &[u8]) -> Index<'_> {
        Index { data, entries: self.entries, tree: self.tree.map(|t| &data[t]) }
    }
}

impl<'a> Index<'a> {
    #[cfg(test)]
    fn parse(data: &'a [u8]) -> Option<Index<'a>> {
        Layout::parse(data).map(|l| l.on(data))
    }

    fn name(&self, e: &Entry) -> &'a [u8] {
        &self.data[e.name.clone()]
    }

    /// The position of the first entry named `name` or after it.
    fn find(&self, name: &[u8]) -> usize {
        self.entries.partition_point(|e| self.name(e) < name)
    }

    /// Whether an entry is a plain file as this module writes them: stage 0, no assume-unchanged,
    /// skip-worktree or intent-to-add flag, mode 100644.
    fn plain(&self, e: &Entry) -> bool {
        e.flags & (STAGE_MASK | FLAG_ASSUME_VALID | FLAG_EXTENDED) == 0 && be32(self.data, e.start + 24) == 0o100644
    }

    /// An entry's object id.
    fn id(&self, e: &Entry) -> &'a [u8] {
        &self.data[e.start + 40..e.start + 40 + HASH_LEN]
    }

    fn has(&self, name: &[u8]) -> bool {
        self.entries.get(self.find(name)).is_some_and(|e| self.name(e) == name)
    }

    /// The entries git would re-check against their files when rewriting the index (racily
    /// clean: their file changed in the second the index was written), other than `files`.
    fn racy(&self, index_mtime: i64, files: &[StagedFile]) -> Vec<usize> {
        let staged = |name: &[u8]| files.binary_search_by(|f| f.name.as_slice().cmp(name)).is_ok();
        (0..self.entries.len())
            .filter(|i| {
                let e = &self.entries[*i];
                let d = &self.data[e.start..e.end];
                // mtime (seconds) not before the index's, and not already smudged (size 0)
                i64::from(be32(d, 8)) >= index_mtime && be32(d, 36) != 0 && !staged(self.name(e))
            })
            .collect()
    }

    /// The index with `files` (sorted by name) staged and the entries `smudge` smudged (size 0:
    /// git re-reads them next time), as the pieces to write before the checksum: most of it is
    /// the bytes read, unchanged. Some(None) when it already holds all that, None when only git
    /// can make the edit.
    fn edit(&self, files: &[StagedFile], smudge: &[usize]) -> Option<Option<Vec<Piece<'a>>>> {
        // (entry position, whether the entry there is replaced, the new bytes or None to drop it)
        let mut ops: Vec<(usize, bool, Option<Vec<u8>>)> = Vec::with_capacity(files.len() + smudge.len());
        let mut changed: Vec<&[u8]> = Vec::new();
        for f in files {
            let at = self.find(&f.name);
            let existing = self.entries.get(at).filter(|e| self.name(e) == f.name.as_slice());
            let new = f.entry();
            match (existing, &new) {
                (Some(e), _) => {
                    if !self.plain(e) || self.entries.get(at + 1).is_some_and(|n| self.name(n) == f.name.as_slice()) {
                        return None; // in conflict, flagged, or not a plain file
                    }
                    if new.as_deref() == Some(&self.data[e.start..e.end]) {
                        continue; // the index already holds this file, stat data and all
                    }
                }
                (None, None) => continue, // gone, and not in the index
                (None, Some(_)) => {
                    if self.clashes(&f.name) || files.iter().any(|o| is_under(&f.name, &o.name) || is_under(&o.name, &f.name)) {
                        return None;
                    }
                }
            }
            ops.push((at, existing.is_some(), new));
            changed.push(&f.name);
        }
        for &i in smudge {
            let e = &self.entries[i];
            let mut bytes = self.data[e.start..e.end].to_vec();
            bytes[36..40].fill(0);
            ops.push((i, true, Some(bytes)));
        }
        if ops.is_empty() {
            return Some(None);
        }
        ops.sort_by_key(|(at, replaces, _)| (*at, *replaces)); // an insertion goes before the entry at its place
        let mut out = vec![Piece::New(Vec::new())]; // the header, once the entries are counted
        let mut count = self.entries.len();
        let mut next = 0; // the first entry not yet copied
        for (at, replaces, bytes) in ops {
            out.push(Piece::Stored(&self.data[self.span(next, at)]));
            next = if replaces { at + 1 } else { at };
            match bytes {
                Some(bytes) => {
                    out.push(Piece::New(bytes));
                    count += usize::from(!replaces);
                }
                None => count -= 1,
            }
        }
        out.push(Piece::Stored(&self.data[self.span(next, self.entries.len())]));
        let mut header = self.data[..12].to_vec();
        header[8..12].copy_from_slice(&u32::try_from(count).ok()?.to_be_bytes());
        out[0] = Piece::New(header);
        if let Some(tree) = self.tree {
            let mut root = TreeNode::parse_all(tree)?;
            for name in &changed {
                root.invalidate(name);
            }
            let mut ext = b"TREE\0\0\0\0".to_vec();
            root.write(&mut ext);
            let size = u32::try_from(ext.len() - 8).ok()?;
            ext[4..8].copy_from_slice(&size.to_be_bytes());
            out.push(Piece::New(ext));
        }
        Some(Some(out))
    }

    /// The bytes of entries `from..to`.
    fn span(&self, from: usize, to: usize) -> std::ops::Range<usize> {
        if from >= to {
            return 0..0;
        }
        self.entries[from].start..self.entries[to - 1].end
    }

    /// Whether a new file `name` would clash with the index: a file where one of its directories
    /// is, or files under a directory of its name.
    fn clashes(&self, name: &[u8]) -> bool {
        if dirs_of(name).any(|d| self.has(d)) {
            return true;
        }
        let mut prefix = name.to_vec();
        prefix.push(b'/');
        self.entries.get(self.find(&prefix)).is_some_and(|e| self.name(e).starts_with(&prefix))
    }
}

/// The directories a path is in, outermost first (`a`, `a/b` for `a/b/c`).
fn dirs_of(name: &[u8]) -> impl Iterator<Item = &[u8]> {
    name.iter().enumerate().filter(|(_, b)| **b == b'/').map(|(i, _)| &name[..i])
}

fn is_under(name: &[u8], dir: &[u8]) -> bool {
    name.len() > dir.len() && name.starts_with(dir) && name[dir.len()] == b'/'
}

/// One node of the cached trees: a directory, how many index entries it covers (-1: invalid) and,
/// when valid, its tree id.
struct TreeNode<'a> {
    name: &'a [u8],
    entries: &'a [u8],
    id: Option<&'a [u8]>,
    children: Vec<TreeNode<'a>>,
}

impl<'a> TreeNode<'a> {
    fn parse_all(data: &'a [u8]) -> Option<TreeNode<'a>> {
        let mut at = 0;
        let root = Self::parse(data, &mut at, 0)?;
        (at == data.len()).then_some(root)
    }

    fn parse(data: &'a [u8], at: &mut usize, depth: usize) -> Option<TreeNode<'a>> {
        let field = |at: &mut usize, end: u8| -> Option<&'a [u8]> {
            let len = data.get(*at..)?.iter().position(|b| *b == end)?;
            let f = &data[*at..*at + len];
            *at += len + 1;
            Some(f)
        };
        if depth > 4096 {
            return None;
        }
        let name = field(at, 0)?;
        let entries = field(at, b' ')?;
        let subtrees: usize = std::str::from_utf8(field(at, b'\n')?).ok()?.parse().ok()?;
        let valid = std::str::from_utf8(entries).ok()?.parse::<i64>().ok()? >= 0;
        let id = if valid {
            let id = data.get(*at..*at + HASH_LEN)?;
            *at += HASH_LEN;
            Some(id)
        } else {
            None
        };
        let mut children = Vec::with_capacity(subtrees.min(1024));
        for _ in 0..subtrees {
            children.push(Self::parse(data, at, depth + 1)?);
        }
        Some(TreeNode { name, entries, id, children })
    }

    /// Marks the trees above `path` invalid and drops a cached tree of that name, as git does
    /// when it changes an entry.
    fn invalidate(&mut self, path: &[u8]) {
        self.entries = b"-1";
        self.id = None;
        match path.iter().position(|b| *b == b'/') {
            None => self.children.retain(|c| c.name != path),
            Some(slash) => {
                if let Some(c) = self.children.iter_mut().find(|c| c.name == &path[..slash]) {
                    c.invalidate(&path[slash + 1..]);
                }
            }
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.name);
        out.push(0);
        out.extend_from_slice(self.entries);
        out.extend_from_slice(format!(" {}\n", self.children.len()).as_bytes());
        if let Some(id) = self.id {
            out.extend_from_slice(id);
        }
        for c in &self.children {
            c.write(out);
        }
    }
}

/// Whether a `text` attribute may apply to the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    MayApply,
    Never,
}

/// What the attribute sources that can apply to the files say about converting their content:
/// None when one mentions a setting that converts it (a filter, an end-of-line or encoding
/// setting, `ident`); otherwise whether one may set `text`. Conservative: any mention counts.
fn conversions<'n>(repo: &Repo, config: &Config, index: &Index<'_>, names: impl Iterator<Item = &'n [u8]>) -> Option<Text> {
    let mut sources: Vec<PathBuf> = vec![repo.common_dir().join("info/attributes")];
    if std::env::var_os("GIT_ATTR_NOSYSTEM").is_none_or(|v| super::direct::parse_bool(v.to_str()) == Some(false)) {
        sources.push(PathBuf::from("/etc/gitattributes"));
        if let Some(prefix) = git_prefix() {
            sources.push(prefix.join("etc/gitattributes"));
        }
    }
    match config.attributes_file.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => sources.push(super::install::expand_home(f)),
        None => {
            let xdg = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()).map(PathBuf::from);
            if let Some(dir) = xdg.or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config"))) {
                sources.push(dir.join("git/attributes"));
            }
        }
    }
    let mut dirs: Vec<&[u8]> = vec![b""];
    for name in names {
        dirs.extend(dirs_of(name));
    }
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        let rel = if d.is_empty() { ".gitattributes".to_owned() } else { format!("{}/.gitattributes", String::from_utf8_lossy(d)) };
        let path = repo.workdir().join(&rel);
        if !path.exists() && index.has(rel.as_bytes()) {
            return None; // git would read it from the index
        }
        sources.push(path);
    }
    let mut text = Text::Never;
    for s in &sources {
        match std::fs::read(s) {
            Ok(t) if mentions_conversion(&t) => return None,
            Ok(t) if may_set_text(&t) => text = Text::MayApply,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => return None,
        }
    }
    Some(text)
}

/// Whether attribute text may set `text` (or `text=auto`), directly or in a macro; `-text` and
/// `!text` do not.
fn may_set_text(text: &[u8]) -> bool {
    attribute_lines(text).any(|line| line.split(|b| b.is_ascii_whitespace()).any(|token| token == b"text" || token.starts_with(b"text=")))
}

/// Whether attribute text names anything that changes what git stores: `filter`, `text`'s
/// end-of-line settings (`eol`, `crlf`), `ident` or `working-tree-encoding` (also inside macros).
fn mentions_conversion(text: &[u8]) -> bool {
    const WORDS: [&[u8]; 4] = [b"filter", b"eol", b"crlf", b"ident"];
    attribute_lines(text)
        .any(|line| WORDS.iter().any(|w| line.windows(w.len()).any(|x| x == *w)) || line.windows(8).any(|x| x == b"encoding"))
}

/// The lines of attribute text that say something (not blank, not a comment), lowercased.
fn attribute_lines(text: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    text.split(|b| *b == b'\n').map(|l| l.trim_ascii()).filter(|l| !l.is_empty() && !l.starts_with(b"#")).map(<[u8]>::to_ascii_lowercase)
}

/// The installation prefix of the `git` on PATH (`/usr` for `/usr/bin/git`), whose
/// `etc/gitattributes` is the system attribute file.
fn git_prefix() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("git")).find(|g| g.is_file())?.parent()?.parent().map(Path::to_path_buf)
}

/// git's lock on the index: `index.lock`, created exclusively, renamed over the index once
/// written, removed if anything fails before.
struct Lock {
    path: PathBuf,
    target: PathBuf,
    file: Option<File>,
}

impl Lock {
    /// None when another process holds it (git then reports that, as it always does).
    fn take(target: &Path) -> Option<Lock> {
        let mut path = target.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        let file = OpenOptions::new().write(true).create_new(true).mode(0o666).open(&path).ok()?;
        Some(Lock { path, target: target.to_path_buf(), file: Some(file) })
    }

    /// Writes the index from its pieces, then its checksum.
    fn write(&mut self, pieces: &[Piece<'_>]) -> std::io::Result<()> {
        let mut file = self.file.take().expect("the lock is written once");
        let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
        for piece in pieces {
            hasher.update(piece.bytes());
            file.write_all(piece.bytes())?;
        }
        file.write_all(hasher.try_finalize().map_err(std::io::Error::other)?.as_bytes())
    }

    /// Puts the written index in place.
    fn finish(mut self) -> std::io::Result<()> {
        std::fs::rename(&self.path, &self.target)?;
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_read_ahead_is_used_only_while_it_is_still_the_index() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("index");
        std::fs::write(&path, b"first").unwrap();
        let read = IndexRead::open(&path).unwrap();
        assert!(read.is_current(&path));
        // replaced as git replaces it: a new file renamed over it, even with the same bytes
        let lock = tmp.path().join("index.lock");
        std::fs::write(&lock, b"first").unwrap();
        std::fs::rename(&lock, &path).unwrap();
        assert!(!read.is_current(&path), "another file");
        // written in place, to the same size
        let read = IndexRead::open(&path).unwrap();
        let later = read.meta.modified().unwrap() + std::time::Duration::from_secs(1);
        std::fs::write(&path, b"other").unwrap();
        File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        assert!(!read.is_current(&path), "changed in place");
        std::fs::remove_file(&path).unwrap();
        assert!(!read.is_current(&path), "gone");
    }

    #[test]
    fn settings_under_which_git_writes_another_index_leave_it_to_git() {
        for (key, value) in [
            ("core.autocrlf", Some("input")),
            ("core.eol", Some("CRLF")),
            ("core.fsmonitor", Some("/usr/bin/watcher")),
            ("core.untrackedcache", None),
            ("core.splitindex", Some("true")),
            ("feature.manyfiles", Some("1")),
            ("index.skiphash", Some("yes")),
            ("index.version", Some("2")),
            ("attr.tree", Some("HEAD")),
            ("core.fsync", Some("index")),
        ] {
            let mut c = Config::default();
            assert!(c.take(key, value), "{key}");
            assert_eq!(c.unsupported.as_deref(), Some(key), "{key}={value:?}");
        }
        for (key, value) in [("core.autocrlf", Some("false")), ("core.eol", Some("lf")), ("core.untrackedcache", Some("keep"))] {
            let mut c = Config::default();
            assert!(c.take(key, value));
            assert_eq!(c.unsupported, None, "{key}={value:?}");
        }
        let mut c = Config::default();
        assert!(c.take("core.attributesfile", Some("~/.gitattributes")));
        assert_eq!(c.attributes_file.as_deref(), Some("~/.gitattributes"));
        assert!(!c.take("commit.gpgsign", Some("true")));
    }

    #[test]
    fn attribute_text_mentioning_a_conversion_is_noticed() {
        for text in ["*.enc filter=lfs", "* text eol=crlf", "[attr]sec -diff crlf", "*.meta ident", "*.x working-tree-encoding=UTF-16"] {
            assert!(mentions_conversion(text.as_bytes()), "{text}");
        }
        for text in ["# filter=lfs in a comment", "*.enc -text diff=agent-vault merge=agent-vault-secret", "* text=auto", ""] {
            assert!(!mentions_conversion(text.as_bytes()), "{text}");
        }
        for text in ["* text", "*.meta text=auto", "[attr]prose text diff", "*.enc\tTEXT"] {
            assert!(may_set_text(text.as_bytes()), "{text}");
        }
        for text in ["*.enc -text diff=agent-vault", "*.x !text", "*.txt binary", "# * text", "*.context diff"] {
            assert!(!may_set_text(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn only_indexes_of_the_known_shape_are_edited() {
        let mut v2 = b"DIRC\0\0\0\x02\0\0\0\0".to_vec();
        v2.extend_from_slice(&[0; HASH_LEN]);
        assert!(Index::parse(&v2).is_some(), "an empty version 2 index");
        let mut v4 = v2.clone();
        v4[7] = 4;
        assert!(Index::parse(&v4).is_none(), "version 4 (prefix-compressed names)");
        let mut untracked = v2[..12].to_vec();
        untracked.extend_from_slice(b"UNTR\0\0\0\0");
        untracked.extend_from_slice(&[0; HASH_LEN]);
        assert!(Index::parse(&untracked).is_none(), "an untracked cache");
        let mut counted = v2.clone();
        counted[11] = 1;
        assert!(Index::parse(&counted).is_none(), "an entry count with no entry");
        assert!(Index::parse(b"DIRC").is_none());
        for stray in 1..8 {
            let mut truncated = v2[..12].to_vec();
            truncated.extend_from_slice(&b"TREE\0\0\0"[..stray]);
            truncated.extend_from_slice(&[0; HASH_LEN]);
            assert!(Index::parse(&truncated).is_none(), "{stray} bytes of an extension header");
        }
        let mut overlong = v2[..12].to_vec();
        overlong.extend_from_slice(b"TREE\0\0\0\x10");
        overlong.extend_from_slice(&[0; HASH_LEN]);
        assert!(Index::parse(&overlong).is_none(), "an extension running into the checksum");
    }

    #[test]
    fn cached_trees_are_invalidated_along_a_path_as_git_does() {
        let id = [7u8; 20];
        let mut data = Vec::new();
        let node = |out: &mut Vec<u8>, name: &str, entries: &str, subtrees: usize| {
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend_from_slice(format!("{entries} {subtrees}\n").as_bytes());
            if !entries.starts_with('-') {
                out.extend_from_slice(&id);
            }
        };
        node(&mut data, "", "5", 2);
        node(&mut data, "a", "3", 1);
        node(&mut data, "b", "2", 0);
        node(&mut data, "c", "1", 0);
        let mut root = TreeNode::parse_all(&data).expect("parses");
        root.invalidate(b"a/b/file");
        root.invalidate(b"c");
        let mut out = Vec::new();
        root.write(&mut out);
        let mut want = Vec::new();
        node(&mut want, "", "-1", 1);
        node(&mut want, "a", "-1", 1);
        node(&mut want, "b", "-1", 0);
        assert_eq!(out, want);
        assert!(TreeNode::parse_all(&data[..data.len() - 1]).is_none());
    }
}
