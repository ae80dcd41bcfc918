/**
 * An auracodec WebSocket client, for browsers (`WebSocket`) and Node (the
 * `ws` package): the same handshake, frames and close codes as Python's
 * `auracodec.websocket`.
 *
 *     import { connect } from "auracodec/ws";
 *     const conn = await connect("ws://127.0.0.1:8765", { pipeline });
 *     conn.send("hello");
 *     for await (const message of conn) console.log(message);
 *
 * `connect` offers the subprotocol `auracodec.1.<mode>.<fingerprint>`; a
 * server speaking another pipeline or mode refuses it (HTTP 400, 503 when
 * full) and `connect` rejects with a {@link HandshakeError}, with the
 * server's reason where the WebSocket implementation shows it (Node's `ws`
 * does; a browser only says that the connection failed). Given several
 * pipelines (or profiles, or versions still to load: {@link Offer}), it
 * offers one subprotocol each, in order of preference, and codes with the
 * one the server picks; only that one is built or loaded.
 *
 * In `session` mode the connection has one session (`pipeline.session()`),
 * whose two directions carry context across messages; in `stateless` mode
 * every frame stands alone. Frames are binary. A frame that does not decode
 * closes the connection with 1007, one beyond the output limit with 1009, a
 * text frame with 1003, a spent decode budget with 4008, and `recv` throws
 * the error. Browsers may send only 1000 and 3000-4999: there the codes go
 * out as 4007, 4009 and 4003 (the same 4000 + code - 1000 as 4008).
 *
 * Coding is synchronous, in the caller's turn: in order, one message at a
 * time. There are no worker threads as in Python; long messages block the
 * event loop for their coding time.
 */

import { DecodeError } from "../errors.js";
import { asText } from "../framing.js";
import type { FrameInput, Message } from "../framing.js";
import type { Pipeline } from "../pipeline.js";
import { pyRepr } from "../errors.js";
import {
  Bucket,
  CLOSE_BUDGET,
  CLOSE_INVALID,
  CLOSE_UNSUPPORTED,
  ConnectionClosed,
  DecodeBudget,
  FRAME_OVERHEAD,
  HandshakeError,
  closeCodeFor,
  errorReason,
  subprotocol,
} from "./protocol.js";
import type { Mode } from "./protocol.js";

/** What a session offers a connection (the pipeline's `session()`). */
export interface SessionLike {
  encode(message: Message, options?: { isolated?: boolean }): Uint8Array;
  decodeBytes(frame: FrameInput): Uint8Array;
  reset(): void;
}

/** The part of the WHATWG `WebSocket` this client uses; the `ws` package has it too. */
export interface WebSocketLike {
  readonly protocol: string;
  readonly readyState: number;
  binaryType: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
  /** The `ws` package's EventEmitter side: its `unexpected-response` carries a refusal's status and body. */
  on?(type: string, listener: (...args: any[]) => void): unknown;
}

export type WebSocketConstructor = new (url: string, protocols: string[], options?: object) => WebSocketLike;

/**
 * A profile `connect` may offer without its pipeline built: a `Profile`, or
 * a version to load only if the server picks it. `pipeline()` is called
 * once, for the one picked; the connection then holds (and its user closes)
 * what it returns.
 */
export interface Offer {
  readonly fingerprint: string;
  readonly maxMessageSize: number;
  pipeline(): Pipeline | Promise<Pipeline>;
}

export interface ConnectOptions {
  /** The pipeline, or several (pipelines or {@link Offer}s) in order of preference: one subprotocol each. */
  pipeline: Pipeline | Offer | readonly (Pipeline | Offer)[];
  /** `session` (default) or `stateless`; the server must speak the same. */
  mode?: Mode;
  /** The peer's frames are not trusted more than a client's: default 256 KiB/s (null: unlimited). */
  decodeBudget?: DecodeBudget | null;
  /** The WebSocket class (default: the `ws` package in Node, `globalThis.WebSocket` elsewhere). */
  WebSocket?: WebSocketConstructor;
  /** Extra options for the `ws` package's constructor (headers, handshakeTimeout, ...). */
  wsOptions?: Record<string, unknown>;
  /** Makes the connection's session from the pipeline agreed on (default: `pipeline.session()`). */
  session?: (pipeline: Pipeline) => SessionLike;
  /** Called with every frame sent (with its message as given) and every frame received (with its decoded bytes): for sizes, methods, logs. */
  observe?: Observer;
}

/** What {@link ConnectOptions.observe} is told of a frame: which way, the frame, and its message. */
export type Observer = (direction: "out" | "in", frame: Uint8Array, message: Message) => void;

const OPEN = 1;

type Incoming = { data: unknown };

