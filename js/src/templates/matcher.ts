/**
 * Finding the template that fits a message, and the payload format (Python:
 * `plugins/binary_semantic/matcher.py`; the same candidates, estimates,
 * payloads and errors).
 *
 *     varint(template_id << 3 | packed << 2 | mode)
 *     slot values, in order:
 *         normalizer slots   the normalizer's packed form
 *         word, text         varint(length << 1 | packed) || bytes; packed = 1:
 *                            the bytes are the remainder codec's payload
 *         enum               varint(index); an open-ended enum's other values:
 *                            varint(number of values) || varint(length) || bytes
 *     remainder (mode != 0), to the end of the payload:
 *         mode 1 (template, then text)    the text after
 *         mode 2 (text, then template)    the text before
 *         mode 3 (text, template, text)   varint(len(before)) || before || after
 *         with packed = 1 the remainder is the payload of the remainder codec
 *
 * A payload of `n` bytes for template `t` decodes to at most
 * `fixed(t) + max_ratio * n + 64` bytes; the encoder declines matches beyond
 * it and the decoder refuses such payloads as it goes.
 *
 * Matching works on the message as a byte string (`bytes.ts`). One
 * difference from Python, in tie-breaking only: when two candidates have the
 * same estimated cost, Python keeps the first in the order of a set of byte
 * strings (which depends on the process's hash seed); here the first in the
 * order of the message's tokens. Both payloads decode everywhere.
 */

import type { Codec } from "../codec.js";
import { CorruptPayload, OutputLimitExceeded, TrailingData } from "../errors.js";
import { ByteWriter, readVarint, varintSize } from "../varint.js";
import { bstr, bytesOf, isSpace } from "./bytes.js";
import type { Template, Slot } from "./library.js";
import type { Normalizer } from "./normalizers.js";

export const DEFAULT_MAX_RATIO = 8;
export const RATIO_SLACK = 64;
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024;
const PACK_TEXT_MIN = 24;
const CODED_EIGHTHS = 3;

const LITERAL = -1;
const WORD = 0;
const TEXT = 1;
const ENUM = 2;
const NORM = 3;
const FULL = 0;
const PREFIX = 1;
const SUFFIX = 2;
const INFIX = 3;

interface Enum {
  values: readonly string[];
  valueBytes: readonly Uint8Array[];
  openEnded: boolean;
  index: Map<string, number>;
  longestFirst: readonly string[];
}

interface CompiledPart {
  kind: number;
  literal: string; // LITERAL
  literalBytes: Uint8Array; // LITERAL
  normalizer: Normalizer | null; // NORM
  enumData: Enum | null; // ENUM
  next: string | null; // the literal after a slot
}

/** A slot value while matching: a packed form, or a span of the message. */
type Value = Uint8Array | [number, number];

interface Plan {
  cost: number;
  c: Compiled;
  mode: number;
  start: number;
  end: number;
  values: Value[];
}

function isSlot(p: string | Slot): p is Slot {
  return typeof p !== "string";
}

class Compiled {
  readonly id: number;
  readonly parts: CompiledPart[];
  readonly fixed: number;
  readonly leading: string | null;
  anchor: string | null = null;
  readonly tokens: Set<string>;
  readonly probe: string;

  constructor(readonly template: Template, normalizers: ReadonlyMap<string, Normalizer>) {
    this.id = template.id;
    const raw = template.parts;
    this.parts = raw.map((p, i) => {
      const part: CompiledPart = {
        kind: LITERAL,
        literal: "",
        literalBytes: new Uint8Array(0),
        normalizer: null,
        enumData: null,
        next: null,
      };
      if (!isSlot(p)) {
        part.literal = p;
        part.literalBytes = bytesOf(p);
        return part;
      }
      const following = raw[i + 1];
      part.next = following !== undefined && !isSlot(following) ? following : null;
      if (p.kind === "word") part.kind = WORD;
      else if (p.kind === "text") part.kind = TEXT;
      else if (p.kind === "enum") {
        part.kind = ENUM;
        part.enumData = {
          values: p.values,
          valueBytes: p.values.map(bytesOf),
          openEnded: p.openEnded,
          index: new Map(p.values.map((v, k) => [v, k])),
          // Python's sorted(..., key=len, reverse=True) is stable: ties keep their order.
          longestFirst: p.values.map((v, k) => [v, k] as const).sort((a, b) => b[0].length - a[0].length || a[1] - b[1]).map((x) => x[0]),
        };
      } else {
        part.kind = NORM;
        part.normalizer = normalizers.get(p.kind) ?? null;
        if (part.normalizer === null) throw new Error(`template ${template.id}: no slot type ${p.kind}`);
      }
      return part;
    });
    let fixed = 0;
    for (const p of raw) {
      if (!isSlot(p)) fixed += p.length;
      else if (p.kind === "enum") fixed += Math.max(0, ...p.values.map((v) => v.length));
    }
    this.fixed = fixed;
    this.leading = !isSlot(raw[0]) ? raw[0] : null;
    this.tokens = new Set(this.literalTokens());
    let probe = "";
    for (const p of raw) if (!isSlot(p) && p.length > probe.length) probe = p;
    this.probe = probe;
  }

