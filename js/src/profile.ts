/**
 * Profiles: an `auracodec.toml` and the artifacts it names (a BRIO model, a
 * zstd dictionary, template libraries), loaded from a directory (Node, see
 * `node.ts`), from a URL, or from bytes already in memory. Each artifact is
 * checked against the SHA-256 the profile declares, and the pipeline's
 * `fingerprint` is computed exactly as Python's `Pipeline.fingerprint`
 * (`core/pipeline.py` `_fingerprint` over each codec's `fingerprint()`).
 *
 * The fingerprint covers every codec of the profile, whether or not this
 * build can run it: BRIO, zstd and brotli come with the WebAssembly core
 * (WIP). A profile builds a {@link Pipeline} from the codecs given to it
 * ({@link CodecFactories}); a codec of the profile without a factory is
 * present but declines to encode, and its frames fail to decode with a
 * `CodecFault` that says so.
 */

import type { Codec, Fingerprint } from "./codec.js";
import { Identity, METHOD_IDS } from "./codec.js";
import { codecSettings, isTable, parseConfig } from "./config.js";
import type { Config } from "./config.js";
import { ConfigError, PluginError } from "./errors.js";
import { FRAME_FORMAT } from "./framing.js";
import { Pipeline } from "./pipeline.js";
import { pyJsonDumps } from "./pyjson.js";
import { sha256Hex } from "./sha256.js";
import { LibraryError, TemplateCodec, readLibrary, slotTypes } from "./templates/index.js";
import type { Layer } from "./templates/index.js";
import { PatternError } from "./templates/patterns.js";
import { parse } from "./toml.js";
import { BrioCodec } from "./codecs/brio.js";
import { BrotliCodec } from "./codecs/brotli.js";
import { ZstdCodec } from "./codecs/zstd.js";
import { AuraWasm, loadWasm } from "./wasm.js";
import type { WasmSource } from "./wasm.js";

/** The codecs whose core is the WebAssembly module. */
const WASM_CODECS = ["brio", "zstd", "brotli"];

export interface LoadOptions {
  /** The config file's path in the source (default `auracodec.toml`; null: defaults). */
  configFile?: string | null;
  /**
   * The WebAssembly core for BRIO, zstd and brotli: an instance, where to
   * load it from, or null for none (those codecs then decline to encode and
   * their frames fail with a `CodecFault`). Default: `auracodec.wasm` beside
   * this module, loaded once and shared, when the profile has one of them.
   */
  wasm?: AuraWasm | WasmSource | null;
}

/** The factories of the WebAssembly codecs over one instance of the module. */
export function wasmFactories(wasm: AuraWasm): CodecFactories {
  return {
    brio: (s) => new BrioCodec(wasm, s.artifact, s.values["max_ratio"] as number, s.sha256, s.values["streams"] as boolean),
    zstd: (s) => {
      const v = s.values as Record<string, number>;
      return new ZstdCodec(wasm, {
        dictionary: s.artifact,
        level: v["level"],
        longLevel: v["long_level"],
        longSize: v["long_size"],
        sessionHistory: v["session_history"],
        sessionLevel: v["session_level"],
      });
    },
    brotli: () => new BrotliCodec(wasm),
  };
}

/** The codecs a pipeline has when `[pipeline] codecs` is absent, as Python's registry lists them. */
export const BUILTIN_CODECS = ["binary_semantic", "brio", "brotli", "identity", "zstd"] as const;
const BRIO_FORMAT = 3;
const MAX_DICTIONARY = 8 * 1024 * 1024;
const MAX_LIBRARY = 8 * 1024 * 1024;

/** Where a profile's files come from: `read("zstd.dict")`, paths relative to the config file. */
export interface ArtifactSource {
  /** How errors name a file (a directory path, a URL). */
  where(path: string): string;
  read(path: string): Promise<Uint8Array>;
}

