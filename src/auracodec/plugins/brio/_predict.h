/*
 * _predict.h - BRIO core, prediction (hot path): everything the coding and
 * training loops run per bit, per nibble or per byte, as static inline
 * functions so that each loop inlines them (docs/brio.md, sections 3-5).
 * The cold part is in _predict.c; the contract in _internal.h.
 */
#ifndef BRIO_PREDICT_H
#define BRIO_PREDICT_H

#include "_internal.h"

/* ---- per-message map ---- */

static inline void dyn_prefetch(const dynmap *d, uint32_t key)
{
    __builtin_prefetch(d->b + (size_t)(key & ((1u << d->bits) - 1)) * DB_BYTES);
}

/* find or insert the bucket of key; returns its 16 counters ([1..15] used;
 * [0] = creation epoch << 8 | last-use epoch, see dyn_lookup).
 * Never grows the map (see dyn_reserve); when the map is full, returns a
 * zeroed scratch bucket (slot) so that new contexts are not learned. */
static inline uint16_t *dyn_find(dynmap *d, uint32_t key, int slot, uint32_t ep2)
{
    uint32_t mask = (1u << d->bits) - 1, i = key & mask;
    for (;;) {
        uint32_t k = *db_key(d, i);
        if (k == key) return db_nodes(d, i);
        if (k == 0) break;
        i = (i + 1) & mask;
    }
    uint16_t *b;
    if (d->count * 4 >= (3u << d->bits)) {
        b = d->scratch[slot];
    } else {
        d->count++;
        d->cur++;
        *db_key(d, i) = key;
        b = db_nodes(d, i);
    }
    memset(b, 0, 32);
    b[0] = (uint16_t)ep2;
    return b;
}


/* ---- trained hashed tables ---- */

static inline uint32_t group_of(uint32_t key, uint32_t ngroups)
{
    return (uint32_t)(((uint64_t)key * ngroups) >> 32);
}

/* keys are fmix32 outputs: the group comes from the high bits (multiply-
 * shift), the 16-bit check from the low bits */
static inline uint32_t check_of(uint32_t key)
{
    uint32_t h = key & 0xFFFF;
    return h ? h : 1;
}

static inline const uint8_t *model_find(const brio_model *m, uint32_t key)
{
    if (!m->ngroups) return ZERO_NODES8;
    const uint8_t *g = m->bk + (size_t)group_of(key, m->ngroups) * GROUP_BYTES;
    uint32_t chk = check_of(key);
    for (int i = 0; i < 4; i++, g += BUCKET_BYTES)
        if ((uint32_t)(g[0] | g[1] << 8) == chk) return g + 2;
    return ZERO_NODES8;
}

static inline uint32_t *trainer_find(trainer *t, uint32_t key, int ord)
{
    if (!t->ngroups) return ZERO_NODES32 + 1;
    uint32_t *g = t->bk + (size_t)group_of(key, t->ngroups) * 4 * 16;
    uint32_t chk = check_of(key);
    int victim = 0;
    uint32_t vprio = 0xFFFFFFFFu;
    for (int i = 0; i < 4; i++) {
        uint32_t *b = g + i * 16;
        if (b[0] == chk) return b + 1;
        uint32_t prio = b[0] ? (b[1] & 1023) : 0;
        if (prio < vprio) { vprio = prio; victim = i; }
    }
    uint32_t *b = g + victim * 16;
    memset(b, 0, 16 * sizeof(uint32_t));
    t->bkord[(size_t)(b - t->bk) / 16] = (uint8_t)ord;
    b[0] = chk;
    return b + 1;
}

/* keys for the trained contexts at a nibble boundary */
static inline uint32_t nib_key(uint32_t bytekey, int c0)
{
    return c0 == 1 ? bytekey : bytekey ^ ((uint32_t)c0 * 0x2545F491u);
}

/* make room for `extra` insertions without growing inside dyn_find: grow
 * up to maxbits; at maxbits, drop the buckets carried from earlier messages
 * of a session; when only the message's own buckets remain, stop inserting */
static inline int dyn_reserve(ctx_t *c, uint32_t extra)
{
    dynmap *d = &c->dyn;
    if ((d->count + extra) * 4 <= (3u << d->bits)) return 0;
    if (d->bits < d->maxbits) return dyn_grow(d);
    if (d->count > d->cur) return dyn_purge(d, d->bits, c->ep, 16); /* keep age 0 */
    return 0;
}

