// Decode speed in Node with the bundle (dist/auracodec.js + .wasm): the
// frames bench/js.py made with Python, per codec, process CPU time.
//
//   node js/bench/decode.mjs PROFILE FRAMES_JSON ROUNDS
import { readFileSync } from "node:fs";
import { loadProfile } from "../dist/auracodec.js";
import { parseGroups, runBench } from "./decode-core.mjs";

const [profile, file, rounds = "10"] = process.argv.slice(2);
const pipeline = (await loadProfile(profile)).pipeline();
const groups = parseGroups(JSON.parse(readFileSync(file, "utf8")));
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
const result = runBench(pipeline, groups, Number(rounds), cpu);
console.log(JSON.stringify({ runtime: `Node ${process.version}`, clock: "process.cpuUsage (user+system)", fingerprint: pipeline.fingerprint, codecs: result }));
