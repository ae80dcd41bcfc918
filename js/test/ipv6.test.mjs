// ipv6 slot text is Python's own RFC 5952 formatter (normalizers.ipv6_text,
// what Python 3.11's ipaddress writes), not whatever the platform prints.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { formatIpv6 } from "../dist/templates/normalizers.js";
import { PYTHON, hex, noPython } from "./helpers.mjs";

test("formatIpv6 writes Python's ipv6_text for 5,000 addresses rich in zero runs", { skip: noPython ?? false }, () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16);
  const addresses = [];
  for (let i = 0; i < 5000; i++) {
    const raw = new Uint8Array(16);
    for (let g = 0; g < 8; g++) {
      const kind = rand() % 4; // zero groups, small, ffff, random
      const v = kind === 0 ? 0 : kind === 1 ? rand() % 16 : kind === 2 ? 0xffff : rand();
      raw[2 * g] = v >> 8;
      raw[2 * g + 1] = v & 0xff;
    }
    addresses.push(raw);
  }
  const script =
    "import sys\nfrom auracodec.plugins.binary_semantic.normalizers import ipv6_text\n" +
    "for line in sys.stdin: print(ipv6_text(bytes.fromhex(line.strip())).decode())\n";
  const out = execFileSync(PYTHON, ["-c", script], { input: addresses.map(hex).join("\n") + "\n", encoding: "utf8" });
  const want = out.trim().split("\n");
  assert.equal(want.length, addresses.length);
  const differ = addresses.filter((a, i) => formatIpv6(a) !== want[i]);
  assert.deepEqual(differ.map(hex).slice(0, 5), []);
});
