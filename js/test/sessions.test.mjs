// Cross-language tests of the WebAssembly codecs, the pipeline and sessions,
// against Python's auracodec on the shared chat corpus (test/py/sessions.py
// is Python's side; its docstring is the protocol both sides follow).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DecodeError, SessionError, crc32, digest } from "../dist/index.js";
import { loadProfile } from "../dist/node.js";
import { CORPUS, HERE, PYTHON, hex, noCorpus, noPython, tempDir, unhex, venv } from "./helpers.mjs";

const skip = noPython ?? noCorpus ?? false;
const CHAT = join(CORPUS, "chat");
const N = 500;
const MUTATIONS = Number(process.env.AURACODEC_JS_MUTATIONS ?? 2000);
const SEED = process.env.AURACODEC_JS_SEED ?? "20251130";

function py(...args) {
  return execFileSync(PYTHON, [join(HERE, "py", "sessions.py"), ...args], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
}

let profileDir = null;
/** A profile trained on chat/train.jsonl (AURACODEC_JS_PROFILE names one already trained). */
function chatProfile() {
  if (profileDir === null) {
    const given = process.env.AURACODEC_JS_PROFILE;
    if (given && existsSync(join(given, "auracodec.toml"))) profileDir = given;
    else {
      profileDir = join(tempDir(), "profile");
      venv("auracodec", "train", join(CHAT, "train.jsonl"), "-o", profileDir);
    }
  }
  return profileDir;
}

let pyFrames = null;
function pythonFrames() {
  if (pyFrames === null) {
    const out = join(tempDir(), "py-frames.json");
    py("encode", chatProfile(), join(CHAT, "test.jsonl"), String(N), out);
    pyFrames = { path: out, data: JSON.parse(readFileSync(out, "utf8")) };
  }
  return pyFrames;
}

const CHECKS = [0, 1, 3];
const isolated = (j) => j % 5 === 4;

test("Python encodes chat (stateless and sessions), JavaScript decodes: 0 mismatches", { skip, timeout: 300_000 }, async () => {
  const { data } = pythonFrames();
  const profile = await loadProfile(chatProfile());
  assert.equal(profile.fingerprint, data.fingerprint);
  const pipe = profile.pipeline();
  assert.equal(pipe.fingerprint, data.fingerprint);
  const mismatches = [];
  const methods = new Map();
  const count = (f) => {
    const key = f[0] === 0xff ? (f[1] === 0xff ? "control" : "isolated") : f[0].toString(16);
    methods.set(key, (methods.get(key) ?? 0) + 1);
  };
  for (const r of [...data.stateless, ...data.extra]) {
    const f = unhex(r.f);
    count(f);
    let got;
    try {
      got = hex(pipe.decodeBytes(f));
    } catch (err) {
      got = `${err.name}: ${err.message}`;
    }
    if (got !== r.m) mismatches.push({ f: r.f, got });
  }
  assert.equal(data.stateless.length, N);
  let events = 0;
  for (const s of data.sessions) {
    const a = pipe.session(`c-${s.conv}`);
    const b = pipe.session(`s-${s.conv}`);
    for (const e of s.events) {
      events++;
      const f = unhex(e.f);
      count(f);
      const receiver = e.d === "c" ? b : a;
      let got;
      try {
        got = hex(receiver.decodeBytes(f));
      } catch (err) {
        got = `${err.name}: ${err.message}`;
      }
      if (got !== e.m) mismatches.push({ conv: s.conv, f: e.f, got });
    }
  }
  assert.equal(events, N);
  console.log(`decoded ${data.stateless.length + data.extra.length} stateless and ${events} session frames; by kind: ${JSON.stringify(Object.fromEntries(methods))}`);
  assert.deepEqual(mismatches.slice(0, 5), []);
  // Every kind the test means to cover is there: BRIO, zstd, brotli, raw, BRIO's context, isolated, control.
  for (const kind of ["3", "2", "1", "13", "isolated", "control"]) assert.ok(methods.get(kind) > 0, kind);
});

test("JavaScript encodes chat (stateless and sessions), Python decodes: 0 mismatches", { skip, timeout: 300_000 }, async () => {
  const { data } = pythonFrames();
  const profile = await loadProfile(chatProfile());
  const pipe = profile.pipeline();
  const stateless = data.stateless.map((r) => {
    const m = unhex(r.m);
    const f = pipe.encode(m);
    assert.ok(f.length <= m.length + 1);
    assert.equal(hex(pipe.decodeBytes(f)), r.m);
    return { m: r.m, f: hex(f) };
  });
  const sessions = data.sessions.map((s, k) => {
    const check = CHECKS[k % 3];
    const a = pipe.session({ id: `c${k}`, checkEvery: check });
    const b = pipe.session({ id: `s${k}`, checkEvery: check });
    const events = s.events.map((e, j) => {
      if (e.reset) a.reset();
      const [sender, receiver] = e.d === "c" ? [a, b] : [b, a];
      const f = sender.encode(unhex(e.m), { isolated: isolated(j) });
      assert.equal(hex(receiver.decodeBytes(f)), e.m); // JavaScript's own peer
      return { d: e.d, m: e.m, f: hex(f), iso: isolated(j), reset: e.reset };
    });
    return { conv: s.conv, check, events };
  });
  const dir = tempDir();
  const file = join(dir, "js-frames.json");
  writeFileSync(file, JSON.stringify({ fingerprint: pipe.fingerprint, stateless, extra: [], sessions }));
  const out = join(dir, "py-report.json");
  py("decode", chatProfile(), file, out);
  const report = JSON.parse(readFileSync(out, "utf8"));
  console.log(`Python decoded ${report.stateless} stateless and ${report.sessions} session frames of JavaScript's; ${report.mismatches.length} mismatches`);
  assert.equal(report.stateless, N);
  assert.equal(report.sessions, N);
  assert.deepEqual(report.mismatches.slice(0, 5), []);
  // JavaScript's sessions use BRIO's context as Python's do.
  assert.ok(sessions.some((s) => s.events.some((e) => e.f.startsWith("13"))));
});

/** An outcome with the parts that may differ by design made equal (zstd's own reasons). */
function normal(outcome) {
  if (!Array.isArray(outcome)) return outcome;
  return [outcome[0], outcome[1].replace(/zstd payload is corrupt: [^)]*?(?=\)|$)/g, "zstd payload is corrupt: …")];
}

