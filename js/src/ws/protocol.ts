/**
 * What an auracodec WebSocket connection agrees on, sans-IO (Python:
 * `src/auracodec/websocket.py`): the subprotocol, the close codes, the
 * errors, the decode budget.
 *
 *     auracodec.1.<mode>.<fingerprint>        mode: session | stateless
 *
 * A server accepts exactly its own subprotocol and refuses any other with
 * HTTP 400 and a body saying what differs (503 when it is full).
 */

import { AuraError, DecodeError, OutputLimitExceeded } from "../errors.js";

export const PROTOCOL = "auracodec.1";
export const MODES = ["session", "stateless"] as const;
export type Mode = (typeof MODES)[number];

/** A frame that does not decode (invalid payload data). */
export const CLOSE_INVALID = 1007;
/** A frame that decodes beyond the output limit (message too big). */
export const CLOSE_TOO_BIG = 1009;
/** A text frame where frames are binary (unsupported data). */
export const CLOSE_UNSUPPORTED = 1003;
/** The decode budget is spent: 4000 + 1008 (policy violation) - 1000. */
export const CLOSE_BUDGET = 4008;
/** Room for the method byte and a session control prefix (Python's `_FRAME_OVERHEAD`). */
export const FRAME_OVERHEAD = 8;

/** The subprotocol a pipeline (or a profile) offers: protocol, mode and fingerprint. */
export function subprotocol(pipeline: { readonly fingerprint: string }, mode: Mode = "session"): string {
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new RangeError(`mode must be one of session, stateless, got ${String(mode)}`);
  }
  if (!pipeline.fingerprint) {
    throw new AuraError("the pipeline has no fingerprint: build it from a Profile (profile.pipeline())");
  }
  return `${PROTOCOL}.${mode}.${pipeline.fingerprint}`;
}

/** The peer refused the auracodec handshake, or answered with another pipeline. */
export class HandshakeError extends AuraError {
  /** The HTTP status of a refusal, when the WebSocket implementation shows it (Node's `ws`; browsers do not). */
  readonly status: number | null;
  constructor(message: string, status: number | null = null) {
    super(message);
    this.status = status;
  }
}

/**
 * The peer made this connection decode more than its {@link DecodeBudget}
 * allows; thrown by `recv` after closing with {@link CLOSE_BUDGET}. The
 * message whose decoding overdrew the budget is not returned.
 */
export class DecodeBudgetExceeded extends DecodeError {}

/**
 * The connection is closed: `recv` after the close, or the peer closed with
 * a code other than 1000/1001 (Python: websockets' `ConnectionClosed`, which
 * is not an auracodec error either).
 */
export class ConnectionClosed extends Error {
  /** The close code (1006: closed without a close frame). */
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string) {
    super(`connection closed: code ${code}${reason ? `, reason: ${reason}` : ""}`);
    this.code = code;
    this.reason = reason;
  }
}

for (const [name, cls] of Object.entries({ HandshakeError, DecodeBudgetExceeded, ConnectionClosed })) {
  Object.defineProperty(cls.prototype, "name", { value: name, writable: true, configurable: true, enumerable: false });
}

/**
 * How much decoding a connection's peer may ask for: a token bucket of
 * decoded bytes, `rate` bytes a second with a `burst` (null: twice the
 * pipeline's `maxMessageSize`). The default, 256 KiB a second, is Python's.
 */
export class DecodeBudget {
  readonly rate: number;
  readonly burst: number | null;
  constructor(options: { rate?: number; burst?: number | null } = {}) {
    const rate = options.rate ?? 256 * 1024;
    const burst = options.burst ?? null;
    if (!(rate > 0)) throw new RangeError(`DecodeBudget rate must be more than 0 bytes/s, got ${rate}`);
    if (burst !== null && !(burst >= 1)) throw new RangeError(`DecodeBudget burst must be at least 1 byte, got ${burst}`);
    this.rate = rate;
    this.burst = burst;
  }
}

const now = (): number => (globalThis.performance?.now() ?? Date.now()) / 1000;

/** One connection's decode budget, in decoded bytes. */
export class Bucket {
  readonly rate: number;
  readonly burst: number;
  private tokens: number;
  private stamp: number;
  constructor(budget: DecodeBudget, limit: number) {
    this.rate = budget.rate;
    this.burst = budget.burst ?? 2 * limit;
    this.tokens = this.burst;
    this.stamp = now();
  }
  /** Take `n` bytes; false when that overdraws the bucket. */
  take(n: number): boolean {
    const t = now();
    this.tokens = Math.min(this.burst, this.tokens + (t - this.stamp) * this.rate) - n;
    this.stamp = t;
    return this.tokens >= 0;
  }
  exceeded(): DecodeBudgetExceeded {
    return new DecodeBudgetExceeded(
      `decode budget spent: the peer's frames decoded to more than ${Math.round(this.burst)} bytes ` +
        `at once, or ${Math.round(this.rate)} bytes/s sustained`,
    );
  }
}

/** The close code for an error decoding a frame. */
export function closeCodeFor(err: DecodeError): number {
  return err instanceof OutputLimitExceeded ? CLOSE_TOO_BIG : CLOSE_INVALID;
}

const utf8 = new TextEncoder();
const lenient = new TextDecoder("utf-8", { fatal: false });

/** A close reason: at most 123 bytes of UTF-8, cut at a character boundary (Python's `_reason`). */
export function closeReason(text: string): string {
  const bytes = utf8.encode(text);
  if (bytes.length <= 123) return text;
  let end = 123;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return lenient.decode(bytes.subarray(0, end));
}

/** `"<ErrorName>: <message>"`, as a close reason. */
export function errorReason(err: Error): string {
  return closeReason(`${err.name}: ${err.message}`);
}
