// Shared by the profile-fetch tests (Node and Chromium): a profile store with
// two trained versions, and a real Python server (py/profiles_server.py) on
// 127.0.0.1 that speaks them over WebSockets and serves them over HTTP.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { HERE, PYTHON, REPO, runPython, tempDir, venv } from "./helpers.mjs";

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
export function startProfilesServer(store, port = 0) {
  const child = spawn(PYTHON, [join(HERE, "py", "profiles_server.py"), store, String(port)], {
    env: { ...process.env, PYTHONPATH: join(REPO, "src"), PYTHONHASHSEED: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const events = [];
  const waiting = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    const event = JSON.parse(line);
    events.push(event);
    for (const w of [...waiting]) if (w.pred(event)) waiting.splice(waiting.indexOf(w), 1) && w.resolve(event);
  });
  const next = (pred, timeout = 20_000) => events.find(pred) ? Promise.resolve(events.find(pred)) : new Promise((resolve, reject) => {
    waiting.push({ pred, resolve });
    setTimeout(() => reject(new Error(`no such server event in ${timeout} ms: ${JSON.stringify(events)}\n${stderr}`)), timeout).unref();
  });
  const stop = () => new Promise((ok) => (child.exitCode !== null ? ok() : (child.once("exit", ok), child.kill("SIGTERM"))));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`profiles_server.py exited (${code}) before listening:\n${stderr}`)));
    next((e) => e.event === "listening", 60_000).then(
      (e) => resolve({
        ...e,
        url: `ws://127.0.0.1:${e.port}/`,
        base: `http://127.0.0.1:${e.port}`,
        events,
        next,
        stop,
        stderr: () => stderr,
      }),
      reject,
    );
  });
}

/** Python's version id and decoding artifacts of each profile directory. */
export function pythonIds(...dirs) {
  return JSON.parse(runPython(join(HERE, "py", "profiles_server.py"), "--ids", ...dirs));
}

/** `auracodec ARGS...` (this checkout's); its stdout. */
export const auracodec = (...args) => venv("auracodec", ...args);
