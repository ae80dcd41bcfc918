// auracodec demo --browser: the page. It loads the JavaScript client
// (auracodec.js + auracodec.wasm) and the server's profile, opens an auracodec
// WebSocket (session mode) and plays the client's side of the conversation:
// it sends the client's messages and decodes the server's, each checked
// against the SHA-256 and size that /conversation.json (plain HTTP, a side
// channel) gives for it. The server checks the page's messages against its
// script and closes with 1000 once all arrived intact (4001 if one differs).
import { connect, loadProfile, sha256Hex } from "./auracodec.js";

const $ = (id) => document.getElementById(id);
const status = (line) => ($("status").textContent = line);

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
  const codecs = [...pipeline.codecs.keys()].filter((n) => n !== "raw").join(", ");
  // Every frame each way, as the connection sends and decodes it.
  const frames = { out: [], in: [] };
  const observe = (direction, frame) => frames[direction].push(frame);
  let conn;
  try {
    conn = await connect(url, { pipeline, mode: "session", observe });
  } catch (err) {
    throw new Error(`${err.message}: is the server on the same profile?`);
  }
  const method = (frame) => conn.session.methodOf(frame); // "brio+context" for a context's frames
  status(`connected to ${url} — subprotocol ${conn.subprotocol}\nprofile: ${codecs}; the client runs in this page (auracodec.js + WebAssembly)`);
  const pending = []; // the page's messages, verified by the server when it answers or closes with 1000
  let verified = 0;
  let bytes = 0;
  let wire = 0;
  for (const [i, turn] of turns.entries()) {
    if (turn.from === "client") {
      conn.send(turn.text);
      const frame = frames.out.at(-1);
      pending.push(row(i, "client", turn.text, method(frame), turn.bytes, frame.length, null));
      bytes += turn.bytes;
      wire += frame.length;
    } else {
      const data = await conn.recvBytes();
      const frame = frames.in.at(-1);
      for (const tr of pending.splice(0)) (mark(tr, true), verified++);
      const ok = data.length === turn.bytes && sha256Hex(data) === turn.sha256;
      if (ok) verified++;
      const text = new TextDecoder().decode(data);
      row(i, "server", text, method(frame), data.length, frame.length, ok);
      bytes += data.length;
      wire += frame.length;
    }
  }
  const closed = await conn.closed;
  for (const tr of pending.splice(0)) (mark(tr, closed.code === 1000), verified += closed.code === 1000 ? 1 : 0);
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