/** Files already in memory, by their path relative to the profile (`"auracodec.toml"`, `"brio.model"`). */
export function memorySource(files: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>): ArtifactSource {
  const map = files instanceof Map ? files : new Map(Object.entries(files));
  return {
    where: (path) => path,
    async read(path) {
      const data = map.get(path) ?? map.get(path.replace(/^\.\//, ""));
      if (data === undefined) throw new Error("No such file in the artifacts given");
      return data;
    },
  };
}

/** Files under a base URL (`fetch`), in browsers and Node. */
export function urlSource(base: string | URL, init?: RequestInit): ArtifactSource {
  const root = new URL(String(base).endsWith("/") ? String(base) : String(base) + "/", globalThis.location?.href);
  return {
    where: (path) => new URL(path, root).href,
    async read(path) {
      const response = await fetch(new URL(path, root), init);
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

/** Build a codec from its checked settings and artifacts (the WebAssembly codecs register here). */
export type CodecFactory = (settings: CodecSettings) => Codec;
export type CodecFactories = Readonly<Record<string, CodecFactory>>;

/** What a codec factory gets. */
export interface CodecSettings {
  readonly name: string;
  /** The `[codecs.<name>]` keys, checked, with defaults. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The artifact (model, dictionary) when the codec has one, checked against its SHA-256. */
  readonly artifact: Uint8Array | null;
  /** The artifact's SHA-256 (hex), as the profile computed it (hashing a model again costs 60 ms). */
  readonly sha256?: string | null;
  /** The profile's other codecs, built before this one (a template codec's remainder). */
  readonly codecs: ReadonlyMap<string, Codec>;
}

/** One codec of a profile, as the fingerprint describes it. */
export interface CodecDescription {
  readonly name: string;
  readonly methodId: number;
  readonly fingerprint: Fingerprint;
  readonly values: Readonly<Record<string, unknown>>;
  readonly artifact: Uint8Array | null;
  /** The artifact's SHA-256 (hex). */
  readonly sha256?: string | null;
  /** Where the artifact came from (for errors). */
  readonly where?: string | null;
}

/** A codec this build cannot run (yet): declines to encode; its frames are a contained fault. */
class Unavailable implements Codec {
  readonly cost = 1000;
  constructor(readonly name: string, readonly methodId: number, private readonly fp: Fingerprint) {}
  encode(): null {
    return null;
  }
  decode(): Uint8Array {
    throw new Error(`the ${this.name} codec is not available (the profile was loaded without the WebAssembly core)`);
  }
  fingerprint(): Fingerprint {
    return this.fp;
  }
}

/** Python's `_fingerprint`: sha256 of the sorted JSON of every codec's fingerprint, 16 hex digits. */
export function pipelineFingerprint(codecs: Iterable<{ name: string; methodId: number; fingerprint: Fingerprint }>): string {
  const described = [...codecs]
    .sort((a, b) => a.methodId - b.methodId)
    .map((c) => ({ id: c.methodId, name: c.name, codec: { ...c.fingerprint } }));
  const blob = pyJsonDumps({ frame: FRAME_FORMAT, codecs: described });
  return sha256Hex(new TextEncoder().encode(blob)).slice(0, 16);
}

export class Profile {
  private constructor(
    readonly config: Config,
    /** The codecs of the profile, by method id order. */
    readonly codecs: readonly CodecDescription[],
    /** Template library layers read from the profile's files. */
    private readonly layers: readonly Layer[],
    /** Same as Python's `Pipeline.from_config(profile).fingerprint`. */
    readonly fingerprint: string,
    /** The WebAssembly core the profile's BRIO, zstd and brotli run on (null: none). */
    readonly wasm: AuraWasm | null = null,
  ) {}

  /** The default profile: every built-in codec, no artifacts (Python's `Pipeline.from_config()`). */
  static defaults(options: Omit<LoadOptions, "configFile"> = {}): Promise<Profile> {
    return Profile.load(memorySource({}), { ...options, configFile: null });
  }

  /**
   * Load a profile from a source: its `auracodec.toml` (or `options.configFile`),
   * then every artifact it names, each checked against its declared SHA-256.
   */
  static async load(source: ArtifactSource, options: LoadOptions = {}): Promise<Profile> {
    const file = options.configFile === undefined ? "auracodec.toml" : options.configFile;
    let config: Config;
    if (file === null) config = parseConfig(null, null);
    else {
      let bytes: Uint8Array;
      try {
        bytes = await source.read(file);
      } catch (err) {
        throw new ConfigError(`cannot read config file: ${(err as Error).message}`, { path: source.where(file) });
      }
      config = parseConfig(bytes, source.where(file));
    }
    const names = codecNames(config);
    const described: CodecDescription[] = [];
    let layers: Layer[] = [];
    const fail = (name: string, key: string, message: string): never => {
      throw new ConfigError(message, { path: config.path, key: `codecs.${name}.${key}` });
    };
    const read = async (name: string, key: string, path: string, cap: number, capMessage: (size: number) => string): Promise<Uint8Array> => {
      let data: Uint8Array;
      try {
        data = await source.read(path);
      } catch (err) {
        return fail(name, key, `cannot read ${source.where(path)}: ${(err as Error).message}`);
      }
      if (data.length > cap) fail(name, key, capMessage(data.length));
      return data;
    };
    for (const name of names) {
      const values = codecSettings(config, name);
      let artifact: Uint8Array | null = null;
      let sha: string | null = null;
      let fp: Fingerprint = {};
      let where: string | null = null;
      if (name === "brio") {
        const path = values["model"] as string | null;
        if (path !== null) {
          const cap = values["model_size"] as number;
          where = source.where(path);
          artifact = await read(name, "model", path, cap, (size) => `${where} is ${size} bytes, more than model_size = ${cap}; raise model_size to load it`);
          if (!artifact.length) {
            fail(name, "model", `${where} is empty: not a BRIO model; train one with \`auracodec train\` (or remove the model key to run BRIO untrained)`);
          }
          sha = checkSha(artifact, values["model_sha256"] as string | null, () => fail(name, "model", `${where}: content does not match model_sha256 (corrupt or replaced)`));
        }
        // streams: absent when off, as in Python (earlier fingerprints stand)
        fp = { format: BRIO_FORMAT, model: sha ?? "neutral", max_ratio: values["max_ratio"] as number, ...(values["streams"] ? { streams: 1 } : {}) };
      } else if (name === "zstd") {
        const path = values["dictionary"] as string | null;
        if (path !== null) {
          where = source.where(path);
          artifact = await read(name, "dictionary", path, MAX_DICTIONARY, (size) => `${where}: ${size} bytes, more than the ${MAX_DICTIONARY} allowed`);
          sha = checkSha(artifact, values["dictionary_sha256"] as string | null, () => fail(name, "dictionary", `${where}: content does not match dictionary_sha256 (corrupt or replaced)`));
        }
        fp = { format: 1, dictionary: sha ?? "", session: values["session_history"] as number };
      } else if (name === "binary_semantic") {
        layers = await readLayers(config, values, source);
      }
      described.push({ name, methodId: METHOD_IDS[name], fingerprint: fp, values, artifact, sha256: sha, where });
    }
    // The template codec's fingerprint needs its remainder codec's name and its library.
    const ts = described.find((d) => d.name === "binary_semantic");
    if (ts !== undefined) {
      const codec = templateCodec(config, ts.values, layers, null, names);
      const fp = { ...codec.fingerprint(), remainder: remainderName(config, ts.values, names) ?? "none" };
      described[described.indexOf(ts)] = { ...ts, fingerprint: fp };
    }
    described.sort((a, b) => a.methodId - b.methodId);
    let wasm: AuraWasm | null = null;
    if (options.wasm !== null && names.some((n) => WASM_CODECS.includes(n))) {
      if (options.wasm instanceof AuraWasm) wasm = options.wasm;
      else {
        try {
          wasm = await loadWasm(options.wasm);
        } catch (err) {
          throw new PluginError(`cannot load the WebAssembly core (${String(options.wasm ?? "auracodec.wasm")}): ${(err as Error).message}`);
        }
      }
    }
    return new Profile(config, described, layers, pipelineFingerprint(described), wasm);
  }

  /** The largest message, as `[pipeline] max_message_size` says. */
  get maxMessageSize(): number {
    return this.config.maxMessageSize;
  }

  /**
   * A pipeline with this profile's codecs: identity and the template codec
   * (with its remainder codec, BRIO else zstd for `remainder_codec =
   * "auto"`) built in, BRIO, zstd and brotli over the profile's WebAssembly
   * core; `factories` replace any of them by name. A codec without a core or
   * factory declines to encode and cannot decode. Each pipeline holds its own
   * copy of the model in the WebAssembly heap: `close()` it when done.
   */
  pipeline(factories: CodecFactories = {}): Pipeline {
    const names = this.codecs.map((c) => c.name);
    const built = new Map<string, Codec>();
    const all: CodecFactories = { ...(this.wasm !== null ? wasmFactories(this.wasm) : {}), ...factories };
    // Remainder codecs first: the template codec composes them.
    const order = [...this.codecs].sort((a, b) => Number(a.name === "binary_semantic") - Number(b.name === "binary_semantic"));
    for (const d of order) {
      let codec: Codec;
      const factory = all[d.name];
      if (factory !== undefined) {
        try {
          codec = factory({ name: d.name, values: d.values, artifact: d.artifact, sha256: d.sha256, codecs: built });
        } catch (err) {
          for (const c of built.values()) c.close?.();
          if (err instanceof PluginError && (d.name === "brio" || d.name === "zstd")) {
            const key = d.name === "brio" ? "model" : "dictionary";
            const where = d.where ?? "";
            const size = d.artifact ? ` (${d.artifact.length} bytes)` : "";
            throw new ConfigError(d.name === "brio" ? `${where}${size}: ${err.message}` : `${where}: ${err.message}`, {
              path: this.config.path,
              key: `codecs.${d.name}.${key}`,
            });
          }
          throw err;
        }
      }
      else if (d.name === "identity") codec = new Identity();
      else if (d.name === "binary_semantic") {
        const remainder = remainderName(this.config, d.values, names);
        codec = templateCodec(this.config, d.values, this.layers, remainder === null ? null : built.get(remainder)!, names);
      } else codec = new Unavailable(d.name, d.methodId, d.fingerprint);
      built.set(d.name, codec);
    }
    return new Pipeline(built.values(), {
      maxMessageSize: this.config.maxMessageSize,
      fingerprint: this.fingerprint,
      checkEvery: this.config.checkEvery,
    });
  }
}

/** The SHA-256 of an artifact, checked against the one its config declares (if any). */
function checkSha(data: Uint8Array, expected: string | null, fail: () => never): string {
  const sha = sha256Hex(data);
  if (expected !== null && sha !== expected.toLowerCase()) fail();
  return sha;
}

function codecNames(config: Config): string[] {
  const available: string[] = BUILTIN_CODECS.filter((n) => n === "identity" || !config.disable.includes(n));
  if (config.disable.includes("identity")) {
    throw new ConfigError("'identity' is the raw fallback of every pipeline and cannot be disabled", { path: config.path, key: "plugins.disable" });
  }
  for (const table of Object.keys(config.codecTables)) {
    if (!available.includes(table)) {
      throw new ConfigError(`no such codec (installed and enabled: ${[...available].sort().join(", ")})`, { path: config.path, key: `codecs.${table}` });
    }
  }
  if (config.codecs === null) return available;
  for (const name of config.codecs) {
    if (!available.includes(name)) {
      throw new ConfigError(`no such codec '${name}' (installed and enabled: ${available.join(", ")})`, { path: config.path, key: "pipeline.codecs" });
    }
  }
  return available.filter((n) => config.codecs!.includes(n) || n === "identity");
}

function remainderName(config: Config, values: Readonly<Record<string, unknown>>, names: readonly string[]): string | null {
  const name = values["remainder_codec"] as string;
  if (name === "none") return null;
  if (name === "auto") return ["brio", "zstd"].find((n) => names.includes(n)) ?? null;
  if (!names.includes(name) || name === "binary_semantic" || name === "identity") {
    const listing = names.filter((n) => n !== "binary_semantic" && n !== "identity").join(", ");
    throw new ConfigError(`expected 'auto', 'none' or a codec of this pipeline (${listing}), got '${name}'`, {
      path: config.path,
      key: "codecs.binary_semantic.remainder_codec",
    });
  }
  return name;
}

function templateCodec(
  config: Config,
  values: Readonly<Record<string, unknown>>,
  layers: readonly Layer[],
  remainder: Codec | null,
  names: readonly string[],
): TemplateCodec {
  void names;
  try {
    return new TemplateCodec({
      builtin: values["builtin"] as boolean,
      libraries: layers,
      patterns: values["patterns"] as Record<string, string>,
      partial: values["partial"] as boolean,
      remainder,
      maxRatio: values["max_ratio"] as number,
      maxMessageSize: values["max_message_size"] as number,
    });
  } catch (err) {
    if (err instanceof PatternError) throw new ConfigError(err.message, { path: config.path, key: "codecs.binary_semantic.patterns" });
    if (err instanceof LibraryError) {
      const key = err.message.startsWith("pattern ") ? "patterns" : "libraries";
      throw new ConfigError(err.message, { path: config.path, key: `codecs.binary_semantic.${key}` });
    }
    throw err;
  }
}

async function readLayers(config: Config, values: Readonly<Record<string, unknown>>, source: ArtifactSource): Promise<Layer[]> {
  const key = "codecs.binary_semantic.libraries";
  let known: string[];
  try {
    known = [...slotTypes(values["patterns"] as Record<string, string>).keys()];
  } catch (err) {
    if (err instanceof PatternError || err instanceof LibraryError) {
      throw new ConfigError(err.message, { path: config.path, key: "codecs.binary_semantic.patterns" });
    }
    throw err;
  }
  const layers: Layer[] = [];
  for (const path of values["libraries"] as string[]) {
    const where = source.where(path);
    let data: Uint8Array;
    try {
      data = await source.read(path);
    } catch (err) {
      throw new ConfigError(`cannot read ${where}: ${(err as Error).message}`, { path: config.path, key });
    }
    if (data.length > MAX_LIBRARY) throw new ConfigError(`${where}: ${data.length} bytes, more than ${MAX_LIBRARY} allowed`, { path: config.path, key });
    let table: unknown;
    try {
      table = parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
    } catch (err) {
      throw new ConfigError(`${where}: not a valid TOML library (${(err as Error).message.split("\n", 1)[0]})`, { path: config.path, key });
    }
    try {
      const [, templates] = readLibrary(plainInts(table) as Record<string, unknown>, known, where);
      layers.push({ source: where, templates });
    } catch (err) {
      if (err instanceof LibraryError) throw new ConfigError(err.message, { path: config.path, key });
      throw err;
    }
  }
  return layers;
}

/** TOML bigints as numbers where they are safe (library ids, formats), else left as they are. */
function plainInts(v: unknown): unknown {
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(plainInts);
  if (isTable(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainInts(x)]));
  return v;
}

