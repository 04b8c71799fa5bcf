"""fixtures/legacy-vault (the earlier tool's format, built with Go age) read as expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import LEGACY_KEYS
from git_vault import NotAuthorizedError, SecretNotFoundError, Vault

KEYS = {
    "owner": LEGACY_KEYS / "owner.key",
    "ci": LEGACY_KEYS / "agents" / "ci.key",
    "deploy": LEGACY_KEYS / "agents" / "deploy.key",
    "outsider": LEGACY_KEYS / "outsider.key",
}


@pytest.mark.parametrize("who", sorted(KEYS))
def test_each_key_reads_exactly_what_it_may(
    who: str, legacy_vault: Path, legacy_expected: dict[str, Any]
) -> None:
    with Vault(legacy_vault, key_path=KEYS[who], auto_pull=False) as vault:
        for path, secret in legacy_expected["secrets"].items():
            if who == "owner" or who in secret["readers"]:
                assert vault.get(path) == secret["value"]
                assert vault.get_bytes(path) == secret["value"].encode()
            else:
                with pytest.raises(NotAuthorizedError) as err:
                    vault.get(path)
                assert secret["value"] not in str(err.value)


def test_agent_groups_in_expected_match_the_manifest(
    legacy_vault: Path, legacy_expected: dict[str, Any]
) -> None:
    vault = Vault(legacy_vault, auto_pull=False)  # listing needs no identity
    assert vault.list_agents() == [
        {"name": name, "groups": groups} for name, groups in legacy_expected["agents"].items()
    ]


def test_list_secrets(legacy_vault: Path, legacy_expected: dict[str, Any]) -> None:
    vault = Vault(legacy_vault, auto_pull=False)
    listed = vault.list_secrets()
    assert [s["name"] for s in listed] == sorted(legacy_expected["secrets"])
    for entry in listed:
        expected = legacy_expected["secrets"][entry["name"]]
        assert set(entry) == {"name", "group", "created", "rotated", "expires", "authorized_agents"}
        assert entry["group"] == expected["group"]
        assert entry["authorized_agents"] == expected["readers"]
        assert entry["created"] == entry["rotated"] == "2026-01-02T03:04:05Z"  # nanoseconds dropped
        assert entry["expires"] is None
    assert [s["name"] for s in vault.list_secrets(group="db")] == ["db/prod/password"]
    assert [s["name"] for s in vault.list_secrets(group="default")] == ["plain"]
    assert vault.list_secrets(group="no-such-group") == []


def test_slashless_secret_at_its_legacy_location(legacy_vault: Path, legacy_expected: dict[str, Any]) -> None:
    expected = legacy_expected["secrets"]["plain"]
    assert (legacy_vault / ".agent-vault" / expected["legacy_location"]).is_file()
    assert not (legacy_vault / ".agent-vault" / "secrets" / "plain.enc").exists()
    vault = Vault(legacy_vault, key_path=KEYS["ci"], auto_pull=False)
    assert vault.get("plain") == expected["value"]
    # the primary location wins when both exist
    primary = legacy_vault / ".agent-vault" / "secrets" / "plain.enc"
    primary.write_bytes(b"not an age file")
    with pytest.raises(Exception, match="corrupt"):
        vault.get("plain")


def test_legacy_location_only_for_slashless_paths(legacy_vault: Path) -> None:
    vault = Vault(legacy_vault, key_path=KEYS["owner"], auto_pull=False)
    assert vault.get("default/plain") == "slashless-legacy-value"  # the file's own path
    with pytest.raises(SecretNotFoundError):
        vault.get("x/plain")


def test_armored_escrows_decrypt_with_the_owner_key(legacy_vault: Path) -> None:
    # The escrows are ASCII-armored age files; the reader must handle armor.
    import pyrage

    from git_vault.identity import resolve_identity

    escrow = legacy_vault / ".agent-vault" / "agents" / "ci" / "private.key.escrow"
    assert escrow.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    plain = pyrage.decrypt(escrow.read_bytes(), [resolve_identity(KEYS["owner"])])
    assert plain == KEYS["ci"].read_bytes()


def test_compat_import_name(legacy_vault: Path, legacy_expected: dict[str, Any]) -> None:
    from agent_vault import Vault as LegacyVault

    vault = LegacyVault(repo_path=str(legacy_vault), key_path=str(KEYS["owner"]), auto_pull=False)
    assert vault.get("stripe/api-key") == legacy_expected["secrets"]["stripe/api-key"]["value"]
    assert [s["name"] for s in vault.list_secrets(group="stripe")] == ["stripe/api-key"]
