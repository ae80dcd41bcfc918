// Golden vectors (tests/golden/, made by tests/golden/make.py): bit-exact both ways.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Identity, TemplateCodec } from "../dist/index.js";
import { GOLDEN, goldenMessage, hex, unhex } from "./helpers.mjs";

const load = (name) => JSON.parse(readFileSync(join(GOLDEN, `${name}.json`), "utf8"));

test("identity: every golden message is its own payload", () => {
  const codec = new Identity();
  const seen = new Set();
  for (const name of ["zstd", "brotli", "brio", "binary_semantic"]) {
    for (const v of load(name)) {
      const m = goldenMessage(v.message);
      if (seen.has(hex(m))) continue;
      seen.add(hex(m));
      assert.deepEqual(codec.encode(m), m);
      assert.deepEqual(codec.decode(m, m.length), m);
      assert.throws(() => codec.decode(m, m.length - 1), m.length ? /exceeds the output limit/ : /./);
    }
  }
  assert.ok(seen.size > 10);
});

/**
 * make.py codes the template vectors with zstd as the remainder codec. zstd
 * wins none of their short remainders, so a remainder codec that declines
 * everything (but weighs remainder bytes as one: 3/8) gives the same payloads.
 */
const decliningZstd = { name: "zstd", methodId: 2, cost: 10, encode: () => null,
  decode() { throw new Error("not used"); }, fingerprint: () => ({}) };

test("binary_semantic: golden payloads decode and encode bit-exactly", () => {
  const codec = new TemplateCodec({ remainder: decliningZstd });
  const vectors = load("binary_semantic");
  assert.equal(vectors.length, 7);
  for (const v of vectors) {
    const m = goldenMessage(v.message);
    assert.equal(hex(codec.decode(unhex(v.payload), 4194304)), hex(m));
    assert.equal(hex(codec.encode(m)), v.payload);
  }
});
