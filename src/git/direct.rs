//! Vault commits built without `git commit`, when nothing `git commit` adds would apply.
//!
//! `git commit` of a vault change costs most of a `set` in a large vault: it re-reads and
//! re-checks the whole index, refreshes it against the work tree and writes a second index. The
//! same commit can be made from its parts:
//!
//! 1. the changed paths are staged in the real index: in-process when git would store the files
//!    as they are and nothing else git does when it writes the index applies (see
//!    [`super::index_edit`]), otherwise by `git update-index` (git hashes them, applying the
//!    user's filters); either way with their stat data, exactly as after `git commit` of them;
//! 2. the new tree is HEAD's tree with those entries replaced, spliced into the stored trees
//!    (see [`super::tree_edit`]); for a large index (thousands of secrets), the index is read
//!    ahead while the change is made and edited on another thread while the tree is made, and
//!    the replaced index (whose storage takes milliseconds to free) is closed by the process
//!    of step 4;
//! 3. the commit object is written in-process with the identity and date git gives (see
//!    [`PendingIdent`]) when it would hold nothing else; `git commit-tree` makes it when the
//!    author and committer may differ, a commit encoding is set or `commit.gpgSign` asks for a
//!    signature (with `-S`). HEAD is moved only if nobody else moved it meanwhile, with the
//!    reflog entries `git commit` writes: in-process (see [`RefConfig`]) when git would do
//!    nothing more than lock, log and rename, otherwise by `git update-ref`;
//! 4. `git maintenance run --auto`, as after every `git commit`.
//!
//! This path is taken only when it makes the same commit `git commit` would: HEAD has commits, no
//! merge, cherry-pick or revert is in progress, and no commit hook would run (git-vault's own
//! hook does nothing for its own commits). Otherwise the caller uses `git commit`.

use std::path::PathBuf;

use gix::ObjectId;

use super::index_edit::{self, Change};
use super::loose::Loose;
use super::tree_edit;
use super::{Repo, git_err, install};
use crate::error::{Error, ErrorKind, Result};

/// What the direct path needs to know, read before anything is changed.
pub struct Plan {
    repo: gix::Repository,
    head: ObjectId,
    tree: ObjectId,
    sign: bool,
    index: index_edit::Config,
    /// Whether HEAD may be moved in-process.
    refs_here: bool,
    /// The identity git would commit with, as it was read ahead; None when `git commit-tree`
    /// must make the commit.
    ident: Option<PendingIdent>,
    /// Writes the commit's objects.
    loose: Loose,
    /// The index as read ahead, if it was.
    index_read: Option<std::thread::JoinHandle<Option<index_edit::IndexRead>>>,
}

/// From this size on (about 1,300 secrets), the index is read ahead and edited on another thread,
/// and the old one closed on another: below it, that work takes less than a thread costs.
const LARGE_INDEX: u64 = 256 * 1024;

/// How a direct commit ended.
pub enum Outcome {
    Committed(String),
    /// The paths hold what HEAD holds: there is nothing to commit (and nothing is staged).
    Unchanged,
    /// The staged result cannot be read or written here; `git commit` must make the commit.
    Fallback,
}

/// States in which `git commit` records more than a commit of the index (a merge's second
/// parent, a cherry-pick's authorship).
const SEQUENCER_STATES: &[&str] = &["MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD"];

