/**
 * Byte strings: the template codec matches on a message's bytes held as a
 * JavaScript string with one char per byte (code points 0-255), so literal
 * searches (`indexOf`, `startsWith`) and the normalizers' regular expressions
 * work byte by byte, exactly as Python's work on `bytes`.
 */

/** Bytes as a byte string (char code = byte). */
export function bstr(data: Uint8Array): string {
  let s = "";
  for (let i = 0; i < data.length; i += 8192) {
    s += String.fromCharCode.apply(null, data.subarray(i, i + 8192) as unknown as number[]);
  }
  return s;
}

/** A byte string as bytes. */
export function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const encoder = new TextEncoder();

/** Text as its UTF-8 bytes, held as a byte string. */
export function utf8bstr(text: string): string {
  return bstr(encoder.encode(text));
}

/** ASCII whitespace as Python's `bytes.split()` knows it. */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
