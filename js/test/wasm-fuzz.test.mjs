// Every decoder of the WebAssembly module on damaged and random input: the
// only failure allowed is a WasmCodecError with a declared kind (a trap, an
// unknown code or an output past the limit is a bug), and memory does not
// grow with the number of calls. Seeded, so a failure reproduces.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { instantiate, WasmCodecError } from "../wasm/loader.mjs";

const GOLDEN = new URL("../../tests/golden/", import.meta.url);
const DECODE_ERRORS = new Set(["TruncatedFrame", "TrailingData", "OutputLimitExceeded", "CorruptPayload"]);
const ac = await instantiate();

// xorshift32: deterministic bytes
let seed = 0x9e3779b9;
function rand(n) {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed % n;
}

function payloads(name) {
  return JSON.parse(readFileSync(new URL(`${name}.json`, GOLDEN), "utf8"))
    .map((v) => Uint8Array.from(Buffer.from(v.payload, "hex")))
    .filter((p) => p.length < 4096);
}

function damage(p) {
  const q = Uint8Array.from(p);
  switch (rand(4)) {
    case 0: // flip up to 3 bits
      for (let i = rand(3) + 1; i > 0 && q.length; i--) q[rand(q.length)] ^= 1 << rand(8);
      return q;
    case 1:
      return q.subarray(0, rand(q.length + 1));
    case 2:
      return Uint8Array.from([...q, ...Array.from({ length: rand(4) + 1 }, () => rand(256))]);
    default: // random bytes of a similar length
      return Uint8Array.from({ length: rand(p.length + 8) }, () => rand(256));
  }
}

function survive(decode, inputs, limit) {
  let errors = 0;
  for (const input of inputs) {
    try {
      const out = decode(input, limit);
      assert.ok(out.length <= limit, `output of ${out.length} bytes past the limit of ${limit}`);
    } catch (e) {
      assert.ok(e instanceof WasmCodecError && DECODE_ERRORS.has(e.kind), `not a DecodeError: ${e}`);
      errors++;
    }
  }
  return errors;
}

const model = ac.brioModel(null);
const dict = ac.zstdDict(readFileSync(new URL("zstd-sample.dict", GOLDEN)));
const cases = [
  ["brio", (p, limit) => model.decode(p, limit, 32), payloads("brio")],
  ["zstd", (p, limit) => ac.zstdDecode(p, limit, dict), payloads("zstd-dict")],
  ["brotli", (p, limit) => ac.brotliDecode(p, limit), payloads("brotli")],
];

for (const [name, decode, seeds] of cases) {
  test(`${name}: 3,000 damaged payloads raise only DecodeErrors, outputs stay within the limit`, () => {
    const inputs = Array.from({ length: 3000 }, () => damage(seeds[rand(seeds.length)]));
    const errors = survive(decode, inputs, 1 << 16) + survive(decode, inputs.slice(0, 500), 100);
    assert.ok(errors > 0);
  });
}

test("memory does not grow with the number of decodes", () => {
  const run = () => {
    for (const [, decode, seeds] of cases) survive(decode, Array.from({ length: 500 }, () => damage(seeds[rand(seeds.length)])), 1 << 16);
  };
  run();
  const before = ac.memorySize;
  for (let i = 0; i < 5; i++) run();
  assert.equal(ac.memorySize, before);
});