/* the bucket of per-message context i and its age class: 0 = created in
 * this message (always, when stateless), 1 = carried from an earlier message
 * of the session and used for the first time in this one, 2 = carried and
 * used again.  At its first use in a message, a carried bucket's counts are
 * capped at 1 (its probabilities are kept), so it adapts quickly. */
static inline void dyn_lookup(ctx_t *c, int i, uint32_t key)
{
    uint32_t ep = c->ep;
    uint16_t *b = dyn_find(&c->dyn, key, i, ep << 8 | ep);
    uint32_t e = b[0];
    int cls = 0;
    if ((e >> 8) != ep) {
        cls = 2;
        if ((e & 255) != ep) {
            cls = 1;
            c->dyn.cur++;
            for (int j = 1; j < 16; j++)
                if (b[j] >= 0x200) b[j] = (uint16_t)(0x100 | (b[j] & 255));
            b[0] = (uint16_t)((e & 0xFF00) | ep);
        }
    }
    c->dn[i] = b;
    c->dcls[i] = cls;
    if (c->m) c->dtd[i] = c->m->tdx + ((size_t)cls * ND + (size_t)i) * DSTATES;
}

static inline void lookup_static(ctx_t *c)
{
    if (!c->t && c->m->ngroups) {
        /* issue all bucket-group loads first so the cache misses overlap */
        for (int i = 0; i < NS; i++) {
            uint32_t k = nib_key(c->skey[i], c->c0);
            c->nk[i] = k;
            const uint8_t *g = c->m->bk + (size_t)group_of(k, c->m->ngroups) * GROUP_BYTES;
            __builtin_prefetch(g);
            __builtin_prefetch(g + 64);
        }
        if (c->cont) {
            for (int i = 0; i < NS; i++) c->sn[i] = model_find(c->m, c->nk[i]);
            return;
        }
        if (dyn_reserve(c, ND)) c->err = 1;
        uint32_t dkn[ND];
        for (int i = 0; i < ND; i++) {
            uint32_t k = nib_key(c->dk[i], c->c0);
            dkn[i] = k ? k : 1;
            dyn_prefetch(&c->dyn, dkn[i]);
        }
        for (int i = 0; i < ND; i++) dyn_lookup(c, i, dkn[i]);
        for (int i = 0; i < NS; i++) c->sn[i] = model_find(c->m, c->nk[i]);
        return;
    }
    if (!c->cont) {
        if (dyn_reserve(c, ND)) c->err = 1;
        for (int i = 0; i < ND; i++) {
            uint32_t k = nib_key(c->dk[i], c->c0);
            dyn_lookup(c, i, k ? k : 1);
        }
    }
    if (c->t) {
        for (int i = 0; i < NS; i++) c->tn[i] = trainer_find(c->t, nib_key(c->skey[i], c->c0), i + 1);
    } else {
        for (int i = 0; i < NS; i++) c->sn[i] = model_find(c->m, nib_key(c->skey[i], c->c0));
    }
}

static inline int is_letter(int ch)
{
    return ((ch | 32) >= 'a' && (ch | 32) <= 'z') || ch >= 128;
}

/* compute context keys at a byte boundary (after pos bytes) */
/* byte-level keys of the trained contexts for history hs and word state */
static inline void static_keys(uint64_t hs, uint32_t wh, uint32_t pw, uint32_t *sk)
{
    uint32_t h = 0;
    for (int o = 1; o <= 6; o++) {
        h = (h + (uint32_t)((hs >> (8 * (o - 1))) & 255) + 1) * 0x01000193u;
        sk[o - 1] = fmix32(h + (uint32_t)o * 0x9E3779B9u);
    }
    int c1 = (int)(hs & 255);
    sk[6] = fmix32(wh * 0x6A09E667u + pw + 7u * 0x9E3779B9u);
    sk[7] = fmix32((wh ^ (is_letter(c1) ? 0u : (uint32_t)(c1 + 1) * 0x01010101u)) + 8u * 0x9E3779B9u);
}

