// The legacy fixture vault (built with Go age to the earlier tool's format), read as expected.
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { NotAuthorizedError, SecretNotFoundError, Vault } from "../dist/index.js";
import { FIXTURES, hermeticEnv, legacyKey, legacyVault, readJson } from "./helpers.mjs";

const expected = readJson(join(FIXTURES, "legacy-vault-expected.json"));
const secretNames = Object.keys(expected.secrets);
let dir;

before(() => {
  hermeticEnv();
  dir = legacyVault();
});

const open = (key, extra = {}) => new Vault({ repoPath: dir, keyPath: legacyKey(key), autoPull: false, ...extra });

describe("reading with each key", () => {
  test("the owner reads every secret", async () => {
    const vault = open("owner");
    for (const [name, spec] of Object.entries(expected.secrets)) {
      assert.equal(await vault.get(name), spec.value, name);
      assert.deepEqual(Buffer.from(await vault.getBytes(name)), Buffer.from(spec.value), name);
    }
  });

  for (const agent of Object.keys(expected.agents)) {
    test(`agent ${agent} reads exactly its secrets`, async () => {
      const vault = open(agent);
      for (const [name, spec] of Object.entries(expected.secrets)) {
        if (spec.readers.includes(agent)) {
          assert.equal(await vault.get(name), spec.value, name);
        } else {
          await assert.rejects(vault.get(name), NotAuthorizedError, name);
        }
      }
    });
  }

  test("the outsider reads nothing, and no message leaks a value", async () => {
    const vault = open("outsider");
    for (const [name, spec] of Object.entries(expected.secrets)) {
      await assert.rejects(vault.get(name), (err) => {
        assert.ok(err instanceof NotAuthorizedError);
        assert.ok(!err.message.includes(spec.value));
        assert.ok(!err.message.includes("AGE-SECRET-KEY"));
        return true;
      });
    }
  });

  test("an unknown secret is SecretNotFoundError", async () => {
    await assert.rejects(open("owner").get("stripe/nope"), SecretNotFoundError);
    await assert.rejects(open("owner").get("nope"), SecretNotFoundError);
  });
});

describe("legacy slash-less location", () => {
  test("plain lives only at secrets/default/plain.enc and is read from there", async () => {
    const legacy = expected.secrets.plain.legacy_location;
    assert.ok(existsSync(join(dir, ".agent-vault", legacy)));
    assert.ok(!existsSync(join(dir, ".agent-vault", "secrets", "plain.enc")));
    assert.equal(await open("ci").get("plain"), expected.secrets.plain.value);
  });

  test("the primary location wins over the legacy one", async () => {
    const copy = legacyVault();
    const primary = join(copy, ".agent-vault", "secrets", "plain.enc");
    writeFileSync(primary, readFileSync(join(copy, ".agent-vault", "secrets", "stripe", "api-key.enc")));
    const vault = new Vault({ repoPath: copy, keyPath: legacyKey("owner"), autoPull: false });
    assert.equal(await vault.get("plain"), expected.secrets["stripe/api-key"].value);
  });

  test("the legacy file is not taken when its .meta names another secret (default/plain)", async () => {
    const copy = legacyVault();
    const meta = join(copy, ".agent-vault", "secrets", "default", "plain.meta");
    writeFileSync(meta, readFileSync(meta, "utf8").replace("name: plain", "name: default/plain"));
    const vault = new Vault({ repoPath: copy, keyPath: legacyKey("owner"), autoPull: false });
    await assert.rejects(vault.get("plain"), SecretNotFoundError);
    assert.equal(await vault.get("default/plain"), expected.secrets.plain.value);
  });

  test("a path with a slash has no legacy fallback", async () => {
    // default/plain is the legacy file itself at its primary path; x/plain has no fallback.
    assert.equal(await open("owner").get("default/plain"), expected.secrets.plain.value);
    await assert.rejects(open("owner").get("x/plain"), SecretNotFoundError);
  });
});