impl Plan {
    /// The plan for a direct commit, or None when `git commit` must make it. `prefetch` holds the
    /// reads started earlier, if any.
    pub fn for_repo(repo: &Repo, prefetch: Option<Prefetch>) -> Result<Option<Plan>> {
        if SEQUENCER_STATES.iter().any(|f| repo.git_dir().join(f).exists()) {
            return Ok(None);
        }
        let mut r = repo.open()?;
        r.objects.refresh_never(); // opened after the blobs were packed; what is written later is loose
        let mut head = r.head().map_err(|e| git_err("cannot read HEAD", e))?;
        if head.is_unborn() {
            return Ok(None);
        }
        let commit = head.peel_to_commit().map_err(|e| git_err("cannot read HEAD", e))?;
        let tree = commit.tree_id().map_err(|e| git_err("cannot read HEAD's tree", e))?.detach();
        let mut prefetch = match prefetch {
            Some(p) => p,
            None => Prefetch::start(repo),
        };
        let Reads { config, ident } = prefetch.reads(repo);
        let Some(config) = CommitConfig::parse(&read_config(config)?)? else { return Ok(None) };
        let hooks = install::hooks_dir_from(repo, config.hooks_path.as_deref());
        if config.hook_config || install::hooks_would_run(repo, &hooks, install::COMMIT_HOOKS) {
            return Ok(None);
        }
        let refs_here = config.refs.supported() && !install::hooks_would_run(repo, &hooks, &["reference-transaction"]);
        let head = commit.id;
        drop(commit);
        let index_read = prefetch.index.take();
        let ident = ident.filter(|_| !config.sign && config.one_ident);
        Ok(Some(Plan {
            repo: r,
            head,
            tree,
            sign: config.sign,
            index: config.index,
            refs_here,
            ident,
            loose: Loose::default(),
            index_read,
        }))
    }

    /// Makes the commit of `paths` (absolute, in the work tree; missing ones are deletions).
    pub fn commit(&mut self, repo: &Repo, paths: &[PathBuf], message: &str) -> Result<Outcome> {
        let mut replaced = None;
        let made = self.stage(repo, paths).and_then(|(tree, old)| {
            replaced = old;
            match tree {
                Some(tree) => self.make(repo, tree, message),
                None => Ok(Outcome::Fallback),
            }
        });
        if made.is_err() {
            // the commit did not happen: the paths go back to what HEAD has in the index, so the
            // change is left in the work tree only, as after a failed `git commit`
            let _ = unstage(repo, &self.head, paths);
        }
        let made = made?;
        if matches!(made, Outcome::Committed(_)) {
            // what `git commit` runs after every commit; it decides quickly whether there is
            // anything to do and detaches from anything long, so it is not waited for, and its
            // failure never fails the commit. Closing the last handle on a large replaced index
            // frees its storage, which takes as long as writing it did: maintenance, which reads
            // no input, gets that handle as its input, so that the storage is freed when
            // maintenance ends instead of before this command can.
            let _ = repo.git().args(["maintenance", "run", "--auto", "--quiet"]).spawn_detached(replaced.take());
        }
        if let Some(file) = replaced {
            std::thread::spawn(move || drop(file)); // (not waited for)
        }
        Ok(made)
    }

    /// Stages `paths` and stores HEAD's tree with them. The tree is None when a file would become
    /// a directory or the reverse (the paths are staged then): `git commit` decides. The file is
    /// the large index this replaced, still open, when it was replaced here.
    fn stage(&mut self, repo: &Repo, paths: &[PathBuf]) -> Result<(Option<ObjectId>, Option<std::fs::File>)> {
        let read = self.index_read.take().and_then(|h| h.join().ok().flatten());
        if let Some(files) = index_edit::Files::read(repo, &self.repo, &self.index, paths)?
            && let Some(staged) = self.stage_here(repo, &files, read)?
        {
            return Ok(staged);
        }
        super::commit::update_index(repo, None, paths)?;
        let Some(changes) = self.index_changes(repo, paths)? else { return Ok((None, None)) };
        Ok((tree_edit::edit(&self.repo, self.tree, &changes)?.map(|t| t.write(&self.repo, &mut self.loose)).transpose()?, None))
    }

