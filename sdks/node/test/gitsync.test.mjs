// Safe pull (SPEC 4 `get`): two clones of a bare repository, hermetic git, warnings not throws.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, beforeEach, describe, test } from "node:test";
import { createHash } from "node:crypto";
import { Vault, VaultError } from "../dist/index.js";
import { buildVault, captureWarnings, git, hermeticEnv, setSecret, tmp } from "./helpers.mjs";

let home;
let keys;
let bare; // the shared remote
let writer; // a clone where updates are made and pushed

before(() => {
  home = hermeticEnv();
});

/** A bare remote seeded with a vault holding app/token = "v1", and a writer clone of it. */
beforeEach(async () => {
  const root = tmp("sync");
  bare = join(root, "remote.git");
  writer = join(root, "writer");
  git(root, "init", "--quiet", "--bare", "-b", "main", bare);
  git(root, "clone", "--quiet", bare, writer);
  keys = await buildVault(writer, { "app/token": { value: "v1", agents: ["ci"] } });
  git(writer, "add", "-A");
  git(writer, "commit", "--quiet", "-m", "vault");
  git(writer, "push", "--quiet", "-u", "origin", "main");
});

function reader() {
  const dir = join(tmp("reader"), "clone");
  git(tmp("x"), "clone", "--quiet", bare, dir);
  return dir;
}

async function pushUpdate(value) {
  await setSecret(writer, "app/token", value, keys.owner.recipient);
  git(writer, "commit", "--quiet", "-am", `set ${value}`);
  git(writer, "push", "--quiet", "origin", "main");
}

const open = (dir, options = {}) => new Vault({ repoPath: dir, keyStr: keys.owner.identity, ...options });

