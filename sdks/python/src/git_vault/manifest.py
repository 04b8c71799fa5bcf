"""The plaintext policy files: ``manifest.yaml`` and the ``.meta`` files (FORMAT.md).

Every policy read goes through :func:`load_manifest`, the one place where a future integrity
check of the policy (SPEC section 10) will live.

YAML is read with a :class:`yaml.SafeLoader` subclass that keeps every plain scalar as the string
it is, except ``null``/``~``/empty: no YAML 1.1 guessing, so names such as ``on``, ``010`` or
``1.10`` and timestamps read exactly as written, whatever YAML emitter wrote the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from .errors import VaultError

__all__ = ["Agent", "Group", "Manifest", "Meta", "load_manifest", "load_meta", "normalize_timestamp"]

SUPPORTED_VERSION = "1"


class _Loader(yaml.SafeLoader):
    """SafeLoader resolving only ``null`` implicitly; every other plain scalar is a string."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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


def load_meta(path: Path, what: str) -> Meta:
    """Read a ``.meta`` file; timestamps normalised with :func:`normalize_timestamp`."""
    doc = _as_mapping(_load_yaml(path, what), what, "the document")
    return Meta(
        name=_as_str(doc.get("name"), what, "name"),
        group=_as_str(doc.get("group"), what, "group"),
        created=normalize_timestamp(doc.get("created")),
        rotated=normalize_timestamp(doc.get("rotated")),
        expires=normalize_timestamp(doc.get("expires")),
        authorized_agents=sorted(_str_list(doc.get("authorized_agents"), what, "authorized_agents")),
    )


_TIMESTAMP_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?"
)


def normalize_timestamp(value: object) -> str | None:
    """RFC 3339 (fractional seconds and offsets accepted) → UTC ``YYYY-MM-DDTHH:MM:SSZ``.

    ``None`` stays ``None``; a value that is not a timestamp is returned as its text, unchanged.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    else:
        text = str(value).strip()
        match = _TIMESTAMP_RE.fullmatch(text)
        if not match:
            return text
        year, month, day, hour, minute, second, _z, sign, off_h, off_m = match.groups()
        offset = timedelta(0)
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
        try:
            moment = datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                min(int(second or 0), 59),  # a leap second :60 is clamped
                tzinfo=timezone(offset),
            )
        except ValueError:
            return text
    try:
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:
        return str(value)