  /** Tokens of the template that are wholly literal (candidate anchors). */
  literalTokens(): string[] {
    const tokens: string[] = [];
    let current = "";
    let touched = false;
    for (const p of this.template.parts) {
      if (isSlot(p)) {
        touched = true;
        continue;
      }
      for (let i = 0; i < p.length; i++) {
        if (isSpace(p.charCodeAt(i))) {
          if (current && !touched) tokens.push(current);
          current = "";
          touched = false;
        } else current += p[i];
      }
    }
    if (current && !touched) tokens.push(current);
    return tokens;
  }

  /** Match from `pos`: the end and the slot values, or null. */
  match(msg: string, pos: number): [number, Value[]] | null {
    const out: Value[] = [];
    const end = msg.length;
    for (const part of this.parts) {
      const kind = part.kind;
      if (kind === LITERAL) {
        if (!msg.startsWith(part.literal, pos)) return null;
        pos += part.literal.length;
        continue;
      }
      if (kind === NORM) {
        const n = part.normalizer!;
        const stop = n.match(msg, pos);
        if (stop < 0) return null;
        const packed = n.pack(msg.slice(pos, stop));
        if (packed === null) return null;
        out.push(packed);
        pos = stop;
        continue;
      }
      if (kind === ENUM) {
        const data = part.enumData!;
        let found = false;
        for (const value of data.longestFirst) {
          if (msg.startsWith(value, pos)) {
            out.push(new ByteWriter(3).varint(data.index.get(value)!).finish());
            pos += value.length;
            found = true;
            break;
          }
        }
        if (!found) {
          if (!data.openEnded) return null;
          const stop = wordStop(msg, pos, part.next);
          if (stop <= pos) return null;
          const w = new ByteWriter(stop - pos + 6).varint(data.values.length).varint(stop - pos);
          for (let k = pos; k < stop; k++) w.byte(msg.charCodeAt(k));
          out.push(w.finish());
          pos = stop;
        }
        continue;
      }
      let stop: number;
      if (kind === WORD) {
        stop = wordStop(msg, pos, part.next);
        if (stop <= pos) return null;
      } else if (part.next !== null) {
        stop = msg.indexOf(part.next, pos);
        if (stop < 0) return null;
      } else stop = end;
      out.push([pos, stop]);
      pos = stop;
    }
    return [pos, out];
  }
}

/**
 * Where a word starting at `pos` ends: at the first occurrence of the next
 * literal, which must lie within the run of non-whitespace there, or at the
 * run's end without one; -1 if it does not occur in time.
 */
function wordStop(msg: string, pos: number, next: string | null): number {
  let run = pos;
  while (run < msg.length && !isSpace(msg.charCodeAt(run))) run++;
  if (next === null) return run;
  const i = msg.substring(pos, run + next.length).indexOf(next);
  return i < 0 ? -1 : pos + i;
}

function commonPrefix(items: string[]): string {
  let first = items[0];
  let last = items[0];
  for (const s of items) {
    if (s < first) first = s;
    if (s > last) last = s;
  }
  let n = 0;
  while (n < first.length && first[n] === last[n]) n++;
  return first.slice(0, n);
}

function split(msg: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let i = 0;
  while (i < msg.length) {
    while (i < msg.length && isSpace(msg.charCodeAt(i))) i++;
    const start = i;
    while (i < msg.length && !isSpace(msg.charCodeAt(i))) i++;
    if (i > start) {
      const token = msg.slice(start, i);
      if (!seen.has(token)) {
        seen.add(token);
        out.push(token);
      }
    }
  }
  return out;
}

