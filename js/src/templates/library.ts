/**
 * Template libraries (Python: `plugins/binary_semantic/library.py`): parsing
 * template text into parts, validating a parsed `templates.toml` table, and
 * the content hash that the codec's fingerprint carries.
 *
 *     [library]
 *     format = 1
 *     name = "profile"
 *
 *     [[template]]
 *     id = 0
 *     text = "User {word} logged in from {ipv4}"
 */

import { sha256Hex } from "../sha256.js";
import { bstr } from "./bytes.js";

export const FORMAT = 1;
export const BUILTIN_ID_BASE = 16000;
export const MAX_ID = (1 << 20) - 1;
export const MAX_FILE_SIZE = 8 * 1024 * 1024;
export const MAX_TEMPLATES = 65536;
export const MAX_TEMPLATE_SIZE = 4096;
export const MAX_SLOTS = 64;
export const MAX_ENUM_VALUES = 256;
export const MAX_ENUM_VALUE = 256;
const GENERIC_TYPES = ["word", "text", "enum"];

/** A template or a library is invalid; the message names the template. */
export class LibraryError extends Error {
  override name = "LibraryError";
}

/** A typed slot: `word`, `text`, `enum` or a normalizer name. */
export interface Slot {
  readonly kind: string;
  /** Enum values, as byte strings (UTF-8). */
  readonly values: readonly string[];
  readonly openEnded: boolean;
}

/** A part: a literal (a byte string) or a slot. */
export type Part = string | Slot;

