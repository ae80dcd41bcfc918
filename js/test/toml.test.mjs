// src/toml.ts, the client's TOML reader, against Python's tomllib (the
// oracle, run by py/toml_oracle.py): the repository's TOML, a few thousand
// generated and mutated documents, trained profiles; and hand-written cases
// for each feature and each error. Intended differences from tomllib (see
// the module's docstring): integers are bigints; dates and times are
// refused; nesting stops at 100.
//
// The module under test is dist/toml.js (npm run build); when that is
// missing or older than src/toml.ts, src/toml.ts compiled alone with
// esbuild, so these tests also run before a build.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { HERE, PYTHON, REPO, noPython, tempDir } from "./helpers.mjs";

const SOURCE = join(HERE, "..", "src", "toml.ts");
const DIST = join(HERE, "..", "dist", "toml.js");
const ORACLE = join(HERE, "py", "toml_oracle.py");

/** The module under test and where it came from, or a reason to skip. */
async function loadModule() {
  if (existsSync(DIST) && statSync(DIST).mtimeMs >= statSync(SOURCE).mtimeMs) {
    return { module: await import(pathToFileURL(DIST).href), from: "dist/toml.js" };
  }
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    return { skip: "no dist/toml.js (npm run build) and no esbuild to compile src/toml.ts" };
  }
  const { code } = esbuild.transformSync(readFileSync(SOURCE, "utf8"), { loader: "ts", format: "esm", target: "es2022" });
  const file = join(tempDir("auracodec-toml-"), "toml.mjs");
  writeFileSync(file, code);
  return { module: await import(pathToFileURL(file).href), from: "src/toml.ts (esbuild)" };
}

const loaded = await loadModule();
const skip = loaded.skip ?? false;
const { parse, TomlError } = loaded.module ?? {};

/** A Python that has tomllib (3.11+), or null. */
function findOracle() {
  for (const python of [process.env.AURACODEC_PYTHON, PYTHON, "python3", "python"]) {
    if (!python) continue;
    try {
      execFileSync(python, ["-c", "import tomllib"], { stdio: "ignore" });
      return python;
    } catch {
      // not there, or older than 3.11: try the next
    }
  }
  return null;
}
const oraclePython = skip ? null : findOracle();
const noOracle = skip || (oraclePython ? false : "no Python 3.11+ (tomllib) found: set AURACODEC_PYTHON");

/** tomllib's outcome for each document (py/toml_oracle.py). */
function oracle(documents) {
  const dir = tempDir("auracodec-toml-");
  writeFileSync(join(dir, "in.json"), JSON.stringify(documents));
  execFileSync(oraclePython, [ORACLE, join(dir, "in.json"), join(dir, "out.json")], { stdio: ["ignore", "ignore", "inherit"] });
  return JSON.parse(readFileSync(join(dir, "out.json"), "utf8"));
}

/** A parsed value as the oracle tags it (py/toml_oracle.py's docstring). */
function tagged(v) {
  if (typeof v === "boolean") return ["bool", v];
  if (typeof v === "bigint") return ["int", v.toString()];
  if (typeof v === "number") {
    if (Number.isNaN(v)) return ["float", "nan"];
    const bytes = new DataView(new ArrayBuffer(8));
    bytes.setFloat64(0, v);
    return ["float", bytes.getBigUint64(0).toString(16).padStart(16, "0")];
  }
  if (typeof v === "string") return ["str", v];
  if (Array.isArray(v)) return ["array", v.map(tagged)];
  if (typeof v === "object" && v !== null && Object.getPrototypeOf(v) === null) {
    return ["table", Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tagged(x)]))];
  }
  return ["not a TOML value", String(v)];
}

const POSITION = /\(at line \d+, column \d+\)$/;

