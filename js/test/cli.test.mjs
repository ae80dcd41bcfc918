// auracodec-js compress|decompress against Python's auracodec on the command
// line: frames and JSON lines move between the two, byte for byte.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CORPUS, HERE, PYTHON, REPO, noCorpus, noPython, tempDir } from "./helpers.mjs";
import { writeProfiles } from "./ws-server.mjs";

const CLI = join(HERE, "..", "cli", "auracodec-js.mjs");
const dir = tempDir("auracodec-cli-");
const profiles = writeProfiles(dir);
const skip = noPython ?? noCorpus ?? false;

/** Run a command; { status, stdout (Buffer), stderr (string) }. */
function run(argv, input = Buffer.alloc(0)) {
  const r = spawnSync(argv[0], argv.slice(1), {
    input,
    env: { ...process.env, PYTHONPATH: join(REPO, "src"), PYTHONHASHSEED: "0", NO_COLOR: "1", COLUMNS: "2000" },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}
const py = (...args) => [PYTHON, "-m", "auracodec", ...args];
const js = (...args) => [process.execPath, CLI, ...args];
const ok = (r, what) => {
  assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
};

/** Corpus samples: chat and JSON lines with their fields, log lines as text, and edge cases. */
function samples() {
  const head = (path, n) => readFileSync(path).toString("utf8").split("\n").slice(0, n).join("\n") + "\n";
  const files = {
    "chat.jsonl": head(join(CORPUS, "chat", "test.jsonl"), 120),
    "json.jsonl": head(join(CORPUS, "json", "messages.jsonl"), 120),
    "apache.log": head(join(CORPUS, "logs", "Apache", "Apache_2k.log"), 120),
    "edge.jsonl": [
      '{"text": "", "id": 1}',
      "",
      '{"id": 12345678901234567890, "text": "héllo ✓ 🎉 \\u0001 \\"q\\" \\\\", "f": [1.0, 1e16, 1e-05, 2.5e-7, -0.0, 123456789.125], "n": {"a": null, "b": true, "2": false}}',
      '  {"text": "tab\\tnew\\nline", "role": "human", "conv": 7}  ',
      '{"text": "dup", "k": 1, "k": 2, "data": "kept?"}',
    ].join("\n") + "\n",
  };
  const paths = {};
  for (const [name, text] of Object.entries(files)) writeFileSync((paths[name] = join(dir, name)), text);
  // Lines that are not UTF-8: decompress writes them as "data" (base64).
  writeFileSync((paths["latin1.txt"] = join(dir, "latin1.txt")), Buffer.from("caf\xe9 cr\xe8me\r\nplain line\n\n\xff\xfe\n", "latin1"));
  return paths;
}

describe("auracodec-js and Python's auracodec exchange frames", { skip }, () => {
  const paths = skip ? {} : samples();
  for (const profile of ["identity", "templates"]) {
    for (const name of Object.keys(paths)) {
      test(`${profile}: ${name}, Python compress | JS decompress and JS compress | Python decompress`, () => {
        const cfg = ["--config", profiles[profile]];
        const pyFrames = ok(run(py("compress", paths[name], ...cfg)), "python compress");
        const jsFrames = ok(run(js("compress", paths[name], ...cfg)), "js compress");
        const want = ok(run(py("decompress", ...cfg), pyFrames), "python decompress");
        assert.ok(want.length > 0);
        assert.equal(ok(run(js("decompress", ...cfg), pyFrames), "js decompress").toString(), want.toString());
        assert.equal(ok(run(py("decompress", ...cfg), jsFrames), "python decompress of js frames").toString(), want.toString());
        // Same records (frame aside, where the two policies may choose differently).
        const strip = (b) => b.toString().split("\n").filter(Boolean).map((l) => {
          const o = JSON.parse(l);
          delete o.frame;
          delete o.method;
          delete o.frame_size;
          return JSON.stringify(o);
        });
        assert.deepEqual(strip(jsFrames), strip(pyFrames));
        if (profile === "identity") assert.equal(jsFrames.toString(), pyFrames.toString());
      });
    }
  }

  test("stdin: JSONL when it starts with '{', else text lines", () => {
    for (const input of [readFileSync(paths["chat.jsonl"]), readFileSync(paths["apache.log"])]) {
      const cfg = ["--config", profiles.identity];
      assert.equal(ok(run(js("compress", ...cfg), input), "js").toString(), ok(run(py("compress", ...cfg), input), "py").toString());
    }
  });

  test("a directory: its *.jsonl, *.txt and *.log files in sorted order", () => {
    const cfg = ["--config", profiles.identity];
    assert.equal(ok(run(js("compress", dir, ...cfg)), "js").toString(), ok(run(py("compress", dir, ...cfg)), "py").toString());
  });

  test("--raw: one message, one binary frame, both ways", () => {
    const cfg = ["--config", profiles.templates];
    for (const message of [Buffer.from('{"user":"nelly","id":80351110224678912}'), Buffer.from([0xff, 0, 0x80, 0x41]), Buffer.alloc(0)]) {
      const pyFrame = ok(run(py("compress", "--raw", ...cfg), message), "py");
      const jsFrame = ok(run(js("compress", "--raw", ...cfg), message), "js");
      assert.deepEqual(ok(run(js("decompress", "--raw", ...cfg), pyFrame), "js"), message);
      assert.deepEqual(ok(run(py("decompress", "--raw", ...cfg), jsFrame), "py"), message);
    }
  });
});

describe("exit statuses and messages are Python's", { skip }, () => {
  const cfg = ["--config", profiles.identity];
  const both = (args, input) => [run(py(...args), input), run(js(...args), input)];

  test("JSONL frames that do not decode: the others still come out, exit 1", () => {
    const input = Buffer.from([
      '{"frame": "BGhp", "conv": "a"}', '{"frame": "/gE="}', '{"frame": "BGhp!"}', '{"frame": "BGh"}', '{"frame": "BGhpa"}',
      '{"frame": "=BGh"}', '{"frame": "BG==hp"}', '{"frame": "BGhpaQ==="}', '{"frame": "é"}', '{"frame": ""}', '{"frame": "BA=="}',
      '{"frame": "BGhp="}', '{"frame": "BGh=="}', '{"frame": "BG="}', '{"frame": "BG=h="}', '{"frame": "B==="}', '{"frame": "BG!h"}',
    ].join("\n") + "\n");
    const [p, j] = both(["decompress", ...cfg], input);
    assert.equal(p.status, 1);
    assert.equal(j.status, 1);
    assert.equal(j.stdout.toString(), p.stdout.toString());
    assert.equal(j.stderr.replaceAll("auracodec-js", "auracodec"), p.stderr);
  });

  test("--raw, a frame that does not decode: exit 2 (Python reports it as an error, not a failure)", () => {
    const [p, j] = both(["decompress", "--raw", ...cfg], Buffer.from([0xfe, 1]));
    assert.equal(p.status, 2);
    assert.equal(j.status, 2);
    assert.equal(j.stderr.replaceAll("auracodec-js", "auracodec"), p.stderr);
  });

  test("input errors exit 2", () => {
    for (const [args, input] of [
      [["decompress", ...cfg], "not json\n"],
      [["decompress", ...cfg], '{"frames": "x"}\n'],
      [["compress", ...cfg], '{"text": 1}\n'],
      [["compress", ...cfg], '{"text": "a", "frame_size": 1}\n'],
      [["compress", join(dir, "missing.jsonl"), ...cfg], ""],
      [["decompress", join(dir, "missing.jsonl"), ...cfg], ""],
      [["compress", "--raw", "a", "b", ...cfg], ""],
      [["compress", "--config", join(dir, "missing.toml")], "x\n"],
      [["compress", "--bogus"], ""],
      [["frobnicate"], ""],
    ]) {
      const [p, j] = both(args, Buffer.from(input));
      assert.equal(p.status, 2, `python ${args.join(" ")}: ${p.stderr}`);
      assert.equal(j.status, 2, `js ${args.join(" ")}: ${j.stderr}`);
      assert.equal(j.stdout.length, 0);
    }
  });
});

// The full pipeline once the WebAssembly codecs are in Profile.pipeline().
const { loadProfile } = await import("../dist/node.js");
const fullSkip = skip || await (async () => {
  const pipe = (await loadProfile(profiles.full)).pipeline();
  const missing = [...pipe.codecs.values()].filter((c) => c.constructor.name === "Unavailable").map((c) => c.name);
  return missing.length ? `the WebAssembly codecs are not wired into Profile.pipeline() yet (${missing.join(", ")} unavailable)` : false;
})();

describe("the full pipeline (BRIO, zstd, brotli, templates)", { skip: fullSkip }, () => {
  const paths = fullSkip ? {} : samples();
  for (const name of ["chat.jsonl", "json.jsonl", "apache.log", "latin1.txt"]) {
    test(`${name}: Python's frames decode in JS, JS's in Python`, () => {
      const cfg = ["--config", profiles.full];
      const pyFrames = ok(run(py("compress", paths[name], ...cfg)), "python compress");
      const methods = new Set(pyFrames.toString().split("\n").filter(Boolean).map((l) => JSON.parse(l).method));
      const want = ok(run(py("decompress", ...cfg), pyFrames), "python decompress");
      assert.equal(ok(run(js("decompress", ...cfg), pyFrames), "js decompress").toString(), want.toString(), [...methods].join(", "));
      const jsFrames = ok(run(js("compress", paths[name], ...cfg)), "js compress");
      assert.equal(ok(run(py("decompress", ...cfg), jsFrames), "python decompress of js frames").toString(), want.toString());
    });
  }
});
