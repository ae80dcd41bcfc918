// The client in headless Chromium (Debian's /usr/bin/chromium, driven by
// puppeteer-core): a static page on 127.0.0.1 loads the ES modules and the
// wasm, connects to a real Python auracodec server and checks a conversation.
//
//     node --test test/browser/
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve } from "node:path";
import { after, before, test } from "node:test";
import { CORPUS, HERE, noCorpus, noPython, tempDir } from "../helpers.mjs";
import { startServer, writeProfiles } from "../ws-server.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ROOT = resolve(HERE, "..");
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`
  : !existsSync(join(ROOT, "dist", "auracodec.wasm")) ? "no dist/auracodec.wasm (sh js/wasm/build.sh)"
  : noPython ?? noCorpus ?? false;

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".toml": "text/plain" };

/** Static files: the package (dist/, node_modules/smol-toml, test/browser/) and the profile under /profile/. */
function staticServer(profileDir, conversation) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file;
    if (path === "/conversation.json") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(conversation));
    }
    if (path.startsWith("/profile/")) file = join(profileDir, normalize(path.slice("/profile/".length)));
    else file = join(ROOT, normalize(path));
    const allowed = file.startsWith(profileDir) || ["dist", "node_modules/smol-toml", "test/browser"].some((d) => file.startsWith(join(ROOT, d) + "/"));
    if (!allowed || !existsSync(file)) {
      res.writeHead(404);
      return res.end("not found");
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

function conversation() {
  const lines = readFileSync(join(CORPUS, "chat", "test.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const convs = new Map();
  for (const l of lines) convs.set(l.conv, [...(convs.get(l.conv) ?? []), l]);
  const longest = [...convs.values()].sort((a, b) => b.length - a.length)[0];
  return [...longest.map((l) => l.text), "", "héllo ✓ 🎉", "x".repeat(3000)];
}

let ws;
let http;
let browser;
const profileDir = tempDir("auracodec-browser-");
before(async () => {
  if (skip) return;
  const profiles = writeProfiles();
  writeFileSync(join(profileDir, "auracodec.toml"), readFileSync(profiles.templates));
  ws = await startServer({ config: profiles.templates, mode: "session" });
  http = await staticServer(profileDir, conversation());
  const puppeteer = (await import("puppeteer-core")).default;
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
});
after(async () => {
  await browser?.close();
  http?.close();
  await ws?.stop();
});

test("Chromium: a multi-turn conversation in session mode with a Python server, every message checked",
  { skip, timeout: 120_000 }, async (t) => {
    const page = await browser.newPage();
    const console = [];
    page.on("console", (m) => console.push(m.text()));
    page.on("pageerror", (e) => console.push(String(e)));
    const { port } = http.address();
    const url = `http://127.0.0.1:${port}/test/browser/index.html?` +
      new URLSearchParams({ ws: ws.url, profile: "/profile/", conversation: "/conversation.json" });
    await page.goto(url);
    await page.waitForFunction("window.auracodecResult !== undefined", { timeout: 60_000 });
    const result = await page.evaluate("window.auracodecResult");
    assert.equal(result.ok, true, JSON.stringify(result) + "\n" + console.join("\n"));
    assert.equal(result.checked, conversation().length);
    assert.ok(result.checked > 10);
    assert.equal(result.fingerprint, ws.fingerprint);
    assert.ok(result.wasmExports > 0);
    assert.deepEqual(result.closed, { code: 1000, reason: "" });
    // Browsers do not show a refused handshake's status or body.
    assert.equal(result.refusal?.name, "HandshakeError", JSON.stringify(result.refusal));
    await ws.next((e) => e.event === "closed" && e.code === 1000);
    t.diagnostic(`${result.userAgent}: ${result.checked} messages, ${result.messageBytes} bytes in ${result.frameBytes} frame bytes` +
      `${result.standIn ? " (stand-in session: no Pipeline.session() yet)" : ""}`);
    t.diagnostic(`refused in the browser: ${result.refusal.message}`);
  });
