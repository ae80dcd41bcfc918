/**
 * `auracodec.toml`: the keys of docs/config.md, checked as Python checks them
 * (`core/config.py`, `core/settings.py`, each built-in codec's settings), with
 * the same `ConfigError` messages: "auracodec.toml: codecs.zstd.level:
 * expected an integer from 1 to 22, got 99 (int)".
 *
 * TOML integers are read as bigints (so `1` and `1.0` stay an int and a
 * float, as in Python) and turned into numbers once checked.
 */

import { parse } from "./toml.js";
import { ConfigError, pyRepr } from "./errors.js";

export const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
export const MAX_CONFIG_FILE_SIZE = 1024 * 1024;
export const MAX_NESTING = 8;
const NAME_RE = /^[a-z][a-z0-9_]{0,31}$/;
const PLUGIN_NAME_RE = /^[A-Za-z0-9_.-]+$/;

type Raw = unknown;
type Table = Record<string, Raw>;

export function isTable(v: Raw): v is Table {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Date) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype;
}

/** Python's `f"{v!r} ({type(v).__name__})"` for TOML values. */
function describe(v: Raw): string {
  return `${repr(v)} (${pyType(v)})`;
}

function pyType(v: Raw): string {
  if (typeof v === "bigint") return "int";
  if (typeof v === "number") return "float";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "str";
  if (Array.isArray(v)) return "list";
  if (isTable(v)) return "dict";
  return "datetime";
}

function floatRepr(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return v.toFixed(1);
  return String(v);
}