describe("safe pull", () => {
  test("autoPull brings in a pushed update before the first read", async () => {
    const dir = reader();
    await pushUpdate("v2");
    const warnings = await captureWarnings(async () => {
      assert.equal(await open(dir).get("app/token"), "v2");
    });
    assert.deepEqual(warnings, []);
    assert.equal(git(dir, "rev-parse", "HEAD"), git(writer, "rev-parse", "HEAD"));
  });

  test("re-pulls before a get once pullIntervalMs has passed, not before", async () => {
    const dir = reader();
    const eager = open(dir, { pullIntervalMs: 0 });
    const lazy = open(dir, { pullIntervalMs: 3_600_000 });
    assert.equal(await eager.get("app/token"), "v1");
    assert.equal(await lazy.get("app/token"), "v1");
    await pushUpdate("v2");
    assert.equal(await eager.get("app/token"), "v2"); // pulled again
    await pushUpdate("v3");
    assert.equal(await lazy.get("app/token"), "v2"); // work tree moved by `eager`, no new pull
    assert.equal(await lazy.pull(), true); // explicit pull
    assert.equal(await lazy.get("app/token"), "v3");
  });

  test("pull() picks up manifest changes (reload)", async () => {
    const dir = reader();
    const vault = open(dir, { autoPull: false });
    assert.deepEqual((await vault.listAgents()).map((a) => a.name), ["ci"]);
    const manifest = join(writer, ".agent-vault", "manifest.yaml");
    writeFileSync(manifest, readFileSync(manifest, "utf8").replace("groups:\n- name: app", "- name: bot\n  groups: []\ngroups:\n- name: app"));
    git(writer, "commit", "--quiet", "-am", "agent bot");
    git(writer, "push", "--quiet", "origin", "main");
    assert.equal(await vault.pull(), true);
    assert.deepEqual((await vault.listAgents()).map((a) => a.name), ["ci", "bot"]);
  });

  test("a dirty work tree is a warning and is left untouched", async () => {
    const dir = reader();
    const config = join(dir, ".agent-vault", "config.yaml");
    writeFileSync(config, readFileSync(config, "utf8") + "# local edit\n");
    const head = git(dir, "rev-parse", "HEAD");
    await pushUpdate("v2");
    const warnings = await captureWarnings(async () => {
      assert.equal(await open(dir).get("app/token"), "v1");
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /uncommitted changes/);
    assert.match(readFileSync(config, "utf8"), /# local edit/);
    assert.equal(git(dir, "rev-parse", "HEAD"), head);
  });

  test("untracked files do not block the pull", async () => {
    const dir = reader();
    writeFileSync(join(dir, "notes.txt"), "untracked\n");
    await pushUpdate("v2");
    assert.equal(await open(dir).get("app/token"), "v2");
    assert.ok(existsSync(join(dir, "notes.txt")));
  });

  test("an unreachable remote is a warning; the local copy is read", async () => {
    const dir = reader();
    git(dir, "remote", "set-url", "origin", join(tmp("gone"), "no-such-remote.git"));
    const warnings = await captureWarnings(async () => {
      assert.equal(await open(dir).get("app/token"), "v1");
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /could not fetch from 'origin'/);
    assert.equal(await open(dir).pull(), false);
  });

  test("a hanging fetch is killed after gitTimeoutMs and is a warning", async () => {
    const dir = reader();
    // the local transport runs upload-pack through a shell: make it hang
    git(dir, "config", "remote.origin.uploadpack", "sleep 30; git-upload-pack");
    await pushUpdate("v2");
    const started = Date.now();
    const warnings = await captureWarnings(async () => {
      assert.equal(await open(dir, { gitTimeoutMs: 500 }).get("app/token"), "v1");
    });
    assert.ok(Date.now() - started < 10_000);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /timed out after 500 ms/);
  });

  test("diverged history is a warning; local commits are kept", async () => {
    const dir = reader();
    await setSecret(dir, "app/token", "local", keys.owner.recipient);
    git(dir, "commit", "--quiet", "-am", "local change");
    const head = git(dir, "rev-parse", "HEAD");
    await pushUpdate("v2");
    const warnings = await captureWarnings(async () => {
      assert.equal(await open(dir).get("app/token"), "local");
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /cannot fast-forward to origin\/main \(Not possible to fast-forward/);
    assert.equal(git(dir, "rev-parse", "HEAD"), head);
  });

  test("no upstream, or no git at all: silently skipped", async () => {
    const dir = reader();
    git(dir, "branch", "--quiet", "--unset-upstream");
    const plain = tmp("plain");
    await buildVault(plain, {});
    const warnings = await captureWarnings(async () => {
      assert.equal(await open(dir).pull(), false);
      assert.deepEqual(await new Vault({ repoPath: plain }).listSecrets(), []);
    });
    assert.deepEqual(warnings, []);
  });

  test("autoPull: false never fetches", async () => {
    const dir = reader();
    await pushUpdate("v2");
    const warnings = await captureWarnings(async () => {
      const vault = open(dir, { autoPull: false, pullIntervalMs: 0 });
      assert.equal(await vault.get("app/token"), "v1");
      assert.equal(await vault.get("app/token"), "v1");
      await vault.listSecrets();
    });
    assert.deepEqual(warnings, []);
    assert.ok(!existsSync(join(dir, ".git", "FETCH_HEAD")));
    assert.notEqual(git(dir, "rev-parse", "origin/main"), git(writer, "rev-parse", "HEAD"));
  });
});

describe("remote URLs", () => {
  const cacheDir = (url, base = join(home, ".cache")) =>
    join(base, "git-vault", "repos", createHash("sha256").update(url).digest("hex").slice(0, 16));

  test("file:// URL is cloned into the cache and then updated", async () => {
    const url = `file://${bare}`;
    const vault = open(url, { pullIntervalMs: 0 });
    assert.equal(await vault.get("app/token"), "v1");
    const cache = cacheDir(url);
    assert.equal(await vault.root(), cache);
    assert.ok(existsSync(join(cache, ".agent-vault", "manifest.yaml")));
    await pushUpdate("v2");
    assert.equal(await vault.get("app/token"), "v2");
    // a new Vault reuses the cache and pulls
    await pushUpdate("v3");
    assert.equal(await open(url).get("app/token"), "v3");
  });

  test("XDG_CACHE_HOME unset: ~/.cache", async () => {
    const url = `file://${bare}/`;
    delete process.env.XDG_CACHE_HOME;
    try {
      assert.equal(await open(url).root(), cacheDir(url, join(home, ".cache")));
    } finally {
      process.env.XDG_CACHE_HOME = join(home, ".cache");
    }
    process.env.XDG_CACHE_HOME = join(tmp("xdg"));
    assert.equal(await open(url).root(), cacheDir(url, process.env.XDG_CACHE_HOME));
    process.env.XDG_CACHE_HOME = join(home, ".cache");
  });

  test("a cache directory cloned from another URL is an error", async () => {
    const url = `file://${bare}//`;
    await open(url).root();
    git(cacheDir(url), "remote", "set-url", "origin", "file:///somewhere/else.git");
    await assert.rejects(open(url).get("app/token"), (err) => {
      assert.ok(err instanceof VaultError);
      assert.match(err.message, /not a clone of/);
      return true;
    });
  });

  test("an unreachable URL is a VaultError; nothing runs through a shell", async () => {
    const marker = join(tmp("shell"), "pwned");
    const url = `file:///nonexistent/$(touch ${marker})/repo.git`;
    await assert.rejects(open(url).get("app/token"), /cannot clone/);
    assert.ok(!existsSync(marker));
    assert.ok(!existsSync(cacheDir(url)));
  });
});
