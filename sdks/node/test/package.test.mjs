// The npm tarball ships the compiled ESM and its type declarations, nothing else.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SDK_DIR } from "./helpers.mjs";

const pkg = JSON.parse(readFileSync(join(SDK_DIR, "package.json"), "utf8"));

test("package.json: ESM with exports and types", () => {
  assert.equal(pkg.type, "module");
  assert.equal(pkg.exports["."].import, "./dist/index.js");
  assert.equal(pkg.exports["."].types, "./dist/index.d.ts");
  assert.equal(pkg.types, "./dist/index.d.ts");
  assert.deepEqual(Object.keys(pkg.dependencies).sort(), ["age-encryption", "yaml"]);
});

test("npm pack contains dist/*.js and dist/*.d.ts only (plus package.json and README)", () => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: SDK_DIR, encoding: "utf8" });
  const files = JSON.parse(out)[0].files.map((f) => f.path).sort();
  assert.ok(files.includes("dist/index.js") && files.includes("dist/index.d.ts"));
  assert.ok(files.includes("README.md") && files.includes("package.json"));
  for (const f of files) assert.match(f, /^(dist\/[a-z]+\.(js|d\.ts)|package\.json|README\.md)$/);
});

test("the package resolves by its own name", async () => {
  const self = await import(pkg.name);
  assert.equal(typeof self.Vault, "function");
});
