//! Git: repository discovery and reads with `gix`; the `git` CLI where the user's configuration
//! must apply (commits with hooks and signing, fetch and merge, config edits).
//!
//! Secrets never reach a git child process: not in argv, not in the environment, not on stdin.

pub mod commit;
mod direct;
pub mod history;
mod index_edit;
pub mod install;
mod loose;
pub mod merge_context;
pub mod pull;
pub mod staged;
mod tree_edit;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};

/// A git work tree.
#[derive(Debug, Clone)]
pub struct Repo {
    workdir: PathBuf,
    git_dir: PathBuf,
    common_dir: PathBuf,
}

impl Repo {
    /// The repository containing `start` (like git's own discovery). Bare repositories are refused.
    pub fn discover(start: &Path) -> Result<Repo> {
        let repo = gix::discover(start).map_err(|e| {
            Error::new(ErrorKind::Git, format!("{} is not in a git repository", start.display()))
                .hint("run `git init` first, or pass -C <dir> to point at a repository")
                .source(e)
        })?;
        let workdir = repo.workdir().ok_or_else(|| Error::new(ErrorKind::Git, "a vault needs a work tree, and this repository is bare"))?;
        Ok(Repo { workdir: absolute(workdir)?, git_dir: absolute(repo.git_dir())?, common_dir: absolute(repo.common_dir())? })
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    /// Opens the repository with gix for reads.
    pub fn open(&self) -> Result<gix::Repository> {
        gix::open(&self.git_dir).map_err(|e| git_err("cannot open the repository", e))
    }

    /// A `git` command running in the work tree.
    pub fn git(&self) -> Git {
        Git::new(&self.workdir)
    }

    /// A path relative to the work tree, with `/` separators, as git wants it.
    pub fn relative(&self, path: &Path) -> Result<String> {
        let rel = path.strip_prefix(&self.workdir).map_err(|_| Error::internal(format!("{} is outside the work tree", path.display())))?;
        Ok(rel.to_string_lossy().into_owned())
    }
}

/// An error from a gix read, with what was being read.
pub(crate) fn git_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Git, format!("{what}: {e}"))
}

/// A blob's bytes; None when it is larger than `max` (its size is read from the header first,
/// so a huge blob is never loaded).
pub(crate) fn read_blob(repo: &gix::Repository, id: gix::ObjectId, max: u64) -> Result<Option<Vec<u8>>> {
    let header = repo.find_header(id).map_err(|e| git_err(&format!("cannot read blob {id}"), e))?;
    if header.size() > max {
        return Ok(None);
    }
    let blob = repo.find_blob(id).map_err(|e| git_err(&format!("cannot read blob {id}"), e))?;
    Ok(Some(blob.detach().data))
}

/// Starts `f` on a thread that works beside the caller. A new thread starts on its parent's CPU
/// and, on the 2-core VMs this was measured on, waits there until the parent blocks (2–3 ms, as
/// long as the work it was meant to overlap): it moves itself to another CPU the caller may use,
/// and the caller yields once so that it can.
pub(crate) fn spawn_beside<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> std::thread::JoinHandle<T> {
    let handle = std::thread::spawn(off_this_cpu(f));
    rustix::thread::sched_yield();
    handle
}

/// [`spawn_beside`] in a scope.
pub(crate) fn spawn_scoped_beside<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, T> {
    let handle = scope.spawn(off_this_cpu(f));
    rustix::thread::sched_yield();
    handle
}

/// `f`, first restricting the thread that runs it to the CPUs it may use other than the caller's
/// current one, when there are any.
fn off_this_cpu<T>(f: impl FnOnce() -> T) -> impl FnOnce() -> T {
    let cpu = rustix::thread::sched_getcpu();
    move || {
        if let Ok(mut cpus) = rustix::thread::sched_getaffinity(None)
            && cpus.is_set(cpu)
            && cpus.count() > 1
        {
            cpus.unset(cpu);
            let _ = rustix::thread::sched_setaffinity(None, &cpus);
        }
        f()
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io(p.display(), e))
}

/// A `git` invocation. Its stderr is captured and becomes the error message on failure.
pub struct Git {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
    shown: String,
}

impl Git {
    pub fn new(cwd: &Path) -> Git {
        let mut cmd = Command::new("git");
        cmd.current_dir(cwd).env("GIT_TERMINAL_PROMPT", "0").env_remove("AGENT_VAULT_KEY");
        Git { cmd, stdin: None, timeout: None, shown: "git".to_owned() }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Git {
        self.shown.push(' ');
        self.shown.push_str(&a.as_ref().to_string_lossy());
        self.cmd.arg(a);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Git {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Git {
        self.cmd.env(k, v);
        self
    }

    pub fn stdin(mut self, data: Vec<u8>) -> Git {
        self.stdin = Some(data);
        self
    }

    pub fn timeout(mut self, t: Duration) -> Git {
        self.timeout = Some(t);
        self
    }

    /// Runs to completion; a non-zero exit is an error carrying git's stderr.
    pub fn run(self) -> Result<Output> {
        let shown = self.shown.clone();
        let out = self.output()?;
        if out.status.success() {
            return Ok(out);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let detail = stderr.trim();
        let detail = if detail.is_empty() { String::from_utf8_lossy(&out.stdout).trim().to_owned() } else { detail.to_owned() };
        Err(Error::new(ErrorKind::Git, format!("`{shown}` failed: {detail}")))
    }

    /// Starts git without waiting for it, its output closed and its input `input` (else closed).
    pub fn spawn_detached(mut self, input: Option<std::fs::File>) -> Result<()> {
        self.cmd.stdin(input.map_or_else(Stdio::null, Stdio::from)).stdout(Stdio::null()).stderr(Stdio::null());
        self.cmd.spawn().map(drop).map_err(|e| Error::new(ErrorKind::Git, format!("cannot run git: {e}")))
    }

    /// Starts git with its output piped, for the caller to collect.
    pub fn spawn_piped(mut self) -> Result<std::process::Child> {
        self.cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.spawn().map_err(|e| spawn_error(&e))
    }

    /// Runs to completion and returns the output whatever the exit status.
    pub fn output(mut self) -> Result<Output> {
        self.cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.cmd.spawn().map_err(|e| spawn_error(&e))?;
        if let Some(data) = self.stdin.take() {
            let mut pipe = child.stdin.take().expect("stdin was piped");
            std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            });
        }
        match self.timeout {
            None => child.wait_with_output().map_err(|e| Error::new(ErrorKind::Git, format!("git failed: {e}"))),
            Some(t) => wait_with_timeout(child, t, &self.shown),
        }
    }
}

fn spawn_error(e: &std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::new(ErrorKind::Git, "git is not installed or not on PATH").hint("install git; git-vault uses it for commits and pulls")
    } else {
        Error::new(ErrorKind::Git, format!("cannot run git: {e}"))
    }
}

fn wait_with_timeout(mut child: std::process::Child, timeout: Duration, shown: &str) -> Result<Output> {
    let mut stdout = child.stdout.take().expect("stdout was piped");
    let mut stderr = child.stderr.take().expect("stderr was piped");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::new(ErrorKind::Git, format!("`{shown}` timed out after {}s", timeout.as_secs())));
            }
            Err(e) => return Err(Error::new(ErrorKind::Git, format!("git failed: {e}"))),
        }
    };
    Ok(Output { status, stdout: out_reader.join().unwrap_or_default(), stderr: err_reader.join().unwrap_or_default() })
}
