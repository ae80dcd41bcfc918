/**
 * `loadProfile`: one entry point for browsers and Node.
 *
 * - an `http(s):` URL, or any relative path in a browser: the profile's
 *   directory (or its `.toml` file) on the server, read with `fetch`;
 * - a filesystem path or a `file:` URL in Node: the directory `auracodec
 *   train` wrote, or a config file in it;
 * - an {@link ArtifactSource}: files from anywhere (`memorySource`).
 *
 * `options.wasm` says where the WebAssembly core is (default: beside this
 * module).
 */

import { Profile, urlSource } from "./profile.js";
import type { ArtifactSource, LoadOptions } from "./profile.js";

function isSource(x: unknown): x is ArtifactSource {
  return typeof x === "object" && x !== null && !(x instanceof URL) && typeof (x as ArtifactSource).read === "function";
}

/** Split a location into its directory and, when it names a `.toml` file, the file. */
function split(href: string): [string, string | undefined] {
  const path = href.replace(/[?#].*$/, "");
  if (!/\.toml$/i.test(path)) return [href.endsWith("/") ? href : href + "/", undefined];
  const cut = path.lastIndexOf("/") + 1;
  return [path.slice(0, cut), decodeURIComponent(path.slice(cut))];
}

/** Files under a directory of the local filesystem (Node, Deno, Bun). */
async function fileSource(dir: URL): Promise<ArtifactSource> {
  const specifier = "node:fs/promises"; // not bundled: browsers never come here
  const { readFile } = (await import(/* @vite-ignore */ specifier)) as typeof import("node:fs/promises");
  const { fileURLToPath } = (await import(/* @vite-ignore */ "node:url".toString())) as typeof import("node:url");
  return {
    where: (path) => fileURLToPath(new URL(path, dir)),
    async read(path) {
      try {
        return new Uint8Array(await readFile(new URL(path, dir)));
      } catch (err) {
        const e = err as { code?: string; message: string };
        // Python says "[Errno 2] No such file or directory"'s strerror.
        throw new Error(e.code === "ENOENT" ? "No such file or directory" : e.message);
      }
    },
  };
}

/** Load a profile from a URL (browser), a directory or config file path (Node), or a source. */
export async function loadProfile(location: string | URL | ArtifactSource, options: LoadOptions = {}): Promise<Profile> {
  if (isSource(location)) return Profile.load(location, options);
  const text = String(location);
  const page = (globalThis as { location?: { href: string } }).location?.href;
  let url: URL;
  if (location instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(text) && !/^[a-z]:[\\/]/i.test(text)) url = new URL(text);
  else if (page !== undefined) url = new URL(text, page);
  else {
    // A filesystem path (Node): absolute from the working directory.
    const specifier = "node:url";
    const { pathToFileURL } = (await import(/* @vite-ignore */ specifier)) as typeof import("node:url");
    const { stat } = (await import(/* @vite-ignore */ "node:fs/promises".toString())) as typeof import("node:fs/promises");
    let isDir = false;
    try {
      isDir = (await stat(text)).isDirectory();
    } catch {
      isDir = false;
    }
    url = pathToFileURL(text);
    if (isDir && !url.href.endsWith("/")) url = new URL(url.href + "/");
    if (!isDir && !/\.toml$/i.test(text)) {
      // a config file by another name: its directory and its name
      const href = url.href;
      const cut = href.lastIndexOf("/") + 1;
      return Profile.load(await fileSource(new URL(href.slice(0, cut))), {
        ...options,
        configFile: decodeURIComponent(href.slice(cut)),
      });
    }
  }
  const [dir, file] = split(url.href);
  const configFile = options.configFile !== undefined ? options.configFile : file;
  const source = url.protocol === "file:" ? await fileSource(new URL(dir)) : urlSource(dir);
  return Profile.load(source, configFile === undefined ? options : { ...options, configFile });
}
