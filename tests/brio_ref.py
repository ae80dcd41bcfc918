#!/usr/bin/env python3
"""Pure-Python reference decoder for BRIO payloads (format version 2).

Slow (a few ms per byte) but written straight from docs/brio.md; it pins the
format: tests/test_brio.py decodes payloads of the compiled coder with it,
stateless and through session contexts, and checks that both agree
bit-exactly.

    from brio_ref import RefModel
    m = RefModel(blob)          # parses + validates the model blob
    data = m.decode(payload, limit)
    data = m.decode(payload, limit, max_ratio=32)   # with the ratio cap (section 1.3)
    ctx = m.context()           # a session context (docs/brio.md, section 7)
    data = ctx.decode(payload, limit)
"""

import struct

M32 = 0xFFFFFFFF

# ---------------------------------------------------------------- numeric
SQUASH_T = [
    1,
    2,
    4,
    6,
    10,
    17,
    27,
    45,
    74,
    120,
    194,
    311,
    488,
    747,
    1102,
    1546,
    2048,
    2550,
    2994,
    3349,
    3608,
    3785,
    3902,
    3976,
    4022,
    4051,
    4069,
    4079,
    4086,
    4090,
    4092,
    4094,
    4095,
]


def _clamp(v, lo, hi):
    return lo if v < lo else hi if v > hi else v


def _squash_calc(x):
    x = _clamp(x, -2047, 2047)
    j, w = (x + 2048) >> 7, (x + 2048) & 127
    return (SQUASH_T[j] * (128 - w) + SQUASH_T[j + 1] * w + 64) >> 7


SQUASH = [_squash_calc(x) for x in range(-2048, 2048)]  # index x + 2048


def squash(x):
    return SQUASH[_clamp(x, -2047, 2047) + 2048]


STRETCH = [0] * 4096
_pi = 0
for _x in range(-2047, 2048):
    _v = squash(_x)
    for _i in range(_pi, _v + 1):
        STRETCH[_i] = _x
    _pi = _v + 1
for _i in range(_pi, 4096):
    STRETCH[_i] = 2047

