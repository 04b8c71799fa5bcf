// Vaults written by the real `git-vault` binary, read by the SDK. The binary is required: CI builds
// it first, so a missing binary FAILS these tests (GIT_VAULT_BIN overrides the default path).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { before, describe, test } from "node:test";
import { NotAuthorizedError, SecretNotFoundError, Vault } from "../dist/index.js";
import { REPO_ROOT, git, hermeticEnv, tmp } from "./helpers.mjs";

const BIN = resolve(process.env.GIT_VAULT_BIN || join(REPO_ROOT, "target", "debug", "git-vault"));
const BINARY_VALUE = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

// path → [value, `set` arguments, agents that may read it]
const SECRETS = {
  "stripe/api-key": ["sk_test_cli_0123456789", ["--group", "stripe", "--expires", "2030-01-01T00:00:00Z"], ["ci"]],
  "stripe/webhook/secret": ["whsec_nested", [], ["ci"]],
  "db/prod/password": ["hunter2-cli", ["--group", "db"], ["deploy"]],
  "deep/a/b/c/d": ["deeply nested", ["--group", "db"], ["deploy"]],
  plain: ["slash-less value", [], []],
  "blob/bytes": [BINARY_VALUE, ["--group", "stripe"], ["ci"]],
  "only/reader": ["per-secret reader", ["--agents", "reader"], ["reader"]],
  "unicode/秘密": ["ünïcödé", ["--group", "stripe"], ["ci"]],
};
const AGENTS = ["ci", "deploy", "reader", "old"];

let home;
let repo;


/** Runs the binary in the repo; `stdin` is fed when given. Fails the test on a non-zero exit. */
function run(args, stdin) {
  const res = spawnSync(BIN, args, {
    cwd: repo,
    input: stdin ?? "",
    env: { ...process.env, PATH: `${dirname(BIN)}:${process.env.PATH}` },
    timeout: 120_000,
  });
  assert.equal(res.status, 0, `git-vault ${args.join(" ")} exited ${res.status}:\n${res.stderr}`);
  return res.stdout;
}

test("the git-vault binary is built", () => {
  assert.ok(existsSync(BIN), `git-vault binary not found at ${BIN}: build it (cargo build) or set GIT_VAULT_BIN`);
});

before(() => {
  home = hermeticEnv();
  if (!existsSync(BIN)) return; // reported by the test above; the tests below fail on their own
  repo = join(tmp("cli"), "repo");
  git(tmp("x"), "init", "--quiet", "-b", "main", repo);
  git(repo, "config", "user.name", "Test Owner");
  git(repo, "config", "user.email", "owner@example.invalid");
  git(repo, "commit", "--quiet", "--allow-empty", "-m", "initial");

  run(["init"]);
  for (const agent of AGENTS) run(["add-agent", agent]);
  for (const [path, [value, args]] of Object.entries(SECRETS)) run(["set", path, ...args], value);
  run(["grant", "ci", "stripe"]);
  run(["grant", "deploy", "db"]);
  run(["grant", "old", "stripe"]);
  run(["revoke", "old", "stripe"]);
  run(["set", "gone/soon", "--group", "stripe"], "removed");
  run(["rm", "gone/soon"]);
});

const ownerKey = () => join(home, ".agent-vault", "owner.key");
const agentKey = (name) => join(home, ".agent-vault", "agents", `${name}.key`);
const open = (keyPath) => new Vault({ repoPath: repo, keyPath, autoPull: false });