static inline void word_update(uint32_t *wh, uint32_t *pw, int ch)
{
    if (is_letter(ch)) {
        *wh = (*wh + (uint32_t)(ch < 128 ? (ch | 32) : ch) + 1) * 0x2E7BD3A1u;
    } else if (*wh) {
        *pw = *wh;
        *wh = 0;
    }
}

static inline void byte_contexts(ctx_t *c)
{
    uint64_t hs = c->hist;
    static_keys(hs, c->wh, c->pw, c->skey);
    /* APM row hashes (per byte; the bit context is added per bit) */
    c->a1base = fmix32((uint32_t)(hs & 0xFFFF) + 0x7F4A7C15u);
    c->a2base = fmix32((uint32_t)(hs & 0xFF) + 0x3C6EF372u);
    /* per-message contexts: orders 1,2,3,4,6 */
    static const int DORD[NDB] = {1, 2, 3, 4, 6};
    for (int i = 0; i < NDB; i++) c->dk[i] = c->skey[DORD[i] - 1] ^ 0xA5A5A5A5u;
    c->c0 = 1;
    c->nib = 1;
    c->bitpos = 0;
    lookup_static(c);
    /* match model expectation */
    c->mexp = (c->mlen > 0) ? c->buf[c->mptr] : -1;
}

static inline uint32_t match_hash(const uint8_t *p)
{
    /* hash of the MATCH_MIN bytes ending just before p */
    uint32_t h = 0;
    for (int i = 1; i <= MATCH_MIN; i++) h = (h + p[-i] + 1) * 0x2F0B3A4Du;
    return fmix32(h);
}

/* update history after byte ch was appended at buf[pos-1] */
static inline void byte_update(ctx_t *c, int ch)
{
    c->hist = (c->hist << 8) | (uint64_t)ch;
    word_update(&c->wh, &c->pw, ch);
    /* match model */
    size_t pos = c->bpos;
    if (c->mlen > 0) {
        if (c->buf[c->mptr] == ch) {
            c->mlen++;
            c->mptr++;
            if (c->mlen > 65535) c->mlen = 65535;
        } else {
            c->mlen = 0;
        }
    }
    if (pos >= MATCH_MIN) {
        if (c->mtbits < MT_MAX_BITS && pos - c->mstart > ((size_t)1 << (c->mtbits - 1))) {
            if (match_rebuild(c, c->mtbits + 1)) { c->err = 1; return; }
        }
        uint32_t hi = match_hash(c->buf + pos) >> (32 - c->mtbits);
        if (c->mlen == 0) {
            uint32_t cand = c->mt[hi];
            if (cand > 0) {
                uint32_t l = 0;
                while (l < 32 && l < cand && c->buf[cand - 1 - l] == c->buf[pos - 1 - l]) l++;
                if (l >= MATCH_MIN) {
                    c->mlen = l;
                    c->mptr = cand;
                }
            }
        }
        c->mt[hi] = (uint32_t)pos;
    }
}

static inline int match_bucket(uint32_t len)
{
    if (len < 16) return (int)len;
    uint32_t b = 16 + ((len - 16) >> 3);
    return b > 31 ? 31 : (int)b;
}

/* ---- bit prediction ---- */

#define APM_ROW(tab, row) ((tab) + (size_t)(row) * 33)

static inline int apm_p(const uint16_t *row, int st, int *idx, int *wt)
{
    int s = st + 2048; /* 1..4095 */
    int j = s >> 7, w = s & 127;
    *idx = j;
    *wt = w;
    return (row[j] * (128 - w) + row[j + 1] * w) >> 11;
}

static inline void apm_update(uint16_t *row, int j, int w, int y, int rate)
{
    int k = j + (w >> 6);
    int v = row[k];
    int target = y ? 65535 : 0;
    row[k] = (uint16_t)(v + ((target - v) >> rate));
}


/* mixer over NIP (multiple of 8) inputs with GCC vector extensions */
typedef int32_t v8i __attribute__((vector_size(32)));

static inline int mix_dotv(const int32_t *w, const int *x)
{
    v8i acc = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int k = 0; k < NIP; k += 8) {
        v8i a, b;
        memcpy(&a, x + k, 32);
        memcpy(&b, w + k, 32);
        acc += (a * b) >> 8;
    }
    int32_t d = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
    return clampi(d >> 8, -2047, 2047);
}

