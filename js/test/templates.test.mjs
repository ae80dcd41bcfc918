import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "../dist/toml.js";
import { DecodeError, Profile } from "../dist/index.js";
import { loadProfile } from "../dist/node.js";
import { BUILTIN_TEMPLATES } from "../dist/templates/builtin.js";
import { CORPUS, REPO, hex, noCorpus, noPython, outcome, python, tempDir, unhex, venv } from "./helpers.mjs";

test("the built-in library is Python's builtin.toml", () => {
  const file = join(REPO, "src", "auracodec", "plugins", "binary_semantic", "builtin.toml");
  const data = parse(readFileSync(file, "utf8"));
  const want = data.template.map((t) => (t.retired ? [Number(t.id), t.text, true] : [Number(t.id), t.text]));
  assert.deepEqual(BUILTIN_TEMPLATES.map((t) => [...t]), want);
});

let logs = null;
function logsProfile() {
  // Templates learned from the logs corpus, remainder "none": every codec of
  // the profile runs in JavaScript today.
  if (logs === null) {
    const dir = tempDir();
    const config = join(dir, "config.toml");
    const toml = '[plugins]\ndisable = ["brio", "zstd", "brotli"]\n\n[codecs.binary_semantic]\nremainder_codec = "none"\n';
    writeFileSync(config, toml);
    logs = join(dir, "profile");
    venv("auracodec", "train", join(CORPUS, "logs"), "--config", config, "-o", logs);
  }
  return logs;
}

const skip = noPython ?? noCorpus ?? false;

test("logs corpus: JavaScript encodes every message as Python does and decodes Python's payloads",
  { skip, timeout: 300_000 }, async () => {
    const dir = logsProfile();
    const out = join(tempDir(), "frames.jsonl");
    python("frames", dir, out, join(CORPUS, "logs"));
    const profile = await loadProfile(dir);
    const pipe = profile.pipeline();
    assert.equal(profile.fingerprint, JSON.parse(python("fingerprint", dir)).fingerprint);
    const codec = pipe.codecs.get("binary_semantic");
    const rows = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(rows.length > 20000);
    let matched = 0;
    const differ = [];
    for (const { m, p } of rows) {
      const message = unhex(m);
      const mine = codec.encode(message);
      if (p !== null) {
        matched++;
        assert.equal(hex(codec.decode(unhex(p), pipe.maxMessageSize)), m);
      }
      if ((mine === null ? null : hex(mine)) !== p) differ.push({ m, p, mine: mine && hex(mine) });
      if (mine !== null) assert.equal(hex(codec.decode(mine, pipe.maxMessageSize)), m);
    }
    assert.ok(matched > rows.length / 2, `${matched} of ${rows.length} matched`);
    assert.deepEqual(differ.slice(0, 5), [], `${differ.length} of ${rows.length} payloads differ`);
  });

test("damaged template frames: Python's outcome, class and message, every time", { skip, timeout: 300_000 }, async () => {
  const dir = logsProfile();
  const out = join(tempDir(), "fuzz.json");
  python("fuzz", dir, out);
  const pipe = (await loadProfile(dir)).pipeline();
  const codec = pipe.codecs.get("binary_semantic");
  const rows = JSON.parse(readFileSync(out, "utf8"));
  let errors = 0;
  for (const { f, limit, r, pipe: whole } of rows) {
    const frame = unhex(f);
    const got = outcome(() => codec.decode(frame.subarray(1), limit));
    assert.deepEqual(got, r, `${f} at limit ${limit}`);
    if (Array.isArray(got)) errors++;
    if (whole !== null) assert.deepEqual(outcome(() => pipe.decodeBytes(frame)), whole, f);
  }
  assert.ok(errors > rows.length / 2);
  // And nothing but DecodeErrors from random bytes.
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
  for (let i = 0; i < 20000; i++) {
    const frame = Uint8Array.from({ length: 1 + (rand() % 40) }, rand);
    frame[0] = 0;
    try {
      assert.ok(pipe.decodeBytes(frame).length <= pipe.maxMessageSize);
    } catch (e) {
      assert.ok(e instanceof DecodeError, `${hex(frame)}: ${e}`);
    }
  }
  void Profile;
});

test("every built-in normalizer and user pattern packs and unpacks as Python's", { skip: noPython ?? false }, async () => {
  const { TemplateCodec, parseTemplate, builtinNormalizers, makePatterns } = await import("../dist/templates/index.js");
  const out = join(tempDir(), "normalizers.json");
  python("normalizers", out);
  const { types, patterns, rows } = JSON.parse(readFileSync(out, "utf8"));
  const known = [...builtinNormalizers().keys(), ...makePatterns(patterns).keys()];
  const templates = types.map((t, i) => parseTemplate(i, `<${t}> is {${t}};`, known));
  const codec = new TemplateCodec({ builtin: false, libraries: [{ source: "test", templates }], patterns, remainder: null });
  let packed = 0;
  for (const { m, p } of rows) {
    const mine = codec.encode(unhex(m));
    assert.equal(mine === null ? null : hex(mine), p, Buffer.from(m, "hex").toString());
    if (p !== null) {
      packed++;
      assert.equal(hex(codec.decode(unhex(p), 1 << 22)), m);
    }
  }
  assert.ok(packed > 300, `${packed} of ${rows.length}`); // each value fits a few of the types
});
