//! The only writer of vault files: where each file lives, atomic replacement (temp file in the
//! same directory, fsync, rename), private key files created 0600 without a wider window, and the
//! lock that serialises commands. Reading refuses symlinks and non-regular files, so a crafted
//! repository cannot make the vault read or write outside `.agent-vault/`.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Result};
use crate::vault::{AgentName, SecretPath};

mod bulk;
pub use bulk::BulkWriter;

/// Prefix of the temporary files of atomic writes; a leftover one means a write was interrupted.
pub const TEMP_PREFIX: &str = ".gv-tmp-";
/// Largest vault file read (ciphertext of a large secret included).
pub const MAX_FILE: u64 = 64 * 1024 * 1024;

pub const VAULT_DIR: &str = ".agent-vault";

/// The files of one vault directory (`<root>/.agent-vault`).
#[derive(Debug, Clone)]
pub struct VaultFs {
    dir: PathBuf,
    /// Directories already checked to be real directories (not symlinks) inside the vault, so a
    /// bulk operation checks each directory once.
    checked: Arc<Mutex<HashSet<PathBuf>>>,
}

/// Where a secret's two files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFiles {
    pub enc: PathBuf,
    pub meta: PathBuf,
    /// Stored by the seed tool at `secrets/default/<path>`.
    pub legacy: bool,
}

