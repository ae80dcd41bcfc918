// Profile versions fetched, checked and cached with the Cache API in headless
// Chromium (puppeteer-core): the page (fetch.html, fetch-page.mjs) loads only
// dist/auracodec-fetch.js and what it imports (dist/auracodec.js, its wasm)
// from this test's static server, and talks to a real Python server
// (py/profiles_server.py: serve(..., profiles=store)) on another port of
// 127.0.0.1, so the profile's files are cross-origin fetches (CORS).
//
//     node --test test/browser/fetch.test.mjs
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve } from "node:path";
import { after, before, test } from "node:test";
import { HERE, REPO, noPython } from "../helpers.mjs";
import { TYPES, launch, noChromium, watch } from "./chromium.mjs";
import { startProfilesServer, trainStore } from "../profiles-server.mjs";

const ROOT = resolve(HERE, "..");
const skip = noChromium
  || (!existsSync(join(ROOT, "dist", "auracodec-fetch.js")) ? "no dist/auracodec-fetch.js (npm run build)" : noPython ?? false);

/** The built-in sample's first conversation and a few edge cases. */
function messages() {
  const lines = readFileSync(join(REPO, "src", "auracodec", "data", "sample.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  return [...lines.filter((l) => l.conv === lines[0].conv).map((l) => l.text), "", "héllo ✓ 🎉", "x".repeat(3000)];
}

/** dist/ and test/browser/ of the package, and /messages.json. */
function staticServer(texts) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path === "/messages.json") return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(texts));
    const file = join(ROOT, normalize(path));
    if (!["dist", "test/browser"].some((d) => file.startsWith(join(ROOT, d) + "/")) || !existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

let store;
let py;
let http;
let browser;
const texts = messages();
before(async () => {
  if (skip) return;
  store = trainStore();
  py = await startProfilesServer(store.root);
  http = await staticServer(texts);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  http?.close();
  await py?.stop();
});

test("Chromium: the first visit connects with the built-in profile while the current version is cached (Cache API); the next one uses it",
  { skip, timeout: 180_000 }, async (t) => {
    const page = await browser.newPage();
    const lines = watch(page);
    const requested = [];
    page.on("request", (r) => requested.push(new URL(r.url())));
    const url = `http://127.0.0.1:${http.address().port}/test/browser/fetch.html?` +
      new URLSearchParams({ ws: py.url, messages: "/messages.json" });
    await page.goto(url);
    await page.waitForFunction("window.auracodecFetchResult !== undefined", { timeout: 150_000 });
    const result = await page.evaluate("window.auracodecFetchResult");
    assert.equal(result.error, undefined, `${result.error}\n${result.stack}\n${lines.join("\n")}`);

    const v2 = py.fingerprints[0];
    const { first, second, third, fourth } = result;
    // An empty cache: the built-in profile at once, every message echoed; v2 cached behind it.
    assert.deepEqual(result.held, [[], [store.v2]]);
    assert.equal(first.fingerprint, py.fallback);
    assert.equal(first.protocol, `auracodec.1.session.${py.fallback}`);
    assert.equal(first.echoed, texts.length);
    assert.equal(first.update, store.v2);
    assert.deepEqual(first.errors, []);
    assert.deepEqual(first.closed, { code: 1000, reason: "" });
    // The cache holds v2's files under their immutable URLs: config, decoding files, manifest.
    const prefix = `${py.base}/auracodec/profiles/${store.v2}/`;
    assert.deepEqual(result.keys.map((k) => k.slice(prefix.length)).sort(),
      ["auracodec.toml", "brio.model", "manifest.json", "templates.toml", "zstd.dict"]);
    // The second visit: v2, nothing fetched.
    assert.equal(second.fingerprint, v2);
    assert.equal(second.echoed, texts.length);
    assert.equal(second.update, null);
    assert.deepEqual(second.errors, []);
    // A damaged cached file: caught, the built-in profile, fetched again; then v2 again.
    assert.equal(third.fingerprint, py.fallback);
    assert.equal(third.echoed, 5);
    assert.equal(third.update, store.v2);
    assert.equal(third.errors.length, 1);
    assert.match(third.errors[0], /^ConfigError: .*zstd\.dict is \d+ bytes of sha256 [0-9a-f]{16}, the manifest says/);
    assert.equal(result.restored, true);
    assert.equal(fourth.fingerprint, v2);
    assert.deepEqual(fourth.errors, []);

    // What the page asked the Python server for: each file of v2 twice (the
    // first fetch, the one after the damage), never costs.json or anything else.
    const fromPython = requested.filter((u) => u.port === String(py.port) && u.protocol === "http:").map((u) => u.pathname);
    const files = fromPython.filter((p) => p !== "/auracodec/profiles/current").map((p) => p.slice(`/auracodec/profiles/${store.v2}/`.length));
    const counts = Object.fromEntries([...new Set(files)].sort().map((f) => [f, files.filter((x) => x === f).length]));
    assert.deepEqual(counts, { "auracodec.toml": 2, "brio.model": 2, "manifest.json": 2, "templates.toml": 2, "zstd.dict": 2 });
    assert.equal(fromPython.filter((p) => p === "/auracodec/profiles/current").length, 4);
    // The server agreed on what the page says, connection by connection.
    const agreed = py.events.filter((e) => e.event === "connected").map((e) => e.fingerprint);
    assert.deepEqual(agreed, [py.fallback, v2, v2, py.fallback, v2]); // the third: v2 picked, refused by the page
    t.diagnostic(`${result.userAgent}: first connection ${first.connectedMs.toFixed(0)} ms (built-in profile), v2 cached after ` +
      `${first.updatedMs.toFixed(0)} ms; second connection ${second.connectedMs.toFixed(0)} ms (v2 from the Cache API, checked)`);
  });
