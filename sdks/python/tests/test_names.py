"""The shared name vectors (fixtures/names.json) through the SDK's validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, LEGACY_KEYS
from git_vault import InvalidIdentifierError, SecretNotFoundError, Vault, VaultError
from git_vault.names import validate_name, validate_secret_path

VECTORS = json.loads((FIXTURES / "names.json").read_text(encoding="utf-8"))


@pytest.fixture
def vault(legacy_vault: Path, monkeypatch: pytest.MonkeyPatch) -> Vault:
    v = Vault(legacy_vault, key_path=LEGACY_KEYS / "owner.key", auto_pull=False)
    return v


@pytest.mark.parametrize("path", VECTORS["secret_paths"]["valid"])
def test_valid_secret_paths_pass_get_validation(vault: Vault, path: str) -> None:
    assert validate_secret_path(path) == path
    with pytest.raises(SecretNotFoundError):
        vault.get(path)


@pytest.mark.parametrize("path", VECTORS["secret_paths"]["invalid"])
def test_invalid_secret_paths_are_refused_before_any_file_access(
    vault: Vault, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_file_access(*_args: object) -> None:
        raise AssertionError("the vault was touched before the path was validated")

    monkeypatch.setattr(vault, "_locate", no_file_access)
    monkeypatch.setattr(vault, "_maybe_pull", no_file_access)
    with pytest.raises(InvalidIdentifierError) as err:
        vault.get(path)
    assert "invalid secret path" in str(err.value)
    with pytest.raises(InvalidIdentifierError):
        vault.get_bytes(path)


@pytest.mark.parametrize("name", VECTORS["single_names"]["valid"])
def test_valid_single_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", VECTORS["single_names"]["invalid"])
def test_invalid_single_names(name: str, vault: Vault) -> None:
    with pytest.raises(InvalidIdentifierError):
        validate_name(name)
    with pytest.raises(InvalidIdentifierError):
        vault.list_secrets(group=name)


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("", "must not be empty"),
        ("/x", "must not start with '/'"),
        ("x/", "must not end with '/'"),
        ("a//b", "'//'"),
        ("a/../x", "'.' or '..'"),
        ("a\\b", "'\\'"),
        ("a\u0085b", "control characters"),
        ("a/C:x", "drive prefix"),
    ],
)
def test_messages_name_the_rule(path: str, rule: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=None) as err:
        validate_secret_path(path)
    assert rule in str(err.value)


def test_non_string_paths_are_refused(vault: Vault) -> None:
    with pytest.raises(InvalidIdentifierError):
        vault.get(b"x")  # type: ignore[arg-type]


def test_invalid_identifier_is_a_vault_error_and_value_error() -> None:
    assert issubclass(InvalidIdentifierError, VaultError)
    assert issubclass(InvalidIdentifierError, ValueError)
