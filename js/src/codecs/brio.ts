/**
 * `brio`, method id 0x03, and its session context, 0x13, or 0x23 with
 * continuations (`streams = true`) (Python:
 * `plugins/brio/__init__.py` and the binding `_brio.c`), over the
 * WebAssembly build of the same C core. The errors are those `_brio.c`
 * raises, with its messages.
 */

import type { Codec, CodecContext, Fingerprint } from "../codec.js";
import { CorruptPayload, OutputLimitExceeded, PluginError, SessionError, TrailingData, TruncatedFrame } from "../errors.js";
import type { DecodeError } from "../errors.js";
import { sha256Hex } from "../sha256.js";
import type { AuraWasm, Outcome } from "../wasm.js";
import { Status, WasmError, forget, track } from "../wasm.js";

export const NAME = "brio";
export const METHOD_ID = 0x03;
export const CONTEXT_ID = 0x13;
/** The context with continuations (`[codecs.brio] streams = true`). */
export const STREAMS_CONTEXT_ID = 0x23;
export const FORMAT_VERSION = 3;
export const DEFAULT_MAX_RATIO = 32;
export const RATIO_SLACK = 128;

const BROKEN = "BRIO context is unusable after an earlier error; reset it";

/** Python's exception for a failed BRIO decode (`decode_error` in `_brio.c`). */
function decodeError(status: number, limit: number, n: number, maxRatio: number): DecodeError | Error {
  switch (status) {
    case Status.ETRUNC:
      return new TruncatedFrame("BRIO payload ends before its message does");
    case Status.ETRAIL:
      return new TrailingData("bytes follow the end of the BRIO message");
    case Status.ELIMIT:
      return new OutputLimitExceeded(limit);
    case Status.EBROKEN:
      return new SessionError(BROKEN);
    case Status.ERATIO:
      return new CorruptPayload(
        `BRIO payload of ${n} bytes decodes to more than max_ratio x ${n} + ${RATIO_SLACK} = ` +
          `${n * maxRatio + RATIO_SLACK} bytes (max_ratio = ${maxRatio}), which no BRIO encoder with this setting produces`,
      );
    case Status.ENOMEM:
      return new WasmError(status, "brio");
    default:
      return new CorruptPayload("BRIO payload is corrupt");
  }
}

function decoded(out: Outcome, limit: number, n: number, maxRatio: number): Uint8Array {
  if (out.ok && out.bytes !== null) return out.bytes;
  throw decodeError(out.ok ? Status.ECORRUPT : out.status, limit, n, maxRatio);
}

/** The model in the wasm heap, freed when its codec and every context let go of it. */
class ModelRef {
  #refs = 1;
  constructor(readonly wasm: AuraWasm, public handle: number) {}

  acquire(): void {
    if (this.handle === 0) throw new WasmError(Status.EPARAM, "brio: the codec is closed");
    this.#refs++;
  }

  release(): void {
    if (this.#refs > 0 && --this.#refs === 0 && this.handle !== 0) {
      this.wasm.exports.ac_brio_model_free(this.handle);
      this.handle = 0;
    }
  }
}

/** BRIO with one shared, read-only model (Python's `BrioCodec`). */
export class BrioCodec implements Codec {
  readonly name = NAME;
  readonly methodId = METHOD_ID;
  readonly cost = 30;
  readonly maxRatio: number;
  readonly #model: ModelRef;
  readonly #hash: string;
  #open = true;

  /**
   * `model`: the model file's bytes, or null for the neutral (untrained)
   * model; a {@link PluginError} with Python's reason ("invalid BRIO model:
   * ...") when it is not one. `sha256`: the model's SHA-256 (hex) when the
   * caller has it already (a profile does), for the fingerprint. `streams`:
   * contexts with continuations (method id 0x23), as `streams = true`.
   */
  constructor(
    readonly wasm: AuraWasm,
    model: Uint8Array | null = null,
    maxRatio = DEFAULT_MAX_RATIO,
    sha256?: string | null,
    readonly streams = false,
  ) {
    if (!Number.isInteger(maxRatio) || maxRatio < 0 || maxRatio > 0xffffffff) {
      throw new RangeError("max_ratio must be from 0 (no cap) to 2**32 - 1");
    }
    const loaded = wasm.brioModelLoad(model);
    if (!loaded.ok) {
      if (loaded.status === Status.ENOMEM) throw new WasmError(loaded.status, "brio model");
      throw new PluginError(`invalid BRIO model: ${loaded.why ?? "status " + loaded.status}`, { plugin: NAME });
    }
    this.#model = new ModelRef(wasm, loaded.handle);
    this.maxRatio = maxRatio;
    this.#hash = model !== null ? sha256 ?? sha256Hex(model) : "neutral";
    const ref = this.#model;
    track(this, () => ref.release()); // the contexts hold their own references
  }

  get #handle(): number {
    if (!this.#open) throw new WasmError(Status.EPARAM, "brio: the codec is closed");
    return this.#model.handle;
  }

