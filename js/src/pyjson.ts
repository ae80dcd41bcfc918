/**
 * Python's `json.dumps(value, sort_keys=True)`, for what fingerprints hold
 * (objects, arrays, strings, integers): `", "` and `": "` separators, keys
 * sorted by code point, non-ASCII escaped as `\uXXXX`.
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
