/**
 * `zstd`, method id 0x02 (Python: `plugins/zstd/__init__.py` and
 * `_compact.c`): the compact payload (`[window descriptor][block]`) and the
 * escape form (`0xff [window descriptor][blocks...]`), with the profile's
 * dictionary. The WebAssembly module has zstd 1.5.7, the version Python's
 * python-zstandard 0.25.0 links, and encodes with exactly the parameters
 * Python passes it (`level` below `long_size` bytes, else `long_level`), so
 * the payloads are Python's, byte for byte; decoding rebuilds the frame for
 * zstd's own decoder.
 *
 * Errors are Python's classes and messages; for a payload zstd itself
 * rejects the message is "zstd payload is corrupt: decompression error"
 * without zstd's own reason (python-zstandard appends it, e.g. "Data
 * corruption detected"; the wasm build strips zstd's error strings).
 *
 * In a session with `session_history` > 0, the context (0x12) codes each
 * message against one dictionary, the profile's followed by the last
 * `session_history` bytes of the direction's messages, at `session_level`,
 * as Python's `ZstdContext`.
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

/** Python's `ZstdCodec.encode` (`load` 0) or `ZstdContext.encode` (1): the payload. */
function encodePayload(wasm: AuraWasm, dict: number, message: Uint8Array, level: number, load: number): Uint8Array {
  const out = wasm.run(wasm.exports.ac_zstd_encode, dict, message, level, load);
  if (out.ok && out.bytes !== null) return out.bytes;
  throw new WasmError(out.ok ? Status.EPARAM : out.status, "zstd encode");
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

/** The `[codecs.zstd]` settings; the defaults are Python's. */
export interface ZstdOptions {
  /** The profile's dictionary (a zstd dictionary or raw content), or null. */
  dictionary?: Uint8Array | null;
  /** `level`, for messages shorter than `longSize` (default 19). */
  level?: number;
  /** `long_level`, for messages of `longSize` bytes or more (default 12). */
  longLevel?: number;
  /** `long_size` (default 1024). */
  longSize?: number;
  /** `session_history`: bytes of history a session context keeps (0: no context). */
  sessionHistory?: number;
  /** `session_level`, the session context's level (default 9). */
  sessionLevel?: number;
}

/** zstd with an optional dictionary (Python's `ZstdCodec`). */
export class ZstdCodec implements Codec {
  readonly name = NAME;
  readonly methodId = METHOD_ID;
  readonly cost = 10;
  readonly dictionary: Uint8Array | null;
  readonly level: number;
  readonly longLevel: number;
  readonly longSize: number;
  readonly sessionHistory: number;
  readonly sessionLevel: number;
  #dict = 0;
  readonly #hash: string;
  #open = true;

  constructor(readonly wasm: AuraWasm, options: ZstdOptions = {}) {
    this.dictionary = options.dictionary ?? null;
    this.level = options.level ?? 19;
    this.longLevel = options.longLevel ?? 12;
    this.longSize = options.longSize ?? 1024;
    this.sessionHistory = options.sessionHistory ?? 0;
    this.sessionLevel = options.sessionLevel ?? 9;
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

  /** The payload, at `level` below `longSize` bytes, else at `longLevel`. */
  encode(message: Uint8Array): Uint8Array {
    return encodePayload(this.#wasm(), this.#dict, message, message.length < this.longSize ? this.level : this.longLevel, 0);
  }

  decode(payload: Uint8Array, limit: number): Uint8Array {
    return decodePayload(this.#wasm(), this.#dict, payload, limit);
  }

  #wasm(): AuraWasm {
    if (!this.#open) throw new WasmError(Status.EPARAM, "zstd: the codec is closed");
    return this.wasm;
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
 * zstd in a session (0x12): each frame is coded against one dictionary, the
 * profile's followed by the last `session_history` bytes of the direction's
 * messages (Python's `ZstdContext`): raw content, unless the profile's is a
 * zstd dictionary.
 */
export class ZstdContext implements CodecContext {
  readonly name = NAME;
  readonly methodId = CONTEXT_ID;
  readonly cost = 11;
  #history = new Uint8Array(0);
  #failed: string | null = null;

  constructor(private readonly codec: ZstdCodec) {}

  encode(message: Uint8Array): Uint8Array {
    const codec = this.codec;
    const payload = this.#with((dict) => encodePayload(codec.wasm, dict, message, codec.sessionLevel, 1));
    this.absorb(message);
    return payload;
  }

  decode(payload: Uint8Array, limit: number): Uint8Array {
    if (this.#failed !== null) {
      throw new CorruptPayload(`zstd session context refuses frames since one failed (${this.#failed}); reset it first`);
    }
    try {
      const message = this.#with((dict) => decodePayload(this.codec.wasm, dict, payload, limit));
      this.absorb(message);
      return message;
    } catch (err) {
      if (err instanceof DecodeError) this.#failed = err.message;
      throw err;
    }
  }

  /** `use(dict)` with the dictionary of the moment (0: none, both empty), freed after. */
  #with<T>(use: (dict: number) => T): T {
    const base = this.codec.dictionary ?? new Uint8Array(0);
    const content = new Uint8Array(base.length + this.#history.length);
    content.set(base);
    content.set(this.#history, base.length);
    const wasm = this.codec.wasm;
    let dict = 0;
    if (content.length) {
      // Raw content (1), or a zstd dictionary (2) when the profile's is one.
      const made = wasm.zstdDict(content, DICT_MAGIC.every((b, i) => base[i] === b) ? 2 : 1);
      if (!made.ok) throw new CorruptPayload("zstd payload is corrupt: decompression error");
      dict = made.handle;
    }
    try {
      return use(dict);
    } finally {
      if (dict) wasm.exports.ac_zstd_dict_free(dict);
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
