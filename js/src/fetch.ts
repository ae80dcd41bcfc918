/**
 * Profile versions fetched by hash, cached, and never waited for (Python:
 * `auracodec.serving`, which serves them on the WebSocket server's host and
 * port). The model is HTTP's Compression Dictionary Transport (RFC 9842):
 * a dictionary named by its hash, fetched when the client has time, offered
 * by hash on later requests. Here a profile version is named by its id,
 * fetched in the background, and offered at the next WebSocket handshake.
 *
 *     const conn = await connectWithProfiles("wss://example.org/chat");
 *     // at once: the newest cached version the server still speaks, else the
 *     // built-in profile (no download); meanwhile the server's current version
 *     // is fetched into the cache, for the next connection
 *
 * A version fetched or read from a cache is checked before use: each file's
 * SHA-256 and size against the manifest, the version id recomputed from the
 * content (Python's `version_id`) against the one asked for, and the
 * pipeline's fingerprint against the manifest's. A mismatch is a
 * `ConfigError`, and a cached copy that fails is dropped.
 *
 * Browsers cache in the Cache API (`caches.open("auracodec-profiles")`,
 * keyed by the immutable URLs), Node in a directory (default
 * `$XDG_CACHE_HOME/auracodec/profiles` or `~/.cache/auracodec/profiles`,
 * one `<id>/` each, written whole: a temporary directory renamed into place).
 *
 * In the browser this module is `auracodec-fetch.js`, beside the bundle
 * (`auracodec.js`), which it imports: the bundle's 30 KB budget has no room
 * for it.
 */

import { ConfigError, DEFAULT_MAX_MESSAGE_SIZE, Profile, connect, memorySource, parseToml, sha256Hex } from "./index.js";
import type { AuraConnection, ConnectOptions, LoadOptions, Offer, Pipeline } from "./index.js";
import { canonicalJson } from "./pyjson.js";

/** Where a server serves its profile versions, under its origin. */
export const PROFILES_PATH = "/auracodec/profiles/";
const MANIFEST = "manifest.json";
const ID = /^[0-9a-f]{64}$/;

/** One file of a version, as its `manifest.json` lists it. */
export interface ManifestFile {
  readonly name: string;
  readonly sha256: string;
  readonly size: number;
  /** `config`, `decoding` (what a client fetches) or `encoding`. */
  readonly role: string;
}

/** The parts of a version's `manifest.json` a client reads. */
export interface Manifest {
  readonly id: string;
  readonly fingerprint: string;
  readonly created: string;
  readonly files: readonly ManifestFile[];
}

/** Where verified versions are kept: files by version id and name. */
export interface ProfileCache {
  /** The ids held (complete versions only). */
  ids(): Promise<string[]>;
  /** A file of a version, or null. */
  read(id: string, name: string): Promise<Uint8Array | null>;
  /** Keep a whole version (its manifest among the files); all or nothing. */
  write(id: string, files: ReadonlyMap<string, Uint8Array>): Promise<void>;
  delete(id: string): Promise<void>;
}

export interface FetchOptions extends LoadOptions {
  /** Default: the Cache API in browsers, a directory in Node ({@link defaultCache}); null: none. */
  cache?: ProfileCache | null;
}

const utf8 = (b: Uint8Array): string => new TextDecoder("utf-8", { fatal: true }).decode(b);

/** A name as Python resolves it inside the version (`./a` is `a`), or null if it leaves it. */
function normal(name: string): string | null {
  const out: string[] = [];
  for (const p of name.split("/")) {
    if (p === "..") {
      if (!out.length) return null;
      out.pop();
    } else if (p && p !== ".") out.push(p);
  }
  return name.startsWith("/") ? null : out.join("/");
}

/**
 * Python's `version_id`: the SHA-256 of the canonical JSON of the parsed
 * config (without `[selector]` and `[observers]`, each name of a decoding
 * artifact in `[codecs.*]` replaced by `sha256:<hex>`) and the sorted hashes
 * and sizes of those artifacts.
 */
