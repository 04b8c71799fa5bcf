// Corrupt files, exact bytes, armor, discovery and metadata normalisation on test-built vaults.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import * as sdk from "../dist/index.js";
import { buildVault, captureWarnings, hermeticEnv, tmp } from "./helpers.mjs";

const { InvalidIdentifierError, NotAuthorizedError, SecretNotFoundError, Vault, VaultError, VaultNotFoundError } = sdk;
const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a, 0xc3, 0x28]);
const WITH_BOM = Buffer.from("\ufeffline one\r\nline two\n", "utf8");

let dir;
let keys;
const enc = (path) => join(dir, ".agent-vault", "secrets", path + ".enc");
const open = (options = {}) => new Vault({ repoPath: dir, keyStr: keys.owner.identity, autoPull: false, ...options });

before(async () => {
  hermeticEnv();
  dir = tmp("vault");
  keys = await buildVault(dir, {
    "app/binary": { value: BINARY, agents: ["ci"] },
    "app/bom": { value: WITH_BOM },
    "app/armored": { value: "armored-value", armored: true, agents: ["ci"] },
    "app/empty": { value: "" },
    "app/corrupt": { value: "x" },
    "app/truncated": { value: "y".repeat(200_000) },
    "app/plaintext": { value: "z" },
    "unicode/秘密": { value: "ünïcödé ✓" },
    solo: { value: "slash-less at the primary location" },
    "timed/one": {
      value: "t",
      meta:
        "name: timed/one\ngroup: timed\ncreated: 2026-03-04T05:06:07.999999999+02:00\n" +
        "rotated: '2026-03-04T05:06:07Z'\nexpires: 2027-01-01 01:00:00+01:00\nauthorized_agents: [zeta, ci, alpha]\nfuture_field: {a: 1}\n",
    },
  });
  writeFileSync(enc("app/corrupt"), Buffer.from("not an age file at all\n"));
  const full = readFileSync(enc("app/truncated"));
  writeFileSync(enc("app/truncated"), full.subarray(0, full.length - 1000));
  writeFileSync(enc("app/plaintext"), "sk_live_PLAINTEXT_LEAK\n");
});

describe("values", () => {
  test("a non-UTF-8 value round-trips through getBytes; get refuses it", async () => {
    const vault = open();
    assert.deepEqual(Buffer.from(await vault.getBytes("app/binary")), BINARY);
    await assert.rejects(vault.get("app/binary"), (err) => {
      assert.ok(err instanceof VaultError);
      assert.match(err.message, /not valid UTF-8; use getBytes\(\)/);
      return true;
    });
    assert.deepEqual(Buffer.from(await open({ keyStr: keys.ci.identity }).getBytes("app/binary")), BINARY);
  });

  test("bytes are exact: BOM, CRLF and trailing newline kept; empty value", async () => {
    const vault = open();
    assert.equal(await vault.get("app/bom"), WITH_BOM.toString("utf8"));
    assert.ok((await vault.get("app/bom")).startsWith("\ufeff"));
    assert.deepEqual(Buffer.from(await vault.getBytes("app/bom")), WITH_BOM);
    assert.equal(await vault.get("app/empty"), "");
    assert.equal(await vault.get("unicode/秘密"), "ünïcödé ✓");
    assert.equal(await vault.get("solo"), "slash-less at the primary location");
  });

  test("an ASCII-armored .enc decrypts", async () => {
    assert.match(readFileSync(enc("app/armored"), "utf8"), /^-----BEGIN AGE ENCRYPTED FILE-----/);
    assert.equal(await open().get("app/armored"), "armored-value");
    assert.equal(await open({ keyStr: keys.ci.identity }).get("app/armored"), "armored-value");
  });

  test("an agent without access: NotAuthorizedError", async () => {
    await assert.rejects(open({ keyStr: keys.ci.identity }).get("app/bom"), NotAuthorizedError);
  });
});

