"""The SDK reads every kind of ``.meta`` exactly as the CLI does: one vault with a secret per case
(timestamp forms, YAML forms, fields out of line), listed by the real binary and by the SDK.

The Node SDK's test/listing-rules.test.mjs holds the same cases. The binary is ``$GIT_VAULT_BIN``
(default ``<repo>/target/debug/git-vault``); as for test_cli_vaults.py, a missing binary fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import GIT_ENV, REPO_ROOT
from git_vault import Vault

BIN = Path(os.environ.get("GIT_VAULT_BIN") or REPO_ROOT / "target" / "debug" / "git-vault")

_CASES = json.loads((REPO_ROOT / "fixtures" / "listing-cases.json").read_text())
# `created:` values, each in its own .meta; whole .meta files (NAME is replaced by the secret's path)
TIMESTAMPS: list[str] = _CASES["timestamps"]
METAS: dict[str, str] = _CASES["metas"]
NO_META: list[str] = _CASES["no_meta"]
LATIN1 = b"name: t/latin1\ngroup: g0\nx: \xff\n"


def _build(root: Path) -> list[str]:
    vault = root / ".agent-vault"
    (vault / "secrets").mkdir(parents=True)
    (vault / "config.yaml").write_text("version: 1\nencryption:\n  format: age\n")
    (vault / "owner.pub").write_text("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n")
    metas: dict[str, bytes | None] = {}
    for i, stamp in enumerate(TIMESTAMPS):
        path = f"ts/{i:03d}"
        metas[path] = f"name: {path}\ngroup: g0\ncreated: {json.dumps(stamp)}\n".encode()
    for case, text in METAS.items():
        metas[f"t/{case}"] = text.replace("NAME", f"t/{case}").encode()
    metas["t/latin1"] = LATIN1
    for path in NO_META:
        metas[path] = None
    for path, data in metas.items():
        enc = vault / "secrets" / f"{path}.enc"
        enc.parent.mkdir(parents=True, exist_ok=True)
        enc.write_bytes(b"listing never decrypts")
        if data is not None:
            (vault / "secrets" / f"{path}.meta").write_bytes(data)
    g1 = ["t/in-g1", "t/other-group", "t/full", "no-meta/two", "t/bad-expires"]
    manifest = {
        "version": 1,
        "owners": [{"name": "o", "public_key": "owner.pub"}],
        "agents": [
            {"name": "ci", "groups": ["g0"]},
            {"name": "ro", "groups": []},
            {"name": "g1r", "groups": ["g1"]},
        ],
        "groups": [
            {"name": "g1", "secrets": sorted(g1)},
            {"name": "g0", "secrets": sorted(set(metas) - {"t/in-g1"})},
            {"name": "elsewhere", "secrets": []},
        ],
        "readers": {"no-meta/one": ["ro", "ghost"], "t/bad-expires": ["ro"]},
    }
    (vault / "manifest.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True))
    return ["g0", "g1", "elsewhere"]


def _cli(root: Path, home: Path, *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if k not in {"AGENT_VAULT_KEY", "GIT_DIR", "GIT_WORK_TREE"}}
    env.update(GIT_ENV, HOME=str(home))
    proc = subprocess.run(
        [str(BIN), "-C", str(root), "list", "--json", *args], env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    if not (BIN.is_file() and os.access(BIN, os.X_OK)):
        pytest.fail(f"git-vault binary not found at {BIN}: build it first (cargo build) or set GIT_VAULT_BIN")
    base = tmp_path_factory.mktemp("rules")
    root, home = base / "repo", base / "home"
    home.mkdir()
    root.mkdir()
    groups = _build(root)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True, capture_output=True)
    return root, home, groups


def _sdk(root: Path, group: str | None = None) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Vault(root, auto_pull=False).list_secrets(group=group)


def test_every_meta_case_lists_as_the_cli_lists_it(built: tuple[Path, Path, list[str]]) -> None:
    root, home, _groups = built
    cli = {entry["name"]: entry for entry in _cli(root, home)}
    sdk = {entry["name"]: entry for entry in _sdk(root)}
    assert list(sdk) == list(cli)
    differing = {name: {"cli": cli[name], "sdk": sdk[name]} for name in cli if cli[name] != sdk[name]}
    assert differing == {}
    # the cases do what they say: some .meta files are read, some fall back to the manifest
    assert cli["t/full"]["created"] == "2026-01-02T03:04:05Z"
    assert cli["t/good-created-bad-rotated"]["created"] is None
    assert cli["no-meta/one"]["authorized_agents"] == ["ci", "ro"]


@pytest.mark.parametrize("index", range(3))
def test_group_filters_list_as_the_cli(built: tuple[Path, Path, list[str]], index: int) -> None:
    root, home, groups = built
    assert _sdk(root, groups[index]) == _cli(root, home, "--group", groups[index])