/** How `read`'s outcome on `text` differs from tomllib's, or null when it agrees. */
function difference(read, text, want) {
  let got;
  try {
    got = tagged(read(text));
  } catch (err) {
    if (!(err instanceof TomlError) || !POSITION.test(err.message)) return `threw ${err}`;
    if (want.error !== undefined) return null;
    if (want.date && /TOML dates and times are not supported/.test(err.message)) return null;
    return `refused (${err.message}); tomllib accepted`;
  }
  if (want.error !== undefined) return `accepted; tomllib refused (${want.error})`;
  if (want.date) return "accepted what the client must refuse (a date)";
  try {
    assert.deepStrictEqual(got, want.ok);
    return null;
  } catch (err) {
    return `values differ: ${err.message.slice(0, 400)}`;
  }
}

/** Every document on which `read` and tomllib disagree: [document, how]. */
function differences(read, documents, outcomes) {
  return documents.map((text, k) => [text, difference(read, text, outcomes[k])]).filter(([, how]) => how !== null);
}

function assertAgrees(documents, outcomes) {
  const diffs = differences(parse, documents, outcomes);
  const shown = diffs.slice(0, 5).map(([text, how]) => `${JSON.stringify(text).slice(0, 300)}\n    ${how}`);
  assert.equal(diffs.length, 0, `${diffs.length} of ${documents.length} documents differ from tomllib:\n${shown.join("\n")}`);
}

// --- Documents -------------------------------------------------------------

/** The repository's TOML files and the ```toml blocks of its docs. */
function repositoryDocuments() {
  const files = execFileSync("git", ["ls-files", "*.toml"], { cwd: REPO, encoding: "utf8" }).split("\n").filter(Boolean);
  const docs = files.map((f) => readFileSync(join(REPO, f), "utf8"));
  const pages = ["README.md", ...readdirSync(join(REPO, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))];
  for (const page of pages) {
    for (const m of readFileSync(join(REPO, page), "utf8").matchAll(/^```toml\n([\s\S]*?)^```/gm)) docs.push(m[1]);
  }
  return docs;
}

/** Valid TOML that uses every feature (the last document, what the client refuses on purpose), to mutate. */
const FEATURES = [
  '# a comment\n\n[pipeline]\nmax_message_size = 4194304 # trailing\ncodecs = ["brio", "zstd"]\n',
  '[a.b."c d"]\nx = 1\n[a]\ny = 2\n[ a . "b" . \'c d\' . e ]\n',
  '[[t]]\nid = 0\ntext = "Go on."\n[[t]]\nid = 1\n[t.sub]\nk = "v"\n[[t.sub.list]]\n[[t]]\n',
  'bare-key_1 = 1\n"quoted \\" key" = 2\n\'literal key\' = 3\n"" = 4\na.b.c = 5\na . d = 6\n',
  's = "\\b\\t\\n\\f\\r\\"\\\\ \\u00e9 \\U0001F600 tab:\t."\nl = \'C:\\path\\{int}\'\n',
  'm = """\nfirst\n  second \\\n    continued\\\n\n  end"""\nq = """ends with quotes"""""\n',
  "ml = '''\nraw \\n text\n'''\nq = '''two more'''''\n",
  "i = [1_000, -17, +3, 0, -0, 0xDEAD_beef, 0o755, 0b1101, 9223372036854775807, -9223372036854775808]\n",
  "f = [1.5, -0.0, 1e10, 6.626e-34, 1_000.5e+1_0, 3E2, inf, -inf, +inf, nan, -nan, +nan]\n",
  "b = [true, false]\nmixed = [1, 'two', 3.0, [4], {five = 5}]\n",
  "a = [\n  1, # one\n  2,\n\n  # between\n  3,\n]\nempty = [ ]\nnested = [[1, 2], [], [[]]]\n",
  'point = { x = 1, y = 2 }\nnest = { a = { b = { c = 1 } }, d.e = "f" }\nnone = {}\n',
  '[fruit]\napple.color = "red"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n',
  '__proto__ = 1\nconstructor = 2\n[toString]\nhasOwnProperty = 3\n',
  "[library]\nformat = 1\nname = \"discovered\"\n\n[[template]]\nid = 0\ntext = \"user {int} from {ipv4}\"\nretired = true\n",
  "a = 1\r\nb = \"\"\"x\r\ny\"\"\"\r\n# crlf\r\n",
  "d = 1979-05-27\nt = 07:32:00\nodt = 1979-05-27T07:32:00Z\nbig = 9223372036854775808\n",
];

