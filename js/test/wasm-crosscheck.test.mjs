// Cross-check of the WebAssembly core against the Python package's C
// extension on real traffic: the first 500 messages of the chat corpus's test
// split, with a profile trained on its train split.
//
//   Python encodes (BRIO stateless and in per-conversation contexts, zstd with
//   the trained dictionary, brotli) -> wasm decodes: 0 mismatches;
//   wasm encodes (BRIO, both ways) -> Python decodes: 0 mismatches, and the
//   payloads are byte-identical;
//   damaged payloads of each codec: wasm reports what Python reports (the same
//   DecodeError class, or the same "decodes to the message / to another").
//
// Needs a Python with auracodec's C extensions built (AURACODEC_PYTHON,
// default a python3 on PATH that imports auracodec; the repository's src/ is
// put first on PYTHONPATH) and the
// shared corpora (AURACODEC_CORPUS, default ../shared/corpus); skipped with a
// reason otherwise. AURACODEC_WASM_PROFILE names a trained profile directory;
// without it the test trains one (a few seconds).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { instantiate, WasmCodecError } from "../wasm/loader.mjs";
import { CORPUS, HERE, PYTHON, noPython, runPython } from "./helpers.mjs";

const HELPER = join(HERE, "wasm_crosscheck.py");
const N = 500;
const LIMIT = 4 << 20;
const python = runPython;

function why() {
  if (noPython) return noPython;
  if (!existsSync(join(CORPUS, "chat", "test.jsonl"))) return `no corpus at ${CORPUS}`;
  try {
    runPython("-c", "import auracodec.plugins.brio._brio");
  } catch {
    return `${PYTHON} cannot import auracodec's BRIO extension (build it first)`;
  }
  return null;
}

const skip = why();
const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b) => Buffer.from(b).toString("hex");

function kindOf(fn, message) {
  try {
    const out = fn();
    return Buffer.from(out).equals(Buffer.from(message)) ? "same" : "other";
  } catch (e) {
    if (e instanceof WasmCodecError) return e.kind;
    throw e;
  }
}

test("wasm and Python's C extension agree on 500 chat messages", { skip: skip ?? false }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), "auracodec-wasm-"));
  try {
    let profile = process.env.AURACODEC_WASM_PROFILE;
    if (!profile) {
      profile = join(work, "profile");
      python("-m", "auracodec", "train", join(CORPUS, "chat", "train.jsonl"), "-o", profile);
    }
    const pyFile = join(work, "python.json");
    python(HELPER, "encode", profile, join(CORPUS, "chat", "test.jsonl"), String(N), pyFile);
    const { max_ratio: maxRatio, records } = JSON.parse(readFileSync(pyFile, "utf8"));
    assert.equal(records.length, N);

    const ac = await instantiate();
    const toml = readFileSync(join(profile, "auracodec.toml"), "utf8");
    const file = (key) => join(profile, toml.match(new RegExp(`^${key} = "(.*)"$`, "m"))[1]);
    const model = ac.brioModel(readFileSync(file("model")));
    const dict = ac.zstdDict(readFileSync(file("dictionary")));

    // Python -> wasm
    const miss = { brio: 0, session: 0, zstd: 0, brotli: 0, damage: 0 };
    const counts = { brio: 0, session: 0, zstd: 0, brotli: 0, damage: 0 };
    const decoders = new Map();
    const encoders = new Map();
    const reverse = [];
    let identical = 0;
    for (const r of records) {
      const message = hex(r.message);
      if (!decoders.has(r.stream)) {
        decoders.set(r.stream, model.context());
        encoders.set(r.stream, model.context());
      }
      const dec = decoders.get(r.stream);
      const check = (kind, fn) => {
        counts[kind]++;
        if (kindOf(fn, message) !== "same") miss[kind]++;
      };
      if (r.brio !== null) check("brio", () => model.decode(hex(r.brio), LIMIT, maxRatio));
      if (r.session !== null) check("session", () => dec.decode(hex(r.session), LIMIT, maxRatio));
      else dec.absorb(message);
      check("zstd", () => ac.zstdDecode(hex(r.zstd), LIMIT, dict));
      check("brotli", () => ac.brotliDecode(hex(r.brotli), LIMIT));
      const damaged = {
        brio: (p) => model.decode(p, LIMIT, maxRatio),
        zstd: (p) => ac.zstdDecode(p, LIMIT, dict),
        brotli: (p) => ac.brotliDecode(p, LIMIT),
      };
      for (const [codec, cases] of Object.entries(r.damage)) {
        for (const d of Object.values(cases)) {
          counts.damage++;
          const got = kindOf(() => damaged[codec](hex(d.payload)), message);
          if (got !== d.python) {
            miss.damage++;
            if (miss.damage <= 5) t.diagnostic(`${codec} ${d.payload.slice(0, 40)}: wasm ${got}, Python ${d.python}`);
          }
        }
      }
      // wasm encodes, for Python to decode
      const payload = model.encode(message, maxRatio);
      const session = encoders.get(r.stream).encode(message, maxRatio);
      if (toHex(payload ?? []) === (r.brio ?? "") && toHex(session ?? []) === (r.session ?? "")) identical++;
      reverse.push({
        message: r.message,
        stream: r.stream,
        brio: payload && toHex(payload),
        session: session && toHex(session),
      });
    }
    for (const c of [...decoders.values(), ...encoders.values()]) c.free();
    model.free();
    ac.zstdDictFree(dict);

    // wasm -> Python
    const wasmFile = join(work, "wasm.json");
    writeFileSync(wasmFile, JSON.stringify({ records: reverse }));
    const back = JSON.parse(python(HELPER, "decode", profile, wasmFile));

    t.diagnostic(`Python -> wasm: checked ${JSON.stringify(counts)}, mismatches ${JSON.stringify(miss)}`);
    t.diagnostic(`wasm -> Python: checked ${back.checked}, mismatches ${back.mismatches.length}`);
    t.diagnostic(`byte-identical BRIO payloads (stateless and session): ${identical}/${N}`);
    assert.deepEqual(miss, { brio: 0, session: 0, zstd: 0, brotli: 0, damage: 0 });
    assert.equal(counts.brio + counts.session, back.checked);
    assert.deepEqual(back.mismatches, []);
    assert.equal(identical, N);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
