// The WebSocket client (dist/ws) in Node against our Python server adapters,
// as a user runs them: examples/fastapi_echo.py under uvicorn (auracodec.asgi)
// and examples/aiohttp_echo.py (auracodec.aiohttp), both on 127.0.0.1, started
// by py/adapter_echo.py. A session-mode conversation echoes back message by
// message, every message checked; another profile or mode is refused with
// HTTP 400 and the server's reason.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Profile, memorySource } from "../dist/index.js";
import { HandshakeError, connect, subprotocol } from "../dist/ws/index.js";
import { CORPUS, HERE, PYTHON, noCorpus, noPython, pythonServer } from "./helpers.mjs";

/** What each example needs in the Python environment, besides auracodec. */
const NEEDS = { fastapi: ["fastapi", "uvicorn"], aiohttp: ["aiohttp"] };

/** Why an example cannot run here, or null. */
function missing(adapter) {
  if (noPython) return noPython;
  try {
    execFileSync(PYTHON, ["-c", `import ${NEEDS[adapter].join(", ")}`], { stdio: "ignore" });
    return null;
  } catch {
    return `${NEEDS[adapter].join(" or ")} not installed for ${PYTHON}`;
  }
}

/** The default pipeline: every codec the client has, as the server's (py/adapter_echo.py). */
const defaults = async () => (await Profile.defaults()).pipeline();
/** Another profile: zstd alone. */
const other = async () => (await Profile.load(memorySource({ "auracodec.toml": new TextEncoder().encode('[pipeline]\ncodecs = ["zstd"]\n') }))).pipeline();

/** The longest two-sided chat/test conversation (or a few lines), and edge cases. */
function conversation() {
  const extra = ["", "héllo wörld ✓ 🎉 — ça va?", "GET /api/v1/users/12345?limit=20 HTTP/1.1", "x".repeat(5000), "\u0000\r\n\t"];
  if (noCorpus) return ["Hello there!", "How do I cook rice?", "Thanks, and for brown rice?", ...extra];
  const lines = readFileSync(join(CORPUS, "chat", "test.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const convs = new Map();
  for (const l of lines) convs.set(l.conv, [...(convs.get(l.conv) ?? []), l.text]);
  const longest = [...convs.values()].sort((a, b) => b.length - a.length)[0];
  return [...longest, ...extra];
}

for (const adapter of ["fastapi", "aiohttp"]) {
  describe(`examples/${adapter}_echo.py`, { skip: missing(adapter) ?? false }, () => {
    let server;
    let url;
    before(async () => {
      server = await pythonServer([join(HERE, "py", "adapter_echo.py"), adapter], { name: `the ${adapter} example` });
      url = `ws://127.0.0.1:${server.listening.port}/chat`;
    });
    after(() => server?.stop());

    test("a session conversation echoes back message by message, every message checked", async () => {
      const pipeline = await defaults();
      assert.equal(pipeline.fingerprint, server.listening.fingerprint);
      const frames = { in: 0, out: 0 };
      const observe = (direction) => frames[direction]++;
      const conn = await connect(url, { pipeline, mode: "session", observe });
      assert.equal(conn.subprotocol, subprotocol(pipeline, "session"));
      const messages = conversation();
      for (const [i, m] of messages.entries()) {
        conn.send(m, { isolated: i % 5 === 4 });
        assert.equal(await conn.recv(), `echo: ${m}`, `message ${i}`);
      }
      // The echoes travelled in one session: the same reply twice costs less the second time.
      const sizes = [];
      const sized = await connect(url, { pipeline, observe: (d, frame) => d === "in" && sizes.push(frame.length) });
      for (let i = 0; i < 2; i++) {
        sized.send(messages[0]);
        assert.equal(await sized.recv(), `echo: ${messages[0]}`);
      }
      assert.ok(sizes[1] < sizes[0], `${sizes}`);
      assert.deepEqual(await sized.close(), { code: 1000, reason: "" });
      assert.deepEqual(await conn.close(), { code: 1000, reason: "" });
      assert.deepEqual(frames, { in: messages.length, out: messages.length });
    });

    test("another profile is refused: HandshakeError, HTTP 400 and the server's reason", async () => {
      const pipeline = await other();
      await assert.rejects(connect(url, { pipeline }), (e) => {
        assert.ok(e instanceof HandshakeError, e.stack);
        assert.equal(e.status, 400);
        assert.equal(e.message,
          `${url} refused the auracodec handshake (HTTP 400): auracodec handshake refused: this server speaks ` +
          `auracodec.1.session.${server.listening.fingerprint}; you offered ${subprotocol(pipeline, "session")}. ` +
          "The fingerprint covers the codecs, their format settings and trained artifacts: both ends need the same profile and mode.");
        return true;
      });
    });

    test("another mode is refused too", async () => {
      const pipeline = await defaults();
      await assert.rejects(connect(url, { pipeline, mode: "stateless" }), (e) => e instanceof HandshakeError && e.status === 400 &&
        e.message.includes(`you offered auracodec.1.stateless.${server.listening.fingerprint}`));
    });
  });
}
