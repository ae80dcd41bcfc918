// Copies the JavaScript client (dist/auracodec.js, dist/auracodec-fetch.js,
// dist/auracodec.wasm) into
// the Python package (src/auracodec/data/js/), which ships it in the wheel
// for `auracodec demo --browser`. Part of `npm run build`.
//
//   node scripts/copy-assets.mjs           copy
//   node scripts/copy-assets.mjs --check   exit 1 if the copies differ from dist/ (npm run check:assets)
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const target = join(root, "..", "src", "auracodec", "data", "js");
const FILES = ["auracodec.js", "auracodec-fetch.js", "auracodec.wasm"];
const check = process.argv.includes("--check");
let stale = 0;
for (const name of FILES) {
  const from = join(root, "dist", name);
  const to = join(target, name);
  if (!existsSync(from)) {
    console.error(`no ${from}: npm run build first`);
    process.exit(1);
  }
  const same = existsSync(to) && readFileSync(from).equals(readFileSync(to));
  if (check) {
    if (!same) stale++;
    console.log(`${to.slice(root.length - 2)}: ${same ? "current" : "STALE (npm run build copies it)"}`);
  } else if (!same) {
    copyFileSync(from, to);
    console.log(`copied ${name} to ${to}`);
  }
}
if (stale) process.exit(1);
