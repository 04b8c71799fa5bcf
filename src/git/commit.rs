//! One commit per vault change, containing exactly the vault files the change touched.
//!
//! Usually the commit is made directly from HEAD's tree and the touched paths (see
//! [`super::direct`]). When a commit hook would run, or git is in a state where `git commit`
//! records more, it is built in a temporary index (HEAD's tree plus the touched paths), so
//! whatever the user had staged stays staged and out of it, and `git commit` makes it, so the
//! user's identity, hooks and signing configuration apply; afterwards the real index is updated
//! for those paths only. With `--no-commit` the paths are staged in the real index instead.

use std::path::{Path, PathBuf};

pub use super::direct::Prefetch;
use super::{Repo, direct, git_err};
use crate::error::{Error, ErrorKind, Result};

/// What to do with a change once its files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    Commit,
    StageOnly,
}

/// Removes the temporary index when dropped, whatever happened.
struct TempIndex(PathBuf);

impl Drop for TempIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let mut lock = self.0.clone().into_os_string();
        lock.push(".lock");
        let _ = std::fs::remove_file(lock);
    }
}

/// The paths relative to the work tree, NUL-terminated, for git's `-z`/`--pathspec-file-nul` input.
pub(super) fn stdin_paths(repo: &Repo, paths: &[PathBuf]) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    for p in paths {
        data.extend_from_slice(repo.relative(p)?.as_bytes());
        data.push(0);
    }
    Ok(data)
}

/// From this many files on, their blobs are first written into one pack by `git fast-import`,
/// so that `update-index` only hashes them: one pack file instead of a loose object (a new file)
/// per blob, which is most of the cost of a large commit.
const PACKED_OBJECTS: usize = 256;

/// Content fed to one `fast-import`, at most (bounds the memory of vaults of large values).
const PACK_INPUT: usize = 64 * 1024 * 1024;

/// Writes the blobs of the existing files among `paths` into the object database as packs, one
/// `fast-import` per core. The blobs are the files' bytes; when a filter of the user's changes
/// what git stores, `update-index` stores the filtered blob itself and the packed one is never
/// referenced.
fn write_objects(repo: &Repo, paths: &[PathBuf]) -> Result<()> {
    let existing: Vec<&PathBuf> = paths.iter().filter(|p| p.is_file()).collect();
    if existing.len() < PACKED_OBJECTS {
        return Ok(());
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            existing.chunks(existing.len().div_ceil(workers)).map(|part| scope.spawn(move || pack_files(repo, part))).collect();
        handles.into_iter().try_for_each(|h| h.join().unwrap_or_else(|_| Err(Error::internal("a fast-import worker panicked"))))
    })
}

/// Feeds the files to `fast-import`, in runs of at most [`PACK_INPUT`] bytes.
fn pack_files(repo: &Repo, files: &[&PathBuf]) -> Result<()> {
    let mut input = Vec::new();
    for p in files {
        let bytes = std::fs::read(p).map_err(|e| Error::io(p.display(), e))?;
        input.extend_from_slice(format!("blob\ndata {}\n", bytes.len()).as_bytes());
        input.extend_from_slice(&bytes);
        input.push(b'\n');
        if input.len() >= PACK_INPUT {
            fast_import(repo, std::mem::take(&mut input))?;
        }
    }
    if !input.is_empty() {
        fast_import(repo, input)?;
    }
    Ok(())
}

/// One `fast-import` of blobs. Its allocator is told to keep freed memory: it sets up and tears
/// down a compressor per blob, and returning that memory to the system each time (glibc's
/// default) triples its run time on small blobs. Deltas are left to the next repack.
fn fast_import(repo: &Repo, mut input: Vec<u8>) -> Result<()> {
    input.extend_from_slice(b"done\n"); // with --done, a truncated stream is an error, not a short pack
    repo.git()
        .args(["fast-import", "--quiet", "--done", "--depth=0"])
        .env("MALLOC_TRIM_THRESHOLD_", "67108864")
        .env("MALLOC_TOP_PAD_", "67108864")
        .stdin(input)
        .run()
        .map(drop)
}

/// Stages `paths` (absolute, inside the work tree; deleted files are removed) in the index
/// `GIT_INDEX_FILE` names, or the real one.
pub(super) fn update_index(repo: &Repo, index: Option<&Path>, paths: &[PathBuf]) -> Result<()> {
    let mut git = repo.git().args(["update-index", "--add", "--remove", "-z", "--stdin"]).stdin(stdin_paths(repo, paths)?);
    if let Some(i) = index {
        git = git.env("GIT_INDEX_FILE", i);
    }
    git.run().map(drop)
}

/// What a commit contains: exact files, or everything under a directory (`git add -A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Files,
    Tree,
}

fn stage(repo: &Repo, index: Option<&Path>, paths: &[PathBuf], scope: Scope) -> Result<()> {
    if scope == Scope::Files {
        return update_index(repo, index, paths);
    }
    let mut git = repo.git().args(["add", "-A", "--"]);
    for p in paths {
        git = git.arg(repo.relative(p)?);
    }
    if let Some(i) = index {
        git = git.env("GIT_INDEX_FILE", i);
    }
    git.run().map(drop)
}

/// The reads a commit needs, started ahead (see [`Prefetch`]).
pub fn prefetch(repo: &Repo) -> Prefetch {
    Prefetch::start(repo)
}

