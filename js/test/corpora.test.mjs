// The all-corpora cross-check: every shared corpus, Python encodes and
// JavaScript decodes, JavaScript encodes and Python decodes, stateless and in
// sessions, 0 mismatches required (test/py/corpora.py is Python's side; its
// docstring has the sets, the streams and the session protocol both follow).
//
// Profiles: one trained on chat/train codes chat/test, chat2/test and json;
// one trained on the first 200 lines of every loghub system codes the logs,
// twice: with all its codecs, and with the template codec alone (and raw).
// Why a logs profile: the chat profile's template library holds what
// auracodec train found in chat, so on log lines the selector would test
// BRIO again; with the logs' own library it picks templates for a share of
// the frames (1 of 3,600 on BGL, 28% on OpenSSH), and the templates-only profile
// sends every line that matches through them (typed slots, remainders coded
// by BRIO) in the full pipeline and in sessions. Both profiles again with
// zstd alone and a session history of 64 KiB (chat/test, chat2/test, json and
// three logs): every message goes through zstd, stateless (0x02) and in its
// session context (0x12), whose frames JavaScript now encodes as well.
// Python encodes with the `smallest` policy: `cost` adapts to measured CPU
// times, so its frames would differ from run to run (either decodes alike);
// the JavaScript encoder is always `smallest`.
//
// Every message by default: 23,118 messages (chat/test 2,300, chat2/test
// 206, json 612, logs 10 x 2,000), each stateless and in a session, both
// ways, the logs twice, and 9,118 of them again with zstd alone: 52,236
// codings in about 80 s plus training (about 165 s in all on a 2-core VM).
// Result: 0 mismatches in every set, Python -> JavaScript and JavaScript ->
// Python, stateless and in sessions (the table the test prints; also in the
// top-level README; JavaScript's frame kinds were Python's, set by set).
// AURACODEC_JS_CORPORA=sample takes a deterministic sample (5,418
// codings: every 4th chat/test conversation, all of chat2/test, the first
// 200 json payloads, the first 150 lines of each log) for quick runs.
//
// Needs Python's auracodec (AURACODEC_PYTHON, default: python3 on PATH) and the
// shared corpus (AURACODEC_CORPUS, default ../shared/corpus); skipped with a
// reason otherwise. AURACODEC_JS_PROFILE and AURACODEC_JS_LOGS_PROFILE name
// profiles already trained (chat/train, and the logs' first 200 lines).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadProfile } from "../dist/node.js";
import { CORPUS, HERE, PYTHON, hex, noCorpus, noPython, tempDir, unhex, venv } from "./helpers.mjs";

const FULL = process.env.AURACODEC_JS_CORPORA !== "sample";
const FILES = ["chat/train.jsonl", "chat/test.jsonl", "chat2/test.jsonl", "json/messages.jsonl", "logs/Apache/Apache_2k.log"];
const missing = FILES.find((f) => !existsSync(join(CORPUS, f)));
const skip = noPython ?? noCorpus ?? (missing ? `no ${missing} in the shared corpus at ${CORPUS} (set AURACODEC_CORPUS)` : false);
const LOG_LINES = 200;
const CHECKS = [0, 1, 3];
const isolated = (j) => j % 5 === 4;

