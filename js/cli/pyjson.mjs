// JSON lines as Python's json module reads and writes them, so that
// `auracodec-js` writes the same bytes as `auracodec` for the same input:
// `json.loads` (key order kept, a repeated key's last value at its first
// place, NaN/Infinity accepted) and `json.dumps(value, ensure_ascii=False)`
// (", " and ": ", floats as Python's repr, non-ASCII as it is). Numbers keep
// their source text until written: an integer is written as it came, with
// every digit (JavaScript numbers would round it).

/** A parsed value: `{ t: "obj", map }`, `{ t: "arr", items }`, `{ t: "str", s }`, `{ t: "int", text }`, `{ t: "float", x }`, `{ t: "lit", text }`. */

export class JsonError extends Error {}

import { floatRepr, pyQuote } from "../dist/pyjson.js";

const WS = new Set([" ", "\t", "\n", "\r"]);
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;

/** Parse one JSON document (text already decoded from UTF-8). */
export function loads(text) {
  let i = 0;
  const fail = (what) => {
    throw new JsonError(`${what} at char ${i}`);
  };
  const skip = () => {
    while (i < text.length && WS.has(text[i])) i++;
  };
  const string = () => {
    i++; // the opening quote
    let out = "";
    for (;;) {
      if (i >= text.length) fail("Unterminated string");
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c === "\\") {
        const e = text[i + 1];
        const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }[e];
        if (simple !== undefined) {
          out += simple;
          i += 2;
        } else if (e === "u") {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("Invalid \\uXXXX escape");
          out += String.fromCharCode(parseInt(hex, 16)); // surrogate pairs join in the string
          i += 6;
        } else fail("Invalid \\escape");
      } else if (c.charCodeAt(0) < 0x20) fail("Invalid control character");
      else {
        out += c;
        i++;
      }
    }
  };
  const value = (depth) => {
    if (depth > 900) fail("too deeply nested"); // Python's recursion limit is about there
    skip();
    const c = text[i];
    if (c === "{") {
      i++;
      const map = new Map();
      skip();
      if (text[i] === "}") {
        i++;
        return { t: "obj", map };
      }
      for (;;) {
        skip();
        if (text[i] !== '"') fail("Expecting property name enclosed in double quotes");
        const key = string();
        skip();
        if (text[i] !== ":") fail("Expecting ':' delimiter");
        i++;
        map.set(key, value(depth + 1));
        skip();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return { t: "obj", map };
        }
        fail("Expecting ',' delimiter");
      }
    }
    if (c === "[") {
      i++;
      const items = [];
      skip();
      if (text[i] === "]") {
        i++;
        return { t: "arr", items };
      }
      for (;;) {
        items.push(value(depth + 1));
        skip();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return { t: "arr", items };
        }
        fail("Expecting ',' delimiter");
      }
    }
    if (c === '"') return { t: "str", s: string() };
    for (const lit of ["true", "false", "null", "NaN", "Infinity", "-Infinity"]) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return { t: "lit", text: lit };
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m) {
      i += m[0].length;
      if (m[1] === undefined && m[2] === undefined) return { t: "int", text: m[0] === "-0" ? "0" : m[0] };
      return { t: "float", x: Number(m[0]) };
    }
    fail("Expecting value");
  };
  const v = value(0);
  skip();
  if (i !== text.length) fail("Extra data");
  return v;
}

/** Python's `json.dumps(s, ensure_ascii=False)` of a string. */
export const dumpString = (s) => pyQuote(s, false);

/** Python's `json.dumps(value, ensure_ascii=False)` of a parsed value. */
export function dumps(v) {
  switch (v.t) {
    case "obj":
      return "{" + [...v.map].map(([k, x]) => `${dumpString(k)}: ${dumps(x)}`).join(", ") + "}";
    case "arr":
      return "[" + v.items.map(dumps).join(", ") + "]";
    case "str":
      return dumpString(v.s);
    case "int":
    case "lit":
      return v.text;
    case "float":
      return floatRepr(v.x);
  }
  throw new TypeError(`not a parsed JSON value: ${JSON.stringify(v)}`);
}

export const str = (s) => ({ t: "str", s });
export const int = (n) => ({ t: "int", text: String(n) });

/** Whether a string holds a lone surrogate (not encodable as UTF-8). */
export function hasLoneSurrogate(s) {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}
