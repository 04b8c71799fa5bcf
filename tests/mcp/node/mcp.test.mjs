// A real MCP client (npm @modelcontextprotocol/sdk 1.x) against `git vault mcp` over stdio.
//
// The vault is built by the real binary (GIT_VAULT_BIN, default <repo>/target/debug/git-vault) in a
// hermetic environment: temporary HOME, no system git config, a temporary global git config with
// a user, fixed dates. Checks: initialize (serverInfo), tool names, schemas and annotations, every
// tool, --no-reveal, a revoke between two calls of one session, the audit log, masked run output.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const BIN = process.env.GIT_VAULT_BIN || join(REPO_ROOT, "target", "debug", "git-vault");
const STRIPE = "sk_live_51NodeMcpClientTestValue0123456789";
const DB = 'p@ss w/rd"+\u00e9-mcp-node';
const TOOLS = ["agent_vault_get", "agent_vault_list", "agent_vault_run", "agent_vault_whoami"];

const root = mkdtempSync(join(tmpdir(), "git-vault-mcp-node-"));
after(() => rmSync(root, { recursive: true, force: true }));

function hermeticEnv() {
  const home = join(root, "home");
  mkdirSync(home);
  const gitconfig = join(root, "gitconfig");
  writeFileSync(gitconfig, "[user]\n\tname = Alice Owner\n\temail = alice@example.com\n[init]\n\tdefaultBranch = main\n");
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: gitconfig,
    GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
    GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
    GIT_TERMINAL_PROMPT: "0",
  };
}

const env = hermeticEnv();
const repo = join(root, "repo");
const agentKey = join(env.HOME, ".agent-vault", "agents", "ci.key");

