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

# `created:` values, each in its own .meta (written as a YAML double-quoted string)
TIMESTAMPS = [
    "2026-01-02T03:04:05Z",
    "2026-01-02t03:04:05.9z",
    "2026-01-02 03:04:05Z",
    "2026-01-02T03:04:05+02:00",
    "2026-01-02T03:04:05+0200",
    "2026-01-02T03:04:05+02",
    "2026-01-01T23:30:00-01:00",
    "2026-01-02T03:04:05-00:00",
    "2026-01-02T03:04:05+02:00:30",
    "2026-01-02T03:04:05+02:00:30.5",
    "2026-01-02T03:04:05+00:00:00.5",
    "2026-01-02T03:04:05+25:59:59",
    "2026-01-02T03:04:05+25:59:59.5",
    "2026-01-02T03:04:05+26:00",
    "2026-01-02T03:04:05+02:0",
    "2026-01-02T03:04:05+2:00",
    "2026-01-02T03:04:05+0200:30",
    "2026-01-02T03:04:05",
    "2026-12-31",
    "2026-01-02T03:04Z",
    "2026-01-02T03Z",
    "2026-01-02T0304Z",
    "20260102T030405Z",
    "2026-01-02T030405Z",
    "2026-0102T03:04:05Z",
    "2026-01-02T03:0405Z",
    "2026-13-01T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2024-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-12-31T23:59:60Z",
    "2026-01-02T23:59:60.5Z",
    "2026-01-02T03:04:61Z",
    "2026-01-02T24:00:00Z",
    "2026-01-02T03:04:05.123456789Z",
    "2026-01-02T03:04:05.1234567891Z",
    "2026-01-02T03:04:05,5Z",
    "2026-01-02T03:04:05.Z",
    "2026-01-02T03:04:05 Z",
    "2026-01-02  03:04:05Z",
    " 2026-01-02T03:04:05Z\t",
    "\u30002026-01-02T03:04:05Z\u0085",
    "+002026-01-02T03:04:05Z",
    "-000001-01-01T00:00:00Z",
    "-000000-01-01T00:00:00Z",
    "+010000-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "0000-01-01T00:00:00.5Z",
    "1969-12-31T23:59:59.5Z",
    "1969-12-31T23:59:58.5Z",
    "-009999-01-02T01:59:59Z",
    "-009999-01-02T01:59:58Z",
    "9999-12-30T22:00:00.999999999Z",
    "9999-12-30T22:00:01Z",
    "9999-12-31T00:00:00+05:00",
    "2026-01-02T03:04:05Z[UTC]",
    "2026-01-02T03:04:05+01:00[Europe/Paris][u-ca=iso8601]",
    "2026-01-02T03:04:05Z[!UTC]",
    "2026-01-02T03:04:05Z[!foo=bar]",
    "2026-01-02T03:04:05Z[foo=bar]",
    "2026-01-02T03:04:05Z[K=v]",
    "2026-01-02T03:04:05Z[k=v][UTC]",
    "2026-01-02T03:04:05Z[UTC][UTC]",
    "2026-01-02T03:04:05Z[a//b]",
    "2026-01-02T03:04:05Z[+01:00]",
    "2026-01-02T03:04:05Z[+01:00:30]",
    "2026-01-02T03:04:05Z[]",
    "2026-01-02T03:04:05ZZ",
    "2026-W01-1T03:04:05Z",
    "\uff12\uff10\uff12\uff16-01-02T03:04:05Z",
    "yesterday",
    "",
]

