"""The plaintext policy files: ``manifest.yaml`` and the ``.meta`` files (FORMAT.md).

Every policy read goes through :func:`load_manifest`, the one place where a future integrity
check of the policy (SPEC section 10) will live.

YAML is read the way the CLI reads it: every plain scalar is the string it is, except ``null``,
``Null``, ``NULL``, ``~`` and the empty scalar (no YAML 1.1 guessing, so names such as ``on``,
``010`` or ``1.10`` and timestamps read exactly as written, whatever YAML emitter wrote the file); merge keys
(``<<``) are applied; a duplicate, null or non-scalar key makes the document invalid; an unknown
tag is ignored.

A ``.meta`` file is read only when the CLI can read it (:func:`load_meta`); otherwise the listing
falls back to what the manifest says, as ``git vault list`` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from .errors import VaultError
from .names import validate_name, validate_secret_path
from .timestamps import parse_timestamp

__all__ = ["Agent", "Group", "Manifest", "Meta", "load_manifest", "load_meta", "normalize_timestamp"]

SUPPORTED_VERSION = "1"

_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """SafeLoader resolving only nulls and ``<<``; every other plain scalar is a string."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[str] = set()
        for key_node, _value in node.value:
            if key_node.tag == _MERGE:
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _NULL:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a non-null scalar", key_node.start_mark
                )
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _construct_untagged(loader: _Loader, node: yaml.Node) -> object:
    """An unknown tag (``!foo``) is ignored: the node reads as if untagged."""
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    assert isinstance(node, yaml.MappingNode)
    return loader.construct_mapping(node, deep=True)


_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver(_NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Loader.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])
_Loader.add_constructor(None, _construct_untagged)


def _load_yaml(path: Path, what: str) -> object:
    text: str | None = None
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        pass
    except OSError as exc:
        raise VaultError(f"cannot read {what}: {exc.strerror}") from None
    if text is None:
        raise VaultError(f"{what} is corrupt: not UTF-8 text")
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise VaultError(f"{what} is corrupt: invalid YAML{where}: {exc.problem}") from None
    except (yaml.YAMLError, RecursionError):
        raise VaultError(f"{what} is corrupt: invalid YAML") from None


def _malformed(what: str, where: str, expected: str) -> VaultError:
    return VaultError(f"{what} is malformed: {where} must be {expected}")