function gitVault(args, input) {
  return execFileSync(BIN, args, { cwd: repo, env, input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

async function connect(...extra) {
  const transport = new StdioClientTransport({
    command: BIN,
    args: ["mcp", ...extra],
    env: { ...env, AGENT_VAULT_KEY: agentKey },
    cwd: repo,
    stderr: "ignore",
  });
  const client = new Client({ name: "git-vault-node-test", version: "0.0.0" });
  await client.connect(transport);
  return client;
}

const text = (r) => r.content.filter((c) => c.type === "text").map((c) => c.text).join("");
const data = (r) => {
  assert.ok(!r.isError, text(r));
  return r.structuredContent ?? JSON.parse(text(r));
};
const forms = (v) => [
  v,
  Buffer.from(v).toString("base64"),
  Buffer.from(v).toString("base64url"),
  encodeURIComponent(v),
  JSON.stringify(v).slice(1, -1),
];

before(() => {
  assert.ok(existsSync(BIN), `git-vault binary not found at ${BIN}: run \`cargo build\` or set GIT_VAULT_BIN`);
  mkdirSync(repo);
  execFileSync("git", ["init", "-q"], { cwd: repo, env });
  gitVault(["init", "--owner", "alice"]);
  gitVault(["add-agent", "ci"]);
  gitVault(["set", "stripe/api-key"], STRIPE);
  gitVault(["set", "db/password", "--group", "db"], DB);
  gitVault(["set", "other/secret"], "not-for-ci-0000");
  gitVault(["grant", "ci", "stripe"]);
  gitVault(["grant", "ci", "db"]);
});

describe("git vault mcp with the Node SDK", () => {
  test("initialize reports git-vault and its tools with schemas and annotations", async () => {
    const client = await connect();
    try {
      const info = client.getServerVersion();
      assert.equal(info.name, "git-vault");
      assert.equal(info.version, gitVault(["--version"]).trim().split(/\s+/).pop());
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
      assert.deepEqual(byName.agent_vault_get.inputSchema.required, ["secret"]);
      assert.deepEqual(byName.agent_vault_run.inputSchema.required, ["command"]);
      assert.equal(byName.agent_vault_run.inputSchema.properties.command.type, "array");
      for (const name of ["agent_vault_get", "agent_vault_list", "agent_vault_whoami"]) {
        assert.equal(byName[name].annotations.readOnlyHint, true, name);
      }
      assert.equal(byName.agent_vault_run.annotations.destructiveHint, true);
    } finally {
      await client.close();
    }
  });

  test("every tool, and errors as named tool errors", async () => {
    const client = await connect();
    try {
      const got = await client.callTool({ name: "agent_vault_get", arguments: { secret: "stripe/api-key" } });
      assert.equal(text(got), STRIPE);
      const list = data(await client.callTool({ name: "agent_vault_list", arguments: {} })).secrets;
      assert.deepEqual(list.map((s) => s.name), ["db/password", "other/secret", "stripe/api-key"]);
      assert.deepEqual(Object.keys(list[0]), ["name", "group", "created", "rotated", "expires", "authorized_agents"]);
      const me = data(await client.callTool({ name: "agent_vault_whoami", arguments: {} }));
      assert.equal(me.agent, "ci");
      assert.deepEqual(me.readable_secrets, ["db/password", "stripe/api-key"]);
      const missing = await client.callTool({ name: "agent_vault_get", arguments: { secret: "no/such" } });
      assert.ok(missing.isError && text(missing).startsWith("SecretNotFoundError"));
      const denied = await client.callTool({ name: "agent_vault_get", arguments: { secret: "other/secret" } });
      assert.ok(denied.isError && text(denied).startsWith("NotAuthorizedError"));
    } finally {
      await client.close();
    }
  });

  test("run output is masked and the key is not passed on", async () => {
    const client = await connect("--no-reveal");
    try {
      const script =
        "const k = process.env.K, d = process.env.D;" +
        "console.log(k, Buffer.from(k).toString('base64'), encodeURIComponent(d), JSON.stringify({ d }));" +
        "console.error(Buffer.from(d).toString('base64url'));" +
        "console.log('key var:', 'AGENT_VAULT_KEY' in process.env); process.exit(4);";
      const result = await client.callTool({
        name: "agent_vault_run",
        arguments: { command: ["node", "-e", script], env: { K: "stripe/api-key", D: "db/password" } },
      });
      const out = data(result);
      assert.equal(out.exit_code, 4);
      const everything = JSON.stringify(out) + text(result);
      for (const v of [STRIPE, DB]) for (const f of forms(v)) assert.ok(!everything.includes(f), `${f} leaked`);
      assert.equal(out.stdout.split("<redacted:stripe/api-key>").length - 1, 2);
      assert.equal(out.stdout.split("<redacted:db/password>").length - 1, 2);
      assert.match(out.stderr, /<redacted:db\/password>/);
      assert.match(out.stdout, /key var: false/);
    } finally {
      await client.close();
    }
  });

  test("--no-reveal refuses get with a hint to use agent_vault_run", async () => {
    const client = await connect("--no-reveal");
    try {
      const r = await client.callTool({ name: "agent_vault_get", arguments: { secret: "stripe/api-key" } });
      assert.ok(r.isError);
      assert.match(text(r), /agent_vault_run/);
      assert.ok(!text(r).includes(STRIPE));
    } finally {
      await client.close();
    }
  });

  test("a revoke applies to the next call of the same session, and the audit log has it", async () => {
    const client = await connect();
    try {
      const before = await client.callTool({ name: "agent_vault_get", arguments: { secret: "db/password" } });
      assert.equal(text(before), DB);
      gitVault(["revoke", "ci", "db"]);
      const afterRevoke = await client.callTool({ name: "agent_vault_get", arguments: { secret: "db/password" } });
      assert.ok(afterRevoke.isError && text(afterRevoke).startsWith("NotAuthorizedError"));
    } finally {
      await client.close();
    }
    const log = join(env.HOME, ".agent-vault", "audit.log");
    assert.equal(statSync(log).mode & 0o777, 0o600);
    const content = readFileSync(log, "utf8");
    const entries = content.trim().split("\n").map((l) => JSON.parse(l));
    const last = entries.slice(-2);
    assert.deepEqual(last.map((e) => [e.tool, e.agent, e.secrets, e.outcome]), [
      ["agent_vault_get", "ci", ["db/password"], "ok"],
      ["agent_vault_get", "ci", ["db/password"], "denied"],
    ]);
    for (const v of [STRIPE, DB]) for (const f of forms(v)) assert.ok(!content.includes(f), `${f} in the audit log`);
  });
});