  /** The payload, or null when the message is beyond the ratio cap (zstd carries it). */
  encode(message: Uint8Array): Uint8Array | null {
    const out = this.wasm.run(this.wasm.exports.ac_brio_encode, this.#handle, message, this.maxRatio);
    if (!out.ok) throw new WasmError(out.status, "brio encode");
    return out.bytes;
  }

  decode(payload: Uint8Array, limit: number): Uint8Array {
    return decoded(this.wasm.run(this.wasm.exports.ac_brio_decode, this.#handle, payload, limit, this.maxRatio), limit, payload.length, this.maxRatio);
  }

  /** At most this many payload bytes for a message of `size` bytes. */
  maxPayloadSize(size: number): number {
    return Math.floor((size * 9 * 12 + 12) / 8) + 2;
  }

  fingerprint(): Fingerprint {
    const fp = { format: FORMAT_VERSION, model: this.#hash, max_ratio: this.maxRatio };
    return this.streams ? { ...fp, streams: 1 } : fp; // absent when off, as in Python
  }

  /** A session context for one direction (0x13, or 0x23 with streams); its C state is made at its first message. */
  context(): BrioContext {
    return new BrioContext(this);
  }

  /** Bytes the model holds in the wasm heap (its tables and the blob it reads in place). */
  memory(): number {
    return this.#open ? this.wasm.exports.ac_brio_model_memory(this.#model.handle) >>> 0 : 0;
  }

  /** Free the model (once the contexts made from it are freed too). */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    forget(this);
    this.#model.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal a new C context on this model, holding the model until it is freed. */
  newContext(): [number, () => void] {
    this.#handle; // throws once closed
    this.#model.acquire();
    const x = this.wasm.exports;
    const s = x.ac_brio_context_new(this.#model.handle, this.streams ? 1 : 0);
    if (!s) {
      this.#model.release();
      throw new WasmError(Status.ENOMEM, "brio context");
    }
    const model = this.#model;
    let freed = false;
    return [
      s,
      () => {
        if (freed) return;
        freed = true;
        x.ac_brio_context_free(s);
        model.release();
      },
    ];
  }
}

/**
 * BRIO's state for one direction of a session (method id 0x13, or 0x23 with
 * continuations; Python's `BrioContext`): made at the first message, dropped
 * by `reset()`, so an idle session holds nothing. After a failed decode it
 * refuses every frame (`SessionError`) until reset.
 */
export class BrioContext implements CodecContext {
  readonly name = NAME;
  readonly methodId: number;
  readonly cost = 31;
  /**
   * With continuations: whether `encode` codes the message as the previous
   * one's continuation; the session then codes it with this context alone
   * (Python's `solo`). Absent otherwise.
   */
  readonly solo?: (message: Uint8Array) => boolean;
  #ctx = 0;
  #free: (() => void) | null = null;

  constructor(private readonly codec: BrioCodec) {
    this.methodId = codec.streams ? STREAMS_CONTEXT_ID : CONTEXT_ID;
    if (codec.streams) {
      this.solo = (message) => {
        const wasm = codec.wasm;
        const h = this.#handle();
        return wasm.exports.ac_brio_context_continues(h, wasm.input(message), message.length) !== 0;
      };
    }
  }

  #handle(): number {
    if (this.#ctx === 0) {
      const [s, free] = this.codec.newContext();
      this.#ctx = s;
      this.#free = free;
      track(this, free);
    }
    return this.#ctx;
  }

  /** The payload, or null beyond the ratio cap; the message is absorbed either way. */
  encode(message: Uint8Array): Uint8Array | null {
    const wasm = this.codec.wasm;
    const out = wasm.run(wasm.exports.ac_brio_context_encode, this.#handle(), message, this.codec.maxRatio);
    if (out.ok) return out.bytes;
    if (out.status === Status.EBROKEN) throw new SessionError(BROKEN);
    throw new WasmError(out.status, "brio context encode");
  }

  decode(payload: Uint8Array, limit: number): Uint8Array {
    const wasm = this.codec.wasm;
    const out = wasm.run(wasm.exports.ac_brio_context_decode, this.#handle(), payload, limit, this.codec.maxRatio);
    return decoded(out, limit, payload.length, this.codec.maxRatio);
  }

  /** Take in a message another codec carried (coding it without a cap, output dropped). */
  absorb(message: Uint8Array): void {
    const wasm = this.codec.wasm;
    const out = wasm.run(wasm.exports.ac_brio_context_absorb, this.#handle(), message);
    if (out.ok) return;
    if (out.status === Status.EBROKEN) throw new SessionError(BROKEN);
    throw new WasmError(out.status, "brio context absorb");
  }

  reset(): void {
    if (this.#ctx !== 0) {
      forget(this);
      this.#free!();
      this.#ctx = 0;
      this.#free = null;
    }
  }

  memory(): number {
    return this.#ctx === 0 ? 0 : this.codec.wasm.exports.ac_brio_context_memory(this.#ctx) >>> 0;
  }

  close(): void {
    this.reset();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
