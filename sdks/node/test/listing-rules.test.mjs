// The SDK reads every kind of `.meta` exactly as the CLI does: one vault with a secret per case
// (timestamp forms, YAML forms, fields out of line), listed by the real binary and by the SDK.
// The cases are shared with the Python SDK's tests (fixtures/listing-cases.json). The binary is
// $GIT_VAULT_BIN (default <repo>/target/debug/git-vault); as for cli.test.mjs, a missing binary fails.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { before, test } from "node:test";
import { stringify } from "yaml";
import { Vault } from "../dist/index.js";
import { REPO_ROOT, captureWarnings, git, hermeticEnv, tmp } from "./helpers.mjs";

const BIN = resolve(process.env.GIT_VAULT_BIN || join(REPO_ROOT, "target", "debug", "git-vault"));

// `created:` values, each in its own .meta; whole .meta files (NAME is replaced by the secret's
// path): shared with the Python SDK's tests in fixtures/listing-cases.json
const CASES = JSON.parse(readFileSync(join(REPO_ROOT, "fixtures", "listing-cases.json"), "utf8"));
const TIMESTAMPS = CASES.timestamps;
const METAS = CASES.metas;
const NO_META = CASES.no_meta;
const LATIN1 = Buffer.from("name: t/latin1\ngroup: g0\nx: \xff\n", "latin1");
const GROUPS = ["g0", "g1", "elsewhere"];

/** A YAML double-quoted string, non-ASCII escaped: the same bytes as the Python test writes. */
const quote = (s) => JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

let root;
let home;

function build(dir) {
  const vault = join(dir, ".agent-vault");
  mkdirSync(join(vault, "secrets"), { recursive: true });
  writeFileSync(join(vault, "config.yaml"), "version: 1\nencryption:\n  format: age\n");
  writeFileSync(join(vault, "owner.pub"), "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n");
  const metas = new Map();
  TIMESTAMPS.forEach((stamp, i) => {
    const path = `ts/${String(i).padStart(3, "0")}`;
    metas.set(path, `name: ${path}\ngroup: g0\ncreated: ${quote(stamp)}\n`);
  });
  for (const [name, text] of Object.entries(METAS)) metas.set(`t/${name}`, text.replaceAll("NAME", `t/${name}`));
  metas.set("t/latin1", LATIN1);
  for (const path of NO_META) metas.set(path, null);
  for (const [path, data] of metas) {
    const base = join(vault, "secrets", path);
    mkdirSync(dirname(base), { recursive: true });
    writeFileSync(`${base}.enc`, "listing never decrypts");
    if (data !== null) writeFileSync(`${base}.meta`, data);
  }
  const g1 = ["t/in-g1", "t/other-group", "t/full", "no-meta/two", "t/bad-expires"];
  const manifest = {
    version: 1,
    owners: [{ name: "o", public_key: "owner.pub" }],
    agents: [{ name: "ci", groups: ["g0"] }, { name: "ro", groups: [] }, { name: "g1r", groups: ["g1"] }],
    groups: [
      { name: "g1", secrets: [...g1].sort() },
      { name: "g0", secrets: [...metas.keys()].filter((p) => p !== "t/in-g1").sort() },
      { name: "elsewhere", secrets: [] },
    ],
    readers: { "no-meta/one": ["ro", "ghost"], "t/bad-expires": ["ro"] },
  };
  writeFileSync(join(vault, "manifest.yaml"), stringify(manifest));
}

function cli(...args) {
  const res = spawnSync(BIN, ["-C", root, "list", "--json", ...args], { env: { ...process.env, HOME: home }, timeout: 120_000 });
  assert.equal(res.status, 0, `git-vault list ${args.join(" ")} exited ${res.status}:\n${res.stderr}`);
  return JSON.parse(res.stdout.toString("utf8"));
}

async function sdk(group) {
  let out;
  await captureWarnings(async () => {
    out = await new Vault({ repoPath: root, autoPull: false }).listSecrets(group);
  });
  return out.map(({ authorizedAgents, ...rest }) => ({ ...rest, authorized_agents: authorizedAgents }));
}

before(() => {
  home = hermeticEnv();
  root = join(tmp("rules"), "repo");
  mkdirSync(root, { recursive: true });
  build(root);
  git(root, "init", "--quiet");
});

test("the git-vault binary is built (listing rules)", () => {
  assert.ok(existsSync(BIN), `git-vault binary not found at ${BIN}: build it (cargo build) or set GIT_VAULT_BIN`);
});

test("every .meta case lists as the CLI lists it", async () => {
  const fromCli = Object.fromEntries(cli().map((e) => [e.name, e]));
  const fromSdk = Object.fromEntries((await sdk()).map((e) => [e.name, e]));
  assert.deepEqual(Object.keys(fromSdk), Object.keys(fromCli));
  const differing = Object.keys(fromCli)
    .filter((name) => !deepEqual(fromCli[name], fromSdk[name]))
    .map((name) => ({ name, cli: fromCli[name], sdk: fromSdk[name] }));
  assert.deepEqual(differing, []);
  // the cases do what they say: some .meta files are read, some fall back to the manifest
  assert.equal(fromCli["t/full"].created, "2026-01-02T03:04:05Z");
  assert.equal(fromCli["t/good-created-bad-rotated"].created, null);
  assert.deepEqual(fromCli["no-meta/one"].authorized_agents, ["ci", "ro"]);
});

for (const group of GROUPS) {
  test(`group ${group} lists as the CLI lists it`, async () => {
    assert.deepEqual(await sdk(group), cli("--group", group));
  });
}

function deepEqual(a, b) {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
