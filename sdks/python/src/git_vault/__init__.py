"""git-vault: a read-only, pure-Python reader of git-vault (and agent-vault) vaults."""

from .errors import (
    InvalidIdentifierError,
    NoIdentityError,
    NotAuthorizedError,
    SecretNotFoundError,
    VaultError,
    VaultNotFoundError,
)
from .gitsync import PullWarning
from .vault import Vault

__version__ = "0.1.0"

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
