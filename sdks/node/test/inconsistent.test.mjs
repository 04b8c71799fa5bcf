// fixtures/inconsistent-vault: the SDK lists it exactly as `git vault list --json` does. The
// expectation is the CLI's own output (recorded by fixtures/make-inconsistent-vault.sh); the Python
// SDK checks the same file, so the three readers cannot drift apart on a vault whose manifest and
// metadata disagree.
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { NotAuthorizedError, Vault } from "../dist/index.js";
import { FIXTURES, captureWarnings, hermeticEnv, readJson, tmp } from "./helpers.mjs";

const expected = readJson(join(FIXTURES, "inconsistent-vault-expected.json"));
const KEYS = join(FIXTURES, "inconsistent-vault-keys");
let dir;

before(() => {
  hermeticEnv();
  dir = join(tmp("inconsistent"), "inconsistent-vault");
  cpSync(join(FIXTURES, "inconsistent-vault"), dir, { recursive: true });
});

/** The SDK's entries in the CLI's JSON shape (`authorizedAgents` is the CLI's `authorized_agents`). */
const asCli = (list) =>
  list.map(({ name, group, created, rotated, expires, authorizedAgents }) => ({
    name, group, created, rotated, expires, authorized_agents: authorizedAgents,
  }));

async function list(group) {
  let out;
  await captureWarnings(async () => {
    out = await new Vault({ repoPath: dir, autoPull: false }).listSecrets(group); // listing needs no key
  });
  return out;
}

describe("the inconsistent vault lists as the CLI lists it", () => {
  test("the fixture is what the expectation describes", () => {
    const secrets = join(FIXTURES, "inconsistent-vault", ".agent-vault", "secrets");
    assert.ok(existsSync(join(secrets, "db", "no-meta.enc")));
    assert.ok(!existsSync(join(secrets, "db", "no-meta.meta")));
    const bad = readFileSync(join(secrets, "db", "bad-timestamp.meta"), "utf8");
    assert.match(bad, /^rotated: last tuesday$/m);
    assert.match(bad, /^created: 2026-02-03T04:05:06Z$/m);
    assert.deepEqual(Object.keys(expected.list_by_group).sort(), ["db", "empty", "payments"]);
    assert.deepEqual(expected.unknown_groups, { phantom: "group_not_found" });
  });

  test("every secret", async () => {
    const listed = await list();
    assert.deepEqual(Object.keys(listed[0]).sort(), ["authorizedAgents", "created", "expires", "group", "name", "rotated"]);
    assert.deepEqual(asCli(listed), expected.list);
  });

  for (const [group, entries] of Object.entries(expected.list_by_group)) {
    test(`group ${group}`, async () => {
      assert.deepEqual(asCli(await list(group)), entries);
    });
  }

  for (const group of Object.keys(expected.unknown_groups)) {
    test(`group ${group}, which the manifest does not define: an empty list (the CLI fails)`, async () => {
      assert.deepEqual(await list(group), []);
    });
  }

  test("the unreadable .meta is warned about", async () => {
    const warnings = await captureWarnings(() => new Vault({ repoPath: dir, autoPull: false }).listSecrets());
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /secrets\/db\/bad-timestamp\.meta is corrupt \(rotated is not an RFC 3339 timestamp\)/);
  });

  for (const agent of ["ci", "deploy", "reporter", "auditor"]) {
    test(`agent ${agent} decrypts exactly what the listing says`, async () => {
      const owner = new Vault({ repoPath: dir, keyPath: join(KEYS, "owner.key"), autoPull: false });
      const reader = new Vault({ repoPath: dir, keyPath: join(KEYS, "agents", `${agent}.key`), autoPull: false });
      for (const entry of expected.list) {
        const value = await owner.get(entry.name);
        if (entry.authorized_agents.includes(agent)) {
          assert.equal(await reader.get(entry.name), value, entry.name);
        } else {
          await assert.rejects(reader.get(entry.name), NotAuthorizedError, entry.name);
        }
      }
    });
  }
});
