// The decode benchmark's measuring loop, shared by Node (decode.mjs) and
// Chromium (page.html): the same frames, the same pipeline calls.
//
// groups: { codec: [frame (Uint8Array), ...] }, each frame `[method id][payload]`
// made by Python. Every round decodes every group once, groups interleaved;
// a group's figure is its best round. `clock()` returns nanoseconds: process
// CPU time in Node, performance.now() in the browser (no CPU clock there).
export function runBench(pipeline, groups, rounds, clock) {
  const names = Object.keys(groups);
  const bytes = {};
  for (const name of names) {
    bytes[name] = 0;
    for (const f of groups[name]) bytes[name] += pipeline.decodeBytes(f).length; // also warms up
  }
  const best = Object.fromEntries(names.map((n) => [n, Infinity]));
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const frames = groups[name];
      const t = clock();
      for (let i = 0; i < frames.length; i++) pipeline.decodeBytes(frames[i]);
      best[name] = Math.min(best[name], clock() - t);
    }
  }
  return Object.fromEntries(names.map((n) => [n, {
    frames: groups[n].length,
    bytes: bytes[n],
    best_ns: best[n],
    ns_per_byte: best[n] / bytes[n],
  }]));
}

export function parseGroups(json) {
  const hex = (h) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
  return Object.fromEntries(Object.entries(json.groups).map(([n, frames]) => [n, frames.map(hex)]));
}
