// Streamed replies across languages: BRIO with continuations
// (`[codecs.brio] streams = true`, session context 0x23). Python's side is
// test/py/streams.py, whose docstring is the protocol both sides follow: the
// deltas of a few chat2/test replies (auracodec.streams.split_deltas; built-in
// sample text without the corpus), raw and as OpenAI-style JSON chunks.
// Profiles: the defaults plus `streams = true` (needs only Python), and a
// profile trained on chat/train plus `streams = true` (needs the corpus;
// AURACODEC_JS_PROFILE names one already trained).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, DecodeError, Profile, memorySource } from "../dist/index.js";
import { loadProfile } from "../dist/node.js";
import { CORPUS, HERE, PYTHON, REPO, hex, noCorpus, noPython, python, tempDir, unhex, venv } from "./helpers.mjs";

const REPLIES = join(CORPUS, "chat2", "test.jsonl");
const MUTATIONS = Number(process.env.AURACODEC_JS_STREAM_MUTATIONS ?? 400);
const SEED = process.env.AURACODEC_JS_SEED ?? "20251130";
const FILES = ["auracodec.toml", "brio.model", "zstd.dict", "templates.toml", "costs.json"];

function py(...args) {
  return execFileSync(PYTHON, [join(HERE, "py", "streams.py"), ...args], {
    encoding: "utf8",
    env: { ...process.env, PYTHONHASHSEED: "0", PYTHONPATH: [join(REPO, "src"), process.env.PYTHONPATH].filter(Boolean).join(":") },
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** `dir` (a profile, or null for the defaults) copied with `streams = true` in `[codecs.brio]`. */
function withStreams(dir) {
  const out = tempDir("auracodec-streams-");
  let toml = "";
  if (dir !== null) {
    for (const f of FILES) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(out, f));
    toml = readFileSync(join(dir, "auracodec.toml"), "utf8");
  }
  toml = /^\[codecs\.brio\]$/m.test(toml) ? toml.replace(/^\[codecs\.brio\]$/m, "[codecs.brio]\nstreams = true") : `${toml}\n[codecs.brio]\nstreams = true\n`;
  writeFileSync(join(out, "auracodec.toml"), toml);
  return out;
}

const profiles = new Map();
function profile(kind) {
  if (!profiles.has(kind)) {
    let base = null;
    if (kind === "trained") {
      base = process.env.AURACODEC_JS_PROFILE;
      if (!base || !existsSync(join(base, "auracodec.toml"))) {
        base = join(tempDir(), "profile");
        venv("auracodec", "train", join(CORPUS, "chat", "train.jsonl"), "-o", base);
      }
    }
    profiles.set(kind, withStreams(base));
  }
  return profiles.get(kind);
}

const frames = new Map();
/** Python's frames of the streams over `kind`'s profile (encoded once). */
function pythonFrames(kind) {
  if (!frames.has(kind)) {
    const out = join(tempDir(), "py-streams.json");
    py("encode", profile(kind), REPLIES, out);
    frames.set(kind, { path: out, data: JSON.parse(readFileSync(out, "utf8")) });
  }
  return frames.get(kind);
}

/** The method id of a session frame (after its prefix). */
function methodOf(f) {
  if (f[0] !== 0xff) return f[0];
  if (f[1] !== 0xff) return f[1];
  return f[f[2] & 8 ? 5 : 3];
}

const KINDS = [
  ["untrained", noPython],
  ["trained", noPython ?? noCorpus],
];

for (const [kind, why] of KINDS) {
  const skip = why ?? false;

  test(`streams (${kind}): the fingerprint is Python's, with streams: 1`, { skip, timeout: 300_000 }, async () => {
    const dir = profile(kind);
    const want = JSON.parse(python("fingerprint", dir));
    const p = await loadProfile(dir);
    assert.equal(p.fingerprint, want.fingerprint);
    for (const c of p.codecs) assert.deepEqual({ ...c.fingerprint }, want.codecs[c.name], c.name);
    assert.equal(want.codecs.brio.streams, 1);
    assert.equal(p.pipeline().fingerprint, want.fingerprint);
  });

  test(`streams (${kind}): Python encodes deltas and JSON chunks, JavaScript decodes them exactly`, { skip, timeout: 300_000 }, async () => {
    const { data } = pythonFrames(kind);
    const pipe = (await loadProfile(profile(kind))).pipeline();
    assert.equal(pipe.fingerprint, data.fingerprint);
    for (const s of data.streams) {
      const a = pipe.session(`c-${s.name}`);
      const b = pipe.session(`s-${s.name}`);
      // JavaScript's own sender, for parity: the frames the context codes alone are Python's.
      const ja = pipe.session({ id: `jc-${s.name}`, checkEvery: s.check });
      const jb = pipe.session({ id: `js-${s.name}`, checkEvery: s.check });
      const mismatches = [];
      let continued = 0;
      let same = 0;
      let sameContinued = 0;
      for (const e of s.events) {
        const f = unhex(e.f);
        const receiver = e.d === "c" ? b : a;
        let got;
        try {
          got = hex(receiver.decodeBytes(f));
        } catch (err) {
          got = `${err.name}: ${err.message}`;
        }
        if (got !== e.m) mismatches.push({ f: e.f, got, want: e.m });
        const mine = hex((e.d === "c" ? ja : jb).encode(unhex(e.m)));
        const method = methodOf(f);
        continued += method === 0x23;
        same += mine === e.f;
        sameContinued += method === 0x23 && mine === e.f;
      }
      console.log(`${kind}/${s.name}: ${s.events.length} frames, ${continued} of them 0x23; JavaScript's frames identical: ${same} (0x23: ${sameContinued})`);
      assert.deepEqual(mismatches.slice(0, 5), []);
      assert.ok(continued > s.events.length / 2, `${continued} of ${s.events.length} frames 0x23`);
      assert.equal(sameContinued, continued); // the solo path, as Python's
    }
  });

  test(`streams (${kind}): JavaScript encodes deltas and JSON chunks, Python decodes them exactly`, { skip, timeout: 300_000 }, async () => {
    const { data } = pythonFrames(kind);
    const pipe = (await loadProfile(profile(kind))).pipeline();
    const streams = data.streams.map((s, k) => {
      const a = pipe.session({ id: `c${k}`, checkEvery: s.check });
      const b = pipe.session({ id: `s${k}`, checkEvery: s.check });
      let continued = 0;
      const events = s.events.map((e) => {
        const [sender, receiver] = e.d === "c" ? [a, b] : [b, a];
        const f = sender.encode(unhex(e.m));
        assert.ok(f.length <= unhex(e.m).length + 1 + (s.check ? 5 : 0));
        assert.equal(hex(receiver.decodeBytes(f)), e.m); // JavaScript's own peer
        continued += methodOf(f) === 0x23;
        return { d: e.d, m: e.m, f: hex(f) };
      });
      assert.ok(continued > events.length / 2, `${s.name}: ${continued} of ${events.length} frames 0x23`);
      return { name: s.name, check: s.check, events };
    });
    const dir = tempDir();
    const file = join(dir, "js-streams.json");
    writeFileSync(file, JSON.stringify({ fingerprint: pipe.fingerprint, streams }));
    const out = join(dir, "py-report.json");
    py("decode", profile(kind), file, out);
    const report = JSON.parse(readFileSync(out, "utf8"));
    console.log(`${kind}: Python decoded ${report.frames} frames of JavaScript's streams; ${report.mismatches.length} mismatches`);
    assert.equal(report.fingerprint, pipe.fingerprint);
    assert.equal(report.frames, streams.reduce((n, s) => n + s.events.length, 0));
    assert.deepEqual(report.mismatches.slice(0, 5), []);
  });

  test(`streams (${kind}): ${MUTATIONS} damaged 0x23 frames: JavaScript's outcome (class and message) is Python's`, { skip, timeout: 300_000 }, async () => {
    const { path, data } = pythonFrames(kind);
    const out = join(tempDir(), "mutations.json");
    py("mutate", profile(kind), path, String(MUTATIONS), out, SEED);
    const rows = JSON.parse(readFileSync(out, "utf8"));
    assert.equal(rows.length, MUTATIONS);
    const pipe = (await loadProfile(profile(kind))).pipeline();
    const outcome = (call) => {
      try {
        const r = call();
        return hex(typeof r === "string" ? new TextEncoder().encode(r) : r);
      } catch (err) {
        if (!(err instanceof DecodeError)) return [`not a DecodeError: ${err?.name}`, String(err?.message)];
        return [err.name, err.message];
      }
    };
    const byName = new Map(data.streams.map((s) => [s.name, s.events.filter((e) => e.d === "s")]));
    const differ = [];
    const classes = {};
    for (const row of rows) {
      const mine = byName.get(row.stream);
      const receiver = pipe.session("r");
      for (const e of mine.slice(0, row.pos)) assert.equal(hex(receiver.decodeBytes(unhex(e.f))), e.m);
      const r = outcome(() => receiver.decode(unhex(row.f)));
      const key = Array.isArray(r) ? r[0] : "decodes";
      classes[key] = (classes[key] ?? 0) + 1;
      if (JSON.stringify(r) !== JSON.stringify(row.r)) differ.push({ where: "r", f: row.f, mine: r, theirs: row.r });
      if (row.after !== null) {
        const after = outcome(() => receiver.decodeBytes(unhex(mine[row.pos + 1].f)));
        if (JSON.stringify(after) !== JSON.stringify(row.after)) differ.push({ where: "after", f: row.f, mine: after, theirs: row.after });
      }
    }
    console.log(`${kind}: ${MUTATIONS} damaged 0x23 frames, JavaScript's outcomes ${JSON.stringify(classes)}; ${differ.length} differ from Python's`);
    assert.deepEqual(differ.slice(0, 5), []);
    assert.ok(!Object.keys(classes).some((c) => c.startsWith("not a DecodeError")));
  });
}

test("streams: off by default (0x13, no streams in the fingerprint); a non-bool is a ConfigError naming the key", async () => {
  const load = (toml) => Profile.load(memorySource({ "auracodec.toml": new TextEncoder().encode(toml) }));
  const off = await load("[codecs.brio]\nstreams = false\n");
  assert.equal(off.fingerprint, (await Profile.defaults()).fingerprint);
  assert.equal("streams" in off.codecs.find((c) => c.name === "brio").fingerprint, false);
  const on = await load("[codecs.brio]\nstreams = true\n");
  assert.notEqual(on.fingerprint, off.fingerprint);
  assert.equal(on.codecs.find((c) => c.name === "brio").fingerprint.streams, 1);
  const ids = (p) => {
    const pipe = p.pipeline();
    const a = pipe.session();
    const b = pipe.session();
    const seen = new Set();
    const text = "The quick brown fox jumps over the lazy dog, and then the quick brown fox jumps over the lazy dog again. ";
    for (const m of (text + text).match(/ ?\w{1,4}| ?[^\w\s]|\s+/g)) {
      const f = a.encode(m);
      seen.add(methodOf(f));
      assert.equal(b.decode(f), m);
    }
    return seen;
  };
  assert.ok(ids(on).has(0x23));
  assert.ok(!ids(off).has(0x23));
  for (const [value, got] of [["1", "1 (int)"], ['"yes"', "'yes' (str)"]]) {
    await assert.rejects(load(`[codecs.brio]\nstreams = ${value}\n`), (e) => e instanceof ConfigError &&
      e.message === `auracodec.toml: codecs.brio.streams: expected true or false, got ${got}`);
  }
});
