"""Compatibility name of the earlier agent-vault tool: the same API as :mod:`git_vault`.

``from agent_vault import Vault`` keeps working; everything here is :mod:`git_vault`'s.
"""

from git_vault import (
    InvalidIdentifierError,
    NoIdentityError,
    NotAuthorizedError,
    PullWarning,
    SecretNotFoundError,
    Vault,
    VaultError,
    VaultNotFoundError,
    __version__,
)

__all__ = [
    "InvalidIdentifierError",
    "NoIdentityError",
    "NotAuthorizedError",
    "PullWarning",
    "SecretNotFoundError",
    "Vault",
    "VaultError",
    "VaultNotFoundError",
    "__version__",
]
