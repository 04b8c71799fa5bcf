"""Exceptions raised by the git-vault SDK.

Every message names what went wrong and where; none ever contains a secret value or key material.
Each class carries a ``kind`` matching the CLI's ``--json`` error kinds (SPEC section 4).
"""

from __future__ import annotations

__all__ = [
    "InvalidIdentifierError",
    "NoIdentityError",
    "NotAuthorizedError",
    "SecretNotFoundError",
    "VaultError",
    "VaultNotFoundError",
]


class VaultError(Exception):
    """Base class of every error raised by the SDK."""

    kind: str = "internal"


class VaultNotFoundError(VaultError):
    """No ``.agent-vault/manifest.yaml`` at or above the given path (or the remote cannot be cloned)."""

    kind = "vault_not_found"


class SecretNotFoundError(VaultError):
    """The secret has no ``.enc`` file at its primary or legacy location."""

    kind = "secret_not_found"


class NotAuthorizedError(VaultError):
    """The loaded identity is not a recipient of the secret."""

    kind = "not_authorized"


class InvalidIdentifierError(VaultError, ValueError):
    """A secret path or name breaks the naming rules (FORMAT.md, "Names")."""

    kind = "invalid_name"


class NoIdentityError(VaultError):
    """No usable age identity: missing key file, invalid key, nothing configured."""

    kind = "no_identity"
