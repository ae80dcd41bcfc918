// zstd encoding in JavaScript (ZstdCodec.encode, ZstdContext.encode), which
// must write Python's payloads byte for byte: the wasm module has the same
// zstd 1.5.7 as python-zstandard 0.25.0 and makes the calls Python makes
// (js/wasm/auracodec.c, "Encoding").
//
// Without Python: the golden vectors (Python's payloads, committed), the
// template golden vectors with zstd as the remainder codec, and the codec's
// behaviour (dictionaries, close(), large messages, long_size, memory).
// With Python (AURACODEC_PYTHON, default: python3 on PATH) and the shared
// corpus: corpus samples and edge cases through Python's and JavaScript's
// codecs built from the same profiles (a trained dictionary, raw content,
// none; every level 1-22, stateless and as long_level; session contexts;
// templates whose remainders zstd packs), every payload compared
// (test/py/zstd_encode.py is Python's side).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  ConfigError,
  MessageTooLarge,
  Pipeline,
  PluginError,
  Profile,
  TemplateCodec,
  WasmError,
  ZstdCodec,
  ZstdContext,
  loadWasm,
  memorySource,
} from "../dist/index.js";
import { loadProfile } from "../dist/node.js";
import { CORPUS, GOLDEN, HERE, PYTHON, goldenMessage, hex, noCorpus, noPython, runPython, tempDir, unhex, venv } from "./helpers.mjs";

const wasm = await loadWasm();
const golden = (name) => JSON.parse(readFileSync(join(GOLDEN, `${name}.json`), "utf8"));
const sampleDict = readFileSync(join(GOLDEN, "zstd-sample.dict"));
const MAGIC = [0x37, 0xa4, 0x30, 0xec];
const text = (s) => new TextEncoder().encode(s);
/** ZSTD_COMPRESSBOUND, Python's ZstdCodec.max_payload_size. */
const bound = (n) => n + (n >>> 8) + (n < 128 << 10 ? ((128 << 10) - n) >>> 11 : 0);
/** Bytes that do not compress, the same on every run. */
function noise(n, seed = 1) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  return out;
}

test("golden vectors: JavaScript writes Python's zstd payloads, with and without the dictionary", () => {
  // The vectors were made at level 19 for every length (before long_level
  // existed), so long_level 19 here; the default codes the 300 KB run at 12.
  for (const [name, dictionary] of [["zstd", null], ["zstd-dict", sampleDict]]) {
    const codec = new ZstdCodec(wasm, { dictionary, longLevel: 19 });
    const vectors = golden(name);
    assert.equal(vectors.length, 20);
    for (const v of vectors) assert.equal(hex(codec.encode(goldenMessage(v.message))), v.payload, `${name}: ${JSON.stringify(v.message).slice(0, 60)}`);
    assert.ok(vectors.some((v) => v.payload.startsWith("ff")) && vectors.some((v) => !v.payload.startsWith("ff")), "both forms");
    const long = vectors.find((v) => v.message.count === 300_000);
    const defaults = new ZstdCodec(wasm, { dictionary });
    const run = goldenMessage(long.message);
    assert.notEqual(hex(defaults.encode(run)), long.payload, "long_level 12 writes other bytes");
    assert.deepEqual(defaults.decode(defaults.encode(run), run.length), run);
    codec.close();
    defaults.close();
  }
});

test("binary_semantic golden vectors with zstd as the remainder codec: bit-exact, and zstd packs remainders", () => {
  const zstd = new ZstdCodec(wasm);
  const codec = new TemplateCodec({ remainder: zstd });
  const vectors = golden("binary_semantic");
  assert.equal(vectors.length, 7);
  for (const v of vectors) assert.equal(hex(codec.encode(goldenMessage(v.message))), v.payload);
  // A partial match whose remainder zstd makes smaller: packed (a codec
  // without a remainder codec cannot decode it), and smaller than unpacked.
  const message = text(`Deployment started at 2025-10-23T10:30:00Z; ${"retrying the rollout of web-1, ".repeat(12)}done`);
  const bare = new TemplateCodec();
  const packed = codec.encode(message);
  assert.ok(packed !== null && packed.length < bare.encode(message).length - 100);
  assert.throws(() => bare.decode(packed, message.length), /no remainder codec is set/);
  assert.deepEqual(codec.decode(packed, message.length), message);
  zstd.close();
});