export function repr(v: Raw): string {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return floatRepr(v);
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "string") return pyRepr(v);
  if (Array.isArray(v)) return "[" + v.map(repr).join(", ") + "]";
  if (isTable(v)) return "{" + Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${repr(x)}`).join(", ") + "}";
  return String(v);
}

/** A value that does not fit its setting; `key` is relative to the table. */
export class SettingError extends Error {
  constructor(readonly key: string, message: string) {
    super(message);
  }
}

/** One key of a configuration table (Python's `Setting`). */
export interface Setting {
  readonly name: string;
  readonly default: unknown;
  readonly kind?: "value" | "path" | "paths";
  /** The checked value, or a thrown Error whose message is Python's. */
  check(v: Raw): unknown;
}

const S = {
  integer(name: string, dflt: number, lo: number, hi: number): Setting {
    const expected = `an integer from ${lo} to ${hi}`;
    return {
      name,
      default: dflt,
      check(v) {
        if (typeof v !== "bigint" || v < BigInt(lo) || v > BigInt(hi)) throw new Error(`expected ${expected}, got ${describe(v)}`);
        return Number(v);
      },
    };
  },
  number(name: string, dflt: number, lo: number, hi: number, loText: string, hiText: string): Setting {
    const expected = `a number from ${loText} to ${hiText}`;
    return {
      name,
      default: dflt,
      check(v) {
        const n = typeof v === "bigint" ? Number(v) : v;
        if (typeof n !== "number" || !Number.isFinite(n) || n < lo || n > hi) throw new Error(`expected ${expected}, got ${describe(v)}`);
        return n;
      },
    };
  },
  boolean(name: string, dflt: boolean): Setting {
    return {
      name,
      default: dflt,
      check(v) {
        if (typeof v !== "boolean") throw new Error(`expected true or false, got ${describe(v)}`);
        return v;
      },
    };
  },
  choice(name: string, dflt: string, choices: string[]): Setting {
    const expected = "one of " + choices.map(pyRepr).join(", ");
    return {
      name,
      default: dflt,
      check(v) {
        if (typeof v !== "string" || !choices.includes(v)) throw new Error(`expected ${expected}, got ${describe(v)}`);
        return v;
      },
    };
  },
  text(name: string, dflt: string | null): Setting {
    return {
      name,
      default: dflt,
      check(v) {
        if (typeof v !== "string" || v.length > 4096) throw new Error(`expected a string, got ${describe(v)}`);
        return v;
      },
    };
  },
  path(name: string): Setting {
    return {
      name,
      default: null,
      kind: "path",
      check(v) {
        if (typeof v !== "string" || !v || v.includes("\0")) throw new Error(`expected a file path (a string), got ${describe(v)}`);
        return v;
      },
    };
  },
  paths(name: string): Setting {
    return {
      name,
      default: [],
      kind: "paths",
      check(v) {
        if (!Array.isArray(v) || !v.every((p) => typeof p === "string" && p)) throw new Error(`expected a list of file paths, got ${describe(v)}`);
        return [...v];
      },
    };
  },
  custom(name: string, dflt: unknown, check: (v: Raw) => unknown): Setting {
    return { name, default: dflt, check };
  },
};

/** Validate `table` against `settings`: every key with its value (defaults for absent ones). */
export function checkSettings(table: Table, settings: readonly Setting[]): Record<string, unknown> {
  const known = new Map(settings.map((s) => [s.name, s]));
  for (const key of Object.keys(table)) {
    if (!known.has(key)) {
      const choices = [...known.keys()].sort().join(", ") || "none";
      throw new SettingError(key, `unknown key (known keys: ${choices})`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const s of settings) {
    if (Object.hasOwn(table, s.name)) {
      try {
        out[s.name] = s.check(table[s.name]);
      } catch (err) {
        if (err instanceof SettingError) throw err;
        throw new SettingError(s.name, (err as Error).message);
      }
    } else out[s.name] = s.default;
  }
  return out;
}

const namesCheck = (v: Raw): string[] => {
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string" && NAME_RE.test(s))) {
    throw new Error(`expected a list of plugin or codec names, got ${repr(v)}`);
  }
  return [...v];
};

const pluginNamesCheck = (v: Raw): string[] => {
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string" && PLUGIN_NAME_RE.test(s))) {
    throw new Error(`expected a list of plugin (entry-point) names, got ${repr(v)}`);
  }
  return [...v];
};

export const KERNEL_SETTINGS: Record<string, readonly Setting[]> = {
  pipeline: [
    S.integer("max_message_size", DEFAULT_MAX_MESSAGE_SIZE, 1, 2 ** 31),
    S.custom("codecs", null, namesCheck),
  ],
  plugins: [S.custom("disable", [], pluginNamesCheck)],
  session: [S.integer("check_every", 0, 0, 2 ** 20)],
  // read by `auracodec train` only: a profile records it; not checked here
  training: [S.custom("size", null, (v) => v)],
  selector: [
    S.text("policy", "cost"),
    S.boolean("verify", false),
    S.number("egress_usd_per_gb", 0.09, 0, 1e6, "0", "1e+06"),
    S.number("cpu_usd_per_core_hour", 0.045, 0, 1e6, "0", "1e+06"),
    S.path("estimates"),
  ],
};

/** The selector policies' own keys (JavaScript picks the smallest frame; these are only checked). */
const POLICY_SETTINGS: Record<string, readonly Setting[]> = {
  cost: [S.integer("time_budget_us", 50000, 0, 2 ** 40), S.integer("explore_every", 64, 0, 2 ** 30)],
  rules: [
    S.integer("min_size", 16, 0, 2 ** 31),
    S.custom("windows", {}, (v) => v),
    S.custom("order", [], (v) => v),
    S.number("margin", 0.05, 0, 1, "0", "1"),
    S.number("stop_below", 0, 0, 1, "0", "1"),
  ],
  smallest: [],
};

/** The built-in codecs' settings (docs/config.md), by codec name. */
export const CODEC_SETTINGS: Record<string, readonly Setting[]> = {
  binary_semantic: [
    S.boolean("builtin", true),
    S.paths("libraries"),
    S.custom("patterns", {}, (v) => {
      const expected = 'a table of name = "pattern" (see the pattern language in the docs)';
      if (!isTable(v)) throw new Error(`expected ${expected}, got ${repr(v)}`);
      for (const [name, pattern] of Object.entries(v)) {
        if (typeof pattern !== "string") throw new Error(`expected ${expected}, got ${name} = ${repr(pattern)}`);
      }
      return { ...v };
    }),
    S.boolean("partial", true),
    S.text("remainder_codec", "auto"),
    S.integer("max_ratio", 8, 1, 1024),
    S.integer("max_message_size", 65536, 1, 2 ** 31),
    S.integer("min_count", 3, 1, 2 ** 20),
    S.integer("max_templates", 4000, 1, 65536),
  ],
  brio: [
    S.path("model"),
    S.text("model_sha256", null),
    S.integer("model_size", 8 * 1024 * 1024, 65536, 256 * 1024 * 1024),
    S.integer("apm2_bits", 11, 0, 20),
    S.integer("apm_precision", 16, 1, 16),
    S.integer("node_precision", 8, 1, 8),
    S.integer("max_ratio", 32, 1, 1024),
    S.boolean("streams", false),
  ],
  brotli: [
    S.integer("quality", 11, 0, 11),
    S.integer("window", 22, 10, 24),
    S.choice("mode", "text", ["generic", "text", "font"]),
  ],
  identity: [],
  zstd: [
    S.integer("level", 19, 1, 22),
    S.integer("long_level", 12, 1, 22),
    S.integer("long_size", 1024, 0, 2 ** 31),
    S.path("dictionary"),
    S.text("dictionary_sha256", null),
    S.integer("dictionary_size", 112 * 1024, 1024, 8 * 1024 * 1024),
    S.integer("session_history", 0, 0, 2 ** 20),
    S.integer("session_level", 9, 1, 22),
  ],
};

/** A loaded configuration (the parts the client uses). */
export interface Config {
  /** The config file's name, for errors (null: defaults). */
  readonly path: string | null;
  readonly maxMessageSize: number;
  readonly codecs: readonly string[] | null;
  readonly disable: readonly string[];
  readonly policy: string;
  readonly checkEvery: number;
  /** `[codecs.<name>]` tables as written. */
  readonly codecTables: Readonly<Record<string, Table>>;
}

/** Parse and check the kernel's keys of an `auracodec.toml`. */
export function parseConfig(bytes: Uint8Array | null, path: string | null): Config {
  if (bytes === null) return fromTable({}, null);
  if (bytes.length > MAX_CONFIG_FILE_SIZE) {
    throw new ConfigError(`file is ${bytes.length} bytes, more than the ${MAX_CONFIG_FILE_SIZE} a config file may have`, { path });
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ConfigError(`not UTF-8 text: ${(err as Error).message}`, { path });
  }
  let data: Table;
  try {
    data = parse(text) as Table;
  } catch (err) {
    throw new ConfigError(`invalid TOML: ${(err as Error).message.split("\n", 1)[0]}`, { path });
  }
  return fromTable(data, path);
}

function checkNesting(data: Table, path: string | null): void {
  const stack: [string, Raw, number][] = [["", data, 0]];
  while (stack.length) {
    const [key, value, depth] = stack.pop()!;
    if (depth > MAX_NESTING) throw new ConfigError(`nested more deeply than ${MAX_NESTING} levels`, { path, key: key || null });
    if (isTable(value)) for (const [k, v] of Object.entries(value)) stack.push([key ? `${key}.${k}` : k, v, depth + 1]);
    else if (Array.isArray(value)) value.forEach((v, i) => stack.push([`${key}[${i}]`, v, depth + 1]));
  }
}

export function fromTable(data: Table, path: string | null): Config {
  checkNesting(data, path);
  const allowed = ["codecs", "observers", "pipeline", "plugins", "selector", "session", "training"];
  for (const [key, value] of Object.entries(data)) {
    if (!allowed.includes(key)) throw new ConfigError(`unknown table (known: ${allowed.join(", ")})`, { path, key });
    if (!isTable(value)) throw new ConfigError(`expected a table, got ${repr(value)}`, { path, key });
  }
  const kernel = (table: string, only?: readonly string[]): Record<string, unknown> => {
    let raw = { ...((data[table] as Table | undefined) ?? {}) };
    if (only) raw = Object.fromEntries(Object.entries(raw).filter(([k]) => only.includes(k)));
    try {
      return checkSettings(raw, KERNEL_SETTINGS[table]);
    } catch (err) {
      if (err instanceof SettingError) throw new ConfigError(err.message, { path, key: `${table}.${err.key}` });
      throw err;
    }
  };
  const pipeline = kernel("pipeline");
  const plugins = kernel("plugins");
  const session = kernel("session");
  kernel("training"); // checked only: read by `auracodec train`
  const kernelKeys = KERNEL_SETTINGS["selector"].map((s) => s.name);
  const selector = kernel("selector", kernelKeys);
  const policy = selector["policy"] as string;
  if (!NAME_RE.test(policy)) throw new ConfigError(`expected a policy name, got ${pyRepr(policy)}`, { path, key: "selector.policy" });
  const policyKeys = POLICY_SETTINGS[policy];
  if (policyKeys !== undefined) {
    const rest = Object.fromEntries(Object.entries((data["selector"] as Table | undefined) ?? {}).filter(([k]) => !kernelKeys.includes(k)));
    try {
      checkSettings(rest, policyKeys);
    } catch (err) {
      if (err instanceof SettingError) throw new ConfigError(err.message, { path, key: `selector.${err.key}` });
      throw err;
    }
  }
  const codecTables: Record<string, Table> = {};
  for (const group of ["codecs", "observers"]) {
    for (const [name, table] of Object.entries((data[group] as Table | undefined) ?? {})) {
      if (!isTable(table)) throw new ConfigError(`expected a table, got ${repr(table)}`, { path, key: `${group}.${name}` });
      if (group === "codecs") codecTables[name] = table;
    }
  }
  return {
    path,
    maxMessageSize: pipeline["max_message_size"] as number,
    codecs: pipeline["codecs"] as string[] | null,
    disable: plugins["disable"] as string[],
    policy,
    checkEvery: session["check_every"] as number,
    codecTables,
  };
}

/** Validate `[codecs.<name>]` against a built-in codec's settings. */
export function codecSettings(config: Config, name: string): Record<string, unknown> {
  try {
    return checkSettings(config.codecTables[name] ?? {}, CODEC_SETTINGS[name] ?? []);
  } catch (err) {
    if (err instanceof SettingError) throw new ConfigError(err.message, { path: config.path, key: `codecs.${name}.${err.key}` });
    throw err;
  }
}
