// The SDK reads every kind of `.meta` exactly as the CLI does: one vault with a secret per case
// (timestamp forms, YAML forms, fields out of line), listed by the real binary and by the SDK.
// The Python SDK's tests/test_listing_rules_match_cli.py holds the same cases. The binary is
// $GIT_VAULT_BIN (default <repo>/target/debug/git-vault); as for cli.test.mjs, a missing binary fails.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { before, test } from "node:test";
import { stringify } from "yaml";
import { Vault } from "../dist/index.js";
import { REPO_ROOT, captureWarnings, git, hermeticEnv, tmp } from "./helpers.mjs";

const BIN = resolve(process.env.GIT_VAULT_BIN || join(REPO_ROOT, "target", "debug", "git-vault"));

// `created:` values, each in its own .meta (written as a YAML double-quoted string)
const TIMESTAMPS = [
  "2026-01-02T03:04:05Z",
  "2026-01-02t03:04:05.9z",
  "2026-01-02 03:04:05Z",
  "2026-01-02T03:04:05+02:00",
  "2026-01-02T03:04:05+0200",
  "2026-01-02T03:04:05+02",
  "2026-01-01T23:30:00-01:00",
  "2026-01-02T03:04:05-00:00",
  "2026-01-02T03:04:05+02:00:30",
  "2026-01-02T03:04:05+02:00:30.5",
  "2026-01-02T03:04:05+00:00:00.5",
  "2026-01-02T03:04:05+25:59:59",
  "2026-01-02T03:04:05+25:59:59.5",
  "2026-01-02T03:04:05+26:00",
  "2026-01-02T03:04:05+02:0",
  "2026-01-02T03:04:05+2:00",
  "2026-01-02T03:04:05+0200:30",
  "2026-01-02T03:04:05",
  "2026-12-31",
  "2026-01-02T03:04Z",
  "2026-01-02T03Z",
  "2026-01-02T0304Z",
  "20260102T030405Z",
  "2026-01-02T030405Z",
  "2026-0102T03:04:05Z",
  "2026-01-02T03:0405Z",
  "2026-13-01T00:00:00Z",
  "2026-02-29T00:00:00Z",
  "2024-02-29T00:00:00Z",
  "1900-02-29T00:00:00Z",
  "2000-02-29T00:00:00Z",
  "2026-04-31T00:00:00Z",
  "2026-12-31T23:59:60Z",
  "2026-01-02T23:59:60.5Z",
  "2026-01-02T03:04:61Z",
  "2026-01-02T24:00:00Z",
  "2026-01-02T03:04:05.123456789Z",
  "2026-01-02T03:04:05.1234567891Z",
  "2026-01-02T03:04:05,5Z",
  "2026-01-02T03:04:05.Z",
  "2026-01-02T03:04:05 Z",
  "2026-01-02  03:04:05Z",
  " 2026-01-02T03:04:05Z\t",
  "\u30002026-01-02T03:04:05Z\u0085",
  "+002026-01-02T03:04:05Z",
  "-000001-01-01T00:00:00Z",
  "-000000-01-01T00:00:00Z",
  "+010000-01-01T00:00:00Z",
  "0000-01-01T00:00:00Z",
  "0000-01-01T00:00:00.5Z",
  "1969-12-31T23:59:59.5Z",
  "1969-12-31T23:59:58.5Z",
  "-009999-01-02T01:59:59Z",
  "-009999-01-02T01:59:58Z",
  "9999-12-30T22:00:00.999999999Z",
  "9999-12-30T22:00:01Z",
  "9999-12-31T00:00:00+05:00",
  "2026-01-02T03:04:05Z[UTC]",
  "2026-01-02T03:04:05+01:00[Europe/Paris][u-ca=iso8601]",
  "2026-01-02T03:04:05Z[!UTC]",
  "2026-01-02T03:04:05Z[!foo=bar]",
  "2026-01-02T03:04:05Z[foo=bar]",
  "2026-01-02T03:04:05Z[K=v]",
  "2026-01-02T03:04:05Z[k=v][UTC]",
  "2026-01-02T03:04:05Z[UTC][UTC]",
  "2026-01-02T03:04:05Z[a//b]",
  "2026-01-02T03:04:05Z[+01:00]",
  "2026-01-02T03:04:05Z[+01:00:30]",
  "2026-01-02T03:04:05Z[]",
  "2026-01-02T03:04:05ZZ",
  "2026-W01-1T03:04:05Z",
  "\uff12\uff10\uff12\uff16-01-02T03:04:05Z",
  "yesterday",
  "",
];