/** A WebSocket connection that sends and receives auracodec frames. */
export class AuraConnection implements AsyncIterable<string> {
  readonly ws: WebSocketLike;
  /** The pipeline agreed on at the handshake. */
  pipeline!: Pipeline;
  readonly mode: Mode;
  /** The connection's session in session mode (null when stateless). */
  session: SessionLike | null = null;
  private budget: Bucket | null = null;
  private readonly queue: Incoming[] = [];
  private waiter: (() => void) | null = null;
  private closeEvent: { code: number; reason: string } | null = null;
  private readonly closedPromise: Promise<{ code: number; reason: string }>;
  /** The error recv threw when it refused a frame and closed. */
  refused: DecodeError | null = null;
  private readonly observe: Observer | undefined;
  private readonly options: ConnectionOptions;

  /**
   * Use {@link connect}; this wraps a WebSocket already open with the right
   * subprotocol. (`connect` passes a null pipeline before the handshake,
   * and the one agreed on after it: frames that arrive meanwhile wait.)
   */
  constructor(ws: WebSocketLike, pipeline: Pipeline | null, mode: Mode, options: ConnectionOptions = {}) {
    this.ws = ws;
    this.observe = options.observe;
    this.mode = mode;
    this.options = options;
    if (pipeline) this.use(pipeline);
    ws.binaryType = "arraybuffer";
    this.closedPromise = new Promise((resolve) => {
      ws.addEventListener("close", (event: { code: number; reason: string }) => {
        this.closeEvent = { code: event.code, reason: String(event.reason ?? "") };
        resolve(this.closeEvent);
        this.wake();
      });
    });
    ws.addEventListener("message", (event: Incoming) => {
      if (this.refused !== null) return; // read and dropped after a refusal
      this.queue.push({ data: event.data });
      this.wake();
    });
  }

  /** @internal Code with `pipeline` from now on (connect calls it once, after the handshake). */
  use(pipeline: Pipeline): void {
    const budget = this.options.decodeBudget === undefined ? new DecodeBudget() : this.options.decodeBudget;
    this.pipeline = pipeline;
    this.session = this.mode === "session" ? (this.options.session ?? ((p) => p.session()))(pipeline) : null;
    this.budget = budget ? new Bucket(budget, pipeline.maxMessageSize) : null;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** The negotiated subprotocol. */
  get subprotocol(): string {
    return this.ws.protocol;
  }

  /** Resolves with the close code and reason once the connection is closed. */
  get closed(): Promise<{ code: number; reason: string }> {
    return this.closedPromise;
  }

  // -- sending --------------------------------------------------------------

  /**
   * Send one message; returns the frame size in bytes. `isolated` keeps the
   * message out of the session's shared context (secrets: see
   * docs/sessions.md); a stateless connection's frames all stand alone.
   */
  send(message: Message, options: { isolated?: boolean } = {}): number {
    this.checkOpen();
    const frame = this.session !== null
      ? this.session.encode(message, { isolated: options.isolated ?? false })
      : this.pipeline.encode(message);
    this.ws.send(frame);
    this.observe?.("out", frame, message);
    return frame.length;
  }

  /** Send an already encoded stateless frame (one encoding for many connections). */
  sendFrame(frame: Uint8Array): void {
    if (this.session !== null) throw new Error("sendFrame is for stateless connections");
    this.checkOpen();
    this.ws.send(frame);
  }

  private checkOpen(): void {
    if (this.ws.readyState !== OPEN) {
      const c = this.closeEvent;
      throw new ConnectionClosed(c?.code ?? 1006, c?.reason ?? "the connection is closing");
    }
  }

  // -- receiving ------------------------------------------------------------

  /** Receive one frame, still encoded; on a text frame, close with 1003 and throw. */
  async recvFrame(): Promise<Uint8Array> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) {
        if (typeof next.data === "string") {
          const err = new DecodeError("received a text frame; auracodec frames are binary");
          await this.refuse(err, CLOSE_UNSUPPORTED, "auracodec frames are binary");
          throw err;
        }
        return toBytes(next.data);
      }
      if (this.closeEvent !== null || this.refused !== null) {
        const c = this.closeEvent ?? (await this.closedPromise);
        throw new ConnectionClosed(c.code, c.reason);
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Receive one message as bytes; on a bad frame, close (1007, 1009, 4008) and throw. */
  async recvBytes(): Promise<Uint8Array> {
    const frame = await this.recvFrame();
    let data: Uint8Array;
    try {
      data = this.session !== null ? this.session.decodeBytes(frame) : this.pipeline.decodeBytes(frame);
    } catch (err) {
      if (err instanceof DecodeError) await this.refuse(err, closeCodeFor(err), errorReason(err));
      throw err;
    }
    if (this.budget !== null && !this.budget.take(data.length)) {
      const err = this.budget.exceeded();
      await this.refuse(err, CLOSE_BUDGET, "decode budget spent");
      throw err;
    }
    this.observe?.("in", frame, data);
    return data;
  }

  /** Receive one message as text; a message that is not UTF-8 closes with 1007. */
  async recv(): Promise<string> {
    const data = await this.recvBytes();
    try {
      return asText(data);
    } catch (err) {
      if (err instanceof DecodeError) await this.refuse(err, CLOSE_INVALID, "message is not UTF-8 text");
      throw err;
    }
  }

  /** Close for a bad frame; frames the peer sent meanwhile are dropped undecoded. */
  private async refuse(err: DecodeError, code: number, reason: string): Promise<void> {
    this.refused = err;
    this.queue.length = 0;
    closeSocket(this.ws, code, reason);
    await this.closedPromise;
  }

  /**
   * The messages, as text, until the connection closes: normally (1000,
   * 1001, or without a close frame, as Python's) the iteration ends; any
   * other close code throws {@link ConnectionClosed}, a bad frame its error.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      try {
        yield await this.recv();
      } catch (err) {
        if (err instanceof ConnectionClosed && [1000, 1001, 1006].includes(err.code)) return;
        throw err;
      }
    }
  }

  /** Close the connection; resolves once it is closed. */
  async close(code = 1000, reason = ""): Promise<{ code: number; reason: string }> {
    if (this.closeEvent === null) closeSocket(this.ws, code, reason);
    return this.closedPromise;
  }
}

/** Browsers throw on close codes other than 1000 and 3000-4999: send 4000 + code - 1000 there. */
function closeSocket(ws: WebSocketLike, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch (err) {
    if (code >= 1000 && code < 2000 && code !== 1000) ws.close(4000 + code - 1000, reason);
    else throw err;
  }
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`unexpected WebSocket message data: ${Object.prototype.toString.call(data)}`);
}

