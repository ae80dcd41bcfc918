/**
 * The WebAssembly core (`auracodec.wasm`, built by `js/wasm/build.sh`): BRIO's
 * C core (encode, decode, session contexts), zstd (encode and decode) and
 * brotli's decoder behind the C ABI of `js/wasm/auracodec.c`. This module
 * loads it and moves bytes in and out; the codecs (`codecs/*.ts`) give its
 * error codes Python's `DecodeError` classes and messages.
 *
 * Loading: {@link loadWasm} with no argument fetches `auracodec.wasm` next to
 * this ES module (`new URL("./auracodec.wasm", import.meta.url)`): in a
 * browser with `fetch` and `WebAssembly.instantiateStreaming`, in Node from
 * the file. A URL, bytes, a `Response` or a compiled `WebAssembly.Module` may
 * be given instead. The module imports nothing (no WASI).
 *
 * Memory: models, dictionaries and contexts live in the module's heap and are
 * freed by their owner's `close()`; a `FinalizationRegistry` frees what a
 * forgotten owner held once it is garbage-collected (a safety net only: the
 * heap never shrinks, and the collector does not know how large it is).
 */

/** What {@link loadWasm} takes: where the module is, or the module itself. */
export type WasmSource =
  | string
  | URL
  | Uint8Array
  | ArrayBuffer
  | WebAssembly.Module
  | Response
  | PromiseLike<Response>;

/** The C ABI's status codes (auracodec.c; BRIO's `_core.h`). */
export const enum Status {
  OK = 0,
  DECLINED = 1,
  ENOMEM = -1,
  ETRUNC = -2,
  ETRAIL = -3,
  ELIMIT = -4,
  ECORRUPT = -5,
  EMODEL = -6,
  EPARAM = -7,
  EBROKEN = -8,
  ERATIO = -9,
  EDICT = -10,
}

interface Exports {
  readonly memory: WebAssembly.Memory;
  ac_result(): number;
  ac_alloc(n: number): number;
  ac_free(p: number): void;
  ac_brio_model_load(blob: number, len: number): number;
  ac_brio_model_free(m: number): void;
  ac_brio_model_memory(m: number): number;
  ac_brio_encode(m: number, p: number, n: number, maxRatio: number): number;
  ac_brio_decode(m: number, p: number, n: number, limit: number, maxRatio: number): number;
  ac_brio_context_new(m: number, flags: number): number;
  ac_brio_context_continues(s: number, p: number, n: number): number;
  ac_brio_context_free(s: number): void;
  ac_brio_context_memory(s: number): number;
  ac_brio_context_encode(s: number, p: number, n: number, maxRatio: number): number;
  ac_brio_context_absorb(s: number, p: number, n: number): number;
  ac_brio_context_decode(s: number, p: number, n: number, limit: number, maxRatio: number): number;
  ac_zstd_dict_new(p: number, n: number, type: number): number;
  ac_zstd_dict_free(d: number): void;
  ac_zstd_decode(d: number, p: number, n: number, limit: number): number;
  ac_zstd_decompress(d: number, p: number, n: number, limit: number): number;
  ac_zstd_encode(d: number, p: number, n: number, level: number, load: number): number;
  ac_brotli_decode(p: number, n: number, limit: number): number;
}

/** The outcome of one coding call: bytes, declined (null), or a failure status. */
export type Outcome = { ok: true; bytes: Uint8Array | null } | { ok: false; status: number; why?: string };

/** Out of memory in the module (or a handle used after `close()`): not a frame's fault. */
export class WasmError extends Error {
  constructor(readonly status: number, what: string) {
    super(status === Status.ENOMEM ? `${what}: the WebAssembly heap is out of memory` : `${what}: status ${status}`);
  }
}
Object.defineProperty(WasmError.prototype, "name", { value: "WasmError", writable: true, configurable: true });

/** A size_t argument: the module is wasm32, so anything larger saturates. */
function size(n: number): number {
  return n > 0xffffffff ? 0xffffffff : n;
}

const finalizers = typeof FinalizationRegistry === "function"
  ? new FinalizationRegistry<() => void>((free) => {
      try {
        free();
      } catch {
        // the instance is gone or broken: nothing left to free
      }
    })
  : null;

/** Free `free` when `owner` is collected (unless {@link forget} runs first). */
export function track(owner: object, free: () => void): void {
  finalizers?.register(owner, free, owner);
}

/** `owner` freed its memory itself. */
export function forget(owner: object): void {
  finalizers?.unregister(owner);
}

/** One instance of the module, and the byte plumbing of its C ABI. */
export class AuraWasm {
  readonly exports: Exports;
  readonly #resultAt: number;
  #scratch = 0;
  #scratchSize = 0;

  constructor(instance: WebAssembly.Instance) {
    this.exports = instance.exports as unknown as Exports;
    this.#resultAt = this.exports.ac_result();
  }

  /** Bytes of linear memory (it only grows). */
  get memorySize(): number {
    return this.exports.memory.buffer.byteLength;
  }

