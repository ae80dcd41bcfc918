// The WebAssembly core against the golden vectors of tests/golden/ (the ones
// the Python test suite decodes on every run): every payload decodes
// bit-exactly to its recorded message, BRIO's stateless and session encoders
// write byte-identical payloads, and every decode is bounded and strict.
//
// Needs js/dist/auracodec.wasm: sh js/wasm/build.sh, then node --test js/test/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { instantiate, WasmCodecError } from "../wasm/loader.mjs";

const GOLDEN = new URL("../../tests/golden/", import.meta.url);
const LIMIT = 4 << 20; // the pipeline's default max_message_size
const ac = await instantiate();

function hex(s) {
  return Uint8Array.from(Buffer.from(s, "hex"));
}

// tests/golden/make.py's describe(): {hex} or {repeat, count}
function message(entry) {
  if ("repeat" in entry) return new Uint8Array(entry.count).fill(hex(entry.repeat)[0]);
  return hex(entry.hex);
}

function vectors(name) {
  const raw = JSON.parse(readFileSync(new URL(`${name}.json`, GOLDEN), "utf8"));
  return raw.map((v) => ({ message: message(v.message), payload: hex(v.payload) }));
}

function throwsKind(fn, kind) {
  assert.throws(fn, (e) => e instanceof WasmCodecError && e.kind === kind, `expected ${kind}`);
}

const sampleModel = ac.zstdDecompress(readFileSync(new URL("brio-sample.model.zst", GOLDEN)), 64 << 20);

test("the module imports nothing", () => {
  const bytes = readFileSync(new URL("../dist/auracodec.wasm", import.meta.url));
  assert.deepEqual(WebAssembly.Module.imports(new WebAssembly.Module(bytes)), []);
});

test("zstd standard frame: the sample BRIO model decompresses in wasm", () => {
  assert.ok(sampleModel.length > 100_000);
  const frame = readFileSync(new URL("brio-sample.model.zst", GOLDEN));
  throwsKind(() => ac.zstdDecompress(frame, sampleModel.length - 1), "OutputLimitExceeded");
  throwsKind(() => ac.zstdDecompress(frame.subarray(0, frame.length - 1), 64 << 20), "TruncatedFrame");
  throwsKind(() => ac.zstdDecompress(Buffer.concat([frame, Buffer.from([0])]), 64 << 20), "TrailingData");
});

for (const [name, blob] of [
  ["brio", null],
  ["brio-sample", sampleModel],
]) {
  test(`${name}: golden payloads decode and encode bit-exactly`, () => {
    const model = ac.brioModel(blob);
    try {
      const vecs = vectors(name);
      assert.equal(vecs.length, 20);
      for (const { message, payload } of vecs) {
        // made without the ratio cap (max_ratio 0), as make.py does
        assert.deepEqual(model.decode(payload, LIMIT, 0), message);
        assert.deepEqual(model.encode(message, 0), payload);
        if (message.length > 0)
          throwsKind(() => model.decode(payload, message.length - 1, 0), "OutputLimitExceeded");
        // (damaged payloads: js/test/wasm-crosscheck.mjs compares every error with Python's)
        // the cap (docs/brio.md 1.3): beyond it, a payload is refused and a message declined
        const budget = 32 * payload.length + 128;
        if (message.length > budget) {
          throwsKind(() => model.decode(payload, LIMIT, 32), "CorruptPayload");
          assert.equal(model.encode(message, 32), null);
        } else {
          assert.deepEqual(model.decode(payload, LIMIT, 32), message);
        }
      }
    } finally {
      model.free();
    }
  });
}

test("brio-session: one context encodes and another decodes the recorded sequence", () => {
  const model = ac.brioModel(sampleModel);
  const enc = model.context();
  const dec = model.context();
  const vecs = vectors("brio-session");
  assert.equal(vecs.length, 17);
  for (const { message, payload } of vecs) {
    assert.deepEqual(enc.encode(message, 0), payload);
    assert.deepEqual(dec.decode(payload, LIMIT, 0), message);
  }
  assert.ok(dec.memory > 0);
  // a failed decode breaks the context for good
  throwsKind(() => dec.decode(vecs[2].payload, 0, 0), "OutputLimitExceeded");
  throwsKind(() => dec.decode(vecs[0].payload, LIMIT, 0), "SessionError");
  enc.free();
  dec.free();
  model.free();
});

