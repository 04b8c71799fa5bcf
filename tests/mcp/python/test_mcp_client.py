"""A real MCP client (PyPI ``mcp`` 2.x) against ``git vault mcp`` over stdio.

The vault is built by the real binary (``GIT_VAULT_BIN``, default ``<repo>/target/debug/git-vault``)
in a hermetic environment: temporary HOME, no system git config, a temporary global git config
with a user, fixed dates. Checks: initialize (serverInfo), tool names, schemas and annotations,
every tool, ``--no-reveal``, a revoke between two calls of one session, the audit log (entries,
permissions, no value), masked ``agent_vault_run`` output, the timeout, and that a raw
AGENT_VAULT_KEY value never reaches the disk.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

REPO_ROOT = Path(__file__).resolve().parents[3]
BIN = Path(os.environ.get("GIT_VAULT_BIN") or REPO_ROOT / "target" / "debug" / "git-vault")

STRIPE = "sk_live_51PyMcpClientTestValue0123456789"
DB = 'p@ss w/rd"+\u00e9-mcp-python'  # needs percent-encoding and JSON escaping
TOOLS = {"agent_vault_get", "agent_vault_list", "agent_vault_run", "agent_vault_whoami"}


@dataclass
class Vault:
    root: Path
    repo: Path
    env: dict[str, str]
    agent_key: Path

    def git_vault(self, *args: str, stdin: bytes | None = None) -> str:
        proc = subprocess.run(
            [str(BIN), *args], cwd=self.repo, env=self.env, input=stdin, capture_output=True, timeout=120
        )
        assert proc.returncode == 0, f"git vault {args} failed: {proc.stderr.decode(errors='replace')}"
        return proc.stdout.decode()

    def audit_log(self) -> Path:
        return Path(self.env["HOME"]) / ".agent-vault" / "audit.log"

    def raw_agent_key(self) -> str:
        lines = self.agent_key.read_text().splitlines()
        return next(ln.strip() for ln in lines if ln.strip() and not ln.startswith("#"))


def hermetic_env(root: Path) -> dict[str, str]:
    home = root / "home"
    home.mkdir()
    gitconfig = root / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Alice Owner\n\temail = alice@example.com\n[init]\n\tdefaultBranch = main\n")
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        "GIT_TERMINAL_PROMPT": "0",
    }


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    if not BIN.is_file():
        pytest.fail(f"git-vault binary not found at {BIN}: run `cargo build` or set GIT_VAULT_BIN")
    env = hermetic_env(tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    v = Vault(tmp_path, repo, env, Path(env["HOME"]) / ".agent-vault" / "agents" / "ci.key")
    v.git_vault("init", "--owner", "alice")
    v.git_vault("add-agent", "ci")
    v.git_vault("set", "stripe/api-key", stdin=STRIPE.encode())
    v.git_vault("set", "db/password", "--group", "db", stdin=DB.encode())
    v.git_vault("set", "other/secret", stdin=b"not-for-ci-0000")
    v.git_vault("grant", "ci", "stripe")
    v.git_vault("grant", "ci", "db")
    return v


def params(v: Vault, *extra: str, key: str | None = None, cwd: Path | None = None) -> StdioServerParameters:
    env = dict(v.env)
    env["AGENT_VAULT_KEY"] = key if key is not None else str(v.agent_key)
    return StdioServerParameters(command=str(BIN), args=["mcp", *extra], env=env, cwd=str(cwd or v.repo))


@asynccontextmanager
async def connect(p: StdioServerParameters) -> AsyncIterator[tuple[ClientSession, Any]]:
    with open(os.devnull, "w") as errlog:
        async with stdio_client(p, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                yield session, init


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    anyio.run(scenario)


def text(result: Any) -> str:
    return "".join(c.text for c in result.content if getattr(c, "type", None) == "text")


def as_json(result: Any) -> Any:
    assert not result.is_error, text(result)
    return result.structured_content if result.structured_content is not None else json.loads(text(result))


def forms(value: str) -> list[str]:
    raw = value.encode()
    return [
        value,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        urllib.parse.quote(value, safe=""),
        json.dumps(value)[1:-1],
    ]


def test_initialize_reports_git_vault_and_its_tools(vault: Vault) -> None:
    version = vault.git_vault("--version").split()[-1]

    async def scenario() -> None:
        async with connect(params(vault)) as (session, init):
            assert init.server_info.name == "git-vault"
            assert init.server_info.version == version
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert set(tools) == TOOLS
            get, run_tool = tools["agent_vault_get"], tools["agent_vault_run"]
            assert get.input_schema["required"] == ["secret"]
            assert get.input_schema["properties"]["secret"]["description"]
            assert run_tool.input_schema["required"] == ["command"]
            assert {"command", "env", "cwd", "timeout_s"} <= set(run_tool.input_schema["properties"])
            assert run_tool.input_schema["properties"]["command"]["type"] == "array"
            for name in ("agent_vault_get", "agent_vault_list", "agent_vault_whoami"):
                assert tools[name].annotations.read_only_hint is True, name
                assert tools[name].annotations.open_world_hint is False, name
            assert run_tool.annotations.read_only_hint is False
            assert run_tool.annotations.destructive_hint is True
            assert all(t.description for t in tools.values())

    run(scenario)


def test_every_tool(vault: Vault) -> None:
    async def scenario() -> None:
        async with connect(params(vault)) as (session, _):
            got = await session.call_tool("agent_vault_get", {"secret": "stripe/api-key"})
            assert not got.is_error and text(got) == STRIPE

            listed = as_json(await session.call_tool("agent_vault_list", {}))["secrets"]
            assert [s["name"] for s in listed] == ["db/password", "other/secret", "stripe/api-key"]
            assert list(listed[0]) == ["name", "group", "created", "rotated", "expires", "authorized_agents"]
            only_db = as_json(await session.call_tool("agent_vault_list", {"group": "db"}))["secrets"]
            assert [s["name"] for s in only_db] == ["db/password"]

            me = as_json(await session.call_tool("agent_vault_whoami", {}))
            assert me["agent"] == "ci" and me["owner"] is None
            assert sorted(me["groups"]) == ["db", "stripe"]
            assert me["readable_secrets"] == ["db/password", "stripe/api-key"]
            assert me["reveal"] is True and me["recipient"].startswith("age1")

            missing = await session.call_tool("agent_vault_get", {"secret": "nope/nothing"})
            assert missing.is_error and text(missing).startswith("SecretNotFoundError")
            other = await session.call_tool("agent_vault_get", {"secret": "other/secret"})
            assert other.is_error and text(other).startswith("NotAuthorizedError")
            bad = await session.call_tool("agent_vault_get", {"secret": "../etc/passwd"})
            assert bad.is_error and text(bad).startswith("InvalidIdentifierError")
            no_group = await session.call_tool("agent_vault_list", {"group": "nope"})
            assert no_group.is_error and "GroupNotFoundError" in text(no_group)

    run(scenario)


def test_run_output_is_masked(vault: Vault) -> None:
    script = (
        "import base64, json, os, sys, time, urllib.parse\n"
        "k, d = os.environ['K'], os.environ['D']\n"
        "for half in (k[:10], k[10:]):\n"
        "    sys.stdout.write(half); sys.stdout.flush(); time.sleep(0.2)\n"
        "print()\n"
        "print(base64.b64encode(k.encode()).decode())\n"
        "print(base64.urlsafe_b64encode(d.encode()).decode().rstrip('='))\n"
        "print(urllib.parse.quote(d, safe=''), json.dumps(d), json.dumps({'v': k}))\n"
        "print(d, file=sys.stderr)\n"
        "print('key var:', 'AGENT_VAULT_KEY' in os.environ)\n"
        "sys.exit(7)\n"
    )

    async def scenario() -> None:
        async with connect(params(vault, "--no-reveal")) as (session, _):
            result = await session.call_tool(
                "agent_vault_run",
                {"command": ["python3", "-c", script], "env": {"K": "stripe/api-key", "D": "db/password"}},
            )
            out = as_json(result)
            assert out["exit_code"] == 7 and out["timed_out"] is False and out["signal"] is None
            everything = json.dumps(out) + text(result)
            for value in (STRIPE, DB):
                for form in forms(value):
                    assert form not in everything, f"{form!r} leaked"
            assert out["stdout"].count("<redacted:stripe/api-key>") == 3
            assert out["stdout"].count("<redacted:db/password>") == 3
            assert "<redacted:db/password>" in out["stderr"]
            assert "key var: False" in out["stdout"]

    run(scenario)


def test_run_errors_and_timeout(vault: Vault) -> None:
    async def scenario() -> None:
        async with connect(params(vault)) as (session, _):
            denied = await session.call_tool(
                "agent_vault_run", {"command": ["touch", "ran"], "env": {"X": "other/secret"}}
            )
            assert denied.is_error and text(denied).startswith("NotAuthorizedError")
            assert not (vault.repo / "ran").exists(), "nothing runs when a secret cannot be read"
            started = time.monotonic()
            slow = as_json(await session.call_tool("agent_vault_run", {"command": ["sleep", "30"], "timeout_s": 1}))
            assert slow["timed_out"] is True and slow["signal"] == 15 and slow["exit_code"] == 143
            assert time.monotonic() - started < 15
            sub = vault.repo / "sub"
            sub.mkdir()
            where = as_json(await session.call_tool("agent_vault_run", {"command": ["pwd"], "cwd": "sub"}))
            assert where["stdout"].strip() == str(sub)

    run(scenario)


def test_no_reveal_refuses_get_with_a_hint(vault: Vault) -> None:
    async def scenario() -> None:
        async with connect(params(vault, "--no-reveal")) as (session, _):
            refused = await session.call_tool("agent_vault_get", {"secret": "stripe/api-key"})
            assert refused.is_error
            assert "agent_vault_run" in text(refused) and STRIPE not in text(refused)
            me = as_json(await session.call_tool("agent_vault_whoami", {}))
            assert me["reveal"] is False

    run(scenario)


def test_revoke_applies_mid_session(vault: Vault) -> None:
    async def scenario() -> None:
        async with connect(params(vault)) as (session, _):
            before = await session.call_tool("agent_vault_get", {"secret": "db/password"})
            assert not before.is_error and text(before) == DB
            vault.git_vault("revoke", "ci", "db")
            after = await session.call_tool("agent_vault_get", {"secret": "db/password"})
            assert after.is_error and text(after).startswith("NotAuthorizedError")
            me = as_json(await session.call_tool("agent_vault_whoami", {}))
            assert me["groups"] == ["stripe"] and me["readable_secrets"] == ["stripe/api-key"]

    run(scenario)


def test_audit_log_has_every_call_and_no_value(vault: Vault) -> None:
    async def scenario() -> None:
        async with connect(params(vault)) as (session, _):
            await session.call_tool("agent_vault_get", {"secret": "stripe/api-key"})
            await session.call_tool("agent_vault_get", {"secret": "other/secret"})
            await session.call_tool("agent_vault_run", {"command": ["true"], "env": {"D": "db/password"}})
            await session.call_tool("agent_vault_list", {})

    run(scenario)
    log = vault.audit_log()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    content = log.read_text()
    entries = [json.loads(line) for line in content.splitlines()]
    assert [e["tool"] for e in entries] == ["agent_vault_get", "agent_vault_get", "agent_vault_run", "agent_vault_list"]
    assert all(e["agent"] == "ci" and e["time"].endswith("Z") for e in entries)
    assert entries[0]["secrets"] == ["stripe/api-key"] and entries[0]["outcome"] == "ok"
    assert entries[1]["outcome"] == "denied" and entries[1]["error"] == "NotAuthorizedError"
    assert entries[2]["secrets"] == ["db/password"]
    for value in (STRIPE, DB):
        for form in forms(value):
            assert form not in content


def test_raw_key_value_stays_in_memory_and_no_vault_is_an_error(vault: Vault, tmp_path: Path) -> None:
    raw = vault.raw_agent_key()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    async def scenario() -> None:
        async with connect(params(vault, key=raw)) as (session, _):
            got = await session.call_tool("agent_vault_get", {"secret": "stripe/api-key"})
            assert text(got) == STRIPE
            env_dump = as_json(await session.call_tool("agent_vault_run", {"command": ["env"]}))["stdout"]
            assert "AGENT_VAULT_KEY" not in env_dump and raw not in env_dump
        async with connect(params(vault, key=raw, cwd=elsewhere)) as (session, _):
            none = await session.call_tool("agent_vault_list", {})
            assert none.is_error and text(none).startswith("VaultNotFoundError")

    run(scenario)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != vault.agent_key and ".git" not in path.parts:
            assert raw.encode() not in path.read_bytes(), f"the raw key was written to {path}"