  /** Copy `bytes` into the reusable input buffer; its address. */
  input(bytes: Uint8Array): number {
    const x = this.exports;
    if (bytes.length > this.#scratchSize || this.#scratch === 0) {
      x.ac_free(this.#scratch);
      this.#scratch = 0;
      this.#scratchSize = 0;
      const want = Math.max(bytes.length, 4096);
      const p = x.ac_alloc(want);
      if (!p) throw new WasmError(Status.ENOMEM, "input buffer");
      this.#scratch = p;
      this.#scratchSize = want;
    }
    new Uint8Array(x.memory.buffer, this.#scratch, bytes.length).set(bytes);
    return this.#scratch;
  }

  /** Copy `bytes` into a new allocation the caller hands to the module. */
  copyIn(bytes: Uint8Array): number {
    const x = this.exports;
    const p = x.ac_alloc(bytes.length);
    if (!p) throw new WasmError(Status.ENOMEM, "copy");
    new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
    return p;
  }

  #record(): [number, number, number] {
    const v = new Uint32Array(this.exports.memory.buffer, this.#resultAt, 3);
    return [v[0], v[1], v[2]];
  }

  #cstring(p: number): string {
    const b = new Uint8Array(this.exports.memory.buffer);
    let end = p;
    while (b[end]) end++;
    return new TextDecoder().decode(b.subarray(p, end));
  }

  /** The outcome of a coding call that returned `rc`: the result bytes copied out and freed. */
  take(rc: number): Outcome {
    if (rc === Status.DECLINED) return { ok: true, bytes: null };
    const [ptr, len, why] = this.#record();
    if (rc !== Status.OK) return why ? { ok: false, status: rc, why: this.#cstring(why) } : { ok: false, status: rc };
    const out = new Uint8Array(this.exports.memory.buffer, ptr, len).slice();
    this.exports.ac_free(ptr);
    return { ok: true, bytes: out };
  }

  /** The handle a constructor left in the result record, or the failure. */
  handle(rc: number): { ok: true; handle: number } | { ok: false; status: number; why?: string } {
    const [ptr, , why] = this.#record();
    if (rc !== Status.OK) return why ? { ok: false, status: rc, why: this.#cstring(why) } : { ok: false, status: rc };
    return { ok: true, handle: ptr };
  }

  /**
   * Copy `bytes` in and call `fn(handle?, ptr, len, ...args)`, one of the
   * coding functions of the ABI (`exports.ac_brio_decode`, ...): its outcome.
   */
  run(fn: (...args: number[]) => number, handle: number | null, bytes: Uint8Array, ...args: number[]): Outcome {
    const p = this.input(bytes);
    const rc = handle === null ? fn(p, bytes.length, ...args.map(size)) : fn(handle, p, bytes.length, ...args.map(size));
    return this.take(rc);
  }

  /** Load a BRIO model from its file's bytes (null: the neutral model); a handle, or why not. */
  brioModelLoad(blob: Uint8Array | null): { ok: true; handle: number } | { ok: false; status: number; why?: string } {
    const p = blob === null ? 0 : this.copyIn(blob); // the model takes the copy over
    return this.handle(this.exports.ac_brio_model_load(p, blob === null ? 0 : blob.length));
  }

  /** A zstd dictionary of `type` 0 (auto), 1 (raw content) or 2 (a zstd dictionary): a handle, or why not. */
  zstdDict(bytes: Uint8Array, type = 0): { ok: true; handle: number } | { ok: false; status: number; why?: string } {
    const p = this.input(bytes);
    return this.handle(this.exports.ac_zstd_dict_new(p, bytes.length, type));
  }
}

/** Where the module is by default: `auracodec.wasm` beside this ES module. */
export function defaultWasmUrl(): URL {
  return new URL("./auracodec.wasm", import.meta.url);
}

async function instantiateFrom(source: WasmSource): Promise<WebAssembly.Instance> {
  const imports = {};
  if (source instanceof WebAssembly.Module) return WebAssembly.instantiate(source, imports);
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    return (await WebAssembly.instantiate(source as BufferSource, imports)).instance;
  }
  if (typeof source === "string" || source instanceof URL) {
    const url = new URL(String(source), globalThis.location?.href ?? import.meta.url);
    if (url.protocol === "file:") {
      // Node (and Deno, Bun): read the file; fetch() of file: URLs is not everywhere.
      const fs = "node:fs/promises";
      const { readFile } = (await import(/* @vite-ignore */ fs)) as typeof import("node:fs/promises");
      return (await WebAssembly.instantiate(new Uint8Array(await readFile(url)), imports)).instance;
    }
    return instantiateFrom(fetch(url));
  }
  const response = await source;
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText} for ${response.url}`);
  const type = response.headers.get("content-type") ?? "";
  if (typeof WebAssembly.instantiateStreaming === "function" && type.startsWith("application/wasm")) {
    return (await WebAssembly.instantiateStreaming(response, imports)).instance;
  }
  return (await WebAssembly.instantiate(await response.arrayBuffer(), imports)).instance;
}

let shared: Promise<AuraWasm> | null = null;

/**
 * Instantiate the module. Without `source`, the one shared instance of the
 * default module (loaded once); with one, a new instance.
 */
export function loadWasm(source?: WasmSource): Promise<AuraWasm> {
  if (source !== undefined) return instantiateFrom(source).then((i) => new AuraWasm(i));
  if (shared === null) {
    shared = instantiateFrom(defaultWasmUrl()).then((i) => new AuraWasm(i));
    shared.catch(() => {
      shared = null; // a failed load may be retried
    });
  }
  return shared;
}