test("brio: a malformed model is refused with a reason", () => {
  assert.throws(
    () => ac.brioModel(new Uint8Array(10)),
    (e) => e.kind === "InvalidModel" && e.message.length > 30,
  );
});

for (const [name, dictFile] of [
  ["zstd", null],
  ["zstd-dict", "zstd-sample.dict"],
]) {
  test(`${name}: golden compact and escape payloads decode bit-exactly`, () => {
    const dict = dictFile ? ac.zstdDict(readFileSync(new URL(dictFile, GOLDEN))) : 0;
    try {
      const vecs = vectors(name);
      assert.equal(vecs.length, 20);
      let escapes = 0;
      for (const { message, payload } of vecs) {
        assert.deepEqual(ac.zstdDecode(payload, LIMIT, dict), message);
        if (message.length > 0)
          throwsKind(() => ac.zstdDecode(payload, message.length - 1, dict), "OutputLimitExceeded");
        if (payload[0] === 0xff) {
          escapes++;
          throwsKind(() => ac.zstdDecode(payload.subarray(0, payload.length - 1), LIMIT, dict), "TruncatedFrame");
          throwsKind(() => ac.zstdDecode(Buffer.concat([payload, Buffer.from([0])]), LIMIT, dict), "TrailingData");
        }
      }
      assert.ok(escapes >= 1, "the 300 KB run is in the escape form");
    } finally {
      if (dict) ac.zstdDictFree(dict);
    }
  });
}

test("zstd: malformed payloads raise the plugin's errors", () => {
  throwsKind(() => ac.zstdDecode(new Uint8Array(0), LIMIT), "TruncatedFrame");
  throwsKind(() => ac.zstdDecode(new Uint8Array([0x00, 0x01, 0x02, 0x03]), LIMIT), "CorruptPayload");
  throwsKind(() => ac.zstdDecode(new Uint8Array(128 * 1024 + 2), LIMIT), "CorruptPayload");
  throwsKind(() => ac.zstdDecode(new Uint8Array([0xff, 0x00, 0x07]), LIMIT), "TruncatedFrame");
  throwsKind(() => ac.zstdDecode(new Uint8Array([0xff, 0x00, 0x07, 0, 0]), LIMIT), "CorruptPayload");
});

test("brotli: golden payloads decode bit-exactly, bounded and strict", () => {
  const vecs = vectors("brotli");
  assert.equal(vecs.length, 20);
  for (const { message, payload } of vecs) {
    assert.deepEqual(ac.brotliDecode(payload, LIMIT), message);
    if (message.length > 0)
      throwsKind(() => ac.brotliDecode(payload, message.length - 1), "OutputLimitExceeded");
    throwsKind(() => ac.brotliDecode(Buffer.concat([payload, Buffer.from([0])]), LIMIT), "TrailingData");
    if (payload.length > 1)
      throwsKind(() => ac.brotliDecode(payload.subarray(0, payload.length - 1), LIMIT), "TruncatedFrame");
  }
  throwsKind(() => ac.brotliDecode(new Uint8Array(0), LIMIT), "TruncatedFrame");
  // large-window brotli (WBITS in a 6-bit field) is not RFC 7932
  throwsKind(() => ac.brotliDecode(new Uint8Array([0x11, 0x1e, 0x00]), LIMIT), "CorruptPayload");
});

test("identity: the payload is the message (no wasm involved)", () => {
  // 0x04 frames of the golden messages; the TS package does this in JS
  for (const { message } of vectors("brotli")) {
    const frame = Buffer.concat([Buffer.from([0x04]), message]);
    assert.deepEqual(new Uint8Array(frame.subarray(1)), message);
  }
});