# whole .meta files; NAME is replaced by the secret's path
METAS = {
    "full": "name: NAME\ngroup: g0\ncreated: 2026-01-02T03:04:05Z\nrotated: '2026-01-02T03:04:05Z'\n"
    'expires: "2030-01-01T00:00:00+01:00"\nauthorized_agents: [ci, ro]\nx-unknown: {a: [1]}\n',
    "other-group": "name: NAME\ngroup: elsewhere\nauthorized_agents: [ghost]\n",
    "in-g1": "name: NAME\ngroup: g0\n",
    "name-mismatch": "name: other/name\ngroup: g0\n",
    "name-int": "name: 5\ngroup: g0\n",
    "name-missing": "group: g0\n",
    "name-invalid": "name: ../x\ngroup: g0\n",
    "name-null": "name: ~\ngroup: g0\n",
    "name-list": "name: [a]\ngroup: g0\n",
    "group-missing": "name: NAME\n",
    "group-null": "name: NAME\ngroup: null\n",
    "group-Null": "name: NAME\ngroup: Null\n",
    "group-int": "name: NAME\ngroup: 123\n",
    "group-float": "name: NAME\ngroup: 1.10\n",
    "group-bool": "name: NAME\ngroup: true\n",
    "group-on": "name: NAME\ngroup: on\n",
    "group-slash": "name: NAME\ngroup: a/b\n",
    "group-empty": "name: NAME\ngroup: ''\n",
    "group-dots": "name: NAME\ngroup: '..'\n",
    "group-drive": "name: NAME\ngroup: 'c:'\n",
    "group-space": "name: NAME\ngroup: a b\n",
    "group-unicode": "name: NAME\ngroup: 秘密\n",
    "group-list": "name: NAME\ngroup: [g0]\n",
    "group-int-tag": "name: NAME\ngroup: !!int 5\n",
    "group-str-tag": "name: NAME\ngroup: !!str 5\n",
    "group-local-tag": "name: NAME\ngroup: !foo g0\n",
    "created-null": "name: NAME\ngroup: g0\ncreated: null\nrotated: ~\nexpires:\n",
    "created-Null": "name: NAME\ngroup: g0\ncreated: Null\n",
    "created-int": "name: NAME\ngroup: g0\ncreated: 12345\n",
    "created-list": "name: NAME\ngroup: g0\ncreated: [a]\n",
    "created-map": "name: NAME\ngroup: g0\ncreated: {a: 1}\n",
    "created-timestamp-tag": "name: NAME\ngroup: g0\ncreated: !!timestamp 2026-01-02T03:04:05Z\n",
    "created-str-tag": "name: NAME\ngroup: g0\ncreated: !!str 2026-01-02T03:04:05Z\n",
    "created-null-tag": "name: NAME\ngroup: g0\ncreated: !!null ''\n",
    "created-block": "name: NAME\ngroup: g0\ncreated: |\n  2026-01-02T03:04:05Z\n",
    "created-folded": "name: NAME\ngroup: g0\ncreated: >-\n  2026-01-02T03:04:05Z\n",
    "good-created-bad-rotated": "name: NAME\ngroup: g0\ncreated: 2026-01-02T03:04:05Z\nrotated: soon\n"
    "authorized_agents: [ci]\n",
    "bad-expires": "name: NAME\ngroup: elsewhere\nexpires: 2027-01-01\n",
    "agents-missing": "name: NAME\ngroup: g0\n",
    "agents-null": "name: NAME\ngroup: g0\nauthorized_agents: null\n",
    "agents-blank": "name: NAME\ngroup: g0\nauthorized_agents:\n",
    "agents-empty": "name: NAME\ngroup: g0\nauthorized_agents: []\n",
    "agents-scalar": "name: NAME\ngroup: g0\nauthorized_agents: ci\n",
    "agents-map": "name: NAME\ngroup: g0\nauthorized_agents: {a: 1}\n",
    "agents-invalid": "name: NAME\ngroup: g0\nauthorized_agents: [a/b]\n",
    "agents-null-item": "name: NAME\ngroup: g0\nauthorized_agents: [~]\n",
    "agents-empty-item": "name: NAME\ngroup: g0\nauthorized_agents: ['']\n",
    "agents-nested": "name: NAME\ngroup: g0\nauthorized_agents: [[a]]\n",
    "agents-scalars": "name: NAME\ngroup: g0\nauthorized_agents: [010, 'true', x1]\n",
    "agents-ghost": "name: NAME\ngroup: g0\nauthorized_agents: [ghost]\n",
    "anchor": "name: NAME\ngroup: &a g0\nauthorized_agents: [*a]\n",
    "merge": "<<: {group: elsewhere}\nname: NAME\n",
    "merge-override": "<<: {group: elsewhere}\nname: NAME\ngroup: g0\n",
    "merge-list": "<<: [{group: elsewhere}, {created: '2026-01-02T03:04:05Z'}]\nname: NAME\n",
    "dup-key": "name: NAME\ngroup: g0\ngroup: g1\n",
    "dup-unknown": "name: NAME\ngroup: g0\nx: 1\nx: 2\n",
    "dup-nested": "name: NAME\ngroup: g0\nx: {a: 1, a: 2}\n",
    "null-key": "name: NAME\ngroup: g0\n~: x\n",
    "complex-key": "name: NAME\ngroup: g0\n? [a]\n: x\n",
    "int-key": "name: NAME\ngroup: g0\n1: x\n",
    "flow": "{name: NAME, group: g0}\n",
    "comments": "# c\nname: NAME # c\ngroup: g0\n",
    "crlf": "name: NAME\r\ngroup: g0\r\n",
    "bom": "\ufeffname: NAME\ngroup: g0\n",
    "doc-start-end": "---\nname: NAME\ngroup: g0\n...\n",
    "directive": "%YAML 1.2\n---\nname: NAME\ngroup: g0\n",
    "two-docs": "name: NAME\ngroup: g0\n---\nname: NAME\ngroup: g1\n",
    "empty": "",
    "comment-only": "# nothing\n",
    "tilde": "~\n",
    "list": "- a\n",
    "scalar": "hello\n",
    "bad-yaml": "group: [\n",
    "tab-indent": "name: NAME\ngroup: g0\nx:\n\t- a\n",
    "control-char": "name: NAME\ngroup: g0\nx: a\x01b\n",
    "escaped-nul": 'name: NAME\ngroup: g0\nx: "\\0"\n',
}
NO_META = ["no-meta/one", "no-meta/two"]
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
