"""Shared fixtures: hermetic environment, git helpers, and a small pyrage-built vault writer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyrage
import pytest
import yaml
from pyrage import x25519

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = REPO_ROOT / "fixtures"
LEGACY_KEYS = FIXTURES / "legacy-vault-keys"

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-02T03:04:05Z",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.invalid",
    "GIT_COMMITTER_DATE": "2026-01-02T03:04:05Z",
    "GIT_TERMINAL_PROMPT": "0",
}
_DROPPED = ("AGENT_VAULT_KEY", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CEILING_DIRECTORIES")


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test: HOME and XDG_CACHE_HOME in tmp, no AGENT_VAULT_KEY, no user or system git config."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    # an empty file of our own, never /dev/null: a git that writes its global config replaces
    # the file it points at
    (home / ".gitconfig").write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    for name in _DROPPED:
        monkeypatch.delenv(name, raising=False)
    return home


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` (hermetic env from the autouse fixture); return stdout, fail on error."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def read_key(path: Path) -> x25519.Identity:
    line = next(ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#"))
    return x25519.Identity.from_str(line.strip())


@pytest.fixture
def legacy_vault(tmp_path: Path) -> Path:
    """A private copy of fixtures/legacy-vault (the fixture itself is never written)."""
    dest = tmp_path / "legacy-vault"
    shutil.copytree(FIXTURES / "legacy-vault", dest)
    return dest


@pytest.fixture(scope="session")
def legacy_expected() -> dict[str, Any]:
    expected: dict[str, Any] = json.loads((FIXTURES / "legacy-vault-expected.json").read_text("utf-8"))
    return expected


def write_vault(
    root: Path,
    secrets: Mapping[str, tuple[bytes, Iterable[x25519.Identity]]],
    *,
    agents: Mapping[str, list[str]] | None = None,
    groups: Mapping[str, list[str]] | None = None,
    owner: x25519.Identity | None = None,
    armored: Iterable[str] = (),
) -> Path:
    """Write a vault in the git-vault format with pyrage: each secret is encrypted to the owner and
    the given reader identities. Groups default to the first path segment (else ``default``)."""
    vault = root / ".agent-vault"
    (vault / "secrets").mkdir(parents=True, exist_ok=True)
    owner = owner or x25519.Identity.generate()
    (vault / "owner.pub").write_text(f"{owner.to_public()}\n")
    (vault / "config.yaml").write_text("version: 1\nencryption:\n  format: age\n")
    if groups is None:
        derived: dict[str, list[str]] = {}
        for path in secrets:
            derived.setdefault(path.split("/")[0] if "/" in path else "default", []).append(path)
        groups = derived
    manifest = {
        "version": 1,
        "owners": [{"name": "owner", "public_key": "owner.pub"}],
        "agents": [{"name": name, "groups": list(gs)} for name, gs in (agents or {}).items()],
        "groups": [{"name": name, "secrets": sorted(paths)} for name, paths in groups.items()],
    }
    (vault / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    armored = set(armored)
    for path, (value, readers) in secrets.items():
        recipients = [owner.to_public(), *(r.to_public() for r in readers)]
        enc = vault / "secrets" / f"{path}.enc"
        enc.parent.mkdir(parents=True, exist_ok=True)
        enc.write_bytes(pyrage.encrypt(value, recipients, armored=path in armored))
        group = next((g for g, paths in groups.items() if path in paths), "default")
        meta = {
            "name": path,
            "group": group,
            "created": "2026-03-04T05:06:07Z",
            "rotated": "2026-03-04T05:06:07Z",
            "authorized_agents": [],
        }
        (vault / "secrets" / f"{path}.meta").write_text(yaml.safe_dump(meta, allow_unicode=True))
    return root


def scan_for(root: Path, needle: bytes) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    hits = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if not path.is_symlink() and needle in path.read_bytes():
                hits.append(path)
    return hits
