/**
 * Timestamps of `.meta` files, read exactly as the CLI reads them (twin of the Python SDK's
 * `git_vault/timestamps.py`).
 *
 * The CLI parses a timestamp with `jiff` (RFC 3339 and its RFC 9557 / Temporal extensions) after
 * trimming surrounding whitespace, and lists it in UTC with whole seconds. `parseTimestamp` accepts
 * the same strings and gives the same text:
 * - a date and a time with an offset are required (`2026-01-02T03:04:05Z`); a bare date, or a time
 *   without `Z`/offset, is not a timestamp;
 * - the separator is `T`, `t` or a space; ISO 8601 basic forms (`20260102T030405Z`), hours only or
 *   hours and minutes, up to 9 fractional digits after `.` or `,`, a leap second `:60` (read as
 *   `:59`), offsets from `-25:59:59` to `+25:59:59` (fractional offset seconds rounded), six-digit
 *   signed years (`-000001`) and bracketed annotations (`[Europe/Paris][u-ca=iso8601]`, where a
 *   critical `[!key=value]` is refused) are accepted;
 * - the instant must lie between `-009999-01-02T01:59:59Z` and `9999-12-30T22:00:00.999999999Z`;
 * - sub-second digits are dropped toward zero on the Unix time line, as the CLI does (so
 *   `1969-12-31T23:59:59.5Z` lists as `1970-01-01T00:00:00Z`).
 */

// Rust's str::trim: the Unicode White_Space characters.
const EDGE_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

const fraction = (name: string) => String.raw`(?:[.,](?<${name}>\d{1,9}))?`;
const IANA_PART = String.raw`[A-Za-z._][A-Za-z0-9._+-]*`;
const KEY_VALUE = String.raw`\[(!?)[_a-z][_a-z0-9-]*=[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\]`;
const TIMESTAMP = new RegExp(
  "^" +
    // year: four digits, or a sign and six
    String.raw`(?:(?<year>\d{4})|(?<ysign>[+-])(?<year6>\d{6}))` +
    // month and day, extended (-MM-DD) or basic (MMDD)
    String.raw`(?:-(?<month>\d{2})-(?<day>\d{2})|(?<bmonth>\d{2})(?<bday>\d{2}))` +
    "[Tt ]" +
    // time: HH, HH:MM, HH:MM:SS[.f] or the basic HHMM, HHMMSS[.f]
    String.raw`(?<hour>\d{2})(?::(?<minute>\d{2})(?::(?<second>\d{2})${fraction("fraction")})?` +
    String.raw`|(?<bminute>\d{2})(?:(?<bsecond>\d{2})${fraction("bfraction")})?)?` +
    // offset: Z, or ±HH[:MM[:SS[.f]]] / ±HH[MM[SS[.f]]]
    String.raw`(?:(?<zulu>[Zz])|(?<osign>[+-])(?<ohour>\d{2})` +
    String.raw`(?::(?<ominute>\d{2})(?::(?<osecond>\d{2})${fraction("ofraction")})?` +
    String.raw`|(?<bominute>\d{2})(?:(?<bosecond>\d{2})${fraction("bofraction")})?)?)` +
    // RFC 9557 annotations: an optional time zone, then key=value pairs
    String.raw`(?<annotations>(?:\[!?(?:[+-](?:[01]\d|2[0-5])(?::?[0-5]\d)?|${IANA_PART}(?:/${IANA_PART})*)\])?` +
    String.raw`(?:${KEY_VALUE})*)` +
    "$",
);
const CRITICAL = new RegExp(KEY_VALUE.replace("(!?)", "!"));

const leap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);

function daysInMonth(year: number, month: number): number {
  if (month === 2) return leap(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Days since 1970-01-01 in the proleptic Gregorian calendar (year 0 exists). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

const MIN_SECOND = daysFromCivil(-9999, 1, 2) * 86400 + 1 * 3600 + 59 * 60 + 59;
const MAX_SECOND = daysFromCivil(9999, 12, 30) * 86400 + 22 * 3600;

const nanos = (digits: string | undefined) => (digits ? Number(digits.padEnd(9, "0")) : 0);
const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** `text` as the CLI lists it (`YYYY-MM-DDTHH:MM:SSZ`), or null when the CLI refuses it. */
export function parseTimestamp(text: string): string | null {
  const trimmed = text.replace(EDGE_SPACE, "");
  if (trimmed.startsWith("+") || trimmed.startsWith("-")) return null; // signed six-digit years: the CLI refuses them
  const m = TIMESTAMP.exec(trimmed);
  if (!m?.groups || CRITICAL.test(m.groups.annotations!)) return null;
  const g = m.groups;
  let year: number;
  if (g.year !== undefined) {
    year = Number(g.year);
  } else {
    year = Number(g.year6) * (g.ysign === "-" ? -1 : 1);
    if ((g.ysign === "-" && year === 0) || year < -9999 || year > 9999) return null;
  }
  const month = Number(g.month ?? g.bmonth);
  const day = Number(g.day ?? g.bday);
  const hour = Number(g.hour);
  const minute = Number(g.minute ?? g.bminute ?? 0);
  let second = Number(g.second ?? g.bsecond ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  second = Math.min(second, 59); // a leap second is read as :59
  let offset = 0;
  if (g.zulu === undefined) {
    const oh = Number(g.ohour);
    const om = Number(g.ominute ?? g.bominute ?? 0);
    const os = Number(g.osecond ?? g.bosecond ?? 0);
    if (oh > 25 || om > 59 || os > 59) return null;
    offset = oh * 3600 + om * 60 + os + (nanos(g.ofraction ?? g.bofraction) >= 500_000_000 ? 1 : 0);
    if (offset > 25 * 3600 + 59 * 60 + 59) return null;
    if (g.osign === "-") offset = -offset;
  }
  let seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  if (seconds < MIN_SECOND || seconds > MAX_SECOND) return null;
  if (seconds < 0 && nanos(g.fraction ?? g.bfraction) > 0) seconds += 1; // toward zero, as the CLI
  const days = Math.floor(seconds / 86400);
  const rest = seconds - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const yearText = y >= 0 ? pad(y, 4) : `-${pad(-y, 6)}`;
  return `${yearText}-${pad(mo)}-${pad(d)}T${pad(Math.floor(rest / 3600))}:${pad(Math.floor(rest / 60) % 60)}:${pad(rest % 60)}Z`;
}