RECIP16 = [131072 // (2 * n + 3) for n in range(16)]


def fmix32(h):
    h &= M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    h ^= h >> 16
    return h


def node_st(v):  # u16 node: (st + 2048) << 4 | count class, 0 = empty
    return (v >> 4) - 2048 if v else 0


def node_st8(v):  # u8 node of the hashed tables
    return 16 * v - 2048 if v else 0


def is_letter(ch):
    return ord("a") <= (ch | 32) <= ord("z") or ch >= 128


def bitlen(v):
    b = 0
    while v and b < 15:
        b += 1
        v >>= 1
    return b


# ---------------------------------------------------------------- layout
NS = 8  # trained hashed contexts: orders 1-6, word bigram, word unigram
DORD = [1, 2, 3, 4, 6]  # per-message byte-context orders
NDB = len(DORD)
ND = NDB
NI = 1 + NS + ND + 1  # bias, trained, per-message, match
I_ST, I_DY, I_MM = 1, 1 + NS, 1 + NS + ND
NSETS_A = 256 * 4
NSETS = NSETS_A + 2 * 7 * (NDB + 1)
E1N, E2N, MSN = 256 * 16, 4096, 32
NCLS = 3  # age classes of per-message buckets (sessions)
TDN = NCLS * ND * 16 * 64
FWN = 8 * 2
APM1_BITS = 12
APM1N = (1 << APM1_BITS) * 33
HDR = 64
BUCKET = 17
GROUP = 4 * BUCKET
WMAX = (1 << 20) - 1
ERR_SKIP = 256
EOM_LR = 800
MATCH_MIN = 6
DYN_MIN_BITS, DYN_MAX_BITS = 11, 16
MT_MIN_BITS, MT_MAX_BITS = 8, 16
SESSION_MAP_MIN = 11
SESSION_HIST_MAX = 64 << 10
SESSION_MT_BITS = 14
FORMAT_VERSION = 3
ALIGN = 64  # format 3: APM1 and the buckets start at multiples of 64
RATIO_SLACK = 128  # docs/brio.md, section 1.3


class ModelError(ValueError):
    pass


class DecodeError(ValueError):
    pass


def build_dnext(limit):
    nxt = [0] * 8192
    for n in range(16):
        for q in range(256):
            p = squash(16 * q - 2040) if n else 2048
            for y in (0, 1):
                p1 = p + (((((y << 12) - y) - p) * RECIP16[n] + 32768) >> 16)
                n1 = n + 1 if n < limit else n
                q1 = _clamp((STRETCH[p1] + 2048) >> 4, 0, 255)
                nxt[(n << 8 | q) * 2 + y] = n1 << 8 | q1
    return nxt


class RefModel:
    def __init__(self, blob):
        b = bytes(blob)
        if len(b) < HDR or b[:4] != b"BRIO":
            raise ModelError("bad magic")
        (
            ver,
            hsz,
            self.ngroups,
            self.apm2_bits,
            self.mix_lr,
            self.apm_rate,
            self.dyn_limit,
            ni,
            nsets,
            self.session_map_bits,
        ) = struct.unpack_from("<HHIIIIIIII", b, 4)
        if ver != FORMAT_VERSION or hsz != HDR or ni != NI or nsets != NSETS or any(b[40:HDR]):
            raise ModelError("unsupported header")
        if not (
            self.ngroups <= 1 << 24
            and self.apm2_bits <= 20
            and self.mix_lr <= 63
            and 1 <= self.apm_rate <= 15
            and 1 <= self.dyn_limit <= 15
            and SESSION_MAP_MIN <= self.session_map_bits <= DYN_MAX_BITS
        ):
            raise ModelError("parameter out of range")
        apm2n = 33 << self.apm2_bits

        def align(n):
            return -(-n // ALIGN) * ALIGN

        small = HDR + 2 * (E1N + E2N + MSN) + 4 * (3 + NSETS * NI + FWN) + 2 * TDN
        apm1_at = align(small)
        buckets_at = align(apm1_at + 2 * APM1N + 2 * apm2n)
        need = buckets_at + self.ngroups * GROUP
        if len(b) != need:
            raise ModelError("size mismatch")
        off = HDR

        def take(fmt, n):
            nonlocal off
            v = list(struct.unpack_from("<%d%s" % (n, fmt), b, off))
            off += n * struct.calcsize(fmt)
            return v

        def node_ok(v):
            return v == 0 or ((v >> 4) != 0 and (v & 15) != 0)

        self.e1, self.e2, self.ms = take("H", E1N), take("H", E2N), take("H", MSN)
        if not all(map(node_ok, self.e1 + self.e2 + self.ms)):
            raise ModelError("bad node")
        self.ew = take("i", 3)
        mw = take("i", NSETS * NI)
        self.mw = [mw[s * NI : (s + 1) * NI] for s in range(NSETS)]
        self.fw = take("i", FWN)
        if any(abs(v) > WMAX for v in self.ew + mw + self.fw):
            raise ModelError("weight out of range")
        td = take("h", TDN)
        if any(abs(v) > 2047 for v in td):
            raise ModelError("calibration out of range")
        if any(b[off:apm1_at]):
            raise ModelError("nonzero padding")
        off = apm1_at
        self.apm1 = take("H", APM1N)
        self.apm2 = take("H", apm2n)
        if any(b[off:buckets_at]):
            raise ModelError("nonzero padding")
        self.bk = b[buckets_at:]
        for i in range(self.ngroups * 4):
            o = i * BUCKET
            if self.bk[o] == 0 and self.bk[o + 1] == 0 and any(self.bk[o + 2 : o + BUCKET]):
                raise ModelError("empty bucket with entries")
        self.dnext = build_dnext(self.dyn_limit)
        # tdx[cls][i][state]: input of a per-message state of context i in age class cls
        self.tdx = [
            [
                [
                    0
                    if (v >> 8) == 0
                    else td[((cls * ND + i) * 16 + (v >> 8)) * 64 + ((v & 255) >> 2)]
                    for v in range(4096)
                ]
                for i in range(ND)
            ]
            for cls in range(NCLS)
        ]

    # trained hashed tables: returns a function node index -> u8 node
    def find(self, key):
        if not self.ngroups:
            return None
        g = ((key * self.ngroups) >> 32) * GROUP
        chk = (key & 0xFFFF) or 1
        for i in range(4):
            o = g + i * BUCKET
            if self.bk[o] | self.bk[o + 1] << 8 == chk:
                return o + 2
        return None

    def decode(self, payload, limit, max_ratio=0):
        return _Decoder(self).run(bytes(payload), limit, max_ratio)

    def context(self):
        return RefContext(self)


class RefContext:
    """Session decoder: state carried across messages (see docs/brio.md, section 7)."""

    def __init__(self, m):
        self.d = _Decoder(m, session=True)
        self.broken = False

    def decode(self, payload, limit, max_ratio=0):
        if self.broken:
            raise DecodeError("context is unusable after an earlier error")
        try:
            out = self.d.run(bytes(payload), limit, max_ratio)
            self.d.end()
            return out
        except DecodeError:
            self.broken = True
            raise


def nib_key(bytekey, c0):
    return bytekey if c0 == 1 else bytekey ^ ((c0 * 0x2545F491) & M32)


def match_hash(buf, pos):
    h = 0
    for i in range(1, MATCH_MIN + 1):
        h = ((h + buf[pos - i] + 1) * 0x2F0B3A4D) & M32
    return fmix32(h)


def apm_p(row, st):
    s = st + 2048
    j, w = s >> 7, s & 127
    return (row[j] * (128 - w) + row[j + 1] * w) >> 11, j, w


def apm_update(row, j, w, y, rate):
    k = j + (w >> 6)
    v = row[k]
    row[k] = v + (((65535 if y else 0) - v) >> rate)


class _Decoder:
    def __init__(self, m, session=False):
        self.m, self.session = m, session
        # state that a session carries across messages
        self.buf = bytearray()  # match history (+ the current message)
        self.dyn = {}  # key -> list of 16: [0] = creation epoch << 8 | last use, states
        self.dyn_bits = DYN_MIN_BITS  # only the count rules depend on it, not the layout
        self.cur = 0  # buckets used by the current message
        self.nmsg = 0  # messages begun (session)
        self.epoch = 0  # epoch = message number mod 256 (always 0 when stateless)
        self.mstart = 0  # start of the current message in buf
        self.mtbits = MT_MIN_BITS
        self.mt = [0] * (1 << self.mtbits)
        self.w = [list(r) for r in m.mw]  # copies of the model's weights
        self.fw = list(m.fw)

    def rebuild_mt(self):
        self.mt = [0] * (1 << self.mtbits)
        for i in range(MATCH_MIN, len(self.buf)):
            self.mt[match_hash(self.buf, i) >> (32 - self.mtbits)] = i

    def begin(self, payload, limit):
        self.inp, self.limit = payload, limit
        self.pos_in = 0
        self.x1, self.x2, self.xc = 0, M32, 0
        for _ in range(4):
            self.xc = (self.xc << 8) | self.byte()
        self.hist = 0
        self.wh = self.pw = 0
        self.mlen = self.mptr = 0
        self.ew = list(self.m.ew)
        self.start = self.mstart = len(self.buf)
        self.epoch = self.nmsg & 255
        self.nmsg += 1
        self.cur = 0

    def rank(self, b):
        """purge rank: age (messages since last use, mod 256) * 16 + 15 - count of the first node"""
        return ((self.epoch - b[0]) & 255) * 16 + 15 - (b[1] >> 8)

    def purge(self, rmax):
        """keep only the buckets of rank < rmax"""
        self.dyn = {k: b for k, b in self.dyn.items() if self.rank(b) < rmax}
        self.cur = sum(1 for b in self.dyn.values() if self.rank(b) < 16)

    def end(self):
        """after a session message: bound what the next one inherits (docs/brio.md, section 7)"""
        cb = self.m.session_map_bits
        if self.dyn_bits > cb or len(self.dyn) > 9 << (cb - 4):
            hist = [0] * 4096
            for b in self.dyn.values():
                hist[self.rank(b)] += 1
            a = total = 0
            while a < 4096 and total + hist[a] <= 3 << (cb - 3):
                total += hist[a]
                a += 1
            self.purge(a)
            self.dyn_bits = min(self.dyn_bits, cb)
        rebuild = self.mtbits > SESSION_MT_BITS
        if len(self.buf) > SESSION_HIST_MAX:
            del self.buf[: len(self.buf) - SESSION_HIST_MAX // 2]
            rebuild = True
        if rebuild:
            self.mtbits = min(self.mtbits, SESSION_MT_BITS)
            self.rebuild_mt()

    def byte(self):
        b = self.inp[self.pos_in] if self.pos_in < len(self.inp) else 0
        self.pos_in += 1
        return b

    def bit(self, p):
        xmid = self.x1 + (((self.x2 - self.x1) * p) >> 12)
        y = 1 if self.xc <= xmid else 0
        if y:
            self.x2 = xmid
        else:
            self.x1 = xmid + 1
        while ((self.x1 ^ self.x2) & 0xFF000000) == 0:
            self.x1 = (self.x1 << 8) & M32
            self.x2 = ((self.x2 << 8) & M32) | 255
            self.xc = ((self.xc << 8) & M32) | self.byte()
        return y

    # ---- contexts
    def byte_contexts(self):
        hs, h, ok = self.hist, 0, [0] * 7
        for o in range(1, 7):
            h = ((h + ((hs >> (8 * (o - 1))) & 255) + 1) * 0x01000193) & M32
            ok[o] = h
        sk = [fmix32(ok[o] + o * 0x9E3779B9) for o in range(1, 7)]
        c1 = hs & 255
        sk.append(fmix32(self.wh * 0x6A09E667 + self.pw + 7 * 0x9E3779B9))
        sk.append(
            fmix32(
                (self.wh ^ (0 if is_letter(c1) else ((c1 + 1) * 0x01010101) & M32)) + 8 * 0x9E3779B9
            )
        )
        self.skey = sk
        self.dk = [sk[o - 1] ^ 0xA5A5A5A5 for o in DORD]
        self.c0, self.nib, self.bitpos = 1, 1, 0
        self.lookup()
        self.mexp = self.buf[self.mptr] if self.mlen > 0 else -1

    def lookup(self):
        # per-message buckets: grow before inserting (load <= 3/4); at the largest size drop
        # the buckets carried from earlier messages; when none is left, freeze
        if (len(self.dyn) + ND) * 4 > (3 << self.dyn_bits):
            if self.dyn_bits < DYN_MAX_BITS:
                self.dyn_bits += 1
            elif len(self.dyn) > self.cur:
                self.purge(16)  # keep the buckets used by this message
        self.dn, self.dcls = [], []
        ep = self.epoch
        for i in range(ND):
            k = nib_key(self.dk[i], self.c0) or 1
            bk = self.dyn.get(k)
            if bk is None:
                bk = [ep << 8 | ep] + [0] * 15
                if len(self.dyn) * 4 < (3 << self.dyn_bits):
                    self.dyn[k] = bk
                    self.cur += 1
            e, cls = bk[0], 0
            if e >> 8 != ep:
                cls = 2
                if e & 255 != ep:  # carried bucket, first use in this message
                    cls = 1
                    self.cur += 1
                    for j in range(1, 16):
                        if bk[j] >= 0x200:
                            bk[j] = 0x100 | (bk[j] & 255)
                    bk[0] = (e & 0xFF00) | ep
            self.dn.append(bk)
            self.dcls.append(cls)
        self.sn = [self.m.find(nib_key(self.skey[i], self.c0)) for i in range(NS)]

    def byte_update(self, ch):
        self.hist = ((self.hist << 8) | ch) & 0xFFFFFFFFFFFFFFFF
        if is_letter(ch):
            self.wh = ((self.wh + (ch | 32 if ch < 128 else ch) + 1) * 0x2E7BD3A1) & M32
        elif self.wh:
            self.pw, self.wh = self.wh, 0
        buf, pos = self.buf, len(self.buf)
        if self.mlen > 0:
            if buf[self.mptr] == ch:
                self.mlen = min(self.mlen + 1, 65535)
                self.mptr += 1
            else:
                self.mlen = 0
        if pos >= MATCH_MIN:
            if self.mtbits < MT_MAX_BITS and pos - self.mstart > (1 << (self.mtbits - 1)):
                self.mtbits += 1
                self.rebuild_mt()
            hi = match_hash(buf, pos) >> (32 - self.mtbits)
            if self.mlen == 0:
                cand = self.mt[hi]
                if cand > 0:
                    l = 0
                    while l < 32 and l < cand and buf[cand - 1 - l] == buf[pos - 1 - l]:
                        l += 1
                    if l >= MATCH_MIN:
                        self.mlen, self.mptr = l, cand
            self.mt[hi] = pos

    # ---- one bit
    def predict(self):
        m, c0, ni = self.m, self.c0, self.nib - 1
        x = [0] * NI
        x[0] = 256
        ho = hd = 0
        for i in range(NS):
            o = self.sn[i]
            v = m.bk[o + ni] if o is not None else 0
            if v and i < 6:
                ho = i + 1
            x[I_ST + i] = node_st8(v)
        for i in range(ND):
            v = self.dn[i][self.nib]
            if v >= 256 and i < NDB:
                hd = i + 1
            x[I_DY + i] = m.tdx[self.dcls[i]][i][v]
        mb = 0
        self.mact = False
        if self.mexp >= 0 and ((self.mexp | 256) >> (8 - self.bitpos)) == c0:
            bit = (self.mexp >> (7 - self.bitpos)) & 1
            mb = self.mlen if self.mlen < 16 else min(16 + ((self.mlen - 16) >> 3), 31)
            st = node_st(m.ms[mb])
            x[I_MM] = st if bit else -st
        self.x = x
        c1 = self.hist & 255
        sA = c0 + 256 * (0 if is_letter(c1) else 1 if c1 == 32 else 2 if 48 <= c1 <= 57 else 3)
        sC = NSETS_A + ((1 if mb > 0 else 0) * 7 + ho) * (NDB + 1) + hd
        self.sA, self.sC = sA, sC
        a = _clamp(sum((xi * wi) >> 8 for xi, wi in zip(x, self.w[sA])) >> 8, -2047, 2047)
        d = _clamp(sum((xi * wi) >> 8 for xi, wi in zip(x, self.w[sC])) >> 8, -2047, 2047)
        self.pA, self.pC = squash(a), squash(d)
        self.xf = [a, d]
        fw = self.fw[self.bitpos * 2 : self.bitpos * 2 + 2]
        st = _clamp(((a * fw[0]) >> 8) + ((d * fw[1]) >> 8) >> 8, -2047, 2047)
        self.pm = squash(st)
        r1 = ((fmix32((self.hist & 0xFFFF) + 0x7F4A7C15) + c0 * 0x9E3779B1) & M32) >> (
            32 - APM1_BITS
        )
        self.a1r = r1
        pa1, _, _ = apm_p(m.apm1[r1 * 33 : r1 * 33 + 33], st)
        hh = (fmix32((self.hist & 255) + 0x3C6EF372) + c0 * 0x9E3779B1) & M32
        row = hh >> (32 - m.apm2_bits) if m.apm2_bits else 0
        pa2, _, _ = apm_p(m.apm2[row * 33 : row * 33 + 33], st)
        pa1, pa2 = _clamp(pa1, 1, 4095), _clamp(pa2, 1, 4095)
        return _clamp((pa1 + pa2 + 1) >> 1, 1, 4095)

    def update(self, y):
        m, x, lr = self.m, self.x, self.m.mix_lr
        for s, p in ((self.sA, self.pA), (self.sC, self.pC)):
            e = (y << 12) - p
            if e > ERR_SKIP or e < -ERR_SKIP:
                w, err = self.w[s], e * lr
                for i in range(NI):
                    w[i] = _clamp(w[i] + ((x[i] * err) >> 16), -WMAX, WMAX)
        err = ((y << 12) - self.pm) * lr
        for i in range(2):
            k = self.bitpos * 2 + i
            self.fw[k] = _clamp(self.fw[k] + ((self.xf[i] * err) >> 16), -WMAX, WMAX)
        for bk in self.dn:
            bk[self.nib] = m.dnext[bk[self.nib] * 2 + y]
        self.c0 = self.c0 * 2 + y
        self.nib = self.nib * 2 + y
        self.bitpos += 1
        if self.bitpos == 4:
            self.nib = 1
            self.lookup()

    def eom(self):
        m, c1, c2, pos = self.m, self.hist & 255, (self.hist >> 8) & 255, len(self.buf) - self.start
        i1 = c1 * 16 + bitlen(pos)
        i2 = fmix32(c1 | c2 << 8 | min(pos, 3) << 16) >> 20
        self.ex = (256, node_st(m.e1[i1]), node_st(m.e2[i2]))
        ew = self.ew
        d = self.ex[0] * ew[0] + self.ex[1] * ew[1] + self.ex[2] * ew[2]
        self.ep = _clamp(squash(_clamp(d >> 16, -2047, 2047)), 1, 4095)
        return self.ep

    def eom_adapt(self):  # after a "continue" decision
        err = (0 - self.ep) * EOM_LR
        self.ew = [_clamp(w + ((x * err) >> 16), -WMAX, WMAX) for w, x in zip(self.ew, self.ex)]

    def run(self, payload, limit, max_ratio=0):
        self.begin(payload, limit)
        # the output budget of the ratio cap (0: none); section 1.3
        budget = max_ratio * len(payload) + RATIO_SLACK if max_ratio else None
        while True:
            if self.bit(self.eom()):
                break
            self.eom_adapt()
            if len(self.buf) - self.start >= self.limit:
                raise DecodeError("output exceeds limit of %d bytes" % self.limit)
            if budget is not None and len(self.buf) - self.start >= budget:
                raise DecodeError("output exceeds the ratio cap: %d bytes" % budget)
            self.byte_contexts()
            for _ in range(8):
                self.update(self.bit(self.predict()))
            ch = self.c0 & 255
            self.buf.append(ch)
            self.byte_update(ch)
        # canonical length: what the encoder's flush would have produced
        n, k = len(self.inp), self.pos_in - 4
        if self.x1:
            v = (self.x1 >> 24) + (1 if self.x1 & 0xFFFFFF else 0)
            L = k + 1
            if n > k and self.inp[k] != v:
                raise DecodeError("corrupt payload")
        else:
            L = k
        if n > L:
            raise DecodeError("trailing bytes after the end of the message")
        if n < L:
            raise DecodeError("truncated payload")
        return bytes(self.buf[self.start :])