// whole .meta files; NAME is replaced by the secret's path
const METAS = {
  "full": "name: NAME\ngroup: g0\ncreated: 2026-01-02T03:04:05Z\nrotated: '2026-01-02T03:04:05Z'\nexpires: \"2030-01-01T00:00:00+01:00\"\nauthorized_agents: [ci, ro]\nx-unknown: {a: [1]}\n",
  "other-group": "name: NAME\ngroup: elsewhere\nauthorized_agents: [ghost]\n",
  "in-g1": "name: NAME\ngroup: g0\n",
  "name-mismatch": "name: other/name\ngroup: g0\n",
  "name-int": "name: 5\ngroup: g0\n",
  "name-missing": "group: g0\n",
  "name-invalid": "name: ../x\ngroup: g0\n",
  "name-null": "name: ~\ngroup: g0\n",
  "name-list": "name: [a]\ngroup: g0\n",
  "group-missing": "name: NAME\n",
  "group-null": "name: NAME\ngroup: null\n",
  "group-Null": "name: NAME\ngroup: Null\n",
  "group-int": "name: NAME\ngroup: 123\n",
  "group-float": "name: NAME\ngroup: 1.10\n",
  "group-bool": "name: NAME\ngroup: true\n",
  "group-on": "name: NAME\ngroup: on\n",
  "group-slash": "name: NAME\ngroup: a/b\n",
  "group-empty": "name: NAME\ngroup: ''\n",
  "group-dots": "name: NAME\ngroup: '..'\n",
  "group-drive": "name: NAME\ngroup: 'c:'\n",
  "group-space": "name: NAME\ngroup: a b\n",
  "group-unicode": "name: NAME\ngroup: \u79d8\u5bc6\n",
  "group-list": "name: NAME\ngroup: [g0]\n",
  "group-int-tag": "name: NAME\ngroup: !!int 5\n",
  "group-str-tag": "name: NAME\ngroup: !!str 5\n",
  "group-local-tag": "name: NAME\ngroup: !foo g0\n",
  "created-null": "name: NAME\ngroup: g0\ncreated: null\nrotated: ~\nexpires:\n",
  "created-Null": "name: NAME\ngroup: g0\ncreated: Null\n",
  "created-int": "name: NAME\ngroup: g0\ncreated: 12345\n",
  "created-list": "name: NAME\ngroup: g0\ncreated: [a]\n",
  "created-map": "name: NAME\ngroup: g0\ncreated: {a: 1}\n",
  "created-timestamp-tag": "name: NAME\ngroup: g0\ncreated: !!timestamp 2026-01-02T03:04:05Z\n",
  "created-str-tag": "name: NAME\ngroup: g0\ncreated: !!str 2026-01-02T03:04:05Z\n",
  "created-null-tag": "name: NAME\ngroup: g0\ncreated: !!null ''\n",
  "created-block": "name: NAME\ngroup: g0\ncreated: |\n  2026-01-02T03:04:05Z\n",
  "created-folded": "name: NAME\ngroup: g0\ncreated: >-\n  2026-01-02T03:04:05Z\n",
  "good-created-bad-rotated": "name: NAME\ngroup: g0\ncreated: 2026-01-02T03:04:05Z\nrotated: soon\nauthorized_agents: [ci]\n",
  "bad-expires": "name: NAME\ngroup: elsewhere\nexpires: 2027-01-01\n",
  "agents-missing": "name: NAME\ngroup: g0\n",
  "agents-null": "name: NAME\ngroup: g0\nauthorized_agents: null\n",
  "agents-blank": "name: NAME\ngroup: g0\nauthorized_agents:\n",
  "agents-empty": "name: NAME\ngroup: g0\nauthorized_agents: []\n",
  "agents-scalar": "name: NAME\ngroup: g0\nauthorized_agents: ci\n",
  "agents-map": "name: NAME\ngroup: g0\nauthorized_agents: {a: 1}\n",
  "agents-invalid": "name: NAME\ngroup: g0\nauthorized_agents: [a/b]\n",
  "agents-null-item": "name: NAME\ngroup: g0\nauthorized_agents: [~]\n",
  "agents-empty-item": "name: NAME\ngroup: g0\nauthorized_agents: ['']\n",
  "agents-nested": "name: NAME\ngroup: g0\nauthorized_agents: [[a]]\n",
  "agents-scalars": "name: NAME\ngroup: g0\nauthorized_agents: [010, 'true', x1]\n",
  "agents-ghost": "name: NAME\ngroup: g0\nauthorized_agents: [ghost]\n",
  "anchor": "name: NAME\ngroup: &a g0\nauthorized_agents: [*a]\n",
  "merge": "<<: {group: elsewhere}\nname: NAME\n",
  "merge-override": "<<: {group: elsewhere}\nname: NAME\ngroup: g0\n",
  "merge-list": "<<: [{group: elsewhere}, {created: '2026-01-02T03:04:05Z'}]\nname: NAME\n",
  "dup-key": "name: NAME\ngroup: g0\ngroup: g1\n",
  "dup-unknown": "name: NAME\ngroup: g0\nx: 1\nx: 2\n",
  "dup-nested": "name: NAME\ngroup: g0\nx: {a: 1, a: 2}\n",
  "null-key": "name: NAME\ngroup: g0\n~: x\n",
  "complex-key": "name: NAME\ngroup: g0\n? [a]\n: x\n",
  "int-key": "name: NAME\ngroup: g0\n1: x\n",
  "flow": "{name: NAME, group: g0}\n",
  "comments": "# c\nname: NAME # c\ngroup: g0\n",
  "crlf": "name: NAME\r\ngroup: g0\r\n",
  "bom": "\ufeffname: NAME\ngroup: g0\n",
  "doc-start-end": "---\nname: NAME\ngroup: g0\n...\n",
  "directive": "%YAML 1.2\n---\nname: NAME\ngroup: g0\n",
  "two-docs": "name: NAME\ngroup: g0\n---\nname: NAME\ngroup: g1\n",
  "empty": "",
  "comment-only": "# nothing\n",
  "tilde": "~\n",
  "list": "- a\n",
  "scalar": "hello\n",
  "bad-yaml": "group: [\n",
  "tab-indent": "name: NAME\ngroup: g0\nx:\n\t- a\n",
  "control-char": "name: NAME\ngroup: g0\nx: a\u0001b\n",
  "escaped-nul": "name: NAME\ngroup: g0\nx: \"\\0\"\n",
};
const NO_META = ["no-meta/one", "no-meta/two"];
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
