// In the browser: connectWithProfiles() from dist/auracodec-fetch.js against
// a Python server (serve(..., profiles=store)) on another origin. An empty
// Cache API first: the page connects with the built-in profile at once while
// the server's current version is fetched into the cache; the second
// connection uses that version; a damaged cached file is caught, the page
// falls back and fetches the version again. The outcome goes to
// window.auracodecFetchResult.
import { cachedProfileIds, connectWithProfiles } from "/dist/auracodec-fetch.js";

const log = (line) => (document.getElementById("log").textContent += line + "\n");
const CACHE = "auracodec-profiles";

async function visit(ws, texts) {
  const errors = [];
  const started = performance.now();
  const conn = await connectWithProfiles(ws, { onError: (err) => errors.push(`${err.name}: ${err.message}`) });
  const connectedMs = performance.now() - started;
  let echoed = 0;
  for (const [i, text] of texts.entries()) {
    conn.send(text, { isolated: i % 7 === 6 });
    if ((await conn.recv()) === text) echoed++;
  }
  const update = await conn.update;
  const updatedMs = performance.now() - started;
  const closed = await conn.close();
  log(`connected with ${conn.pipeline.fingerprint} in ${connectedMs.toFixed(0)} ms; ${echoed}/${texts.length} echoed; update ${update} after ${updatedMs.toFixed(0)} ms`);
  return { fingerprint: conn.pipeline.fingerprint, protocol: conn.subprotocol, echoed, update, errors, closed, connectedMs, updatedMs };
}

async function run() {
  const params = new URL(location.href).searchParams;
  const ws = params.get("ws");
  const base = ws.replace(/^ws/, "http");
  const texts = await (await fetch(params.get("messages"))).json();
  await caches.delete(CACHE);
  const result = { held: [await cachedProfileIds(base)] };
  result.first = await visit(ws, texts);
  result.held.push(await cachedProfileIds(base));
  result.keys = (await (await caches.open(CACHE)).keys()).map((r) => r.url);
  result.second = await visit(ws, texts);
  // Damage the cached zstd dictionary: caught at the next connection.
  const cache = await caches.open(CACHE);
  const key = result.keys.find((u) => u.endsWith("/zstd.dict"));
  const good = new Uint8Array(await (await cache.match(key)).arrayBuffer());
  const bad = good.slice();
  bad[100] ^= 1;
  await cache.put(key, new Response(bad));
  result.third = await visit(ws, texts.slice(0, 5));
  const again = new Uint8Array(await (await cache.match(key)).arrayBuffer());
  result.restored = again.length === good.length && again.every((b, i) => b === good[i]);
  result.fourth = await visit(ws, texts.slice(0, 5));
  result.userAgent = navigator.userAgent;
  return result;
}

run().then(
  (result) => {
    log(JSON.stringify(result, null, 1));
    window.auracodecFetchResult = result;
  },
  (err) => {
    log(`${err.name}: ${err.message}\n${err.stack}`);
    window.auracodecFetchResult = { error: `${err.name}: ${err.message}`, stack: String(err.stack) };
  },
);
