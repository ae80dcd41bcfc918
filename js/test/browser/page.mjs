// In the browser, with the bundle only (dist/auracodec.js, which loads
// dist/auracodec.wasm beside it): load a trained profile over HTTP, connect
// to a Python auracodec server in session mode with a plain WebSocket and the
// real Session, play the client's side of a conversation, check every
// message the server sends. The outcome goes to window.auracodecResult.
import { SessionFrame, loadProfile } from "/dist/auracodec.js";

const log = (line) => (document.getElementById("log").textContent += line + "\n");
const bytes = (text) => new TextEncoder().encode(text).length;

/** Open `url` offering `protocol`; resolves with the socket and a frame queue, rejects if refused. */
function open(url, protocol) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol);
    ws.binaryType = "arraybuffer";
    const frames = [];
    const waiting = [];
    let closed = null;
    ws.onmessage = (e) => (waiting.length ? waiting.shift().ok(e.data) : frames.push(e.data));
    ws.onclose = (e) => {
      closed = { code: e.code, reason: e.reason };
      for (const w of waiting.splice(0)) w.fail(new Error(`closed: ${e.code} ${e.reason}`));
      reject(new Error(`refused or closed before opening (code ${e.code})`));
    };
    ws.onopen = () => resolve({
      ws,
      recv: () => frames.length ? Promise.resolve(frames.shift())
        : closed ? Promise.reject(new Error(`closed: ${closed.code} ${closed.reason}`))
        : new Promise((ok, fail) => waiting.push({ ok, fail })),
      close: () => new Promise((ok) => {
        ws.addEventListener("close", (e) => ok({ code: e.code, reason: e.reason }));
        ws.close(1000);
      }),
    });
  });
}

async function run() {
  const params = new URL(location.href).searchParams;
  const profile = await loadProfile(params.get("profile"));   // SHA-256 of every artifact checked
  const pipeline = profile.pipeline();
  const codecs = [...pipeline.codecs.keys()];
  log(`profile ${profile.fingerprint}: ${codecs.join(", ")}`);
  const script = await (await fetch(params.get("conversation"))).json();
  const protocol = `auracodec.1.session.${pipeline.fingerprint}`;
  const conn = await open(params.get("ws"), protocol);
  log(`connected: ${conn.ws.protocol}`);
  const session = pipeline.session();
  // Method names as Python's stats give them: a codec's, or "<codec>+context" for a session context's id.
  const names = new Map([...pipeline.byId].map(([id, c]) => [id, c.name]));
  for (const codec of pipeline.codecs.values()) {
    const ctx = codec.context?.("in");
    if (ctx) names.set(ctx.methodId, `${ctx.name}+context`);
    ctx?.close?.();
  }
  const methodName = (frame) => {
    const id = SessionFrame.parse(new Uint8Array(frame)).methodId;
    return names.get(id) ?? `0x${id.toString(16).padStart(2, "0")}`;
  };
  const turns = [];
  let sent = 0;
  for (const [i, turn] of script.entries()) {
    if (turn.from === "client") {
      const isolated = sent++ % 7 === 6;
      const frame = session.encode(turn.text, { isolated });
      conn.ws.send(frame);
      turns.push({ i, from: "client", bytes: bytes(turn.text), frame: frame.length, method: methodName(frame), isolated });
    } else {
      const frame = await conn.recv();
      const text = session.decode(frame);
      const ok = text === turn.text;
      turns.push({ i, from: "server", bytes: bytes(text), frame: frame.byteLength, method: methodName(frame), ok });
      log(`#${i} server ${methodName(frame)} ${bytes(text)} -> ${frame.byteLength} bytes ${ok ? "verified" : "DIFFERS"}`);
    }
  }
  const closed = await conn.close();
  session.close();
  // A refusal: the server speaks the session mode only.
  let refusal = null;
  try {
    const other = await open(params.get("ws"), `auracodec.1.stateless.${pipeline.fingerprint}`);
    other.ws.close();
  } catch (err) {
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
    protocol: conn.ws.protocol,
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
