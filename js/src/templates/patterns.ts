/**
 * User-defined slot types: a small pattern language, matched possessively
 * (Python: `plugins/binary_semantic/patterns.py`; same parser, packing and
 * error messages).
 *
 * Items: a literal character (`\` escapes `[]{}+*?\`), a class `[a-z0-9_]`,
 * `\d`, `\w`, `\x`; each optionally followed by `{n}`, `{n,m}`, `?`, `+` or
 * `*` (`+` and `*` stop at 4096). Every item takes as many characters as it
 * can and never gives any back, so matching is linear.
 */

import { CorruptPayload } from "../errors.js";
import { ByteWriter, readVarint } from "../varint.js";
import { MAX_DIGITS, take } from "./normalizers.js";
import type { Normalizer } from "./normalizers.js";

/** A user-defined pattern does not parse; the message says where. */
export class PatternError extends Error {
  override name = "PatternError";
}

type CharSet = Uint8Array; // 256 flags
interface Item {
  chars: CharSet;
  size: number; // how many characters the class has
  single: number; // the character, when size === 1
  digits: boolean; // every character is a digit
  lo: number;
  hi: number;
}

const MAX_REPEAT = 4096;

function charset(chars: Iterable<number>): CharSet {
  const set = new Uint8Array(256);
  for (const c of chars) set[c] = 1;
  return set;
}

function range(from: string, to: string): number[] {
  const out: number[] = [];
  for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c++) out.push(c);
  return out;
}

const CLASSES: Record<string, number[]> = {
  d: range("0", "9"),
  w: [...range("0", "9"), ...range("a", "z"), ...range("A", "Z"), 0x5f],
  x: [...range("0", "9"), ...range("a", "f"), ...range("A", "F")],
};

function item(members: Iterable<number>, lo: number, hi: number): Item {
  const chars = charset(members);
  let size = 0;
  let single = -1;
  let digits = true;
  for (let c = 0; c < 256; c++) {
    if (!chars[c]) continue;
    size++;
    single = c;
    if (c < 0x30 || c > 0x39) digits = false;
  }
  return { chars, size, single, digits, lo, hi };
}

function isAsciiDigits(s: string): boolean {
  return /^[0-9]+$/.test(s);
}

function parsePattern(pattern: string): Item[] {
  if (!pattern || pattern.length > 512) throw new PatternError("a pattern has 1 to 512 characters");
  if (!/^[\x00-\x7f]*$/.test(pattern)) {
    throw new PatternError("patterns are ASCII; write other characters literally");
  }
  const raw = pattern;
  const items: Item[] = [];
  let i = 0;
  while (i < raw.length) {
    const c = raw[i];
    let members: number[];
    if (c === "\\") {
      if (i + 1 >= raw.length) throw new PatternError(`pattern ends after a backslash (at ${i})`);
      const e = raw[i + 1];
      members = e in CLASSES ? CLASSES[e] : [raw.charCodeAt(i + 1)];
      i += 2;
    } else if (c === "[") {
      const close = raw.indexOf("]", i + 1);
      if (close < 0 || close === i + 1) throw new PatternError(`unclosed or empty class at ${i}`);
      const body = raw.slice(i + 1, close);
      members = [];
      let j = 0;
      while (j < body.length) {
        if (j + 2 < body.length && body[j + 1] === "-") {
          if (body.charCodeAt(j) > body.charCodeAt(j + 2)) throw new PatternError(`bad range in class at ${i}`);
          members.push(...range(body[j], body[j + 2]));
          j += 3;
        } else {
          members.push(body.charCodeAt(j));
          j += 1;
        }
      }
      i = close + 1;
    } else if ("]{}+*?".includes(c)) {
      throw new PatternError(`unexpected '${c}' at ${i} (escape it with a backslash)`);
    } else {
      members = [raw.charCodeAt(i)];
      i += 1;
    }
    let lo = 1;
    let hi = 1;
    if (i < raw.length && "?+*{".includes(raw[i])) {
      const q = raw[i];
      if (q === "?") [lo, hi, i] = [0, 1, i + 1];
      else if (q === "+") [lo, hi, i] = [1, MAX_REPEAT, i + 1];
      else if (q === "*") [lo, hi, i] = [0, MAX_REPEAT, i + 1];
      else {
        const close = raw.indexOf("}", i);
        const spec = close > 0 ? raw.slice(i + 1, close) : "";
        const parts = spec.split(",");
        if (close < 0 || parts.length < 1 || parts.length > 2 || !parts.every(isAsciiDigits)) {
          throw new PatternError(`bad repeat at ${i}: expected {n} or {n,m}`);
        }
        lo = Number(parts[0]);
        hi = Number(parts[parts.length - 1]);
        if (!(lo >= 0 && lo <= hi && hi <= MAX_REPEAT) || hi === 0) {
          throw new PatternError(`bad repeat {${spec}} at ${i}`);
        }
        i = close + 1;
      }
    }
    items.push(item(members, lo, hi));
  }
  if (items.every((it) => it.lo === 0)) throw new PatternError("a pattern must match at least one character");
  return items;
}

