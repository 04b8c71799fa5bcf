"""Git plumbing: the safe pull shared with the CLI, and the clone cache for remote vault URLs.

Every git call runs with a timeout, ``GIT_TERMINAL_PROMPT=0``, no stdin and in its own process
group (so a hung ssh or credential helper is killed with it). The safe pull never raises: anything
that stops it is a :class:`PullWarning` and the caller keeps reading the local data.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from .errors import VaultError, VaultNotFoundError

__all__ = [
    "DEFAULT_TIMEOUT",
    "PullWarning",
    "cache_dir_for",
    "cached_clone",
    "is_remote_url",
    "redact",
    "safe_pull",
]

DEFAULT_TIMEOUT = 15.0

# Not passed to git: the identity (git runs hooks, ssh and credential helpers), and the variables
# that would point git at another repository than its cwd (set when the caller runs in a git hook).
_DROPPED_ENV = (
    "AGENT_VAULT_KEY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
    "GIT_IMPLICIT_WORK_TREE",
)
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_RE = re.compile(r"^[^/@:\s]+@[^/:\s]+:")
_USERINFO_RE = re.compile(r"(?<=://)[^/@\s]+@")


class PullWarning(UserWarning):
    """The safe pull did not happen (offline, diverged, dirty work tree…); local data is read."""


class _GitFailed(Exception):
    pass


@dataclass(frozen=True)
class _Result:
    code: int
    out: str
    err: str

    def reason(self) -> str:
        lines = [line.strip() for line in self.err.splitlines() if line.strip()]
        return redact(lines[-1]) if lines else f"exit status {self.code}"


def redact(text: str) -> str:
    """Hide credentials embedded in URLs (``https://user:token@host``)."""
    return _USERINFO_RE.sub("***@", text)


def is_remote_url(location: str) -> bool:
    """``https://…``, ``ssh://…``, ``file://…``, ``git@host:path`` and other git URLs."""
    return bool(_URL_RE.match(location) or _SCP_RE.match(location))


def _git(args: list[str], cwd: Path, timeout: float) -> _Result:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        proc = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=(os.name == "posix"),
        )
    except OSError as exc:
        raise _GitFailed(f"cannot run git: {exc.strerror}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.communicate()
        raise _GitFailed(f"git {args[0]} timed out after {timeout:g}s") from None
    return _Result(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def safe_pull(worktree: Path, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Fast-forward ``worktree`` from its upstream if that is safe; True when it is up to date.

    Skipped silently (False) outside a git work tree or without an upstream. Skipped with a
    :class:`PullWarning` (False) on a dirty tracked work tree, a failed fetch or a non-fast-forward.
    Never checks out, resets or merges anything but a fast-forward.
    """
    try:
        return _safe_pull(worktree, timeout)
    except _GitFailed as exc:
        _warn(f"not pulled: {exc}")
        return False


def _safe_pull(worktree: Path, timeout: float) -> bool:
    inside = _git(["rev-parse", "--is-inside-work-tree"], worktree, timeout)
    if inside.code != 0 or inside.out.strip() != "true":
        return False
    upstream = _git(["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}"], worktree, timeout)
    if upstream.code != 0:
        return False
    branch = _git(["symbolic-ref", "--short", "-q", "HEAD"], worktree, timeout).out.strip()
    remote = _git(["config", "--get", f"branch.{branch}.remote"], worktree, timeout).out.strip()
    if not remote:
        return False
    status = _git(["status", "--porcelain", "--untracked-files=no"], worktree, timeout)
    if status.code != 0:
        _warn(f"not pulled: git status failed ({status.reason()})")
        return False
    if status.out.strip():
        _warn("not pulled: the work tree has uncommitted changes to tracked files; reading the local copy")
        return False
    fetch = _git(["fetch", "--quiet", "--no-tags", "--", remote], worktree, timeout)
    if fetch.code != 0:
        _warn(f"not pulled: git fetch {redact(remote)} failed ({fetch.reason()}); reading the local copy")
        return False
    merge = _git(["merge", "--ff-only", "--quiet", "@{u}"], worktree, timeout)
    if merge.code != 0:
        _warn(
            f"not pulled: cannot fast-forward to {upstream.out.strip()} ({merge.reason()}); "
            "reading the local copy"
        )
        return False
    return True


def _warn(message: str) -> None:
    warnings.warn(f"git-vault: {message}", PullWarning, stacklevel=4)


def cache_dir_for(url: str) -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/git-vault/repos/<sha256(url)[:16]>``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.environ.get("HOME")
        base = os.path.join(home if home else str(Path.home()), ".cache")
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return Path(base) / "git-vault" / "repos" / digest


def cached_clone(url: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[Path, bool]:
    """The cache clone of ``url``: ``(path, freshly_cloned)``; cloned if it is not there yet.

    An existing cache directory that is not a clone of exactly ``url`` is an error.
    """
    dest = cache_dir_for(url)
    shown = redact(url)
    if dest.exists():
        _check_origin(dest, url, shown, timeout)
        return dest, False
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=dest.parent))
    try:
        try:
            clone = _git(["clone", "--quiet", "--", url, str(tmp)], dest.parent, timeout)
        except _GitFailed as exc:
            raise VaultNotFoundError(f"cannot clone {shown}: {exc}") from None
        if clone.code != 0:
            raise VaultNotFoundError(f"cannot clone {shown}: {clone.reason()}")
        try:
            tmp.rename(dest)
        except OSError:
            if not dest.exists():  # not a concurrent clone that won the race
                raise
            _check_origin(dest, url, shown, timeout)
            return dest, False
        return dest, True
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _check_origin(dest: Path, url: str, shown: str, timeout: float) -> None:
    if not (dest / ".git").exists():
        raise VaultError(f"the cache directory {dest} is not a git clone; remove it to clone afresh")
    try:
        origin = _git(["config", "--get", "remote.origin.url"], dest, timeout)
    except _GitFailed as exc:
        raise VaultError(f"cannot check the cached clone {dest}: {exc}") from None
    if origin.code != 0 or origin.out.strip() != url:
        raise VaultError(
            f"the cache directory {dest} is not a clone of {shown} (its origin is "
            f"{redact(origin.out.strip()) or 'not set'}); remove it to clone afresh"
        )
