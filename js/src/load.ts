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

/** Files under a directory of the local filesystem (Node, Deno, Bun). */
async function fileSource(dir: URL): Promise<ArtifactSource> {
  const { readFile } = (await import(/* @vite-ignore */ FS)) as typeof import("node:fs/promises");
  const { fileURLToPath } = (await import(/* @vite-ignore */ URLS)) as typeof import("node:url");
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

// Not bundled: only a file: location gets here, never in a browser.
const FS = "node:fs/promises";
const URLS = "node:url";

/** Load a profile from a URL (browser), a directory or config file path (Node), or a source. */
export async function loadProfile(location: string | URL | ArtifactSource, options: LoadOptions = {}): Promise<Profile> {
  if (isSource(location)) return Profile.load(location, options);
  const page = (globalThis as { location?: { href: string } }).location?.href;
  let url: URL;
  let isFile: boolean;
  if (location instanceof URL || page !== undefined || /^(https?|file):/i.test(location)) {
    url = new URL(String(location), page);
    isFile = /\.toml$/i.test(url.pathname);
  } else {
    // A filesystem path (Node): a directory, or a config file.
    const { pathToFileURL } = (await import(/* @vite-ignore */ URLS)) as typeof import("node:url");
    const { stat } = (await import(/* @vite-ignore */ FS)) as typeof import("node:fs/promises");
    url = pathToFileURL(location);
    isFile = !(await stat(url).then((s) => s.isDirectory(), () => false));
  }
  let href = url.href.replace(/[?#].*$/, "");
  let configFile = options.configFile;
  if (isFile) {
    const cut = href.lastIndexOf("/") + 1;
    if (configFile === undefined) configFile = decodeURIComponent(href.slice(cut));
    href = href.slice(0, cut);
  } else if (!href.endsWith("/")) href += "/";
  const source = url.protocol === "file:" ? await fileSource(new URL(href)) : urlSource(href);
  return Profile.load(source, configFile === undefined ? options : { ...options, configFile });
}