    /// Stages `files` in-process while HEAD's tree with them is computed: for a large index
    /// (read ahead, as `read`), on another thread, so that the two costs that grow with the vault
    /// (its index and its largest tree) overlap. The tree is stored once the index edit is
    /// certain. None when git must stage the files; nothing was changed then.
    fn stage_here(
        &mut self,
        repo: &Repo,
        files: &index_edit::Files,
        read: Option<index_edit::IndexRead>,
    ) -> Result<Option<(Option<ObjectId>, Option<std::fs::File>)>> {
        let changes = files.changes();
        let (decided, certain) = std::sync::mpsc::channel();
        let config = &self.index;
        let large = read.is_some();
        let edit = move || index_edit::stage(repo, config, files, read, decided);
        std::thread::scope(|s| {
            let (on_thread, inline) = if large { (Some(super::spawn_scoped_beside(s, edit)), None) } else { (None, Some(edit())) };
            let tree = tree_edit::edit(&self.repo, self.tree, &changes);
            // stored before the index that names them is in place
            let stored = match certain.recv() {
                Ok(()) => files
                    .write_blobs(&self.repo, &mut self.loose)
                    .and_then(|()| tree.and_then(|t| t.map(|t| t.write(&self.repo, &mut self.loose)).transpose())),
                Err(_) => Ok(None), // git stages them: the tree is made again from its index
            };
            let staged = match (on_thread, inline) {
                (Some(thread), _) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
                (None, staged) => staged.expect("staged inline when not on a thread")?,
            };
            match staged {
                index_edit::Staged::ToGit => Ok(None),
                index_edit::Staged::Unchanged => stored.map(|tree| Some((tree, None))),
                index_edit::Staged::Written(written) => {
                    let tree = stored?; // on error, the written index is dropped unused
                    let replaced = written.finish()?;
                    Ok(Some((tree, large.then_some(replaced))))
                }
            }
        })
    }

    /// The commit of `tree` on HEAD.
    fn make(&mut self, repo: &Repo, tree: ObjectId, message: &str) -> Result<Outcome> {
        if tree == self.tree {
            return Ok(Outcome::Unchanged);
        }
        let new = match self.ident.take().and_then(PendingIdent::read) {
            Some(ident) => self.write_commit(tree, &ident, message)?,
            None => self.commit_tree(repo, tree, message)?,
        };
        let id = new.to_string();
        let subject = message.lines().next().unwrap_or_default();
        let reflog = format!("commit: {subject}");
        if !(self.refs_here && self.move_head_here(new, &reflog)?) {
            repo.git().args(["update-ref", "-m", &reflog, "HEAD", &id, &self.head.to_string()]).run().map_err(|e| {
                let moved = self.repo.head_id().is_ok_and(|now| now.detach() != self.head);
                let what = if moved {
                    "HEAD moved while the vault change was being committed"
                } else {
                    "git could not move HEAD to the vault commit"
                };
                Error::new(ErrorKind::Git, format!("{what}; run the command again")).source(e)
            })?;
        }
        Ok(Outcome::Committed(id))
    }

    /// Writes the commit `git commit-tree <tree> -p <HEAD>` would write with `message` on its
    /// input, when both its author and committer are `ident`.
    fn write_commit(&mut self, tree: ObjectId, ident: &str, message: &str) -> Result<ObjectId> {
        let data = commit_object(tree, self.head, ident, message);
        let kind = gix::object::Kind::Commit;
        let id = gix::objs::compute_hash(self.repo.object_hash(), kind, &data).map_err(|e| git_err("cannot hash the commit", e))?;
        self.loose.write(&self.repo, kind, &data, id)?;
        Ok(id)
    }

    /// The commit of `tree` on HEAD, made by `git commit-tree`.
    fn commit_tree(&self, repo: &Repo, tree: ObjectId, message: &str) -> Result<ObjectId> {
        let mut git = repo.git().args(["commit-tree", &tree.to_string(), "-p", &self.head.to_string()]);
        if self.sign {
            git = git.arg("-S");
        }
        let out = git.stdin(format!("{message}\n").into_bytes()).run()?;
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        ObjectId::from_hex(id.as_bytes())
            .map_err(|_| Error::new(ErrorKind::Git, format!("`git commit-tree` printed {id:?}, not a commit id")))
    }

