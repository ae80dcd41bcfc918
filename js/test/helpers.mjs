// Shared by the tests: where the repository and Python are, and small helpers.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root (the Python package, its docs and golden vectors). */
export const REPO = resolve(HERE, "..", "..");
export const GOLDEN = join(REPO, "tests", "golden");
export const CORPUS = process.env.AURACODEC_CORPUS ?? resolve(REPO, "..", "shared", "corpus");
export const PYTHON = process.env.AURACODEC_PYTHON ?? findPython();

/** A python3 on PATH that imports auracodec (its full path), or "python3". */
function findPython() {
  try {
    const code = "import sys, auracodec; print(sys.executable)";
    return execFileSync("python3", ["-c", code], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "python3";
  }
}
const HELPER = join(HERE, "py", "crosscheck.py");

/** Why the Python cross-checks cannot run here, or null. */
export const noPython = existsSync(PYTHON) ? null : `no Python with auracodec at ${PYTHON} (set AURACODEC_PYTHON)`;
export const noCorpus = existsSync(join(CORPUS, "logs")) ? null : `no shared corpus at ${CORPUS} (set AURACODEC_CORPUS)`;

/**
 * Run a Python script with this checkout's src/ first on PYTHONPATH; its
 * stdout. PYTHONHASHSEED is fixed (see py/crosscheck.py).
 */
export function runPython(script, ...args) {
  return execFileSync(PYTHON, [script, ...args], {
    encoding: "utf8",
    env: {
      ...process.env,
      PYTHONHASHSEED: "0",
      PYTHONPATH: [join(REPO, "src"), process.env.PYTHONPATH].filter(Boolean).join(":"),
    },
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** Run the Python cross-check helper (py/crosscheck.py); its stdout. */
export const python = (...args) => runPython(HELPER, ...args);

/**
 * Run a command of the venv (`auracodec train ...`), with this checkout's
 * src/ first on PYTHONPATH: the venv may have another checkout installed
 * (editable), and the tests are about this one.
 */
export function venv(command, ...args) {
  return execFileSync(join(dirname(PYTHON), command), args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONPATH: [join(REPO, "src"), process.env.PYTHONPATH].filter(Boolean).join(":") },
  });
}

export function tempDir(prefix = "auracodec-js-") {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const hex = (bytes) => Buffer.from(bytes).toString("hex");
export const unhex = (text) => new Uint8Array(Buffer.from(text, "hex"));

/** A golden vector's message (make.py's `describe` inverse). */
export function goldenMessage(entry) {
  if ("repeat" in entry) return new Uint8Array(entry.count).fill(parseInt(entry.repeat, 16));
  return unhex(entry.hex);
}

/** `[class name, message]` of what `call` throws, or the hex of what it returns. */
export function outcome(call) {
  try {
    const out = call();
    return hex(typeof out === "string" ? new TextEncoder().encode(out) : out);
  } catch (err) {
    return [err.name, err.message];
  }
}

/**
 * Start a Python server that prints one JSON event per line on stdout
 * (`args`: the script and its arguments, run with this checkout's src/
 * first), and wait for its `{"event": "listening", ...}`. Resolves with
 * `{ listening, events, next(pred, timeout), stop(), stderr() }`: `events`
 * collects every line, `next(pred)` waits for one matching `pred`, `stop()`
 * ends the process.
 */
export function pythonServer(args, { name = "the Python server", listenTimeout = 60_000 } = {}) {
  const child = spawn(PYTHON, args, {
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
    for (const w of [...waiting]) {
      if (w.pred(event)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  const next = (pred, timeout = 20_000) => {
    const found = events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      waiting.push({ pred, resolve });
      setTimeout(() => reject(new Error(`no such event from ${name} in ${timeout} ms: ${JSON.stringify(events)}\n${stderr}`)), timeout).unref();
    });
  };
  const stop = () => new Promise((ok) => (child.exitCode !== null ? ok() : (child.once("exit", ok), child.kill("SIGTERM"))));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}) before listening:\n${stderr}`)));
    next((e) => e.event === "listening", listenTimeout).then(
      (listening) => resolve({ listening, events, next, stop, stderr: () => stderr }),
      reject,
    );
  });
}