export interface Template {
  readonly id: number;
  readonly parts: readonly Part[];
  readonly text: string;
  /** Still decoded, no longer used to encode. */
  readonly retired: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The slot's text form (`enum:A|B|*`). */
export function slotSpec(slot: Slot): string {
  if (slot.kind === "enum") {
    const values = slot.values.map((v) => decoder.decode(Uint8Array.from(v, (c) => c.charCodeAt(0))));
    return "enum:" + (slot.openEnded ? [...values, "*"] : values).join("|");
  }
  return slot.kind;
}

function parseSlot(spec: string, known: ReadonlySet<string>, where: string): Slot {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const args = colon < 0 ? "" : spec.slice(colon + 1);
  if (!known.has(kind)) {
    const listing = [...known].sort().join(", ");
    throw new LibraryError(`${where}: unknown slot type {${spec}} (known: ${listing})`);
  }
  if (kind === "enum") {
    let values = args ? args.split("|").map((v) => bstr(encoder.encode(v))) : [];
    const openEnded = values.length > 0 && values[values.length - 1] === "*";
    if (openEnded) values = values.slice(0, -1);
    if (!values.length || values.length > MAX_ENUM_VALUES || new Set(values).size !== values.length) {
      throw new LibraryError(`${where}: enum needs 1 to ${MAX_ENUM_VALUES} distinct values: {enum:A|B}`);
    }
    if (values.some((v) => !v || v.length > MAX_ENUM_VALUE)) {
      throw new LibraryError(`${where}: enum values have 1 to ${MAX_ENUM_VALUE} bytes`);
    }
    return { kind, values, openEnded };
  }
  if (args) throw new LibraryError(`${where}: slot type '${kind}' takes no arguments`);
  return { kind, values: [], openEnded: false };
}

/** Parse template text; `LibraryError` says what is wrong and where. */
export function parseTemplate(tid: number, text: unknown, knownTypes: Iterable<string>, retired = false): Template {
  const where = `template ${tid}`;
  if (typeof text !== "string") throw new LibraryError(`${where}: text must be a string`);
  const raw = bstr(encoder.encode(text));
  if (!raw) throw new LibraryError(`${where}: empty text`);
  if (raw.length > MAX_TEMPLATE_SIZE) {
    throw new LibraryError(`${where}: text of ${raw.length} bytes, at most ${MAX_TEMPLATE_SIZE}`);
  }
  const known = new Set([...knownTypes, ...GENERIC_TYPES]);
  const parts: Part[] = [];
  let literal = "";
  let i = 0;
  while (i < raw.length) {
    const c = raw[i];
    if (c === "{") {
      if (raw[i + 1] === "{") {
        literal += c;
        i += 2;
        continue;
      }
      const close = raw.indexOf("}", i);
      if (close < 0) throw new LibraryError(`${where}: unclosed slot at byte ${i}`);
      const spec = decoder.decode(Uint8Array.from(raw.slice(i + 1, close), (ch) => ch.charCodeAt(0)));
      const slot = parseSlot(spec, known, where);
      const last = parts[parts.length - 1];
      if (literal) {
        parts.push(literal);
        literal = "";
      } else if (last !== undefined && typeof last !== "string" && last.kind === "text") {
        throw new LibraryError(
          `${where}: a ${last.kind} slot must be followed by literal text ` +
            `(it ends where the next literal starts), not by {${spec}}`,
        );
      }
      parts.push(slot);
      i = close + 1;
    } else if (c === "}") {
      if (raw[i + 1] !== "}") throw new LibraryError(`${where}: single '}' at byte ${i} (write '}}')`);
      literal += c;
      i += 2;
    } else {
      literal += c;
      i += 1;
    }
  }
  if (literal) parts.push(literal);
  if (parts.filter((p) => typeof p !== "string").length > MAX_SLOTS) {
    throw new LibraryError(`${where}: more than ${MAX_SLOTS} slots`);
  }
  return { id: tid, parts, text, retired };
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function pyList(keys: string[]): string {
  return "[" + keys.sort().map((k) => `'${k}'`).join(", ") + "]";
}

/** Validate a parsed library table; return its name and templates. */
export function readLibrary(
  data: Record<string, unknown>,
  knownTypes: Iterable<string>,
  source: string,
): [string, Template[]] {
  const known = [...knownTypes];
  const head = data["library"];
  if (!isTable(head) || head["format"] !== FORMAT) {
    throw new LibraryError(`${source}: expected a [library] table with format = ${FORMAT}`);
  }
  const unknown = Object.keys(data).filter((k) => k !== "library" && k !== "template");
  if (unknown.length) throw new LibraryError(`${source}: unknown top-level keys ${pyList(unknown)}`);
  const entries = data["template"] ?? [];
  if (!Array.isArray(entries) || entries.length > MAX_TEMPLATES) {
    throw new LibraryError(`${source}: expected at most ${MAX_TEMPLATES} [[template]] tables`);
  }
  const templates: Template[] = [];
  const seen = new Set<number>();
  entries.forEach((entry: unknown, n: number) => {
    if (!isTable(entry)) throw new LibraryError(`${source}: template #${n} is not a table`);
    const tid = entry["id"];
    if (typeof tid !== "number" || !Number.isInteger(tid) || tid < 0 || tid > MAX_ID) {
      throw new LibraryError(`${source}: template #${n}: id must be an integer 0-${MAX_ID}`);
    }
    if (seen.has(tid)) throw new LibraryError(`${source}: template ${tid}: duplicate id`);
    seen.add(tid);
    const extra = Object.keys(entry).filter((k) => !["id", "text", "hits", "saved", "retired"].includes(k));
    if (extra.length) throw new LibraryError(`${source}: template ${tid}: unknown keys ${pyList(extra)}`);
    const retired = entry["retired"] ?? false;
    if (typeof retired !== "boolean") {
      throw new LibraryError(`${source}: template ${tid}: retired must be true or false`);
    }
    try {
      templates.push(parseTemplate(tid, entry["text"], known, retired));
    } catch (err) {
      if (err instanceof LibraryError) throw new LibraryError(`${source}: ${err.message}`);
      throw err;
    }
  });
  const name = head["name"];
  const stem = source.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "");
  return [name === undefined ? stem : String(name), templates];
}

/** SHA-256 over every template (id and parts) and the slot types' definitions. */
export function contentHash(templates: Iterable<Template>, types: ReadonlyMap<string, string>): string {
  let blob = "";
  const sorted = [...templates].sort((a, b) => a.id - b.id);
  for (const t of sorted) {
    blob += `${t.id}\0`;
    for (const p of t.parts) blob += (typeof p === "string" ? "L" + p : "S" + bstr(encoder.encode(slotSpec(p)))) + "\0";
  }
  const names = [...types.keys()].sort(byCodePoint);
  for (const name of names) blob += bstr(encoder.encode(`T${name}=${types.get(name)}\0`));
  return sha256Hex(Uint8Array.from(blob, (c) => c.charCodeAt(0)));
}

/** Python's string order (by code point). */
export function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
