// The WebSocket client (dist/ws) in Node, against a real Python auracodec
// server on 127.0.0.1 (auracodec.websocket.serve, an echo handler).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DecodeError, OutputLimitExceeded, UnknownMethod } from "../dist/index.js";
import { loadProfile } from "../dist/node.js";
import {
  ConnectionClosed, DecodeBudget, DecodeBudgetExceeded, HandshakeError, connect, subprotocol,
} from "../dist/ws/index.js";
import { CORPUS, noCorpus, noPython } from "./helpers.mjs";
import { startServer, writeProfiles } from "./ws-server.mjs";

const profiles = writeProfiles();
const pipelineOf = async (name) => (await loadProfile(profiles[name])).pipeline();

/** A two-sided conversation of the chat corpus, plus edge cases. */
function conversation() {
  const extra = ["", "héllo wörld ✓ 🎉", "GET /api/v1/users/12345?limit=20 HTTP/1.1", "x".repeat(5000)];
  if (noCorpus) return extra;
  const lines = readFileSync(join(CORPUS, "chat", "test.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const conv = lines[0].conv;
  return [...lines.filter((l) => l.conv === conv).map((l) => l.text), ...extra];
}

/** Connect, echo the whole conversation, check every message; returns the frame bytes sent. */
async function exchange(server, pipeline, mode, messages) {
  const seen = [];
  const observe = (direction, frame, message) => seen.push({ direction, frame: frame.slice(), message });
  const conn = await connect(server.url, { pipeline, mode, observe });
  assert.equal(conn.subprotocol, subprotocol(pipeline, mode));
  let frames = 0;
  for (const [i, m] of messages.entries()) {
    frames += conn.send(m, { isolated: i % 5 === 4 });
    assert.equal(await conn.recv(), m, `message ${i}`);
  }
  // Bytes that are not UTF-8 come back as bytes.
  const binary = Uint8Array.of(0xff, 0xfe, 0x00, 0x80);
  conn.send(binary);
  assert.deepEqual(await conn.recvBytes(), binary);
  assert.deepEqual(await conn.close(), { code: 1000, reason: "" });
  // The observer saw every frame each way, in order, with its message.
  const text = (m) => (typeof m === "string" ? m : new TextDecoder().decode(m));
  const sent = seen.filter((e) => e.direction === "out");
  const received = seen.filter((e) => e.direction === "in");
  assert.deepEqual(sent.map((e) => e.message), [...messages, binary]);
  assert.equal(sent.slice(0, -1).reduce((n, e) => n + e.frame.length, 0), frames);
  assert.deepEqual(received.slice(0, -1).map((e) => text(e.message)), messages);
  assert.deepEqual(received.at(-1).message, binary);
  assert.deepEqual(seen.map((e) => e.direction), [...messages, binary].flatMap(() => ["out", "in"]));
  return frames;
}

for (const mode of ["session", "stateless"]) {
  for (const name of ["identity", "templates"]) {
    describe(`${mode} mode, ${name} pipeline`, { skip: noPython ?? false }, () => {
      let server;
      before(async () => (server = await startServer({ config: profiles[name], mode })));
      after(() => server?.stop());

      test("the fingerprint is the Python server's", async () => {
        assert.equal((await pipelineOf(name)).fingerprint, server.fingerprint);
      });

      test("a conversation echoes back message by message, every message checked", async () => {
        const pipeline = await pipelineOf(name);
        const messages = conversation();
        const frames = await exchange(server, pipeline, mode, messages);
        assert.ok(frames > 0);
        await server.next((e) => e.event === "closed" && e.code === 1000);
      });

      test("the async iterator yields messages until a normal close", async () => {
        const pipeline = await pipelineOf(name);
        const conn = await connect(server.url, { pipeline, mode });
        conn.send("one");
        conn.send("two");
        conn.send("!close 1000");
        const got = [];
        for await (const m of conn) got.push(m);
        assert.deepEqual(got, ["one", "two"]);
        assert.equal((await conn.closed).code, 1000);
      });
    });
  }
}

describe("refusals and close codes (identity pipeline, session mode)", { skip: noPython ?? false }, () => {
  let server;
  let busy;
  before(async () => {
    server = await startServer({ config: profiles.identity, mode: "session" });
    busy = await startServer({ config: profiles.identity, mode: "session", maxConnections: 1 });
  });
  after(() => Promise.all([server?.stop(), busy?.stop()]));
  const open = async (options = {}) => {
    const pipeline = options.pipeline ?? (await pipelineOf("identity"));
    return connect(options.url ?? server.url, { pipeline, ...options, pipeline });
  };

  test("another fingerprint is refused at the handshake with Python's reason (HTTP 400)", async () => {
    const pipeline = await pipelineOf("templates");
    const offered = subprotocol(pipeline, "session");
    await assert.rejects(open({ pipeline }), (e) => {
      assert.ok(e instanceof HandshakeError, e.stack);
      assert.equal(e.status, 400);
      assert.equal(e.message,
        `${server.url} refused the auracodec handshake (HTTP 400): auracodec handshake refused: this server speaks ` +
        `auracodec.1.session.${server.fingerprint}; you offered ${offered}. The fingerprint covers the codecs, ` +
        "their format settings and trained artifacts: both ends need the same profile and mode.");
      return true;
    });
  });

  test("another mode is refused too", async () => {
    await assert.rejects(open({ mode: "stateless" }), (e) => e instanceof HandshakeError && e.status === 400 &&
      e.message.includes(`you offered auracodec.1.stateless.${server.fingerprint}`));
  });

  test("a full server refuses with 503 and its reason", async () => {
    const first = await open({ url: busy.url });
    await assert.rejects(open({ url: busy.url }), (e) => e instanceof HandshakeError && e.status === 503 &&
      e.message.endsWith("(HTTP 503): auracodec server busy: it serves at most 1 connections at once; try again later"));
    await first.close();
  });

  test("nothing listening: a HandshakeError saying the connection failed", async () => {
    const pipeline = await pipelineOf("identity");
    await assert.rejects(connect("ws://127.0.0.1:9/", { pipeline, mode: "stateless" }),
      (e) => e instanceof HandshakeError && /ECONNREFUSED/.test(e.message));
  });

  test("a frame from the server that does not decode: close 1007, recv throws the DecodeError", async () => {
    const conn = await open();
    conn.send("!garbage");
    await assert.rejects(conn.recv(), (e) => e instanceof UnknownMethod && e.message.startsWith("unknown method id 0xfe"));
    const closed = await conn.closed;
    assert.equal(closed.code, 1007);
    assert.match(closed.reason, /^UnknownMethod: unknown method id 0xfe/);
    const event = await server.next((e) => e.event === "closed" && e.code === 1007);
    assert.match(event.reason, /^UnknownMethod: unknown method id 0xfe/);
    await assert.rejects(conn.recv(), ConnectionClosed);
    assert.throws(() => conn.send("late"), ConnectionClosed);
  });

  test("a text frame: close 1003", async () => {
    const conn = await open();
    conn.send("!text");
    await assert.rejects(conn.recv(), (e) => e instanceof DecodeError && e.message === "received a text frame; auracodec frames are binary");
    assert.equal((await conn.closed).code, 1003);
    await server.next((e) => e.event === "closed" && e.code === 1003);
  });

  test("a frame decoding beyond the output limit: close 1009", async () => {
    // Same codecs, so the same fingerprint, but this end's limit is 1000 bytes.
    const conn = await open({ pipeline: await pipelineOf("small") });
    conn.send("!big 1004");
    await assert.rejects(conn.recv(), OutputLimitExceeded);
    assert.equal((await conn.closed).code, 1009);
    await server.next((e) => e.event === "closed" && e.code === 1009);
  });

  test("the decode budget spent: close 4008, DecodeBudgetExceeded", async () => {
    const conn = await open({ decodeBudget: new DecodeBudget({ rate: 1, burst: 50 }) });
    conn.send("short");
    assert.equal(await conn.recv(), "short");
    conn.send("y".repeat(100));
    await assert.rejects(conn.recv(), DecodeBudgetExceeded);
    assert.equal((await conn.closed).code, 4008);
    await server.next((e) => e.event === "closed" && e.code === 4008);
  });

  test("a frame from the client that does not decode: the server closes 1007, the iterator throws", async () => {
    const conn = await open();
    conn.ws.send(Uint8Array.of(0xfe, 0x00));
    await assert.rejects(async () => { for await (const _ of conn); }, (e) => e instanceof ConnectionClosed && e.code === 1007 &&
      /^UnknownMethod: unknown method id 0xfe/.test(e.reason));
    await server.next((e) => e.event === "refused" && e.error === "UnknownMethod");
  });

  test("the server closing with another code: the iterator throws ConnectionClosed", async () => {
    const conn = await open();
    conn.send("!close 4000");
    await assert.rejects(async () => { for await (const _ of conn); }, (e) => e instanceof ConnectionClosed && e.code === 4000 && e.reason === "closing as asked");
  });
});

// The full default pipeline (BRIO, zstd, brotli from the WebAssembly core) once
// Profile.pipeline() builds them and Pipeline.session() exists.
const full = await (async () => {
  if (noPython) return { skip: noPython };
  const pipeline = await pipelineOf("full");
  const missing = [...pipeline.codecs.values()].filter((c) => c.constructor.name === "Unavailable").map((c) => c.name);
  if (missing.length) return { skip: `the WebAssembly codecs are not wired into Profile.pipeline() yet (${missing.join(", ")} unavailable)` };
  return { pipeline };
})();

describe("the full pipeline (BRIO, zstd, brotli, templates)", { skip: full.skip ?? false }, () => {
  for (const mode of ["session", "stateless"]) {
    test(`${mode} mode: a conversation echoes back`, { skip: mode === "session" && typeof full.pipeline?.session !== "function" ? "no Pipeline.session() yet" : false }, async () => {
      const server = await startServer({ config: profiles.full, mode });
      try {
        assert.equal(full.pipeline.fingerprint, server.fingerprint);
        await exchange(server, full.pipeline, mode, conversation());
      } finally {
        await server.stop();
      }
    });
  }
});