test(`${MUTATIONS} damaged frames: JavaScript's outcome (class and message) is Python's`, { skip, timeout: 600_000 }, async () => {
  const { path, data } = pythonFrames();
  const out = join(tempDir(), "mutations.json");
  py("mutate", chatProfile(), path, String(MUTATIONS), out, SEED);
  const rows = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(rows.length, MUTATIONS);
  const profile = await loadProfile(chatProfile());
  const pipe = profile.pipeline();
  const outcome = (call) => {
    try {
      const r = call();
      return hex(typeof r === "string" ? new TextEncoder().encode(r) : r);
    } catch (err) {
      if (!(err instanceof DecodeError)) return [`not a DecodeError: ${err?.name}`, String(err?.message)];
      return [err.name, err.message];
    }
  };
  const byConv = new Map(data.sessions.map((s) => [s.conv, s.events]));
  let classDiffer = 0;
  const differ = [];
  let current = null;
  let zstdReason = 0;
  let errors = 0;
  const compare = (where, mine, theirs) => {
    if (Array.isArray(theirs) || Array.isArray(mine)) errors += where === "r";
    const same = JSON.stringify(mine) === JSON.stringify(theirs);
    if (same) return;
    if (JSON.stringify(normal(mine)) === JSON.stringify(normal(theirs))) {
      zstdReason++;
      return;
    }
    if (!Array.isArray(mine) || !Array.isArray(theirs) || mine[0] !== theirs[0]) classDiffer++;
    differ.push({ where, mine, theirs, f: current?.f, limit: current?.limit });
  };
  for (const row of rows) {
    current = row;
    const f = unhex(row.f);
    if (row.kind === "stateless") {
      compare("r", outcome(() => pipe.decodeBytes(f)), row.r);
      compare("text", outcome(() => pipe.decode(f)), row.text);
      if ("codec" in row) compare("codec", outcome(() => pipe.byId.get(f[0]).decode(f.subarray(1), row.limit)), row.codec);
      continue;
    }
    const mine = byConv.get(row.conv).filter((e) => e.d === row.d);
    const receiver = pipe.session("r");
    for (const e of mine.slice(0, row.pos)) assert.equal(hex(receiver.decodeBytes(unhex(e.f))), e.m);
    compare("r", outcome(() => receiver.decode(f)), row.r);
    if (row.after !== null) compare("after", outcome(() => receiver.decodeBytes(unhex(mine[row.pos + 1].f))), row.after);
  }
  const kinds = rows.reduce((acc, r) => ((acc[r.kind] = (acc[r.kind] ?? 0) + 1), acc), {});
  console.log(
    `${MUTATIONS} damaged frames (${JSON.stringify(kinds)}), ${errors} of them errors in Python: ` +
      `${classDiffer} outcomes differ in class, ${differ.length} in message, ` +
      `${zstdReason} differ only by zstd's own reason (not in the wasm build)`,
  );
  if (differ.length) {
    const file = join(tempDir(), "differ.json");
    writeFileSync(file, JSON.stringify(differ));
    console.log(`outcomes that differ: ${file}`);
  }
  assert.deepEqual(differ.slice(0, 5), []);
  assert.equal(classDiffer, 0);
});