    /// Moves HEAD (the branch it names, or HEAD itself when detached) from the commit it was on to
    /// `new`, as `git update-ref -m <message> HEAD <new> <old>` does: under the ref's lock, only if
    /// it is still where it was, appending the entry to HEAD's and the branch's reflogs, signed
    /// with the commit's committer (the identity git would sign them with). False, with nothing
    /// changed, when git must do it: a message git would reword, a lock not taken in git's default
    /// wait, or HEAD not where it was (for git to report).
    fn move_head_here(&self, new: ObjectId, message: &str) -> Result<bool> {
        use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
        if !reflog_message_as_is(message) {
            return Ok(false);
        }
        // (git reports a commit that cannot be read)
        let Ok(commit) = self.repo.find_commit(new) else { return Ok(false) };
        let Ok(committer) = commit.committer() else { return Ok(false) };
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange { mode: RefLog::AndReference, force_create_reflog: false, message: message.into() },
                expected: PreviousValue::MustExistAndMatch(gix::refs::Target::Object(self.head)),
                new: gix::refs::Target::Object(new),
            },
            name: "HEAD".try_into().expect("a valid ref name"),
            deref: true,
        };
        let mut refs = self.repo.refs.clone();
        // git logs the updates of HEAD and branches (`core.logAllRefUpdates` is true or unset)
        refs.write_reflog = gix::refs::store::WriteReflog::Normal;
        let wait = |ms| gix::lock::acquire::Fail::AfterDurationWithBackoff(std::time::Duration::from_millis(ms));
        let Ok(prepared) = refs.transaction().prepare([edit], wait(RefConfig::LOCK_TIMEOUT_MS), wait(RefConfig::PACKED_TIMEOUT_MS)) else {
            return Ok(false);
        };
        prepared.commit(committer).map_err(|e| git_err("cannot move HEAD to the vault commit", e))?;
        Ok(true)
    }

    /// The index entries of `paths` (stage 0; absent means deleted), as `update-index` left them.
    /// None when the index cannot be used for this (sparse, or a path still in conflict): `git
    /// commit` then decides.
    fn index_changes(&self, repo: &Repo, paths: &[PathBuf]) -> Result<Option<Vec<Change>>> {
        let r = &self.repo;
        let Ok(index) = gix::index::File::at(super::commit::real_index(repo), r.object_hash(), true, Default::default()) else {
            return Ok(None);
        };
        if index.is_sparse() {
            return Ok(None);
        }
        let mut changes = Vec::with_capacity(paths.len());
        for p in paths {
            let rel = repo.relative(p)?;
            let path: &gix::bstr::BStr = rel.as_str().into();
            let entry = match index.entry_by_path_and_stage(path, gix::index::entry::Stage::Unconflicted) {
                Some(e) => match e.mode.to_tree_entry_mode() {
                    Some(mode) => Some((mode.kind(), e.id)),
                    None => return Ok(None),
                },
                None if index.entry_by_path(path).is_some() => return Ok(None), // unmerged
                None => None,
            };
            changes.push((rel, entry));
        }
        Ok(Some(changes))
    }
}

/// Puts HEAD's entries of `paths` back into the index.
fn unstage(repo: &Repo, head: &ObjectId, paths: &[PathBuf]) -> Result<()> {
    repo.git()
        .args(["--literal-pathspecs", "reset", "-q", &head.to_string(), "--pathspec-from-file=-", "--pathspec-file-nul"])
        .stdin(super::commit::stdin_paths(repo, paths)?)
        .run()
        .map(drop)
}

