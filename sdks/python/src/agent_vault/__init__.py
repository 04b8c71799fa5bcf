"""Compatibility name of the earlier agent-vault tool: the same API as :mod:`git_vault`.

``from agent_vault import Vault`` keeps working; everything here is :mod:`git_vault`'s.
"""

from git_vault import *  # noqa: F403 - the whole public API, re-exported
from git_vault import __all__ as __all__
from git_vault import __version__ as __version__
