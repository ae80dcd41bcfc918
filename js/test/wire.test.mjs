import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  CodecFault, CorruptPayload, DecodeError, Identity, MessageTooLarge, Pipeline, TemplateCodec,
} from "../dist/index.js";
import { hex, noPython, outcome, python, tempDir, unhex } from "./helpers.mjs";

const LIMIT = 4096;
const pipeline = () => new Pipeline([new TemplateCodec({ remainder: null }), new Identity()], { maxMessageSize: LIMIT });

test("the decode table gives Python's results, error classes and messages", { skip: noPython ?? false }, () => {
  const out = join(tempDir(), "wire.json");
  python("wire", out);
  const rows = JSON.parse(readFileSync(out, "utf8"));
  const pipe = pipeline();
  for (const [name, { f, bytes, text }] of Object.entries(rows)) {
    assert.deepEqual(outcome(() => pipe.decodeBytes(unhex(f))), bytes, `${name}: decodeBytes`);
    assert.deepEqual(outcome(() => pipe.decode(unhex(f))), text, `${name}: decode`);
  }
});

/** A codec with bugs, as tests/test_wire_contract.py's `Faulty`. */
class Faulty {
  name = "faulty";
  methodId = 0xc1;
  cost = 5;
  encode(message) {
    const text = new TextDecoder().decode(message);
    if (text.includes("boom")) throw new Error("boom");
    if (text.includes("str please")) return "not bytes";
    return null;
  }
  decode(payload) {
    if (payload[0] === 0x21) return new Uint8Array(0).at(5).x; // TypeError
    if (payload[0] === 0x3f) return "text";
    throw new CorruptPayload("faulty: not a payload of mine");
  }
  fingerprint() {
    return {};
  }
}

test("a codec's faults are contained as Python contains them", () => {
  const pipe = new Pipeline([new Faulty(), new Identity()], { maxMessageSize: LIMIT });
  assert.throws(() => pipe.decodeBytes(unhex("c1787978")), (e) => e instanceof CorruptPayload && e.message === "faulty: not a payload of mine");
  assert.throws(() => pipe.decodeBytes(unhex("c121")), (e) =>
    e instanceof CodecFault && e instanceof DecodeError && e.codec === "faulty" && e.methodId === 0xc1 &&
    e.cause instanceof TypeError && /^the decoder of 'faulty' \(method 0xc1\) raised TypeError: /.test(e.message) &&
    e.message.endsWith("; decoders may raise only DecodeError subclasses and return bytes (a bug in that plugin)"));
  assert.throws(() => pipe.decodeBytes(unhex("c13f")), (e) => e instanceof CodecFault && / returned string, not bytes;/.test(e.message));
  // Encoding: a codec that throws or returns a wrong type is skipped; raw carries the message.
  for (const m of ["hello hello hello hello hello boom", "str please ".repeat(4)]) {
    const frame = pipe.encode(m);
    assert.equal(frame[0], 0x04);
    assert.equal(pipe.decode(frame), m);
  }
});

test("encode: the one-byte bound, the limit, accepted types", () => {
  const pipe = pipeline();
  for (const m of ["", "ok", "Sure! Here's the plan for tomorrow morning. I hope this helps!", "x".repeat(LIMIT)]) {
    const frame = pipe.encode(m);
    assert.ok(frame.length <= new TextEncoder().encode(m).length + 1);
    assert.equal(pipe.decode(frame), m);
  }
  assert.equal(hex(pipe.encode(new Uint8Array([0xff, 0xfe]))), "04fffe");
  assert.equal(hex(pipe.encode(new Uint8Array([1, 2]).buffer)), "040102");
  assert.equal(hex(pipe.encode(new Uint8Array([9, 1, 2, 9]).subarray(1, 3))), "040102");
  assert.throws(() => pipe.encode("x".repeat(LIMIT + 1)), (e) => e instanceof MessageTooLarge &&
    e.message === "message of 4097 bytes exceeds max_message_size of 4096 bytes; the peer would refuse to decode it");
  assert.throws(() => pipe.encode(42), (e) => e instanceof TypeError && /not number$/.test(e.message));
  assert.throws(() => pipe.decode("\x04hello"), (e) => e instanceof TypeError && /not string$/.test(e.message));
});
