// Identity resolution (SPEC 3), each branch, and that a raw key never lands on disk.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, test } from "node:test";
import { NotAuthorizedError, Vault, VaultError } from "../dist/index.js";
import { filesContaining, git, hermeticEnv, legacyKey, legacyVault, tmp } from "./helpers.mjs";

const VALUE = "sk_test_legacy_0123456789";
const SECRET = "stripe/api-key";
const rawKey = (name) => readFileSync(legacyKey(name), "utf8").split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-"));

let home;
let dir;
beforeEach(() => {
  home = hermeticEnv();
  dir = legacyVault();
});

const open = (options = {}) => new Vault({ repoPath: dir, autoPull: false, ...options });

function installOwnerKey(name = "owner") {
  mkdirSync(join(home, ".agent-vault"), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, ".agent-vault", "owner.key"), readFileSync(legacyKey(name)), { mode: 0o600 });
}

describe("explicit key", () => {
  test("keyStr: a bare identity", async () => {
    assert.equal(await open({ keyStr: rawKey("ci") }).get(SECRET), VALUE);
  });

  test("keyStr: age-keygen form with comments", async () => {
    assert.equal(await open({ keyStr: readFileSync(legacyKey("ci"), "utf8") }).get(SECRET), VALUE);
  });

  test("keyStr takes precedence over AGENT_VAULT_KEY and owner.key", async () => {
    process.env.AGENT_VAULT_KEY = rawKey("owner");
    installOwnerKey();
    await assert.rejects(open({ keyStr: rawKey("deploy") }).get(SECRET), NotAuthorizedError);
  });

  test("keyPath: age-keygen file", async () => {
    assert.equal(await open({ keyPath: legacyKey("ci") }).get(SECRET), VALUE);
  });

  test("keyPath: bare one-line file", async () => {
    const file = join(tmp("keys"), "bare.key");
    writeFileSync(file, rawKey("ci") + "\n");
    assert.equal(await open({ keyPath: file }).get(SECRET), VALUE);
  });

  test("missing keyPath fails, no fallback to AGENT_VAULT_KEY or owner.key", async () => {
    process.env.AGENT_VAULT_KEY = rawKey("owner");
    installOwnerKey();
    const missing = join(tmp("keys"), "missing.key");
    await assert.rejects(open({ keyPath: missing }).get(SECRET), (err) => {
      assert.ok(err instanceof VaultError);
      assert.match(err.message, /keyPath: key file not found/);
      assert.ok(err.message.includes(missing));
      return true;
    });
  });

  test("an invalid identity is refused without quoting it", async () => {
    const bogus = "AGE-SECRET-KEY-1NOTAREALKEYNOTAREALKEYNOTAREALKEY";
    await assert.rejects(open({ keyStr: bogus }).get(SECRET), (err) => {
      assert.ok(err instanceof VaultError);
      assert.match(err.message, /invalid age identity/);
      assert.ok(!err.message.includes("NOTAREALKEY"));
      return true;
    });
    await assert.rejects(open({ keyStr: "hello" }).get(SECRET), /not an age identity/);
    await assert.rejects(open({ keyStr: "# only a comment\n" }).get(SECRET), /holds no age identity/);
  });

  test("keyPath and keyStr together is a usage error", () => {
    assert.throws(() => open({ keyStr: rawKey("ci"), keyPath: legacyKey("ci") }), TypeError);
  });
});

describe("AGENT_VAULT_KEY", () => {
  test("a raw identity is used from memory and never written to disk", async () => {
    const key = rawKey("ci");
    process.env.AGENT_VAULT_KEY = `  ${key}\n`;
    installOwnerKey("deploy"); // would fail: proves the variable wins
    // a git work tree with an upstream, so that the safe pull runs too
    const bare = join(tmp("remote"), "r.git");
    git(tmp("x"), "init", "--quiet", "--bare", "-b", "main", bare);
    git(dir, "init", "--quiet", "-b", "main");
    git(dir, "add", "-A");
    git(dir, "commit", "--quiet", "-m", "vault");
    git(dir, "remote", "add", "origin", bare);
    git(dir, "push", "--quiet", "-u", "origin", "main");

    const vault = new Vault({ repoPath: dir });
    assert.equal(await vault.get(SECRET), VALUE);
    assert.equal(await vault.get("plain"), "slashless-legacy-value");
    assert.equal((await vault.listSecrets()).length, 3);
    delete process.env.AGENT_VAULT_KEY;
    assert.deepEqual(filesContaining(home, key), []);
    assert.deepEqual(filesContaining(dir, key), []);
    assert.deepEqual(filesContaining(bare, key), []);
  });

  test("a path to a key file", async () => {
    process.env.AGENT_VAULT_KEY = legacyKey("ci");
    assert.equal(await open().get(SECRET), VALUE);
  });

  test("a missing path fails, no fallback to owner.key", async () => {
    installOwnerKey();
    process.env.AGENT_VAULT_KEY = join(tmp("keys"), "nope.key");
    await assert.rejects(open().get(SECRET), /AGENT_VAULT_KEY: key file not found/);
  });

  test("AGENT_VAULT_KEY wins over owner.key", async () => {
    installOwnerKey();
    process.env.AGENT_VAULT_KEY = legacyKey("deploy");
    await assert.rejects(open().get(SECRET), NotAuthorizedError);
  });
});

describe("~/.agent-vault/owner.key", () => {
  test("used when nothing else is given", async () => {
    installOwnerKey();
    assert.equal(await open().get("db/prod/password"), "hunter2-legacy");
  });

  test("absent: a clear 'no identity' error", async () => {
    await assert.rejects(open().get(SECRET), (err) => {
      assert.ok(err instanceof VaultError);
      assert.match(err.message, /^no identity/);
      assert.ok(err.message.includes(join(home, ".agent-vault", "owner.key")));
      return true;
    });
  });

  test("HOME unset falls back to os.homedir()", async (t) => {
    delete process.env.HOME;
    const expectedFile = join(homedir(), ".agent-vault", "owner.key"); // the passwd entry's home
    if (existsSync(expectedFile)) return t.skip("this machine has a real owner key");
    await assert.rejects(open().get(SECRET), (err) => err.message.includes(expectedFile));
  });

  test("the identity is resolved once and kept", async () => {
    installOwnerKey();
    const vault = open();
    assert.equal(await vault.get(SECRET), VALUE);
    installOwnerKey("outsider");
    assert.equal(await vault.get(SECRET), VALUE);
  });
});