impl VaultFs {
    pub fn new(dir: PathBuf) -> Self {
        VaultFs { dir, checked: Arc::default() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.yaml")
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("config.yaml")
    }

    pub fn secrets_dir(&self) -> PathBuf {
        self.dir.join("secrets")
    }

    pub fn agent_dir(&self, agent: &AgentName) -> PathBuf {
        self.dir.join("agents").join(agent.as_str())
    }

    pub fn public_key(&self, agent: &AgentName) -> PathBuf {
        self.agent_dir(agent).join("public.key")
    }

    pub fn escrow(&self, agent: &AgentName) -> PathBuf {
        self.agent_dir(agent).join("private.key.escrow")
    }

    /// The primary location of a secret's files.
    pub fn secret_files(&self, path: &SecretPath) -> SecretFiles {
        let base = self.secrets_dir().join(path.as_str());
        SecretFiles { enc: with_suffix(&base, ".enc"), meta: with_suffix(&base, ".meta"), legacy: false }
    }

    /// The seed tool's location of a slash-less secret.
    pub fn legacy_files(&self, path: &SecretPath) -> Option<SecretFiles> {
        if !path.has_legacy_location() {
            return None;
        }
        let base = self.secrets_dir().join("default").join(path.as_str());
        Some(SecretFiles { enc: with_suffix(&base, ".enc"), meta: with_suffix(&base, ".meta"), legacy: true })
    }

    /// The files that hold a secret now: the primary location, else the legacy one when its
    /// metadata names this secret. None when neither exists.
    pub fn locate(&self, path: &SecretPath) -> Result<Option<SecretFiles>> {
        let primary = self.secret_files(path);
        if self.exists(&primary.enc)? {
            return Ok(Some(primary));
        }
        let Some(legacy) = self.legacy_files(path) else { return Ok(None) };
        if !self.exists(&legacy.enc)? {
            return Ok(None);
        }
        let claimed = match self.read_opt(&legacy.meta)? {
            Some(bytes) => serde_saphyr::from_slice::<crate::vault::Meta>(&bytes).map(|m| &m.name == path).unwrap_or(true),
            None => true,
        };
        Ok(claimed.then_some(legacy))
    }

    /// Refuses paths whose directories leave the vault through a symlink. The file itself is
    /// checked by the caller (opened without following symlinks, or `lstat`ed).
    fn check_inside(&self, path: &Path) -> Result<()> {
        let rel = path.strip_prefix(&self.dir).map_err(|_| Error::internal(format!("{} is outside the vault", path.display())))?;
        let mut cur = self.dir.clone();
        let parts: Vec<_> = rel.components().collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            cur.push(part);
            if self.checked.lock().map(|c| c.contains(&cur)).unwrap_or(false) {
                continue;
            }
            match fs::symlink_metadata(&cur) {
                Ok(m) if m.file_type().is_symlink() => return Err(self.symlink_error(&cur)),
                Ok(m) if m.is_dir() => {
                    if let Ok(mut c) = self.checked.lock() {
                        c.insert(cur.clone());
                    }
                }
                Ok(_) => return Err(Error::new(ErrorKind::InvalidInput, format!("{} is not a directory", self.show(&cur)))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(Error::io(self.show(&cur), e)),
            }
        }
        Ok(())
    }

    fn symlink_error(&self, path: &Path) -> Error {
        Error::new(ErrorKind::InvalidInput, format!("{} is a symlink; vault files must be regular files", self.show(path)))
    }

    pub fn exists(&self, path: &Path) -> Result<bool> {
        self.check_inside(path)?;
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => Err(self.symlink_error(path)),
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(self.show(path), e)),
        }
    }

    /// Reads a vault file; None when it does not exist. Never follows a symlink.
    pub fn read_opt(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        self.check_inside(path)?;
        let nofollow = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
        let mut file = match OpenOptions::new().read(true).custom_flags(nofollow).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => return Err(self.symlink_error(path)),
            Err(e) => return Err(Error::io(self.show(path), e)),
        };
        let meta = file.metadata().map_err(|e| Error::io(self.show(path), e))?;
        if !meta.is_file() {
            return Err(Error::new(ErrorKind::InvalidInput, format!("{} is not a regular file", self.show(path))));
        }
        if meta.len() > MAX_FILE {
            return Err(Error::new(ErrorKind::InvalidInput, format!("{} is larger than {MAX_FILE} bytes", self.show(path))));
        }
        let mut out = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut out).map_err(|e| Error::io(self.show(path), e))?;
        Ok(Some(out))
    }

    pub fn read(&self, path: &Path) -> Result<Vec<u8>> {
        self.read_opt(path)?.ok_or_else(|| Error::new(ErrorKind::Io, format!("{} is missing", self.show(path))))
    }

    /// Reads and parses a YAML file; None when it does not exist.
    pub fn read_yaml<T: DeserializeOwned>(&self, path: &Path) -> Result<Option<T>> {
        match self.read_opt(path)? {
            None => Ok(None),
            Some(bytes) => self.parse_yaml(path, &bytes).map(Some),
        }
    }

    /// Parses the YAML read from `path`.
    pub fn parse_yaml<T: DeserializeOwned>(&self, path: &Path, bytes: &[u8]) -> Result<T> {
        serde_saphyr::from_slice(bytes).map_err(|e| Error::new(ErrorKind::InvalidInput, format!("{} is not valid: {e}", self.show(path))))
    }

    pub fn write_yaml<T: Serialize>(&self, path: &Path, value: &T) -> Result<()> {
        self.write(path, to_yaml(value)?.as_bytes())
    }

    /// Replaces a vault file atomically (fsynced before the rename), creating parent directories.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        self.check_inside(path)?;
        write_file(path, bytes).map_err(|e| Error::io(format!("cannot write {}", self.show(path)), e))
    }

    /// Flushes the file system that holds the vault.
    pub fn sync(&self) -> Result<()> {
        let dir = File::open(&self.dir).map_err(|e| Error::io(self.show(&self.dir), e))?;
        rustix::fs::syncfs(&dir).map_err(|e| Error::io("cannot flush the vault to disk", e.into()))
    }

    /// Removes a vault file (a missing one is fine) and the directories it leaves empty.
    pub fn remove(&self, path: &Path) -> Result<()> {
        self.check_inside(path)?;
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("cannot remove {}", self.show(path)), e)),
        }
        let stop = self.secrets_dir();
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == stop || d == self.dir || !d.starts_with(&self.dir) || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }

    /// Every file under `secrets/`, as `/`-separated paths relative to it, sorted. Symlinks and
    /// other non-regular entries are listed too, so `check` can report them.
    pub fn walk_secrets(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let root = self.secrets_dir();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(self.show(&dir), e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| Error::io(self.show(&dir), e))?;
                let path = entry.path();
                let ft = entry.file_type().map_err(|e| Error::io(self.show(&path), e))?;
                if ft.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(&root) {
                    out.push(rel.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// The names of the directories under `agents/`.
    pub fn agent_dirs(&self) -> Result<Vec<String>> {
        let dir = self.dir.join("agents");
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(self.show(&dir), e)),
        };
        let mut out: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        out.sort();
        Ok(out)
    }

    /// A path relative to the vault's parent, for messages.
    pub fn show(&self, path: &Path) -> String {
        let base = self.dir.parent().unwrap_or(&self.dir);
        path.strip_prefix(base).unwrap_or(path).display().to_string()
    }
}

