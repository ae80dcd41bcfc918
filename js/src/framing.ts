/**
 * Wire framing, sans-IO: `[method id: 1 byte][payload: the rest]`
 * (Python: `src/auracodec/core/framing.py`).
 *
 * Nothing else is on the wire: no magic, version or length. Which codecs and
 * artifacts a peer uses is agreed once per connection by comparing
 * `fingerprint`. The pipeline enforces `frame.length <= message.length + 1`
 * and strict decoding; this module turns values into bytes and back.
 */

import { EncodeError, InvalidUtf8, SessionError, TruncatedFrame, hex2 } from "./errors.js";

/** Version of this framing; part of every pipeline fingerprint. */
export const FRAME_FORMAT = 1;

/** The first byte of a session's prefixed frames; never a method id. */
export const ESCAPE = 0xff;

/** What a message may be: text (sent as UTF-8) or bytes. */
export type Message = string | Uint8Array | ArrayBuffer | ArrayBufferView;
/** What a frame may be. */
export type FrameInput = Uint8Array | ArrayBuffer | ArrayBufferView;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

function asBytes(value: unknown): Uint8Array | null {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

/**
 * A message as bytes: a string is encoded as UTF-8 (a lone surrogate is an
 * {@link EncodeError}, as in Python), bytes are taken as they are (not copied).
 */
export function asMessage(message: Message): Uint8Array {
  if (typeof message === "string") {
    const bad = loneSurrogate(message);
    if (bad >= 0) {
      throw new EncodeError(
        `message is not encodable as UTF-8 (surrogates not allowed at index ${bad}); ` +
          "pass bytes to send arbitrary data",
      );
    }
    return utf8Encoder.encode(message);
  }
  const bytes = asBytes(message);
  if (bytes === null) {
    throw new TypeError(`a message is a string, Uint8Array or ArrayBuffer, not ${typeName(message)}`);
  }
  return bytes;
}

/** A frame as a Uint8Array (a view, not a copy). */
export function asFrame(frame: FrameInput): Uint8Array {
  const bytes = asBytes(frame);
  if (bytes === null) {
    throw new TypeError(`a frame is a Uint8Array, ArrayBuffer or ArrayBufferView, not ${typeName(frame)}`);
  }
  return bytes;
}

/** The code point index (as Python counts) of the first lone surrogate, or -1. */
function loneSurrogate(s: string): number {
  let index = 0;
  for (let i = 0; i < s.length; i++, index++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    return index;
  }
  return -1;
}

/** The error for a frame with no method id. */
export function emptyFrame(): TruncatedFrame {
  return new TruncatedFrame("empty frame: expected at least the method id byte");
}

/**
 * A decoded message as text; {@link InvalidUtf8} if it is not UTF-8, with
 * Python's reason and byte offset ("invalid start byte at byte 0").
 */
export function asText(message: Uint8Array): string {
  try {
    return utf8Decoder.decode(message);
  } catch {
    const [reason, start] = utf8Error(message);
    throw new InvalidUtf8(
      `the message is not UTF-8 text (${reason} at byte ${start}); use decode_bytes()`,
    );
  }
}

/** Where and why `data` is not UTF-8, the way CPython's decoder reports it. */
export function utf8Error(data: Uint8Array): [string, number] {
  const n = data.length;
  let i = 0;
  while (i < n) {
    const b = data[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return ["invalid start byte", i];
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return ["unexpected end of data", i];
      const c = data[i + k];
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) {
        return ["invalid continuation byte", i];
      }
    }
    i += need + 1;
  }
  return ["no error", n];
}

/**
 * What a session frame's prefix says (Python: `auracodec.SessionFrame`).
 *
 *     0xff || frame                              isolated: decoded statelessly,
 *                                                absorbed by no context
 *     0xff 0xff || flags || [check] || frame     control
 *
 * Control flags: bit 0 RESET_DONE (the sender reset its outgoing contexts
 * before this frame), bit 1 RESET_PLEASE (reset yours), bit 2 ISOLATED,
 * bit 3 CHECK (two bytes follow the flags: the low 16 bits of the sender's
 * direction digest, big-endian). At least one flag is set; the others are
 * reserved.
 */
export class SessionFrame {
  static readonly RESET_DONE = 1;
  static readonly RESET_PLEASE = 2;
  static readonly ISOLATED = 4;
  static readonly CHECK = 8;
  static readonly FLAGS = 15;
  static readonly CHECK_SIZE = 2;

  private constructor(
    /** The control flags (0 for a plain or merely isolated frame). */
    readonly flags: number,
    /** Decoded statelessly and absorbed by no context. */
    readonly isolated: boolean,
    /** The sender's direction digest carried by this frame, if any. */
    readonly check: number | null,
    /** Where the inner pipeline frame starts. */
    readonly offset: number,
    /** The inner frame's method id. */
    readonly methodId: number,
  ) {}

  /**
   * Read a session frame's prefix; {@link TruncatedFrame} or
   * {@link SessionError} if it is malformed. The inner frame
   * (`frame.subarray(offset)`) is not decoded.
   */
  static parse(input: FrameInput): SessionFrame {
    const frame = asFrame(input);
    const n = frame.length;
    if (n === 0) throw emptyFrame();
    if (frame[0] !== ESCAPE) return new SessionFrame(0, false, null, 0, frame[0]);
    if (n < 2) throw new TruncatedFrame("session frame ends after its escape byte");
    if (frame[1] !== ESCAPE) return new SessionFrame(0, true, null, 1, frame[1]);
    if (n < 3) throw new TruncatedFrame("session control frame ends before its flags");
    const flags = frame[2];
    if (flags & ~SessionFrame.FLAGS || !flags) {
      throw new SessionError(`unknown session control flags ${hex2(flags)}`);
    }
    let offset = 3;
    let check: number | null = null;
    if (flags & SessionFrame.CHECK) {
      offset += SessionFrame.CHECK_SIZE;
      if (n < offset) throw new TruncatedFrame("session control frame ends inside its check");
      check = (frame[3] << 8) | frame[4];
    }
    if (n <= offset) throw new TruncatedFrame("session control frame ends before its inner frame");
    if (frame[offset] === ESCAPE) throw new SessionError("a session frame nests escapes");
    return new SessionFrame(flags, (flags & SessionFrame.ISOLATED) !== 0, check, offset, frame[offset]);
  }

  /** The prefix to put before an inner frame (empty for a plain one). */
  static prefix(flags: number, check: number | null = null, isolated = false): Uint8Array {
    if (check !== null) flags |= SessionFrame.CHECK;
    if (flags) {
      if (isolated) flags |= SessionFrame.ISOLATED;
      const head = [ESCAPE, ESCAPE, flags];
      if (check !== null) head.push((check >> 8) & 0xff, check & 0xff);
      return Uint8Array.from(head);
    }
    return isolated ? Uint8Array.of(ESCAPE) : new Uint8Array(0);
  }
}

/** Concatenate byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
