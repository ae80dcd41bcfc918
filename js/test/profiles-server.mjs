// Shared by the profile-fetch tests (Node and Chromium): a profile store with
// two trained versions, and a real Python server (py/profiles_server.py) on
// 127.0.0.1 that speaks them over WebSockets and serves them over HTTP.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HERE, REPO, pythonServer, runPython, tempDir, venv } from "./helpers.mjs";

/** What both ends have: the Python venv may hold third-party codecs (auracodec-lz4). */
export const CODECS = ["binary_semantic", "brio", "brotli", "identity", "zstd"];

/**
 * A store trained on the built-in sample: v1 on every other message (its
 * codecs pinned to CODECS), v2 continued from it on all of them, current.
 * About 3 s. Returns `{ root, v1, v2 }`.
 */
export function trainStore(dir = tempDir("auracodec-fetch-store-")) {
  const sample = readFileSync(join(REPO, "src", "auracodec", "data", "sample.jsonl"), "utf8").split("\n").filter(Boolean);
  const half = join(dir, "half.jsonl");
  const all = join(dir, "all.jsonl");
  writeFileSync(half, sample.filter((_, i) => i % 2 === 0).join("\n") + "\n");
  writeFileSync(all, sample.join("\n") + "\n");
  const pinned = join(dir, "pinned.toml");
  writeFileSync(pinned, `[pipeline]\ncodecs = ${JSON.stringify(CODECS)}\n`);
  const root = join(dir, "store");
  const v1 = auracodec("train", half, "--store", root, "--config", pinned).trim();
  const v2 = auracodec("train", all, "--store", root, "--from", "current").trim();
  return { root, v1, v2 };
}

/**
 * Start py/profiles_server.py on `store` (on `port`, default any); resolves
 * with `{ url, base, port, fingerprints, current, fallback, events, next(pred), stop() }`.
 */
export async function startProfilesServer(store, port = 0) {
  const server = await pythonServer([join(HERE, "py", "profiles_server.py"), store, String(port)], { name: "profiles_server.py" });
  const e = server.listening;
  return {
    ...e,
    ...server,
    url: `ws://127.0.0.1:${e.port}/`,
    base: `http://127.0.0.1:${e.port}`,
  };
}

/** Python's version id and decoding artifacts of each profile directory. */
export function pythonIds(...dirs) {
  return JSON.parse(runPython(join(HERE, "py", "profiles_server.py"), "--ids", ...dirs));
}

/** `auracodec ARGS...` (this checkout's); its stdout. */
export const auracodec = (...args) => venv("auracodec", ...args);