/** A user-defined normalizer (`patterns = { name = "pattern" }`). */
export class Pattern implements Normalizer {
  readonly definition: string;
  private readonly items: Item[];

  constructor(readonly name: string, readonly source: string) {
    this.items = parsePattern(source);
    this.definition = `pattern:${source}`;
  }

  match(s: string, pos: number): number {
    const end = s.length;
    for (const { chars, lo, hi } of this.items) {
      let n = 0;
      while (n < hi && pos + n < end && chars[s.charCodeAt(pos + n)]) n++;
      if (n < lo) return -1;
      pos += n;
    }
    return pos;
  }

  pack(value: string): Uint8Array | null {
    if (this.match(value, 0) !== value.length) return null;
    const w = new ByteWriter(value.length + 8);
    let pos = 0;
    for (const it of this.items) {
      let n = 0;
      while (n < it.hi && pos + n < value.length && it.chars[value.charCodeAt(pos + n)]) n++;
      const part = value.slice(pos, pos + n);
      pos += n;
      if (it.lo !== it.hi) w.varint(n - it.lo);
      if (it.size === 1 || !n) continue;
      if (it.digits && n <= MAX_DIGITS) w.varint(BigInt(part));
      else for (let k = 0; k < part.length; k++) w.byte(part.charCodeAt(k));
    }
    return w.finish();
  }

  unpack(data: Uint8Array, pos: number): [Uint8Array, number] {
    const out = new ByteWriter(32);
    for (const it of this.items) {
      let n = it.lo;
      if (it.lo !== it.hi) {
        let extra: bigint;
        [extra, pos] = readVarint(data, pos, 10, `${this.name} count`);
        const total = extra + BigInt(it.lo);
        if (total > BigInt(it.hi)) {
          throw new CorruptPayload(`packed ${this.name} has ${total} characters, at most ${it.hi}`);
        }
        n = Number(total);
      }
      if (it.size === 1) {
        for (let k = 0; k < n; k++) out.byte(it.single);
      } else if (!n) {
        continue;
      } else if (it.digits && n <= MAX_DIGITS) {
        let v: bigint;
        [v, pos] = readVarint(data, pos, 10, this.name);
        const digits = v.toString();
        if (digits.length > n) throw new CorruptPayload(`packed ${this.name} has too many digits`);
        for (const ch of digits.padStart(n, "0")) out.byte(ch.charCodeAt(0));
      } else {
        let part: Uint8Array;
        [part, pos] = take(data, pos, n, this.name);
        for (const c of part) {
          if (!it.chars[c]) throw new CorruptPayload(`packed ${this.name} has characters outside its class`);
        }
        out.bytes(part);
      }
    }
    return [out.finish(), pos];
  }
}

/** Compile `name = "pattern"` pairs; a PatternError names the pattern. */
export function makePatterns(table: Readonly<Record<string, string>>): Map<string, Pattern> {
  const out = new Map<string, Pattern>();
  for (const [name, source] of Object.entries(table)) {
    try {
      out.set(name, new Pattern(name, source));
    } catch (err) {
      if (err instanceof PatternError) throw new PatternError(`pattern '${name}': ${err.message}`);
      throw err;
    }
  }
  return out;
}