test("a malformed dictionary is refused when the codec is made; raw content is a dictionary", async () => {
  const bad = new Uint8Array([...MAGIC, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.throws(() => new ZstdCodec(wasm, { dictionary: bad }), (e) => e instanceof PluginError && /not a valid zstd dictionary/.test(e.message));
  const toml = text('[pipeline]\ncodecs = ["zstd"]\n[codecs.zstd]\ndictionary = "bad.dict"\n');
  const profile = await Profile.load(memorySource({ "auracodec.toml": toml, "bad.dict": bad }), { wasm });
  assert.throws(() => profile.pipeline(), (e) => e instanceof ConfigError && e.key === "codecs.zstd.dictionary" && /not a valid zstd dictionary/.test(e.message));
  // Not starting with the magic: raw content (python-zstandard's auto), which helps.
  const raw = text("the quick brown fox jumps over the lazy dog; ".repeat(40));
  const withRaw = new ZstdCodec(wasm, { dictionary: raw });
  const without = new ZstdCodec(wasm);
  const m = text("the quick brown fox jumps over the lazy dog, twice");
  assert.ok(withRaw.encode(m).length < without.encode(m).length);
  assert.deepEqual(withRaw.decode(withRaw.encode(m), m.length), m);
  withRaw.close();
  without.close();
});

test("a closed codec refuses to encode and decode; a pipeline then sends raw frames", () => {
  const codec = new ZstdCodec(wasm, { dictionary: sampleDict });
  const m = text("Sure! Here's a quick summary of the steps. ".repeat(4));
  const payload = codec.encode(m);
  const pipe = new Pipeline([codec]);
  assert.equal(pipe.encode(m)[0], 0x02);
  codec.close();
  codec.close(); // twice is harmless
  assert.throws(() => codec.encode(m), (e) => e instanceof WasmError && e.message === "zstd: the codec is closed: status -7");
  assert.throws(() => codec.decode(payload, 1000), WasmError);
  const frame = pipe.encode(m);
  assert.equal(frame[0], pipe.raw.methodId);
  assert.deepEqual(frame.subarray(1), m);
});

test("large messages: the escape form, never beyond zstd's bound, raw when zstd cannot help; max_message_size", () => {
  const codec = new ZstdCodec(wasm, { dictionary: sampleDict });
  const lines = Array.from({ length: 6000 }, (_, i) => `2025-10-23T10:${String(i % 60).padStart(2, "0")}:00Z GET /api/items/${i % 97} 200 ${i * 7 % 1000} ms`).join("\n");
  const long = text(lines);
  assert.ok(long.length > 256 * 1024);
  const payload = codec.encode(long);
  assert.equal(payload[0], 0xff, "several blocks: the escape form");
  assert.ok(payload.length < long.length / 4);
  assert.deepEqual(codec.decode(payload, long.length), long);
  for (const n of [0, 1, 100, 1023, 1024, 5000, 200_000]) {
    const m = noise(n, n + 3);
    const p = codec.encode(m);
    assert.ok(p.length <= bound(n), `${n} bytes: a payload of ${p.length}`);
    assert.deepEqual(codec.decode(p, n), m);
  }
  const pipe = new Pipeline([codec], { maxMessageSize: 250_000 });
  const random = noise(200_000, 9);
  const frame = pipe.encode(random);
  assert.equal(frame.length, random.length + 1, "a payload no smaller than the message: raw");
  assert.equal(frame[0], pipe.raw.methodId);
  assert.throws(() => pipe.encode(long), MessageTooLarge);
  codec.close();
});

test("long_size picks the level: below it level, from it on long_level", () => {
  const opts = { dictionary: sampleDict, longSize: 1024 };
  const mixed = new ZstdCodec(wasm, { ...opts, level: 1, longLevel: 19 });
  const fast = new ZstdCodec(wasm, { ...opts, level: 1, longLevel: 1 });
  const slow = new ZstdCodec(wasm, { ...opts, level: 19, longLevel: 19 });
  const source = text(golden("zstd").map((v) => v.message.hex ?? "").join("|").repeat(4));
  for (const [n, same, other] of [[1023, fast, slow], [1024, slow, fast], [5000, slow, fast]]) {
    const m = source.subarray(0, n);
    assert.equal(hex(mixed.encode(m)), hex(same.encode(m)), `${n} bytes`);
    assert.notEqual(hex(mixed.encode(m)), hex(other.encode(m)), `${n} bytes: the levels differ here`);
  }
  // Levels are not in the fingerprint, in Python either.
  assert.deepEqual(mixed.fingerprint(), slow.fingerprint());
  for (const c of [mixed, fast, slow]) c.close();
});

test("session contexts: each payload decodes in the peer's context, the history slides, magic-first history is raw content", () => {
  for (const dictionary of [null, sampleDict]) {
    const codec = new ZstdCodec(wasm, { dictionary, sessionHistory: 300 });
    const [a, b] = [codec.context(), codec.context()];
    assert.ok(a instanceof ZstdContext);
    const stateless = new ZstdCodec(wasm, { dictionary });
    const messages = [
      new Uint8Array([...MAGIC, ...text(" history that starts with the magic")]),
      text("ok"),
      text("Sure! Here's a quick summary of the steps."),
      text("Sure! Here's a quick summary of the steps, again."),
      text("x".repeat(400)),
      text("Sure! Here's a quick summary of the steps."),
    ];
    let kept = 0;
    for (const [i, m] of messages.entries()) {
      const p = a.encode(m);
      assert.ok(p.length <= bound(m.length));
      assert.deepEqual(b.decode(p, m.length), m, `message ${i}`);
      kept = Math.min(300, kept + m.length);
      assert.equal(a.memory(), kept);
      assert.equal(b.memory(), kept);
      if (i === 3) assert.ok(p.length < stateless.encode(m).length, "the history helps");
    }
    a.absorb(text("carried by another codec"));
    b.absorb(text("carried by another codec"));
    const m = text("carried by another codec, then by zstd");
    assert.deepEqual(b.decode(a.encode(m), 100), m);
    codec.close();
    stateless.close();
  }
  assert.equal(new ZstdCodec(wasm).context(), null, "session_history 0: no context");
});

test("memory: the heap stops growing while the codec and contexts encode", () => {
  const codec = new ZstdCodec(wasm, { dictionary: sampleDict, sessionHistory: 4096 });
  const ctx = codec.context();
  const messages = golden("zstd").map((v) => goldenMessage(v.message)).filter((m) => m.length < 1000);
  const round = () => {
    for (const m of messages) {
      codec.encode(m);
      ctx.encode(m);
    }
    codec.encode(noise(3000));
  };
  for (let i = 0; i < 20; i++) round();
  const before = wasm.memorySize;
  for (let i = 0; i < 200; i++) round();
  assert.equal(wasm.memorySize, before);
  codec.close();
});

const skip = noPython ?? noCorpus ?? false;

/** Whether a template payload holds something the remainder codec packed (`bare` has none). */
function isPacked(bare, payload, limit) {
  try {
    bare.decode(payload, limit);
    return false;
  } catch (err) {
    if (/no remainder codec is set/.test(err.message)) return true;
    throw err;
  }
}

/** A profile directory with a zstd dictionary trained on chat/train (or AURACODEC_JS_PROFILE's). */
function trained(dir) {
  const given = process.env.AURACODEC_JS_PROFILE;
  if (given) return join(given, "zstd.dict");
  const config = join(dir, "train.toml");
  writeFileSync(config, '[plugins]\ndisable = ["brio", "brotli", "binary_semantic"]\n');
  venv("auracodec", "train", join(CORPUS, "chat", "train.jsonl"), "--config", config, "-o", join(dir, "trained"));
  return join(dir, "trained", "zstd.dict");
}

test("JavaScript's zstd payloads are Python's, byte for byte: corpus samples, edge cases, levels 1-22, three kinds of dictionary, contexts, templates",
  { skip, timeout: 900_000 }, async (t) => {
    const dir = tempDir("auracodec-zstd-");
    writeFileSync(join(dir, "zstd.dict"), readFileSync(trained(dir)));
    // Raw content: the start of chat/train, which is no zstd dictionary.
    writeFileSync(join(dir, "raw.dict"), readFileSync(join(CORPUS, "chat", "train.jsonl")).subarray(0, 40_000));
    const toml = (name, codecs, settings) => {
      const file = join(dir, `${name}.toml`);
      const lines = Object.entries(settings).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
      writeFileSync(file, `[pipeline]\ncodecs = ${JSON.stringify(codecs)}\n\n[codecs.zstd]\n${lines.join("\n")}\n`);
      return file;
    };
    const profiles = {
      trained: { config: toml("trained", ["zstd"], { dictionary: "zstd.dict", session_history: 65536 }), every: 1, streams: 14 },
      none: { config: toml("none", ["zstd"], { session_history: 4096 }), every: 1, streams: 14 },
      raw: {
        config: toml("raw", ["zstd"], { dictionary: "raw.dict", level: 3, long_level: 1, long_size: 100, session_history: 16384, session_level: 19 }),
        every: 3,
        streams: 4,
      },
      templates: { config: toml("templates", ["binary_semantic", "zstd"], { dictionary: "zstd.dict" }), every: 1, streams: 0 },
    };
    for (let level = 1; level <= 22; level++) {
      const settings = { dictionary: "zstd.dict", level, long_level: ((level + 10) % 22) + 1, long_size: 512, session_history: 8192, session_level: level };
      profiles[`level ${level}`] = { config: toml(`level-${level}`, ["zstd"], settings), every: 9, streams: 2 };
    }
    const spec = join(dir, "spec.json");
    writeFileSync(spec, JSON.stringify({ corpus: CORPUS, profiles }));
    const out = join(dir, "python.json");
    runPython(join(HERE, "py", "zstd_encode.py"), "encode", spec, out);
    const py = JSON.parse(readFileSync(out, "utf8"));
    const messages = py.messages.map(unhex);
    assert.ok(messages.length > 600);

    const differ = [];
    let compared = 0;
    const forms = { compact: 0, escape: 0 };
    for (const [name, p] of Object.entries(profiles)) {
      const want = py.profiles[name];
      const profile = await loadProfile(p.config);
      assert.equal(profile.fingerprint, want.fingerprint, `${name}: fingerprints differ`);
      const pipe = profile.pipeline();
      const zstd = pipe.codecs.get("zstd");
      const same = (what, mine, theirs) => {
        compared++;
        if (mine !== theirs) differ.push({ profile: name, what, mine: mine?.slice(0, 40), python: theirs?.slice(0, 40) });
      };
      want.subset.forEach((i, k) => {
        const payload = zstd.encode(messages[i]);
        same(`message ${i} (${messages[i].length} bytes)`, hex(payload), want.stateless[k]);
        forms[payload[0] === 0xff ? "escape" : "compact"]++;
        assert.deepEqual(zstd.decode(payload, messages[i].length), messages[i]);
      });
      assert.equal(want.streams.length, Math.min(p.streams, py.streams.length));
      want.streams.forEach((row, s) => {
        const [mine, peer] = [zstd.context(), zstd.context()];
        py.streams[s].forEach(([i, absorbed], j) => {
          if (absorbed) {
            mine.absorb(messages[i]);
            peer.absorb(messages[i]);
            return;
          }
          const payload = mine.encode(messages[i]);
          same(`stream ${s}, message ${j}`, hex(payload), row[j]);
          assert.deepEqual(peer.decode(payload, messages[i].length), messages[i]);
        });
      });
      if (want.templates !== null) {
        const codec = pipe.codecs.get("binary_semantic");
        const bare = new TemplateCodec();
        let packed = 0;
        want.subset.forEach((i, k) => {
          const payload = codec.encode(messages[i]);
          same(`template payload of message ${i}`, payload && hex(payload), want.templates[k]);
          if (payload !== null && isPacked(bare, payload, messages[i].length)) packed++;
        });
        t.diagnostic(`${name}: ${want.templates.filter((x) => x !== null).length} template payloads, ${packed} with remainders or values zstd packed`);
        assert.ok(packed > 0, "zstd packs some remainders");
      }
      pipe.close();
    }
    t.diagnostic(`${compared} payloads compared over ${Object.keys(profiles).length} profiles (${forms.compact} compact, ${forms.escape} escape form stateless): ${differ.length} differ`);
    assert.ok(forms.escape > 100 && forms.compact > 3000, JSON.stringify(forms));
    assert.deepEqual(differ.slice(0, 5), [], `${differ.length} of ${compared} payloads differ from Python's`);
  });