/// Splits a repository path at its vault directory: the part up to and including
/// `.agent-vault/`, and the part inside it. None for a path outside any vault.
pub fn split_vault_path(path: &str) -> Option<(&str, &str)> {
    let marker = format!("{VAULT_DIR}/");
    let at = if path.starts_with(&marker) { 0 } else { path.find(&format!("/{marker}"))? + 1 };
    Some(path.split_at(at + marker.len()))
}

/// The YAML text of a vault document.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| Error::internal(format!("cannot write YAML: {e}")))
}

fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Creates a directory and its parents with the given mode for the ones it creates.
pub fn create_dir(path: &Path, mode: u32) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(mode).create(path)
}

/// Writes `bytes` to a temp file next to `path`, fsyncs it and renames it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_file(path, bytes)
}

fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::other("no parent directory"))?;
    let tmp = temp_file(dir, bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    fault_point();
    Ok(())
}

/// A new temp file (mode 0644) in `dir`, created with its parents when missing, holding `bytes`.
fn temp_file(dir: &Path, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
    let builder = || {
        let mut b = tempfile::Builder::new();
        b.prefix(TEMP_PREFIX).permissions(fs::Permissions::from_mode(0o644));
        b
    };
    let mut tmp = match builder().tempfile_in(dir) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            create_dir(dir, 0o755)?;
            builder().tempfile_in(dir)?
        }
        Err(e) => return Err(e),
    };
    tmp.write_all(bytes)?;
    Ok(tmp)
}

/// Creates a private file (0600 from the first byte) that must not exist yet; its directory is
/// created 0700. Fails with `AlreadyExists` rather than overwrite.
pub fn create_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::other("no parent directory"))?;
    create_dir(dir, 0o700)?;
    let mut tmp = tempfile::Builder::new().prefix(TEMP_PREFIX).permissions(fs::Permissions::from_mode(0o600)).tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    Ok(())
}

/// Test hook: `GIT_VAULT_FAULT_AFTER_WRITES=N` aborts the process right after the N-th atomic
/// write, the way a kill would, so tests can stop an operation at every point.
fn fault_point() {
    static LIMIT: OnceLock<Option<usize>> = OnceLock::new();
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let limit = LIMIT.get_or_init(|| std::env::var("GIT_VAULT_FAULT_AFTER_WRITES").ok().and_then(|v| v.parse().ok()));
    if let Some(n) = *limit
        && COUNT.fetch_add(1, Ordering::SeqCst) + 1 >= n
    {
        std::process::abort();
    }
}

/// An exclusive lock held for the life of a command that changes the vault.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock at `path`, waiting up to `timeout`; `on_wait` runs once if it must wait.
    pub fn acquire(path: &Path, timeout: Duration, on_wait: &dyn Fn()) -> Result<Lock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(format!("cannot open the lock file {}", path.display()), e))?;
        let start = Instant::now();
        let mut warned = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Lock { _file: file }),
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => return Err(Error::io("cannot lock the vault", e)),
            }
            if start.elapsed() >= timeout {
                return Err(Error::new(ErrorKind::Locked, "another git-vault command is changing this vault")
                    .hint(format!("wait for it to finish; the lock is {}", path.display())));
            }
            if !warned {
                on_wait();
                warned = true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_0600_and_never_overwritten() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("keys/a.key");
        create_private(&p, b"one").unwrap();
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(p.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        let e = create_private(&p, b"two").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&p).unwrap(), b"one");
    }

    #[test]
    fn atomic_write_leaves_no_temp_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x/y.enc");
        write_atomic(&p, b"1").unwrap();
        write_atomic(&p, b"2").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"2");
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn symlinks_inside_the_vault_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let v = VaultFs::new(d.path().join(".agent-vault"));
        fs::create_dir_all(v.secrets_dir()).unwrap();
        std::os::unix::fs::symlink("/etc", v.secrets_dir().join("evil")).unwrap();
        let s = SecretPath::parse("evil/passwd").unwrap();
        assert!(v.locate(&s).is_err());
        assert!(v.write(&v.secret_files(&s).enc, b"x").is_err());
    }

    #[test]
    fn second_lock_waits_then_fails() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("lock");
        let _a = Lock::acquire(&p, Duration::from_secs(1), &|| {}).unwrap();
        let e = Lock::acquire(&p, Duration::from_millis(60), &|| {}).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Locked);
    }
}
