/**
 * The plaintext policy and metadata files of a vault (FORMAT.md): `manifest.yaml` and
 * `secrets/<path>.meta`. Every policy read goes through `readManifest`, so the planned policy
 * integrity check (SPEC 10) has one place to live. Unknown fields are ignored by this reader.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { VaultError } from "./errors.js";

export interface ManifestAgent {
  name: string;
  groups: string[];
}

export interface ManifestGroup {
  name: string;
  secrets: string[];
}

export interface Manifest {
  agents: ManifestAgent[];
  groups: ManifestGroup[];
  /** Per-secret readers from `set --agents` (a git-vault extension). */
  readers: Map<string, string[]>;
}

export interface SecretMeta {
  group: string | null;
  created: string | null;
  rotated: string | null;
  expires: string | null;
  authorizedAgents: string[];
}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses YAML text whose top level must be a mapping; `file` names it in errors. */
function parseMapping(text: string, file: string): Mapping {
  let doc: unknown;
  try {
    doc = parse(text, { logLevel: "error" });
  } catch (err) {
    const first = String((err as Error).message).split("\n")[0]!.replace(/:\s*$/, "");
    throw new VaultError(`${file} is corrupt (not valid YAML: ${first})`);
  }
  if (!isMapping(doc)) throw new VaultError(`${file} is corrupt (expected a YAML mapping)`);
  return doc;
}

/** A scalar name as a string (YAML may type an unquoted `123` as a number). */
function scalar(value: unknown, what: string, file: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new VaultError(`${file} is corrupt (${what} must be a string)`);
}

function list(value: unknown, what: string, file: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new VaultError(`${file} is corrupt (${what} must be a list)`);
  return value;
}

function names(value: unknown, what: string, file: string): string[] {
  return list(value, what, file).map((item, i) => scalar(item, `${what}[${i}]`, file));
}

function entries<T>(doc: Mapping, key: string, file: string, build: (entry: Mapping, what: string) => T): T[] {
  return list(doc[key], key, file).map((entry, i) => {
    const what = `${key}[${i}]`;
    if (!isMapping(entry)) throw new VaultError(`${file} is corrupt (${what} must be a mapping)`);
    return build(entry, what);
  });
}

/** Reads and checks `.agent-vault/manifest.yaml` under the vault root. */
export async function readManifest(root: string): Promise<Manifest> {
  const file = ".agent-vault/manifest.yaml";
  let text: string;
  try {
    text = await readFile(join(root, file), "utf8");
  } catch (err) {
    throw new VaultError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const doc = parseMapping(text, file);
  if (doc.version !== undefined && String(doc.version) !== "1") {
    throw new VaultError(`${file} has version ${String(doc.version)}; this SDK reads version 1`);
  }
  return {
    agents: entries(doc, "agents", file, (entry, what) => ({
      name: scalar(entry.name, `${what}.name`, file),
      groups: names(entry.groups, `${what}.groups`, file),
    })),
    groups: entries(doc, "groups", file, (entry, what) => ({
      name: scalar(entry.name, `${what}.name`, file),
      secrets: names(entry.secrets, `${what}.secrets`, file),
    })),
    readers: readersMap(doc.readers, file),
  };
}

function readersMap(value: unknown, file: string): Map<string, string[]> {
  if (value === undefined || value === null) return new Map();
  if (!isMapping(value)) throw new VaultError(`${file} is corrupt (readers must be a mapping)`);
  return new Map(Object.entries(value).map(([path, agents]) => [path, names(agents, `readers.${path}`, file)]));
}

/**
 * The agents that may read `path` (FORMAT.md "Who may read a secret"), sorted: existing agents
 * granted a group that lists it, and existing agents named as its readers.
 */
export function readersOf(manifest: Manifest, path: string): string[] {
  const listing = new Set(manifest.groups.filter((g) => g.secrets.includes(path)).map((g) => g.name));
  if (listing.size === 0) return [];
  const existing = new Set(manifest.agents.map((a) => a.name));
  const out = new Set(manifest.agents.filter((a) => a.groups.some((g) => listing.has(g))).map((a) => a.name));
  for (const name of manifest.readers.get(path) ?? []) if (existing.has(name)) out.add(name);
  return [...out].sort(compareCodePoints);
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2})))?$/;

/**
 * An RFC 3339 timestamp (fractional seconds and offsets accepted, as is a bare date) normalised to
 * UTC with whole seconds, `YYYY-MM-DDTHH:MM:SSZ`; null when absent or unreadable.
 */
export function normaliseTimestamp(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString().slice(0, 19) + "Z";
  if (typeof value !== "string") return null;
  const m = TIMESTAMP.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h = "0", mi = "0", s = "0", , sign, oh = "0", om = "0"] = m;
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31) return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return null;
  const offsetMinutes = sign ? (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetMinutes * 60_000;
  const date = new Date(ms);
  if (Number.isNaN(ms) || date.getUTCFullYear() > 9999 || date.getUTCFullYear() < 0) return null;
  return date.toISOString().slice(0, 19) + "Z";
}

/** Parses the text of a `.meta` file; `file` names it in errors. */
export function parseMeta(text: string, file: string): SecretMeta {
  const doc = parseMapping(text, file);
  return {
    group: doc.group === undefined || doc.group === null ? null : scalar(doc.group, "group", file),
    created: normaliseTimestamp(doc.created),
    rotated: normaliseTimestamp(doc.rotated),
    expires: normaliseTimestamp(doc.expires),
    authorizedAgents: names(doc.authorized_agents, "authorized_agents", file).sort(compareCodePoints),
  };
}

/** Orders strings by Unicode code point (as Rust and Python do), not by UTF-16 unit. */
export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