describe("corrupt files", () => {
  for (const [path, what] of [["app/corrupt", "garbage"], ["app/truncated", "a truncated payload"], ["app/plaintext", "plaintext"]]) {
    test(`${what} in .enc: VaultError saying the file is corrupt`, async () => {
      await assert.rejects(open().get(path), (err) => {
        assert.ok(err instanceof VaultError);
        assert.ok(!(err instanceof NotAuthorizedError) && !(err instanceof SecretNotFoundError));
        assert.equal(err.message, `.agent-vault/secrets/${path}.enc is corrupt (not a readable age file)`);
        return true;
      });
    });
  }

  test("a value or key never appears in a message", async () => {
    for (const path of ["app/plaintext", "app/corrupt", "app/binary"]) {
      for (const key of [keys.owner.identity, keys.ci.identity, "AGE-SECRET-KEY-1QQQQ"]) {
        const err = await open({ keyStr: key }).get(path).then(() => null, (e) => e);
        if (err === null) continue;
        assert.ok(!err.message.includes("PLAINTEXT_LEAK"));
        assert.ok(!err.message.includes("AGE-SECRET-KEY"));
      }
    }
  });

  test("broken armor: VaultError", async () => {
    const copy = tmp("armor");
    const k = await buildVault(copy, { "a/b": { value: "v", armored: true } });
    writeFileSync(join(copy, ".agent-vault", "secrets", "a", "b.enc"), "-----BEGIN AGE ENCRYPTED FILE-----\n!!!\n-----END AGE ENCRYPTED FILE-----\n");
    await assert.rejects(new Vault({ repoPath: copy, keyStr: k.owner.identity, autoPull: false }).get("a/b"), /b\.enc is corrupt \(invalid age armor\)/);
  });

  test("corrupt manifest: VaultError naming manifest.yaml", async () => {
    for (const [text, why] of [
      ["groups: [\n", /manifest\.yaml is corrupt \(not valid YAML/],
      ["- just\n- a list\n", /manifest\.yaml is corrupt \(expected a YAML mapping\)/],
      ["version: 1\ngroups: 5\n", /manifest\.yaml is corrupt \(groups must be a list\)/],
      ["version: 1\nagents:\n- name: ci\n  groups: {a: 1}\n", /agents\[0\]\.groups must be a list/],
      ["version: 1\ngroups:\n- name: g\n  secrets: [{x: 1}]\n", /groups\[0\]\.secrets\[0\] must be a string/],
      ["version: 2\n", /version 2; this SDK reads version 1/],
    ]) {
      const copy = tmp("manifest");
      await buildVault(copy, {});
      writeFileSync(join(copy, ".agent-vault", "manifest.yaml"), text);
      const vault = new Vault({ repoPath: copy, autoPull: false });
      await assert.rejects(vault.listSecrets(), (err) => err instanceof VaultError && why.test(err.message));
      await assert.rejects(vault.listAgents(), why);
    }
  });

  test("corrupt .meta: a warning naming the file, the manifest's facts listed (as the CLI does)", async () => {
    const copy = tmp("meta");
    await buildVault(copy, { "a/b": { value: "v", meta: "name: [unclosed\n", agents: ["ci"] } });
    let list;
    const warnings = await captureWarnings(async () => {
      list = await new Vault({ repoPath: copy, autoPull: false }).listSecrets();
    });
    assert.deepEqual(list, [{ name: "a/b", group: "a", created: null, rotated: null, expires: null, authorizedAgents: [] }]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /secrets\/a\/b\.meta is corrupt/);
  });

  test("a symlink inside the vault is refused", async () => {
    const copy = tmp("symlink");
    const k = await buildVault(copy, { "a/b": { value: "v" } });
    symlinkSync(join(copy, ".agent-vault", "secrets", "a", "b.enc"), join(copy, ".agent-vault", "secrets", "link.enc"));
    symlinkSync(join(copy, ".agent-vault", "secrets", "a"), join(copy, ".agent-vault", "secrets", "dir"));
    const vault = new Vault({ repoPath: copy, keyStr: k.owner.identity, autoPull: false });
    assert.equal(await vault.get("a/b"), "v");
    await assert.rejects(vault.get("link"), /secrets\/link\.enc goes through a symlink/);
    await assert.rejects(vault.get("dir/b"), /secrets\/dir\/b\.enc goes through a symlink/);
  });
});

describe("metadata", () => {
  test("timestamps normalised to UTC whole seconds; agents sorted; unknown fields ignored", async () => {
    const [one] = await open().listSecrets("timed");
    assert.deepEqual(one, {
      name: "timed/one",
      group: "timed",
      created: "2026-03-04T03:06:07Z",
      rotated: "2026-03-04T05:06:07Z",
      expires: "2027-01-01T00:00:00Z",
      authorizedAgents: ["alpha", "ci", "zeta"],
    });
  });

  test("an invalid path listed in the manifest is skipped with a warning, never read", async () => {
    const copy = tmp("badname");
    await buildVault(copy, { "a/b": { value: "v" } });
    const manifest = join(copy, ".agent-vault", "manifest.yaml");
    writeFileSync(manifest, readFileSync(manifest, "utf8") + "- name: evil\n  secrets: ['../../outside', a/b]\n");
    const warnings = await captureWarnings(async () => {
      const list = await new Vault({ repoPath: copy, autoPull: false }).listSecrets();
      assert.deepEqual(list.map((s) => [s.name, s.group]), [["a/b", "a"]]);
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /invalid secret, skipped: invalid secret path "\.\.\/\.\.\/outside"/);
  });

  test("no .meta: group and readers from the manifest, per-secret readers included", async () => {
    const copy = tmp("readers");
    await buildVault(copy, { "a/b": { value: "v" }, "c/d": { value: "w" } });
    const manifest = join(copy, ".agent-vault", "manifest.yaml");
    writeFileSync(manifest, readFileSync(manifest, "utf8").replace("groups: [app]", "groups: [c]") + "readers:\n  a/b: [ghost, ci]\n");
    for (const p of ["a/b", "c/d"]) rmSync(join(copy, ".agent-vault", "secrets", p + ".meta"));
    const list = await new Vault({ repoPath: copy, autoPull: false }).listSecrets();
    assert.deepEqual(list.map((s) => [s.name, s.group, s.authorizedAgents]), [["a/b", "a", ["ci"]], ["c/d", "c", ["ci"]]]);
  });

  test("names sort by code point", async () => {
    const names = (await open().listSecrets()).map((s) => s.name);
    assert.deepEqual(names, [...names].sort());
    assert.equal(names.at(-1), "unicode/秘密");
  });
});

describe("discovery", () => {
  test("found from a nested directory upward", async () => {
    const nested = join(dir, "deep", "er");
    mkdirSync(nested, { recursive: true });
    const vault = new Vault({ repoPath: nested, keyStr: keys.owner.identity, autoPull: false });
    assert.equal(await vault.root(), dir);
    assert.equal(await vault.get("solo"), "slash-less at the primary location");
  });

  test("no vault: VaultNotFoundError", async () => {
    const empty = tmp("novault");
    await assert.rejects(new Vault({ repoPath: empty, autoPull: false }).listSecrets(), (err) => {
      assert.ok(err instanceof VaultNotFoundError && err instanceof VaultError && err instanceof Error);
      assert.equal(err.name, "VaultNotFoundError");
      assert.match(err.message, /no \.agent-vault\/manifest\.yaml in .* or any parent directory/);
      return true;
    });
    await assert.rejects(new Vault({ repoPath: join(empty, "missing") }).get("x"), VaultNotFoundError);
  });

  test("error classes", () => {
    for (const E of [VaultNotFoundError, SecretNotFoundError, NotAuthorizedError, InvalidIdentifierError]) {
      const e = new E("m");
      assert.ok(e instanceof VaultError && e instanceof Error);
      assert.equal(e.name, E.name);
    }
    assert.deepEqual(Object.keys(sdk).sort(), [
      "InvalidIdentifierError", "NotAuthorizedError", "SecretNotFoundError", "Vault", "VaultError", "VaultNotFoundError",
      "validateName", "validateSecretPath",
    ]);
  });
});
