/**
 * Node: everything `auracodec` exports, plus {@link directorySource} and
 * `auracodec/fetch` (profile versions fetched, checked and cached in a
 * directory; `connectWithProfiles`).
 * `loadProfile(path)` (from the main entry too) reads a directory (what
 * `auracodec train` writes) or a config file path.
 */

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { ArtifactSource } from "./profile.js";

/** Files relative to a directory. */
export function directorySource(dir: string): ArtifactSource {
  const root = resolve(dir);
  return {
    where: (path) => resolve(root, path),
    async read(path) {
      try {
        return new Uint8Array(await readFile(resolve(root, path)));
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        // Python says "[Errno 2] No such file or directory"'s strerror.
        throw new Error(e.code === "ENOENT" ? "No such file or directory" : e.message);
      }
    },
  };
}

export * from "./index.js";
export * from "./fetch.js";
