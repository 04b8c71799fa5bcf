"""Safe pull and the clone cache, on real git repositories made in tmp (hermetic git env)."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest
import yaml
from pyrage import x25519

from conftest import git, scan_for, write_vault
from git_vault import PullWarning, SecretNotFoundError, Vault, VaultError, VaultNotFoundError, gitsync
from git_vault.gitsync import cache_dir_for, is_remote_url


@dataclass
class Setup:
    bare: Path
    writer: Path
    reader: Path
    owner: x25519.Identity

    def publish(self, path: str, value: bytes) -> None:
        """Add a secret in the writer clone, commit and push it."""
        vault = self.writer / ".agent-vault"
        enc = vault / "secrets" / f"{path}.enc"
        enc.parent.mkdir(parents=True, exist_ok=True)
        enc.write_bytes(pyrage.encrypt(value, [self.owner.to_public()]))
        manifest_path = vault / "manifest.yaml"
        manifest = yaml.safe_load(manifest_path.read_text())
        manifest["groups"].append({"name": path.replace("/", "-"), "secrets": [path]})
        manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        git(self.writer, "add", "-A")
        git(self.writer, "commit", "-q", "-m", f"agent-vault: set {path}")
        git(self.writer, "push", "-q", "origin", "main")

    def vault(self, **kwargs: object) -> Vault:
        return Vault(self.reader, key_str=str(self.owner), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    owner = x25519.Identity.generate()
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    writer = tmp_path / "writer"
    git(tmp_path, "init", "-q", "-b", "main", str(writer))
    write_vault(writer, {"app/first": (b"one", [])}, owner=owner)
    git(writer, "add", "-A")
    git(writer, "commit", "-q", "-m", "agent-vault: init")
    git(writer, "remote", "add", "origin", str(bare))
    git(writer, "push", "-q", "-u", "origin", "main")
    reader = tmp_path / "reader"
    git(tmp_path, "clone", "-q", str(bare), str(reader))
    return Setup(bare, writer, reader, owner)


def head(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", ref).strip()


def test_open_pulls(setup: Setup) -> None:
    setup.publish("app/second", b"two")
    assert setup.vault().get("app/second") == "two"


def test_explicit_pull_fast_forwards_and_reloads(setup: Setup) -> None:
    vault = setup.vault()
    setup.publish("app/second", b"two")
    with pytest.raises(SecretNotFoundError):  # last pull is recent: no pull before this get
        vault.get("app/second")
    assert vault.pull() is True
    assert vault.get("app/second") == "two"
    assert "app/second" in [s["name"] for s in vault.list_secrets()]
    assert head(setup.reader) == head(setup.writer)


def test_get_pulls_when_the_last_pull_is_old(setup: Setup) -> None:
    vault = setup.vault(pull_interval=0)
    setup.publish("app/second", b"two")
    assert vault.get("app/second") == "two"
    setup.publish("app/third", b"three")
    assert vault.get("app/third") == "three"
    assert "app/third" in [s["name"] for s in vault.list_secrets()]  # manifest re-read after the pull


def test_dirty_work_tree_is_not_touched(setup: Setup) -> None:
    config = setup.reader / ".agent-vault" / "config.yaml"
    config.write_text(config.read_text() + "# local edit\n")
    before = head(setup.reader)
    setup.publish("app/second", b"two")
    with pytest.warns(PullWarning, match="uncommitted changes"):
        vault = setup.vault()
    assert head(setup.reader) == before
    assert config.read_text().endswith("# local edit\n")
    assert vault.get("app/first") == "one"  # reading goes on with the local data
    with pytest.raises(SecretNotFoundError):
        vault.get("app/second")


def test_untracked_files_do_not_block_the_pull(setup: Setup) -> None:
    (setup.reader / "notes.txt").write_text("untracked")
    setup.publish("app/second", b"two")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert setup.vault().get("app/second") == "two"
    assert (setup.reader / "notes.txt").read_text() == "untracked"


def test_unreachable_remote_warns_and_reads_local(setup: Setup, tmp_path: Path) -> None:
    git(setup.reader, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with pytest.warns(PullWarning, match="fetch"):
        vault = setup.vault()
    assert vault.get("app/first") == "one"
    with pytest.warns(PullWarning):
        assert vault.pull() is False


def test_diverged_branch_is_not_merged(setup: Setup) -> None:
    (setup.reader / "local.txt").write_text("local work")
    git(setup.reader, "add", "local.txt")
    git(setup.reader, "commit", "-q", "-m", "local")
    local = head(setup.reader)
    setup.publish("app/second", b"two")
    with pytest.warns(PullWarning, match="fast-forward"):
        vault = setup.vault()
    assert head(setup.reader) == local
    assert (setup.reader / "local.txt").read_text() == "local work"
    assert vault.get("app/first") == "one"


def test_auto_pull_false_never_runs_git(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    setup.publish("app/second", b"two")
    tracking = head(setup.reader, "origin/main")

    def no_git(*_args: object) -> None:
        raise AssertionError("git was run with auto_pull=False")

    monkeypatch.setattr(gitsync, "_git", no_git)
    vault = setup.vault(auto_pull=False, pull_interval=0)
    with pytest.raises(SecretNotFoundError):
        vault.get("app/second")
    vault.list_secrets()
    assert head(setup.reader, "origin/main") == tracking  # nothing fetched


def test_no_upstream_is_silently_skipped(setup: Setup) -> None:
    git(setup.reader, "branch", "-q", "--unset-upstream")
    setup.publish("app/second", b"two")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vault = setup.vault()
        assert vault.pull() is False
    with pytest.raises(SecretNotFoundError):
        vault.get("app/second")


def test_vault_outside_git_is_silently_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = x25519.Identity.generate()
    repo = write_vault(tmp_path / "plain-dir", {"a/b": (b"v", [])}, owner=owner)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vault = Vault(repo, key_str=str(owner))
        assert vault.pull() is False
        assert vault.get("a/b") == "v"


def test_git_timeout_kills_the_hung_git(setup: Setup) -> None:
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("needs /proc to look for leftover processes")
    marker = "31.4159"
    git(setup.reader, "config", "remote.origin.uploadpack", f"sleep {marker}; git-upload-pack")
    started = time.monotonic()
    with pytest.warns(PullWarning, match="timed out"):
        setup.vault(git_timeout=1)
    assert time.monotonic() - started < 10
    time.sleep(0.2)
    assert not _running(["sleep", marker]), "the process group of the timed-out git was not killed"


def _running(argv: list[str]) -> bool:
    wanted = "\0".join(argv).encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().rstrip(b"\0") == wanted:
                return True
        except OSError:
            continue
    return False


@pytest.mark.parametrize(
    ("location", "remote"),
    [
        ("https://example.com/org/vault.git", True),
        ("ssh://git@example.com/org/vault.git", True),
        ("git@github.com:org/vault.git", True),
        ("file:///srv/vault.git", True),
        ("git://example.com/vault", True),
        ("/home/me/vault", False),
        ("relative/dir", False),
        ("./with:colon", False),
        ("C:\\Users\\me\\vault", False),
        ("dir@x/y:z", False),
    ],
)
def test_is_remote_url(location: str, remote: bool) -> None:
    assert is_remote_url(location) is remote


def test_remote_url_is_cloned_to_the_cache_and_updated(setup: Setup, tmp_path: Path) -> None:
    url = f"file://{setup.bare}"
    vault = Vault(url, key_str=str(setup.owner))
    expected = tmp_path / "cache" / "git-vault" / "repos"
    assert vault.root == cache_dir_for(url)
    assert vault.root.parent == expected
    assert len(vault.root.name) == 16
    assert vault.get("app/first") == "one"
    setup.publish("app/second", b"two")
    assert vault.pull() is True
    assert vault.get("app/second") == "two"
    setup.publish("app/third", b"three")
    again = Vault(url, key_str=str(setup.owner))  # the cache is reused and pulled at open
    assert again.root == vault.root
    assert again.get("app/third") == "three"
    assert sorted(p.name for p in expected.iterdir()) == [vault.root.name]


def test_cache_of_another_url_is_an_error(setup: Setup, tmp_path: Path) -> None:
    url = f"file://{setup.bare}"
    other = tmp_path / "other.git"
    git(tmp_path, "clone", "-q", "--bare", str(setup.bare), str(other))
    cache = cache_dir_for(url)
    cache.parent.mkdir(parents=True)
    git(tmp_path, "clone", "-q", f"file://{other}", str(cache))
    with pytest.raises(VaultError, match="is not a clone of"):
        Vault(url, key_str=str(setup.owner))
    (tmp_path / "junk").mkdir()
    junk_url = "file:///some/where.git"
    cache_dir_for(junk_url).mkdir(parents=True)
    with pytest.raises(VaultError, match="not a git clone"):
        Vault(junk_url, key_str=str(setup.owner))


def test_failed_clone_leaves_nothing(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/nowhere.git"
    with pytest.raises(VaultNotFoundError, match="cannot clone"):
        Vault(url)
    repos = tmp_path / "cache" / "git-vault" / "repos"
    assert not repos.exists() or list(repos.iterdir()) == []


def test_clone_without_vault(tmp_path: Path) -> None:
    bare = tmp_path / "novault.git"
    work = tmp_path / "novault"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    (work / "README").write_text("no vault here")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "x")
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    with pytest.raises(VaultNotFoundError):
        Vault(f"file://{bare}")


def test_credentials_in_urls_are_not_echoed() -> None:
    url = "https://user:tok3n-s3cret@127.0.0.1:9/vault.git"
    with pytest.raises(VaultNotFoundError) as err:
        Vault(url, git_timeout=10)
    assert "tok3n-s3cret" not in str(err.value)
    assert "cannot clone https://***@127.0.0.1:9/vault.git" in str(err.value)


def test_raw_env_key_is_not_passed_to_git_nor_written(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = str(setup.owner)
    monkeypatch.setenv("AGENT_VAULT_KEY", raw)
    dump = tmp_path / "hook-env.txt"
    hook = setup.reader / ".git" / "hooks" / "post-merge"
    hook.write_text(f"#!/bin/sh\nenv > '{dump}'\n")
    hook.chmod(0o755)
    setup.publish("app/second", b"two")
    vault = Vault(setup.reader)
    assert vault.get("app/second") == "two"
    assert dump.is_file()  # the hook ran, inside the pull
    assert "AGENT_VAULT_KEY" not in dump.read_text()
    assert scan_for(tmp_path, raw.encode()) == []
