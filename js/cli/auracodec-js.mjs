#!/usr/bin/env node
// auracodec-js: `compress` and `decompress` for Node, the same formats,
// options and exit statuses as Python's `auracodec compress|decompress`
// (src/auracodec/cli/_compress.py), so frames move between the two:
//
//     auracodec-js compress [FILE ...] [--config PROFILE] [--raw]
//     auracodec-js decompress [FILE ...] [--config PROFILE] [--raw]
//
// JSONL in, JSONL out, one object per message. compress writes
// {"frame": base64, "method", "size", "frame_size", ...every field of the
// corpus line but "text"}; decompress writes {"text"} (or {"data"}, base64,
// for a message that is not UTF-8) and those fields. Files ending in .jsonl
// are JSON lines with a "text" field, others text with one message a line;
// stdin is JSONL when it starts with "{". --raw: the whole input is one
// message (one binary frame), the output one binary frame (one message).
//
// Exit status: 0 success; 1 when frames did not decode (JSONL decompress);
// 2 for usage, configuration and input errors, and (as in Python) for a
// --raw frame that does not decode; 141 when stdout's reader went away.

import { readFileSync, readdirSync, statSync, writeSync as fsWrite } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AuraError, DecodeError, Profile } from "../dist/index.js";
import { loadProfile } from "../dist/node.js";
import { JsonError, dumps, hasLoneSurrogate, int, loads, str } from "./pyjson.mjs";

const PROG = "auracodec-js";
/** The fields compress writes; a corpus line's own field of one of these names is refused. */
const FRAME_FIELDS = ["frame", "method", "size", "frame_size"];
const SUFFIXES = [".jsonl", ".txt", ".log"];
const USAGE = `usage: ${PROG} [-h] [--version] COMMAND ...`;

class Usage extends Error {}
/** The command ran and found failures (exit status 1). */
class Failed extends Error {}
/** An input error (exit status 2), as Python's AuraError or OSError. */
class InputError extends Error {}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

function help(command) {
  if (!command) {
    return `${USAGE}

Per-message compression for the wire: auracodec's compress and decompress
commands for Node, with the same formats as Python's \`auracodec\`.

positional arguments:
  COMMAND
    compress    Encode messages into frames.
    decompress  Decode frames into messages.

options:
  -h, --help    show this help message and exit
  --version     show program's version number and exit
`;
  }
  const what = command === "compress"
    ? ["Encode messages into frames.", "corpus files (default: stdin)", "the whole input is one message; write the binary frame to stdout"]
    : ["Decode frames into messages.", "JSONL from compress (default: stdin)", "the whole input is one binary frame; write the message to stdout"];
  return `usage: ${PROG} ${command} [-h] [--config FILE] [--raw] [FILE ...]

${what[0]}

positional arguments:
  FILE           ${what[1]}

options:
  -h, --help     show this help message and exit
  --config FILE  auracodec.toml or a trained profile directory (default:
                 built-in defaults)
  --raw          ${what[2]}
`;
}

function parseArgs(argv) {
  const args = { command: null, config: null, raw: false, files: [], help: false };
  let options = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (options && a === "--") options = false;
    else if (options && (a === "-h" || a === "--help")) args.help = true;
    else if (options && a === "--version" && args.command === null) args.version = true;
    else if (options && args.command !== null && a === "--raw") args.raw = true;
    else if (options && args.command !== null && (a === "--config" || a.startsWith("--config="))) {
      const value = a === "--config" ? argv[++i] : a.slice("--config=".length);
      if (value === undefined) throw new Usage("argument --config: expected one argument", args.command);
      args.config = value;
    } else if (options && a.startsWith("-") && a !== "-") {
      throw new Usage(`unrecognized arguments: ${a}`, args.command);
    } else if (args.command === null) {
      if (a !== "compress" && a !== "decompress") {
        throw new Usage(`argument COMMAND: invalid choice: '${a}' (choose from 'compress', 'decompress')`);
      }
      args.command = a;
    } else args.files.push(a);
  }
  return args;
}

// -- pipeline ---------------------------------------------------------------

async function loadPipeline(config) {
  const profile = config === null ? await Profile.defaults() : await loadProfile(config);
  // The WebAssembly codecs (BRIO, zstd, brotli) join here once Profile.pipeline()
  // builds them; until then frames of those codecs do not decode (CodecFault).
  return profile.pipeline();
}

// -- input ------------------------------------------------------------------

function osError(err, path) {
  const known = { ENOENT: [2, "No such file or directory"], EACCES: [13, "Permission denied"], EISDIR: [21, "Is a directory"] };
  const k = known[err.code];
  return new InputError(k ? `[Errno ${k[0]}] ${k[1]}: '${path}'` : err.message);
}

function readBytes(path) {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw osError(err, path);
  }
}

function readStdin() {
  try {
    return new Uint8Array(readFileSync(0));
  } catch (err) {
    if (err.code === "EAGAIN") throw new InputError("stdin is non-blocking; pipe the input in");
    throw err;
  }
}