static inline void mix_trainv(int32_t *w, const int *x, int err)
{
    const v8i hi = {WMAX, WMAX, WMAX, WMAX, WMAX, WMAX, WMAX, WMAX};
    const v8i lo = -hi;
    for (int k = 0; k < NIP; k += 8) {
        v8i a, b;
        memcpy(&a, x + k, 32);
        memcpy(&b, w + k, 32);
        b += (a * err) >> 16;
        v8i m1 = b > hi, m2 = b < lo;
        b = (b & ~m1) | (hi & m1);
        b = (b & ~m2) | (lo & m2);
        memcpy(w + k, &b, 32);
    }
}

static inline int mix_dot(const int32_t *w, const int *x, int n)
{
    int32_t d = 0;
    for (int i = 0; i < n; i++) d += (x[i] * w[i]) >> 8;
    return clampi(d >> 8, -2047, 2047);
}

static inline void mix_train(int32_t *w, const int *x, int n, int err)
{
    for (int i = 0; i < n; i++) w[i] = clampi(w[i] + ((x[i] * err) >> 16), -WMAX, WMAX);
}

/* training-time calibration of a trained counter: interpolated map per
 * (input, count class) from raw stretch to probability */
static inline int calib_p(const uint32_t *row, int st, int *k)
{
    int s = st + 2048, j = s >> 7, w = s & 127;
    *k = j + (w >> 6);
    return (int)(((row[j] >> 20) * (uint32_t)(128 - w) + (row[j + 1] >> 20) * (uint32_t)w) >> 7);
}