describe("a vault written by git-vault", () => {
  test("the binary wrote the expected files", () => {
    assert.ok(existsSync(ownerKey()));
    for (const a of AGENTS) assert.ok(existsSync(agentKey(a)), a);
    assert.ok(existsSync(join(repo, ".agent-vault", "secrets", "plain.enc")), "slash-less at its primary location");
    assert.ok(existsSync(join(repo, ".agent-vault", "secrets", "deep", "a", "b", "c", "d.enc")));
  });

  test("the owner reads every secret, bytes exact, same as `git vault get`", async () => {
    const v = open(ownerKey());
    for (const [path, [value]] of Object.entries(SECRETS)) {
      assert.deepEqual(Buffer.from(await v.getBytes(path)), Buffer.from(value), path);
      assert.deepEqual(run(["get", path, "--no-pull"]), Buffer.from(value), path);
    }
    await assert.rejects(v.get("blob/bytes"), /not valid UTF-8/);
  });

  for (const agent of AGENTS) {
    test(`agent ${agent} reads exactly what it may`, async () => {
      const v = open(agentKey(agent));
      for (const [path, [value, , readers]] of Object.entries(SECRETS)) {
        if (readers.includes(agent)) {
          assert.deepEqual(Buffer.from(await v.getBytes(path)), Buffer.from(value), `${agent} ${path}`);
        } else {
          await assert.rejects(v.getBytes(path), NotAuthorizedError, `${agent} ${path}`);
        }
      }
    });
  }

  test("a removed secret is not found", async () => {
    await assert.rejects(open(ownerKey()).get("gone/soon"), SecretNotFoundError);
  });

  test("listSecrets agrees with `git vault list --json`", async () => {
    const list = await open(ownerKey()).listSecrets();
    assert.deepEqual(list.map((s) => s.name), Object.keys(SECRETS).sort());
    const cli = JSON.parse(run(["list", "--json"]).toString("utf8"));
    assert.deepEqual(list.map((s) => s.name), cli.map((s) => s.name));
    for (const [i, s] of list.entries()) {
      assert.equal(s.group, cli[i].group, s.name);
      assert.deepEqual(s.authorizedAgents, [...cli[i].authorized_agents].sort(), s.name);
      assert.match(s.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match(s.rotated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(s.created, new Date(cli[i].created).toISOString().replace(/\.\d{3}Z$/, "Z"));
      assert.deepEqual(s.authorizedAgents, SECRETS[s.name][2], s.name);
    }
    const byName = Object.fromEntries(list.map((s) => [s.name, s]));
    assert.equal(byName["stripe/api-key"].expires, "2030-01-01T00:00:00Z");
    assert.equal(byName["plain"].expires, null);
    assert.equal(byName["plain"].group, "default");
    assert.equal(byName["stripe/webhook/secret"].group, "stripe");
    assert.equal(byName["only/reader"].group, "only");
    assert.deepEqual((await open(ownerKey()).listSecrets("db")).map((s) => s.name), ["db/prod/password", "deep/a/b/c/d"]);
  });

  test("listAgents agrees with `git vault list-agents --json`", async () => {
    const agents = await open(ownerKey()).listAgents();
    assert.deepEqual(agents, JSON.parse(run(["list-agents", "--json"]).toString("utf8")));
    assert.deepEqual(agents.map((a) => a.name), AGENTS);
    const groups = Object.fromEntries(agents.map((a) => [a.name, a.groups]));
    assert.deepEqual(groups, { ci: ["stripe"], deploy: ["db"], reader: [], old: [] });
  });

  test("a revoke pushed by the CLI reaches an SDK reader through the safe pull", async () => {
    const bare = join(tmp("remote"), "vault.git");
    git(repo, "clone", "--quiet", "--bare", repo, bare);
    git(repo, "remote", "add", "origin", bare);
    git(repo, "fetch", "--quiet", "origin");
    git(repo, "branch", "--quiet", "--set-upstream-to", "origin/main");
    const clone = join(tmp("reader"), "clone");
    git(tmp("x"), "clone", "--quiet", bare, clone);
    const v = new Vault({ repoPath: clone, keyPath: agentKey("ci"), pullIntervalMs: 0 });
    assert.equal(await v.get("stripe/api-key"), SECRETS["stripe/api-key"][0]);
    run(["revoke", "ci", "stripe"]);
    git(repo, "push", "--quiet", "origin", "main");
    await assert.rejects(v.get("stripe/api-key"), NotAuthorizedError);
    assert.deepEqual((await v.listAgents()).find((a) => a.name === "ci").groups, []);
    run(["grant", "ci", "stripe"]);
    git(repo, "push", "--quiet", "origin", "main");
    assert.equal(await v.get("stripe/api-key"), SECRETS["stripe/api-key"][0]);
  });

  test("the vault's commits leave a clean work tree", () => {
    assert.equal(git(repo, "status", "--porcelain", "--untracked-files=no"), "");
    assert.ok(!readFileSync(join(repo, ".agent-vault", "manifest.yaml"), "utf8").includes("AGE-SECRET-KEY"));
  });
});
