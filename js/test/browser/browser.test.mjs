// The client in headless Chromium (Debian's /usr/bin/chromium, driven by
// puppeteer-core), as a web page would use it: the bundle dist/auracodec.js
// (which loads dist/auracodec.wasm), a trained full profile (BRIO,
// templates, zstd, brotli) served over HTTP, the real Session, a plain
// WebSocket to a real Python auracodec server (chat_server.py) on 127.0.0.1.
// The page sends the client's turns of a chat/test conversation, the server
// answers with the next turns; each end checks every message it receives.
//
//     node --test test/browser/
//
// AURACODEC_JS_PROFILE=DIR reuses a profile trained on chat/train.jsonl
// (else one is trained, ~15 s).
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve } from "node:path";
import { after, before, test } from "node:test";
import { CORPUS, HERE, noCorpus, noPython, pythonServer, tempDir, venv } from "../helpers.mjs";
import { TYPES, launch, noChromium, watch } from "./chromium.mjs";

const ROOT = resolve(HERE, "..");
const skip = noChromium
  || (!existsSync(join(ROOT, "dist", "auracodec.js")) ? "no dist/auracodec.js (npm run build)" : noPython ?? noCorpus ?? false);

// What both ends have: the Python venv may hold third-party codecs (auracodec-lz4).
const CODECS = ["binary_semantic", "brio", "brotli", "identity", "zstd"];

/** A trained profile copied to a directory of its own, its codecs pinned to CODECS. */
function profile() {
  let source = process.env.AURACODEC_JS_PROFILE;
  if (!source) {
    source = join(tempDir("auracodec-browser-train-"), "chat");
    venv("auracodec", "train", join(CORPUS, "chat", "train.jsonl"), "-o", source);
  }
  const dir = join(tempDir("auracodec-browser-"), "profile");
  cpSync(source, dir, { recursive: true });
  const toml = join(dir, "auracodec.toml");
  const text = readFileSync(toml, "utf8");
  const pin = `codecs = ${JSON.stringify(CODECS)}`;
  writeFileSync(toml, text.includes("[pipeline]\n") ? text.replace("[pipeline]\n", `[pipeline]\n${pin}\n`) : `${text}\n[pipeline]\n${pin}\n`);
  return dir;
}

