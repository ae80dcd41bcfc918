import assert from "node:assert/strict";
import { writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  CorruptPayload, EncodeError, SessionError, SessionFrame, TruncatedFrame, asMessage, asText,
  readVarint, unzigzag, varint, zigzag,
} from "../dist/index.js";
import { hex, noPython, outcome, python, tempDir, unhex } from "./helpers.mjs";

test("session prefixes parse as Python's SessionFrame.parse does", () => {
  const ok = [
    ["0468656c6c6f", { flags: 0, isolated: false, check: null, offset: 0, methodId: 4 }],
    ["ff04", { flags: 0, isolated: true, check: null, offset: 1, methodId: 4 }],
    ["ffff0104", { flags: 1, isolated: false, check: null, offset: 3, methodId: 4 }],
    ["ffff0604", { flags: 6, isolated: true, check: null, offset: 3, methodId: 4 }],
    ["ffff0817b904", { flags: 8, isolated: false, check: 0x17b9, offset: 5, methodId: 4 }],
  ];
  for (const [frame, want] of ok) {
    const got = SessionFrame.parse(unhex(frame));
    assert.deepEqual({ ...got }, want, frame);
  }
  const bad = [
    ["", TruncatedFrame, "empty frame: expected at least the method id byte"],
    ["ff", TruncatedFrame, "session frame ends after its escape byte"],
    ["ffff", TruncatedFrame, "session control frame ends before its flags"],
    ["ffff00", SessionError, "unknown session control flags 0x00"],
    ["ffff1004", SessionError, "unknown session control flags 0x10"],
    ["ffff0817", TruncatedFrame, "session control frame ends inside its check"],
    ["ffff0817b9", TruncatedFrame, "session control frame ends before its inner frame"],
    ["ffff01", TruncatedFrame, "session control frame ends before its inner frame"],
    ["ffff01ff04", SessionError, "a session frame nests escapes"],
  ];
  for (const [frame, cls, message] of bad) {
    assert.throws(() => SessionFrame.parse(unhex(frame)), (e) => e instanceof cls && e.message === message, frame);
  }
});

test("session prefixes are written as Python writes them", () => {
  assert.equal(hex(SessionFrame.prefix(0)), "");
  assert.equal(hex(SessionFrame.prefix(0, null, true)), "ff");
  assert.equal(hex(SessionFrame.prefix(0, 0x17b9)), "ffff0817b9"); // tests/test_wire_contract.py GOLDEN_SESSION
  assert.equal(hex(SessionFrame.prefix(0, 0x9dfd)), "ffff089dfd");
  assert.equal(hex(SessionFrame.prefix(SessionFrame.RESET_PLEASE, null, true)), "ffff06");
  assert.equal(hex(SessionFrame.prefix(SessionFrame.RESET_DONE, 0x0102, true)), "ffff0d0102");
});

test("varints are canonical and bounded", () => {
  for (const n of [0, 1, 127, 128, 300, 16383, 16384, 2 ** 31, 2 ** 53 - 1]) {
    const [v, at] = readVarint(varint(n), 0);
    assert.equal(v, BigInt(n));
    assert.equal(at, varint(n).length);
  }
  const big = 2n ** 64n + 12345n;
  assert.deepEqual(readVarint(varint(big), 0), [big, 10]);
  assert.equal(hex(varint(300)), "ac02");
  const cases = [
    ["", TruncatedFrame, "payload ends where a varint should start (byte 0)"],
    ["80", TruncatedFrame, "payload ends inside a varint (byte 1)"],
    ["8000", CorruptPayload, "varint at byte 0 is not in its shortest form"],
    ["ffffffffffffffffffff01", CorruptPayload, "varint at byte 0 is longer than 10 bytes"],
  ];
  for (const [data, cls, message] of cases) {
    assert.throws(() => readVarint(unhex(data), 0), (e) => e instanceof cls && e.message === message, data);
  }
  for (const n of [0n, -1n, 1n, -2n, 2n ** 63n, -(2n ** 63n)]) assert.equal(unzigzag(zigzag(n)), n);
  assert.equal(zigzag(-1n), 1n);
});

test("strings are sent as UTF-8; a lone surrogate is an EncodeError", () => {
  assert.equal(hex(asMessage("é")), "c3a9");
  assert.throws(() => asMessage("lone \ud800"), (e) => e instanceof EncodeError &&
    e.message === "message is not encodable as UTF-8 (surrogates not allowed at index 5); pass bytes to send arbitrary data");
  assert.throws(() => asMessage("😀\udc00"), /at index 1\)/); // code points, as Python counts
  assert.throws(() => asMessage(42), TypeError);
  assert.equal(asText(unhex("c3a9")), "é");
  assert.equal(asText(unhex("efbbbf41")), "\ufeffA"); // a BOM is kept, as Python keeps it
});

test("InvalidUtf8 says what CPython's decoder says", { skip: noPython ?? false }, () => {
  const out = join(tempDir(), "utf8.json");
  python("utf8", out);
  const rows = JSON.parse(readFileSync(out, "utf8"));
  for (const { m, r } of rows) {
    assert.deepEqual(outcome(() => asText(unhex(m))), r, m);
  }
  void writeFileSync;
});