export function versionId(config: Uint8Array, artifacts: readonly Pick<ManifestFile, "name" | "sha256" | "size">[]): string {
  let data: Record<string, unknown>;
  try {
    data = parseToml(utf8(config));
  } catch (err) {
    throw new ConfigError(`cannot read the profile's config: ${(err as Error).message}`);
  }
  const hashes = new Map(artifacts.map((a) => [a.name, a.sha256]));
  const swap = (v: unknown): unknown =>
    typeof v === "string" ? (hashes.has(normal(v)!) ? "sha256:" + hashes.get(normal(v)!) : v)
      : Array.isArray(v) ? v.map(swap)
      : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]))
      : v;
  const { selector, observers, ...tables } = data;
  void selector, void observers;
  if ("codecs" in tables) tables["codecs"] = swap(tables["codecs"]);
  const sorted = artifacts.map((a) => ({ sha256: a.sha256, size: BigInt(a.size) }))
    .sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : Number(a.size - b.size)));
  return sha256Hex(new TextEncoder().encode(canonicalJson({ format: 1n, config: tables, artifacts: sorted })));
}

/** SHA-256 hex: Web Crypto where there is one (native, fast on models), else ours. */
async function digest(data: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return sha256Hex(data);
  return [...new Uint8Array(await subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function readManifest(bytes: Uint8Array, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(utf8(bytes));
    if (typeof m.id !== "string" || typeof m.fingerprint !== "string" || !Array.isArray(m.files)) throw new Error("not a version manifest");
    for (const f of m.files) if (normal(f.name) !== f.name) throw new Error(`bad file name ${JSON.stringify(f.name)}`);
  } catch (err) {
    throw new ConfigError(`not a readable version manifest: ${(err as Error).message}`, { path: where });
  }
  return m;
}

/** The files a client needs: the config and what the codecs read. */
const needed = (m: Manifest): ManifestFile[] => m.files.filter((f) => f.role === "config" || f.role === "decoding");

/**
 * Check a version's files and load it: hashes and sizes against the
 * manifest, the id recomputed, the fingerprint against the manifest's.
 */
async function check(id: string, get: (name: string) => Promise<Uint8Array | null>, where: string, options: LoadOptions): Promise<[Profile, Map<string, Uint8Array>]> {
  const fail = (message: string): never => {
    throw new ConfigError(message, { path: where });
  };
  const manifestBytes = (await get(MANIFEST)) ?? fail("no manifest.json");
  const manifest = readManifest(manifestBytes, where + MANIFEST);
  const files = new Map([[MANIFEST, manifestBytes]]);
  const read = needed(manifest).map((f) => get(f.name)); // all at once
  read.forEach((p) => p.catch(() => undefined)); // one failure is enough to report
  for (const [i, f] of needed(manifest).entries()) {
    const data = (await read[i]) ?? fail(`${f.name}: missing`);
    const sha = await digest(data);
    if (sha !== f.sha256 || data.length !== f.size) {
      fail(`${f.name} is ${data.length} bytes of sha256 ${sha.slice(0, 16)}, the manifest says ${f.size} bytes of sha256 ${String(f.sha256).slice(0, 16)}`);
    }
    files.set(f.name, data);
  }
  const config = needed(manifest).find((f) => f.role === "config");
  const actual = config && versionId(files.get(config.name)!, needed(manifest).filter((f) => f.role === "decoding"));
  if (manifest.id !== id || actual !== id) fail(`the content's id is ${actual}, the manifest says ${manifest.id}, not ${id}`);
  const profile = await Profile.load(memorySource(files), { ...options, configFile: config!.name });
  if (profile.fingerprint !== manifest.fingerprint) {
    fail(
      `it builds a pipeline of fingerprint ${profile.fingerprint}, the manifest records ${manifest.fingerprint} ` +
        "(a codec this client lacks: pin [pipeline] codecs to those JavaScript has)",
    );
  }
  return [profile, files];
}

const root = (base: string | URL): string => new URL(PROFILES_PATH, String(base)).href;

async function get(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new ConfigError(`HTTP ${response.status} ${response.statusText}`, { path: url });
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * The profile version `id` of the server at `base` (its origin: `/auracodec/profiles/<id>/`),
 * from the cache when it holds a good copy (one that fails the checks is
 * dropped), else fetched, checked and kept in the cache. Throws a
 * `ConfigError` when what the server sends is not that version.
 */
export async function fetchProfile(base: string | URL, id: string, options: FetchOptions = {}): Promise<Profile> {
  if (!ID.test(id)) throw new ConfigError(`expected a version id (64 hex digits), got ${JSON.stringify(id)}`);
  const cache = options.cache === undefined ? await defaultCache(base) : options.cache;
  const where = `${root(base)}${id}/`;
  if (cache && (await cache.ids()).includes(id)) {
    try {
      return await loadCached(cache, base, id, options);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err; // damaged, and dropped: fetched again below
    }
  }
  const [profile, files] = await check(id, (name) => get(where + name.split("/").map(encodeURIComponent).join("/")), where, options);
  await cache?.write(id, files);
  return profile;
}

/** A version from the cache, checked; one that fails the checks is dropped from it. */
async function loadCached(cache: ProfileCache, base: string | URL, id: string, options: LoadOptions): Promise<Profile> {
  try {
    return (await check(id, (name) => cache.read(id, name), `${root(base)}${id}/`, options))[0];
  } catch (err) {
    if (err instanceof ConfigError) await cache.delete(id);
    throw err;
  }
}

/** The manifests of the versions `cache` holds, newest first (unreadable ones left out). */
async function held(cache: ProfileCache): Promise<Manifest[]> {
  const found: Manifest[] = [];
  for (const id of await cache.ids()) {
    const bytes = await cache.read(id, MANIFEST).catch(() => null);
    if (bytes) try {
      found.push(readManifest(bytes, id));
    } catch {
      // not ours to judge here: fetchProfile checks (and drops) it when used
    }
  }
  return found.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
}

/** The ids of the profile versions a client holds, newest first. */
export async function cachedProfileIds(base: string | URL, options: { cache?: ProfileCache | null } = {}): Promise<string[]> {
  const cache = options.cache === undefined ? await defaultCache(base) : options.cache;
  return cache ? (await held(cache)).map((m) => m.id) : [];
}

/** The Cache API's `auracodec-profiles` (browsers), keyed by the versions' URLs under `base`. */
export function browserCache(base: string | URL, name = "auracodec-profiles"): ProfileCache {
  const url = (id: string, file: string): string => `${root(base)}${id}/${file}`;
  const open = (): Promise<Cache> => caches.open(name);
  return {
    async ids() {
      const keys = await (await open()).keys();
      return keys.map((r) => r.url.slice(root(base).length).split("/")).filter((p) => p.length === 2 && p[1] === MANIFEST && ID.test(p[0])).map((p) => p[0]);
    },
    async read(id, file) {
      const response = await (await open()).match(url(id, file));
      return response ? new Uint8Array(await response.arrayBuffer()) : null;
    },
    async write(id, files) {
      const cache = await open();
      // The manifest last: a version is listed only once it is whole.
      const names = [...files.keys()].sort((a, b) => Number(a === MANIFEST) - Number(b === MANIFEST));
      for (const file of names) await cache.put(url(id, file), new Response(files.get(file)! as Uint8Array<ArrayBuffer>));
    },
    async delete(id) {
      const cache = await open();
      for (const r of await cache.keys()) if (r.url.startsWith(url(id, ""))) await cache.delete(r);
    },
  };
}

// Not bundled: Node's modules, imported only where there is no Cache API.
const FS = "node:fs/promises";
const OS = "node:os";
const PATH = "node:path";

/** A directory of versions (Node): `<dir>/<id>/<file>`, each version written whole (a temporary directory renamed into place). */
export async function directoryCache(dir?: string): Promise<ProfileCache> {
  const fs = (await import(/* @vite-ignore */ FS)) as typeof import("node:fs/promises");
  const { join, dirname } = (await import(/* @vite-ignore */ PATH)) as typeof import("node:path");
  const env = process.env;
  const top = dir ?? join(env["XDG_CACHE_HOME"] || join(((await import(/* @vite-ignore */ OS)) as typeof import("node:os")).homedir(), ".cache"), "auracodec", "profiles");
  const aside = (): string => join(top, `.tmp-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  const ids = async (): Promise<string[]> => (await fs.readdir(top).catch(() => [] as string[])).filter((n) => ID.test(n));
  return {
    ids,
    async read(id, file) {
      return fs.readFile(join(top, id, file)).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.length), () => null);
    },
    async write(id, files) {
      const tmp = aside();
      try {
        for (const [file, data] of files) {
          await fs.mkdir(dirname(join(tmp, file)), { recursive: true });
          await fs.writeFile(join(tmp, file), data);
        }
        await fs.rename(tmp, join(top, id)).catch(async (err: Error) => {
          if (!(await ids()).includes(id)) throw err; // else another process wrote it first
        });
      } finally {
        await fs.rm(tmp, { recursive: true, force: true });
      }
    },
    async delete(id) {
      const tmp = aside();
      await fs.rename(join(top, id), tmp).then(() => fs.rm(tmp, { recursive: true, force: true }), () => undefined);
    },
  };
}

/** The Cache API where there is one (for the versions of `base`), else a directory in Node, else null. */
export async function defaultCache(base: string | URL): Promise<ProfileCache | null> {
  if (typeof caches !== "undefined") return browserCache(base);
  return typeof process !== "undefined" && process.versions?.node ? directoryCache() : null;
}

export interface ProfileConnectOptions extends Omit<ConnectOptions, "pipeline"> {
  /** The server's profiles (its origin); default: the WebSocket URL's host over http(s). */
  base?: string | URL;
  cache?: ProfileCache | null;
  /** What to connect with when no version is held (default: `Profile.defaults()`, no download). */
  fallback?: Pipeline | Offer;
  /** Where the WebAssembly core is (as for `loadProfile`). */
  wasm?: LoadOptions["wasm"];
  /** Told of what failed in the background (fetching, checking, caching); it never reaches the connection. */
  onError?: (err: unknown) => void;
  /** Versions kept in the cache: the server's current and the newest others, this many in all (default 3). */
  keep?: number;
}

/** A connection made by {@link connectWithProfiles}. */
export type ProfileConnection = AuraConnection & {
  /** Settles when the background fetch ends: the id it cached, or null (nothing new, or it failed). */
  readonly update: Promise<string | null>;
};

/**
 * Connect at once, offering every cached version (newest first) then the
 * fallback; the server picks the newest it speaks. Then ask the server for
 * its current version and, when it is not cached, fetch it into the cache
 * in the background: the next connection offers it.
 */
export async function connectWithProfiles(url: string | URL, options: ProfileConnectOptions = {}): Promise<ProfileConnection> {
  const base = options.base ?? String(url).replace(/^ws/i, "http");
  const cache = options.cache === undefined ? await defaultCache(base) : options.cache;
  const report = (err: unknown): null => (options.onError?.(err), null);
  const fallback = options.fallback ?? (await Profile.defaults({ wasm: options.wasm }));
  let versions = cache ? (await held(cache).catch(report)) ?? [] : [];
  for (;;) {
    const offers: Offer[] = [];
    const picked = { version: null as Manifest | null };
    for (const m of versions) {
      const config = needed(m).find((f) => f.role === "config");
      const bytes = config && (await cache!.read(m.id, config.name));
      let limit = DEFAULT_MAX_MESSAGE_SIZE;
      try {
        limit = Number((parseToml(utf8(bytes!))["pipeline"] as Record<string, unknown>)?.["max_message_size"] ?? limit);
      } catch {
        continue; // unreadable: not offered, and fetched again if current
      }
      offers.push({
        fingerprint: m.fingerprint,
        maxMessageSize: limit,
        pipeline: async () => {
          picked.version = m; // loaded from the cache only, never waited for
          return (await loadCached(cache!, base, m.id, { wasm: options.wasm })).pipeline();
        },
      });
    }
    let conn: AuraConnection;
    try {
      conn = await connect(url, { ...options, pipeline: [...offers, fallback] });
    } catch (err) {
      // The cached version the server picked failed its checks (and was
      // dropped): connect again without it.
      const bad = picked.version;
      if (!bad || !(err instanceof ConfigError)) throw err;
      report(err);
      versions = versions.filter((m) => m !== bad);
      continue;
    }
    const update = (async () => {
      const { id } = JSON.parse(utf8(await get(root(base) + "current"))) as { id: string | null };
      const fetched = id && !(cache && (await cache.ids()).includes(id));
      if (fetched) await fetchProfile(base, id, { cache, wasm: null });
      if (cache && id) {
        // The current version and the newest others: older ones go.
        for (const m of (await held(cache)).filter((m) => m.id !== id).slice((options.keep ?? 3) - 1)) await cache.delete(m.id);
      }
      return fetched ? id : null;
    })().catch(report);
    return Object.assign(conn, { update });
  }
}