/// The configuration that decides how a commit is made, read with one `git config` call so that
/// every source git knows (including `git -c`) applies.
struct CommitConfig {
    sign: bool,
    /// Whether the author and committer are one identity (no setting of only one of them) and
    /// the commit is UTF-8 (no `i18n.commitEncoding`).
    one_ident: bool,
    refs: RefConfig,
    hooks_path: Option<String>,
    /// Hooks defined in configuration (`hook.<name>.*`), which only `git commit` knows how to run.
    hook_config: bool,
    /// What decides whether the index can be edited in-process.
    index: index_edit::Config,
}

/// The reads a direct commit starts while the change is made, so that they overlap with that
/// work: the `git config` read of what decides how the commit is made and the `git var` read of
/// the identity it is made with (see [`Reads`]), and a large index (2 MB at 10,000 secrets),
/// read on another thread. Dropped unread, git is stopped.
pub struct Prefetch {
    reads: GitReads,
    index: Option<std::thread::JoinHandle<Option<index_edit::IndexRead>>>,
}

/// Where the reads by git are. Starting a process holds the thread that starts it until git runs
/// (0.1–1.8 ms each, measured here), so they are started on a thread of their own.
enum GitReads {
    NotStarted,
    Starting(std::thread::JoinHandle<Reads>),
}

/// The commit's reads by git: its settings and its identity.
struct Reads {
    config: Result<Running>,
    ident: Option<PendingIdent>,
}

impl Reads {
    fn start(repo: &Repo) -> Reads {
        Reads { config: Prefetch::spawn_config(repo).map(|c| Running(Some(c))), ident: PendingIdent::start(repo) }
    }
}

/// A git process, stopped if it is dropped before it is waited for.
struct Running(Option<std::process::Child>);

