/**
 * `zstd`, method id 0x02, decoding only (Python: `plugins/zstd/__init__.py`
 * and `_compact.c`): the compact payload (`[window descriptor][block]`) and
 * the escape form (`0xff [window descriptor][blocks...]`) are rebuilt into a
 * zstd frame and decoded by the WebAssembly module, with the profile's
 * dictionary. The module has no compressor, so `encode` declines: BRIO,
 * brotli-less templates or raw carry what Python's zstd would.
 *
 * Errors are Python's classes and messages; for a payload zstd itself
 * rejects the message is "zstd payload is corrupt: decompression error"
 * without zstd's own reason (python-zstandard appends it, e.g. "Data
 * corruption detected"; the wasm build strips zstd's error strings).
 *
 * In a session with `session_history` > 0, the context (0x12) decodes
 * against the dictionary plus the direction's recent messages, as Python's
 * `ZstdContext`; its `encode` absorbs and declines.
 */

import type { Codec, CodecContext, Fingerprint } from "../codec.js";
import { CorruptPayload, OutputLimitExceeded, PluginError, TrailingData, TruncatedFrame } from "../errors.js";
import { DecodeError } from "../errors.js";
import { sha256Hex } from "../sha256.js";
import type { AuraWasm } from "../wasm.js";
import { Status, WasmError, forget, track } from "../wasm.js";

export const NAME = "zstd";
export const METHOD_ID = 0x02;
export const CONTEXT_ID = 0x12;
const ESCAPE = 0xff;
const BLOCK_MAX = 128 * 1024;
const DICT_MAGIC = [0x37, 0xa4, 0x30, 0xec];

/** Python's `_check_blocks` over an escape-form payload: its blocks must end at its end. */
function checkBlocks(p: Uint8Array): void {
  let pos = 2; // the frame's descriptor (0xff here) and window descriptor
  const end = p.length;
  if (end < pos) throw new TruncatedFrame("zstd payload ends inside the frame header");
  for (;;) {
    if (pos + 3 > end) throw new TruncatedFrame(`zstd payload ends inside a block header at byte ${pos}`);
    const header = p[pos] | (p[pos + 1] << 8) | (p[pos + 2] << 16);
    const kind = (header >> 1) & 3;
    if (kind === 3) throw new CorruptPayload(`zstd block at byte ${pos} has the reserved block type`);
    const size = header >>> 3;
    pos += 3 + (kind === 1 ? 1 : size); // an RLE block stores one byte
    if (pos > end) throw new TruncatedFrame(`zstd payload ends inside a block (${end} of ${pos} bytes)`);
    if (header & 1) break;
  }
  if (pos !== end) throw new TrailingData(`${end - pos} bytes follow the last zstd block`);
}

/** Decode a zstd payload of the wire format with dictionary handle `dict` (0: none). */
function decodePayload(wasm: AuraWasm, dict: number, payload: Uint8Array, limit: number): Uint8Array {
  const n = payload.length;
  if (n === 0) throw new TruncatedFrame("empty zstd payload: expected a window descriptor");
  if (payload[0] === ESCAPE) checkBlocks(payload);
  else if (n - 1 > BLOCK_MAX) {
    throw new CorruptPayload(`zstd block of ${n - 1} bytes exceeds the ${BLOCK_MAX}-byte block maximum`);
  }
  // The compact form goes to the module as the same frame in the escape
  // form (its implied block header written out), which the module decodes
  // with zstd's streaming decoder, as python-zstandard does: zstd's one-shot
  // decoder, which the module uses for the compact form, accepts blocks
  // larger than a small declared window and takes an empty compressed block
  // as corrupt, where the streaming decoder (and so Python) does not.
  let input = payload;
  if (payload[0] !== ESCAPE) {
    const header = ((n - 1) << 3) | 5; // last block, compressed, n - 1 bytes
    input = new Uint8Array(n + 4);
    input[0] = ESCAPE;
    input[1] = payload[0];
    input[2] = header & 0xff;
    input[3] = (header >> 8) & 0xff;
    input[4] = (header >> 16) & 0xff;
    input.set(payload.subarray(1), 5);
  }
  const out = wasm.run(wasm.exports.ac_zstd_decode, dict, input, limit);
  if (out.ok && out.bytes !== null) return out.bytes;
  const status = out.ok ? Status.ECORRUPT : out.status;
  if (status === Status.ELIMIT) throw new OutputLimitExceeded(limit);
  if (status === Status.ENOMEM) throw new WasmError(status, "zstd");
  throw new CorruptPayload("zstd payload is corrupt: decompression error");
}

export interface ZstdOptions {
  /** The profile's dictionary (a zstd dictionary or raw content), or null. */
  dictionary?: Uint8Array | null;
  /** `session_history`: bytes of history a session context keeps (0: no context). */
  sessionHistory?: number;
}

