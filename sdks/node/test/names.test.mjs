// Shared name vectors (fixtures/names.json) through the SDK's validation.
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { InvalidIdentifierError, SecretNotFoundError, Vault, VaultNotFoundError } from "../dist/index.js";
import { FIXTURES, buildVault, hermeticEnv, readJson, tmp } from "./helpers.mjs";

const vectors = readJson(join(FIXTURES, "names.json"));
let vault;

before(async () => {
  hermeticEnv();
  const dir = tmp("names");
  const keys = await buildVault(dir, {});
  vault = new Vault({ repoPath: dir, keyStr: keys.owner.identity, autoPull: false });
});

describe("secret paths", () => {
  for (const path of vectors.secret_paths.valid) {
    test(`valid ${JSON.stringify(path)} passes validation`, async () => {
      // Valid but absent in an empty vault: validation passed, then the file was looked up.
      await assert.rejects(vault.get(path), SecretNotFoundError);
    });
  }
  for (const path of vectors.secret_paths.invalid) {
    test(`invalid ${JSON.stringify(path)} is refused`, async () => {
      await assert.rejects(vault.get(path), (err) => {
        assert.ok(err instanceof InvalidIdentifierError, `${err.name}: ${err.message}`);
        assert.match(err.message, /must|segment/);
        return true;
      });
      await assert.rejects(vault.getBytes(path), InvalidIdentifierError);
    });
  }

  test("validation happens before any file access", async () => {
    const nowhere = new Vault({ repoPath: join(tmp("empty"), "does-not-exist"), autoPull: false });
    await assert.rejects(nowhere.get("../etc/passwd"), InvalidIdentifierError);
    await assert.rejects(nowhere.get("ok/path"), VaultNotFoundError);
  });

  test("messages name the rule", async () => {
    const cases = {
      "": /empty/,
      "/x": /start with '\/'/,
      "x/": /end with '\/'/,
      "a//b": /'\/\/'/,
      "a/../b": /'\.' or '\.\.'/,
      "a\\b": /backslash/,
      "a\u0007b": /control/,
      "C:x": /drive/,
    };
    for (const [path, rule] of Object.entries(cases)) {
      await assert.rejects(vault.get(path), rule);
    }
  });
});

describe("group names (single segments)", () => {
  for (const name of vectors.single_names.valid) {
    test(`valid ${JSON.stringify(name)}`, async () => {
      assert.deepEqual(await vault.listSecrets(name), []);
    });
  }
  for (const name of vectors.single_names.invalid) {
    test(`invalid ${JSON.stringify(name)}`, async () => {
      await assert.rejects(vault.listSecrets(name), InvalidIdentifierError);
    });
  }
});