// tests/test_wire_contract.py GOLDEN_SESSION: identity only, the sender checks every 2 messages.
const GOLDEN_SESSION = [
  ["68656c6c6f", "0468656c6c6f"],
  ["", "ffff0817b904"],
  ["776f726c6421", "04776f726c6421"],
  ["c3a9", "ffff089dfd04c3a9"],
];

test("golden session frames (the check's digest is wire format)", async () => {
  const { Profile, memorySource } = await import("../dist/index.js");
  const toml = '[pipeline]\ncodecs = ["identity"]\n';
  const profile = await Profile.load(memorySource({ "auracodec.toml": new TextEncoder().encode(toml) }));
  const pipe = profile.pipeline();
  const sender = pipe.session({ checkEvery: 2 });
  const receiver = pipe.session();
  for (const [m, f] of GOLDEN_SESSION) {
    assert.equal(hex(sender.encode(unhex(m))), f);
    assert.equal(hex(receiver.decodeBytes(unhex(f))), m);
  }
  const other = pipe.session("other");
  other.decodeBytes(unhex(GOLDEN_SESSION[0][1]));
  assert.throws(() => other.decodeBytes(unhex(GOLDEN_SESSION[3][1])), (err) => err instanceof SessionError && /out of step/.test(err.message));
  // zlib's CRC-32 and the digest's chaining
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(digest(0, new Uint8Array(0)), crc32(new Uint8Array(8)));
});

test("sessions: failure stops the direction until the peer's reset; isolated frames; resets", async () => {
  const { Profile } = await import("../dist/index.js");
  const profile = await Profile.defaults();
  const pipe = profile.pipeline();
  const a = pipe.session({ id: "a", checkEvery: 1 });
  const b = pipe.session({ id: "b", checkEvery: 1 });
  for (let i = 0; i < 6; i++) {
    assert.equal(b.decode(a.encode(`message ${i} from a`)), `message ${i} from a`);
    assert.equal(b.decode(a.encode("token abc", { isolated: true })), "token abc");
    assert.equal(a.decode(b.encode(`reply ${i} from b`)), `reply ${i} from b`);
    if (i === 3) {
      a.reset();
      assert.equal(b.decode(a.encode("after reset")), "after reset");
      assert.equal(a.decode(b.encode("ack")), "ack");
    }
  }
  assert.equal(a.failed, null);
  assert.equal(b.failed, null);
  // A damaged frame stops b's incoming direction; b's next frame asks a to reset.
  const frame = a.encode("some text that BRIO's context codes");
  assert.equal(frame[0], 0xff); // checked: a control prefix
  const bad = frame.slice(0, frame.length - 2);
  assert.throws(() => b.decode(bad), DecodeError);
  assert.throws(() => b.decode(a.encode("next")), (err) => err instanceof SessionError && /refuses frames since an earlier one failed/.test(err.message));
  const ask = b.encode("please reset");
  assert.equal(ask[0], 0xff);
  assert.equal(ask[1], 0xff);
  assert.ok(ask[2] & 2); // RESET_PLEASE
  assert.equal(a.decode(ask), "please reset");
  const fresh = a.encode("fresh start"); // RESET_DONE: b starts over with a
  assert.ok(fresh[2] & 1);
  assert.equal(b.decode(fresh), "fresh start");
  assert.equal(b.failed, null);
  // an isolated frame may not use a context
  assert.throws(() => b.decode(Uint8Array.of(0xff, 0x13, 1, 2)), (err) => err instanceof SessionError && err.message === "an isolated frame cannot use a session context");
  // contexts are made lazily and freed by reset/close
  const idle = pipe.session();
  assert.equal(idle.memory(), 0);
  idle.encode("hello there, a message for the context");
  assert.ok(idle.memory() > 0);
  idle.close();
  assert.equal(idle.memory(), 0);
});

test("Session.methodOf: a codec's name, '<codec>+context' for a context's frames, UnknownMethod else", async () => {
  const { Profile, SessionFrame, UnknownMethod } = await import("../dist/index.js");
  const pipe = (await Profile.defaults()).pipeline();
  const a = pipe.session();
  const b = pipe.session();
  const text = "the same words again and again, the same words again and again";
  const names = [];
  for (let i = 0; i < 4; i++) {
    const frame = a.encode(text);
    names.push(b.methodOf(frame));
    assert.equal(a.methodOf(frame), names.at(-1)); // either end names it alike
    const id = SessionFrame.parse(frame).methodId;
    assert.equal(names.at(-1), pipe.byId.has(id) ? pipe.byId.get(id).name : `${pipe.byId.get(0x03).name}+context`);
    assert.equal(b.decode(frame), text);
  }
  assert.ok(names.includes("brio+context"), names.join(", "));
  assert.equal(b.methodOf(a.encode("tok", { isolated: true })), pipe.methodOf(pipe.encode("tok")));
  assert.throws(() => b.methodOf(Uint8Array.of(0x77, 0x01)), UnknownMethod);
  a.close();
  b.close();
  pipe.close();
});
