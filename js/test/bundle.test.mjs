// The one-module build (npm run build): dist/auracodec.js loads
// dist/auracodec.wasm beside it and works alone, no other module of dist/.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { GOLDEN, HERE, goldenMessage, hex, unhex } from "./helpers.mjs";

const bundle = join(HERE, "..", "dist", "auracodec.js");
const skip = existsSync(bundle) ? false : "no dist/auracodec.js (npm run build)";

test("dist/auracodec.js: one module, the API, BRIO golden payloads, a session", { skip }, async () => {
  const text = readFileSync(bundle, "utf8");
  assert.doesNotMatch(text, /^import .* from/m); // no static imports: one file
  const ac = await import(bundle);
  for (const name of ["loadProfile", "Profile", "Pipeline", "Session", "DecodeError", "SessionError", "CorruptPayload", "loadWasm", "connect", "AuraConnection"]) {
    assert.equal(typeof ac[name], "function", name);
  }
  const profile = await ac.Profile.defaults();
  assert.ok(profile.wasm, "the wasm core beside the bundle was loaded");
  const pipe = profile.pipeline();
  for (const entry of JSON.parse(readFileSync(join(GOLDEN, "brio.json"), "utf8"))) {
    const message = goldenMessage(entry.message);
    if (message.length > 32 * (entry.payload.length / 2) + 128) continue; // beyond the default max_ratio
    assert.equal(hex(pipe.decodeBytes(unhex("03" + entry.payload))), hex(message));
  }
  const a = pipe.session();
  const b = pipe.session();
  for (const m of ["hello there", "hello there again", "and a third hello there"]) assert.equal(b.decode(a.encode(m)), m);
  assert.throws(() => pipe.decode(Uint8Array.of(0x99, 1)), ac.UnknownMethod);
  assert.throws(() => pipe.decode(Uint8Array.of(0x02)), ac.TruncatedFrame);
  a.close();
  b.close();
  pipe.close();
});

test("the budgets: dist/auracodec.js at most 30 KB, dist/auracodec-fetch.js 4 KB and dist/auracodec.wasm 250 KB after gzip -9 (KB = 1,000 bytes)", { skip }, () => {
  const gz = (name) => gzipSync(readFileSync(join(HERE, "..", "dist", name)), { level: 9 }).length;
  assert.ok(gz("auracodec.js") <= 30_000, `auracodec.js: ${gz("auracodec.js")} bytes gzip`);
  assert.ok(gz("auracodec-fetch.js") <= 4_000, `auracodec-fetch.js: ${gz("auracodec-fetch.js")} bytes gzip`);
  assert.ok(gz("auracodec.wasm") <= 250_000, `auracodec.wasm: ${gz("auracodec.wasm")} bytes gzip`);
});

test("dist/auracodec-fetch.js imports the bundle beside it and nothing else", { skip }, async () => {
  const text = readFileSync(join(HERE, "..", "dist", "auracodec-fetch.js"), "utf8");
  const imports = [...text.matchAll(/\bfrom\s*"([^"]+)"|\bimport\s*\(\s*"([^"]+)"/g)].map((m) => m[1] ?? m[2]);
  assert.deepEqual([...new Set(imports)], ["./auracodec.js"]);
  const fetchModule = await import(join(HERE, "..", "dist", "auracodec-fetch.js"));
  const core = await import(bundle);
  for (const name of ["connectWithProfiles", "fetchProfile", "cachedProfileIds", "versionId", "browserCache", "directoryCache"]) {
    assert.equal(typeof fetchModule[name], "function", name);
  }
  // One copy of the classes: its errors are the bundle's.
  await assert.rejects(fetchModule.fetchProfile("http://127.0.0.1:9/", "nope"), core.ConfigError);
});
