// Profile versions fetched by hash, checked, cached, and never waited for
// (dist/fetch.js), against a real Python server (py/profiles_server.py:
// auracodec.websocket.serve(..., profiles=store)) on 127.0.0.1 serving a
// real store with two versions trained on the built-in sample.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ConfigError, HandshakeError, Profile, connect, loadProfile, subprotocol } from "../dist/node.js";
import {
  PROFILES_PATH, cachedProfileIds, connectWithProfiles, directoryCache, fetchProfile, versionId,
} from "../dist/fetch.js";
import { CORPUS, REPO, noCorpus, noPython, tempDir } from "./helpers.mjs";
import { auracodec, pythonIds, startProfilesServer, trainStore } from "./profiles-server.mjs";

const skip = noPython ?? false;

/** A chat/test conversation (else the built-in sample's first), and edge cases. */
function messages() {
  const file = noCorpus ? join(REPO, "src", "auracodec", "data", "sample.jsonl") : join(CORPUS, "chat", "test.jsonl");
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const conv = lines.filter((l) => l.conv === lines[0].conv).map((l) => l.text);
  return [...conv, "", "héllo wörld ✓ 🎉", "x".repeat(5000), "GET /api/v1/users/12345?limit=20 HTTP/1.1"];
}

/** Echo every message through the connection; each must come back as sent. */
async function roundTrip(conn, texts = messages()) {
  for (const [i, m] of texts.entries()) {
    conn.send(m, { isolated: i % 7 === 6 });
    assert.equal(await conn.recv(), m, `message ${i}`);
  }
}

const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");

