"""Identity resolution, SPEC section 3: every branch, no fallbacks, raw keys never on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pyrage import x25519

from conftest import scan_for, write_vault
from git_vault import NoIdentityError, NotAuthorizedError, Vault, VaultError

VALUE = b"identity-test-value"


@pytest.fixture
def keys() -> dict[str, x25519.Identity]:
    return {"owner": x25519.Identity.generate(), "agent": x25519.Identity.generate()}


@pytest.fixture
def vault_dir(tmp_path: Path, keys: dict[str, x25519.Identity]) -> Path:
    return write_vault(
        tmp_path / "repo",
        {"app/token": (VALUE, [keys["agent"]])},
        owner=keys["owner"],
        agents={"agent": ["app"]},
    )


def keygen_form(identity: x25519.Identity) -> str:
    return f"# created: 2026-01-02T03:04:05Z\n# public key: {identity.to_public()}\n{identity}\n"


def write_key(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_key_str_is_used_in_memory(vault_dir: Path, keys: dict[str, x25519.Identity], hermetic: Path) -> None:
    vault = Vault(vault_dir, key_str=str(keys["agent"]), auto_pull=False)
    assert vault.get_bytes("app/token") == VALUE
    assert scan_for(hermetic, str(keys["agent"]).encode()) == []


@pytest.mark.parametrize("form", ["bare", "keygen", "crlf-trailing-blank"])
def test_key_path_forms(vault_dir: Path, keys: dict[str, x25519.Identity], tmp_path: Path, form: str) -> None:
    text = {
        "bare": f"{keys['agent']}\n",
        "keygen": keygen_form(keys["agent"]),
        "crlf-trailing-blank": f"# c\r\n{keys['agent']}\r\n\r\n",
    }[form]
    key = write_key(tmp_path / "k" / "agent.key", text)
    assert Vault(vault_dir, key_path=key, auto_pull=False).get_bytes("app/token") == VALUE
    assert Vault(vault_dir, key_path=str(key), auto_pull=False).get_bytes("app/token") == VALUE


def test_key_path_missing_is_an_error_without_fallback(
    vault_dir: Path,
    keys: dict[str, x25519.Identity],
    hermetic: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Both other sources would work: they must not be used.
    write_key(hermetic / ".agent-vault" / "owner.key", keygen_form(keys["owner"]))
    monkeypatch.setenv("AGENT_VAULT_KEY", str(keys["owner"]))
    vault = Vault(vault_dir, key_path=tmp_path / "missing.key", auto_pull=False)
    with pytest.raises(NoIdentityError, match="does not exist"):
        vault.get("app/token")


def test_env_raw_key_is_memory_only(
    vault_dir: Path,
    keys: dict[str, x25519.Identity],
    hermetic: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = str(keys["agent"])
    monkeypatch.setenv("AGENT_VAULT_KEY", f"  {raw}\n")  # trimmed
    monkeypatch.chdir(tmp_path)
    with Vault(vault_dir) as vault:  # auto_pull on: the git code paths run too
        assert vault.get_bytes("app/token") == VALUE
        vault.list_secrets()
        vault.pull()
    needle = raw.encode()
    assert scan_for(hermetic, needle) == []
    assert scan_for(vault_dir, needle) == []
    assert scan_for(tmp_path, needle) == []
    assert not (hermetic / ".agent-vault").exists()


def test_env_path(
    vault_dir: Path, keys: dict[str, x25519.Identity], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = write_key(tmp_path / "agent.key", keygen_form(keys["agent"]))
    monkeypatch.setenv("AGENT_VAULT_KEY", str(key))
    assert Vault(vault_dir, auto_pull=False).get_bytes("app/token") == VALUE


def test_env_path_missing_is_an_error_without_fallback(
    vault_dir: Path,
    keys: dict[str, x25519.Identity],
    hermetic: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_key(hermetic / ".agent-vault" / "owner.key", keygen_form(keys["owner"]))
    monkeypatch.setenv("AGENT_VAULT_KEY", str(tmp_path / "nowhere.key"))
    with pytest.raises(NoIdentityError, match="AGENT_VAULT_KEY"):
        Vault(vault_dir, auto_pull=False).get("app/token")


def test_env_value_is_never_echoed(
    vault_dir: Path, keys: dict[str, x25519.Identity], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mistyped raw key is taken for a path; the message must not quote it.
    typo = str(keys["agent"]).replace("AGE-SECRET-KEY-", "AGE-SECRET-KY-")
    monkeypatch.setenv("AGENT_VAULT_KEY", typo)
    with pytest.raises(NoIdentityError) as err:
        Vault(vault_dir, auto_pull=False).get("app/token")
    assert typo not in str(err.value)
    assert typo[20:40] not in str(err.value)


def test_default_owner_key(vault_dir: Path, keys: dict[str, x25519.Identity], hermetic: Path) -> None:
    write_key(hermetic / ".agent-vault" / "owner.key", keygen_form(keys["owner"]))
    assert Vault(vault_dir, auto_pull=False).get_bytes("app/token") == VALUE


def test_no_identity_at_all(vault_dir: Path) -> None:
    vault = Vault(vault_dir, auto_pull=False)
    assert [s["name"] for s in vault.list_secrets()] == ["app/token"]  # listing needs no key
    with pytest.raises(NoIdentityError) as err:
        vault.get("app/token")
    assert isinstance(err.value, VaultError)
    assert "owner.key" in str(err.value)
    assert "AGENT_VAULT_KEY" in str(err.value)


@pytest.mark.parametrize(
    "text", ["", "# only a comment\n", "AGE-SECRET-KEY-1NOTAKEY\n", "age1notanidentity\n", "two-keys"]
)
def test_invalid_key_material(vault_dir: Path, tmp_path: Path, text: str) -> None:
    if text == "two-keys":  # a key file holds exactly one identity, as for the CLI
        text = f"{x25519.Identity.generate()}\n{x25519.Identity.generate()}\n"
    key = write_key(tmp_path / "bad.key", text)
    with pytest.raises(NoIdentityError) as err:
        Vault(vault_dir, key_path=key, auto_pull=False).get("app/token")
    for line in filter(None, text.splitlines()):
        if not line.startswith("#"):
            assert line not in str(err.value)
    with pytest.raises(NoIdentityError):
        Vault(vault_dir, key_str=text, auto_pull=False).get("app/token")


def test_binary_key_file(vault_dir: Path, tmp_path: Path) -> None:
    key = tmp_path / "bin.key"
    key.write_bytes(b"\xff\xfeAGE-SECRET-KEY-1")
    with pytest.raises(NoIdentityError, match="not UTF-8"):
        Vault(vault_dir, key_path=key, auto_pull=False).get("app/token")


def test_key_str_wins_over_env(
    vault_dir: Path, keys: dict[str, x25519.Identity], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_VAULT_KEY", str(keys["owner"]))
    outsider = x25519.Identity.generate()
    with pytest.raises(NotAuthorizedError):
        Vault(vault_dir, key_str=str(outsider), auto_pull=False).get("app/token")


def test_key_path_and_key_str_together_is_a_usage_error(
    vault_dir: Path, keys: dict[str, x25519.Identity]
) -> None:
    with pytest.raises(ValueError, match="not both"):
        Vault(vault_dir, key_path="x", key_str=str(keys["agent"]), auto_pull=False)


def test_empty_env_var_counts_as_unset_blank_is_an_error(
    vault_dir: Path, keys: dict[str, x25519.Identity], hermetic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_key(hermetic / ".agent-vault" / "owner.key", keygen_form(keys["owner"]))
    monkeypatch.setenv("AGENT_VAULT_KEY", "")
    assert Vault(vault_dir, auto_pull=False).get_bytes("app/token") == VALUE
    monkeypatch.setenv("AGENT_VAULT_KEY", "  \n")  # as the CLI: a path, blank, so no identity
    with pytest.raises(NoIdentityError, match="blank"):
        Vault(vault_dir, auto_pull=False).get_bytes("app/token")


def test_repr_and_errors_hold_no_key(vault_dir: Path, keys: dict[str, x25519.Identity]) -> None:
    raw = str(keys["agent"])
    vault = Vault(vault_dir, key_str=raw, auto_pull=False)
    vault.get("app/token")
    assert raw not in repr(vault)
    assert raw not in repr(vars(vault))
    vault.close()
    with pytest.raises(VaultError, match="closed"):
        vault.get("app/token")
    assert os.environ.get("AGENT_VAULT_KEY") is None