/// Commits (or stages) the given paths. Returns the new commit id, or None when nothing changed
/// or the change was only staged. `prefetch` holds the reads for the commit started earlier.
pub fn commit_paths(
    repo: &Repo,
    paths: &[PathBuf],
    message: &str,
    mode: CommitMode,
    scope: Scope,
    prefetch: Option<Prefetch>,
) -> Result<Option<String>> {
    let mut paths: Vec<PathBuf> = paths.to_vec();
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        return Ok(None);
    }
    if scope == Scope::Files {
        write_objects(repo, &paths)?; // once: every later `update-index` only hashes
    }
    if mode == CommitMode::StageOnly {
        stage(repo, None, &paths, scope)?;
        return Ok(None);
    }
    if scope == Scope::Files
        && let Some(mut plan) = direct::Plan::for_repo(repo, prefetch)?
    {
        match plan.commit(repo, &paths, message)? {
            direct::Outcome::Committed(id) => return Ok(Some(id)),
            direct::Outcome::Unchanged => return Ok(None),
            direct::Outcome::Fallback => {}
        }
    }
    let temp = TempIndex(repo.git_dir().join(format!("agent-vault-index.{}", std::process::id())));
    let from_head = head_index(repo, &temp.0)?;
    if !from_head.status.success() {
        if !head_is_unborn(repo)? {
            let why = String::from_utf8_lossy(&from_head.stderr).trim().to_owned();
            return Err(Error::new(ErrorKind::Git, format!("cannot read HEAD's tree: {why}")));
        }
        repo.git().args(["read-tree", "--empty"]).env("GIT_INDEX_FILE", &temp.0).run()?;
    }
    stage(repo, Some(&temp.0), &paths, scope)?;
    let real = real_index(repo);
    let swap = (paths.len() >= SWAP_THRESHOLD).then(|| Stamp::of(&real)).flatten().filter(|_| index_matches_head(repo, None));
    let committed =
        repo.git().args(["commit", "--quiet", "--no-edit", "-m", message]).env("GIT_INDEX_FILE", &temp.0).env(OWN_COMMIT_ENV, "1").run();
    if let Err(e) = committed {
        let unchanged = from_head.status.success() && index_matches_head(repo, Some(&temp.0));
        return if unchanged { Ok(None) } else { Err(e) };
    }
    let swapped = match swap {
        Some(stamp) => swap_index(&real, &temp.0, &stamp).unwrap_or(false),
        None => false,
    };
    if !swapped {
        stage(repo, None, &paths, scope)?;
    }
    Ok(Some(head_id(repo)?))
}

/// Set on the `git commit` of a vault change, so the pre-commit scan knows the commit holds only
/// the ciphertext and metadata git-vault itself just wrote.
pub const OWN_COMMIT_ENV: &str = "GIT_VAULT_OWN_COMMIT";

/// From this many files on, the real index is replaced by the committed temporary one (when the
/// user had nothing staged) instead of re-hashing every file into it.
const SWAP_THRESHOLD: usize = 64;

pub(super) fn real_index(repo: &Repo) -> PathBuf {
    std::env::var_os("GIT_INDEX_FILE").map(PathBuf::from).unwrap_or_else(|| repo.git_dir().join("index"))
}

/// Whether an index (the real one when None) holds exactly HEAD's tree: nothing staged.
fn index_matches_head(repo: &Repo, index: Option<&Path>) -> bool {
    let mut git = repo.git().args(["diff-index", "--cached", "--quiet", "HEAD", "--"]);
    if let Some(i) = index {
        git = git.env("GIT_INDEX_FILE", i);
    }
    git.output().is_ok_and(|o| o.status.success())
}

/// Size and modification time of the index, to notice a concurrent change.
#[derive(PartialEq, Eq)]
struct Stamp(u64, std::time::SystemTime);

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp(m.len(), m.modified().ok()?))
    }
}

/// Installs the temporary index as the real one under git's lock protocol (`index.lock` created
/// exclusively, then renamed over `index`), only if nobody changed the real index meanwhile.
fn swap_index(real: &Path, temp: &Path, before: &Stamp) -> std::io::Result<bool> {
    let mut lock = real.as_os_str().to_owned();
    lock.push(".lock");
    let lock = PathBuf::from(lock);
    match std::fs::hard_link(temp, &lock) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e),
    }
    if Stamp::of(real).as_ref() != Some(before) {
        std::fs::remove_file(&lock)?;
        return Ok(false);
    }
    std::fs::rename(&lock, real)?;
    Ok(true)
}

/// Fills the temporary index with HEAD's tree. It starts as a copy of the real index and is
/// merged with `read-tree -m`, which keeps the stat data of every entry that matches HEAD, so
/// `git commit` does not have to re-hash the whole work tree to refresh it.
fn head_index(repo: &Repo, temp: &Path) -> Result<std::process::Output> {
    if std::fs::copy(real_index(repo), temp).is_ok() {
        let merged = repo.git().args(["read-tree", "-m", "HEAD"]).env("GIT_INDEX_FILE", temp).output()?;
        if merged.status.success() {
            return Ok(merged);
        }
    }
    repo.git().args(["read-tree", "HEAD"]).env("GIT_INDEX_FILE", temp).output()
}

/// Whether HEAD names a branch without commits yet (a fresh repository).
fn head_is_unborn(repo: &Repo) -> Result<bool> {
    let r = repo.open()?;
    let head = r.head().map_err(|e| git_err("cannot read HEAD", e))?;
    Ok(head.is_unborn())
}

/// The commit HEAD points at, read without spawning git.
fn head_id(repo: &Repo) -> Result<String> {
    let r = repo.open()?;
    let id = r.head_id().map_err(|e| git_err("cannot read HEAD", e))?;
    Ok(id.to_string())
}