/** Python's `str(Path(p))`: no "./" segments, no trailing slash. */
function pathName(p) {
  const abs = p.startsWith("/");
  const parts = p.split("/").filter((s) => s !== "" && s !== ".");
  return (abs ? "/" : "") + parts.join("/") || ".";
}

/** The files a corpus argument names (Python's corpus_files): directories searched for *.jsonl, *.txt, *.log. */
function* corpusFiles(paths) {
  for (const p of paths.map(pathName)) {
    let st = null;
    try {
      st = statSync(p);
    } catch {
      st = null;
    }
    if (st?.isDirectory()) {
      const found = [];
      const walk = (dir, parts) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const full = join(dir, e.name);
          if (e.isDirectory()) walk(full, [...parts, e.name]);
          else if (e.isFile() && SUFFIXES.some((s) => e.name.endsWith(s))) found.push([[...parts, e.name], full]);
        }
      };
      walk(p, []);
      if (!found.length) throw new InputError(`${p}: no *.jsonl, *.txt or *.log files in this directory`);
      found.sort((a, b) => comparePaths(a[0], b[0]));
      for (const [, full] of found) yield full;
    } else if (st?.isFile()) yield p;
    else throw new InputError(`${p}: no such file or directory`);
  }
}

/** PurePosixPath ordering: part by part, by code point. */
function comparePaths(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

/** Lines as Python's binary file iteration gives them, numbered from 1 (blank ones skipped). */
function* lines(data) {
  let start = 0;
  let number = 0;
  while (start < data.length) {
    let end = data.indexOf(0x0a, start);
    end = end < 0 ? data.length : end + 1;
    number++;
    const line = data.subarray(start, end);
    start = end;
    if (line.some((b) => !isSpace(b))) yield [number, line];
  }
}

const isSpace = (b) => b === 0x20 || (b >= 0x09 && b <= 0x0d);

/** One JSON line as Python's `json.loads(bytes)` reads it. */
function jsonLine(line) {
  let bytes = line;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  let text;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new JsonError("'utf-8' codec can't decode the line: not UTF-8");
  }
  return loads(text);
}

/** Every message of a corpus file with the other fields of its line (Python's _file_messages). */
function fileMessages(path, data) {
  const out = [];
  if (!path.endsWith(".jsonl")) {
    let start = 0;
    while (start <= data.length) {
      let end = data.indexOf(0x0a, start);
      if (end < 0) end = data.length;
      let line = data.subarray(start, end);
      if (line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
      if (line.length) out.push([line, []]);
      start = end + 1;
    }
    return out;
  }
  // The whole file is checked before any of its messages is written, as Python's reader does.
  for (const [number, line] of lines(data)) {
    const where = `${path}:${number}`;
    let obj;
    try {
      obj = jsonLine(line);
    } catch (err) {
      if (err instanceof JsonError) throw new InputError(`${where}: not a JSON line (${err.message})`);
      throw err;
    }
    const text = obj.t === "obj" ? obj.map.get("text") : undefined;
    if (text?.t !== "str") throw new InputError(`${where}: expected an object with a string 'text' field`);
    if (hasLoneSurrogate(text.s)) throw new InputError(`${where}: 'text' holds a lone surrogate, not text`);
    const fields = [...obj.map].filter(([k]) => k !== "text");
    out.push([encoder.encode(text.s), fields, where]);
  }
  for (const [, fields, where] of out) {
    for (const [k] of fields) {
      if (FRAME_FIELDS.includes(k)) {
        throw new InputError(`${where}: the line has a field '${k}', which compress writes itself; rename it to carry it through`);
      }
    }
  }
  return out;
}

function* messages(files) {
  if (files.length) {
    for (const path of corpusFiles(files)) yield* fileMessages(path, readBytes(path));
    return;
  }
  const data = readStdin();
  let i = 0;
  while (i < data.length && isSpace(data[i])) i++;
  yield* fileMessages(data[i] === 0x7b ? "<stdin>.jsonl" : "<stdin>", data);
}

function readRaw(files) {
  if (files.length > 1) throw new InputError("--raw takes one input (a file or stdin)");
  return files.length ? readBytes(files[0]) : readStdin();
}

// -- base64 -----------------------------------------------------------------

/** binascii.Error and ValueError of b64decode: a frame that does not decode. */
class Base64Error extends Error {}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Python's `base64.b64decode(s, validate=True)` (binascii's strict mode), its errors included. */
function b64decode(s) {
  if (/[^\x00-\x7f]/.test(s)) throw new Base64Error("string argument should contain only ASCII characters");
  if (s[0] === "=") throw new Base64Error("Leading padding not allowed");
  let quad = 0;
  let pads = 0;
  let data = 0;
  let padding = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "=") {
      padding = true;
      if (quad >= 2 && quad + ++pads >= 4) {
        if (i + 1 < s.length) throw new Base64Error("Excess data after padding");
        break;
      }
      continue;
    }
    if (!ALPHABET.includes(c)) throw new Base64Error("Only base64 data is allowed");
    if (padding) throw new Base64Error("Discontinuous padding not allowed");
    pads = 0;
    data++;
    quad = (quad + 1) % 4;
  }
  if (quad === 1) {
    throw new Base64Error(`Invalid base64-encoded string: number of data characters (${data}) cannot be 1 more than a multiple of 4`);
  }
  if (quad !== 0 && !(quad >= 2 && quad + pads >= 4)) throw new Base64Error("Incorrect padding");
  return new Uint8Array(Buffer.from(s.replace(/=+$/, ""), "base64"));
}

