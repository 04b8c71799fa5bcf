"""Reading test-built vaults: discovery, binary and armored values, corrupt files, listing rules."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml
from pyrage import x25519

from conftest import write_vault
from git_vault import (
    NotAuthorizedError,
    SecretNotFoundError,
    Vault,
    VaultError,
    VaultNotFoundError,
)
from git_vault.manifest import normalize_timestamp

BINARY = bytes(range(256)) + b"\xff\xfe\x00\n"


@pytest.fixture
def owner() -> x25519.Identity:
    return x25519.Identity.generate()


@pytest.fixture
def repo(tmp_path: Path, owner: x25519.Identity) -> Path:
    return write_vault(
        tmp_path / "repo",
        {
            "app/text": ("héllo wörld 秘密\n".encode(), []),
            "app/binary": (BINARY, []),
            "app/armored": (b"armored-value", []),
            "unicode/秘密": (b"unicode-path", []),
            "deep/a/b/c/d/e": (b"deep", []),
            "empty/value": (b"", []),
        },
        owner=owner,
        armored=["app/armored"],
    )


def open_vault(repo: Path, owner: x25519.Identity, **kwargs: object) -> Vault:
    return Vault(repo, key_str=str(owner), auto_pull=False, **kwargs)  # type: ignore[arg-type]


def test_values_round_trip(repo: Path, owner: x25519.Identity) -> None:
    vault = open_vault(repo, owner)
    assert vault.get("app/text") == "héllo wörld 秘密\n"
    assert vault.get_bytes("app/binary") == BINARY
    assert vault.get("app/armored") == "armored-value"
    assert vault.get("unicode/秘密") == "unicode-path"
    assert vault.get("deep/a/b/c/d/e") == "deep"
    assert vault.get("empty/value") == ""


def test_non_utf8_value_via_get_is_an_error_without_the_value(repo: Path, owner: x25519.Identity) -> None:
    with pytest.raises(VaultError, match="get_bytes") as err:
        open_vault(repo, owner).get("app/binary")
    assert err.value.__context__ is None  # the decode error would carry the value
    assert err.value.__cause__ is None
    assert "\\xff" not in str(err.value)


def test_discovery_walks_upward(repo: Path, owner: x25519.Identity) -> None:
    below = repo / "src" / "pkg"
    below.mkdir(parents=True)
    assert open_vault(below, owner).root == repo
    assert open_vault(repo / ".agent-vault" / "secrets" / "app", owner).root == repo
    assert open_vault(repo / ".agent-vault" / "manifest.yaml", owner).root == repo


def test_no_vault(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(VaultNotFoundError):
        Vault(tmp_path / "empty", auto_pull=False)
    with pytest.raises(VaultNotFoundError, match="does not exist"):
        Vault(tmp_path / "missing", auto_pull=False)
    (tmp_path / "half" / ".agent-vault").mkdir(parents=True)  # no manifest: not a vault
    with pytest.raises(VaultNotFoundError):
        Vault(tmp_path / "half", auto_pull=False)


def test_corrupt_enc(repo: Path, owner: x25519.Identity) -> None:
    enc = repo / ".agent-vault" / "secrets" / "app" / "text.enc"
    vault = open_vault(repo, owner)
    for garbage in (b"", b"garbage", enc.read_bytes()[:-10], b"-----BEGIN AGE ENCRYPTED FILE-----\n!!\n"):
        enc.write_bytes(garbage)
        with pytest.raises(VaultError, match=r"\.agent-vault/secrets/app/text\.enc is corrupt") as err:
            vault.get("app/text")
        assert type(err.value) is VaultError


def test_missing_secret(repo: Path, owner: x25519.Identity) -> None:
    with pytest.raises(SecretNotFoundError, match="nope/x"):
        open_vault(repo, owner).get("nope/x")
    # the .meta alone is not a secret
    with pytest.raises(SecretNotFoundError):
        open_vault(repo, owner).get("app")


def test_outsider_is_not_authorized(repo: Path) -> None:
    vault = Vault(repo, key_str=str(x25519.Identity.generate()), auto_pull=False)
    for path in ("app/text", "app/armored", "app/binary"):
        with pytest.raises(NotAuthorizedError):
            vault.get(path)


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nagents: [\n",
        "- just\n- a list\n",
        "version: 1\ngroups: {a: b}\n",
        "\xff\xfe",
        "version: 1\ngroups:\n- secrets: [x]\n",
        "version: 2\n",
    ],
)
def test_corrupt_manifest(repo: Path, owner: x25519.Identity, text: str) -> None:
    manifest = repo / ".agent-vault" / "manifest.yaml"
    manifest.write_bytes(text.encode("latin-1"))
    with pytest.raises(VaultError, match=r"manifest\.yaml") as err:
        open_vault(repo, owner)
    assert type(err.value) is VaultError


def test_corrupt_manifest_after_open_is_reported_by_reload(repo: Path, owner: x25519.Identity) -> None:
    vault = open_vault(repo, owner)
    (repo / ".agent-vault" / "manifest.yaml").write_text("agents: [\n")
    with pytest.raises(VaultError, match=r"manifest.yaml is corrupt: invalid YAML at line \d+"):
        vault.reload()


@pytest.mark.parametrize("text", ["created: [\n", "- a list\n", "name: app/text\n"])
def test_unreadable_meta_falls_back_to_the_manifest_as_the_cli_does(
    repo: Path, owner: x25519.Identity, text: str
) -> None:
    (repo / ".agent-vault" / "secrets" / "app" / "text.meta").write_text(text)
    with pytest.warns(UserWarning, match=r"secrets/app/text\.meta is (corrupt|malformed)"):
        listed = open_vault(repo, owner).list_secrets(group="app")
    entry = next(s for s in listed if s["name"] == "app/text")
    assert entry["group"] == "app"
    assert entry["created"] is None


def test_list_secrets_rules(tmp_path: Path, owner: x25519.Identity) -> None:
    repo = write_vault(
        tmp_path / "r",
        {"shared/key": (b"1", []), "nometa/key": (b"2", []), "odd": (b"3", []), "moved/key": (b"4", [])},
        owner=owner,
        groups={
            "first": ["shared/key", "nometa/key", "moved/key"],
            "second": ["shared/key", "odd"],
            "third": ["odd"],
        },
        agents={"ci": ["second"], "on": ["010"]},
    )
    secrets = repo / ".agent-vault" / "secrets"
    (secrets / "nometa" / "key.meta").unlink()
    (secrets / "shared" / "key.meta").write_text(
        "name: shared/key\ngroup: second\ncreated: 2026-01-02T04:04:05.5+01:00\n"
        "rotated: '2026-01-02T03:04:05Z'\nexpires: 2026-12-31 00:00:00+00:00\n"
        "authorized_agents: [zeta, ci]\nx-unknown: {a: 1}\n"
    )
    manifest = yaml.safe_load((repo / ".agent-vault" / "manifest.yaml").read_text())
    (secrets / "moved" / "key.meta").write_text("name: moved/key\ngroup: elsewhere\n")
    manifest["x-extension"] = ["kept", "ignored"]
    manifest["readers"] = {"nometa/key": ["on", "ghost"], "odd": ["ci"]}
    manifest["groups"][0]["secrets"].append("../escape")
    (repo / ".agent-vault" / "manifest.yaml").write_text(yaml.safe_dump(manifest))
    vault = open_vault(repo, owner)
    with pytest.warns(UserWarning, match="invalid secret"):
        listed = vault.list_secrets()
    assert [s["name"] for s in listed] == ["moved/key", "nometa/key", "odd", "shared/key"]  # once, sorted
    by_name = {s["name"]: s for s in listed}
    assert by_name["shared/key"] == {
        "name": "shared/key",
        "group": "second",
        "created": "2026-01-02T03:04:05Z",
        "rotated": "2026-01-02T03:04:05Z",
        "expires": "2026-12-31T00:00:00Z",
        "authorized_agents": ["ci", "zeta"],
    }
    assert by_name["nometa/key"] == {
        "name": "nometa/key",
        "group": "first",
        "created": None,
        "rotated": None,
        "expires": None,
        "authorized_agents": ["on"],  # from the manifest: readers that are agents
    }
    assert by_name["moved/key"]["group"] == "elsewhere"
    assert by_name["odd"]["group"] == "second"  # from its .meta (write_vault: first group listing it)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the invalid entry again
        assert [s["name"] for s in vault.list_secrets(group="second")] == ["odd", "shared/key"]
        assert [s["name"] for s in vault.list_secrets(group="third")] == ["odd"]
        assert [s["name"] for s in vault.list_secrets(group="first")] == [
            "moved/key",
            "nometa/key",
            "shared/key",
        ]
        assert vault.list_secrets(group="elsewhere") == []  # the filter is the manifest's listing
    # YAML 1.1 look-alikes stay the strings they are
    assert vault.list_agents() == [{"name": "ci", "groups": ["second"]}, {"name": "on", "groups": ["010"]}]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05.123456789Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02t03:04:05.9z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05+02:00", "2026-01-02T01:04:05Z"),
        ("2026-01-01T23:30:00-01:00", "2026-01-02T00:30:00Z"),
        ("2026-01-02 03:04:05Z", "2026-01-02T03:04:05Z"),
        ("20260102T030405+0100", "2026-01-02T02:04:05Z"),
        ("2026-12-31T23:59:60Z", "2026-12-31T23:59:59Z"),
        ("2026-01-02T03:04:05Z[Europe/Paris]", "2026-01-02T03:04:05Z"),
        ("1969-12-31T23:59:59.5Z", "1970-01-01T00:00:00Z"),  # whole seconds toward zero, as the CLI
        ("-000001-01-01T00:00:00Z", None),  # signed six-digit years: the CLI refuses them
        (None, None),
        # not timestamps for the CLI either: no offset, a bare date, out of range, not a date
        ("2026-01-02 03:04:05", None),
        ("2026-01-02", None),
        ("not a time", None),
        ("2026-13-45T00:00:00Z", None),
        ("2026-02-29T00:00:00Z", None),
        ("2026-01-02T03:04:05.1234567891Z", None),
        ("9999-12-31T00:00:00Z", None),
        ("2026-01-02T03:04:05Z[!foo=bar]", None),
        ("\uff12\uff10\uff12\uff16-01-02T03:04:05Z", None),
    ],
)
def test_normalize_timestamp(raw: str | None, expected: str | None) -> None:
    assert normalize_timestamp(raw) == expected


def test_reload_sees_manifest_changes(repo: Path, owner: x25519.Identity) -> None:
    vault = open_vault(repo, owner)
    assert vault.list_agents() == []
    path = repo / ".agent-vault" / "manifest.yaml"
    manifest = yaml.safe_load(path.read_text())
    manifest["agents"] = [{"name": "new", "groups": ["app"]}]
    path.write_text(yaml.safe_dump(manifest))
    assert vault.list_agents() == []  # cached until reload
    vault.reload()
    assert vault.list_agents() == [{"name": "new", "groups": ["app"]}]


def test_context_manager_closes(repo: Path, owner: x25519.Identity) -> None:
    with open_vault(repo, owner) as vault:
        assert vault.get("app/text")
    for call in (
        lambda: vault.get("app/text"),
        vault.list_secrets,
        vault.list_agents,
        vault.reload,
        vault.pull,
    ):
        with pytest.raises(VaultError, match="closed"):
            call()


def test_legacy_location_is_not_another_secrets_primary_file(tmp_path: Path, owner: x25519.Identity) -> None:
    # secrets/default/x.enc is both the legacy file of "x" and the primary file of "default/x":
    # it is "x" only when its .meta does not name another secret (as the CLI decides).
    repo = write_vault(tmp_path / "r", {"default/x": (b"nested", [])}, owner=owner)
    vault = open_vault(repo, owner)
    assert vault.get("default/x") == "nested"
    with pytest.raises(SecretNotFoundError):
        vault.get("x")
    (repo / ".agent-vault" / "secrets" / "default" / "x.meta").unlink()  # unclaimed: legacy "x"
    assert vault.get("x") == "nested"


def test_symlinks_in_the_vault_are_refused(repo: Path, owner: x25519.Identity, tmp_path: Path) -> None:
    outside = tmp_path / "outside.enc"
    enc = repo / ".agent-vault" / "secrets" / "app" / "text.enc"
    outside.write_bytes(enc.read_bytes())
    enc.unlink()
    enc.symlink_to(outside)
    with pytest.raises(VaultError, match="is a symlink"):
        open_vault(repo, owner).get("app/text")
    linked_dir = repo / ".agent-vault" / "secrets" / "linked"
    linked_dir.symlink_to(repo / ".agent-vault" / "secrets" / "app")
    with pytest.raises(VaultError, match=r"secrets/linked is a symlink"):
        open_vault(repo, owner).get("linked/binary")
