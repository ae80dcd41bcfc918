// auracodec demo --browser: the page. It loads the JavaScript client
// (auracodec.js + auracodec.wasm) and the server's profile, opens an auracodec
// WebSocket (session mode) and plays the client's side of the conversation:
// it sends the client's messages and decodes the server's, each checked
// against the SHA-256 and size that /conversation.json (plain HTTP, a side
// channel) gives for it. The server checks the page's messages against its
// script and closes with 1000 once all arrived intact (4001 if one differs).
import { SessionFrame, loadProfile, sha256Hex } from "./auracodec.js";

const $ = (id) => document.getElementById(id);
const status = (line) => ($("status").textContent = line);
const utf8 = new TextEncoder();

function open(url, protocol) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol);
    ws.binaryType = "arraybuffer";
    const frames = [];
    const waiting = [];
    let closed = null;
    const onClose = [];
    ws.onmessage = (e) => (waiting.length ? waiting.shift().ok(e.data) : frames.push(e.data));
    ws.onclose = (e) => {
      closed = { code: e.code, reason: e.reason };
      for (const w of waiting.splice(0)) w.fail(new Error(`the server closed: ${e.code} ${e.reason}`));
      for (const f of onClose) f(closed);
      reject(new Error(`the server refused the connection (code ${e.code}): is it the same profile?`));
    };
    ws.onopen = () => resolve({
      ws,
      recv: () => frames.length ? Promise.resolve(frames.shift())
        : closed ? Promise.reject(new Error(`the server closed: ${closed.code} ${closed.reason}`))
        : new Promise((ok, fail) => waiting.push({ ok, fail })),
      closed: () => closed ? Promise.resolve(closed) : new Promise((ok) => onClose.push(ok)),
    });
  });
}

function row(i, from, text, method, size, frame, verified) {
  const tr = document.createElement("tr");
  tr.className = from;
  const cells = [
    [String(i + 1), "n"], [from, "who"], [text.length > 140 ? text.slice(0, 140) + "…" : text, "msg"], [method, "method"],
    [String(size), "n"], [String(frame), "n"], [(size / frame).toFixed(2), "n"], ["", "v"],
  ];
  for (const [value, cls] of cells) {
    const td = document.createElement("td");
    td.className = cls;
    td.textContent = value; // the corpus's text, never markup
    tr.append(td);
  }
  tr.title = text;
  $("rows").append(tr);
  mark(tr, verified);
  return tr;
}

function mark(tr, verified) {
  const td = tr.lastChild;
  td.className = verified === true ? "ok" : verified === false ? "bad" : "wait";
  td.textContent = verified === true ? "verified" : verified === false ? "NO" : "sent";
}

async function run() {
  const profile = await loadProfile("./profile/");
  const pipeline = profile.pipeline();
  const { ws: url, turns } = await (await fetch("./conversation.json")).json();
  const names = new Map([...pipeline.byId].map(([id, c]) => [id, c.name]));
  for (const codec of pipeline.codecs.values()) {
    const ctx = codec.context?.("in");
    if (ctx) names.set(ctx.methodId, `${ctx.name}+context`);
    ctx?.close?.();
  }
  const method = (frame) => {
    const id = SessionFrame.parse(frame).methodId;
    return names.get(id) ?? `0x${id.toString(16).padStart(2, "0")}`;
  };
  const codecs = [...pipeline.codecs.keys()].filter((n) => n !== "raw").join(", ");
  const conn = await open(url, `auracodec.1.session.${pipeline.fingerprint}`);
  status(`connected to ${url} — subprotocol ${conn.ws.protocol}\nprofile: ${codecs}; the client runs in this page (auracodec.js + WebAssembly)`);
  const session = pipeline.session();
  const pending = []; // the page's messages, verified by the server when it answers or closes with 1000
  let verified = 0;
  let bytes = 0;
  let wire = 0;
  for (const [i, turn] of turns.entries()) {
    if (turn.from === "client") {
      const frame = session.encode(turn.text);
      conn.ws.send(frame);
      pending.push(row(i, "client", turn.text, method(frame), turn.bytes, frame.length, null));
      bytes += turn.bytes;
      wire += frame.length;
    } else {
      const frame = new Uint8Array(await conn.recv());
      for (const tr of pending.splice(0)) (mark(tr, true), verified++);
      const data = session.decodeBytes(frame);
      const ok = data.length === turn.bytes && sha256Hex(data) === turn.sha256;
      if (ok) verified++;
      const text = new TextDecoder().decode(data);
      row(i, "server", text, method(frame), data.length, frame.length, ok);
      bytes += data.length;
      wire += frame.length;
    }
  }
  const closed = await conn.closed();
  for (const tr of pending.splice(0)) (mark(tr, closed.code === 1000), verified += closed.code === 1000 ? 1 : 0);
  session.close();
  $("summary").textContent = `${verified} of ${turns.length} messages verified; ${bytes} bytes in ${wire} bytes of frames ` +
    `(ratio ${(bytes / wire).toFixed(2)}). Server: “${closed.reason}”`;
  status($("status").textContent + "\ndone");
  await fetch("./report", { method: "POST", body: JSON.stringify({ verified, total: turns.length, agent: navigator.userAgent }) });
  return { verified, total: turns.length, bytes, wire };
}

run().then(
  (result) => (window.auracodecDemo = { ok: result.verified === result.total, ...result }),
  (err) => {
    status(`${err.name}: ${err.message}`);
    window.auracodecDemo = { ok: false, error: `${err.name}: ${err.message}` };
  },
);
