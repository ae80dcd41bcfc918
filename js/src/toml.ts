/**
 * A TOML 1.0 reader for auracodec's own files (`auracodec.toml`, template
 * libraries): a few hundred lines in place of a general-purpose library,
 * so the browser bundle stays small and `dist/` has no bare import.
 *
 * It accepts what Python's `tomllib` accepts and refuses what it refuses,
 * with the same values, except (on purpose):
 *
 * - Integers are `bigint`s, so `1` and `1.0` stay an int and a float, as in
 *   Python. Like `tomllib`, any size is read (TOML asks for 64 bits): a
 *   setting then refuses an integer out of its range with Python's message,
 *   naming the key.
 * - Dates and times are refused: auracodec's files never hold one, and
 *   reading the four kinds faithfully (offsets, leap days, fractions) would
 *   cost more bytes than the rest of this module.
 * - Arrays and inline tables may nest 100 deep (`tomllib` stops near 500
 *   with a RecursionError), so a hostile file cannot exhaust the stack.
 *
 * Tables are objects without a prototype, so `__proto__` is a key like any
 * other. Every error is a {@link TomlError} whose message ends with where it
 * is: "duplicate key \"a\" (at line 3, column 1)".
 */

type Table = Record<string, unknown>;

/** The document is not TOML this reader accepts; `line` and `column` count from 1. */
export class TomlError extends Error {
  override name = "TomlError";
  constructor(message: string, readonly line: number, readonly column: number) {
    super(`${message} (at line ${line}, column ${column})`);
  }
}

const MAX_DEPTH = 100;
const ESCAPES: Record<string, string> = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", '"': '"', "\\": "\\" };
/** TOML's control characters (U+0000 to U+001F and U+007F) less the tab: never allowed in strings or comments. */
const CONTROL = /[\0-\x08\n-\x1f\x7f]/;
const BARE_KEY = /[\w-]+/y;
const COMMENT = /#[^\n]*/y;
const BOOLEAN = /true|false/y;
/** `tomllib`'s numbers: hex, octal, binary, decimal integers, floats; then inf and nan. */
const NUMBER = /0x[\da-fA-F](_?[\da-fA-F])*|0o[0-7](_?[0-7])*|0b[01](_?[01])*|[+-]?(0|[1-9](_?\d)*)(\.\d(_?\d)*)?([eE][+-]?\d(_?\d)*)?|[+-]?(inf|nan)/y;
/** The start of a date (1979-05-27) or a time (07:32): TOML has no other value that begins so. */
const DATE = /\d{4}-\d\d-\d\d|\d\d:\d\d/y;
/** What a backslash at the end of a line (in a multi-line basic string) swallows. */
const LINE_END = /[ \t]*\n[ \t\n]*/y;
const UNICODE = /u[\da-fA-F]{4}|U[\da-fA-F]{8}/y;

const newTable = (): Table => Object.create(null);
const isTable = (v: unknown): v is Table => typeof v === "object" && !Array.isArray(v);

