/**
 * The built-in normalizers: typed values inside messages, packed byte-exactly
 * (Python: `plugins/binary_semantic/normalizers.py`; the same regular
 * expressions, fields and error messages).
 *
 *     int   -?[0-9]+ (at most 19 digits, leading zeros)  varint (+ width byte)
 *     dec   -?[0-9]+.[0-9]+                             two ints
 *     hex   a run of hex digits, one letter case        length + nibbles
 *     uuid  8-4-4-4-12 hex digits, one letter case      case byte + 16 bytes
 *     ipv4  dotted quad, canonical octets               4 bytes
 *     ipv6  canonical (RFC 5952, as Python 3.11 prints) 16 bytes
 *     ts    ISO 8601 date/date-time, syslog, ctime      format byte + fields
 *
 * `match` and `pack` work on byte strings (see `bytes.ts`); `pack` returns
 * null for any value it cannot restore exactly; `unpack` checks every length
 * and range and throws `CorruptPayload` or `TruncatedFrame`.
 */

import { CorruptPayload, TruncatedFrame } from "../errors.js";
import { ByteWriter, readSmall, readVarint, unzigzag, zigzag } from "../varint.js";
import { bytesOf } from "./bytes.js";

/** A slot type: the built-in ones and user-defined patterns. */
export interface Normalizer {
  readonly name: string;
  /** What the library hash records for the type (Python's module.qualname, or `pattern:...`). */
  readonly definition: string;
  /** Where a value starting at `pos` ends, or -1. */
  match(s: string, pos: number): number;
  /** The packed form of a value (a byte string), or null. */
  pack(value: string): Uint8Array | null;
  /** The value at `pos` of a payload and the position after it. */
  unpack(data: Uint8Array, pos: number): [Uint8Array, number];
}

export const MAX_DIGITS = 19;
const MAX_HEX = 4096;
const MODULE = "auracodec.plugins.binary_semantic.normalizers.";

/** `n` bytes at `pos` and the position after them. */
export function take(data: Uint8Array, pos: number, n: number, what: string): [Uint8Array, number] {
  const end = pos + n;
  if (end > data.length) throw new TruncatedFrame(`payload ends inside a packed ${what}`);
  return [data.subarray(pos, end), end];
}

function sticky(source: string): RegExp {
  return new RegExp(source, "y");
}

