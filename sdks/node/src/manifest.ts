/**
 * The plaintext policy and metadata files of a vault (FORMAT.md): `manifest.yaml` and
 * `secrets/<path>.meta`. Every policy read goes through `readManifest`, so the planned policy
 * integrity check (SPEC 10) has one place to live. Unknown fields are ignored by this reader.
 *
 * YAML is read the way the CLI reads it: every plain scalar is the string it is, except `null`,
 * `Null`, `NULL`, `~` and the empty scalar (no YAML 1.1/1.2 type guessing, so names such as `on`,
 * `010` or `1.10` and timestamps read exactly as written); merge keys (`<<`) are applied; a duplicate,
 * null or non-scalar key makes the document invalid; an unknown tag is ignored, and an explicitly
 * typed scalar (`!!int 5`) is not a string.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isCollection, isScalar, parseDocument, visit } from "yaml";
import type { DocumentOptions, ParseOptions, ScalarTag, SchemaOptions } from "yaml";
import { VaultError } from "./errors.js";
import { validateName, validateSecretPath } from "./names.js";
import { parseTimestamp } from "./timestamp.js";

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
  name: string;
  group: string;
  created: string | null;
  rotated: string | null;
  expires: string | null;
  authorizedAgents: string[];
}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof TypedScalar);
}

/** A scalar with an explicit YAML type tag (`!!int 5`): never a string, as for the CLI. */
class TypedScalar {
  constructor(
    readonly tag: string,
    readonly source: string,
  ) {}
}

const NULL_TAG: ScalarTag = {
  tag: "tag:yaml.org,2002:null",
  default: true,
  test: /^(?:~|null|Null|NULL)?$/,
  resolve: () => null,
};
const TYPED_TAGS: ScalarTag[] = ["bool", "int", "float", "timestamp", "binary"].map((name) => ({
  tag: `tag:yaml.org,2002:${name}`,
  resolve: (source: string) => new TypedScalar(name, source),
}));
const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  schema: "failsafe",
  customTags: [NULL_TAG, ...TYPED_TAGS],
  merge: true,
  uniqueKeys: true,
};

// Characters YAML does not allow in a stream (outside its printable set), refused as the CLI does.
const NON_PRINTABLE = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

/** Parses YAML text whose top level must be a mapping; `file` names it in errors. */
function parseMapping(text: string, file: string): Mapping {
  if (NON_PRINTABLE.test(text)) throw new VaultError(`${file} is corrupt (not valid YAML: a control character)`);
  const doc = parseDocument(text, YAML_OPTIONS);
  const error = doc.errors[0];
  if (error) {
    const first = String(error.message).split("\n")[0]!.replace(/:\s*$/, "");
    throw new VaultError(`${file} is corrupt (not valid YAML: ${first})`);
  }
  visit(doc, {
    Pair(_, pair) {
      const key = pair.key;
      if (isCollection(key) || (isScalar(key) && key.value === null) || key === null) {
        throw new VaultError(`${file} is corrupt (not valid YAML: a mapping key must be a non-null scalar)`);
      }
    },
  });
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    throw new VaultError(`${file} is corrupt (not valid YAML: ${String((err as Error).message).split("\n")[0]})`);
  }
  if (!isMapping(value)) throw new VaultError(`${file} is corrupt (expected a YAML mapping)`);
  return value;
}

/** A scalar name as a string (YAML may type an unquoted `123` as a number). */
function scalar(value: unknown, what: string, file: string): string {
  if (typeof value === "string") return value;
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

/**
 * A timestamp as listed: UTC, whole seconds, `YYYY-MM-DDTHH:MM:SSZ`; null when absent or not a
 * timestamp the CLI accepts (see `timestamp.ts`).
 */
export function normaliseTimestamp(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString().slice(0, 19) + "Z";
  if (typeof value !== "string") return null;
  return parseTimestamp(value);
}

function metaName(doc: Mapping, key: string, file: string, check: (value: string) => void): string {
  const value = scalar(doc[key], key, file);
  try {
    check(value);
  } catch (err) {
    throw new VaultError(`${file} is corrupt (${key}: ${(err as Error).message})`);
  }
  return value;
}

function metaTimestamp(doc: Mapping, key: string, file: string): string | null {
  const value = doc[key];
  if (value === undefined || value === null) return null;
  const parsed = typeof value === "string" ? parseTimestamp(value) : null;
  if (parsed === null) throw new VaultError(`${file} is corrupt (${key} is not an RFC 3339 timestamp)`);
  return parsed;
}

/**
 * Parses the text of a `.meta` file as the CLI does; `file` names it in errors. Throws a VaultError
 * where the CLI cannot read the file: `name` (a valid secret path) and `group` (a valid group name)
 * are required; `created`, `rotated` and `expires` are absent, null or timestamps the CLI accepts;
 * `authorized_agents` is absent or a list of valid agent names (returned sorted). One field out of
 * line makes the whole file unreadable, as for the CLI.
 */
export function parseMeta(text: string, file: string): SecretMeta {
  const doc = parseMapping(text, file);
  const name = metaName(doc, "name", file, (v) => validateSecretPath(v));
  const group = metaName(doc, "group", file, (v) => validateName(v, "group name"));
  const created = metaTimestamp(doc, "created", file);
  const rotated = metaTimestamp(doc, "rotated", file);
  const expires = metaTimestamp(doc, "expires", file);
  let authorizedAgents: string[] = [];
  if (Object.hasOwn(doc, "authorized_agents")) {
    const raw = doc.authorized_agents;
    if (!Array.isArray(raw)) throw new VaultError(`${file} is corrupt (authorized_agents must be a list)`);
    authorizedAgents = raw.map((item, i) => {
      const agent = scalar(item, `authorized_agents[${i}]`, file);
      try {
        validateName(agent, "agent name");
      } catch (err) {
        throw new VaultError(`${file} is corrupt (authorized_agents[${i}]: ${(err as Error).message})`);
      }
      return agent;
    });
  }
  return { name, group, created, rotated, expires, authorizedAgents: authorizedAgents.sort(compareCodePoints) };
}

/** Orders strings by Unicode code point (as Rust and Python do), not by UTF-16 unit. */
export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
