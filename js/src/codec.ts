/**
 * The codec contract (Python: `src/auracodec/core/codec.py`).
 *
 * A codec turns a message into a payload and back; the pipeline puts its
 * method id before the payload.
 *
 * - `encode(message)` returns a payload, or `null` to decline (the message
 *   then goes to another codec or raw). It may return a payload longer than
 *   the message: the pipeline keeps the smallest, and raw when none is
 *   smaller, so no frame is ever longer than the message plus one byte.
 * - `decode(payload, limit)` returns the message, never more than `limit`
 *   bytes; for any payload it cannot decode it throws a {@link DecodeError}
 *   subclass (`TruncatedFrame`, `TrailingData`, `CorruptPayload`,
 *   `OutputLimitExceeded`) and nothing else. The pipeline turns anything else
 *   it throws into a `CodecFault`.
 * - `fingerprint()` is what must be equal at both ends for frames to decode:
 *   the same dict Python's codec returns (format versions, artifact hashes,
 *   caps), which the pipeline's fingerprint covers.
 *
 * Codecs whose core is WebAssembly (BRIO, zstd's compact frame, brotli) plug
 * in behind this same interface; so does a template codec's remainder codec.
 */

import { OutputLimitExceeded } from "./errors.js";

/** A codec's fingerprint: what Python's `Codec.fingerprint()` returns. */
export type Fingerprint = Readonly<Record<string, string | number>>;

export interface Codec {
  /** The codec's name, as in Python (`"zstd"`). */
  readonly name: string;
  /** The method id its frames start with (0x00-0xfe). */
  readonly methodId: number;
  /** Relative CPU cost, for tie-breaking (Python's `Codec.cost`). */
  readonly cost: number;
  encode(message: Uint8Array): Uint8Array | null;
  decode(payload: Uint8Array, limit: number): Uint8Array;
  fingerprint(): Fingerprint;
  /**
   * This codec's state for one direction of a new session, or null (the
   * codec then works statelessly in sessions), as Python's
   * `auracodec_codec_context` hook. BRIO's is method id 0x13 (0x23 with
   * `streams = true`).
   */
  context?(direction: "in" | "out"): CodecContext | null;
  /** Free what the codec holds outside the JavaScript heap (WebAssembly memory). */
  close?(): void;
}

/**
 * A codec's state for one direction of a session (Python's `CodecContext`):
 * `encode` and `decode` also absorb the message (`encode` absorbs it even
 * when it declines); `absorb` takes in a message another codec carried;
 * `reset` returns to the initial state; `memory` is the bytes it holds.
 * Its method id is its own (BRIO's context: 0x13, or 0x23 with
 * continuations), distinct from every codec's. `solo`, where present, says
 * whether the context codes a message alone: the session then asks no other
 * codec (Python's `solo`; BRIO's with continuations has it).
 */
export interface CodecContext {
  readonly name: string;
  readonly methodId: number;
  readonly cost: number;
  encode(message: Uint8Array): Uint8Array | null;
  decode(payload: Uint8Array, limit: number): Uint8Array;
  absorb(message: Uint8Array): void;
  solo?(message: Uint8Array): boolean;
  reset(): void;
  memory(): number;
  /** Free what it holds outside the JavaScript heap; `reset` also does. */
  close?(): void;
}

/** `identity`, method id 0x04: the payload is the message (the raw fallback). */
export class Identity implements Codec {
  readonly name = "identity";
  readonly methodId = 0x04;
  readonly cost = 0;

  encode(message: Uint8Array): Uint8Array {
    return message;
  }

  decode(payload: Uint8Array, limit: number): Uint8Array {
    if (payload.length > limit) throw new OutputLimitExceeded(limit);
    return payload;
  }

  fingerprint(): Fingerprint {
    return {};
  }
}

/** The built-in codecs' method ids (docs/method-ids.md). */
export const METHOD_IDS: Readonly<Record<string, number>> = {
  binary_semantic: 0x00,
  brotli: 0x01,
  zstd: 0x02,
  brio: 0x03,
  identity: 0x04,
};