describe("profile versions fetched by hash, cached, never waited for", { skip }, () => {
  let store;
  let server;
  let cacheDir;
  let cache;
  const errors = [];
  const onError = (err) => errors.push(err);

  before(async () => {
    store = trainStore();
    server = await startProfilesServer(store.root);
    cacheDir = join(tempDir("auracodec-fetch-cache-"), "profiles");
    cache = await directoryCache(cacheDir);
  });
  after(() => server?.stop());

  test("the server speaks v2 (current), v1, then the fallback, which is Profile.defaults()", async () => {
    const fallback = await Profile.defaults();
    const manifest = (id) => JSON.parse(readFileSync(join(store.root, "versions", id, "manifest.json"), "utf8"));
    assert.deepEqual(server.fingerprints, [manifest(store.v2).fingerprint, manifest(store.v1).fingerprint, fallback.fingerprint]);
    assert.equal(server.current, store.v2);
    assert.equal(server.fallback, fallback.fingerprint);
  });

  test("connect() offers several pipelines and codes with the one the server picks; only that one is built", async () => {
    const v1 = await loadProfile(join(store.root, "versions", store.v1));
    const fallback = await Profile.defaults();
    let built = 0;
    const counted = (profile) => ({ fingerprint: profile.fingerprint, maxMessageSize: profile.maxMessageSize, pipeline: () => (built++, profile.pipeline()) });
    // The server prefers v1 to the fallback, whatever the client's order.
    for (const offers of [[counted(v1), counted(fallback)], [counted(fallback), counted(v1)]]) {
      const conn = await connect(server.url, { pipeline: offers });
      assert.equal(conn.pipeline.fingerprint, v1.fingerprint);
      assert.equal(conn.subprotocol, subprotocol(v1));
      await roundTrip(conn, messages().slice(0, 6));
      await conn.close();
      conn.pipeline.close();
    }
    assert.equal(built, 2);
    // A Profile is an offer as it is; a Pipeline too.
    const conn = await connect(server.url, { pipeline: [fallback.pipeline(), v1] });
    assert.equal(conn.pipeline.fingerprint, v1.fingerprint);
    await conn.close();
    // Offering nothing the server speaks: refused, every offer named.
    const only = async (codec) => {
      const file = join(tempDir(), `${codec}.toml`);
      writeFileSync(file, `[pipeline]\ncodecs = ["${codec}"]\n`);
      return loadProfile(file);
    };
    const [z, b] = [await only("zstd"), await only("brotli")];
    await assert.rejects(connect(server.url, { pipeline: [z, z.pipeline(), b] }), (e) =>
      e instanceof HandshakeError && e.status === 400 && e.message.includes(`you offered ${subprotocol(z)}, ${subprotocol(b)}. `));
  });

  test("the first connection, with an empty cache, uses the fallback at once; the current version is fetched behind it", async () => {
    assert.deepEqual(await cachedProfileIds(server.base, { cache }), []);
    const conn = await connectWithProfiles(server.url, { cache, onError });
    assert.equal(conn.pipeline.fingerprint, server.fallback);
    assert.equal(conn.subprotocol, `auracodec.1.session.${server.fallback}`);
    await roundTrip(conn);
    assert.equal(await conn.update, store.v2);
    await conn.close();
    assert.deepEqual(errors, []);
    const agreed = server.events.filter((e) => e.event === "connected").at(-1);
    assert.equal(agreed.fingerprint, server.fallback);
  });

  test("the cache holds v2 whole: the files a client needs, as the store has them, and nothing else", () => {
    assert.deepEqual(readdirSync(cacheDir), [store.v2]);
    const version = join(store.root, "versions", store.v2);
    const manifest = JSON.parse(readFileSync(join(version, "manifest.json"), "utf8"));
    const wanted = manifest.files.filter((f) => f.role !== "encoding").map((f) => f.name);
    assert.deepEqual(readdirSync(join(cacheDir, store.v2)).sort(), [...wanted, "manifest.json"].sort());
    for (const name of [...wanted, "manifest.json"]) {
      assert.deepEqual(readFileSync(join(cacheDir, store.v2, name)), readFileSync(join(version, name)), name);
    }
    for (const f of manifest.files.filter((f) => f.role !== "encoding")) {
      assert.equal(sha(readFileSync(join(cacheDir, store.v2, f.name))), f.sha256);
    }
  });

  test("the second connection upgrades to the current version; nothing more to fetch", async () => {
    assert.deepEqual(await cachedProfileIds(server.base, { cache }), [store.v2]);
    const conn = await connectWithProfiles(server.url, { cache, onError });
    const v2 = JSON.parse(readFileSync(join(store.root, "versions", store.v2, "manifest.json"), "utf8"));
    assert.equal(conn.pipeline.fingerprint, v2.fingerprint);
    await roundTrip(conn);
    assert.equal(await conn.update, null);
    await conn.close();
    conn.pipeline.close();
    assert.equal(server.events.filter((e) => e.event === "connected").at(-1).fingerprint, v2.fingerprint);
    assert.deepEqual(errors, []);
  });

  test("a tampered cached file is detected: the connection falls back at once, the version is dropped and fetched again", async () => {
    const file = join(cacheDir, store.v2, "zstd.dict");
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[100] ^= 1;
    writeFileSync(file, bad);
    errors.length = 0;
    const conn = await connectWithProfiles(server.url, { cache, onError });
    assert.equal(conn.pipeline.fingerprint, server.fallback);
    await roundTrip(conn, messages().slice(0, 8));
    assert.equal(await conn.update, store.v2);
    await conn.close();
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof ConfigError, errors[0].stack);
    assert.match(errors[0].message, new RegExp(`${store.v2}/: zstd\\.dict is \\d+ bytes of sha256 [0-9a-f]{16}, the manifest says`));
    assert.deepEqual(readFileSync(file), good);
    // fetchProfile itself: a damaged copy is fetched again.
    writeFileSync(file, bad);
    const profile = await fetchProfile(server.base, store.v2, { cache, wasm: null });
    assert.equal(profile.fingerprint, JSON.parse(readFileSync(join(cacheDir, store.v2, "manifest.json"), "utf8")).fingerprint);
    assert.deepEqual(readFileSync(file), good);
  });

  test("after selecting v1 and a restart, a client holding both versions gets v1", async () => {
    await fetchProfile(server.base, store.v1, { cache, wasm: null });
    assert.deepEqual(await cachedProfileIds(server.base, { cache }), [store.v2, store.v1]); // newest first
    auracodec("profiles", "select", store.root, store.v1);
    await server.stop();
    server = await startProfilesServer(store.root, server.port);
    assert.equal(server.current, store.v1);
    const v1 = JSON.parse(readFileSync(join(store.root, "versions", store.v1, "manifest.json"), "utf8"));
    assert.equal(server.fingerprints[0], v1.fingerprint);
    const conn = await connectWithProfiles(server.url, { cache, onError });
    assert.equal(conn.pipeline.fingerprint, v1.fingerprint);
    await roundTrip(conn);
    assert.equal(await conn.update, null); // v1 is held
    await conn.close();
    conn.pipeline.close();
    auracodec("profiles", "select", store.root, store.v2);
  });

  test("the cache keeps the server's current version and the newest others, `keep` in all", async () => {
    const c = await directoryCache(join(tempDir(), "profiles"));
    const fake = (n) => {
      const id = sha(`fake ${n}`);
      const manifest = { format: 1, id, fingerprint: sha(`fp ${n}`).slice(0, 16), created: `2020-01-0${n}T00:00:00.000000Z`, files: [] };
      return [id, new Map([["manifest.json", new TextEncoder().encode(JSON.stringify(manifest))]])];
    };
    const fakes = [1, 2, 3, 4].map(fake);
    for (const [id, files] of fakes) await c.write(id, files);
    const conn = await connectWithProfiles(server.url, { cache: c, onError, keep: 3 });
    assert.equal(conn.pipeline.fingerprint, server.fallback); // none of the fakes is spoken
    const current = server.current;
    assert.equal(await conn.update, current);
    await conn.close();
    // The current, and the two newest fakes (4 and 3).
    assert.deepEqual((await c.ids()).sort(), [current, fakes[3][0], fakes[2][0]].sort());
    const again = await connectWithProfiles(server.url, { cache: c, onError, keep: 1 });
    assert.equal(await again.update, null);
    await again.close();
    again.pipeline.close();
    assert.deepEqual(await c.ids(), [current]);
    assert.deepEqual(errors.filter((e) => !(e instanceof ConfigError && /zstd\.dict/.test(e.message))), []);
  });

  test("fetchProfile refuses what is not the version asked for", async () => {
    // A server of our own that serves v2's files, changed.
    const version = join(store.root, "versions", store.v2);
    let change = () => {};
    const http = createServer((req, res) => {
      const name = req.url.slice(`${PROFILES_PATH}${store.v2}/`.length);
      const files = { "manifest.json": readFileSync(join(version, "manifest.json")) };
      for (const f of JSON.parse(files["manifest.json"]).files) files[f.name] = readFileSync(join(version, f.name));
      change(files);
      if (!(name in files)) return res.writeHead(404).end();
      res.writeHead(200).end(files[name]);
    });
    await new Promise((ok) => http.listen(0, "127.0.0.1", ok));
    const base = `http://127.0.0.1:${http.address().port}`;
    const refused = async (pattern) => {
      await assert.rejects(fetchProfile(base, store.v2, { cache: null, wasm: null }), (e) => {
        assert.ok(e instanceof ConfigError, e.stack);
        assert.match(e.message, pattern);
        return true;
      });
    };
    try {
      assert.ok(await fetchProfile(base, store.v2, { cache: null, wasm: null })); // unchanged: fine
      change = (files) => (files["templates.toml"] = Buffer.concat([files["templates.toml"], Buffer.from("\n")]));
      await refused(/templates\.toml is \d+ bytes of sha256 .*, the manifest says/);
      // The manifest agrees with the changed file, but the content is not v2.
      change = (files) => {
        files["templates.toml"] = Buffer.concat([files["templates.toml"], Buffer.from("\n")]);
        const m = JSON.parse(files["manifest.json"]);
        const t = m.files.find((f) => f.name === "templates.toml");
        t.sha256 = sha(files["templates.toml"]);
        t.size = files["templates.toml"].length;
        files["manifest.json"] = Buffer.from(JSON.stringify(m));
      };
      await refused(new RegExp(`the content's id is [0-9a-f]{64}, the manifest says ${store.v2}, not ${store.v2}`));
      // A manifest whose fingerprint is not what the files build.
      change = (files) => {
        const m = JSON.parse(files["manifest.json"]);
        m.fingerprint = "0123456789abcdef";
        files["manifest.json"] = Buffer.from(JSON.stringify(m));
      };
      await refused(/builds a pipeline of fingerprint [0-9a-f]{16}, the manifest records 0123456789abcdef/);
      change = (files) => delete files["brio.model"];
      await refused(/brio\.model.*HTTP 404/);
      await assert.rejects(fetchProfile(base, "current"), /expected a version id/);
    } finally {
      http.close();
    }
    // The real server: an id it does not have.
    await assert.rejects(fetchProfile(server.base, "0".repeat(64), { cache: null }), (e) => e instanceof ConfigError && /HTTP 404/.test(e.message));
  });

  test("the directory cache writes a version whole: nothing is listed until it is complete", async () => {
    const dir = join(tempDir(), "c");
    const c = await directoryCache(dir);
    assert.deepEqual(await c.ids(), []);
    const files = new Map([["manifest.json", new Uint8Array([1])], ["sub/a.toml", new Uint8Array([2])]]);
    await c.write(store.v1, files);
    assert.deepEqual(readdirSync(dir), [store.v1]); // no temporary directory left
    assert.deepEqual(await c.read(store.v1, "sub/a.toml"), new Uint8Array([2]));
    await c.write(store.v1, files); // already there (another process, say): kept
    assert.deepEqual(readdirSync(dir), [store.v1]);
    mkdirSync(join(dir, ".tmp-half-written"));
    mkdirSync(join(dir, "not-an-id"));
    assert.deepEqual(await c.ids(), [store.v1]);
    await c.delete(store.v1);
    assert.deepEqual(await c.ids(), []);
    assert.equal(existsSync(join(dir, store.v1)), false);
  });
});

