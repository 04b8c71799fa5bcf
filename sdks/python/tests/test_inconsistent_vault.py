"""fixtures/inconsistent-vault: the SDK lists it exactly as ``git vault list --json`` does.

The expectation, fixtures/inconsistent-vault-expected.json, is the CLI's own output (recorded by
fixtures/make-inconsistent-vault.sh); the Node SDK checks the same file, so the three readers
cannot drift apart on a vault whose manifest and metadata disagree.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES
from git_vault import NotAuthorizedError, Vault

KEYS = FIXTURES / "inconsistent-vault-keys"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "inconsistent-vault-expected.json").read_text("utf-8"))


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    dest = tmp_path / "inconsistent-vault"
    shutil.copytree(FIXTURES / "inconsistent-vault", dest)
    return Vault(dest, auto_pull=False)  # listing needs no key


def _list(vault: Vault, group: str | None = None) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unreadable .meta is warned about; checked below
        return vault.list_secrets(group=group)


def test_the_fixture_is_what_the_expectation_describes() -> None:
    secrets = FIXTURES / "inconsistent-vault" / ".agent-vault" / "secrets"
    assert (secrets / "db" / "no-meta.enc").is_file()
    assert not (secrets / "db" / "no-meta.meta").exists()
    assert "rotated: last tuesday" in (secrets / "db" / "bad-timestamp.meta").read_text()
    assert "created: 2026-02-03T04:05:06Z" in (secrets / "db" / "bad-timestamp.meta").read_text()
    assert set(EXPECTED["list_by_group"]) == {"payments", "db", "empty"}
    assert EXPECTED["unknown_groups"] == {"phantom": "group_not_found"}


def test_list_all_matches_the_cli(vault: Vault) -> None:
    assert _list(vault) == EXPECTED["list"]


@pytest.mark.parametrize("group", sorted(EXPECTED["list_by_group"]))
def test_list_by_group_matches_the_cli(vault: Vault, group: str) -> None:
    assert _list(vault, group) == EXPECTED["list_by_group"][group]


@pytest.mark.parametrize("group", sorted(EXPECTED["unknown_groups"]))
def test_a_group_the_manifest_does_not_define_lists_nothing(vault: Vault, group: str) -> None:
    # the CLI fails with group_not_found; the SDK, a lenient reader, returns an empty list
    assert vault.list_secrets(group=group) == []


def test_the_unreadable_meta_is_warned_about(vault: Vault) -> None:
    with pytest.warns(UserWarning, match=r"secrets/db/bad-timestamp\.meta is malformed: rotated"):
        vault.list_secrets()


@pytest.mark.parametrize("agent", ["ci", "deploy", "reporter", "auditor"])
def test_each_agent_decrypts_exactly_what_the_listing_says(vault: Vault, agent: str) -> None:
    reader = Vault(vault.root, key_path=KEYS / "agents" / f"{agent}.key", auto_pull=False)
    owner = Vault(vault.root, key_path=KEYS / "owner.key", auto_pull=False)
    for entry in EXPECTED["list"]:
        value = owner.get(entry["name"])
        if agent in entry["authorized_agents"]:
            assert reader.get(entry["name"]) == value, entry["name"]
        else:
            with pytest.raises(NotAuthorizedError):
                reader.get(entry["name"])