const b64encode = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");

// -- commands ---------------------------------------------------------------

class Out {
  constructor() {
    this.parts = [];
    this.size = 0;
  }
  write(bytes) {
    this.parts.push(bytes);
    this.size += bytes.length;
    if (this.size >= 1 << 16) this.flush();
  }
  line(record) {
    const text = dumps({ t: "obj", map: new Map(record) });
    if (hasLoneSurrogate(text)) throw new InputError("a field holds a lone surrogate: not writable as UTF-8");
    this.write(encoder.encode(text + "\n"));
  }
  flush() {
    if (!this.size) return;
    const all = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    writeAll(1, all);
  }
}

function writeAll(fd, buf) {
  let at = 0;
  while (at < buf.length) {
    try {
      at += fsWrite(fd, buf, at, buf.length - at);
    } catch (err) {
      if (err.code === "EAGAIN") continue;
      throw err;
    }
  }
}

async function compress(args) {
  const pipe = await loadPipeline(args.config);
  const out = new Out();
  try {
    if (args.raw) {
      out.write(pipe.encode(readRaw(args.files)));
      return 0;
    }
    for (const [data, fields] of messages(args.files)) {
      const frame = pipe.encode(data);
      out.line([
        ["frame", str(b64encode(frame))],
        ["method", str(pipe.methodOf(frame))],
        ["size", int(data.length)],
        ["frame_size", int(frame.length)],
        ...fields,
      ]);
    }
    return 0;
  } finally {
    out.flush();
  }
}

async function decompress(args) {
  const pipe = await loadPipeline(args.config);
  const out = new Out();
  try {
    if (args.raw) {
      out.write(pipe.decodeBytes(readRaw(args.files)));
      return 0;
    }
    // Every file is opened first, as Python's decompress does.
    const inputs = args.files.length ? args.files.map((f) => [f, readBytes(f)]) : [["<stdin>", readStdin()]];
    let failures = 0;
    for (const [name, data] of inputs) {
      for (const [number, line] of lines(data)) {
        const where = `${name}:${number}`;
        let record;
        try {
          record = jsonLine(line);
        } catch (err) {
          if (err instanceof JsonError) throw new InputError(`${where}: not a JSON line (${err.message})`);
          throw err;
        }
        const field = record.t === "obj" ? record.map.get("frame") : undefined;
        if (field?.t !== "str") {
          throw new InputError(`${where}: expected an object with a 'frame' (base64) field, as \`auracodec compress\` writes`);
        }
        let message;
        try {
          message = pipe.decodeBytes(b64decode(field.s));
        } catch (err) {
          if (!(err instanceof DecodeError || err instanceof Base64Error)) throw err;
          failures++;
          out.flush(); // the lines before it go out first
          process.stderr.write(`${where}: ${err.message}\n`);
          continue;
        }
        let result;
        try {
          result = [["text", str(utf8.decode(message))]];
        } catch {
          result = [["data", str(b64encode(message))]];
        }
        const taken = new Set(result.map(([k]) => k));
        for (const [k, v] of record.map) {
          if (!FRAME_FIELDS.includes(k) && !taken.has(k)) result.push([k, v]);
        }
        out.line(result);
      }
    }
    if (failures) throw new Failed(`${failures} frames did not decode`);
    return 0;
  } finally {
    out.flush();
  }
}

async function main(argv) {
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof Usage)) throw err;
    const command = err.command ?? null;
    process.stderr.write(command ? `usage: ${PROG} ${command} [-h] [--config FILE] [--raw] [FILE ...]\n` : `${USAGE}\n`);
    process.stderr.write(`${PROG}${command ? ` ${command}` : ""}: error: ${err.message}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(help(args.command));
    return 0;
  }
  if (args.version) {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), "utf8"));
    process.stdout.write(`${PROG} ${pkg.version}\n`);
    return 0;
  }
  if (args.command === null) {
    process.stderr.write(`${USAGE}\n${PROG}: error: the following arguments are required: COMMAND\n`);
    return 2;
  }
  const name = `${PROG} ${args.command}`;
  try {
    return await (args.command === "compress" ? compress(args) : decompress(args));
  } catch (err) {
    if (err.code === "EPIPE") return 141; // the reader went away (`... | head`)
    if (err instanceof Failed) {
      process.stderr.write(`${name}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof AuraError || err instanceof InputError) {
      process.stderr.write(`${name}: error: ${err.message}\n`);
      return 2;
    }
    if (err.code && err.syscall) {
      process.stderr.write(`${name}: error: ${osError(err, err.path ?? "").message}\n`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
