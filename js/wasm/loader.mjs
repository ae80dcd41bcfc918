// loader.mjs - instantiate auracodec.wasm and wrap its C ABI (js/wasm/auracodec.c).
//
// Plain ESM, no build step, no dependencies: the groundwork the TypeScript
// package will wrap. The module imports nothing, so instantiating it needs no
// WASI shim.
//
//   const ac = await instantiate();            // js/dist/auracodec.wasm, or bytes/Module
//   const model = ac.brioModel(blob);          // blob: Uint8Array, or null (neutral model)
//   model.encode(msg, maxRatio)                // Uint8Array, or null (declined)
//   model.decode(payload, limit, maxRatio)     // Uint8Array; throws WasmDecodeError
//   const ctx = model.context();               // .encode .decode .absorb .memory .free
//   ac.zstdDecode(payload, limit, dict?)       // compact/escape payload, dict from ac.zstdDict
//   ac.zstdDecompress(frame, limit, dict?)     // one standard zstd frame
//   ac.brotliDecode(payload, limit)
//
// Handles (models, contexts, dictionaries) live in the wasm heap: free() them.

import { readFile } from "node:fs/promises";

/** Error codes of the C ABI (auracodec.c, BRIO's _core.h) -> the Python DecodeError class. */
export const ERROR_NAMES = Object.freeze({
  [-1]: "OutOfMemory",
  [-2]: "TruncatedFrame",
  [-3]: "TrailingData",
  [-4]: "OutputLimitExceeded",
  [-5]: "CorruptPayload",
  [-6]: "InvalidModel",
  [-7]: "InvalidParameter",
  [-8]: "SessionError",
  [-9]: "CorruptPayload", // beyond the ratio cap: no encoder with this setting wrote it
  [-10]: "InvalidDictionary",
});

export const DECLINED = 1;
export const DEFAULT_MAX_RATIO = 32;

/** A failed call: `code` is the C error code, `kind` the Python class it maps to. */
export class WasmCodecError extends Error {
  constructor(code, what, why) {
    const kind = ERROR_NAMES[code] ?? "CodecFault";
    super(`${what}: ${kind} (${code})${why ? `: ${why}` : ""}`);
    this.name = "WasmCodecError";
    this.code = code;
    this.kind = kind;
  }
}

const DEFAULT_WASM = new URL("../dist/auracodec.wasm", import.meta.url);

/** Instantiate the module from a path/URL, bytes or a compiled WebAssembly.Module. */
export async function instantiate(source = DEFAULT_WASM) {
  let module = source;
  if (!(source instanceof WebAssembly.Module)) {
    const bytes = source instanceof Uint8Array ? source : await readFile(source);
    module = await WebAssembly.compile(bytes);
  }
  const instance = await WebAssembly.instantiate(module, {});
  return new AuraWasm(instance);
}

export class AuraWasm {
  #x;
  #mem;
  #result;
  #scratch = 0;
  #scratchSize = 0;

  constructor(instance) {
    this.#x = instance.exports;
    this.#mem = this.#x.memory;
    this.#result = this.#x.ac_result();
  }

  get exports() {
    return this.#x;
  }

  /** Bytes of linear memory (it only grows). */
  get memorySize() {
    return this.#mem.buffer.byteLength;
  }

