/**
 * Git plumbing: the safe pull shared with the CLI, and the cache of cloned remote vaults.
 * git runs with an argv array (no shell), a timeout, no terminal prompt and no controlling
 * terminal, so it can neither hang on a password prompt nor be steered by shell syntax.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { VaultError } from "./errors.js";
import { homeDir } from "./identity.js";

export const DEFAULT_GIT_TIMEOUT_MS = 15_000;

interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

// Variables that would point git at another repository than the one in `cwd`.
const LOCATING_VARS = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_COMMON_DIR",
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_NAMESPACE",
  "GIT_PREFIX",
];

function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: "0" };
  for (const name of LOCATING_VARS) delete env[name];
  return env;
}

/** Runs `git args…` in `cwd`. Never throws: a failure (including a timeout) is `ok: false`. */
export function git(args: string[], cwd: string, timeoutMs: number): Promise<GitResult> {
  return new Promise((resolve) => {
    let child;
    try {
      // detached: own process group and no controlling terminal (ssh cannot prompt either).
      child = spawn("git", args, { cwd, env: gitEnv(), detached: true, windowsHide: true, stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      resolve({ ok: false, stdout: "", stderr: String((err as Error).message) });
      return;
    }
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL"); // the whole group: git and its ssh/http helpers
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => errOut.push(chunk));
    const finish = (ok: boolean, stderr?: string) => {
      clearTimeout(timer);
      resolve({
        ok: ok && !timedOut,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: timedOut ? `timed out after ${timeoutMs} ms` : (stderr ?? Buffer.concat(errOut).toString("utf8")),
      });
    };
    child.on("error", (err) => finish(false, err.message));
    child.on("close", (code) => finish(code === 0));
  });
}

/** Hides credentials in URLs (`https://user:token@host` → `https://***@host`). */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, "$1***@");
}

/** The most telling line of git's stderr (a `fatal:`/`error:` line first), credentials redacted. */
function reason(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !/^hint:/i.test(l));
  const line = lines.find((l) => /^(fatal|error):/i.test(l)) ?? lines[0] ?? "unknown error";
  return redact(line.replace(/^(fatal|error):\s*/i, "")).slice(0, 300);
}

function warn(message: string): void {
  process.emitWarning(`git-vault: ${message}; reading the local copy`, {
    type: "GitVaultWarning",
    code: "GIT_VAULT_PULL",
  });
}

/** What a safe pull did. */
export type PullOutcome = "updated" | "up-to-date" | "skipped" | "failed";

/**
 * The CLI's safe pull. Only in a git work tree whose branch has an upstream and whose tracked files
 * are clean: `git fetch <remote>` then `git merge --ff-only @{u}`. No upstream (or no git) is
 * "skipped" silently; any failure is a process warning and "failed". Never throws, never resets.
 */
export async function safePull(dir: string, timeoutMs: number): Promise<PullOutcome> {
  const run = (...args: string[]) => git(args, dir, timeoutMs);

  const inside = await run("rev-parse", "--is-inside-work-tree");
  if (!inside.ok || inside.stdout.trim() !== "true") return "skipped";
  const upstream = await run("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}");
  if (!upstream.ok) return "skipped";
  const upstreamName = upstream.stdout.trim();

  const status = await run("status", "--porcelain", "--untracked-files=no");
  if (!status.ok) {
    warn(`git status failed (${reason(status.stderr)}), not pulling`);
    return "failed";
  }
  if (status.stdout.trim() !== "") {
    warn("the work tree has uncommitted changes to tracked files, not pulling");
    return "failed";
  }

  const branch = await run("symbolic-ref", "--quiet", "--short", "HEAD");
  const configured = branch.ok ? await run("config", "--get", `branch.${branch.stdout.trim()}.remote`) : null;
  const remote = configured?.ok ? configured.stdout.trim() : upstreamName.split("/")[0]!;

  const before = await run("rev-parse", "HEAD");
  const fetch = await run("fetch", "--quiet", remote);
  if (!fetch.ok) {
    warn(`could not fetch from '${redact(remote)}' (${reason(fetch.stderr)})`);
    return "failed";
  }
  const merge = await run("merge", "--ff-only", "--quiet", "@{u}");
  if (!merge.ok) {
    warn(`cannot fast-forward to ${upstreamName} (${reason(merge.stderr)})`);
    return "failed";
  }
  const after = await run("rev-parse", "HEAD");
  return before.stdout.trim() === after.stdout.trim() ? "up-to-date" : "updated";
}

/** True for the remote forms accepted as `repoPath`: `scheme://…` and scp-like `user@host:path`. */
export function isRemoteUrl(repoPath: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]+:\/\//.test(repoPath) || /^[^\s/@:]+@[^\s/:]+:/.test(repoPath);
}

/** `${XDG_CACHE_HOME:-~/.cache}/git-vault/repos/<first 16 hex of sha256(url)>` (same as the Python SDK). */
export function cacheDirFor(url: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homeDir(), ".cache");
  const digest = createHash("sha256").update(url, "utf8").digest("hex").slice(0, 16);
  return join(base, "git-vault", "repos", digest);
}

/**
 * The cached clone of `url`, cloned now when absent (into a temporary directory renamed into place,
 * so an interrupted clone leaves no half cache). `fresh` tells whether it was cloned by this call.
 */
export async function ensureClone(url: string, timeoutMs: number): Promise<{ dir: string; fresh: boolean }> {
  const dir = cacheDirFor(url);
  if (!existsSync(dir)) {
    await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
    const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    const clone = await git(["clone", "--quiet", "--", url, tmp], dirname(dir), timeoutMs);
    if (!clone.ok) {
      await rm(tmp, { recursive: true, force: true });
      throw new VaultError(`cannot clone ${redact(url)}: ${reason(clone.stderr)}`);
    }
    try {
      await rename(tmp, dir);
      return { dir, fresh: true };
    } catch {
      await rm(tmp, { recursive: true, force: true }); // another process cloned it meanwhile
    }
  }
  const origin = existsSync(join(dir, ".git"))
    ? await git(["config", "--get", "remote.origin.url"], dir, timeoutMs)
    : null;
  if (!origin?.ok || origin.stdout.trim() !== url) {
    throw new VaultError(
      `the cache directory ${dir} is not a clone of ${redact(url)}; remove it and retry`,
    );
  }
  return { dir, fresh: false };
}