function py(...args) {
  return execFileSync(PYTHON, [join(HERE, "py", "corpora.py"), ...args], {
    encoding: "utf8",
    env: { ...process.env, PYTHONHASHSEED: "0" },
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** The profile directory given in `variable`, or one trained by `auracodec train` on `train()`'s file. */
function profile(variable, train) {
  const given = process.env[variable];
  if (given && existsSync(join(given, "auracodec.toml"))) return given;
  const dir = join(tempDir(), "profile");
  venv("auracodec", "train", train(), "-o", dir);
  return dir;
}

const outcome = (call) => {
  try {
    return hex(call());
  } catch (err) {
    return [err.name, err.message];
  }
};

/** Frame kinds, for the report: method id, or isolated / control for session prefixes. */
const kind = (f) => (f[0] === 0xff ? (f[1] === 0xff ? "control" : "isolated") : f[0].toString(16).padStart(2, "0"));

test(`every shared corpus (${FULL ? "every message" : "AURACODEC_JS_CORPORA=sample"}): Python -> JavaScript and JavaScript -> Python, stateless and sessions, 0 mismatches`,
  { skip, timeout: 3_600_000 }, async (t) => {
    const started = Date.now();
    const dir = tempDir("auracodec-corpora-");
    const profiles = {
      chat: profile("AURACODEC_JS_PROFILE", () => join(CORPUS, "chat", "train.jsonl")),
      logs: profile("AURACODEC_JS_LOGS_PROFILE", () => {
        const file = join(dir, "logs-head.log");
        py("logs-head", CORPUS, String(LOG_LINES), file);
        return file;
      }),
    };
    // The logs profile with the template codec alone (and raw): every log line
    // through templates, remainders through BRIO, in the full pipeline.
    const templates = join(dir, "logs-templates");
    cpSync(profiles.logs, templates, { recursive: true });
    const toml = readFileSync(join(templates, "auracodec.toml"), "utf8");
    assert.match(toml, /^\[pipeline\]$/m);
    profiles["logs-templates"] = join(templates, "templates-only.toml");
    writeFileSync(profiles["logs-templates"], toml.replace(/^\[pipeline\]$/m, '[pipeline]\ncodecs = ["binary_semantic"]'));
    // Both profiles with zstd alone, and its session context (0x12).
    for (const [name, from] of [["chat-zstd", profiles.chat], ["logs-zstd", profiles.logs]]) {
      const copy = join(dir, name);
      cpSync(from, copy, { recursive: true });
      const config = readFileSync(join(copy, "auracodec.toml"), "utf8");
      assert.match(config, /^\[codecs\.zstd\]$/m);
      profiles[name] = join(copy, "zstd-only.toml");
      writeFileSync(profiles[name], config
        .replace(/^session_history = .*\n/m, "")
        .replace(/^\[pipeline\]$/m, '[pipeline]\ncodecs = ["zstd"]')
        .replace(/^\[codecs\.zstd\]$/m, "[codecs.zstd]\nsession_history = 65536"));
    }
    const spec = join(dir, "spec.json");
    writeFileSync(spec, JSON.stringify({ corpus: CORPUS, profiles, policy: "smallest", sample: !FULL }));
    const pyFile = join(dir, "py-frames.json");
    py("encode", spec, pyFile);
    const { sets } = JSON.parse(readFileSync(pyFile, "utf8"));
    const trained = Date.now();

    const pipes = {};
    for (const [name, location] of Object.entries(profiles)) pipes[name] = (await loadProfile(location)).pipeline();

    // Python -> JavaScript
    const rows = [];
    const jsSets = [];
    for (const s of sets) {
      const pipe = pipes[s.profile];
      assert.equal(pipe.fingerprint, s.fingerprint, `${s.name}: fingerprints differ`);
      const row = { name: s.name, messages: s.stateless.length, bytes: 0, pyStateless: 0, pySessions: 0, kinds: {}, jsKinds: {}, examples: [] };
      const seen = (f) => (row.kinds[kind(f)] = (row.kinds[kind(f)] ?? 0) + 1);
      for (const r of s.stateless) {
        const f = unhex(r.f);
        seen(f);
        row.bytes += r.m.length / 2;
        if (outcome(() => pipe.decodeBytes(f)) !== r.m) {
          row.pyStateless++;
          row.examples.push({ kind: "stateless", f: r.f });
        }
      }
      for (const st of s.streams) {
        const a = pipe.session(`c-${st.id}`);
        const b = pipe.session(`s-${st.id}`);
        for (const e of st.events) {
          const f = unhex(e.f);
          seen(f);
          if (outcome(() => (e.d === "c" ? b : a).decodeBytes(f)) !== e.m) {
            row.pySessions++;
            row.examples.push({ kind: "session", stream: st.id, f: e.f });
          }
        }
        a.close();
        b.close();
      }
      rows.push(row);

      // JavaScript encodes the same messages, the same protocol.
      const stateless = s.stateless.map((r) => {
        const m = unhex(r.m);
        const f = pipe.encode(m);
        assert.ok(f.length <= m.length + 1, `${s.name}: a frame of ${f.length} bytes for ${m.length}`);
        row.jsKinds[kind(f)] = (row.jsKinds[kind(f)] ?? 0) + 1;
        return { m: r.m, f: hex(f) };
      });
      const streams = s.streams.map((st, k) => {
        const check = CHECKS[k % 3];
        assert.equal(st.check, check);
        const a = pipe.session({ id: `c${k}`, checkEvery: check });
        const b = pipe.session({ id: `s${k}`, checkEvery: check });
        const events = st.events.map((e, j) => {
          if (e.reset) a.reset();
          const f = (e.d === "c" ? a : b).encode(unhex(e.m), { isolated: isolated(j) });
          row.jsKinds[kind(f)] = (row.jsKinds[kind(f)] ?? 0) + 1;
          return { d: e.d, m: e.m, f: hex(f), iso: isolated(j), reset: e.reset };
        });
        a.close();
        b.close();
        return { id: st.id, check, events };
      });
      jsSets.push({ name: s.name, profile: s.profile, fingerprint: pipe.fingerprint, stateless, streams });
    }
    const jsDone = Date.now();

    // JavaScript -> Python
    const jsFile = join(dir, "js-frames.json");
    writeFileSync(jsFile, JSON.stringify({ sets: jsSets }));
    const reportFile = join(dir, "py-report.json");
    py("decode", spec, jsFile, reportFile);
    const report = JSON.parse(readFileSync(reportFile, "utf8")).sets;
    for (const [i, r] of report.entries()) {
      const row = rows[i];
      assert.equal(r.name, row.name);
      assert.equal(r.stateless, row.messages);
      assert.equal(r.sessions, row.messages);
      row.jsStateless = r.mismatches.filter((m) => m.kind === "stateless").length;
      row.jsSessions = r.mismatches.filter((m) => m.kind === "session").length;
      row.examples.push(...r.mismatches.slice(0, 3).map((m) => ({ ...m, direction: "JavaScript -> Python" })));
    }
    for (const p of Object.values(pipes)) p.close();

    const total = (key) => rows.reduce((n, r) => n + r[key], 0);
    t.diagnostic(`set: messages (bytes), mismatches Python->JS stateless/sessions, JS->Python stateless/sessions; Python's frame kinds; JavaScript's`);
    for (const r of rows) {
      t.diagnostic(`${r.name}: ${r.messages} (${r.bytes} B), ${r.pyStateless}/${r.pySessions}, ${r.jsStateless}/${r.jsSessions}; ${JSON.stringify(r.kinds)}; ${JSON.stringify(r.jsKinds)}`);
    }
    t.diagnostic(`all: ${total("messages")} messages, each stateless and in a session, both ways: ` +
      `${total("pyStateless") + total("pySessions")} mismatches Python -> JavaScript, ` +
      `${total("jsStateless") + total("jsSessions")} JavaScript -> Python ` +
      `(profiles and Python encoding ${((trained - started) / 1000).toFixed(0)} s, JavaScript ${((jsDone - trained) / 1000).toFixed(0)} s, ` +
      `Python decoding ${((Date.now() - jsDone) / 1000).toFixed(0)} s)`);
    const bad = rows.filter((r) => r.pyStateless + r.pySessions + r.jsStateless + r.jsSessions > 0);
    if (bad.length) {
      const file = join(dir, "mismatches.json");
      writeFileSync(file, JSON.stringify(bad.map((r) => ({ name: r.name, examples: r.examples.slice(0, 10) }))));
      t.diagnostic(`mismatches: ${file}`);
    }
    assert.deepEqual(bad.map((r) => r.name), []);
    // The sets exercise what they are meant to: templates on the logs, BRIO's context in sessions.
    const kinds = (prefix) => rows.filter((r) => r.name.startsWith(prefix)).reduce((acc, r) => {
      for (const [k, n] of Object.entries(r.kinds)) acc[k] = (acc[k] ?? 0) + n;
      return acc;
    }, {});
    const logs = rows.filter((r) => r.name.startsWith("logs/") && r.name.endsWith(" templates"));
    assert.equal(logs.length, 10);
    for (const r of logs) assert.ok(r.kinds["00"] > r.messages / 4, `${r.name}: templates carry log lines, stateless and in sessions`);
    assert.ok(kinds("chat/")["13"] > 0, "BRIO's session context is used");
    // zstd's: JavaScript encodes zstd frames, stateless and in the session
    // context, and Python decodes them (the mismatches above).
    const zstdRows = rows.filter((r) => r.name.endsWith(" zstd"));
    assert.equal(zstdRows.length, 6);
    for (const key of ["02", "12"]) {
      assert.ok(zstdRows.every((r) => r.jsKinds[key] > 0), `JavaScript writes 0x${key} frames in every zstd set`);
      assert.ok(zstdRows.every((r) => r.kinds[key] > 0), `Python writes 0x${key} frames in every zstd set`);
    }
  });
