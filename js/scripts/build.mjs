// The one-module build: TypeScript to dist/ (tsc, for Node and the tests),
// then dist/auracodec.js, every module of src/index.ts (the WebSocket client
// included) in one ES module (esbuild, pinned in package.json), beside
// dist/auracodec.wasm,
// which it loads from its own URL. Builds the wasm module too when it is
// missing (js/wasm/build.sh: Debian clang, lld, wasi-libc,
// libclang-rt-14-dev-wasm32). Prints raw and gzip -9 sizes.
//
//   node scripts/build.mjs            (npm run build)
//   node scripts/build.mjs --wasm     rebuild the wasm module first
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { minify } from "terser";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, "dist");
const wasm = join(dist, "auracodec.wasm");

execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")], { stdio: "inherit" });
if (process.argv.includes("--wasm") || !existsSync(wasm)) {
  execFileSync("sh", [join(root, "wasm", "build.sh")], { stdio: "inherit" });
}

const result = await build({
  entryPoints: [join(root, "src", "index.ts")],
  outfile: join(dist, "auracodec.js"),
  write: false, // terser has the last word
  bundle: true,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  external: ["node:*", "ws"], // dynamic imports in Node only (file: paths, the ws package); never run in browsers
  target: "es2022",
  minify: true,
  keepNames: false, // error classes set their own names (errors.ts)
  legalComments: "none",
  charset: "utf8",
  metafile: true,
  logLevel: "warning",
});
// terser's second look takes about 4% off after gzip (1.2 KB), which the
// 30 KB budget needs; no property renaming, nothing unsafe.
const bundled = result.outputFiles[0].text;
const minified = await minify(bundled, { module: true, ecma: 2020, compress: { passes: 2 }, mangle: true, format: { comments: false } });
writeFileSync(join(dist, "auracodec.js"), minified.code);

// dist/auracodec-fetch.js: src/fetch.ts (profile versions fetched, checked
// and cached; connectWithProfiles) beside the bundle, importing it as
// "./auracodec.js": the bundle's budget has no room for it, and a page that
// never fetches a profile never loads it.
const fetchBuild = await build({
  entryPoints: [join(root, "src", "fetch.ts")],
  write: false,
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  minify: true,
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
  plugins: [{
    name: "the-bundle",
    setup(b) {
      // The public face is the bundle itself: same classes (ConfigError), one copy.
      b.onResolve({ filter: /^\.\/index\.js$/ }, () => ({ path: "./auracodec.js", external: true }));
    },
  }],
});
const fetchMin = await minify(fetchBuild.outputFiles[0].text, { module: true, ecma: 2020, compress: { passes: 2 }, mangle: true, format: { comments: false } });
writeFileSync(join(dist, "auracodec-fetch.js"), fetchMin.code);

// KB here are 1,000 bytes: the stricter reading of the budgets.
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
const report = (file, budget) => {
  const bytes = readFileSync(file);
  const gz = gzipSync(bytes, { level: 9 }).length;
  const verdict = gz <= budget * 1000 ? "within" : "OVER";
  console.log(`${file.slice(root.length + 1)}: ${kb(bytes.length)} raw, ${kb(gz)} gzip -9 (${verdict} the ${budget} KB budget)`);
  return gz <= budget * 1000;
};
const inputs = Object.entries(result.metafile.outputs)[0][1].inputs;
const largest = Object.entries(inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 5);
console.log("largest parts of auracodec.js: " + largest.map(([f, i]) => `${f.replace(/^.*node_modules\//, "")} ${kb(i.bytesInOutput)}`).join(", "));
const ok = [report(join(dist, "auracodec.js"), 30), report(join(dist, "auracodec-fetch.js"), 4), report(wasm, 250)].every(Boolean);
if (!ok && process.argv.includes("--strict")) process.exit(1);
