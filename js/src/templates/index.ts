/**
 * `binary_semantic`: templates with typed slots, method id 0x00 (Python:
 * `plugins/binary_semantic/__init__.py`). Layers: the built-in library (ids
 * 16000 and up, `builtin = false` leaves it out), the libraries a profile
 * names, and user-defined patterns as extra slot types. The remainder codec
 * (BRIO or zstd in Python's `auto`) is any {@link Codec}: the WebAssembly
 * codecs plug in here; `null` is `remainder_codec = "none"`.
 */

import type { Codec, Fingerprint } from "../codec.js";
import { BUILTIN_TEMPLATES } from "./builtin.js";
import { LibraryError, contentHash, parseTemplate } from "./library.js";
import type { Template } from "./library.js";
import { DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_RATIO, RATIO_SLACK, TemplateSet } from "./matcher.js";
import { builtinNormalizers } from "./normalizers.js";
import type { Normalizer } from "./normalizers.js";
import { makePatterns } from "./patterns.js";

export { LibraryError, parseTemplate, readLibrary, contentHash } from "./library.js";
export type { Template, Slot, Part } from "./library.js";
export { PatternError, Pattern, makePatterns } from "./patterns.js";
export { builtinNormalizers } from "./normalizers.js";
export type { Normalizer } from "./normalizers.js";
export { TemplateSet, DEFAULT_MAX_RATIO, RATIO_SLACK, DEFAULT_MAX_MESSAGE_SIZE } from "./matcher.js";

export const NAME = "binary_semantic";
export const METHOD_ID = 0x00;

/** A library layer: where it came from (for errors) and its templates. */
export interface Layer {
  readonly source: string;
  readonly templates: readonly Template[];
}

export interface TemplateCodecOptions {
  /** Load the built-in library (default true). */
  builtin?: boolean;
  /** Library layers after the built-in one (already read with `readLibrary`). */
  libraries?: readonly Layer[];
  /** User-defined slot types, `{ order: "ORD-[0-9A-Z]{8}" }`. */
  patterns?: Readonly<Record<string, string>>;
  /** Also match templates that cover only part of a message (default true). */
  partial?: boolean;
  /** The codec that packs remainders and long word/text values; null: none. */
  remainder?: Codec | null;
  /** Output-to-payload ratio cap (default 8); in the fingerprint. */
  maxRatio?: number;
  /** Longer messages are declined at once (default 64 KiB). Encoding only. */
  maxMessageSize?: number;
}

/** The slot types a template codec knows: the built-in ones, then the patterns. */
export function slotTypes(patterns: Readonly<Record<string, string>> = {}): Map<string, Normalizer> {
  const types = builtinNormalizers();
  for (const [name, pattern] of makePatterns(patterns)) {
    if (types.has(name)) throw new LibraryError(`pattern '${name}' shadows the slot type '${name}'`);
    types.set(name, pattern);
  }
  return types;
}

/** The built-in library, parsed against `types`. */
export function builtinLibrary(types: Iterable<string>): Layer {
  const known = [...types];
  return {
    source: "built-in library",
    templates: BUILTIN_TEMPLATES.map(([id, text, retired]) => parseTemplate(id, text, known, retired ?? false)),
  };
}

export class TemplateCodec implements Codec {
  readonly name = NAME;
  readonly methodId = METHOD_ID;
  readonly cost = 5;
  readonly templates: TemplateSet;
  private readonly fp: Fingerprint;

  constructor(options: TemplateCodecOptions = {}) {
    const types = slotTypes(options.patterns);
    const layers: Layer[] = [];
    if (options.builtin ?? true) layers.push(builtinLibrary(types.keys()));
    layers.push(...(options.libraries ?? []));
    const seen = new Map<number, string>();
    const all: Template[] = [];
    for (const layer of layers) {
      for (const t of layer.templates) {
        const other = seen.get(t.id);
        if (other !== undefined) {
          throw new LibraryError(
            `template ${t.id} is defined in both ${other} and ${layer.source}; ids must be unique across libraries`,
          );
        }
        seen.set(t.id, layer.source);
        all.push(t);
      }
    }
    const remainder = options.remainder ?? null;
    const partial = options.partial ?? true;
    const maxRatio = options.maxRatio ?? DEFAULT_MAX_RATIO;
    this.templates = new TemplateSet(
      all,
      types,
      remainder,
      partial,
      maxRatio,
      options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    );
    const definitions = new Map([...types].map(([name, n]) => [name, n.definition]));
    this.fp = {
      format: 1,
      library: contentHash(all, definitions),
      remainder: remainder !== null ? remainder.name : "none",
      partial: partial ? 1 : 0,
      max_ratio: maxRatio,
      ratio_slack: RATIO_SLACK,
    };
  }

  encode(message: Uint8Array): Uint8Array | null {
    return this.templates.encode(message);
  }

  decode(payload: Uint8Array, limit: number): Uint8Array {
    return this.templates.decode(payload, limit);
  }

  fingerprint(): Fingerprint {
    return { ...this.fp };
  }
}

