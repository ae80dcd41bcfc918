// The client's size: every compiled module of dist/ (and smol-toml, which the
// one-file build will inline), raw and gzip-compressed, one stream each.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const root = new URL("../", import.meta.url).pathname;
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith(".js") && name !== "node.js") files.push(path);
  }
};
walk(join(root, "dist"));
const own = Buffer.concat(files.map((f) => readFileSync(f)));
const toml = Buffer.concat(["dist/parse.js", "dist/primitive.js", "dist/struct.js", "dist/extract.js", "dist/date.js", "dist/error.js", "dist/util.js"]
  .map((f) => readFileSync(join(root, "node_modules", "smol-toml", f))));
const kb = (n) => (n / 1024).toFixed(1) + " KB";
console.log(`dist/ (${files.length} modules, node.js excluded): ${kb(own.length)}, gzip ${kb(gzipSync(own, { level: 9 }).length)}`);
console.log(`+ smol-toml: ${kb(own.length + toml.length)}, gzip ${kb(gzipSync(Buffer.concat([own, toml]), { level: 9 }).length)} (budget: 30 KB gzip)`);