impl Running {
    /// Waits for git and collects what it printed.
    fn output(mut self) -> std::io::Result<std::process::Output> {
        self.0.take().expect("the process is held until it is waited for").wait_with_output()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The values `git config` printed (`key\nvalue\0` each).
fn read_config(config: Result<Running>) -> Result<Vec<u8>> {
    let out = config?.output().map_err(|e| Error::new(ErrorKind::Git, format!("git config failed: {e}")))?;
    // 1: no such key, which is not an error here
    if !out.status.success() && out.status.code() != Some(1) {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(Error::new(ErrorKind::Git, format!("`git config` failed: {why}")));
    }
    Ok(out.stdout)
}

impl Prefetch {
    /// Starts the reads: a large index's now, and those by git now for a small one. With a large
    /// index, git's are started by [`Prefetch::start_git_reads`]: the change calls it when it first
    /// writes, so that git runs while the change waits for its writes to reach the disk rather
    /// than while it reads a large manifest beside the index being read.
    pub fn start(repo: &Repo) -> Prefetch {
        let path = repo.git_dir().join("index");
        let large = std::env::var_os("GIT_INDEX_FILE").is_none() && std::fs::metadata(&path).is_ok_and(|m| m.len() >= LARGE_INDEX);
        let index = large.then(|| super::spawn_beside(move || index_edit::IndexRead::open(&path).ok()));
        let mut prefetch = Prefetch { reads: GitReads::NotStarted, index };
        if !large {
            prefetch.start_git_reads(repo);
        }
        prefetch
    }

    /// Starts the reads by git, unless they were started.
    pub fn start_git_reads(&mut self, repo: &Repo) {
        if !matches!(self.reads, GitReads::NotStarted) {
            return;
        }
        let repo = repo.clone();
        if self.index.is_some() {
            // a large vault, whose other CPU is busy (reading the index, encoding the manifest):
            // the thread starts on this one, once the change waits for its first write to reach
            // the disk
            self.reads = GitReads::Starting(std::thread::spawn(move || Reads::start(&repo)));
            return;
        }
        // a small vault: at once on another CPU, but git may run on any, as it would if this
        // thread started it
        let cpus = rustix::thread::sched_getaffinity(None).ok();
        self.reads = GitReads::Starting(super::spawn_beside(move || {
            if let Some(cpus) = cpus {
                let _ = rustix::thread::sched_setaffinity(None, &cpus);
            }
            Reads::start(&repo)
        }));
    }

    /// The reads by git, started now if they were not.
    fn reads(&mut self, repo: &Repo) -> Reads {
        match std::mem::replace(&mut self.reads, GitReads::NotStarted) {
            GitReads::NotStarted => Reads::start(repo),
            GitReads::Starting(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        }
    }

    fn spawn_config(repo: &Repo) -> Result<std::process::Child> {
        let keys = format!(
            r"^(commit\.gpgsign|core\.hookspath|hook\..*|{}|{}|{})$",
            index_edit::Config::KEYS,
            RefConfig::KEYS,
            CommitConfig::IDENT_KEYS
        );
        repo.git().args(["config", "-z", "--get-regexp", &keys]).spawn_piped()
    }
}

/// `git var GIT_COMMITTER_IDENT` running: the identity and date git would give a commit made
/// now, by every rule git has for them (`user.*`, `EMAIL`, `user.useConfigOnly`, `GIT_*_DATE`,
/// the time zone), failing as `git commit-tree` fails when it has none. It is the author too,
/// unless the variables or settings of the two differ: then, and when it is read more than
/// [`PendingIdent::FRESH`] after it started (its date would be late), `git commit-tree` makes the
/// commit.
struct PendingIdent {
    git: Running,
    started: std::time::Instant,
}

impl PendingIdent {
    const FRESH: std::time::Duration = std::time::Duration::from_secs(1);

    /// What git reads from the environment for the author and the committer.
    const ENV: [(&str, &str); 3] =
        [("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"), ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"), ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")];

    fn start(repo: &Repo) -> Option<PendingIdent> {
        if Self::ENV.iter().any(|(author, committer)| std::env::var_os(author) != std::env::var_os(committer)) {
            return None;
        }
        let git = repo.git().args(["var", "GIT_COMMITTER_IDENT"]).spawn_piped().ok()?;
        Some(PendingIdent { git: Running(Some(git)), started: std::time::Instant::now() })
    }

    /// The identity line (`Name <email> <seconds> <zone>`); None when git gave none or it is stale.
    fn read(self) -> Option<String> {
        if self.started.elapsed() > Self::FRESH {
            return None;
        }
        let out = self.git.output().ok()?;
        if !out.status.success() {
            return None;
        }
        ident_line(&out.stdout)
    }
}

/// The one line `git var GIT_*_IDENT` prints, when it is one: `Name <email> <seconds> <±hhmm>`.
fn ident_line(stdout: &[u8]) -> Option<String> {
    let line = std::str::from_utf8(stdout.strip_suffix(b"\n")?).ok()?;
    if line.contains(['\n', '\0']) {
        return None;
    }
    let mut parts = line.rsplitn(3, ' ');
    let (zone, seconds, who) = (parts.next()?, parts.next()?, parts.next()?);
    let zone_ok = zone.len() == 5 && zone.starts_with(['+', '-']) && zone[1..].bytes().all(|b| b.is_ascii_digit());
    let seconds_ok = !seconds.is_empty() && seconds.bytes().all(|b| b.is_ascii_digit());
    let who_ok = who.ends_with('>') && who.matches('<').count() == 1 && who.matches('>').count() == 1;
    (zone_ok && seconds_ok && who_ok).then(|| line.to_owned())
}

/// The bytes of the commit `git commit-tree <tree> -p <parent>` makes of `message` when `ident`
/// is its author and committer and the commit is neither signed nor re-encoded.
fn commit_object(tree: ObjectId, parent: ObjectId, ident: &str, message: &str) -> Vec<u8> {
    format!("tree {tree}\nparent {parent}\nauthor {ident}\ncommitter {ident}\n\n{message}\n").into_bytes()
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // (git is stopped as the reads are dropped)
        if let GitReads::Starting(thread) = std::mem::replace(&mut self.reads, GitReads::NotStarted) {
            let _ = thread.join();
        }
    }
}

impl CommitConfig {
    /// Settings after which git's commit holds more than one identity and a message.
    const IDENT_KEYS: &'static str = r"(author|committer)\.(name|email)|i18n\.commitencoding";