/** zstd, decode only (Python's `ZstdCodec`); `encode` declines. */
export class ZstdCodec implements Codec {
  readonly name = NAME;
  readonly methodId = METHOD_ID;
  readonly cost = 10;
  readonly dictionary: Uint8Array | null;
  readonly sessionHistory: number;
  #dict = 0;
  readonly #hash: string;
  #open = true;

  constructor(readonly wasm: AuraWasm, options: ZstdOptions = {}) {
    this.dictionary = options.dictionary ?? null;
    this.sessionHistory = options.sessionHistory ?? 0;
    this.#hash = this.dictionary !== null ? sha256Hex(this.dictionary) : "";
    if (this.dictionary !== null) {
      const made = wasm.zstdDict(this.dictionary);
      if (!made.ok) {
        if (made.status === Status.ENOMEM) throw new WasmError(made.status, "zstd dictionary");
        throw new PluginError(`not a valid zstd dictionary (${made.why ?? "status " + made.status})`, { plugin: NAME });
      }
      const handle = made.handle;
      this.#dict = handle;
      track(this, () => wasm.exports.ac_zstd_dict_free(handle));
    }
  }

  /** Declines: the WebAssembly module has zstd's decompressor only. */
  encode(): null {
    return null;
  }

  decode(payload: Uint8Array, limit: number): Uint8Array {
    if (!this.#open) throw new WasmError(Status.EPARAM, "zstd: the codec is closed");
    return decodePayload(this.wasm, this.#dict, payload, limit);
  }

  fingerprint(): Fingerprint {
    return { format: 1, dictionary: this.#hash, session: this.sessionHistory };
  }

  /** The session context (0x12) when `session_history` > 0. */
  context(): ZstdContext | null {
    return this.sessionHistory > 0 ? new ZstdContext(this) : null;
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    if (this.#dict !== 0) {
      forget(this);
      this.wasm.exports.ac_zstd_dict_free(this.#dict);
      this.#dict = 0;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * zstd in a session (0x12): each frame is decoded against one dictionary,
 * the profile's followed by the last `session_history` bytes of the
 * direction's messages (Python's `ZstdContext`). It cannot compress, so
 * `encode` absorbs the message and declines.
 */
export class ZstdContext implements CodecContext {
  readonly name = NAME;
  readonly methodId = CONTEXT_ID;
  readonly cost = 11;
  #history = new Uint8Array(0);
  #failed: string | null = null;

  constructor(private readonly codec: ZstdCodec) {}

  encode(message: Uint8Array): null {
    this.absorb(message);
    return null;
  }

  decode(payload: Uint8Array, limit: number): Uint8Array {
    if (this.#failed !== null) {
      throw new CorruptPayload(`zstd session context refuses frames since one failed (${this.#failed}); reset it first`);
    }
    try {
      const base = this.codec.dictionary ?? new Uint8Array(0);
      const content = new Uint8Array(base.length + this.#history.length);
      content.set(base);
      content.set(this.#history, base.length);
      let dict = 0;
      const wasm = this.codec.wasm;
      if (content.length) {
        // A history that happens to start with the dictionary magic (no
        // trained dictionary) would be read as a dictionary here, where
        // Python forces raw content: refused as corrupt, never misread.
        const full = base.length >= 4 && DICT_MAGIC.every((b, i) => base[i] === b);
        const rawLooksFull = !full && content.length >= 4 && DICT_MAGIC.every((b, i) => content[i] === b);
        if (rawLooksFull) throw new CorruptPayload("zstd payload is corrupt: decompression error");
        const made = wasm.zstdDict(content);
        if (!made.ok) throw new CorruptPayload("zstd payload is corrupt: decompression error");
        dict = made.handle;
      }
      let message: Uint8Array;
      try {
        message = decodePayload(wasm, dict, payload, limit);
      } finally {
        if (dict) wasm.exports.ac_zstd_dict_free(dict);
      }
      this.absorb(message);
      return message;
    } catch (err) {
      if (err instanceof DecodeError) this.#failed = err.message;
      throw err;
    }
  }

  absorb(message: Uint8Array): void {
    const cap = this.codec.sessionHistory;
    const total = this.#history.length + message.length;
    const keep = Math.min(total, cap);
    const next = new Uint8Array(keep);
    const fromHistory = Math.max(0, keep - message.length);
    next.set(this.#history.subarray(this.#history.length - fromHistory), 0);
    next.set(message.subarray(message.length - (keep - fromHistory)), fromHistory);
    this.#history = next;
  }

  reset(): void {
    this.#history = new Uint8Array(0);
    this.#failed = null;
  }

  memory(): number {
    return this.#history.length;
  }
}
