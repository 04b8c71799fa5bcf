/**
 * Identity resolution (SPEC 3). The identity is only ever held in memory: nothing here writes.
 *
 * 1. `keyStr` (the identity itself) or `keyPath` (a file that must exist, no fallback);
 * 2. `AGENT_VAULT_KEY`: a value starting with `AGE-SECRET-KEY-` after trimming is the identity,
 *    anything else is a path that must exist;
 * 3. `~/.agent-vault/owner.key`.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { Decrypter } from "age-encryption";
import { VaultError } from "./errors.js";

const RAW_PREFIX = "AGE-SECRET-KEY-";

export interface IdentitySource {
  keyPath?: string | undefined;
  keyStr?: string | undefined;
}

/** The user's home: `$HOME`, else the OS's idea of it. */
export function homeDir(): string {
  return process.env.HOME || homedir();
}

/**
 * Parses identity text, bare (`AGE-SECRET-KEY-1…`) or in `age-keygen` form (`#` comment lines),
 * and returns a Decrypter holding its identities. `origin` names the source in error messages,
 * which never quote the text itself.
 */
export function parseIdentities(text: string, origin: string): Decrypter {
  const decrypter = new Decrypter();
  let count = 0;
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!line.startsWith(RAW_PREFIX)) {
      throw new VaultError(`${origin} is not an age identity (line ${index + 1} is not AGE-SECRET-KEY-…)`);
    }
    try {
      decrypter.addIdentity(line);
    } catch {
      // The library's message may quote the key: never pass it on.
      throw new VaultError(`${origin} holds an invalid age identity (line ${index + 1})`);
    }
    count++;
  }
  if (count === 0) throw new VaultError(`${origin} holds no age identity`);
  return decrypter;
}

/** Reads a key file; a missing file is an error naming `origin` (never a silent fallback). */
async function readKeyFile(path: string, origin: string): Promise<Decrypter> {
  const text = await readKeyText(path, origin);
  if (text === null) throw new VaultError(`${origin}: key file not found: ${path}`);
  return parseIdentities(text, `key file ${path}`);
}

/** The file's text, or null when it does not exist. */
async function readKeyText(path: string, origin: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    throw new VaultError(`${origin}: cannot read key file ${path} (${code ?? "error"})`);
  }
}

/** Resolves the identity to decrypt with, in the order of SPEC 3. */
export async function resolveIdentity(source: IdentitySource): Promise<Decrypter> {
  if (source.keyStr !== undefined) return parseIdentities(source.keyStr, "keyStr");
  if (source.keyPath !== undefined) return readKeyFile(source.keyPath, "keyPath");

  const env = (process.env.AGENT_VAULT_KEY ?? "").trim();
  if (env.startsWith(RAW_PREFIX)) return parseIdentities(env, "AGENT_VAULT_KEY");
  if (env !== "") return readKeyFile(env, "AGENT_VAULT_KEY");

  const ownerKey = join(homeDir(), ".agent-vault", "owner.key");
  const text = await readKeyText(ownerKey, "owner key");
  if (text === null) {
    throw new VaultError(
      `no identity: pass keyPath or keyStr, set AGENT_VAULT_KEY, or create ${ownerKey}`,
    );
  }
  return parseIdentities(text, `key file ${ownerKey}`);
}
