// In the browser, with the bundle only (dist/auracodec.js, which loads
// dist/auracodec.wasm beside it): load a trained profile over HTTP, connect
// to a Python auracodec server in session mode with the client's connect(),
// play the client's side of a conversation, check every message the server
// sends. The outcome goes to window.auracodecResult.
import { HandshakeError, connect, loadProfile } from "/dist/auracodec.js";

const log = (line) => (document.getElementById("log").textContent += line + "\n");
const bytes = (text) => new TextEncoder().encode(text).length;

async function run() {
  const params = new URL(location.href).searchParams;
  const profile = await loadProfile(params.get("profile"));   // SHA-256 of every artifact checked
  const pipeline = profile.pipeline();
  const codecs = [...pipeline.codecs.keys()];
  log(`profile ${profile.fingerprint}: ${codecs.join(", ")}`);
  const script = await (await fetch(params.get("conversation"))).json();
  // Every frame each way, as the connection sends and decodes it.
  const frames = { out: [], in: [] };
  const observe = (direction, frame) => frames[direction].push(frame);
  const conn = await connect(params.get("ws"), { pipeline, mode: "session", observe });
  log(`connected: ${conn.subprotocol}`);
  const methodName = (frame) => conn.session.methodOf(frame); // "brio+context" for a context's frames
  const turns = [];
  let sent = 0;
  for (const [i, turn] of script.entries()) {
    if (turn.from === "client") {
      const isolated = sent++ % 7 === 6;
      conn.send(turn.text, { isolated });
      const frame = frames.out.at(-1);
      turns.push({ i, from: "client", bytes: bytes(turn.text), frame: frame.length, method: methodName(frame), isolated });
    } else {
      const text = await conn.recv();
      const frame = frames.in.at(-1);
      const ok = text === turn.text;
      turns.push({ i, from: "server", bytes: bytes(text), frame: frame.byteLength, method: methodName(frame), ok });
      log(`#${i} server ${methodName(frame)} ${bytes(text)} -> ${frame.byteLength} bytes ${ok ? "verified" : "DIFFERS"}`);
    }
  }
  const closed = await conn.close();
  // A refusal: the server speaks the session mode only.
  let refusal = null;
  try {
    await (await connect(params.get("ws"), { pipeline, mode: "stateless" })).close();
  } catch (err) {
    if (!(err instanceof HandshakeError)) throw err;
    refusal = err.message;
  }
  const mismatches = turns.filter((t) => t.from === "server" && !t.ok).map((t) => t.i);
  pipeline.close();
  return {
    ok: mismatches.length === 0,
    turns,
    mismatches,
    codecs,
    fingerprint: pipeline.fingerprint,
    protocol: conn.subprotocol,
    closed,
    refusal,
    userAgent: navigator.userAgent,
  };
}

run().then(
  (result) => {
    log(JSON.stringify(result, null, 1));
    window.auracodecResult = result;
  },
  (err) => {
    log(`${err.name}: ${err.message}\n${err.stack}`);
    window.auracodecResult = { ok: false, error: `${err.name}: ${err.message}`, stack: String(err.stack) };
  },
);