interface SlotGroup {
  test: Normalizer | null;
  after: string;
  members: Compiled[];
  probe: string;
}

/** A compiled library: match, encode, decode. */
export class TemplateSet {
  readonly maxRatio: number;
  readonly maxMessageSize: number;
  readonly #byId = new Map<number, Compiled>();
  readonly #index = new Map<string, Compiled[]>();
  readonly #anchorless: Compiled[] = [];
  readonly #byFirstByte = new Map<number, Compiled[]>();
  readonly #byFirstSlot = new Map<string, SlotGroup>();

  constructor(
    templates: readonly Template[],
    normalizers: ReadonlyMap<string, Normalizer>,
    private readonly remainder: Codec | null = null,
    private readonly partial = true,
    maxRatio = DEFAULT_MAX_RATIO,
    maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE,
  ) {
    if (maxRatio < 1) throw new RangeError(`max_ratio must be at least 1, got ${maxRatio}`);
    this.maxRatio = maxRatio;
    this.maxMessageSize = maxMessageSize;
    for (const t of templates) this.#byId.set(t.id, new Compiled(t, normalizers));
    const frequency = new Map<string, number>();
    const tokens = new Map<number, string[]>();
    for (const [tid, c] of this.#byId) {
      const toks = c.literalTokens();
      tokens.set(tid, toks);
      for (const t of new Set(toks)) frequency.set(t, (frequency.get(t) ?? 0) + 1);
    }
    for (const [tid, c] of this.#byId) {
      if (c.template.retired) continue; // decoded, never chosen
      const toks = tokens.get(tid)!;
      if (toks.length) {
        // The rarest token; ties go to the longer, then the smaller, token.
        let best = toks[0];
        for (const t of toks) {
          const a = frequency.get(t)!;
          const b = frequency.get(best)!;
          if (a < b || (a === b && (t.length > best.length || (t.length === best.length && t < best)))) best = t;
        }
        c.anchor = best;
        let list = this.#index.get(best);
        if (list === undefined) this.#index.set(best, (list = []));
        list.push(c);
      } else {
        this.#anchorless.push(c);
        const first = c.template.parts[0];
        if (!isSlot(first)) {
          const b = first.charCodeAt(0);
          let list = this.#byFirstByte.get(b);
          if (list === undefined) this.#byFirstByte.set(b, (list = []));
          list.push(c);
        } else {
          const next = c.template.parts[1];
          const after = next !== undefined && !isSlot(next) ? next : "";
          const key = first.kind + "\0" + after;
          let group = this.#byFirstSlot.get(key);
          if (group === undefined) {
            group = { test: normalizers.get(first.kind) ?? null, after, members: [], probe: "" };
            this.#byFirstSlot.set(key, group);
          }
          group.members.push(c);
        }
      }
    }
    for (const group of this.#byFirstSlot.values()) group.probe = commonPrefix(group.members.map((c) => c.probe));
  }

  get size(): number {
    return this.#byId.size;
  }

  candidates(msg: string): Compiled[] {
    const found: Compiled[] = [];
    if (msg && this.#anchorless.length) {
      for (const c of this.#byFirstByte.get(msg.charCodeAt(0)) ?? []) {
        if (msg.includes(c.probe)) found.push(c);
      }
      for (const group of this.#byFirstSlot.values()) {
        if (!msg.includes(group.probe)) continue;
        if (group.test !== null) {
          const end = group.test.match(msg, 0);
          if (end < 0 || !msg.startsWith(group.after, end)) continue;
        }
        for (const c of group.members) if (msg.includes(c.probe)) found.push(c);
      }
    }
    const tokens = split(msg);
    let tokenSet: Set<string> | null = null;
    for (const token of tokens) {
      const list = this.#index.get(token);
      if (list === undefined) continue;
      tokenSet ??= new Set(tokens);
      for (const c of list) {
        let all = true;
        for (const t of c.tokens) {
          if (!tokenSet.has(t)) {
            all = false;
            break;
          }
        }
        if (all) found.push(c);
      }
    }
    return found;
  }

  // -- encoding ---------------------------------------------------------------

  /** The most a payload of `size` bytes for `c` may decode to. */
  budget(c: Compiled, size: number): number {
    return c.fixed + this.maxRatio * size + RATIO_SLACK;
  }

  encode(message: Uint8Array): Uint8Array | null {
    if (message.length > this.maxMessageSize) return null;
    const msg = bstr(message);
    let best: Plan | null = null;
    // Equally cheap candidates go to the lower template id, as in Python
    // (matcher.py `encode`), whatever order the candidates come in.
    for (const c of this.candidates(msg)) {
      const plan = this.#plan(c, msg);
      if (plan !== null && (best === null || plan.cost < best.cost || (plan.cost === best.cost && c.id < best.c.id))) {
        best = plan;
      }
    }
    if (best === null) return null;
    const payload = this.#build(best, message);
    return message.length > this.budget(best.c, payload.length) ? null : payload;
  }

  #plan(c: Compiled, msg: string): Plan | null {
    let m = c.match(msg, 0);
    if (m !== null && m[0] === msg.length) return this.#estimate(c, FULL, 0, msg.length, m[1], 0);
    if (!this.partial) return null;
    let best: Plan | null = null;
    if (m !== null) best = this.#estimate(c, PREFIX, 0, m[0], m[1], msg.length - m[0]);
    if (c.leading !== null) {
      const start = msg.indexOf(c.leading, 1);
      if (start > 0) {
        m = c.match(msg, start);
        if (m !== null) {
          const [end, values] = m;
          let plan: Plan;
          if (end === msg.length) plan = this.#estimate(c, SUFFIX, start, end, values, start);
          else {
            const rest = varintSize(start) + start + msg.length - end;
            plan = this.#estimate(c, INFIX, start, end, values, rest);
          }
          if (best === null || plan.cost < best.cost) best = plan;
        }
      }
    }
    return best;
  }

