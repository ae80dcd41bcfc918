/**
 * `brotli`, method id 0x01, decoding only (Python: `plugins/brotli/__init__.py`):
 * a plain RFC 7932 stream, decoded by the WebAssembly module with the output
 * bounded and the declared window lowered to what the limit needs, as the
 * Python plugin does. The module has no compressor, so `encode` declines.
 * Errors are Python's classes and messages.
 */

import type { Codec, Fingerprint } from "../codec.js";
import { CorruptPayload, OutputLimitExceeded, TrailingData, TruncatedFrame } from "../errors.js";
import type { AuraWasm } from "../wasm.js";
import { Status, WasmError } from "../wasm.js";

export const NAME = "brotli";
export const METHOD_ID = 0x01;

export class BrotliCodec implements Codec {
  readonly name = NAME;
  readonly methodId = METHOD_ID;
  readonly cost = 20;

  constructor(readonly wasm: AuraWasm) {}

  /** Declines: the WebAssembly module has brotli's decoder only. */
  encode(): null {
    return null;
  }

  decode(payload: Uint8Array, limit: number): Uint8Array {
    const n = payload.length;
    if (n === 0) throw new TruncatedFrame("brotli stream ends early (0 bytes)");
    const first = payload[0];
    if (first & 1 && ((first >> 1) & 7) === 0 && ((first >> 4) & 7) === 1) {
      const wbits = n > 1 ? `WBITS ${payload[1] & 63}` : "WBITS unknown";
      throw new CorruptPayload(
        `brotli stream declares a large window (${wbits}): expected an RFC 7932 stream, whose window codes stop at WBITS 24`,
      );
    }
    const out = this.wasm.run(this.wasm.exports.ac_brotli_decode, null, payload, limit);
    if (out.ok && out.bytes !== null) return out.bytes;
    switch (out.ok ? Status.ECORRUPT : out.status) {
      case Status.ETRUNC:
        throw new TruncatedFrame(`brotli stream ends early (${n} bytes)`);
      case Status.ETRAIL:
        throw new TrailingData(`${n - this.#streamLength(payload, limit)} bytes follow the end of the brotli stream`);
      case Status.ELIMIT:
        throw new OutputLimitExceeded(limit);
      case Status.ENOMEM:
        throw new WasmError(Status.ENOMEM, "brotli");
      default:
        throw this.#diagnose(payload, limit);
    }
  }

  /**
   * A corrupt stream that passed the limit before its error is
   * `OutputLimitExceeded` in Python, whose decoder is fed piece by piece and
   * counts its output (`_diagnose`): the module reports only the error, so
   * the longest prefix without one is found (log2(n) decodes, error path
   * only) and decoded alone.
   */
  #diagnose(payload: Uint8Array, limit: number): Error {
    const status = (k: number): number => {
      const out = this.wasm.run(this.wasm.exports.ac_brotli_decode, null, payload.subarray(0, k), limit);
      return out.ok ? Status.OK : out.status;
    };
    let lo = 0;
    let hi = payload.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (status(mid) === Status.ECORRUPT) hi = mid - 1;
      else lo = mid;
    }
    if (lo > 0 && status(lo) === Status.ELIMIT) return new OutputLimitExceeded(limit);
    return new CorruptPayload("brotli stream is corrupt");
  }

  /**
   * Where a stream followed by other bytes ends (error path only): the
   * shortest prefix that is not cut short, found in log2(n) decodes.
   */
  #streamLength(payload: Uint8Array, limit: number): number {
    let lo = 1;
    let hi = payload.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const out = this.wasm.run(this.wasm.exports.ac_brotli_decode, null, payload.subarray(0, mid), limit);
      if (!out.ok && out.status === Status.ETRUNC) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  fingerprint(): Fingerprint {
    return {};
  }
}