describe("listing", () => {
  test("listSecrets returns every manifest secret with its metadata, sorted", async () => {
    const list = await open("ci").listSecrets();
    assert.deepEqual(list.map((s) => s.name), [...secretNames].sort());
    for (const s of list) {
      const spec = expected.secrets[s.name];
      assert.equal(s.group, spec.group);
      assert.deepEqual(s.authorizedAgents, spec.readers);
      assert.equal(s.created, "2026-01-02T03:04:05Z"); // nanoseconds in the file
      assert.equal(s.rotated, "2026-01-02T03:04:05Z");
      assert.equal(s.expires, null);
      assert.deepEqual(Object.keys(s).sort(), ["authorizedAgents", "created", "expires", "group", "name", "rotated"]);
    }
  });

  test("listSecrets(group) filters", async () => {
    const vault = open("owner");
    assert.deepEqual((await vault.listSecrets("default")).map((s) => s.name), ["plain"]);
    assert.deepEqual((await vault.listSecrets("db")).map((s) => s.name), ["db/prod/password"]);
    assert.deepEqual(await vault.listSecrets("unknown"), []);
  });

  test("listing needs no identity", async () => {
    const vault = new Vault({ repoPath: dir, keyPath: "/nonexistent/key", autoPull: false });
    assert.equal((await vault.listSecrets()).length, secretNames.length);
  });

  test("listAgents returns agents and groups in manifest order", async () => {
    const agents = await open("owner").listAgents();
    assert.deepEqual(agents, Object.entries(expected.agents).map(([name, groups]) => ({ name, groups })));
  });

  test("a secret in several groups appears once; group from .meta, else the first group", async () => {
    const copy = legacyVault();
    const manifest = join(copy, ".agent-vault", "manifest.yaml");
    writeFileSync(
      manifest,
      readFileSync(manifest, "utf8").replace("  - stripe/api-key\n", "  - stripe/api-key\n  - plain\n  - db/prod/password\n"),
    );
    rmSync(join(copy, ".agent-vault", "secrets", "db", "prod", "password.meta"));
    const vault = new Vault({ repoPath: copy, keyPath: legacyKey("owner"), autoPull: false });
    const list = await vault.listSecrets();
    assert.deepEqual(list.map((s) => s.name), ["db/prod/password", "plain", "stripe/api-key"]);
    assert.equal(list.find((s) => s.name === "plain").group, "default"); // from .meta
    const db = list.find((s) => s.name === "db/prod/password");
    assert.equal(db.group, "stripe"); // no .meta: first manifest group listing it
    assert.equal(db.created, null);
    assert.deepEqual(db.authorizedAgents, ["ci", "deploy"]); // no .meta: who the manifest lets read it
    assert.deepEqual((await vault.listSecrets("stripe")).map((s) => s.name), ["db/prod/password", "plain", "stripe/api-key"]);
  });

  test("reload() picks up manifest changes", async () => {
    const copy = legacyVault();
    const vault = new Vault({ repoPath: copy, keyPath: legacyKey("owner"), autoPull: false });
    assert.equal((await vault.listAgents()).length, 2);
    const manifest = join(copy, ".agent-vault", "manifest.yaml");
    writeFileSync(manifest, readFileSync(manifest, "utf8").replace("groups:\n- name: stripe", "- name: new\n  groups: []\ngroups:\n- name: stripe"));
    assert.equal((await vault.listAgents()).length, 2); // cached
    vault.reload();
    assert.deepEqual((await vault.listAgents()).map((a) => a.name), ["ci", "deploy", "new"]);
  });
});

describe("ASCII-armored age files", () => {
  test("the seed's armored escrow decrypts with the owner key", async () => {
    const copy = legacyVault();
    const escrow = readFileSync(join(copy, ".agent-vault", "agents", "ci", "private.key.escrow"));
    assert.ok(escrow.toString().startsWith("-----BEGIN AGE ENCRYPTED FILE-----"));
    writeFileSync(join(copy, ".agent-vault", "secrets", "escrowed.enc"), escrow);
    const vault = new Vault({ repoPath: copy, keyPath: legacyKey("owner"), autoPull: false });
    assert.equal(await vault.get("escrowed"), readFileSync(legacyKey("ci"), "utf8"));
  });
});

test("the fixture itself is never written", () => {
  assert.ok(!existsSync(join(FIXTURES, "legacy-vault", ".agent-vault", "secrets", "escrowed.enc")));
  assert.ok(!existsSync(join(FIXTURES, "legacy-vault", ".agent-vault", "secrets", "plain.enc")));
});
