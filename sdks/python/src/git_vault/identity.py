"""Identity resolution (SPEC section 3).

Order: an explicit ``key_str`` (kept in memory) or ``key_path`` (must exist); else ``AGENT_VAULT_KEY``
(a raw ``AGE-SECRET-KEY-…`` value is kept in memory only, anything else is a path that must exist);
else ``~/.agent-vault/owner.key``. Nothing here ever writes an identity anywhere, and no message
ever quotes key material.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TypeAlias

import pyrage
from pyrage import x25519

from .errors import NoIdentityError

__all__ = ["ENV_VAR", "RAW_PREFIX", "Identity", "parse_identity", "resolve_identity"]

ENV_VAR = "AGENT_VAULT_KEY"
RAW_PREFIX = "AGE-SECRET-KEY-"
Identity: TypeAlias = x25519.Identity


def parse_identity(text: str, source: str) -> Identity:
    """Parse one identity, bare or in the ``age-keygen`` form (``#`` comment lines)."""
    found: Identity | None = None
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if found is not None:
            raise NoIdentityError(f"{source} holds more than one identity")
        if line.upper().startswith(RAW_PREFIX):
            # Not chained into our error: pyrage's message may echo the input.
            with contextlib.suppress(pyrage.IdentityError, ValueError):
                found = x25519.Identity.from_str(line)
        if found is None:
            raise NoIdentityError(f"{source}: line {number} is not a valid age identity (AGE-SECRET-KEY-1…)")
    if found is None:
        raise NoIdentityError(f"{source} holds no age identity")
    return found


def _read_key_file(path: Path, source: str, show_path: bool = True) -> Identity:
    where = f"key file {path}" if show_path else "the key file it names"
    if not path.exists():
        raise NoIdentityError(f"{source}: {where} does not exist (no fallback to another key)")
    text: str | None = None
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        pass  # raised below, outside the handler, so the file's bytes are not chained
    except OSError as exc:
        raise NoIdentityError(f"{source}: cannot read {where}: {exc.strerror}") from None
    if text is None:
        raise NoIdentityError(f"{source}: {where} is not UTF-8 text")
    return parse_identity(text, f"{source} ({path})" if show_path else source)


def _home(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME")
    return Path(home) if home else Path.home()


def default_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$HOME/.agent-vault/owner.key``."""
    return _home(os.environ if environ is None else environ) / ".agent-vault" / "owner.key"


def resolve_identity(
    key_path: str | os.PathLike[str] | None = None,
    key_str: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Identity:
    """The identity to decrypt with, following SPEC section 3 exactly (no fallbacks)."""
    env = os.environ if environ is None else environ
    if key_path is not None and key_str is not None:
        raise ValueError("pass key_path or key_str, not both")
    if key_str is not None:
        return parse_identity(key_str, "key_str")
    if key_path is not None:
        return _read_key_file(Path(os.path.expanduser(os.fspath(key_path))), "key_path")
    if env.get(ENV_VAR):  # set and not empty, as for the CLI
        value = env[ENV_VAR].strip()
        if value.startswith(RAW_PREFIX):
            return parse_identity(value, ENV_VAR)
        # Not echoed: a mistyped raw key would otherwise end up in the message.
        source = f"{ENV_VAR} (a path, as it does not start with {RAW_PREFIX})"
        if not value:
            raise NoIdentityError(f"{ENV_VAR} is set but blank")
        return _read_key_file(Path(os.path.expanduser(value)), source, show_path=False)
    default = default_key_path(env)
    if not default.exists():
        raise NoIdentityError(
            f"no age identity: {default} does not exist; pass key_path= or key_str=, "
            f"or set {ENV_VAR} to a key file or a raw AGE-SECRET-KEY-… value"
        )
    return _read_key_file(default, "owner key")