describe("versionId is Python's version_id", { skip }, () => {
  test("on trained versions and on configs with floats, non-ASCII strings and keys, odd names", () => {
    const store = trainStore();
    const dirs = [join(store.root, "versions", store.v1), join(store.root, "versions", store.v2)];
    const odd = (name, toml, files = {}) => {
      const dir = join(tempDir("auracodec-vid-"), name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "auracodec.toml"), toml);
      for (const [n, data] of Object.entries(files)) {
        mkdirSync(join(dir, n, ".."), { recursive: true });
        writeFileSync(join(dir, n), data);
      }
      dirs.push(dir);
    };
    odd("floats", `
[pipeline]
max_message_size = 1000
[codecs.x]
a = 0.1
b = 1e300
c = -0.0
d = inf
e = -inf
f = nan
g = 1e16
h = 123456789012345678.0
i = 5e-324
j = 1.5e-7
k = 100.0
l = 0.0001
m = 9999999999999998.0
n = [1.0, 2, 3.25]
`);
    odd("strings", `
[codecs.binary_semantic]
patterns = { "é" = "caf[eé]", "z" = "\\\\d+", "Z" = "x", "𝄞" = "🎉", "\\uffff" = "\\u0001\\t\\"'\\\\", "a b" = "\\u2028\\u007f" }
[codecs."zé"]
"ключ" = "значение ✓"
big = 9223372036854775807
neg = -9223372036854775808
hex = 0x10
yes = true
nested = { deeper = { list = [[1, "two"], []] } }
[[codecs.t.rows]]
v = "a"
[[codecs.t.rows]]
v = "b"
[selector]
estimates = "zstd.dict"
policy = "smallest"
[observers.log]
path = "whatever"
`, { "zstd.dict": "dictionary" });
    odd("names", `
[pipeline]
name = "zstd.dict"
[codecs.zstd]
dictionary = "./zstd.dict"
[codecs.brio]
model = "sub/../brio.model"
[codecs.binary_semantic]
libraries = ["lib/a.toml", "lib/./b.toml", "missing.toml", "../outside.toml", "", "lib"]
[codecs.other]
same = "copy.bin"
`, { "zstd.dict": "dictionary", "brio.model": "model", "lib/a.toml": "a = 1", "lib/b.toml": "b = 2", "copy.bin": "dictionary" });
    const python = pythonIds(...dirs);
    for (const dir of dirs) {
      const { id, artifacts } = python[dir];
      assert.equal(versionId(readFileSync(join(dir, "auracodec.toml")), artifacts), id, dir);
    }
    assert.equal(python[dirs[0]].id, store.v1);
    assert.equal(python[dirs.at(-1)].artifacts.length, 5);
    // Any change to the config's decoding content, or to an artifact, is another id.
    const [config, artifacts] = [readFileSync(join(dirs[0], "auracodec.toml")), python[dirs[0]].artifacts];
    assert.notEqual(versionId(Buffer.concat([config, Buffer.from("\n[codecs.extra]\nlevel = 3\n")]), artifacts), store.v1);
    assert.notEqual(versionId(config, artifacts.map((a, i) => (i ? a : { ...a, size: a.size + 1 }))), store.v1);
    assert.equal(versionId(Buffer.concat([config, Buffer.from("\n# a comment\n")]), artifacts), store.v1);
    assert.throws(() => versionId(Buffer.from("[a\n"), []), ConfigError);
  });
});