/** A seeded PRNG (mulberry32): integers below `n`. */
function random(seed) {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

/** What mutations insert: TOML's punctuation, escapes, number parts, control characters. */
const TOKENS = [
  '"', "'", '"""', "'''", "[", "]", "[[", "]]", "{", "}", "=", ".", ",", "#", "\n", " ", "\t", "\\", "\\u", "\\U0010FFFF",
  "\\uD800", "\\uDFFF", "\\x41", "\\e", "0", "1", "9", "_", "+", "-", "e", "E", "x", "o", "b", "inf", "nan", "true", "\r", "\r\n", "\0",
  "\x7f", "\x1f", "\x08", "a", "é", "😀", "1979-05-27", "07:32:00", "9223372036854775808", "a.b", "[a]", "[[a]]", "a = 1\n", "\ufeff",
];

/** `text` with one random edit (by code points, so no lone surrogates). */
function mutate(text, rand) {
  const chars = Array.from(text);
  const at = rand(chars.length + 1);
  const token = TOKENS[rand(TOKENS.length)];
  const lines = text.split("\n");
  const line = rand(lines.length);
  switch (rand(7)) {
    case 0: chars.splice(at, 1 + rand(3)); return chars.join("");
    case 1: chars.splice(at, 0, token); return chars.join("");
    case 2: chars.splice(at, 1, token); return chars.join("");
    case 3: lines.splice(line, 0, lines[line]); return lines.join("\n"); // a duplicate key or table
    case 4: lines.splice(line, 1); return lines.join("\n");
    case 5: lines.splice(rand(lines.length), 0, lines.splice(line, 1)[0]); return lines.join("\n");
    default: return chars.slice(0, at).join("");
  }
}

/** A short document of headers and dotted keys over a few names: the table rules' corner cases. */
function tableDocument(rand) {
  const path = () => Array.from({ length: 1 + rand(3) }, () => "abc"[rand(3)]).join(".");
  const values = ["1", "{}", "{ x = 1 }", "{ y.z = 2 }", "[]", "[{}]", '"s"', "1.5", "[[1], {a = 1}]"];
  const lines = [];
  for (let n = 1 + rand(7); n > 0; n--) {
    const kind = rand(10);
    if (kind < 3) lines.push(`[${path()}]`);
    else if (kind < 5) lines.push(`[[${path()}]]`);
    else lines.push(`${path()} = ${values[rand(values.length)]}`);
  }
  return lines.join("\n") + "\n";
}

function generatedDocuments() {
  const rand = random(20240611);
  const seeds = [...repositoryDocuments(), ...FEATURES];
  const docs = [];
  for (const seed of seeds) {
    for (let n = 0; n < 60; n++) {
      let text = seed;
      for (let edits = 1 + rand(2); edits > 0; edits--) text = mutate(text, rand);
      docs.push(text);
    }
  }
  for (let n = 0; n < 1500; n++) docs.push(tableDocument(rand));
  return docs;
}

// --- 1. Differential, against tomllib ---------------------------------------------

test(`the repository's TOML files and the docs' TOML blocks read as tomllib reads them (${loaded.from ?? "skipped"})`, { skip: noOracle }, () => {
  const docs = repositoryDocuments();
  assert.ok(docs.length >= 10, `only ${docs.length} documents found`);
  const outcomes = oracle(docs);
  assertAgrees(docs, outcomes);
  assert.ok(outcomes.filter((o) => o.ok).length >= 10, "tomllib accepted fewer than 10 of them");
});

test("generated and mutated documents: accepted with tomllib's values, or refused, as tomllib does", { skip: noOracle }, (t) => {
  const docs = [...FEATURES, ...generatedDocuments()];
  const outcomes = oracle(docs);
  assertAgrees(docs, outcomes);
  // Both kinds, in numbers: a generator that makes only errors would prove little.
  const accepted = outcomes.filter((o) => o.ok && !o.date).length;
  const refusedOnPurpose = outcomes.filter((o) => o.date).length;
  t.diagnostic(`${docs.length} documents: ${accepted} accepted, ${refusedOnPurpose} refused on purpose (dates), ${docs.length - accepted - refusedOnPurpose} refused by both`);
  assert.ok(accepted >= 800 && docs.length - accepted >= 800, `${accepted} of ${docs.length} accepted`);
  assert.deepEqual(FEATURES.map((_, k) => outcomes[k].error ?? "ok"), FEATURES.map(() => "ok"), "every feature document is valid TOML");
});

test("the differential test fails a reader that is wrong", { skip: noOracle }, () => {
  const docs = [...FEATURES, ...generatedDocuments().slice(0, 400)];
  const outcomes = oracle(docs);
  const lenient = (text) => {
    try {
      return parse(text);
    } catch {
      return Object.create(null);
    }
  };
  const toNumbers = (v) => {
    if (typeof v === "bigint") return Number(v);
    if (typeof v === "object") for (const k of Object.keys(v)) v[k] = toNumbers(v[k]);
    return v;
  };
  const numbers = (text) => toNumbers(parse(text));
  const lastWins = (text) => parse(text.replace(/^(\w+) = .*\n(?=[^]*^\1 = )/gm, ""));
  for (const broken of [lenient, numbers, lastWins]) {
    assert.ok(differences(broken, docs, outcomes).length > 0, `${broken.name} passed`);
  }
});

// --- 2. Hand-written cases -----------------------------------------------------------

/** Tables as plain objects, for assert.deepEqual. */
function plain(v) {
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

const read = (text) => plain(parse(text));

test("values: strings, integers (bigints), floats, booleans, arrays, inline tables", { skip }, () => {
  assert.deepEqual(read('s = "\\b\\t\\n\\f\\r\\"\\\\\\u00e9\\U0001F600"\nl = \'a\\b "c"\''), { s: '\b\t\n\f\r"\\é😀', l: 'a\\b "c"' });
  assert.deepEqual(read('m = """\nline one\n  line two"""'), { m: "line one\n  line two" });
  assert.deepEqual(read('m = """a \\\n\n    b\\   \n c"""'), { m: "a bc" });
  assert.deepEqual(read('m = """"quoted"""""'), { m: '"quoted""' });
  assert.deepEqual(read("m = '''\n\\no escapes\\'''"), { m: "\\no escapes\\" });
  assert.deepEqual(read("m = ''''one''''"), { m: "'one'" });
  assert.deepEqual(read("a = 1\r\nb = '''x\r\ny'''\r\n"), { a: 1n, b: "x\ny" });
  assert.deepEqual(read("i = [1_000, -17, +3, -0, 0xDEAD_beef, 0o755, 0b1101, 9223372036854775807, -9223372036854775808]"), {
    i: [1000n, -17n, 3n, 0n, 0xdeadbeefn, 0o755n, 13n, 2n ** 63n - 1n, -(2n ** 63n)],
  });
  const f = parse("f = [1.0, -0.0, 1e3, 6.626e-34, 1_0.5E+1_0, inf, -inf, +inf, nan, -nan]").f;
  assert.deepEqual(f.slice(0, 8), [1, -0, 1000, 6.626e-34, 10.5e10, Infinity, -Infinity, Infinity]);
  assert.ok(Object.is(f[1], -0) && Number.isNaN(f[8]) && Number.isNaN(f[9]));
  assert.equal(typeof parse("a = 1").a, "bigint");
  assert.equal(typeof parse("a = 1.0").a, "number");
  assert.deepEqual(read("b = [true, false]"), { b: [true, false] });
  assert.deepEqual(read("a = [\n  1, # one\n\n  'two',\n  [3.5], {x = 4}, # trailing comma\n]\ne = [ ]"), {
    a: [1n, "two", [3.5], { x: 4n }],
    e: [],
  });
  assert.deepEqual(read('t = { x = 1, y.z = "a", w = { v = [] } }\ne = {}'), { t: { x: 1n, y: { z: "a" }, w: { v: [] } }, e: {} });
});

test("keys and tables: bare, quoted, literal, dotted keys; [tables]; [[arrays of tables]]", { skip }, () => {
  assert.deepEqual(read('bare-key_1 = 1\n"a \\"b\\"" = 2\n\'c.d\' = 3\n"" = 4\n1234 = 5\nx . y."z" = 6'), {
    "bare-key_1": 1n, 'a "b"': 2n, "c.d": 3n, "": 4n, 1234: 5n, x: { y: { z: 6n } },
  });
  assert.deepEqual(read('[a.b."c d"]\nx = 1\n[a]\ny = 2\n[ a . e ]'), { a: { b: { "c d": { x: 1n } }, y: 2n, e: {} } });
  assert.deepEqual(read("[[t]]\nid = 0\n[t.sub]\nk = 1\n[[t.sub.list]]\n[[t]]\nid = 1\n"), {
    t: [{ id: 0n, sub: { k: 1n, list: [{}] } }, { id: 1n }],
  });
  assert.deepEqual(read('[fruit]\napple.color = "red"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true'), {
    fruit: { apple: { color: "red", taste: { sweet: true }, texture: { smooth: true } } },
  });
  assert.deepEqual(read("# only\n\n   # comments\t\n"), {});
  const t = parse('__proto__ = 1\n[constructor]\nx = "y"');
  assert.equal(Object.getPrototypeOf(t), null);
  assert.equal(Object.getPrototypeOf(t.constructor), null);
  assert.deepEqual(Object.keys(t), ["__proto__", "constructor"]);
  assert.equal(t.__proto__, 1n);
});

// [document, message (a regular expression), line, column]
const ERRORS = [
  // Duplicates and redefinitions.
  ["a = 1\na = 2", /^duplicate key "a"/, 2, 1],
  ["[a]\nx = 1\n[a]", /^table "a" is already defined/, 3, 2],
  ["a.b = 1\n[a]", /^table "a" is already defined/, 2, 2],
  ["[a.b]\n[a]\nb.c = 1", /^"b" is already defined/, 3, 1],
  ["[a]\nb = 1\n[a.b]", /^table "b" is already defined/, 3, 2],
  ["a = 1\n[a.b]", /^"a" is already defined/, 2, 2],
  ["a = 1\na.b = 2", /^"a" is already defined/, 2, 1],
  ["a = {b = 1}\n[a]", /^table "a" is already defined/, 2, 2],
  ["a = {b = 1}\na.c = 2", /^"a" is already defined/, 2, 1],
  ["a = { b = {c = 1}, b.d = 2 }", /^"b" is already defined/, 1, 20],
  ["a = [1]\n[[a]]", /^"a" is already defined, not as an array of tables/, 2, 3],
  ["a = []\n[[a]]", /^"a" is already defined, not as an array of tables/, 2, 3],
  ["[[a]]\n[a]", /^table "a" is already defined/, 2, 2],
  ["[a]\n[[a]]", /^"a" is already defined, not as an array of tables/, 2, 3],
  ["[[a]]\nb.c = 1\n[a.b]", /^table "b" is already defined/, 3, 2],
  // Syntax.
  ["a = ", /^expected a value, got the end of the document/, 1, 5],
  ["a = 1 2", /^expected a new line, got "2"/, 1, 7],
  ["a 1", /^expected '=' after a key, got "1"/, 1, 3],
  ["= 1", /^expected a key, got "="/, 1, 1],
  ["[a", /^expected '\]', got the end of the document/, 1, 3],
  ["[[a]", /^expected '\]\]', got "\]"/, 1, 4],
  ["[a]]", /^expected a new line, got "\]"/, 1, 4],
  ["a = [1 2]", /^expected ',' or '\]', got "2"/, 1, 8],
  ["a = [1,,]", /^expected a value, got ","/, 1, 8],
  ["a = {b = 1,}", /^expected a key, got "}"/, 1, 12],
  ["a = {b = 1\n}", /^expected ',' or '}', got "\\n"/, 1, 11],
  ["a = {\nb = 1}", /^expected a key, got "\\n"/, 1, 6],
  ['a = "x', /^unterminated string/, 1, 7],
  ['a = "x\n"', /^control character in a string/, 1, 7],
  ["a = '''x", /^unterminated string/, 1, 9],
  ['a = """x""""""', /^expected a new line, got "\\""/, 1, 14],
  ['"""a""" = 1', /^expected '=' after a key, got "\\""/, 1, 3],
  ["a = 1\rb = 2", /^expected a new line, got "\\r"/, 1, 6],
  ["a = tru", /^expected a value, got "t"/, 1, 5],
  ["a = True", /^expected a value, got "T"/, 1, 5],
  ["a = yes", /^expected a value, got "y"/, 1, 5],
  ["\ufeffa = 1", /^expected a key, got "\ufeff"/, 1, 1],
  ["a = " + "[".repeat(101) + "]".repeat(101), /^arrays and inline tables nested more than 100 deep/, 1, 105],
  // Control characters.
  ['a = "\x01"', /^control character in a string/, 1, 6],
  ["a = '\x7f'", /^control character in a string/, 1, 6],
  ['a = """\x00"""', /^control character in a string/, 1, 8],
  ["a = 1 # \x1f", /^control character in a comment/, 1, 9],
  // Escapes.
  ['a = "\\x41"', /^invalid escape "\\\\x"/, 1, 6],
  ['a = "\\ "', /^invalid escape "\\\\ "/, 1, 6],
  ['a = "x\\\ny"', /^invalid escape "\\\\\\n"/, 1, 7],
  ['a = """\\ x"""', /^invalid escape "\\\\ "/, 1, 8],
  ['a = "\\uD800"', /^\\uD800 is not the escape of a Unicode scalar value/, 1, 6],
  ['a = "\\uDFFF"', /^\\uDFFF is not the escape of a Unicode scalar value/, 1, 6],
  ['a = "\\U00110000"', /^\\U00110000 is not the escape of a Unicode scalar value/, 1, 6],
  ['a = "\\u12"', /^invalid escape "\\\\u"/, 1, 6],
  ['a = "\\U0001F60"', /^invalid escape "\\\\U"/, 1, 6],
  // Integers and floats.
  ["a = 01", /^expected a new line, got "1"/, 1, 6],
  ["a = +0x1", /^expected a new line, got "x"/, 1, 7],
  ["a = 0X1", /^expected a new line, got "X"/, 1, 6],
  ["a = 1__0", /^expected a new line, got "_"/, 1, 6],
  ["a = 1_", /^expected a new line, got "_"/, 1, 6],
  ["a = _1", /^expected a value, got "_"/, 1, 5],
  ["a = 0x", /^expected a new line, got "x"/, 1, 6],
  ["a = 1.", /^expected a new line, got "\."/, 1, 6],
  ["a = .5", /^expected a value, got "\."/, 1, 5],
  ["a = 1e", /^expected a new line, got "e"/, 1, 6],
  ["a = Inf", /^expected a value, got "I"/, 1, 5],
  // Dates and times.
  ["a = 1979-05-27", /^TOML dates and times are not supported by the JavaScript client/, 1, 5],
  ["\n\n  a = [1, 07:32:00]", /^TOML dates and times are not supported by the JavaScript client/, 3, 11],
  ["a = 1979-05-27T07:32:00Z", /^TOML dates and times are not supported by the JavaScript client/, 1, 5],
];

test("errors: TomlError with what was expected, what came, and where", { skip }, () => {
  for (const [text, message, line, column] of ERRORS) {
    assert.throws(() => parse(text), (err) => {
      assert.ok(err instanceof TomlError && err instanceof Error, `${JSON.stringify(text)}: ${err}`);
      assert.equal(err.name, "TomlError");
      assert.match(err.message, message, JSON.stringify(text));
      assert.deepEqual([err.line, err.column], [line, column], `${JSON.stringify(text)}: ${err.message}`);
      assert.ok(err.message.endsWith(` (at line ${line}, column ${column})`), err.message);
      return true;
    });
  }
});

test("errors: the hand-written ones are errors for tomllib too (but the dates and the nesting limit)", { skip: noOracle }, () => {
  const outcomes = oracle(ERRORS.map(([text]) => text));
  const accepted = ERRORS.filter((_, k) => outcomes[k].ok).map(([text]) => text);
  assert.deepEqual(accepted, [
    "a = " + "[".repeat(101) + "]".repeat(101),
    "a = 1979-05-27",
    "\n\n  a = [1, 07:32:00]",
    "a = 1979-05-27T07:32:00Z",
  ]);
});

// --- 3. Trained profiles ---------------------------------------------------------

/** Every .toml file of a profile directory, as [name, text]. */
function profileFiles(dir) {
  return readdirSync(dir).filter((f) => f.endsWith(".toml")).sort().map((f) => [f, readFileSync(join(dir, f), "utf8")]);
}

function assertProfile(dir) {
  const files = profileFiles(dir);
  assert.ok(files.some(([f]) => f === "auracodec.toml"), `no auracodec.toml in ${dir}`);
  const outcomes = oracle(files.map(([, text]) => text));
  files.forEach(([name], k) => assert.ok(outcomes[k].ok, `tomllib refused ${name}: ${outcomes[k].error}`));
  assertAgrees(files.map(([, text]) => text), outcomes);
  return Object.fromEntries(files.map(([name, text]) => [name, parse(text)]));
}

test("a profile trained by Python (auracodec train on a generated corpus) reads as tomllib reads it", {
  skip: noOracle || noPython || false, timeout: 120_000,
}, () => {
  const dir = tempDir("auracodec-toml-");
  const rand = random(7);
  const lines = [];
  for (let n = 0; n < 3000; n++) {
    const k = rand(6);
    if (k === 0) lines.push(`user ${rand(10000)} logged in from 10.0.${rand(256)}.${rand(256)}`);
    else if (k === 1) lines.push(`request GET /api/items/${rand(999)} took ${rand(500)} ms`);
    else if (k === 2) lines.push(`path "C:\\temp\\${rand(99)}" not found\t(retry ${rand(9)})`);
    else if (k === 3) lines.push(`café ☕ order ${rand(1000)} ready for 😀 ${rand(100)}`);
    else if (k === 4) lines.push(`worker ${rand(16)} finished job ${rand(1e6)} status='ok' # done`);
    else lines.push(`cache miss for key item:${rand(99999)} \\ """ '''`);
  }
  writeFileSync(join(dir, "app.log"), lines.join("\n") + "\n");
  execFileSync(PYTHON, ["-m", "auracodec", "train", join(dir, "app.log"), "-o", join(dir, "profile")], { stdio: "ignore" });
  const data = assertProfile(join(dir, "profile"));
  const texts = data["templates.toml"].template.map((t) => t.text);
  assert.ok(texts.length >= 4, `only ${texts.length} templates learned`);
  assert.ok(texts.some((t) => t.includes('"C:\\temp\\')) && texts.some((t) => t.includes("☕")), texts.join(" | "));
});
