"""Timestamps of ``.meta`` files, read exactly as the CLI reads them.

The CLI parses a timestamp with ``jiff`` (RFC 3339 and its RFC 9557 / Temporal extensions) after
trimming surrounding whitespace, and lists it in UTC with whole seconds. This module accepts the
same strings and gives the same text, so that the CLI and the SDKs list a vault identically:

- a date and a time with an offset are required: ``2026-01-02T03:04:05Z``; a bare date, or a time
  without ``Z``/offset, is not a timestamp;
- the separator is ``T``, ``t`` or a space; ISO 8601 basic forms (``20260102T030405Z``), hours only
  or hours and minutes, up to 9 fractional digits after ``.`` or ``,``, a leap second ``:60``
  (read as ``:59``), offsets from ``-25:59:59`` to ``+25:59:59`` (fractional offset seconds
  rounded), six-digit signed years (``-000001``) and bracketed annotations
  (``[Europe/Paris][u-ca=iso8601]``, where a critical ``[!key=value]`` is refused) are accepted;
- the instant must lie between ``-009999-01-02T01:59:59Z`` and ``9999-12-30T22:00:00.999999999Z``;
- sub-second digits are dropped toward zero on the Unix time line, as the CLI does (so
  ``1969-12-31T23:59:59.5Z`` lists as ``1970-01-01T00:00:00Z``).
"""

from __future__ import annotations

import re

__all__ = ["parse_timestamp"]

# Rust's str::trim: the Unicode White_Space characters.
_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def _fraction(name: str) -> str:
    return rf"(?:[.,](?P<{name}>\d{{1,9}}))?"


_IANA_PART = r"[A-Za-z._][A-Za-z0-9._+-]*"
_KEY_VALUE = r"\[(!?)[_a-z][_a-z0-9-]*=[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\]"
_TIMESTAMP = re.compile(
    # year: four digits, or a sign and six
    r"(?:(?P<year>\d{4})|(?P<ysign>[+-])(?P<year6>\d{6}))"
    # month and day, extended (-MM-DD) or basic (MMDD)
    r"(?:-(?P<month>\d{2})-(?P<day>\d{2})|(?P<bmonth>\d{2})(?P<bday>\d{2}))"
    r"[Tt ]"
    # time: HH, HH:MM, HH:MM:SS[.f] or the basic HHMM, HHMMSS[.f]
    rf"(?P<hour>\d{{2}})(?::(?P<minute>\d{{2}})(?::(?P<second>\d{{2}}){_fraction('fraction')})?"
    rf"|(?P<bminute>\d{{2}})(?:(?P<bsecond>\d{{2}}){_fraction('bfraction')})?)?"
    # offset: Z, or ±HH[:MM[:SS[.f]]] / ±HH[MM[SS[.f]]]
    r"(?:(?P<zulu>[Zz])|(?P<osign>[+-])(?P<ohour>\d{2})"
    rf"(?::(?P<ominute>\d{{2}})(?::(?P<osecond>\d{{2}}){_fraction('ofraction')})?"
    rf"|(?P<bominute>\d{{2}})(?:(?P<bosecond>\d{{2}}){_fraction('bofraction')})?)?)"
    # RFC 9557 annotations: an optional time zone, then key=value pairs
    rf"(?P<annotations>(?:\[!?(?:[+-](?:[01]\d|2[0-5])(?::?[0-5]\d)?|{_IANA_PART}(?:/{_IANA_PART})*)\])?"
    rf"(?:{_KEY_VALUE})*)",
    re.ASCII,
)
_CRITICAL = re.compile(_KEY_VALUE, re.ASCII)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if _leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (year 0 exists)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


_MIN_SECOND = _days_from_civil(-9999, 1, 2) * 86400 + 1 * 3600 + 59 * 60 + 59
_MAX_SECOND = _days_from_civil(9999, 12, 30) * 86400 + 22 * 3600


def _nanos(digits: str | None) -> int:
    return int(digits.ljust(9, "0")) if digits else 0


def parse_timestamp(text: str) -> str | None:
    """``text`` as the CLI lists it (``YYYY-MM-DDTHH:MM:SSZ``), or None when the CLI refuses it."""
    trimmed = text.strip(_WHITESPACE)
    if trimmed.startswith(("+", "-")):  # signed six-digit years: the CLI refuses them
        return None
    m = _TIMESTAMP.fullmatch(trimmed)
    if m is None or any(_CRITICAL.findall(m["annotations"])):  # a critical [!key=value]
        return None
    g = m.groupdict()
    if g["year"] is not None:
        year = int(g["year"])
    else:
        year = int(g["year6"]) * (-1 if g["ysign"] == "-" else 1)
        if (g["ysign"] == "-" and year == 0) or not -9999 <= year <= 9999:
            return None
    month = int(g["month"] or g["bmonth"])
    day = int(g["day"] or g["bday"])
    hour = int(g["hour"])
    minute = int(g["minute"] or g["bminute"] or 0)
    second = int(g["second"] or g["bsecond"] or 0)
    fraction = g["fraction"] or g["bfraction"]
    ofraction = g["ofraction"] or g["bofraction"]
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return None
    if hour > 23 or minute > 59 or second > 60:
        return None
    second = min(second, 59)  # a leap second is read as :59
    offset = 0
    if not g["zulu"]:
        ohour = int(g["ohour"])
        ominute = int(g["ominute"] or g["bominute"] or 0)
        osecond = int(g["osecond"] or g["bosecond"] or 0)
        if ohour > 25 or ominute > 59 or osecond > 59:
            return None
        offset = ohour * 3600 + ominute * 60 + osecond + (_nanos(ofraction) >= 500_000_000)
        if offset > 25 * 3600 + 59 * 60 + 59:
            return None
        if g["osign"] == "-":
            offset = -offset
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    if not _MIN_SECOND <= seconds <= _MAX_SECOND:
        return None
    if seconds < 0 and _nanos(fraction) > 0:
        seconds += 1  # whole seconds toward zero, as the CLI's Timestamp::as_second
    days, rest = divmod(seconds, 86400)
    y, mo, d = _civil_from_days(days)
    year_text = f"{y:04d}" if y >= 0 else f"-{-y:06d}"
    return f"{year_text}-{mo:02d}-{d:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}Z"
