//! What a commit made now would contain: the index blobs that differ from HEAD (added,
//! modified, renamed, copied, partially staged), read with gix. The work tree is irrelevant.
//! `GIT_DIR` and `GIT_INDEX_FILE` are honoured, so the pre-commit hook sees the index git is
//! committing (including the temporary one of `git commit -a` or `git commit <paths>`).

use std::path::Path;

use super::git_err;
use crate::error::{Error, ErrorKind, Result};

/// One file to scan: its path in the repository and its bytes.
pub type StagedFile = (String, Vec<u8>);

/// The index entries (path, blob id) whose content differs from HEAD.
fn changed_entries(repo: &gix::Repository) -> Result<Vec<(String, gix::ObjectId)>> {
    let index = repo.index_or_empty().map_err(|e| git_err("cannot read the index", e))?;
    let head_index = match repo.head_commit() {
        Ok(commit) => {
            let tree = commit.tree_id().map_err(|e| git_err("cannot read HEAD", e))?;
            Some(repo.index_from_tree(&tree).map_err(|e| git_err("cannot read HEAD's tree", e))?)
        }
        Err(_) => None,
    };
    let mut out = Vec::new();
    for entry in index.entries() {
        if entry.stage_raw() != 0 || !is_blob(entry.mode) {
            continue;
        }
        let unchanged = head_index.as_ref().and_then(|h| h.entry_by_path(entry.path(&index))).is_some_and(|h| h.id == entry.id);
        if !unchanged {
            out.push((entry.path(&index).to_string(), entry.id));
        }
    }
    Ok(out)
}

fn open(start: &Path) -> Result<gix::Repository> {
    gix::discover_with_environment_overrides(start)
        .map_err(|e| Error::new(ErrorKind::Git, format!("{} is not in a git repository", start.display())).source(e))
}

/// The staged files whose content differs from HEAD; files over `max_size` bytes are left out.
pub fn staged_files(start: &Path, max_size: u64, skip: &dyn Fn(&str) -> bool) -> Result<Vec<StagedFile>> {
    let repo = open(start)?;
    let mut out = Vec::new();
    for (path, id) in changed_entries(&repo)? {
        if skip(&path) {
            continue;
        }
        if let Some(data) = super::read_blob(&repo, id, max_size)? {
            out.push((path, data));
        }
    }
    Ok(out)
}

fn is_blob(mode: gix::index::entry::Mode) -> bool {
    use gix::index::entry::Mode;
    mode == Mode::FILE || mode == Mode::FILE_EXECUTABLE || mode == Mode::SYMLINK
}

/// Files of the work tree to scan: the given paths (directories recursively) or every tracked
/// and untracked, not ignored file.
pub fn worktree_files(start: &Path, paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>> {
    if paths.is_empty() {
        let repo = super::Repo::discover(start)?;
        let out = repo.git().args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"]).run()?;
        let mut files: Vec<std::path::PathBuf> = out
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| repo.workdir().join(String::from_utf8_lossy(p).as_ref()))
            .filter(|p| p.is_file())
            .collect();
        files.dedup();
        return Ok(files);
    }
    let mut files = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = paths.iter().map(|p| start.join(p)).collect();
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).map_err(|e| Error::io(p.display(), e))?;
        if meta.is_dir() {
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            for e in std::fs::read_dir(&p).map_err(|e| Error::io(p.display(), e))?.flatten() {
                stack.push(e.path());
            }
        } else if meta.is_file() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}
