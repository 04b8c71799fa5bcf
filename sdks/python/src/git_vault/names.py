"""Validation of secret paths and agent, owner and group names (SPEC 2.2, FORMAT.md "Names")."""

from __future__ import annotations

import json

from .errors import InvalidIdentifierError

__all__ = ["validate_name", "validate_secret_path"]


def _quote(text: str) -> str:
    # JSON quoting keeps Unicode letters readable and shows control characters as escapes.
    return json.dumps(text, ensure_ascii=False)


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code <= 0x1F or 0x7F <= code <= 0x9F


def _segment_problem(segment: str) -> str | None:
    if segment == "":
        return "segments must not be empty (no leading or trailing '/', no '//')"
    if segment in (".", ".."):
        return "segments must not be '.' or '..'"
    if "\\" in segment:
        return "'\\' is not allowed"
    if any(_is_control(ch) for ch in segment):
        return "control characters are not allowed"
    if len(segment) >= 2 and segment[1] == ":" and segment[0].isascii() and segment[0].isalpha():
        return "a segment must not start with a drive prefix such as 'C:'"
    return None


def validate_secret_path(path: object) -> str:
    """Return ``path`` if it is a valid secret path, else raise :class:`InvalidIdentifierError`."""
    if not isinstance(path, str):
        raise InvalidIdentifierError(f"secret path must be a string, not {type(path).__name__}")
    if path == "":
        raise InvalidIdentifierError('invalid secret path "": it must not be empty')
    problem: str | None
    if path.startswith("/"):
        problem = "it must not start with '/'"
    elif path.endswith("/"):
        problem = "it must not end with '/'"
    elif "//" in path:
        problem = "it must not contain '//'"
    else:
        problem = next(filter(None, map(_segment_problem, path.split("/"))), None)
    if problem is not None:
        raise InvalidIdentifierError(f"invalid secret path {_quote(path)}: {problem}")
    return path


def validate_name(name: object, what: str = "name") -> str:
    """Validate an agent, owner or group name: exactly one path segment."""
    if not isinstance(name, str):
        raise InvalidIdentifierError(f"{what} must be a string, not {type(name).__name__}")
    problem = "it must not contain '/'" if "/" in name else _segment_problem(name)
    if problem is not None:
        if name == "":
            problem = "it must not be empty"
        raise InvalidIdentifierError(f"invalid {what} {_quote(name)}: {problem}")
    return name
