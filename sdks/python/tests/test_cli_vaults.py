"""Vaults written by the real ``git-vault`` binary, read by the SDK.

The binary is ``$GIT_VAULT_BIN`` (default: ``<repo>/target/debug/git-vault``). CI builds it before
these tests run, so a missing binary FAILS the tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyrage import x25519

from conftest import GIT_ENV, REPO_ROOT
from git_vault import NotAuthorizedError, SecretNotFoundError, Vault, VaultError

BIN = Path(os.environ.get("GIT_VAULT_BIN") or REPO_ROOT / "target" / "debug" / "git-vault")
BINARY = b"\x00\x01\xfe\xff binary \x80\n\r\n\x00"

# path -> (value, extra `set` arguments)
SECRETS: dict[str, tuple[bytes, list[str]]] = {
    "stripe/api-key": (b"sk_live_cli_0123456789", []),
    "db/prod/password": (b"pg-pass-cli\n", ["--group", "db"]),
    "deep/a/b/c/d": (b"deep-value", ["--group", "db"]),
    "toplevel": (b"slashless-cli-value", []),
    "bin/blob": (BINARY, ["--group", "blobs"]),
    "solo/token": (b"solo-token", ["--agents", "reader"]),
    "unicode/秘密": ("ünïcödé ✓".encode(), []),
}
GRANTS = [("ci", "stripe"), ("ci", "default"), ("ci", "blobs"), ("deploy", "db"), ("gone", "stripe")]
REVOKES = [("gone", "stripe")]
READABLE = {
    "ci": {"stripe/api-key", "toplevel", "bin/blob"},
    "deploy": {"db/prod/password", "deep/a/b/c/d"},
    "reader": {"solo/token"},
    "gone": set(),
}
REMOVED = "removed/secret"


@dataclass
class CliVault:
    repo: Path
    home: Path
    env: dict[str, str]

    def run(self, *args: str, stdin: bytes | None = None, cwd: Path | None = None) -> bytes:
        proc = subprocess.run(
            [str(BIN), *args],
            cwd=cwd or self.repo,
            env=self.env,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            timeout=120,
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"git-vault {' '.join(args)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}"
            )
        return proc.stdout

    def git(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=cwd or self.repo, env=self.env, capture_output=True, text=True, timeout=60
        )
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout

    def key(self, who: str) -> Path:
        base = self.home / ".agent-vault"
        return base / "owner.key" if who == "owner" else base / "agents" / f"{who}.key"


def _env(home: Path, cache: Path) -> dict[str, str]:
    drop = {"AGENT_VAULT_KEY", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "XDG_CONFIG_HOME"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(GIT_ENV, HOME=str(home), XDG_CACHE_HOME=str(cache))
    return env


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> CliVault:
    if not (BIN.is_file() and os.access(BIN, os.X_OK)):
        pytest.fail(f"git-vault binary not found at {BIN}: build it first (cargo build) or set GIT_VAULT_BIN")
    base = tmp_path_factory.mktemp("cli")
    (base / "home").mkdir()
    vault = CliVault(base / "repo", base / "home", _env(base / "home", base / "cache"))
    vault.repo.mkdir()
    vault.git("init", "-q", "-b", "main")
    vault.run("init")
    assert (vault.repo / ".agent-vault" / "manifest.yaml").is_file(), "git-vault init made no vault"
    for agent in ("ci", "deploy", "reader", "gone"):
        vault.run("add-agent", agent)
    for path, (value, extra) in SECRETS.items():
        vault.run("set", path, *extra, stdin=value)
    vault.run("set", REMOVED, stdin=b"soon gone")
    vault.run("rm", REMOVED)
    for agent, group in GRANTS:
        vault.run("grant", agent, group)
    for agent, group in REVOKES:
        vault.run("revoke", agent, group)
    return vault


def test_the_cli_left_a_clean_committed_vault(cli: CliVault) -> None:
    assert cli.git("status", "--porcelain", "--untracked-files=no") == ""
    assert (cli.repo / ".agent-vault" / "secrets" / "toplevel.enc").is_file()  # primary location
    assert cli.key("owner").is_file()
    for agent in READABLE:
        assert cli.key(agent).is_file()


def test_owner_reads_everything(cli: CliVault) -> None:
    with Vault(cli.repo, key_path=cli.key("owner"), auto_pull=False) as vault:
        for path, (value, _extra) in SECRETS.items():
            assert vault.get_bytes(path) == value, path
            assert cli.run("get", path, "--no-pull") == value  # the CLI agrees
        with pytest.raises(SecretNotFoundError):
            vault.get(REMOVED)


def test_default_owner_key_location(cli: CliVault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(cli.home))
    assert Vault(cli.repo / ".agent-vault", auto_pull=False).get("toplevel") == "slashless-cli-value"


@pytest.mark.parametrize("agent", sorted(READABLE))
def test_each_agent_reads_exactly_what_it_may(cli: CliVault, agent: str) -> None:
    vault = Vault(cli.repo, key_path=cli.key(agent), auto_pull=False)
    for path, (value, _extra) in SECRETS.items():
        if path in READABLE[agent]:
            assert vault.get_bytes(path) == value, path
        else:
            with pytest.raises(NotAuthorizedError):
                vault.get_bytes(path)


def test_agent_key_as_raw_env_value(cli: CliVault, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = cli.key("reader").read_text().splitlines()
    raw = next(line for line in lines if line.startswith("AGE-SECRET-KEY-"))
    monkeypatch.setenv("AGENT_VAULT_KEY", raw)
    assert Vault(cli.repo, auto_pull=False).get("solo/token") == "solo-token"


def test_outsider_reads_nothing(cli: CliVault) -> None:
    vault = Vault(cli.repo, key_str=str(x25519.Identity.generate()), auto_pull=False)
    for path in SECRETS:
        with pytest.raises(NotAuthorizedError):
            vault.get_bytes(path)


def test_binary_value(cli: CliVault) -> None:
    vault = Vault(cli.repo, key_path=cli.key("ci"), auto_pull=False)
    assert vault.get_bytes("bin/blob") == BINARY
    with pytest.raises(VaultError, match="get_bytes"):
        vault.get("bin/blob")


def test_listing_matches_the_cli(cli: CliVault) -> None:
    vault = Vault(cli.repo, auto_pull=False)
    listed = vault.list_secrets()
    assert [s["name"] for s in listed] == sorted(SECRETS)
    assert listed == json.loads(cli.run("list", "--json"))
    assert vault.list_secrets(group="db") == json.loads(cli.run("list", "--group", "db", "--json"))
    by_name: dict[str, dict[str, Any]] = {s["name"]: s for s in listed}
    assert by_name["toplevel"]["group"] == "default"
    assert by_name["stripe/api-key"]["group"] == "stripe"
    assert by_name["deep/a/b/c/d"]["group"] == "db"
    assert by_name["solo/token"]["authorized_agents"] == ["reader"]
    assert by_name["stripe/api-key"]["authorized_agents"] == ["ci"]  # 'gone' was revoked
    for entry in listed:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["created"])


def test_agents_match_the_cli(cli: CliVault) -> None:
    agents = Vault(cli.repo, auto_pull=False).list_agents()
    assert agents == json.loads(cli.run("list-agents", "--json"))
    assert [a["name"] for a in agents] == ["ci", "deploy", "reader", "gone"]
    assert {a["name"]: a["groups"] for a in agents}["gone"] == []


def test_pull_picks_up_a_cli_change(cli: CliVault, tmp_path: Path) -> None:
    upstream = tmp_path / "upstream"
    shutil.copytree(cli.repo, upstream)
    clone = tmp_path / "clone"
    cli.git("clone", "-q", str(upstream), str(clone), cwd=tmp_path)
    vault = Vault(clone, key_path=cli.key("owner"))
    cli.run("set", "late/secret", stdin=b"late", cwd=upstream)
    with pytest.raises(SecretNotFoundError):
        vault.get("late/secret")
    assert vault.pull() is True
    assert vault.get("late/secret") == "late"