    /// None when a value is not one git-vault reads the way git does.
    fn parse(stdout: &[u8]) -> Result<Option<CommitConfig>> {
        let mut config = CommitConfig {
            sign: false,
            one_ident: true,
            refs: RefConfig::default(),
            hooks_path: None,
            hook_config: false,
            index: index_edit::Config::default(),
        };
        for item in stdout.split(|b| *b == 0).filter(|i| !i.is_empty()) {
            let item = String::from_utf8_lossy(item);
            let (key, value) = match item.split_once('\n') {
                Some((k, v)) => (k, Some(v)),
                None => (item.as_ref(), None),
            };
            match key {
                "commit.gpgsign" => match parse_bool(value) {
                    Some(b) => config.sign = b,
                    None => return Ok(None),
                },
                "core.hookspath" => config.hooks_path = value.map(str::to_owned),
                "author.name" | "author.email" | "committer.name" | "committer.email" | "i18n.commitencoding" => config.one_ident = false,
                // (both take the keys they share)
                _ if config.refs.take(key, value) | config.index.take(key, value) => {}
                _ => config.hook_config = true,
            }
        }
        Ok(Some(config))
    }
}

/// What decides whether HEAD can be moved in-process: only when git would just lock the ref,
/// append to the reflogs it keeps by default and rename the lock into place. Another reference
/// backend, other reflog rules, lock waits, shared permissions or flushing refs to disk leave it
/// to git. (A `reference-transaction` hook does too; hooks in configuration leave the whole
/// commit to `git commit`.)
#[derive(Debug, Default)]
struct RefConfig {
    unsupported: Option<String>,
}

impl RefConfig {
    const KEYS: &'static str =
        r"core\.(logallrefupdates|filesreflocktimeout|packedrefstimeout|sharedrepository|fsync)|extensions\.refstorage";

    /// git's default waits for a ref's and for `packed-refs`' lock.
    const LOCK_TIMEOUT_MS: u64 = 100;
    const PACKED_TIMEOUT_MS: u64 = 1000;

    /// Takes one `git config` item; false when the key is not one of [`RefConfig::KEYS`].
    fn take(&mut self, key: &str, value: Option<&str>) -> bool {
        let unsupported = match key {
            // `git init` writes true; false and `always` log differently
            "core.logallrefupdates" => parse_bool(value) != Some(true),
            "extensions.refstorage" => value != Some("files"),
            "core.filesreflocktimeout" | "core.packedrefstimeout" | "core.sharedrepository" | "core.fsync" => true,
            _ => return false,
        };
        if unsupported {
            self.unsupported = Some(key.to_owned());
        }
        true
    }