/** The longest chat/test conversation (user turns from the page), and a few edge cases. */
function conversation() {
  const lines = readFileSync(join(CORPUS, "chat", "test.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const convs = new Map();
  for (const l of lines) convs.set(l.conv, [...(convs.get(l.conv) ?? []), l]);
  const longest = [...convs.values()].sort((a, b) => b.length - a.length)[0];
  return [
    ...longest.map((l) => ({ from: l.role === "assistant" ? "server" : "client", text: l.text })),
    { from: "client", text: "" },
    { from: "server", text: "" },
    { from: "client", text: "héllo ✓ 🎉 — ça va?" },
    { from: "server", text: "Très bien, merci! ✓ 🎉" },
    { from: "client", text: "x".repeat(3000) },
    { from: "server", text: longest.at(-1).text.repeat(3) },
  ];
}

/** Static files: dist/ and test/browser/ of the package, the profile under /profile/, the script. */
function staticServer(profileDir, script) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path === "/conversation.json") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(script));
    }
    const file = path.startsWith("/profile/") ? join(profileDir, normalize(path.slice("/profile/".length))) : join(ROOT, normalize(path));
    const allowed = file.startsWith(profileDir + "/") || ["dist", "test/browser"].some((d) => file.startsWith(join(ROOT, d) + "/"));
    if (!allowed || !existsSync(file)) {
      res.writeHead(404);
      return res.end("not found");
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/** chat_server.py: resolves with `{ url, fingerprint, codecs, events, next(pred), stop() }` once it listens. */
async function pythonChatServer(profileDir, scriptFile) {
  const server = await pythonServer([join(HERE, "browser", "chat_server.py"), profileDir, scriptFile], { name: "chat_server.py" });
  const { port, fingerprint, codecs } = server.listening;
  return { ...server, url: `ws://127.0.0.1:${port}/`, fingerprint, codecs };
}

let py;
let http;
let browser;
let script;
before(async () => {
  if (skip) return;
  const dir = profile();
  script = conversation();
  const scriptFile = join(dir, "..", "script.json");
  writeFileSync(scriptFile, JSON.stringify(script));
  py = await pythonChatServer(dir, scriptFile);
  http = await staticServer(dir, script);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  http?.close();
  await py?.stop();
});

test("Chromium: the bundle, a trained profile, a multi-turn conversation in session mode with a Python server, both directions checked",
  { skip, timeout: 180_000 }, async (t) => {
    const page = await browser.newPage();
    const lines = watch(page);
    const requested = [];
    page.on("request", (r) => requested.push(new URL(r.url()).pathname));
    const { port } = http.address();
    const url = `http://127.0.0.1:${port}/test/browser/index.html?` +
      new URLSearchParams({ ws: py.url, profile: "/profile/", conversation: "/conversation.json" });
    await page.goto(url);
    await page.waitForFunction("window.auracodecResult !== undefined", { timeout: 150_000 });
    const result = await page.evaluate("window.auracodecResult");
    assert.equal(result.ok, true, JSON.stringify(result) + "\n" + lines.join("\n"));
    for (const c of CODECS) assert.ok(result.codecs.includes(c), `${c} in the page's pipeline`);
    assert.equal(result.fingerprint, py.fingerprint);
    assert.equal(result.protocol, `auracodec.1.session.${py.fingerprint}`);
    assert.deepEqual(result.closed, { code: 1000, reason: "" });
    assert.match(result.refusal ?? "", /before the auracodec handshake completed/);
    // Only the bundle, its wasm and the profile: no other module of dist/.
    assert.deepEqual([...new Set(requested.filter((p) => p.startsWith("/dist/")))].sort(), ["/dist/auracodec.js", "/dist/auracodec.wasm"]);

    // Every turn, in both directions: the page checked the server's, the server the page's.
    assert.equal(result.turns.length, script.length);
    await py.next((e) => e.event === "closed");
    const serverTurns = py.events.filter((e) => e.event === "turn");
    assert.equal(serverTurns.length, script.length, JSON.stringify(py.events));
    for (const [i, turn] of script.entries()) {
      const page = result.turns[i];
      const server = serverTurns[i];
      assert.equal(page.from, turn.from);
      assert.equal(server.sender, turn.from);
      assert.equal(server.frame, page.frame, `turn ${i}: frame size alike on both ends`);
      if (turn.from === "server") assert.equal(page.ok, true, `turn ${i} verified in the page`);
      else assert.equal(server.ok, true, `turn ${i} verified by the Python server`);
      assert.equal(server.method, page.method, `turn ${i}: method`);
    }
    const closed = py.events.find((e) => e.event === "closed");
    assert.equal(closed.code, 1000);
    const methods = new Map();
    for (const turn of result.turns) methods.set(`${turn.from} ${turn.method}`, (methods.get(`${turn.from} ${turn.method}`) ?? 0) + 1);
    assert.ok([...methods.keys()].some((m) => m.startsWith("server") && !m.endsWith("raw") && !m.endsWith("identity")), "the server compressed");
    assert.ok(result.turns.some((t) => t.from === "client" && t.isolated), "an isolated frame from the page");
    const total = result.turns.reduce((n, t) => n + t.bytes, 0);
    const frames = result.turns.reduce((n, t) => n + t.frame, 0);
    t.diagnostic(`${result.userAgent}: ${result.turns.length} turns, ${total} bytes in ${frames} frame bytes; methods ${JSON.stringify(Object.fromEntries(methods))}`);
  });