function full(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

function matchEnd(rx: RegExp, s: string, pos: number): number {
  rx.lastIndex = pos;
  return rx.test(s) ? rx.lastIndex : -1;
}

function isDigits(s: string): boolean {
  if (!s) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

// -- numbers ------------------------------------------------------------------

function packDigits(digits: string, negative = false): Uint8Array | null {
  if (!digits || digits.length > MAX_DIGITS || !isDigits(digits)) return null;
  const n = BigInt(digits);
  if (negative && n === 0n) return null; // "-0" would not come back
  const padded = digits.length > 1 && digits.charCodeAt(0) === 0x30;
  const w = new ByteWriter(12).varint((zigzag(negative ? -n : n) << 1n) | (padded ? 1n : 0n));
  if (padded) w.byte(digits.length);
  return w.finish();
}

function unpackDigits(data: Uint8Array, pos: number, what: string): [string, number] {
  let v: bigint;
  [v, pos] = readVarint(data, pos, 10, what);
  const n = unzigzag(v >> 1n);
  const abs = n < 0n ? -n : n;
  let digits = abs.toString();
  if (v & 1n) {
    let raw: Uint8Array;
    [raw, pos] = take(data, pos, 1, what);
    const width = raw[0];
    if (!(digits.length < width && width <= MAX_DIGITS)) {
      throw new CorruptPayload(`packed ${what} has a bad width ${width} for ${abs}`);
    }
    digits = digits.padStart(width, "0");
  } else if (digits.length > MAX_DIGITS) {
    throw new CorruptPayload(`packed ${what} has more than ${MAX_DIGITS} digits`);
  }
  return [n < 0n ? "-" + digits : digits, pos];
}

function ascii(s: string): Uint8Array {
  return bytesOf(s);
}

class Int implements Normalizer {
  readonly name = "int";
  readonly definition = MODULE + "Int";
  private readonly re = sticky(`-?[0-9]{1,${MAX_DIGITS + 1}}`);

  match(s: string, pos: number): number {
    const end = matchEnd(this.re, s, pos);
    if (end < 0) return -1;
    return end - pos - (s.charCodeAt(pos) === 0x2d ? 1 : 0) <= MAX_DIGITS ? end : -1;
  }

  pack(value: string): Uint8Array | null {
    if (value.startsWith("-")) return packDigits(value.slice(1), true);
    return packDigits(value);
  }

  unpack(data: Uint8Array, pos: number): [Uint8Array, number] {
    const [text, at] = unpackDigits(data, pos, "int");
    return [ascii(text), at];
  }
}

class Dec implements Normalizer {
  readonly name = "dec";
  readonly definition = MODULE + "Dec";
  private readonly re = sticky(`-?[0-9]{1,${MAX_DIGITS + 1}}\\.[0-9]{1,${MAX_DIGITS + 1}}`);
  private readonly int = new Int();

  match(s: string, pos: number): number {
    return matchEnd(this.re, s, pos);
  }

  pack(value: string): Uint8Array | null {
    const dot = value.indexOf(".");
    if (dot < 0) return null;
    const frac = value.slice(dot + 1);
    if (!isDigits(frac)) return null;
    const head = this.int.pack(value.slice(0, dot));
    const tail = packDigits(frac);
    if (head === null || tail === null) return null;
    return new ByteWriter(head.length + tail.length).bytes(head).bytes(tail).finish();
  }

  unpack(data: Uint8Array, pos: number): [Uint8Array, number] {
    let whole: string;
    let frac: string;
    [whole, pos] = unpackDigits(data, pos, "dec");
    [frac, pos] = unpackDigits(data, pos, "dec");
    if (frac.startsWith("-")) throw new CorruptPayload("packed dec has a negative fraction");
    return [ascii(whole + "." + frac), pos];
  }
}

// -- identifiers ----------------------------------------------------------------

const HEX_CASES = ["[0-9a-f]", "[0-9A-F]"] as const;

function hexNibbles(text: string): Uint8Array {
  const padded = text.length & 1 ? text + "0" : text;
  const out = new Uint8Array(padded.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(padded.substr(i * 2, 2), 16);
  return out;
}

function hexOf(raw: Uint8Array): string {
  let s = "";
  for (const b of raw) s += b.toString(16).padStart(2, "0");
  return s;
}

class Hex implements Normalizer {
  readonly name = "hex";
  readonly definition = MODULE + "Hex";
  private readonly lower = sticky(`${HEX_CASES[0]}{1,${MAX_HEX + 1}}`);
  private readonly upper = sticky(`${HEX_CASES[1]}{1,${MAX_HEX + 1}}`);
  private readonly lowerFull = full(`${HEX_CASES[0]}{1,${MAX_HEX + 1}}`);
  private readonly upperFull = full(`${HEX_CASES[1]}{1,${MAX_HEX + 1}}`);

  match(s: string, pos: number): number {
    const end = Math.max(matchEnd(this.lower, s, pos), matchEnd(this.upper, s, pos));
    return end - pos <= MAX_HEX ? end : -1;
  }

  pack(value: string): Uint8Array | null {
    if (!value || value.length > MAX_HEX) return null;
    let upper: number;
    if (this.lowerFull.test(value)) upper = 0;
    else if (this.upperFull.test(value)) upper = 1;
    else return null;
    const nibbles = hexNibbles(value);
    return new ByteWriter(nibbles.length + 3).varint(value.length * 2 + upper).bytes(nibbles).finish();
  }

  unpack(data: Uint8Array, pos: number): [Uint8Array, number] {
    let v: bigint;
    [v, pos] = readVarint(data, pos, 10, "hex length");
    const n = v >> 1n;
    const upper = (v & 1n) === 1n;
    if (!(n > 0n && n <= BigInt(MAX_HEX))) throw new CorruptPayload(`packed hex of length ${n}`);
    const len = Number(n);
    let raw: Uint8Array;
    [raw, pos] = take(data, pos, (len + 1) >> 1, "hex");
    const text = hexOf(raw);
    if (len & 1 && text[text.length - 1] !== "0") {
      throw new CorruptPayload("packed hex has a non-zero pad nibble");
    }
    const out = text.slice(0, len);
    return [ascii(upper ? out.toUpperCase() : out), pos];
  }
}

const UUID_PATTERN = HEX_CASES.map((h) => `${h}{8}-${h}{4}-${h}{4}-${h}{4}-${h}{12}`).join("|");

class Uuid implements Normalizer {
  readonly name = "uuid";
  readonly definition = MODULE + "Uuid";
  private readonly re = sticky(UUID_PATTERN);
  private readonly fullRe = full(UUID_PATTERN);

  match(s: string, pos: number): number {
    return matchEnd(this.re, s, pos);
  }

  pack(value: string): Uint8Array | null {
    if (!this.fullRe.test(value)) return null;
    const upper = value !== value.toLowerCase() ? 1 : 0;
    return new ByteWriter(17).byte(upper).bytes(hexNibbles(value.replaceAll("-", ""))).finish();
  }

  unpack(data: Uint8Array, pos: number): [Uint8Array, number] {
    let raw: Uint8Array;
    [raw, pos] = take(data, pos, 17, "uuid");
    if (raw[0] > 1) throw new CorruptPayload(`packed uuid has a bad case byte ${raw[0]}`);
    const h = hexOf(raw.subarray(1));
    const text = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    return [ascii(raw[0] ? text.toUpperCase() : text), pos];
  }
}

const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4_PATTERN = `${OCTET}(?:\\.${OCTET}){3}(?![0-9])`;

class Ipv4 implements Normalizer {
  readonly name = "ipv4";
  readonly definition = MODULE + "Ipv4";
  private readonly re = sticky(IPV4_PATTERN);
  private readonly fullRe = full(IPV4_PATTERN);

  match(s: string, pos: number): number {
    return matchEnd(this.re, s, pos);
  }

  pack(value: string): Uint8Array | null {
    if (!this.fullRe.test(value)) return null;
    return Uint8Array.from(value.split(".").map((p) => Number(p)));
  }

  unpack(data: Uint8Array, pos: number): [Uint8Array, number] {
    let raw: Uint8Array;
    [raw, pos] = take(data, pos, 4, "ipv4");
    return [ascii(Array.from(raw).join(".")), pos];
  }
}

/** An IPv6 address as Python 3.11's `str(IPv6Address(...))` writes it (RFC 5952). */
export function formatIpv6(raw: Uint8Array): string {
  const hextets: string[] = [];
  for (let i = 0; i < 16; i += 2) hextets.push(((raw[i] << 8) | raw[i + 1]).toString(16));
  let bestStart = -1;
  let bestLen = 0;
  let start = -1;
  let len = 0;
  hextets.forEach((h, i) => {
    if (h === "0") {
      len++;
      if (start === -1) start = i;
      if (len > bestLen) {
        bestLen = len;
        bestStart = start;
      }
    } else {
      len = 0;
      start = -1;
    }
  });
  if (bestLen > 1) {
    const end = bestStart + bestLen;
    const parts = [...hextets.slice(0, bestStart), "", ...hextets.slice(end)];
    if (end === 8) parts.push("");
    if (bestStart === 0) parts.unshift("");
    return parts.join(":");
  }
  return hextets.join(":");
}

/** The 16 bytes of an IPv6 address in hex-and-colons form (no IPv4 tail, no scope), or null. */
function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const total = head.length + tail.length;
  if (halves.length === 2 ? total > 7 : total !== 8) return null;
  const all = [...head, ...new Array(8 - total).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

class Ipv6 implements Normalizer {
  readonly name = "ipv6";
  readonly definition = MODULE + "Ipv6";
  private readonly re = sticky("[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}");

  match(s: string, pos: number): number {
    this.re.lastIndex = pos;
    const m = this.re.exec(s);
    if (m === null || this.pack(m[0]) === null) return -1;
    return this.re.lastIndex;
  }

  pack(value: string): Uint8Array | null {
    const raw = parseIpv6(value);
    return raw !== null && formatIpv6(raw) === value ? raw : null;
  }

  unpack(data: Uint8Array, pos: number): [Uint8Array, number] {
    let raw: Uint8Array;
    [raw, pos] = take(data, pos, 16, "ipv6");
    return [ascii(formatIpv6(raw)), pos];
  }
}

// -- timestamps -----------------------------------------------------------------

/** Floor division and modulo, for bigints (Python's `//` and `%`). */
function fdiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** Days since 1970-01-01 in the proleptic Gregorian calendar. */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: bigint): [bigint, number, number] {
  const z = days + 719468n;
  const era = fdiv(z, 146097n);
  const doe = Number(z - era * 146097n);
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [BigInt(yoe) + era * 400n + (m <= 2 ? 1n : 0n), m, d];
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTH_RE = "(" + MONTHS.join("|") + ")";
const ISO_PATTERN =
  "([0-9]{4})-([0-9]{2})-([0-9]{2})" +
  "(?:([T ])([0-9]{2}):([0-9]{2}):([0-9]{2})(?:([.,])([0-9]{1,9}))?" +
  "(Z|[+-][0-9]{2}:[0-9]{2}|[+-][0-9]{4})?)?";
const SYSLOG_PATTERN = MONTH_RE + " ( [1-9]|[0-3][0-9]|[1-9]) ([0-9]{2}):([0-9]{2}):([0-9]{2})";
const CTIME_PATTERN =
  "(" + DAYS.join("|") + ") " + MONTH_RE + " ([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([0-9]{4})";
const FORMAT_ISO = 0;
const FORMAT_SYSLOG = 1;
const FORMAT_CTIME = 2;

const pad2 = (n: number): string => String(n).padStart(2, "0");
const clock = (secs: number): string =>
  `${pad2(Math.floor(secs / 3600))}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}`;

class Timestamp implements Normalizer {
  readonly name = "ts";
  readonly definition = MODULE + "Timestamp";
  private readonly matchers = [ISO_PATTERN, SYSLOG_PATTERN, CTIME_PATTERN].map(sticky);
  private readonly iso = full(ISO_PATTERN);
  private readonly syslog = full(SYSLOG_PATTERN);
  private readonly ctime = full(CTIME_PATTERN);

  match(s: string, pos: number): number {
    let best = -1;
    for (const rx of this.matchers) best = Math.max(best, matchEnd(rx, s, pos));
    return best;
  }

  pack(value: string): Uint8Array | null {
    const packed = this.packFields(value);
    if (packed === null) return null;
    try {
      const [again, end] = this.unpack(packed, 0);
      if (end !== packed.length || again.length !== value.length) return null;
      for (let i = 0; i < again.length; i++) if (again[i] !== value.charCodeAt(i)) return null;
      return packed;
    } catch (err) {
      if (err instanceof CorruptPayload || err instanceof TruncatedFrame) return null;
      throw err;
    }
  }

  private packFields(value: string): Uint8Array | null {
    let m = this.iso.exec(value);
    if (m !== null) {
      const y = Number(m[1]);
      const mo = Number(m[2]);
      const d = Number(m[3]);
      if (!(mo >= 1 && mo <= 12 && d >= 1 && d <= 31)) return null;
      const day = BigInt(daysFromCivil(y, mo, d));
      const w = new ByteWriter(24).byte(FORMAT_ISO);
      if (m[4] === undefined) return w.byte(0).varint(zigzag(day)).finish();
      const secs = Number(m[5]) * 3600 + Number(m[6]) * 60 + Number(m[7]);
      const zone = m[10] ?? "";
      const zoneKind = zone === "" ? 0 : zone === "Z" ? 1 : zone[3] === ":" ? 2 : 3;
      let flags = 1 | ((m[4] === "T" ? 1 : 0) << 1) | ((m[8] !== undefined ? 1 : 0) << 2);
      flags |= ((m[8] === "," ? 1 : 0) << 3) | (zoneKind << 4);
      w.byte(flags).varint(zigzag(day)).varint(secs);
      if (m[8] !== undefined) w.byte(m[9].length).varint(Number(m[9]));
      if (zoneKind >= 2) {
        const sign = zone[0] === "-" ? 1 : 0;
        const minutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2));
        w.varint(minutes * 2 + sign);
      }
      return w.finish();
    }
    m = this.syslog.exec(value);
    if (m !== null) {
      const month = MONTHS.indexOf(m[1]);
      const dayText = m[2];
      const day = Number(dayText.trim());
      const style = dayText[0] === " " ? 1 : dayText.length === 2 && day < 10 ? 2 : 0;
      const secs = Number(m[3]) * 3600 + Number(m[4]) * 60 + Number(m[5]);
      return new ByteWriter(8)
        .byte(FORMAT_SYSLOG)
        .varint((month * 32 + day) * 3 + style)
        .varint(secs)
        .finish();
    }
    m = this.ctime.exec(value);
    if (m !== null) {
      const day = daysFromCivil(Number(m[7]), MONTHS.indexOf(m[2]) + 1, Number(m[3]));
      const secs = Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]);
      return new ByteWriter(12).byte(FORMAT_CTIME).varint(zigzag(BigInt(day))).varint(secs).finish();
    }
    return null;
  }

  unpack(data: Uint8Array, pos: number): [Uint8Array, number] {
    let raw: Uint8Array;
    [raw, pos] = take(data, pos, 1, "ts");
    const fmt = raw[0];
    if (fmt === FORMAT_ISO) {
      [raw, pos] = take(data, pos, 1, "ts");
      const flags = raw[0];
      if (flags & 0xc0 || (!(flags & 1) && flags)) {
        throw new CorruptPayload(`packed ts has bad flags 0x${flags.toString(16)}`);
      }
      let z: bigint;
      [z, pos] = readVarint(data, pos, 10, "ts");
      const [y, mo, d] = civilFromDays(unzigzag(z));
      if (!(y >= 0n && y <= 9999n)) throw new CorruptPayload(`packed ts has year ${y}`);
      let out = `${String(y).padStart(4, "0")}-${pad2(mo)}-${pad2(d)}`;
      if (flags & 1) {
        let secs: number;
        [secs, pos] = readSmall(data, pos, 10, "ts");
        if (secs >= 86400) throw new CorruptPayload("packed ts has a time past midnight");
        out += (flags & 2 ? "T" : " ") + clock(secs);
        if (flags & 4) {
          [raw, pos] = take(data, pos, 1, "ts");
          const width = raw[0];
          let frac: bigint;
          [frac, pos] = readVarint(data, pos, 10, "ts");
          const digits = frac.toString();
          if (!(width >= 1 && width <= 9) || digits.length > width) {
            throw new CorruptPayload("packed ts has a bad fraction");
          }
          out += (flags & 8 ? "," : ".") + digits.padStart(width, "0");
        }
        const zoneKind = flags >> 4;
        if (zoneKind === 1) out += "Z";
        else if (zoneKind >= 2) {
          let zv: number;
          [zv, pos] = readSmall(data, pos, 10, "ts");
          const minutes = Math.floor(zv / 2);
          if (minutes >= 24 * 60) throw new CorruptPayload("packed ts has a bad zone offset");
          const colon = zoneKind === 2 ? ":" : "";
          out += (zv % 2 ? "-" : "+") + pad2(Math.floor(minutes / 60)) + colon + pad2(minutes % 60);
        }
      }
      return [ascii(out), pos];
    }
    if (fmt === FORMAT_SYSLOG) {
      let v: number;
      let secs: number;
      [v, pos] = readSmall(data, pos, 10, "ts");
      [secs, pos] = readSmall(data, pos, 10, "ts");
      const style = v % 3;
      const rest = Math.floor(v / 3);
      const month = Math.floor(rest / 32);
      const day = rest % 32;
      if (month >= 12 || !(day >= 1 && day <= 31) || secs >= 86400 || (style && day >= 10)) {
        throw new CorruptPayload("packed syslog ts out of range");
      }
      const dayText = style === 1 ? String(day).padStart(2, " ") : style === 2 ? pad2(day) : String(day);
      return [ascii(`${MONTHS[month]} ${dayText} ${clock(secs)}`), pos];
    }
    if (fmt === FORMAT_CTIME) {
      let z: bigint;
      let secs: number;
      [z, pos] = readVarint(data, pos, 10, "ts");
      [secs, pos] = readSmall(data, pos, 10, "ts");
      const days = unzigzag(z);
      const [y, mo, d] = civilFromDays(days);
      if (!(y >= 0n && y <= 9999n) || secs >= 86400) {
        throw new CorruptPayload("packed ctime ts out of range");
      }
      const weekday = DAYS[Number((((days + 3n) % 7n) + 7n) % 7n)];
      const text = `${weekday} ${MONTHS[mo - 1]} ${pad2(d)} ${clock(secs)} ${String(y).padStart(4, "0")}`;
      return [ascii(text), pos];
    }
    throw new CorruptPayload(`packed ts has unknown format ${fmt}`);
  }
}

/** The built-in slot types by name, in Python's declaration order. */
export function builtinNormalizers(): Map<string, Normalizer> {
  const all: Normalizer[] = [new Int(), new Dec(), new Hex(), new Uuid(), new Ipv4(), new Ipv6(), new Timestamp()];
  return new Map(all.map((n) => [n.name, n]));
}
