"""The read-only :class:`Vault`."""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

import pyrage

from . import gitsync
from .errors import NotAuthorizedError, SecretNotFoundError, VaultError, VaultNotFoundError
from .identity import Identity, resolve_identity
from .manifest import Manifest, Meta, load_manifest, load_meta
from .names import validate_name, validate_secret_path

__all__ = ["Vault", "find_vault_root"]

VAULT_DIR = ".agent-vault"
LEGACY_GROUP_DIR = "default"


def find_vault_root(start: Path, search_parents: bool = True) -> Path:
    """The first directory from ``start`` upward holding ``.agent-vault/manifest.yaml``."""
    start = Path(os.path.expanduser(start)).absolute()
    if not start.exists():
        raise VaultNotFoundError(f"no vault: {start} does not exist")
    here = start if start.is_dir() else start.parent
    for candidate in (here, *here.parents) if search_parents else (here,):
        if (candidate / VAULT_DIR / "manifest.yaml").is_file():
            return candidate
    where = "at or above" if search_parents else "at the top of"
    raise VaultNotFoundError(f"no vault: no {VAULT_DIR}/manifest.yaml {where} {start}")


class Vault:
    """A read-only view of a git-vault (or earlier agent-vault) vault.

    ``repo_path`` is a directory in (or below) the vault's repository, or a remote git URL, which is
    cloned to a cache. The identity comes from ``key_str``, ``key_path``, ``AGENT_VAULT_KEY`` or
    ``~/.agent-vault/owner.key`` (SPEC section 3); a file or the variable is read on the first
    decryption.
    With ``auto_pull``, the vault is fast-forwarded from its upstream at open and before a read
    when the last pull is older than ``pull_interval`` seconds; failures only warn.
    """

    def __init__(
        self,
        repo_path: str | os.PathLike[str],
        key_path: str | os.PathLike[str] | None = None,
        key_str: str | None = None,
        auto_pull: bool = True,
        *,
        pull_interval: float = 60.0,
        git_timeout: float = gitsync.DEFAULT_TIMEOUT,
    ) -> None:
        if key_path is not None and key_str is not None:
            raise ValueError("pass key_path or key_str, not both")
        self._key_path = key_path
        # A key_str is parsed now and not kept as text; other sources are read on first decryption.
        self._identities: list[Identity] | None = (
            None if key_str is None else [resolve_identity(key_str=key_str)]
        )
        self._auto_pull = auto_pull
        self._pull_interval = pull_interval
        self._git_timeout = git_timeout
        self._last_pull: float | None = None
        self._closed = False
        location = os.fspath(repo_path)
        if gitsync.is_remote_url(location):
            clone, fresh = gitsync.cached_clone(location, git_timeout)
            self.root = find_vault_root(clone, search_parents=False)
            if fresh:
                self._last_pull = time.monotonic()
        else:
            self.root = find_vault_root(Path(location))
        self._dir = self.root / VAULT_DIR
        if auto_pull and self._last_pull is None:
            self._pull()
        self._manifest: Manifest | None = load_manifest(self._dir)

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> Vault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Vault({str(self.root)!r}{', closed' if self._closed else ''})"

    def close(self) -> None:
        """Forget the identity and the manifest; the object cannot be used afterwards."""
        self._identities = None
        self._manifest = None
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise VaultError("this Vault is closed")

    # -- sync ----------------------------------------------------------------------------------

    def pull(self) -> bool:
        """Fast-forward the vault from its upstream now (safe pull) and re-read the manifest.

        Returns True when the vault is up to date with its upstream, False when the pull was skipped
        (no git work tree, no upstream) or failed, which is reported with a ``PullWarning``.
        """
        self._check_open()
        updated = self._pull()
        self.reload()
        return updated

    def _pull(self) -> bool:
        self._last_pull = time.monotonic()
        return gitsync.safe_pull(self.root, self._git_timeout)

    def _maybe_pull(self) -> None:
        if not self._auto_pull:
            return
        if self._last_pull is None or time.monotonic() - self._last_pull >= self._pull_interval:
            self._pull()
            self._manifest = None  # re-read on next use

    def reload(self) -> None:
        """Re-read ``manifest.yaml``."""
        self._check_open()
        self._manifest = load_manifest(self._dir)

    def _policy(self) -> Manifest:
        if self._manifest is None:
            self._manifest = load_manifest(self._dir)
        return self._manifest

    # -- reading -------------------------------------------------------------------------------

    def _show(self, path: Path) -> str:
        return f"{VAULT_DIR}/{path.relative_to(self._dir).as_posix()}"

    def _is_file(self, path: Path) -> bool:
        """Whether ``path`` (inside the vault) is a file; a symlink on the way is refused, as by the CLI."""
        current = self._dir
        for part in path.relative_to(self._dir).parts:
            current = current / part
            if current.is_symlink():
                raise VaultError(f"{self._show(current)} is a symlink; vault files must be regular files")
            if not current.exists():
                return False
        return current.is_file()

    def _locate(self, path: str) -> tuple[Path, Path] | None:
        """The ``.enc`` and ``.meta`` of secret ``path``: primary location, else the legacy one
        (``secrets/default/<path>``, slash-less paths only, unless its .meta names another secret)."""
        secrets = self._dir / "secrets"
        primary = (secrets / f"{path}.enc", secrets / f"{path}.meta")
        if self._is_file(primary[0]):
            return primary
        if "/" in path:
            return None
        legacy = (secrets / LEGACY_GROUP_DIR / f"{path}.enc", secrets / LEGACY_GROUP_DIR / f"{path}.meta")
        if not self._is_file(legacy[0]):
            return None
        if self._is_file(legacy[1]):
            # secrets/default/x.enc is also the primary file of secret "default/x"
            with contextlib.suppress(VaultError):
                if load_meta(legacy[1], self._show(legacy[1])).name != path:
                    return None
        return legacy

    def _identity(self) -> list[Identity]:
        if self._identities is None:
            self._identities = [resolve_identity(self._key_path)]
        return self._identities

    def get_bytes(self, path: str) -> bytes:
        """The exact bytes of secret ``path``."""
        self._check_open()
        validate_secret_path(path)
        self._maybe_pull()
        files = self._locate(path)
        if files is None:
            legacy = "" if "/" in path else f" or secrets/{LEGACY_GROUP_DIR}/{path}.enc"
            raise SecretNotFoundError(
                f"secret {path!r} not found (no secrets/{path}.enc{legacy} in {self._dir})"
            )
        enc = files[0]
        try:
            ciphertext = enc.read_bytes()
        except OSError as exc:
            raise VaultError(f"cannot read {enc}: {exc.strerror}") from None
        identities = self._identity()
        try:
            return pyrage.decrypt(ciphertext, identities)
        except pyrage.DecryptError as exc:
            reason = str(exc)
        if "no matching keys" in reason.lower():
            raise NotAuthorizedError(
                f"not authorized to read secret {path!r}: the loaded key is not one of its recipients"
            )
        raise VaultError(f"secret {path!r}: {self._show(enc)} is corrupt ({reason})")

    def get(self, path: str) -> str:
        """Secret ``path`` as UTF-8 text (use :meth:`get_bytes` for binary values)."""
        value = self.get_bytes(path)
        text: str | None = None
        with contextlib.suppress(UnicodeDecodeError):  # the error would carry the value: not chained
            text = value.decode("utf-8")
        if text is None:
            raise VaultError(f"secret {path!r} is not valid UTF-8; use get_bytes() to read it")
        return text

    def list_secrets(self, group: str | None = None) -> list[dict[str, Any]]:
        """Metadata of every secret (never a value), sorted by name: what ``git vault list --json``
        prints.

        The secrets are those the manifest's groups list, each once. Each entry has ``name, group,
        created, rotated, expires, authorized_agents``, from the secret's ``.meta`` (timestamps in
        UTC with whole seconds, agents sorted). When the ``.meta`` is missing or unreadable by the
        CLI's rules (see :func:`git_vault.manifest.load_meta`; for example a timestamp that does not
        parse), the group is the first manifest group listing the secret, the agents are those the
        manifest allows (sorted) and the timestamps are None; a warning names the file.

        With ``group``, only the secrets that the manifest's group ``group`` lists (not the secrets
        whose ``.meta`` names it), like ``git vault list --group``. A group the manifest does not
        define gives an empty list (the CLI reports ``group_not_found`` instead); an invalid group
        name raises :class:`InvalidIdentifierError`.
        """
        self._check_open()
        if group is not None:
            validate_name(group, "group name")
        policy = self._policy()
        entries = []
        for name, groups in policy.secrets().items():
            try:
                validate_secret_path(name)
            except VaultError as exc:
                warnings.warn(
                    f"git-vault: manifest.yaml lists an invalid secret, skipped: {exc}", stacklevel=2
                )
                continue
            if group is not None and group not in groups:
                continue
            meta = self._meta(name) or Meta(name, groups[0], None, None, None, policy.readers_of(name))
            entries.append(
                {
                    "name": name,
                    "group": meta.group,
                    "created": meta.created,
                    "rotated": meta.rotated,
                    "expires": meta.expires,
                    "authorized_agents": list(meta.authorized_agents),
                }
            )
        return sorted(entries, key=lambda entry: entry["name"])

    def _meta(self, name: str) -> Meta | None:
        files = self._locate(name)
        if files is None or not self._is_file(files[1]):
            return None
        try:
            return load_meta(files[1], self._show(files[1]))
        except VaultError as exc:
            warnings.warn(f"git-vault: {exc}; listing what the manifest says instead", stacklevel=3)
            return None

    def list_agents(self) -> list[dict[str, Any]]:
        """``[{"name": …, "groups": […]}]`` in manifest order."""
        self._check_open()
        return [{"name": agent.name, "groups": list(agent.groups)} for agent in self._policy().agents]