  #estimate(c: Compiled, mode: number, start: number, end: number, values: Value[], rest: number): Plan {
    const coded = this.remainder !== null ? CODED_EIGHTHS : 8;
    let cost = 8 * varintSize(c.id * 8 + mode);
    for (const v of values) {
      if (v instanceof Uint8Array) cost += 8 * v.length;
      else {
        const n = v[1] - v[0];
        cost += 8 * varintSize(n * 2) + (n >= PACK_TEXT_MIN ? coded : 8) * n;
      }
    }
    cost += (rest > 8 ? coded : 8) * rest;
    return { cost, c, mode, start, end, values };
  }

  #build(plan: Plan, message: Uint8Array): Uint8Array {
    const { c, mode, start, end } = plan;
    const values = new ByteWriter(message.length + 16);
    for (const v of plan.values) {
      if (v instanceof Uint8Array) values.bytes(v);
      else this.#text(values, message.subarray(v[0], v[1]));
    }
    const body = values.finish();
    if (mode === FULL) return new ByteWriter(body.length + 4).varint(c.id * 8 + FULL).bytes(body).finish();
    let rest: Uint8Array;
    if (mode === PREFIX) rest = message.subarray(end);
    else if (mode === SUFFIX) rest = message.subarray(0, start);
    else {
      rest = new ByteWriter(message.length - end + start + 4)
        .varint(start)
        .bytes(message.subarray(0, start))
        .bytes(message.subarray(end))
        .finish();
    }
    let packed = 0;
    if (this.remainder !== null && rest.length > 8) {
      const coded = this.remainder.encode(rest);
      if (coded !== null && coded.length < rest.length) {
        rest = coded;
        packed = 1;
      }
    }
    return new ByteWriter(body.length + rest.length + 4)
      .varint(c.id * 8 + packed * 4 + mode)
      .bytes(body)
      .bytes(rest)
      .finish();
  }

  /** A word or text value: `varint(len << 1 | packed) || bytes`. */
  #text(w: ByteWriter, value: Uint8Array): void {
    if (this.remainder !== null && value.length >= PACK_TEXT_MIN) {
      const coded = this.remainder.encode(value);
      if (coded !== null && coded.length < value.length) {
        w.varint(coded.length * 2 + 1).bytes(coded);
        return;
      }
    }
    w.varint(value.length * 2).bytes(value);
  }

  // -- decoding ---------------------------------------------------------------

  decode(payload: Uint8Array, limit: number): Uint8Array {
    let [head, pos] = readVarint(payload, 0, 10, "template id");
    const tid = head >> 3n;
    const packed = (head >> 2n) & 1n;
    const mode = Number(head & 3n);
    const c = tid <= BigInt(Number.MAX_SAFE_INTEGER) ? this.#byId.get(Number(tid)) : undefined;
    if (c === undefined) throw new CorruptPayload(`unknown template id ${tid} (this library has ${this.size})`);
    const budget = this.budget(c, payload.length);
    const cap = Math.min(limit, budget); // every part is checked against it as it comes
    let size = 0;
    const values: Uint8Array[] = [];
    for (const part of c.parts) {
      let value: Uint8Array;
      if (part.kind === LITERAL) value = part.literalBytes;
      else if (part.kind === NORM) [value, pos] = part.normalizer!.unpack(payload, pos);
      else if (part.kind === ENUM) {
        const data = part.enumData!;
        let index: bigint;
        [index, pos] = readVarint(payload, pos, 10, "enum index");
        const count = BigInt(data.values.length);
        if (index < count) value = data.valueBytes[Number(index)];
        else if (index === count && data.openEnded) {
          let n: bigint;
          [n, pos] = readVarint(payload, pos, 10, "enum value length");
          if (BigInt(pos) + n > BigInt(payload.length)) {
            throw new CorruptPayload(`enum value of ${n} bytes runs past the payload`);
          }
          value = payload.subarray(pos, pos + Number(n));
          pos += Number(n);
        } else throw new CorruptPayload(`enum index ${index} out of ${data.values.length} values`);
      } else {
        let h: bigint;
        [h, pos] = readVarint(payload, pos, 10, "slot length");
        const n = h >> 1n;
        if (BigInt(pos) + n > BigInt(payload.length)) {
          throw new CorruptPayload(`slot of ${n} bytes runs past the payload`);
        }
        value = payload.subarray(pos, pos + Number(n));
        pos += Number(n);
        if (h & 1n) {
          if (this.remainder === null) throw new CorruptPayload("packed slot, but no remainder codec is set");
          value = this.#unpack(this.remainder, value, cap - size, limit, budget, payload);
        }
      }
      size += value.length;
      if (size > cap) throw this.#beyond(limit, budget, payload);
      values.push(value);
    }
    if (mode === FULL) {
      if (packed) throw new CorruptPayload("a whole-message match carries no remainder");
      if (pos !== payload.length) throw new TrailingData(`${payload.length - pos} bytes follow the last slot`);
      return join(values, size);
    }
    let rest = payload.subarray(pos);
    if (packed) {
      if (this.remainder === null) throw new CorruptPayload("packed remainder, but no remainder codec is set");
      let room = cap - size;
      if (mode === INFIX) room += varintSize(room); // the remainder also holds varint(len(before))
      rest = this.#unpack(this.remainder, rest, room, limit, budget, payload);
    }
    let before: Uint8Array;
    let after: Uint8Array;
    if (mode === INFIX) {
      const [n, at] = readVarint(rest, 0, 10, "remainder length");
      if (BigInt(at) + n > BigInt(rest.length)) throw new CorruptPayload("remainder length runs past the payload");
      before = rest.subarray(at, at + Number(n));
      after = rest.subarray(at + Number(n));
    } else if (mode === PREFIX) {
      before = new Uint8Array(0);
      after = rest;
    } else {
      before = rest;
      after = new Uint8Array(0);
    }
    if (size + before.length + after.length > cap) throw this.#beyond(limit, budget, payload);
    return join([before, ...values, after], size + before.length + after.length);
  }

  #unpack(codec: Codec, data: Uint8Array, room: number, limit: number, budget: number, payload: Uint8Array): Uint8Array {
    try {
      return codec.decode(data, room);
    } catch (err) {
      if (err instanceof OutputLimitExceeded) throw this.#beyond(limit, budget, payload);
      throw err;
    }
  }

  #beyond(limit: number, budget: number, payload: Uint8Array): CorruptPayload | OutputLimitExceeded {
    if (limit <= budget) return new OutputLimitExceeded(limit);
    const n = payload.length;
    return new CorruptPayload(
      `template payload of ${n} bytes decodes to more than its budget of ${budget} bytes ` +
        `(template text + max_ratio x ${n} + ${RATIO_SLACK}, max_ratio = ${this.maxRatio}), ` +
        "which no encoder with this setting produces",
    );
  }
}

function join(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