def _as_list(value: object, what: str, where: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _malformed(what, where, "a list")
    return value


def _as_mapping(value: object, what: str, where: str) -> dict[object, object]:
    if not isinstance(value, dict):
        raise _malformed(what, where, "a mapping")
    return value


def _as_str(value: object, what: str, where: str) -> str:
    if not isinstance(value, str):
        raise _malformed(what, where, "a string")
    return value


def _str_list(value: object, what: str, where: str) -> tuple[str, ...]:
    items = _as_list(value, what, where)
    return tuple(_as_str(item, what, f"{where}[{i}]") for i, item in enumerate(items))


@dataclass(frozen=True)
class Agent:
    name: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    name: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    agents: tuple[Agent, ...] = ()
    groups: tuple[Group, ...] = ()
    readers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def secrets(self) -> dict[str, list[str]]:
        """Every secret listed by some group (first-listed order) → the groups listing it."""
        found: dict[str, list[str]] = {}
        for group in self.groups:
            for secret in group.secrets:
                found.setdefault(secret, [])
                if group.name not in found[secret]:
                    found[secret].append(group.name)
        return found

    def readers_of(self, secret: str) -> list[str]:
        """The agents that may read ``secret`` (FORMAT.md, "Who may read a secret"), sorted."""
        listing = {group.name for group in self.groups if secret in group.secrets}
        if not listing:
            return []
        extra = set(self.readers.get(secret, ()))
        return sorted(a.name for a in self.agents if listing.intersection(a.groups) or a.name in extra)


def load_manifest(vault_dir: Path) -> Manifest:
    """Read and check ``<vault_dir>/manifest.yaml``."""
    what = "manifest.yaml"
    path = vault_dir / "manifest.yaml"
    if not path.is_file():
        raise VaultError(f"{path} does not exist")
    doc = _as_mapping(_load_yaml(path, what), what, "the document")
    version = doc.get("version")
    if version is not None and str(version) != SUPPORTED_VERSION:
        raise VaultError(f"{what} has version {version}; this SDK reads version {SUPPORTED_VERSION}")
    agents = []
    for i, raw in enumerate(_as_list(doc.get("agents"), what, "agents")):
        entry = _as_mapping(raw, what, f"agents[{i}]")
        name = _as_str(entry.get("name"), what, f"agents[{i}].name")
        agents.append(Agent(name, _str_list(entry.get("groups"), what, f"agents[{i}].groups")))
    groups = []
    for i, raw in enumerate(_as_list(doc.get("groups"), what, "groups")):
        entry = _as_mapping(raw, what, f"groups[{i}]")
        name = _as_str(entry.get("name"), what, f"groups[{i}].name")
        groups.append(Group(name, _str_list(entry.get("secrets"), what, f"groups[{i}].secrets")))
    readers: dict[str, tuple[str, ...]] = {}
    if doc.get("readers") is not None:
        for secret, names in _as_mapping(doc["readers"], what, "readers").items():
            key = _as_str(secret, what, "a key of readers")
            readers[key] = _str_list(names, what, f"readers[{key}]")
    return Manifest(tuple(agents), tuple(groups), readers)


@dataclass(frozen=True)
class Meta:
    name: str
    group: str
    created: str | None
    rotated: str | None
    expires: str | None
    authorized_agents: list[str]


def _meta_name(doc: dict[object, object], key: str, what: str, check: Callable[[str], object]) -> str:
    value = doc.get(key)
    if not isinstance(value, str):
        raise _malformed(what, key, "a string")
    try:
        check(value)
    except VaultError as exc:
        raise VaultError(f"{what} is malformed: {key}: {exc}") from None
    return value


def _meta_timestamp(doc: dict[object, object], key: str, what: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _malformed(what, key, "an RFC 3339 timestamp")
    parsed = parse_timestamp(value)
    if parsed is None:
        raise VaultError(f"{what} is malformed: {key} {value!r} is not an RFC 3339 timestamp")
    return parsed


def load_meta(path: Path, what: str) -> Meta:
    """Read a ``.meta`` file as the CLI does, or raise :class:`VaultError` where the CLI cannot read it.

    ``name`` (a valid secret path) and ``group`` (a valid group name) are required; ``created``,
    ``rotated`` and ``expires`` are absent, null or timestamps the CLI accepts
    (:func:`git_vault.timestamps.parse_timestamp`), listed in UTC with whole seconds;
    ``authorized_agents`` is absent or a list of valid agent names (listed sorted). One field out
    of line makes the whole file unreadable, as for the CLI.
    """
    doc = _as_mapping(_load_yaml(path, what), what, "the document")
    name = _meta_name(doc, "name", what, validate_secret_path)
    group = _meta_name(doc, "group", what, lambda g: validate_name(g, "group name"))
    created = _meta_timestamp(doc, "created", what)
    rotated = _meta_timestamp(doc, "rotated", what)
    expires = _meta_timestamp(doc, "expires", what)
    agents: list[str] = []
    if "authorized_agents" in doc:
        raw = doc["authorized_agents"]
        if not isinstance(raw, list):
            raise _malformed(what, "authorized_agents", "a list")
        for i, item in enumerate(raw):
            if not isinstance(item, str):
                raise _malformed(what, f"authorized_agents[{i}]", "a string")
            try:
                validate_name(item, "agent name")
            except VaultError as exc:
                raise VaultError(f"{what} is malformed: authorized_agents[{i}]: {exc}") from None
            agents.append(item)
    return Meta(name, group, created, rotated, expires, sorted(agents))


def normalize_timestamp(value: object) -> str | None:
    """A timestamp as listed: UTC, whole seconds, ``YYYY-MM-DDTHH:MM:SSZ``; None when absent or
    not a timestamp the CLI accepts (see :mod:`git_vault.timestamps`)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        try:
            return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (OverflowError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    return parse_timestamp(value)
