/**
 * Sessions: context carried across the messages of one connection (Python:
 * `core/session.py`, whose rules this follows exactly; its docstring is the
 * long explanation).
 *
 * A session is one end of a connection. `encode` serves the outgoing
 * direction and `decode` the incoming one, each with its own contexts (BRIO's,
 * 0x13, or 0x23 with `streams = true`), made at the direction's first message. Every message of a direction
 * is absorbed by every context of that direction, on both ends, exactly once,
 * whichever codec carried it: a context absorbs a message when it codes it,
 * and through `absorb` otherwise.
 *
 * Session frames are pipeline frames, plus two prefixes starting with 0xff:
 *
 *     0xff || frame                          isolated: decoded statelessly,
 *                                            absorbed by no context
 *     0xff 0xff || flags || [check] || frame control (see SessionFrame)
 *
 * After a frame fails to decode (any `DecodeError`, text checks included),
 * the incoming direction refuses every frame (`SessionError`) until the
 * peer's reset marker arrives; the next outgoing frame asks for it. With
 * `checkEvery = N`, every N-th outgoing message carries the low 16 bits of a
 * CRC-32 digest of its direction so far, which the peer compares with its own.
 *
 * The encoder keeps the smallest payload (Python's `smallest` policy): every
 * context codes every message; the frames decode the same as those of
 * Python's default `cost` policy. As in Python, a message that a context with
 * `solo` says it continues (BRIO's with continuations: a streamed reply's
 * deltas) is coded by that context alone, raw when that does not pay. A
 * session is not safe for concurrent use (it is synchronous anyway).
 */

import type { Codec, CodecContext } from "./codec.js";
import { CodecFault, DecodeError, MessageTooLarge, SessionError, UnknownMethod } from "./errors.js";
import { SessionFrame, asFrame, asMessage, asText, concat } from "./framing.js";
import type { FrameInput, Message } from "./framing.js";
import type { DecodeEntry, Pipeline } from "./pipeline.js";

export interface SessionOptions {
  /** The session's name in errors (default `s1`, `s2`, ...). */
  id?: string;
  /** Send a digest of the outgoing direction every this many messages (0: never). */
  checkEvery?: number;
}

export interface EncodeOptions {
  /** Keep the message out of every context (for secrets); the frame is one byte longer. */
  isolated?: boolean;
}

let ids = 0;
const CHECK_MASK = 0xffff;

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** zlib's `crc32(data, value)`. */
export function crc32(data: Uint8Array, value = 0): number {
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** A direction's running digest after one more absorbed message (Python's `_digest`). */
export function digest(state: number, message: Uint8Array): number {
  const length = new Uint8Array(8);
  let n = message.length;
  for (let i = 7; i >= 0 && n > 0; i--) {
    length[i] = n % 256;
    n = Math.floor(n / 256);
  }
  return crc32(message, crc32(length, state));
}

function hex4(n: number): string {
  return "0x" + n.toString(16).padStart(4, "0");
}

function raisedName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

/** A context offered to the encoder for the message at hand: it codes once. */
class Offer {
  readonly name: string;
  readonly methodId: number;
  readonly cost: number;
  payload: Uint8Array | null = null;
  tried = false;
  error: string | null = null;

  constructor(readonly context: CodecContext) {
    this.name = `${context.name}+context`;
    this.methodId = context.methodId;
    this.cost = context.cost;
  }

  encode(message: Uint8Array): Uint8Array | null {
    if (this.tried) return this.payload;
    this.tried = true;
    let payload: unknown;
    try {
      payload = this.context.encode(message);
    } catch (err) {
      this.error = `raised ${raisedName(err)}: ${err instanceof Error ? err.message : String(err)}`;
      return null;
    }
    if (payload !== null && !(payload instanceof Uint8Array)) {
      this.error = "returned something other than a Uint8Array or null";
      return null;
    }
    this.payload = payload;
    return payload;
  }
}

type Candidate = Pick<Codec, "methodId" | "cost" | "encode">;