  // Copy `bytes` into a reusable input buffer in the heap; its address.
  input(bytes) {
    if (bytes.length > this.#scratchSize) {
      this.#x.ac_free(this.#scratch);
      const size = Math.max(bytes.length, 2 * this.#scratchSize, 4096);
      this.#scratch = this.#x.ac_alloc(size);
      if (!this.#scratch) throw new WasmCodecError(-1, "input");
      this.#scratchSize = size;
    }
    new Uint8Array(this.#mem.buffer, this.#scratch, bytes.length).set(bytes);
    return this.#scratch;
  }

  // Copy `bytes` into a new heap allocation the caller hands to the module.
  copyIn(bytes) {
    const p = this.#x.ac_alloc(bytes.length);
    if (!p) throw new WasmCodecError(-1, "copy");
    new Uint8Array(this.#mem.buffer, p, bytes.length).set(bytes);
    return p;
  }

  // The result record: { ptr, len, why }.
  result() {
    const v = new Uint32Array(this.#mem.buffer, this.#result, 3);
    return { ptr: v[0], len: v[1], why: v[2] ? this.#cstring(v[2]) : undefined };
  }

  #cstring(p) {
    const b = new Uint8Array(this.#mem.buffer);
    let end = p;
    while (b[end]) end++;
    return new TextDecoder().decode(b.subarray(p, end));
  }

  // Check a status; on success, the result bytes copied out (and freed), or
  // null for BRIO's DECLINED.
  take(rc, what) {
    if (rc === DECLINED) return null;
    const r = this.result();
    if (rc !== 0) throw new WasmCodecError(rc, what, r.why);
    const out = new Uint8Array(this.#mem.buffer, r.ptr, r.len).slice();
    this.#x.ac_free(r.ptr);
    return out;
  }

  // A handle from the result record, or throw.
  handle(rc, what) {
    const r = this.result();
    if (rc !== 0) throw new WasmCodecError(rc, what, r.why);
    return r.ptr;
  }

  /** A BRIO model from its blob (the model file's bytes), or the neutral model for null. */
  brioModel(blob = null) {
    const p = blob === null ? 0 : this.copyIn(blob); // the model takes the copy over
    const len = blob === null ? 0 : blob.length;
    return new BrioModel(this, this.handle(this.#x.ac_brio_model_load(p, len), "BRIO model"));
  }

  /** A zstd dictionary handle (zstd dictionary or raw content); free with zstdDictFree. */
  zstdDict(bytes) {
    const p = this.input(bytes);
    return this.handle(this.#x.ac_zstd_dict_new(p, bytes.length), "zstd dictionary");
  }

  zstdDictFree(dict) {
    this.#x.ac_zstd_dict_free(dict);
  }

  /** Decode a zstd payload (compact or escape form) of the wire format. */
  zstdDecode(payload, limit, dict = 0) {
    const p = this.input(payload);
    return this.take(this.#x.ac_zstd_decode(dict, p, payload.length, limit), "zstd");
  }

  /** Decompress one standard zstd frame (magic first). */
  zstdDecompress(frame, limit, dict = 0) {
    const p = this.input(frame);
    return this.take(this.#x.ac_zstd_decompress(dict, p, frame.length, limit), "zstd frame");
  }

  /** Decode a brotli stream (RFC 7932). */
  brotliDecode(payload, limit) {
    const p = this.input(payload);
    return this.take(this.#x.ac_brotli_decode(p, payload.length, limit), "brotli");
  }
}

export class BrioModel {
  #ac;
  #x;
  constructor(ac, handle) {
    this.#ac = ac;
    this.#x = ac.exports;
    this.handle = handle;
  }

  /** Payload, or null when the message is beyond the ratio cap (maxRatio 0: no cap). */
  encode(message, maxRatio = DEFAULT_MAX_RATIO) {
    const p = this.#ac.input(message);
    return this.#ac.take(this.#x.ac_brio_encode(this.handle, p, message.length, maxRatio), "brio");
  }

  decode(payload, limit, maxRatio = DEFAULT_MAX_RATIO) {
    const p = this.#ac.input(payload);
    const rc = this.#x.ac_brio_decode(this.handle, p, payload.length, limit, maxRatio);
    return this.#ac.take(rc, "brio");
  }

  /**
   * A coding context (one direction of a session); free it before the model.
   * `flags`: 1 for continuations (`streams = true`, method id 0x23).
   */
  context(flags = 0) {
    const s = this.#x.ac_brio_context_new(this.handle, flags);
    if (!s) throw new WasmCodecError(-1, "brio context");
    return new BrioContext(this.#ac, s);
  }

  get memory() {
    return this.#x.ac_brio_model_memory(this.handle);
  }

  free() {
    this.#x.ac_brio_model_free(this.handle);
    this.handle = 0;
  }
}

export class BrioContext {
  #ac;
  #x;
  constructor(ac, handle) {
    this.#ac = ac;
    this.#x = ac.exports;
    this.handle = handle;
  }

  /** Payload, or null (declined: beyond the cap); the message is absorbed either way. */
  encode(message, maxRatio = DEFAULT_MAX_RATIO) {
    const p = this.#ac.input(message);
    const rc = this.#x.ac_brio_context_encode(this.handle, p, message.length, maxRatio);
    return this.#ac.take(rc, "brio context");
  }

  /** Whether encode would code the message as a continuation (a streams context only). */
  continues(message) {
    const p = this.#ac.input(message);
    return this.#x.ac_brio_context_continues(this.handle, p, message.length) !== 0;
  }

  /** Take in a message another codec carried. */
  absorb(message) {
    const p = this.#ac.input(message);
    const rc = this.#x.ac_brio_context_absorb(this.handle, p, message.length);
    if (rc !== 0 && rc !== DECLINED) throw new WasmCodecError(rc, "brio context");
  }

  /** Decode; after any error the context refuses everything (SessionError). */
  decode(payload, limit, maxRatio = DEFAULT_MAX_RATIO) {
    const p = this.#ac.input(payload);
    const rc = this.#x.ac_brio_context_decode(this.handle, p, payload.length, limit, maxRatio);
    return this.#ac.take(rc, "brio context");
  }

  get memory() {
    return this.#x.ac_brio_context_memory(this.handle);
  }

  free() {
    this.#x.ac_brio_context_free(this.handle);
    this.handle = 0;
  }
}