/** What an {@link AuraConnection} is made with besides its pipeline. */
export type ConnectionOptions = { decodeBudget?: DecodeBudget | null; session?: (pipeline: Pipeline) => SessionLike; observe?: Observer };

/** The WebSocket class to use by default: the `ws` package in Node, the global one elsewhere. */
async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";
  if (isNode) {
    const name = "ws"; // not a static import: browsers and bundles never load it
    try {
      const mod = (await import(name)) as { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
      const ctor = mod.WebSocket ?? mod.default;
      if (ctor) return ctor;
    } catch {
      // fall through to a global WebSocket (Node 22+)
    }
  }
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global === undefined) {
    throw new Error("no WebSocket implementation: in Node, install the ws package (npm install ws)");
  }
  return global;
}

/**
 * Connect to an auracodec server. Rejects with a {@link HandshakeError} when
 * the server refuses the subprotocol or answers with another one.
 */
export async function connect(url: string | URL, options: ConnectOptions): Promise<AuraConnection> {
  // One subprotocol per fingerprint: the first offer of each.
  const offers = ([] as (Pipeline | Offer)[]).concat(options.pipeline).filter((o, i, all) => all.findIndex((x) => x.fingerprint === o.fingerprint) === i);
  const mode = options.mode ?? "session";
  const protocols = offers.map((o) => subprotocol(o, mode));
  const expected = protocols.map(pyRepr).join(" or ");
  const where = String(url);
  const WebSocketClass = options.WebSocket ?? (await defaultWebSocket());
  const ws = new WebSocketClass(where, protocols, {
    perMessageDeflate: false, // compressing frames twice only costs time
    maxPayload: Math.max(...offers.map((o) => o.maxMessageSize)) + FRAME_OVERHEAD,
    ...options.wsOptions,
  });
  const conn = new AuraConnection(ws, null, mode, options);
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    // Node's ws: a refusal's status and body (Python: websockets' InvalidStatus).
    ws.on?.("unexpected-response", (req: { destroy(): void }, res: NodeResponse) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on("end", () => {
        const body = new TextDecoder().decode(concatChunks(chunks)).trim();
        fail(new HandshakeError(`${where} refused the auracodec handshake (HTTP ${res.statusCode}): ${body}`, res.statusCode ?? null));
        req.destroy();
      });
      res.on("error", () => req.destroy());
    });
    ws.addEventListener("open", () => {
      if (!protocols.includes(ws.protocol)) {
        fail(new HandshakeError(`${where} answered with subprotocol ${pyRepr(ws.protocol ?? "")}, not ${expected}`));
        ws.close(1000);
        return;
      }
      settled = true;
      resolve();
    });
    ws.addEventListener("error", (event: { message?: string; error?: Error }) => {
      const detail = event?.error?.message ?? event?.message;
      fail(new HandshakeError(
        `${where}: the WebSocket connection failed before the auracodec handshake completed` +
          (detail ? ` (${detail})` : " (this WebSocket implementation does not show why: a server speaking another " +
            `pipeline or mode refuses ${protocols.join(", ")} with HTTP 400, a full one with 503)`),
      ));
    });
    ws.addEventListener("close", (event: { code: number }) => {
      fail(new HandshakeError(`${where}: the connection closed (code ${event.code}) before the auracodec handshake completed`));
    });
  });
  const chosen = offers[protocols.indexOf(ws.protocol)];
  try {
    conn.use("pipeline" in chosen ? await chosen.pipeline() : chosen);
  } catch (err) {
    closeSocket(ws, 1011, "cannot load the profile agreed on");
    throw err;
  }
  return conn;
}

interface NodeResponse {
  statusCode?: number;
  on(type: string, listener: (...args: any[]) => void): void;
}

function concatChunks(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
