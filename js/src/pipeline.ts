/**
 * The pipeline: codecs behind method ids, the one encode path and the one
 * decode path (Python: `core/pipeline.py`, `core/wire.py` and the decode core
 * in `core/_speedups.c`).
 *
 * Decoding, for every frame: split (empty: `TruncatedFrame`), dispatch by
 * method id (none: `UnknownMethod`), let the codec decode under the output
 * limit (`max_message_size`); a `DecodeError` passes through, anything else a
 * codec throws or returns becomes a `CodecFault`; more than the limit:
 * `OutputLimitExceeded`; for text, not UTF-8: `InvalidUtf8`. The messages are
 * Python's.
 *
 * Encoding: the message (`MessageTooLarge` beyond the limit) goes to every
 * codec and the smallest payload wins (ties to the cheaper codec, as
 * Python's `smallest` policy); raw when none is smaller than the message, so
 * a frame is never longer than the message plus one byte. A codec that
 * throws or returns something else than a Uint8Array or null is skipped for
 * that message. (Python's default `cost` policy also prices CPU; the frames
 * of either policy decode the same everywhere.)
 */

import type { Codec, CodecContext } from "./codec.js";
import { Identity } from "./codec.js";
import {
  CodecFault,
  DecodeError,
  MessageTooLarge,
  OutputLimitExceeded,
  PluginError,
  UnknownMethod,
} from "./errors.js";
import { ESCAPE, asFrame, asMessage, asText, emptyFrame } from "./framing.js";
import type { FrameInput, Message } from "./framing.js";
import { Session } from "./session.js";
import type { SessionOptions } from "./session.js";

/** One decoder of a decode table: a codec, or a session's entry around one. */
export interface DecodeEntry {
  decode(payload: Uint8Array, limit: number): unknown;
}

/** The default output limit: 4 MiB, as Python's. */
export const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

export interface PipelineOptions {
  /** Largest message encode accepts and decode produces (bytes). */
  maxMessageSize?: number;
  /** The pipeline's fingerprint, when known (a profile computes it). */
  fingerprint?: string;
  /** Per method id, where a codec comes from, for the errors that name it. */
  origins?: ReadonlyMap<number, string>;
  /** Sessions' default `checkEvery` (`[session] check_every`; 0: no checks). */
  checkEvery?: number;
}

