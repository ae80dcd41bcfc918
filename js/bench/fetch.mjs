// Time to the first message in Node (dist/fetch.js, the ws package), against
// the Python server bench/profiles_fetch.py runs (serve(..., profiles=store)):
//
//   node js/bench/fetch.mjs WS_URL ROUNDS MESSAGE
//
// Per round, each from a new empty cache directory unless said:
//   fallback: connectWithProfiles() with an empty cache: connected with the
//             built-in profile at once; first echo; and when the background
//             fetch has cached the current version;
//   wait:     fetchProfile() of the current version first (download, checks,
//             load), then connect with it; first echo;
//   warm:     connectWithProfiles() with the version cached (read and
//             checked from the cache); first echo.
// Wall time (performance.now), milliseconds. One round before the others
// loads the wasm core and warms the JIT (a page has loaded the client already).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../dist/index.js";
import { connectWithProfiles, directoryCache, fetchProfile } from "../dist/fetch.js";

const [url, rounds = "5", message = "hello"] = process.argv.slice(2);
const base = url.replace(/^ws/, "http");
const now = () => performance.now();

async function firstEcho(conn) {
  conn.send(message);
  if ((await conn.recv()) !== message) throw new Error("the echo differs");
}

async function round() {
  const dir = mkdtempSync(join(tmpdir(), "auracodec-bench-fetch-"));
  try {
    const cache = await directoryCache(join(dir, "profiles"));
    const out = {};
    let t = now();
    const errors = [];
    let conn = await connectWithProfiles(url, { cache, onError: (e) => errors.push(e) });
    out.fallback = { connect_ms: now() - t, fingerprint: conn.pipeline.fingerprint };
    await firstEcho(conn);
    out.fallback.first_message_ms = now() - t;
    const id = await conn.update;
    out.fallback.cached_ms = now() - t;
    if (errors.length || !id) throw errors[0] ?? new Error("nothing was fetched");
    await conn.close();
    conn.pipeline.close();

    const cold = await directoryCache(join(dir, "cold"));
    t = now();
    const profile = await fetchProfile(base, id, { cache: cold });
    const pipeline = profile.pipeline();
    conn = await connect(url, { pipeline });
    await firstEcho(conn);
    out.wait = { first_message_ms: now() - t, fingerprint: pipeline.fingerprint };
    await conn.close();
    pipeline.close();

    t = now();
    conn = await connectWithProfiles(url, { cache });
    out.warm = { connect_ms: now() - t, fingerprint: conn.pipeline.fingerprint };
    await firstEcho(conn);
    out.warm.first_message_ms = now() - t;
    if ((await conn.update) !== null) throw new Error("the warm round fetched again");
    await conn.close();
    conn.pipeline.close();
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await round(); // warm-up: the wasm core compiled, the JIT warm
const results = [];
for (let i = 0; i < Number(rounds); i++) results.push(await round());
console.log(JSON.stringify({ runtime: `Node ${process.version}`, rounds: results }));
