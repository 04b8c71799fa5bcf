// Shared test helpers: hermetic environment, temporary directories, git, and test-built vaults.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after } from "node:test";
import { Encrypter, armor, generateIdentity, identityToRecipient } from "age-encryption";

export const SDK_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_ROOT = resolve(SDK_DIR, "..", "..");
export const FIXTURES = join(REPO_ROOT, "fixtures");
export const LEGACY_KEYS = join(FIXTURES, "legacy-vault-keys");

/** A fresh directory under one per-process temporary root, removed after the file's tests. */
const TMP_ROOT = mkdtempSync(join(tmpdir(), "git-vault-node-"));
after(() => rmSync(TMP_ROOT, { recursive: true, force: true }));
let counter = 0;
export function tmp(name = "d") {
  const dir = join(TMP_ROOT, `${name}-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Makes this test process hermetic: HOME and the XDG cache in a temporary directory, no user or
 * system git configuration, fixed git identities and dates, no AGENT_VAULT_KEY.
 */
export function hermeticEnv() {
  const home = tmp("home");
  writeFileSync(join(home, ".gitconfig"), "");
  Object.assign(process.env, {
    HOME: home,
    XDG_CACHE_HOME: join(home, ".cache"),
    GIT_CONFIG_NOSYSTEM: "1",
    // an empty file of our own, never /dev/null: a git that writes its global config replaces it
    GIT_CONFIG_GLOBAL: join(home, ".gitconfig"),
    GIT_AUTHOR_NAME: "Test Author",
    GIT_AUTHOR_EMAIL: "author@example.invalid",
    GIT_AUTHOR_DATE: "2026-01-02T03:04:05Z",
    GIT_COMMITTER_NAME: "Test Committer",
    GIT_COMMITTER_EMAIL: "committer@example.invalid",
    GIT_COMMITTER_DATE: "2026-01-02T03:04:05Z",
    GIT_TERMINAL_PROMPT: "0",
  });
  for (const name of ["AGENT_VAULT_KEY", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"]) delete process.env[name];
  return home;
}

/** Runs git synchronously (argv, no shell) and returns its trimmed stdout. */
export function git(cwd, ...args) {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** Copies the committed legacy fixture into a temporary directory (the fixture is never written). */
export function legacyVault() {
  const dir = join(tmp("legacy"), "legacy-vault");
  cpSync(join(FIXTURES, "legacy-vault"), dir, { recursive: true });
  return dir;
}

export function legacyKey(name) {
  return join(LEGACY_KEYS, name === "owner" || name === "outsider" ? `${name}.key` : `agents/${name}.key`);
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Age-encrypts `value` (string or bytes) to the given recipients; `armored` gives ASCII armor. */
export async function encrypt(value, recipients, armored = false) {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  const data = await e.encrypt(value);
  return armored ? Buffer.from(armor.encode(data)) : Buffer.from(data);
}

export async function newIdentity() {
  const identity = await generateIdentity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/**
 * Builds a vault in `dir` with age-encryption only: an owner, agent `ci` in group `app`, and the
 * given secrets `{path: {value, group?, agents?, armored?, meta?}}`. Returns the keys.
 */
export async function buildVault(dir, secrets = {}) {
  const owner = await newIdentity();
  const ci = await newIdentity();
  const v = join(dir, ".agent-vault");
  mkdirSync(join(v, "agents", "ci"), { recursive: true });
  writeFileSync(join(v, "config.yaml"), "version: 1\nencryption:\n  format: age\n");
  writeFileSync(join(v, "owner.pub"), owner.recipient + "\n");
  writeFileSync(join(v, "agents", "ci", "public.key"), ci.recipient + "\n");
  const groups = new Map();
  for (const [path, spec] of Object.entries(secrets)) {
    const group = spec.group ?? (path.includes("/") ? path.split("/")[0] : "default");
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(path);
    const agents = spec.agents ?? [];
    const recipients = [owner.recipient, ...agents.map((a) => (a === "ci" ? ci.recipient : a))];
    const file = join(v, "secrets", path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file + ".enc", await encrypt(spec.value, recipients, spec.armored));
    writeFileSync(
      file + ".meta",
      spec.meta ??
        `name: ${JSON.stringify(path)}\ngroup: ${group}\ncreated: 2026-01-02T03:04:05Z\nrotated: 2026-01-02T03:04:05Z\n` +
          `authorized_agents: [${agents.filter((a) => a === "ci").join(", ")}]\n`,
    );
  }
  const groupYaml = [...groups].map(([name, paths]) => `- name: ${name}\n  secrets:\n${paths.map((p) => `  - ${JSON.stringify(p)}\n`).join("")}`).join("");
  writeFileSync(
    join(v, "manifest.yaml"),
    `version: 1\nowners:\n- name: alice\n  public_key: owner.pub\nagents:\n- name: ci\n  groups: [app]\ngroups:${groupYaml ? "\n" + groupYaml : " []\n"}`,
  );
  return { owner, ci };
}

/** Re-encrypts one secret of a test-built vault with a new value (owner-only). */
export async function setSecret(dir, path, value, ownerRecipient) {
  writeFileSync(join(dir, ".agent-vault", "secrets", path + ".enc"), await encrypt(value, [ownerRecipient]));
}

/** Runs `fn` and returns the GitVaultWarning messages it emitted. */
export async function captureWarnings(fn) {
  const seen = [];
  const listener = (w) => {
    if (w.name === "GitVaultWarning") seen.push(w.message);
  };
  process.on("warning", listener);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off("warning", listener);
  }
  return seen;
}

/** Every file under `dir` (recursively) whose bytes contain `needle`. */
export function filesContaining(dir, needle) {
  const hits = [];
  const walk = (d) => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}
