/**
 * The exception tree of auracodec, the same as Python's
 * (`src/auracodec/core/errors.py`): same class names, same hierarchy, same
 * messages for the same failures.
 *
 *     AuraError
 *      ├── DecodeError                 a frame or payload could not be decoded
 *      │    ├── TruncatedFrame         the frame or payload ends before its end
 *      │    ├── TrailingData           bytes follow the end of the payload
 *      │    ├── UnknownMethod          no codec of this pipeline has the frame's method id
 *      │    ├── CorruptPayload         the payload is not valid for its codec
 *      │    ├── OutputLimitExceeded    the message would exceed the output limit
 *      │    ├── InvalidUtf8            decode() was asked for text, the message is not UTF-8
 *      │    ├── SessionError           a session refuses the frame
 *      │    └── CodecFault             a codec's decoder broke its contract (threw
 *      │                               something else, returned a non-Uint8Array)
 *      ├── EncodeError                 a message cannot be encoded
 *      │    └── MessageTooLarge        longer than the pipeline's max_message_size
 *      ├── ConfigError                 a configuration file, key or artifact is wrong
 *      ├── CorpusError                 (kept for symmetry; the client reads no corpora)
 *      └── PluginError                 a codec could not be set up or contradicts another
 *
 * Python's `DecodeError`, `EncodeError` and `ConfigError` also subclass
 * `ValueError`; JavaScript has no such class, so here they are `AuraError`s
 * only. A decoder faces untrusted bytes: `DecodeError` is the only error a
 * codec's `decode` may throw for bad input; anything else is contained by
 * the pipeline as a `CodecFault` whose `cause` is the original error.
 */

export class AuraError extends Error {
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A frame or payload could not be decoded. Nothing was returned. */
export class DecodeError extends AuraError {}

/** The frame or payload ends before its structure does (including an empty frame). */
export class TruncatedFrame extends DecodeError {}

/** Bytes follow the end of a complete payload. */
export class TrailingData extends DecodeError {}

/** Two-digit lower-case hex, as Python's `f"0x{i:02x}"` writes it. */
export function hex2(n: number): string {
  return "0x" + n.toString(16).padStart(2, "0");
}

/** The frame's method id names no codec of this pipeline. */
export class UnknownMethod extends DecodeError {
  readonly methodId: number;
  constructor(methodId: number, known: ReadonlyMap<number, string>, note = "") {
    const listing = [...known.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([i, n]) => `${hex2(i)} ${n}`)
      .join(", ");
    super(
      `unknown method id ${hex2(methodId)}: this pipeline decodes ${listing}` +
        (note ? ` (${note})` : ""),
    );
    this.methodId = methodId;
  }
}

/** The payload is not valid for the codec its method id names. */
export class CorruptPayload extends DecodeError {}

/** Decoding would produce more than the output limit allows. */
export class OutputLimitExceeded extends DecodeError {
  readonly limit: number;
  constructor(limit: number, what = "message") {
    super(`decoded ${what} exceeds the output limit of ${limit} bytes`);
    this.limit = limit;
  }
}

/** The frame decoded, but the message is not UTF-8 text; use decodeBytes(). */
export class InvalidUtf8 extends DecodeError {}

/** A session refuses a frame: it failed before, or the two ends are out of step. */
export class SessionError extends DecodeError {}

/**
 * A codec's decoder threw something other than a {@link DecodeError}, or
 * returned something other than a Uint8Array: a bug in that codec, contained.
 * `cause` is the original error.
 */
export class CodecFault extends DecodeError {
  readonly codec: string;
  readonly methodId: number;
  constructor(codec: string, methodId: number, what: string, origin = "", cause?: unknown) {
    const where = `method ${hex2(methodId)}` + (origin ? `, ${origin}` : "");
    super(
      `the decoder of ${pyRepr(codec)} (${where}) ${what}; decoders may raise only ` +
        "DecodeError subclasses and return bytes (a bug in that plugin)",
      cause === undefined ? undefined : { cause },
    );
    this.codec = codec;
    this.methodId = methodId;
  }
}

/** A message cannot be encoded. */
export class EncodeError extends AuraError {}

/** The message is longer than the pipeline's `max_message_size`. */
export class MessageTooLarge extends EncodeError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super(
      `message of ${size} bytes exceeds max_message_size of ${limit} bytes; ` +
        "the peer would refuse to decode it",
    );
    this.size = size;
    this.limit = limit;
  }
}

/**
 * A configuration mistake, naming the file, the key and what was expected:
 * `"auracodec.toml: codecs.zstd.level: expected an integer from 1 to 22, got 99 (int)"`.
 */
export class ConfigError extends AuraError {
  readonly path: string | null;
  readonly key: string | null;
  constructor(message: string, options: { path?: string | null; key?: string | null } = {}) {
    const where: string[] = [];
    if (options.path != null) where.push(options.path);
    if (options.key) where.push(options.key);
    super([...where, message].join(": "));
    this.path = options.path ?? null;
    this.key = options.key ?? null;
  }
}

/** A corpus file cannot be read as messages (Python only; kept so the trees match). */
export class CorpusError extends AuraError {}

/** A codec could not be set up, declares something invalid, or clashes with another. */
export class PluginError extends AuraError {
  readonly plugin: string | null;
  constructor(message: string, options: { plugin?: string | null } = {}) {
    super(message);
    this.plugin = options.plugin ?? null;
  }
}

/** Python's `repr()` of a str, for messages that quote names (`'zstd'`). */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + quote;
}

// Names survive minification: each class's `name` is set on its prototype.
for (const [name, cls] of Object.entries({
  AuraError, DecodeError, TruncatedFrame, TrailingData, UnknownMethod, CorruptPayload,
  OutputLimitExceeded, InvalidUtf8, SessionError, CodecFault, EncodeError, MessageTooLarge,
  ConfigError, CorpusError, PluginError,
})) {
  Object.defineProperty(cls.prototype, "name", { value: name, writable: true, configurable: true, enumerable: false });
}
