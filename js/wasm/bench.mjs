// BRIO decode speed: the WebAssembly module in Node against the Python
// package's C extension, on the same payloads (a benchmark, not a test).
//
//   node js/wasm/bench.mjs PROFILE [N] [ROUNDS]
//
// PROFILE: a trained profile directory (auracodec train chat/train.jsonl);
// the payloads are its BRIO model's stateless encodings of the first N
// messages of chat/test.jsonl (default 500), made by the C extension
// (js/test/wasm_crosscheck.py, with the Python js/test/helpers.mjs finds:
// AURACODEC_PYTHON, or a python3 on PATH that imports auracodec).
// Each side decodes them all ROUNDS times (default 20); the best round
// counts. Figures are per byte of decoded message. "wasm call" is the
// module's own work (payload already in its memory, result left there);
// "loader" adds what a JS caller pays: copying the payload in and the
// message out.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { CORPUS, REPO, runPython as python } from "../test/helpers.mjs";
import { instantiate } from "./loader.mjs";

const [profile, n = "500", rounds = "20"] = process.argv.slice(2);
if (!profile) {
  console.error("usage: node js/wasm/bench.mjs PROFILE [N] [ROUNDS]");
  process.exit(2);
}
const HELPER = join(REPO, "js", "test", "wasm_crosscheck.py");
const LIMIT = 4 << 20;

const work = mkdtempSync(join(tmpdir(), "auracodec-bench-"));
try {
  const file = join(work, "payloads.json");
  python(HELPER, "encode", profile, join(CORPUS, "chat", "test.jsonl"), n, file);
  const { max_ratio: maxRatio, records } = JSON.parse(readFileSync(file, "utf8"));
  const payloads = records.filter((r) => r.brio !== null).map((r) => Buffer.from(r.brio, "hex"));
  const py = JSON.parse(python(HELPER, "bench", profile, file, rounds));

  const ac = await instantiate();
  const toml = readFileSync(join(profile, "auracodec.toml"), "utf8");
  const model = ac.brioModel(readFileSync(join(profile, toml.match(/^model = "(.*)"$/m)[1])));
  const x = ac.exports;
  let bytes = 0;
  for (const p of payloads) bytes += model.decode(p, LIMIT, maxRatio).length;

  const best = (fn) => {
    let min = Infinity;
    for (let i = 0; i < Number(rounds); i++) {
      const t = process.hrtime.bigint();
      fn();
      min = Math.min(min, Number(process.hrtime.bigint() - t));
    }
    return min;
  };
  // the module's own work: payloads copied in once, results freed unread
  const placed = payloads.map((p) => [ac.copyIn(p), p.length]);
  const call = best(() => {
    for (const [ptr, len] of placed) {
      if (x.ac_brio_decode(model.handle, ptr, len, LIMIT, maxRatio) !== 0) throw new Error("decode");
      x.ac_free(ac.result().ptr);
    }
  });
  const loader = best(() => {
    for (const p of payloads) model.decode(p, LIMIT, maxRatio);
  });
  for (const [ptr] of placed) x.ac_free(ptr);
  model.free();

  const row = (name, ns) =>
    `${name.padEnd(28)} ${(ns / bytes).toFixed(1).padStart(6)} ns/byte ${(ns / payloads.length / 1000).toFixed(1).padStart(7)} us/message ${(ns / bytes / py.ns_per_byte).toFixed(2).padStart(5)}x C`;
  console.log(`${payloads.length} BRIO payloads, ${bytes} message bytes, best of ${rounds} rounds, Node ${process.version}`);
  console.log(row("Python C extension", py.ns_per_byte * bytes));
  console.log(row("wasm call", call));
  console.log(row("wasm via loader.mjs", loader));
} finally {
  rmSync(work, { recursive: true, force: true });
}
