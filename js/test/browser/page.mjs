// In the browser: load a profile over HTTP, the WebAssembly module, connect
// to a Python auracodec server in session mode, exchange a conversation and
// check every message. The outcome goes to window.auracodecResult.
import { Profile, urlSource } from "../../dist/index.js";
import { connect, subprotocol } from "../../dist/ws/index.js";
import { contextFreeSession } from "./session-standin.mjs";

const log = (line) => (document.getElementById("log").textContent += line + "\n");

async function run() {
  const params = new URL(location.href).searchParams;
  const wasm = await WebAssembly.instantiateStreaming(fetch("/dist/auracodec.wasm"), {});
  const wasmExports = Object.keys(wasm.instance.exports).length;
  log(`auracodec.wasm: ${wasmExports} exports`);
  const profile = await Profile.load(urlSource(new URL(params.get("profile"), location.href)));
  const pipeline = profile.pipeline();
  const messages = await (await fetch(params.get("conversation"))).json();
  const session = typeof pipeline.session === "function" ? undefined : () => contextFreeSession(pipeline);
  const conn = await connect(params.get("ws"), { pipeline, mode: "session", session });
  log(`connected: ${conn.subprotocol}`);
  const mismatches = [];
  let frameBytes = 0;
  let messageBytes = 0;
  for (const [i, message] of messages.entries()) {
    const isolated = i % 7 === 6;
    frameBytes += conn.send(message, { isolated });
    messageBytes += new TextEncoder().encode(message).length;
    const echo = await conn.recv();
    if (echo !== message) mismatches.push(i);
  }
  const closed = await conn.close();
  // A refusal in the browser: the server speaks another pipeline.
  let refusal = null;
  try {
    await connect(params.get("ws"), { pipeline, mode: "stateless" });
  } catch (err) {
    refusal = { name: err.name, message: err.message };
  }
  return {
    ok: mismatches.length === 0,
    checked: messages.length,
    mismatches,
    frameBytes,
    messageBytes,
    wasmExports,
    standIn: session !== undefined,
    fingerprint: pipeline.fingerprint,
    subprotocol: subprotocol(pipeline, "session"),
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
