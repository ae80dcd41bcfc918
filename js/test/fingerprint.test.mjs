import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, Profile, memorySource } from "../dist/index.js";
import { loadProfile } from "../dist/node.js";
import { CORPUS, noCorpus, noPython, python, tempDir, venv } from "./helpers.mjs";

test("the default profile's fingerprint is Python's", { skip: noPython ?? false }, async () => {
  const want = JSON.parse(python("fingerprint"));
  const profile = await Profile.defaults();
  assert.equal(profile.fingerprint, want.fingerprint);
  for (const c of profile.codecs) assert.deepEqual({ ...c.fingerprint }, want.codecs[c.name], c.name);
  assert.equal(profile.pipeline().fingerprint, want.fingerprint);
});

let trained = null;
function trainedProfile() {
  // auracodec train on chat/train: a BRIO model, a zstd dictionary, templates.
  if (trained === null) {
    trained = process.env.AURACODEC_JS_PROFILE ?? join(tempDir(), "profile");
    if (!existsSync(join(trained, "auracodec.toml"))) venv("auracodec", "train", join(CORPUS, "chat", "train.jsonl"), "-o", trained);
  }
  return trained;
}

test("a trained profile's fingerprint is Python's, from a directory and from memory",
  { skip: noPython ?? noCorpus ?? false, timeout: 300_000 }, async () => {
    const dir = trainedProfile();
    const want = JSON.parse(python("fingerprint", dir));
    const profile = await loadProfile(dir);
    assert.equal(profile.fingerprint, want.fingerprint);
    for (const c of profile.codecs) assert.deepEqual({ ...c.fingerprint }, want.codecs[c.name], c.name);
    const files = {};
    for (const f of ["auracodec.toml", "brio.model", "zstd.dict", "templates.toml"]) files[f] = new Uint8Array(readFileSync(join(dir, f)));
    assert.equal((await Profile.load(memorySource(files))).fingerprint, want.fingerprint);
  });

test("a profile sized for clients (auracodec train --size client) loads, with Python's fingerprint",
  { skip: noPython ?? noCorpus ?? false, timeout: 300_000 }, async () => {
    // [training] size and BRIO's training settings are in its auracodec.toml.
    const dir = join(tempDir(), "client");
    venv("auracodec", "train", join(CORPUS, "chat", "train.jsonl"), "-o", dir, "--size", "client");
    const profile = await loadProfile(dir);
    assert.equal(profile.fingerprint, JSON.parse(python("fingerprint", dir)).fingerprint);
    const pipe = profile.pipeline();
    for (const m of ["Can I substitute yogurt for buttermilk in pancakes?", "ok", ""]) assert.equal(pipe.decode(pipe.encode(m)), m);
  });

test("an artifact that does not match its SHA-256 is a ConfigError", { skip: noPython ?? noCorpus ?? false, timeout: 300_000 }, async () => {
  const dir = trainedProfile();
  const copy = tempDir();
  for (const f of ["auracodec.toml", "brio.model", "zstd.dict", "templates.toml"]) copyFileSync(join(dir, f), join(copy, f));
  const dict = readFileSync(join(copy, "zstd.dict"));
  dict[100] ^= 1;
  writeFileSync(join(copy, "zstd.dict"), dict);
  await assert.rejects(loadProfile(copy), (e) => e instanceof ConfigError &&
    e.message === `${join(copy, "auracodec.toml")}: codecs.zstd.dictionary: ${join(copy, "zstd.dict")}: content does not match dictionary_sha256 (corrupt or replaced)`);
});

test("config mistakes are ConfigErrors naming file and key", async () => {
  const cases = [
    ["[codecs.zstd]\nlevel = 99\n", "codecs.zstd.level: expected an integer from 1 to 22, got 99 (int)"],
    ["[codecs.zstd]\nlevel = 9.0\n", "codecs.zstd.level: expected an integer from 1 to 22, got 9.0 (float)"],
    ["[codecs.nope]\n", "codecs.nope: no such codec (installed and enabled: binary_semantic, brio, brotli, identity, zstd)"],
    ["[pipeline]\nmax_message_size = 0\n", "pipeline.max_message_size: expected an integer from 1 to 2147483648, got 0 (int)"],
    ["[pipelines]\n", "pipelines: unknown table (known: codecs, observers, pipeline, plugins, selector, session, training)"],
    ["[codecs.binary_semantic]\nremainder_codec = 'brotlix'\n",
      "codecs.binary_semantic.remainder_codec: expected 'auto', 'none' or a codec of this pipeline (brio, brotli, zstd), got 'brotlix'"],
    ["[codecs.brio]\nmodel = 'missing.model'\n", "codecs.brio.model: cannot read missing.model: No such file in the artifacts given"],
    ["[training]\nsizes = 1\n", "training.sizes: unknown key (known keys: size)"],
    ["[codecs.zstd]\nbogus = 1\n",
      "codecs.zstd.bogus: unknown key (known keys: dictionary, dictionary_sha256, dictionary_size, level, long_level, long_size, session_history, session_level)"],
    ["[codecs.binary_semantic]\npatterns = { x = 'a{' }\n", "codecs.binary_semantic.patterns: pattern 'x': bad repeat at 1: expected {n} or {n,m}"],
  ];
  for (const [toml, message] of cases) {
    const source = memorySource({ "auracodec.toml": new TextEncoder().encode(toml) });
    await assert.rejects(Profile.load(source), (e) => e instanceof ConfigError && e.message === `auracodec.toml: ${message}`, toml);
  }
});