/** One end of a connection; make it with {@link Pipeline.session}. */
export class Session {
  readonly id: string;
  readonly checkEvery: number;
  #out: CodecContext[] | null = null;
  #inContexts: Map<number, CodecContext> | null = null;
  #plain: (DecodeEntry | undefined)[] | null = null;
  #isolatedTable: (DecodeEntry | undefined)[] | null = null;
  #known: Map<number, string> | null = null;
  #failedError: DecodeError | null = null;
  #flags = 0; // control flags for the next outgoing frame
  #sent = 0; // messages absorbed by the outgoing direction (when checking)
  #outDigest = 0;
  #inDigest = 0;
  #check: number | null = null; // the check of the frame being decoded
  #closed = false;

  constructor(readonly pipeline: Pipeline, options: SessionOptions = {}) {
    const every = options.checkEvery ?? 0;
    if (!Number.isSafeInteger(every) || every < 0) throw new RangeError(`checkEvery must be an integer >= 0, got ${every}`);
    this.id = options.id ?? `s${++ids}`;
    this.checkEvery = every;
  }

  #setupOut(): CodecContext[] {
    this.#assertOpen();
    this.#out = this.pipeline.contexts("out");
    return this.#out;
  }

  #setupIn(): (DecodeEntry | undefined)[] {
    this.#assertOpen();
    const contexts = this.pipeline.contexts("in");
    this.#inContexts = new Map(contexts.map((c) => [c.methodId, c]));
    this.#known = new Map(this.pipeline.names);
    for (const c of contexts) this.#known.set(c.methodId, `${c.name}+context`);
    const table: (DecodeEntry | undefined)[] = new Array(256);
    for (const [id, codec] of this.pipeline.byId) {
      table[id] = {
        decode: (payload, limit) => {
          const out = codec.decode(payload, limit);
          this.#absorbed(out, limit, null);
          return out;
        },
      };
    }
    for (const [id, ctx] of this.#inContexts) {
      table[id] = {
        decode: (payload, limit) => {
          const out = ctx.decode(payload, limit);
          this.#absorbed(out, limit, ctx);
          return out;
        },
      };
    }
    this.#plain = table;
    return table;
  }

  #setupIsolated(): (DecodeEntry | undefined)[] {
    if (this.#plain === null) this.#setupIn();
    const table: (DecodeEntry | undefined)[] = new Array(256);
    for (const [id, codec] of this.pipeline.byId) {
      table[id] = {
        decode: (payload, limit) => {
          const out = codec.decode(payload, limit);
          this.#verifyCheck();
          return out;
        },
      };
    }
    const refuse: DecodeEntry = {
      decode: () => {
        throw new SessionError("an isolated frame cannot use a session context");
      },
    };
    for (const id of this.#inContexts!.keys()) table[id] = refuse;
    this.#isolatedTable = table;
    return table;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`session ${this.id} is closed`);
  }

  // -- outgoing --------------------------------------------------------------

  /**
   * Encode one outgoing message. `isolated: true` keeps it out of the shared
   * contexts (for secrets, against compression side channels such as CRIME
   * and BREACH); its frame is one byte longer.
   */
  encode(message: Message, options: EncodeOptions = {}): Uint8Array {
    this.#assertOpen();
    const isolated = options.isolated ?? false;
    const pipe = this.pipeline;
    const data = asMessage(message);
    if (data.length > pipe.maxMessageSize) throw new MessageTooLarge(data.length, pipe.maxMessageSize);
    const out = this.#out ?? this.#setupOut();
    const solo = isolated ? null : this.#encodeSolo(out, data);
    if (solo !== null) return solo;
    const check = isolated ? null : this.#nextCheck(data);
    let prefix: Uint8Array;
    let offers: Offer[] = [];
    let candidates: readonly Candidate[];
    if (isolated) {
      prefix = SessionFrame.prefix(this.#flags, null, true);
      candidates = pipe.candidates;
    } else {
      prefix = SessionFrame.prefix(this.#flags, check, false);
      offers = out.map((c) => new Offer(c));
      // The stateless codecs and the contexts, cheapest first (stable).
      candidates = [...pipe.candidates, ...offers].sort((a, b) => a.cost - b.cost || a.methodId - b.methodId);
    }
    let frame: Uint8Array;
    try {
      frame = this.#choose(data, candidates, prefix);
    } finally {
      this.#settle(offers, data);
    }
    this.#flags = 0;
    return frame;
  }

  /** The check the next outgoing frame carries (after `data`), or null. */
  #nextCheck(data: Uint8Array): number | null {
    if (!this.checkEvery) return null;
    this.#outDigest = digest(this.#outDigest, data);
    return ++this.#sent % this.checkEvery ? null : this.#outDigest & CHECK_MASK;
  }

  /**
   * The frame of a message that a context with `solo` codes alone, without
   * choosing among codecs (Python's `_encode_solo`), raw when that does not
   * pay. Null when no context takes it, or the one that would failed (it is
   * then dropped: it may have absorbed part of the message, so it is not
   * used again): the message takes the general path.
   */
  #encodeSolo(out: CodecContext[], data: Uint8Array): Uint8Array | null {
    const ctx = out.find((c) => c.solo);
    if (ctx === undefined) return null;
    let payload: unknown;
    try {
      if (!ctx.solo!(data)) return null;
      payload = ctx.encode(data);
    } catch {
      payload = 0; // a fault, dropped below
    }
    if (payload !== null && !(payload instanceof Uint8Array)) {
      out.splice(out.indexOf(ctx), 1);
      return null;
    }
    for (const other of [...out]) {
      if (other === ctx) continue;
      try {
        other.absorb(data);
      } catch {
        out.splice(out.indexOf(other), 1);
      }
    }
    const prefix = SessionFrame.prefix(this.#flags, this.#nextCheck(data));
    this.#flags = 0;
    const coded = payload !== null && payload.length < data.length;
    return concat([prefix, Uint8Array.of(coded ? ctx.methodId : this.pipeline.raw.methodId), coded ? payload! : data]);
  }

  /** The smallest payload of the candidates, raw when none is smaller than the message. */
  #choose(data: Uint8Array, candidates: readonly Candidate[], prefix: Uint8Array): Uint8Array {
    let bestId = this.pipeline.raw.methodId;
    let best = data;
    for (const codec of candidates) {
      let payload: unknown;
      try {
        payload = codec.encode(data);
      } catch {
        continue; // a codec's fault declines this message
      }
      if (payload instanceof Uint8Array && payload.length < best.length) {
        best = payload;
        bestId = codec.methodId;
      }
    }
    return concat([prefix, Uint8Array.of(bestId), best]);
  }

  /**
   * Every context absorbs the message once: those not tried absorb it now;
   * one that failed is not used again (the peer's copy is then never asked
   * to decode again, so both ends stay in step).
   */
  #settle(offers: Offer[], data: Uint8Array): void {
    for (const offer of offers) {
      if (offer.error === null && !offer.tried) {
        try {
          offer.context.absorb(data);
        } catch (err) {
          offer.error = `raised ${raisedName(err)} in absorb`;
        }
      }
      if (offer.error !== null && this.#out !== null) {
        const at = this.#out.indexOf(offer.context);
        if (at >= 0) this.#out.splice(at, 1);
      }
    }
  }

  /**
   * Restart both directions' contexts, in step with the peer: the outgoing
   * ones now (the next frame tells the peer, and asks it to restart its
   * own); frames from the peer are refused until its reset marker arrives.
   */
  reset(): void {
    this.#resetOut();
    this.#flags |= SessionFrame.RESET_DONE | SessionFrame.RESET_PLEASE;
    this.#failedError ??= new SessionError("waiting for the peer's reset");
  }

  #resetOut(): void {
    for (const c of this.#out ?? []) c.reset();
    this.#outDigest = 0;
    this.#sent = 0;
  }

  #resetIn(): void {
    for (const c of this.#inContexts?.values() ?? []) c.reset();
    this.#inDigest = 0;
  }

  // -- incoming --------------------------------------------------------------

  /** Decode one incoming frame into text. */
  decode(frame: FrameInput): string {
    return this.#incoming(frame, true) as string;
  }

  /** Decode one incoming frame into bytes. */
  decodeBytes(frame: FrameInput): Uint8Array {
    return this.#incoming(frame, false) as Uint8Array;
  }

  #incoming(input: FrameInput, text: boolean): string | Uint8Array {
    this.#assertOpen();
    const data = asFrame(input);
    let head: SessionFrame;
    try {
      head = SessionFrame.parse(data);
      if (head.flags & SessionFrame.RESET_DONE) {
        this.#resetIn();
        this.#failedError = null;
      }
      if (head.flags & SessionFrame.RESET_PLEASE) {
        this.#resetOut();
        this.#flags |= SessionFrame.RESET_DONE;
      }
      if (this.#failedError !== null) {
        throw new SessionError(
          `session ${this.id} refuses frames since an earlier one failed ` +
            `(${this.#failedError.message}); waiting for the peer's reset`,
        );
      }
    } catch (err) {
      this.#stop(err);
      throw err;
    }
    this.#check = head.check;
    const table = head.isolated ? (this.#isolatedTable ?? this.#setupIsolated()) : (this.#plain ?? this.#setupIn());
    try {
      const out = this.pipeline.decodeWith(data, head.offset, table, this.#known!);
      return text ? asText(out) : out;
    } catch (err) {
      this.#stop(err);
      throw err;
    }
  }

  /** The incoming direction refuses frames until the peer resets. */
  #stop(err: unknown): void {
    if (!(err instanceof DecodeError)) return; // not a frame's fault: propagates as it is
    if (!(err instanceof SessionError) || this.#failedError === null) {
      this.#failedError = err;
      this.#flags |= SessionFrame.RESET_PLEASE; // asked on the next outgoing frame
    }
  }

  #absorbed(out: unknown, limit: number, coder: CodecContext | null): void {
    if (!(out instanceof Uint8Array) || out.length > limit) return; // the decode core refuses it next
    for (const ctx of this.#inContexts!.values()) {
      if (ctx === coder) continue;
      try {
        ctx.absorb(out);
      } catch (err) {
        throw new CodecFault(`${ctx.name}+context`, ctx.methodId, `raised ${raisedName(err)} in absorb`, "", err);
      }
    }
    this.#inDigest = digest(this.#inDigest, out);
    this.#verifyCheck();
  }

  #verifyCheck(): void {
    const check = this.#check;
    this.#check = null;
    if (check !== null && check !== (this.#inDigest & CHECK_MASK)) {
      throw new SessionError(
        `session ${this.id} is out of step with its peer: the peer's check ${hex4(check)} ` +
          `differs from ours ${hex4(this.#inDigest & CHECK_MASK)} (a frame was damaged, dropped, replayed or reordered)`,
      );
    }
  }

  // -- state -----------------------------------------------------------------

  /** The error that stopped the incoming direction, until the peer resets (else null). */
  get failed(): DecodeError | null {
    return this.#failedError;
  }

  /**
   * The method a session frame names, without decoding it: a codec's name,
   * or `<codec>+context` for a session context's id (as Python's stats name
   * them). Either direction's frames; an unknown id throws {@link UnknownMethod}.
   */
  methodOf(frame: FrameInput): string {
    const head = SessionFrame.parse(frame);
    if (this.#known === null) this.#setupIn();
    const name = this.#known!.get(head.methodId);
    if (name === undefined) throw new UnknownMethod(head.methodId, this.pipeline.names);
    return name;
  }

  /** Names of the codecs that keep context in this session's outgoing direction. */
  get contexts(): string[] {
    return (this.#out ?? this.#setupOut()).map((c) => c.name);
  }

  /** Bytes the contexts of both directions hold (in the WebAssembly heap for BRIO). */
  memory(): number {
    let total = 0;
    for (const c of [...(this.#out ?? []), ...(this.#inContexts?.values() ?? [])]) total += c.memory();
    return total;
  }

  /** Free the contexts' memory; the session is unusable afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...(this.#out ?? []), ...(this.#inContexts?.values() ?? [])]) (c.close ?? c.reset).call(c);
    this.#out = [];
    this.#inContexts = new Map();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