/** Parse a TOML document: tables are objects, integers bigints, floats numbers. */
export function parse(text: string): Table {
  // CRLF is a newline, even inside multi-line strings (as tomllib reads it).
  const s = text.replace(/\r\n/g, "\n");
  let i = 0;
  let depth = 0;
  const root = newTable();
  let current = root;
  /** Tables and arrays written as values: nothing may add to them. */
  const frozen = new Set<unknown>();
  /** Arrays made by `[[header]]`s. */
  const tableArrays = new Set<unknown>();
  /** Tables defined by a header, or by dotted keys in an earlier section: no header or dotted key may define them again. */
  const defined = new Set<unknown>();
  /** Tables that dotted keys made or entered since the last header (more dotted keys may add to them). */
  let section = new Set<unknown>();

  function fail(message: string, at = i): never {
    const lines = s.slice(0, at).split("\n");
    throw new TomlError(message, lines.length, lines[lines.length - 1].length + 1);
  }

  function expected(what: string): never {
    fail(`expected ${what}, got ${i < s.length ? JSON.stringify(s[i]) : "the end of the document"}`);
  }

  /** What `pattern` (sticky) matches at `s[i]`, consumed; undefined when it does not match. */
  function match(pattern: RegExp): string | undefined {
    pattern.lastIndex = i;
    const found = pattern.exec(s)?.[0];
    if (found !== undefined) i += found.length;
    return found;
  }

  function spaces(): void {
    while (s[i] === " " || s[i] === "\t") i++;
  }

  function comment(): void {
    const at = i;
    const text = match(COMMENT) ?? "";
    if (CONTROL.test(text)) fail("control character in a comment", at + text.search(CONTROL));
  }

  /** Spaces, newlines and comments, between the values of an array. */
  function gap(): void {
    for (;;) {
      spaces();
      comment();
      if (s[i] !== "\n") return;
      i++;
    }
  }

  /** `a`, `"a b"`, `'a'`, `a.b . "c"` as its parts, and the spaces around it. */
  function key(): string[] {
    const parts: string[] = [];
    for (;;) {
      spaces();
      if (s[i] === '"' || s[i] === "'") parts.push(string(false));
      else parts.push(match(BARE_KEY) ?? expected("a key"));
      spaces();
      if (s[i] !== ".") return parts;
      i++;
    }
  }

  /** A basic or literal string at `s[i]`; multi-line ones only where `multiline` (values, not keys). */
  function string(multiline: boolean): string {
    const quote = s[i];
    const multi = multiline && s.startsWith(quote.repeat(3), i);
    const delimiter = multi ? quote.repeat(3) : quote;
    i += delimiter.length;
    if (multi && s[i] === "\n") i++; // a newline right after the opening quotes is not part of the string
    let out = "";
    let from = i;
    for (;;) {
      const c = s[i];
      if (s.startsWith(delimiter, i)) {
        // A multi-line string may end with one or two quotes before its closing three.
        let end = i + delimiter.length;
        while (multi && s[end] === quote && end < i + 5) end++;
        out += s.slice(from, end - delimiter.length);
        i = end;
        return out;
      }
      if (c === "\\" && quote === '"') {
        out += s.slice(from, i) + escape(multi);
        from = i;
      } else if (i >= s.length) {
        fail("unterminated string");
      } else if (CONTROL.test(c) && !(multi && c === "\n")) {
        fail("control character in a string");
      } else i++;
    }
  }

  /** The escape at `s[i]` (a backslash) of a basic string. */
  function escape(multi: boolean): string {
    const at = i++;
    if (multi && match(LINE_END) !== undefined) return "";
    const hex = match(UNICODE);
    if (hex !== undefined) {
      const code = parseInt(hex.slice(1), 16);
      if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) fail(`\\${hex} is not the escape of a Unicode scalar value`, at);
      return String.fromCodePoint(code);
    }
    const c = s[i++] ?? "";
    if (!Object.hasOwn(ESCAPES, c)) fail(`invalid escape ${JSON.stringify("\\" + c)}`, at);
    return ESCAPES[c];
  }

  function value(): unknown {
    const c = s[i];
    if (c === '"' || c === "'") return string(true);
    if (c === "[" || c === "{") {
      if (++depth > MAX_DEPTH) fail(`arrays and inline tables nested more than ${MAX_DEPTH} deep`);
      const v = c === "[" ? array() : inlineTable();
      depth--;
      frozen.add(v);
      return v;
    }
    const word = match(BOOLEAN);
    if (word !== undefined) return word === "true";
    const at = i;
    if (match(DATE) !== undefined) fail("TOML dates and times are not supported by the JavaScript client", at);
    const number = match(NUMBER) ?? expected("a value");
    // inf and nan: no other number has an "n".
    if (/n/.test(number)) return number.endsWith("nan") ? NaN : c === "-" ? -Infinity : Infinity;
    const digits = number.replace(/_/g, "");
    if (/^[+-]?\d+$|^0[xob]/.test(digits)) {
      return BigInt(digits);
    }
    return Number(digits);
  }

  function array(): unknown[] {
    const out: unknown[] = [];
    i++;
    for (gap(); s[i] !== "]"; gap()) {
      out.push(value());
      gap();
      if (s[i] === ",") i++;
      else if (s[i] !== "]") expected("',' or ']'");
    }
    i++;
    return out;
  }

  function inlineTable(): Table {
    const out = newTable();
    i++;
    spaces();
    if (s[i] !== "}") {
      for (;;) {
        keyValue(out);
        if (s[i] === "}") break;
        if (s[i] !== ",") expected("',' or '}'");
        i++;
      }
    }
    i++;
    return out;
  }

  /**
   * The table under `key` of `table` (made when missing), for a header
   * (`[key.more]`, which may go through a defined table and into the last
   * table of a `[[key]]` array) or a dotted key (`key.more = 1`, which may
   * not go into a table that is already defined).
   */
  function subTable(table: Table, key: string, dotted: boolean, at: number): Table {
    let v = Object.hasOwn(table, key) ? table[key] : (table[key] = newTable());
    if (!dotted && tableArrays.has(v)) v = (v as Table[]).at(-1);
    if (!isTable(v) || frozen.has(v) || (dotted && defined.has(v))) fail(`${JSON.stringify(key)} is already defined`, at);
    if (dotted) section.add(v);
    return v;
  }

  /** `key = value` into `table`, and the spaces after it. */
  function keyValue(table: Table): void {
    spaces();
    const at = i;
    const path = key();
    if (s[i] !== "=") expected("'=' after a key");
    i++;
    spaces();
    const v = value();
    spaces();
    const last = path.pop()!;
    for (const part of path) table = subTable(table, part, true, at);
    if (Object.hasOwn(table, last)) fail(`duplicate key ${JSON.stringify(last)}`, at);
    table[last] = v;
  }

  /** `[a.b]` or `[[a.b]]`: the table that the following keys go into. */
  function header(): Table {
    for (const t of section) defined.add(t);
    section = new Set();
    const many = s[i + 1] === "[";
    i += many ? 2 : 1;
    spaces();
    const at = i;
    const path = key();
    if (!s.startsWith(many ? "]]" : "]", i)) expected(many ? "']]'" : "']'");
    i += many ? 2 : 1;
    const last = path.pop()!;
    let table = root;
    for (const part of path) table = subTable(table, part, false, at);
    if (many) {
      if (!Object.hasOwn(table, last)) tableArrays.add((table[last] = []));
      const list = table[last];
      if (!tableArrays.has(list)) fail(`${JSON.stringify(last)} is already defined, not as an array of tables`, at);
      const t = newTable();
      (list as Table[]).push(t);
      return t;
    }
    const t = Object.hasOwn(table, last) ? table[last] : (table[last] = newTable());
    if (!isTable(t) || frozen.has(t) || defined.has(t)) fail(`table ${JSON.stringify(last)} is already defined`, at);
    defined.add(t);
    return t;
  }

  for (;;) {
    spaces();
    if (i >= s.length) return root;
    if (s[i] === "[") current = header();
    else if (s[i] !== "\n" && s[i] !== "#") keyValue(current);
    spaces();
    comment();
    if (i < s.length && s[i] !== "\n") expected("a new line");
    i++;
  }
}