    fn supported(&self) -> bool {
        self.unsupported.is_none()
    }
}

/// Whether git would write `message` to a reflog as it is: git turns each run of whitespace into
/// one space and trims the ends.
fn reflog_message_as_is(message: &str) -> bool {
    !message.contains(['\t', '\n', '\r', '\x0b', '\x0c']) && !message.contains("  ") && message.trim_matches(' ') == message
}

/// A boolean as git reads it: a key without a value is true, an empty one false.
pub(super) fn parse_bool(value: Option<&str>) -> Option<bool> {
    let Some(v) = value else { return Some(true) };
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" | "" => Some(false),
        n => n.parse::<i64>().ok().map(|n| n != 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_read_as_git_reads_them() {
        for (v, want) in [
            (None, Some(true)),
            (Some(""), Some(false)),
            (Some("TRUE"), Some(true)),
            (Some("yes"), Some(true)),
            (Some("off"), Some(false)),
            (Some("0"), Some(false)),
            (Some("2"), Some(true)),
            (Some("maybe"), None),
        ] {
            assert_eq!(parse_bool(v), want, "{v:?}");
        }
    }

    #[test]
    fn only_an_identity_line_as_git_var_prints_it_is_taken() {
        let line = "Zoë Q. Public <zoe@example.com> 1796000000 +0530";
        assert_eq!(ident_line(format!("{line}\n").as_bytes()).as_deref(), Some(line));
        assert_eq!(ident_line(b"A <a@b> 0 -0000\n").as_deref(), Some("A <a@b> 0 -0000"));
        for bad in [
            &b"A <a@b> 1796000000 +0530"[..], // not a whole line
            b"A <a@b> 1796000000 +0530\n\n",
            b"A <a@b> 1796000000 +0530\nB <b@c> 1 +0000\n",
            b"A <a@b> 1796000000 +053\n",
            b"A <a@b> 1796000000 0530\n",
            b"A <a@b> 17960x0000 +0530\n",
            b"A <a@b>  +0530\n",
            b"A a@b 1796000000 +0530\n",
            b"A <a<b> 1796000000 +0530\n",
            b"A <a@b> 1796000000 +0530 x\n",
            b"A <a@\0b> 1796000000 +0530\n",
            b"\xff <a@b> 1796000000 +0530\n",
            b"\n",
            b"",
        ] {
            assert_eq!(ident_line(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_commit_object_is_laid_out_as_git_commit_tree_writes_it() {
        let (tree, parent) = (ObjectId::from_hex(&[b'1'; 40]).unwrap(), ObjectId::from_hex(&[b'2'; 40]).unwrap());
        let ident = "A U Thor <a@example.com> 1796000000 +0100";
        assert_eq!(
            String::from_utf8(commit_object(tree, parent, ident, "agent-vault: set 'x'")).unwrap(),
            format!("tree {tree}\nparent {parent}\nauthor {ident}\ncommitter {ident}\n\nagent-vault: set 'x'\n")
        );
    }

    #[test]
    fn settings_of_only_the_author_or_the_committer_leave_the_commit_to_git() {
        let parse = |items: &str| CommitConfig::parse(items.as_bytes()).unwrap().unwrap();
        assert!(parse("").one_ident);
        for key in ["author.name", "author.email", "committer.name", "committer.email", "i18n.commitencoding"] {
            assert!(!parse(&format!("{key}\nx\0")).one_ident, "{key}");
        }
    }

    #[test]
    fn only_messages_git_logs_as_they_are_are_logged_here() {
        assert!(reflog_message_as_is("commit: agent-vault: set 'a/秘密'"));
        for reworded in ["two  spaces", " leading", "trailing ", "a\tb", "a\nb", "a\rb"] {
            assert!(!reflog_message_as_is(reworded), "{reworded:?}");
        }
    }

    #[test]
    fn ref_settings_that_change_what_git_does_leave_head_to_git() {
        let supported = |key: &str, value: Option<&str>| {
            let mut c = RefConfig::default();
            assert!(c.take(key, value), "{key} is a ref setting");
            c.supported()
        };
        assert!(supported("core.logallrefupdates", Some("true")));
        assert!(supported("core.logallrefupdates", None));
        assert!(!supported("core.logallrefupdates", Some("false")));
        assert!(!supported("core.logallrefupdates", Some("always")));
        assert!(supported("extensions.refstorage", Some("files")));
        assert!(!supported("extensions.refstorage", Some("reftable")));
        for key in ["core.filesreflocktimeout", "core.packedrefstimeout", "core.sharedrepository", "core.fsync"] {
            assert!(!supported(key, Some("1")), "{key}");
        }
        assert!(!RefConfig::default().take("commit.gpgsign", Some("true")));
    }
}
