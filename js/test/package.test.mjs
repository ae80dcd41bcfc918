// What `npm pack` puts in the published package: the modules, the bundle and
// its .wasm, the CLI, and the licences of the code compiled into the .wasm;
// and the version, which is the Python package's.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { HERE, REPO } from "./helpers.mjs";

const root = join(HERE, "..");
const skip = existsSync(join(root, "dist", "auracodec.wasm")) ? false : "no dist/ (npm run build)";

test("npm pack: modules, bundle, wasm, CLI and licences; nothing else", { skip }, () => {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const [pack] = JSON.parse(execFileSync(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" }));
  const files = new Set(pack.files.map((f) => f.path));
  for (const f of [
    "package.json", "README.md", "LICENSE",
    "dist/index.js", "dist/index.d.ts", "dist/node.js", "dist/ws/index.js",
    "dist/auracodec.js", "dist/auracodec-fetch.js", "dist/auracodec.wasm", "dist/fetch.js",
    "cli/auracodec-js.mjs", "cli/pyjson.mjs",
    "vendor/zstd/LICENSE", "vendor/brotli/LICENSE",
  ]) {
    assert.ok(files.has(f), `${f} is not in the package`);
  }
  for (const f of files) {
    assert.match(f, /^(package\.json|README\.md|LICENSE|dist\/|cli\/|vendor\/(zstd|brotli)\/LICENSE$)/, `${f} should not be published`);
  }
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  for (const target of Object.values(pkg.exports).flatMap((e) => Object.values(e))) {
    assert.ok(files.has(target.replace(/^\.\//, "")), `package.json exports ${target}, which is not packed`);
  }
  assert.ok(files.has(pkg.bin["auracodec-js"].replace(/^\.\//, "")));
});

test("package.json: the Python package's version and licence", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const py = readFileSync(join(REPO, "src", "auracodec", "_version.py"), "utf8").match(/__version__ = "([^"]+)"/)[1];
  assert.equal(pkg.version, py);
  const pyproject = readFileSync(join(REPO, "pyproject.toml"), "utf8");
  assert.match(pyproject, new RegExp(`^license = "${pkg.license}"`, "m"));
  assert.equal(readFileSync(join(root, "LICENSE"), "utf8"), readFileSync(join(REPO, "LICENSE"), "utf8"));
});
