import assert from "node:assert/strict";
import { test } from "node:test";
import * as A from "../dist/index.js";

test("the error tree mirrors Python's", () => {
  const tree = {
    AuraError: null,
    DecodeError: "AuraError",
    TruncatedFrame: "DecodeError",
    TrailingData: "DecodeError",
    UnknownMethod: "DecodeError",
    CorruptPayload: "DecodeError",
    OutputLimitExceeded: "DecodeError",
    InvalidUtf8: "DecodeError",
    SessionError: "DecodeError",
    CodecFault: "DecodeError",
    EncodeError: "AuraError",
    MessageTooLarge: "EncodeError",
    ConfigError: "AuraError",
    CorpusError: "AuraError",
    PluginError: "AuraError",
  };
  for (const [name, parent] of Object.entries(tree)) {
    const cls = A[name];
    assert.equal(typeof cls, "function", name);
    assert.equal(cls.name, name);
    assert.equal(cls.prototype.name, name); // what `err.name` says, minified or not
    if (parent) assert.equal(Object.getPrototypeOf(cls), A[parent], `${name} extends ${parent}`);
    else assert.equal(Object.getPrototypeOf(cls), Error);
  }
});

test("messages have Python's shape", () => {
  const known = new Map([[0x04, "identity"], [0x00, "binary_semantic"]]);
  assert.equal(new A.UnknownMethod(0x99, known).message,
    "unknown method id 0x99: this pipeline decodes 0x00 binary_semantic, 0x04 identity");
  assert.equal(new A.OutputLimitExceeded(4096).message, "decoded message exceeds the output limit of 4096 bytes");
  assert.equal(new A.MessageTooLarge(4097, 4096).message,
    "message of 4097 bytes exceeds max_message_size of 4096 bytes; the peer would refuse to decode it");
  assert.equal(new A.ConfigError("expected an integer from 1 to 22, got 99 (int)", { path: "auracodec.toml", key: "codecs.zstd.level" }).message,
    "auracodec.toml: codecs.zstd.level: expected an integer from 1 to 22, got 99 (int)");
  const cause = new RangeError("boom");
  const fault = new A.CodecFault("faulty", 0xc1, "raised RangeError: boom", "", cause);
  assert.equal(fault.message,
    "the decoder of 'faulty' (method 0xc1) raised RangeError: boom; decoders may raise only DecodeError subclasses and return bytes (a bug in that plugin)");
  assert.equal(fault.cause, cause);
  assert.equal(fault.name, "CodecFault");
  const e = new A.TruncatedFrame("x");
  assert.ok(e instanceof A.DecodeError && e instanceof A.AuraError && e instanceof Error);
});