function raised(err: unknown): string {
  if (err instanceof Error) {
    const text = String(err.message).split(/\r?\n/, 1)[0].slice(0, 200);
    return text ? `raised ${err.name}: ${text}` : `raised ${err.name}`;
  }
  return `raised ${typeof err}: ${String(err).slice(0, 200)}`;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

export class Pipeline {
  /** Largest message, in bytes, that encode accepts and decode produces. */
  readonly maxMessageSize: number;
  /** The codecs by name, raw included. */
  readonly codecs: ReadonlyMap<string, Codec>;
  /** The codecs by method id. */
  readonly byId: ReadonlyMap<number, Codec>;
  /** Method id -> name, for errors. */
  readonly names: ReadonlyMap<number, string>;
  /** The candidates for encoding, cheapest first (raw excluded). */
  readonly candidates: readonly Codec[];
  readonly raw: Codec;
  /** Same as Python's `Pipeline.fingerprint` for the same profile ("" when not computed). */
  readonly fingerprint: string;
  /** Sessions' default `checkEvery`. */
  readonly checkEvery: number;
  readonly #table: (Codec | undefined)[];
  readonly #origins: ReadonlyMap<number, string>;
  #closed = false;

  constructor(codecs: Iterable<Codec>, options: PipelineOptions = {}) {
    const limit = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`maxMessageSize must be an integer >= 0, got ${limit}`);
    }
    this.maxMessageSize = limit;
    const byName = new Map<string, Codec>();
    const byId = new Map<number, Codec>();
    for (const codec of codecs) {
      const id = codec.methodId;
      if (!Number.isInteger(id) || id < 0 || id >= ESCAPE) {
        throw new PluginError(`codec ${codec.name}: method id ${id} is not a byte below 0xff`, {
          plugin: codec.name,
        });
      }
      const other = byId.get(id);
      if (other !== undefined || byName.has(codec.name)) {
        throw new PluginError(
          `codec ${codec.name} (method id ${id}) clashes with codec ${(other ?? byName.get(codec.name))!.name}`,
          { plugin: codec.name },
        );
      }
      byName.set(codec.name, codec);
      byId.set(id, codec);
    }
    let raw = byName.get("identity");
    if (raw === undefined) {
      raw = new Identity();
      byName.set(raw.name, raw);
      byId.set(raw.methodId, raw);
    }
    this.raw = raw;
    this.codecs = byName;
    this.byId = byId;
    this.names = new Map([...byId].map(([id, c]) => [id, c.name]));
    this.candidates = [...byName.values()]
      .filter((c) => c !== raw)
      .sort((a, b) => a.cost - b.cost || a.methodId - b.methodId);
    this.#table = new Array(256);
    for (const [id, c] of byId) this.#table[id] = c;
    this.#origins = options.origins ?? new Map();
    this.fingerprint = options.fingerprint ?? "";
    const every = options.checkEvery ?? 0;
    if (!Number.isSafeInteger(every) || every < 0) throw new RangeError(`checkEvery must be an integer >= 0, got ${every}`);
    this.checkEvery = every;
  }

  // -- encoding ------------------------------------------------------------

  /** Encode one message into a frame of at most `message.length + 1` bytes. */
  encode(message: Message): Uint8Array {
    const data = asMessage(message);
    if (data.length > this.maxMessageSize) throw new MessageTooLarge(data.length, this.maxMessageSize);
    let bestId = this.raw.methodId;
    let best = data;
    for (const codec of this.candidates) {
      let payload: unknown;
      try {
        payload = codec.encode(data);
      } catch {
        continue; // a codec's fault declines this message (Python counts it)
      }
      if (payload instanceof Uint8Array && payload.length < best.length) {
        best = payload;
        bestId = codec.methodId;
      }
    }
    const frame = new Uint8Array(best.length + 1);
    frame[0] = bestId;
    frame.set(best, 1);
    return frame;
  }

  // -- decoding ------------------------------------------------------------

  /** Decode one frame into the message bytes; a `DecodeError` subclass for any bad frame. */
  decodeBytes(frame: FrameInput): Uint8Array {
    return this.decodeAt(asFrame(frame), 0);
  }

  /** Decode one frame into the message text; `InvalidUtf8` if it is not UTF-8. */
  decode(frame: FrameInput): string {
    return asText(this.decodeAt(asFrame(frame), 0));
  }

  /**
   * The decode core over a frame whose inner frame starts at `skip` (after a
   * session prefix). Every entry point goes through here.
   */
  decodeAt(frame: Uint8Array, skip: number): Uint8Array {
    return this.decodeWith(frame, skip, this.#table, this.names);
  }

  /**
   * The decode core over a decode table (a session's: its contexts and the
   * entries that keep them in step); `known` names the table's method ids,
   * for `UnknownMethod` and `CodecFault`.
   */
  decodeWith(
    frame: Uint8Array,
    skip: number,
    table: readonly (DecodeEntry | undefined)[],
    known: ReadonlyMap<number, string>,
  ): Uint8Array {
    if (frame.length <= skip) throw emptyFrame();
    const id = frame[skip];
    const entry = table[id];
    if (entry === undefined) {
      throw new UnknownMethod(id, known, id === ESCAPE ? "0xff starts only session frames" : "");
    }
    let out: unknown;
    try {
      out = entry.decode(frame.subarray(skip + 1), this.maxMessageSize);
    } catch (err) {
      if (err instanceof DecodeError) throw err;
      throw new CodecFault(known.get(id) ?? String(id), id, raised(err), this.#origins.get(id) ?? "", err);
    }
    if (!(out instanceof Uint8Array)) {
      throw new CodecFault(known.get(id) ?? String(id), id, `returned ${kindOf(out)}, not bytes`, this.#origins.get(id) ?? "");
    }
    if (out.length > this.maxMessageSize) throw new OutputLimitExceeded(this.maxMessageSize);
    return out;
  }

  // -- sessions ------------------------------------------------------------

  /**
   * One end of a connection (Python's `Pipeline.session`): contexts carried
   * across the messages of each direction. `checkEvery` defaults to the
   * profile's `[session] check_every`.
   */
  session(options: SessionOptions | string = {}): Session {
    const opts = typeof options === "string" ? { id: options } : options;
    return new Session(this, { ...opts, checkEvery: opts.checkEvery ?? this.checkEvery });
  }

  /**
   * Each codec's context for one direction of a new session, with method ids
   * no codec or earlier context has (Python's `Wire.contexts`); a codec whose
   * `context` throws or gives a clashing id works statelessly in sessions.
   */
  contexts(direction: "in" | "out"): CodecContext[] {
    const taken = new Set<number>([...this.byId.keys(), ESCAPE]);
    const out: CodecContext[] = [];
    for (const codec of this.codecs.values()) {
      if (typeof codec.context !== "function") continue;
      let ctx: CodecContext | null;
      try {
        ctx = codec.context(direction);
      } catch {
        continue;
      }
      if (ctx == null || !Number.isInteger(ctx.methodId) || ctx.methodId < 0 || ctx.methodId > 0xff || taken.has(ctx.methodId)) continue;
      taken.add(ctx.methodId);
      out.push(ctx);
    }
    return out;
  }

  /** `<codec>+context` by method id, for the contexts sessions of this pipeline get. */
  contextNames(): Map<number, string> {
    const names = new Map<number, string>();
    for (const ctx of this.contexts("in")) {
      names.set(ctx.methodId, `${ctx.name}+context`);
      ctx.close?.();
    }
    return names;
  }

  /**
   * Free what the codecs hold in WebAssembly memory (BRIO's model, zstd's
   * dictionary). Sessions still open keep the model until they are closed.
   * The pipeline is unusable afterwards.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const codec of this.codecs.values()) codec.close?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The name of the codec a frame's method id names (no decoding). */
  methodOf(frame: FrameInput): string {
    const data = asFrame(frame);
    if (data.length === 0) throw emptyFrame();
    const codec = this.#table[data[0]];
    if (codec === undefined) throw new UnknownMethod(data[0], this.names);
    return codec.name;
  }
}
