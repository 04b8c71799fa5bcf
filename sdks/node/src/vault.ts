/** The read-only `Vault`: discovery or clone, safe pull, listing and decryption. */
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Decrypter } from "age-encryption";
import {
  NotAuthorizedError,
  SecretNotFoundError,
  VaultError,
  VaultNotFoundError,
} from "./errors.js";
import { DEFAULT_GIT_TIMEOUT_MS, ensureClone, isRemoteUrl, redact, safePull, type PullOutcome } from "./gitsync.js";
import { resolveIdentity } from "./identity.js";
import { compareCodePoints, parseMeta, readManifest, readersOf, type Manifest, type SecretMeta } from "./manifest.js";
import { validateName, validateSecretPath } from "./names.js";
import { VAULT_DIR, decodeUtf8, locate, readVaultFile, unarmor } from "./store.js";

export interface VaultOptions {
  /** A directory inside the vault's repository (searched upward), or a remote Git URL. Default: cwd. */
  repoPath?: string;
  /** An age identity file; it must exist (no fallback). */
  keyPath?: string;
  /** An age identity itself (`AGE-SECRET-KEY-1…`), kept in memory only. */
  keyStr?: string;
  /** Safe-pull from the upstream before the first read and then at most every `pullIntervalMs`. */
  autoPull?: boolean;
  pullIntervalMs?: number;
  /** Timeout of each git command. */
  gitTimeoutMs?: number;
}

export interface SecretInfo {
  name: string;
  group: string;
  /** RFC 3339 UTC, whole seconds (`2026-01-02T03:04:05Z`); null when the `.meta` lacks it. */
  created: string | null;
  rotated: string | null;
  expires: string | null;
  authorizedAgents: string[];
}

export interface AgentInfo {
  name: string;
  groups: string[];
}

const NO_MATCH = "no identity matched";

function warn(message: string, code: string): void {
  process.emitWarning(`git-vault: ${message}`, { type: "GitVaultWarning", code });
}

