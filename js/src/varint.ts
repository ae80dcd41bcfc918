/**
 * LEB128 varints, as payloads use them: canonical, bounded, checked
 * (Python: `src/auracodec/core/varint.py`).
 *
 * `readVarint` refuses what `varint` never writes (a non-minimal encoding,
 * more than `maxBytes` bytes), so every value has exactly one encoding and a
 * hostile payload cannot make a reader loop or allocate. Values may exceed
 * 2^53 (an `{int}` slot holds 19 digits), so reading gives a `bigint`;
 * `readSmall` gives a `number` for values that are lengths or counts.
 */

import { CorruptPayload, TruncatedFrame } from "./errors.js";

/** The LEB128 encoding of `n >= 0`. */
export function varint(n: number | bigint): Uint8Array {
  const w = new ByteWriter(4);
  w.varint(n);
  return w.finish();
}

/** How many bytes `varint(n)` takes. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Read a varint at `data[pos]`; return `[value, position after it]`. */
export function readVarint(
  data: Uint8Array,
  pos: number,
  maxBytes = 10,
  what = "varint",
): [bigint, number] {
  const end = data.length;
  if (pos >= end) {
    throw new TruncatedFrame(`payload ends where a ${what} should start (byte ${pos})`);
  }
  let byte = data[pos];
  if (byte < 0x80) return [BigInt(byte), pos + 1];
  // Up to 7 bytes (49 bits) in a number, exactly; beyond, in a bigint.
  let small = byte & 0x7f;
  let big: bigint | null = null;
  let shift = 7;
  let i = pos + 1;
  for (;;) {
    if (i >= end) throw new TruncatedFrame(`payload ends inside a ${what} (byte ${i})`);
    if (i - pos >= maxBytes) {
      throw new CorruptPayload(`${what} at byte ${pos} is longer than ${maxBytes} bytes`);
    }
    byte = data[i];
    if (big === null && shift <= 42) small += (byte & 0x7f) * 2 ** shift;
    else {
      big ??= BigInt(small);
      big |= BigInt(byte & 0x7f) << BigInt(shift);
    }
    i++;
    if (byte < 0x80) {
      if (byte === 0) throw new CorruptPayload(`${what} at byte ${pos} is not in its shortest form`);
      return [big ?? BigInt(small), i];
    }
    shift += 7;
  }
}

/**
 * A varint that is a length, count or index: a `number` (exact below 2^53;
 * larger values, which no valid payload holds, are rounded, which only ever
 * makes them fail the caller's range check).
 */
export function readSmall(
  data: Uint8Array,
  pos: number,
  maxBytes = 10,
  what = "varint",
): [number, number] {
  if (pos < data.length && data[pos] < 0x80) return [data[pos], pos + 1];
  const [v, at] = readVarint(data, pos, maxBytes, what);
  return [Number(v), at];
}

/** Map signed to unsigned: 0, -1, 1, -2... to 0, 1, 2, 3... */
export function zigzag(n: bigint): bigint {
  return n >= 0n ? n << 1n : ((-n) << 1n) - 1n;
}

export function unzigzag(n: bigint): bigint {
  return (n & 1n) === 0n ? n >> 1n : -((n + 1n) >> 1n);
}

/** A growable byte buffer for building payloads. */
export class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity = 64) {
    this.buf = new Uint8Array(Math.max(capacity, 8));
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): this {
    this.room(1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.room(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
    return this;
  }

  varint(n: number | bigint): this {
    if (typeof n === "bigint") {
      if (n < 0n) throw new RangeError(`varint of a negative number: ${n}`);
      if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return this.varint(Number(n));
      while (n >= 0x80n) {
        this.byte(Number(n & 0x7fn) | 0x80);
        n >>= 7n;
      }
      return this.byte(Number(n));
    }
    if (n < 0 || !Number.isInteger(n)) throw new RangeError(`varint of a negative number: ${n}`);
    while (n >= 0x80) {
      this.byte((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    return this.byte(n);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
