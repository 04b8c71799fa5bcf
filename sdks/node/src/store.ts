/**
 * Where a secret's files are (FORMAT.md "Secrets") and reading them safely: the primary location
 * `secrets/<path>.enc|.meta`, else, for a slash-less path, the legacy `secrets/default/<path>.*`
 * (unless that file's `.meta` names another secret, i.e. it is `default/<path>`'s own file).
 * Vault files must be regular files: a symlink on the way is refused, as the CLI does.
 */
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { armor } from "age-encryption";
import { VaultError } from "./errors.js";
import { parseMeta } from "./manifest.js";

export const VAULT_DIR = ".agent-vault";
const ARMOR_HEADER = "-----BEGIN AGE ENCRYPTED FILE-----";

export interface SecretFiles {
  /** Paths relative to the vault root, e.g. `.agent-vault/secrets/a/b.enc`. */
  enc: string;
  meta: string;
}

/** The absolute path of `rel` under `root`, or null when it does not exist. Symlinks are refused. */
async function checked(root: string, rel: string): Promise<string | null> {
  let current = root;
  for (const part of rel.split("/")) {
    current = join(current, part);
    try {
      if ((await lstat(current)).isSymbolicLink()) {
        throw new VaultError(`${rel} goes through a symlink; vault files must be regular files`);
      }
    } catch (err) {
      if (err instanceof VaultError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw new VaultError(`cannot read ${rel} (${code ?? "error"})`);
    }
  }
  return current;
}

/** The bytes of `rel` under `root`, or null when it does not exist. */
export async function readVaultFile(root: string, rel: string): Promise<Buffer | null> {
  const file = await checked(root, rel);
  if (file === null) return null;
  try {
    return await readFile(file);
  } catch (err) {
    throw new VaultError(`cannot read ${rel} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** The files of secret `path` (a validated path), located by its `.enc`; null when there is none. */
export async function locate(root: string, path: string): Promise<SecretFiles | null> {
  const primary = { enc: `${VAULT_DIR}/secrets/${path}.enc`, meta: `${VAULT_DIR}/secrets/${path}.meta` };
  if ((await checked(root, primary.enc)) !== null) return primary;
  if (path.includes("/")) return null;
  const legacy = { enc: `${VAULT_DIR}/secrets/default/${path}.enc`, meta: `${VAULT_DIR}/secrets/default/${path}.meta` };
  if ((await checked(root, legacy.enc)) === null) return null;
  const claimant = await claimedBy(root, legacy.meta);
  return claimant === null || claimant === path ? legacy : null;
}

/**
 * The `name` a `.meta` file declares, or null when there is none or the file cannot be read as
 * the CLI reads it (then the legacy file is taken as this secret's, as the CLI does).
 */
async function claimedBy(root: string, rel: string): Promise<string | null> {
  const data = await readVaultFile(root, rel);
  if (data === null) return null;
  try {
    return parseMeta(decodeUtf8(data, rel), rel).name;
  } catch {
    return null;
  }
}

/** UTF-8 text of a vault file (a BOM is dropped); VaultError when it is not UTF-8. */
export function decodeUtf8(data: Uint8Array, label: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    throw new VaultError(`${label} is corrupt (not UTF-8 text)`);
  }
}

/** Raw age bytes: a binary file as is, an ASCII-armored one decoded. */
export function unarmor(data: Buffer, label: string): Uint8Array {
  const head = data.subarray(0, 128).toString("latin1").trimStart();
  if (!head.startsWith(ARMOR_HEADER)) return data;
  try {
    return armor.decode(data.toString("latin1"));
  } catch {
    throw new VaultError(`${label} is corrupt (invalid age armor)`);
  }
}