/** The first directory from `start` upward holding `.agent-vault/manifest.yaml`, or null. */
function discover(start: string): string | null {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, VAULT_DIR, "manifest.yaml"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * A git-vault vault, read-only. Every method is async and reports errors as rejected promises
 * (`VaultError` and subclasses); the constructor only checks its options.
 * The identity is resolved at the first decryption and then held in memory only.
 */
export class Vault {
  readonly #repoPath: string;
  readonly #keyPath: string | undefined;
  readonly #keyStr: string | undefined;
  readonly #autoPull: boolean;
  readonly #pullIntervalMs: number;
  readonly #gitTimeoutMs: number;

  #root: Promise<{ dir: string; fresh: boolean }> | null = null;
  #manifest: Promise<Manifest> | null = null;
  #decrypter: Promise<Decrypter> | null = null;
  #lastPull: number | null = null;
  #pulling: Promise<PullOutcome> | null = null;

  constructor(options: VaultOptions = {}) {
    const { repoPath = process.cwd(), keyPath, keyStr, autoPull = true } = options;
    const { pullIntervalMs = 60_000, gitTimeoutMs = DEFAULT_GIT_TIMEOUT_MS } = options;
    if (typeof repoPath !== "string" || repoPath === "") throw new TypeError("repoPath must be a non-empty string");
    if (keyPath !== undefined && typeof keyPath !== "string") throw new TypeError("keyPath must be a string");
    if (keyStr !== undefined && typeof keyStr !== "string") throw new TypeError("keyStr must be a string");
    if (keyPath !== undefined && keyStr !== undefined) throw new TypeError("pass keyPath or keyStr, not both");
    for (const [name, value] of [["pullIntervalMs", pullIntervalMs], ["gitTimeoutMs", gitTimeoutMs]] as const) {
      if (typeof value !== "number" || !(value >= 0)) throw new TypeError(`${name} must be a non-negative number`);
    }
    this.#repoPath = repoPath;
    this.#keyPath = keyPath;
    this.#keyStr = keyStr;
    this.#autoPull = Boolean(autoPull);
    this.#pullIntervalMs = pullIntervalMs;
    this.#gitTimeoutMs = gitTimeoutMs;
  }

  /** The vault's repository directory (the discovered root, or the cache clone of a remote URL). */
  async root(): Promise<string> {
    return (await this.#open()).dir;
  }

  /** The value of secret `path`, decoded as UTF-8 (a non-UTF-8 value is a VaultError: use getBytes). */
  async get(path: string): Promise<string> {
    const bytes = await this.getBytes(path);
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new VaultError(`the value of '${path}' is not valid UTF-8; use getBytes() to read it`);
    }
  }

  /** The exact bytes of secret `path`. */
  async getBytes(path: string): Promise<Uint8Array> {
    validateSecretPath(path);
    const root = await this.#ready();
    const files = await locate(root, path);
    const data = files && (await readVaultFile(root, files.enc));
    if (!files || !data) throw new SecretNotFoundError(`secret '${path}' not found`);
    const decrypter = await this.#identity();
    const ciphertext = unarmor(data, files.enc);
    try {
      return await decrypter.decrypt(ciphertext);
    } catch (err) {
      if (String((err as Error)?.message).includes(NO_MATCH)) {
        throw new NotAuthorizedError(`not authorized to read '${path}': it is not encrypted to this identity`);
      }
      throw new VaultError(`${files.enc} is corrupt (not a readable age file)`);
    }
  }

  /**
   * Every secret listed in the manifest's groups, once each, sorted by name, with its `.meta`
   * metadata: what `git vault list --json` prints (`authorizedAgents` is its `authorized_agents`).
   * Timestamps are UTC with whole seconds, agents sorted. When the `.meta` is missing or unreadable
   * by the CLI's rules (see `parseMeta`; for example a timestamp that does not parse), the group is
   * the first manifest group listing the secret, the agents are those the manifest allows (sorted)
   * and the timestamps are null; a warning names the file.
   *
   * With `group`, only the secrets that the manifest's group `group` lists (not the secrets whose
   * `.meta` names it), like `git vault list --group`. A group the manifest does not define gives an
   * empty list (the CLI reports `group_not_found` instead); an invalid group name rejects with
   * InvalidIdentifierError.
   */
  async listSecrets(group?: string): Promise<SecretInfo[]> {
    if (group !== undefined) validateName(group, "group name");
    const root = await this.#ready();
    const manifest = await this.#readManifest(root);

    const listing = new Map<string, string[]>(); // secret → the groups listing it, in manifest order
    for (const g of manifest.groups) {
      for (const name of g.secrets) {
        const groups = listing.get(name);
        if (groups) {
          groups.push(g.name);
          continue;
        }
        try {
          validateSecretPath(name);
          listing.set(name, [g.name]);
        } catch (err) {
          warn(`manifest.yaml lists an invalid secret, skipped: ${(err as Error).message}`, "GIT_VAULT_INVALID_NAME");
        }
      }
    }

    const names = [...listing.keys()]
      .filter((name) => group === undefined || listing.get(name)!.includes(group))
      .sort(compareCodePoints);
    return Promise.all(
      names.map(async (name): Promise<SecretInfo> => {
        const meta = await this.#readMeta(root, name);
        if (meta === null) {
          const fallback = { group: listing.get(name)![0]!, created: null, rotated: null, expires: null };
          return { name, ...fallback, authorizedAgents: readersOf(manifest, name) };
        }
        const { group: metaGroup, created, rotated, expires, authorizedAgents } = meta;
        return { name, group: metaGroup, created, rotated, expires, authorizedAgents };
      }),
    );
  }

  /** The agents of the manifest, in manifest order, with their groups. */
  async listAgents(): Promise<AgentInfo[]> {
    const manifest = await this.#readManifest(await this.#ready());
    return manifest.agents.map((a) => ({ name: a.name, groups: [...a.groups] }));
  }

  /**
   * A safe pull now (whatever `autoPull` says), then a reload. Resolves true when the local copy is
   * up to date with its upstream, false when there is none or the pull failed (a warning says why).
   */
  async pull(): Promise<boolean> {
    const { dir } = await this.#open();
    const outcome = await this.#pull(dir);
    this.reload();
    return outcome === "updated" || outcome === "up-to-date";
  }

  /** Forgets the cached manifest, so the next call reads the files again. No network. */
  reload(): void {
    this.#manifest = null;
  }

  /** Discovers the local vault, or clones a remote one into the cache (once). */
  #open(): Promise<{ dir: string; fresh: boolean }> {
    this.#root ??= this.#locate().catch((err: unknown) => {
      this.#root = null; // let a later call retry
      throw err;
    });
    return this.#root;
  }

  async #locate(): Promise<{ dir: string; fresh: boolean }> {
    if (isRemoteUrl(this.#repoPath)) {
      const clone = await ensureClone(this.#repoPath, this.#gitTimeoutMs);
      if (!existsSync(join(clone.dir, VAULT_DIR, "manifest.yaml"))) {
        throw new VaultNotFoundError(`no ${VAULT_DIR}/manifest.yaml in ${redact(this.#repoPath)}`);
      }
      return clone;
    }
    let isDir = false;
    try {
      isDir = statSync(this.#repoPath).isDirectory();
    } catch {
      throw new VaultNotFoundError(`no such directory: ${this.#repoPath}`);
    }
    const dir = discover(isDir ? this.#repoPath : dirname(resolve(this.#repoPath)));
    if (dir === null) {
      throw new VaultNotFoundError(`no ${VAULT_DIR}/manifest.yaml in ${resolve(this.#repoPath)} or any parent directory`);
    }
    return { dir, fresh: false };
  }

  /** The vault root, after an automatic pull when one is due. */
  async #ready(): Promise<string> {
    const { dir, fresh } = await this.#open();
    if (fresh && this.#lastPull === null) this.#lastPull = Date.now(); // just cloned: nothing to pull
    if (this.#autoPull && (this.#lastPull === null || Date.now() - this.#lastPull >= this.#pullIntervalMs)) {
      if ((await this.#pull(dir)) === "updated") this.reload();
    }
    return dir;
  }

  /** One safe pull at a time; concurrent callers share it. */
  #pull(dir: string): Promise<PullOutcome> {
    this.#pulling ??= safePull(dir, this.#gitTimeoutMs).finally(() => {
      this.#lastPull = Date.now();
      this.#pulling = null;
    });
    return this.#pulling;
  }

  #readManifest(root: string): Promise<Manifest> {
    this.#manifest ??= readManifest(root).catch((err: unknown) => {
      this.#manifest = null;
      throw err;
    });
    return this.#manifest;
  }

  /** The `.meta` beside the secret's `.enc`; null when missing or unreadable (warned), like the CLI. */
  async #readMeta(root: string, name: string): Promise<SecretMeta | null> {
    const files = await locate(root, name);
    const data = files && (await readVaultFile(root, files.meta));
    if (!files || !data) return null;
    try {
      return parseMeta(decodeUtf8(data, files.meta), files.meta);
    } catch (err) {
      warn(`${(err as Error).message}; listing what the manifest says`, "GIT_VAULT_META");
      return null;
    }
  }

  #identity(): Promise<Decrypter> {
    this.#decrypter ??= resolveIdentity({ keyPath: this.#keyPath, keyStr: this.#keyStr }).catch((err: unknown) => {
      this.#decrypter = null;
      throw err;
    });
    return this.#decrypter;
  }
}