BRIO_INLINE int predict_bit(ctx_t *c, const int tr)
{
    int *x = c->x;
    int c0 = c->c0, ni = c->nib - 1;
    int ho = 0, hd = 0;
    x[I_BIAS] = 256;
    if (tr) {
        trainer *t = c->t;
        c->csrow[0] = NULL;
        for (int i = 1; i <= NS; i++) {
            uint32_t s = c->tn[i - 1][ni];
            uint32_t n = s & 1023;
            if (!n) { x[I_ST + i - 1] = 0; c->csrow[i] = NULL; continue; }
            if (i <= 6) ho = i;
            uint32_t *row = t->cs + ((size_t)i * 16 + (size_t)count_class(n)) * 33;
            c->csrow[i] = row;
            int cst = stretch(calib_p(row, stretch((int)(s >> 20)), &c->csk[i]));
            x[I_ST + i - 1] = node_st8(st_to_node8(cst));
        }
        for (int i = 0; i < ND; i++) {
            uint16_t v = c->dn[i][c->nib];
            int n = v >> 8;
            if (!n) { x[I_DY + i] = 0; c->tdrow[i] = NULL; continue; }
            if (i < NDB) hd = i + 1;
            int q = (v & 255) >> 2;
            c->tdrow[i] = &t->tdc[(((size_t)c->dcls[i] * ND + (size_t)i) * 16 + (size_t)n) * 64 + (size_t)q];
            x[I_DY + i] = stretch((int)(*c->tdrow[i] >> 20));
        }
    } else {
        for (int i = 0; i < NS; i++) {
            uint8_t v = c->sn[i][ni];
            if (v && i < 6) ho = i + 1;
            x[I_ST + i] = node_st8(v);
        }
        if (c->cont) {
            for (int i = 0; i < ND; i++) x[I_DY + i] = 0;
        } else {
            for (int i = 0; i < ND; i++) {
                uint16_t v = c->dn[i][c->nib];
                if (v >= 256 && i < NDB) hd = i + 1;
                x[I_DY + i] = c->dtd[i][v];
            }
        }
    }
    /* match */
    int mb = 0;
    if (c->mexp >= 0 && ((c->mexp | 256) >> (8 - c->bitpos)) == c0) {
        int bit = (c->mexp >> (7 - c->bitpos)) & 1;
        mb = match_bucket(c->mlen);
        int st = tr ? ctr_st(c->t->ms[mb]) : node_st(c->m->ms[mb]);
        x[I_MM] = bit ? st : -st;
        c->mact = 1;
        c->mbit = bit;
    } else {
        x[I_MM] = 0;
        c->mact = 0;
    }
    c->mb = mb;
    /* mixers */
    int c1 = (int)(c->hist & 255);
    int sA = c0 + 256 * (is_letter(c1) ? 0 : c1 == ' ' ? 1 : (c1 >= '0' && c1 <= '9') ? 2 : 3);
    int sC = NSETS_A + ((mb > 0) * 7 + ho) * (NDB + 1) + hd;
    c->setA = sA;
    c->setC = sC;
    if (!tr) {
        int ss[2] = {sA, sC};
        for (int k = 0; k < 2; k++)
            if (!c->winit[ss[k]]) {
                memcpy(c->w + ss[k] * NIP, c->m->mw + ss[k] * NIP, sizeof(int32_t) * NIP);
                c->winit[ss[k]] = 1;
            }
    }
    int a = mix_dotv(c->w + sA * NIP, x);
    int d = mix_dotv(c->w + sC * NIP, x);
    c->pA = squash(a);
    c->pC = squash(d);
    c->x2[0] = a;
    c->x2[1] = d;
    int st = mix_dot(c->fw + c->bitpos * 2, c->x2, 2);
    c->pm = squash(st);
    /* APM1: order-2 context (hashed), read-only when coding */
    uint32_t r1 = (c->a1base + (uint32_t)c0 * 0x9E3779B1u) >> (32 - APM1_BITS);
    c->a1r = r1;
    c->pa1 = apm_p(APM_ROW(tr ? c->t->apm1 : c->m->apm1, r1), st, &c->a1i, &c->a1w);
    if (!tr && c->bitpos < 7) {
        /* prefetch the APM rows of both possible next bits */
        for (uint32_t nb = 0; nb < 2; nb++) {
            uint32_t n0 = (uint32_t)c0 * 2 + nb;
            __builtin_prefetch(APM_ROW(c->m->apm1, (c->a1base + n0 * 0x9E3779B1u) >> (32 - APM1_BITS)));
            if (c->a2bits)
                __builtin_prefetch(APM_ROW(c->m->apm2, (c->a2base + n0 * 0x9E3779B1u) >> (32 - c->a2bits)));
        }
        if (c->bitpos == 3 && c->m->ngroups) {
            /* prefetch the trained buckets of both possible low nibbles */
            for (uint32_t nb = 0; nb < 2; nb++)
                for (int i = 0; i < NS; i++) {
                    uint32_t k = nib_key(c->skey[i], (int)((uint32_t)c0 * 2 + nb));
                    __builtin_prefetch(c->m->bk + (size_t)group_of(k, c->m->ngroups) * GROUP_BYTES);
                }
        }
    }
    /* APM2: order-1 context (hashed), read-only when coding */
    uint32_t hh = c->a2base + (uint32_t)c0 * 0x9E3779B1u;
    c->a2r = c->a2bits ? hh >> (32 - c->a2bits) : 0;
    const uint16_t *a2 = tr ? c->t->apm2 : c->m->apm2;
    c->pa2 = apm_p(APM_ROW(a2, c->a2r), st, &c->a2i, &c->a2w);
    c->pa1 = clampi(c->pa1, 1, 4095);
    c->pa2 = clampi(c->pa2, 1, 4095);
#ifdef NO_APM
    int p = c->pm;
#else
    int p = (c->pa1 + c->pa2 + 1) >> 1;
#endif
    return clampi(p, 1, 4095);
}

