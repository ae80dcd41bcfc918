/**
 * Node only: load a profile from a directory (what `auracodec train` writes)
 * or from a config file path. Import from `auracodec/node`.
 */

import { readFile, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { ArtifactSource } from "./profile.js";
import { Profile } from "./profile.js";

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

/** Load a profile from a directory holding `auracodec.toml`, or from a config file. */
export async function loadProfile(path: string): Promise<Profile> {
  const full = resolve(path);
  let isDir = false;
  try {
    isDir = (await stat(full)).isDirectory();
  } catch {
    isDir = false;
  }
  if (isDir) return Profile.load(directorySource(full));
  return Profile.load(directorySource(dirname(full)), { configFile: basename(full) });
}

export * from "./index.js";
