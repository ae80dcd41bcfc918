/**
 * Python's `json.dumps` as auracodec's hashes use it: {@link pyJsonDumps}
 * for fingerprints (`sort_keys=True`: `", "` and `": "` separators, keys
 * sorted by code point, non-ASCII escaped as `\uXXXX`), {@link canonicalJson}
 * for profile version ids (compact, non-ASCII as it is, floats as Python's
 * `repr`).
 */

import { byCodePoint } from "./templates/library.js";

export type PyJson = string | number | boolean | null | readonly PyJson[] | { readonly [key: string]: PyJson };

/**
 * A string as Python's `json.dumps` writes it: `ensureAscii` (Python's
 * default, and what fingerprints use) escapes everything beyond ASCII as
 * `\uXXXX` UTF-16 units; without it only control characters are escaped.
 */
export function pyQuote(s: string, ensureAscii = true): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c < 0x20 || (ensureAscii && c >= 0x80)) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

export function pyJsonDumps(value: PyJson): string {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") return pyQuote(value);
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TypeError(`fingerprints hold integers, not ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return "[" + value.map(pyJsonDumps).join(", ") + "]";
  const obj = value as { readonly [key: string]: PyJson };
  const keys = Object.keys(obj).sort(byCodePoint);
  return "{" + keys.map((k) => `${pyQuote(k)}: ${pyJsonDumps(obj[k])}`).join(", ") + "}";
}

/** Python's `repr(float)` (what `json.dumps` writes): the shortest digits, fixed from 1e-4 to below 1e16, else scientific. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const [mant, e] = Math.abs(x).toExponential().split("e");
  const digits = mant.replace(".", "");
  const exp = Number(e);
  if (exp >= -4 && exp < 16) {
    if (exp >= digits.length - 1) return sign + digits + "0".repeat(exp - digits.length + 1) + ".0";
    if (exp >= 0) return sign + digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
    return sign + "0." + "0".repeat(-exp - 1) + digits;
  }
  const m = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
  return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/**
 * Python's `json.dumps(value, sort_keys=True, separators=(",", ":"),
 * ensure_ascii=False)` of a parsed TOML value: integers are bigints,
 * floats numbers (written as Python's `repr`), tables objects.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === "string") return pyQuote(value, false);
  if (typeof value === "bigint") return String(value);
  if (typeof value === "number") return floatRepr(value);
  if (typeof value === "boolean" || value === null) return String(value);
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return "{" + Object.keys(obj).sort(byCodePoint).map((k) => pyQuote(k, false) + ":" + canonicalJson(obj[k])).join(",") + "}";
  }
  throw new TypeError(`cannot hash ${String(value)}`);
}