BRIO_INLINE void update_bit(ctx_t *c, int y, const int tr)
{
    const int *x = c->x;
    int lr = tr ? (int)c->t->prm.mix_lr_train : (int)c->m->prm.mix_lr;
    int eA = (y << 12) - c->pA, eC = (y << 12) - c->pC;
    if (eA > ERR_SKIP || eA < -ERR_SKIP) mix_trainv(c->w + c->setA * NIP, x, eA * lr);
    if (eC > ERR_SKIP || eC < -ERR_SKIP) mix_trainv(c->w + c->setC * NIP, x, eC * lr);
    mix_train(c->fw + c->bitpos * 2, c->x2, 2, ((y << 12) - c->pm) * lr);
    int rate = tr ? (int)c->t->prm.apm_rate : (int)c->m->prm.apm_rate;
    if (tr) apm_update(APM_ROW(c->t->apm1, c->a1r), c->a1i, c->a1w, y, rate);
    const uint16_t *dnext = tr ? c->t->dnext : c->m->dnext;
    if (!c->cont)
        for (int i = 0; i < ND; i++) c->dn[i][c->nib] = dnext[c->dn[i][c->nib] * 2 + y];
    if (tr) {
        trainer *t = c->t;
        apm_update(APM_ROW(t->apm2, c->a2r), c->a2i, c->a2w, y, rate);
        if (c->mact) t->ms[c->mb] = ctr_update(t->ms[c->mb], y == c->mbit, t->prm.stat_limit);
        for (int i = 0; i <= NS; i++)
            if (c->csrow[i]) c->csrow[i][c->csk[i]] = ctr_update(c->csrow[i][c->csk[i]], y, 1023);
        for (int i = 0; i < ND; i++)
            if (c->tdrow[i]) *c->tdrow[i] = ctr_update(*c->tdrow[i], y, 1023);
        /* trained counters: deferred to the end of the message */
        if (t->nlog + NS + 1 > t->caplog) {
            size_t nc = t->caplog ? t->caplog * 2 : 65536;
            uintptr_t *nl = (uintptr_t *)realloc(t->log, nc * sizeof(uintptr_t));
            if (!nl) { c->err = 1; goto next; }
            t->log = nl;
            t->caplog = nc;
        }
        if (t->ngroups)
            for (int i = 0; i < NS; i++) t->log[t->nlog++] = (uintptr_t)&c->tn[i][c->nib - 1] | (uintptr_t)y;
    }
next:
    c->c0 = c->c0 * 2 + y;
    c->nib = c->nib * 2 + y;
    c->bitpos++;
    if (c->bitpos == 4) {
        c->nib = 1;
        lookup_static(c);
    }
}

/* ---- end-of-message decision ---- */

static inline int bitlen(size_t v)
{
    int b = 0;
    while (v && b < 15) { b++; v >>= 1; }
    return b;
}

typedef struct { int i1, i2, s1, s2, p; } eom_t;

static inline int eom_predict(ctx_t *c, eom_t *e, const int tr)
{
    int c1 = (int)(c->hist & 255), c2 = (int)((c->hist >> 8) & 255);
    e->i1 = c1 * 16 + bitlen(c->pos);
    e->i2 = (int)(fmix32((uint32_t)c1 | (uint32_t)c2 << 8 | (uint32_t)(c->pos < 3 ? c->pos : 3) << 16) >> 20);
    const int32_t *ew;
    if (tr) {
        e->s1 = ctr_st(c->t->e1[e->i1]);
        e->s2 = ctr_st(c->t->e2[e->i2]);
        ew = c->t->ew;
    } else {
        e->s1 = node_st(c->m->e1[e->i1]);
        e->s2 = node_st(c->m->e2[e->i2]);
        ew = c->ew;
    }
    int64_t d = (int64_t)256 * ew[0] + (int64_t)e->s1 * ew[1] + (int64_t)e->s2 * ew[2];
    e->p = clampi(squash(clampi((int)(d >> 16), -2047, 2047)), 1, 4095);
    return e->p;
}

/* per-message adaptation of the EOM weights (coding time) */
#define EOM_LR 800
static inline void eom_adapt(ctx_t *c, const eom_t *e, int y)
{
    int64_t err = (int64_t)((y << 12) - e->p) * EOM_LR;
    int xs[3] = {256, e->s1, e->s2};
    for (int i = 0; i < 3; i++) {
        int64_t v = c->ew[i] + ((xs[i] * err) >> 16);
        c->ew[i] = (int32_t)(v < -WMAX ? -WMAX : v > WMAX ? WMAX : v);
    }
}

/* ---- history ---- */

/* a session's history buffer holds at least extra more bytes */
static inline int hist_reserve(ctx_t *c, size_t extra)
{
    if (c->hlen + extra <= c->hcap) return 0;
    return hist_grow(c, extra);
}

/* Byte i of the message, ch, is known: in a session append it to the
 * history (stateless, buf is the message itself), then update the byte
 * contexts. */
BRIO_INLINE void byte_done(ctx_t *c, size_t i, int ch, int sess)
{
    c->pos = i + 1;
    if (sess) {
        c->hb[c->hlen++] = (uint8_t)ch;
        c->bpos = c->hlen;
    } else {
        c->bpos = i + 1;
    }
    byte_update(c, ch);
}

#endif
