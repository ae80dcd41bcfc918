/*
 * brio_core.c - BRIO trained context-mixing coder (core, no Python).
 *
 * Overview (details and exact integer arithmetic in SPEC.md):
 *   - a message is coded as a sequence of binary decisions: before every
 *     byte an end-of-message (EOM) decision, then the 8 bits of the byte,
 *     most significant first;
 *   - each bit is predicted by mixing (logistic mixing in the stretch
 *     domain, two weight sets + a small final mixer) the predictions of
 *       * 8 trained, read-only hashed context tables (orders 1-6 and two
 *         word contexts), organised as nibble buckets with 16-bit checks and
 *         one-byte calibrated stretch nodes,
 *       * 5 per-message context tables (orders 1,2,3,4,6; an open-addressing
 *         map that grows with the message; table-driven counter states; in
 *         a session the map carries over, its buckets aged per message),
 *       * a match model over the message (or a session's history);
 *     then refined by two read-only APM/SSE stages (order 2 and order 1);
 *   - a 32-bit binary arithmetic coder with a one-byte flush.
 * Training (brio_train) runs the same predictor over the training messages
 * and exports the tables as a model blob; sessions (brio_session_*) carry
 * the per-message state across the messages of one connection.
 */
#include "_core.h"

#include <stdlib.h>
#include <string.h>

/* Optional AVX2 clones of the hot paths (integer arithmetic only, so all
 * clones give bit-identical results). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(BRIO_NO_CLONES)
#define BRIO_SIMD __attribute__((target_clones("avx2", "default")))
#else
#define BRIO_SIMD
#endif

/* ------------------------------------------------------------------ */
/* numeric primitives                                                  */

static const int16_t SQUASH_T[33] = {
    1,    2,    4,    6,    10,   17,   27,   45,   74,   120,  194,
    311,  488,  747,  1102, 1546, 2048, 2550, 2994, 3349, 3608, 3785,
    3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090, 4092, 4094, 4095};

static inline int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static int16_t STRETCH_T[4096];
static int16_t ST8[256]; /* u8 node -> stretch */
static int tables_ready = 0;

/* x in stretch units (1/256 of a natural-log odds), result: P(1) in 1/4096 */
static inline int squash_calc(int x)
{
    if (x > 2047) x = 2047;
    if (x < -2047) x = -2047;
    int j = (x + 2048) >> 7, w = (x + 2048) & 127;
    return (SQUASH_T[j] * (128 - w) + SQUASH_T[j + 1] * w + 64) >> 7;
}

static int16_t SQUASH_FULL[4096]; /* squash_calc(x) for x = -2048..2047 */

static inline int squash(int x)
{
    return SQUASH_FULL[clampi(x, -2047, 2047) + 2048];
}

static inline int stretch(int p) { return STRETCH_T[p]; }

static void init_tables(void)
{
    if (tables_ready) return;
    for (int x = -2048; x <= 2047; x++) SQUASH_FULL[x + 2048] = (int16_t)squash_calc(x);
    for (int v = 0; v < 256; v++) ST8[v] = (int16_t)(v ? 16 * v - 2048 : 0);
    int pi = 0;
    for (int x = -2047; x <= 2047; x++) {
        int v = squash(x);
        for (int i = pi; i <= v; i++) STRETCH_T[i] = (int16_t)x;
        pi = v + 1;
    }
    for (int i = pi; i < 4096; i++) STRETCH_T[i] = 2047;
    tables_ready = 1; /* idempotent: racing initialisations write equal values */
}

static inline uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}


/* adaptive counter: p22 << 10 | count10.  count 0 = never updated. */
static uint32_t RECIP[1024]; /* 65536 / (n + 1.5) */
static uint32_t RECIP16[16];

static void init_recip(void)
{
    for (int n = 0; n < 1024; n++) RECIP[n] = (uint32_t)(131072 / (2 * n + 3));
    for (int n = 0; n < 16; n++) RECIP16[n] = (uint32_t)(131072 / (2 * n + 3));
}

static inline int ctr_st(uint32_t s)
{
    return (s & 1023) ? stretch((int)(s >> 20)) : 0;
}

static inline uint32_t ctr_update(uint32_t s, int y, uint32_t limit)
{
    uint32_t n = s & 1023, p = s >> 10;
    if (n == 0) p = 1u << 21;
    if (y)
        p += (uint32_t)(((uint64_t)(4194303u - p) * RECIP[n]) >> 16);
    else
        p -= (uint32_t)(((uint64_t)p * RECIP[n]) >> 16);
    if (n < limit) n++;
    return (p << 10) | n;
}

/* trained hashed-context node (u8): 0 = empty, else st = 16 * v - 2048 */
static inline int node_st8(uint8_t v) { return ST8[v]; }
static inline uint8_t st_to_node8(int st) { return (uint8_t)clampi((st + 2056) >> 4, 1, 255); }

/* trained node (u16): (st + 2048) << 4 | count class; 0 = empty */
static inline int node_st(uint16_t v) { return v ? (int)(v >> 4) - 2048 : 0; }

static inline int count_class(uint32_t n)
{
    if (n <= 4) return (int)n;
    if (n <= 6) return 5;
    if (n <= 8) return 6;
    if (n <= 12) return 7;
    if (n <= 16) return 8;
    if (n <= 24) return 9;
    if (n <= 32) return 10;
    if (n <= 48) return 11;
    if (n <= 96) return 12;
    if (n <= 192) return 13;
    if (n <= 511) return 14;
    return 15;
}

static inline uint16_t ctr_to_node(uint32_t s)
{
    uint32_t n = s & 1023;
    if (!n) return 0;
    int st = stretch((int)(s >> 20));
    return (uint16_t)(((st + 2048) << 4) | count_class(n));
}

/* ------------------------------------------------------------------ */
/* model layout                                                        */

#define NS 8 /* trained hashed contexts: orders 1-6, word bigram, word unigram */
static const int DORD[] = {1, 2, 3, 4, 6}; /* orders of the per-message contexts */
#define NDB ((int)(sizeof(DORD) / sizeof(DORD[0]))) /* per-message byte contexts */
#define ND NDB
#define NI (1 + NS + ND + 1)
#define I_BIAS 0
#define I_ST 1
#define I_DY (1 + NS)
#define I_MM (1 + NS + ND)
#define NIP ((NI + 7) & ~7) /* padded input count */
#define NSETS_A (256 * 4)
#define NSETS_C (2 * 7 * (NDB + 1))
#define NSETS (NSETS_A + NSETS_C)
#define NCLS 3 /* age classes of per-message buckets (sessions): fresh, carried, carried + reused */
#define TDN (NCLS * ND * 16 * 64)
#define DSTATES 4096
#define CSN ((NS + 1) * 16 * 33)
#define FWN (8 * 2)
#define E1N (256 * 16)
#define E2N 4096
#define MSN 32
#define APM1_BITS 12
#define APM1N ((1 << APM1_BITS) * 33)
#define BUCKET_BYTES 17 /* u16 check + 15 u8 nodes */
#define GROUP_BYTES (4 * BUCKET_BYTES)
#define WMAX ((1 << 20) - 1)
#define ERR_SKIP 256 /* mixers A and C skip updates when |error| <= this */
#define MATCH_MIN 6
#define DYN_MIN_BITS 11
#ifndef DYN_MAX_BITS /* overridable for tests only (ref.py takes the same values) */
#define DYN_MAX_BITS 16
#endif
#define SESSION_MAP_MIN 11
#define MT_MIN_BITS 8
#define MT_MAX_BITS 16

struct brio_model {
    brio_params prm;
    uint32_t ngroups;     /* groups of 4 buckets */
    uint8_t *bk;          /* ngroups * GROUP_BYTES */
    uint16_t *apm2;       /* (1 << apm2_bits) * 33 */
    uint16_t e1[E1N];
    uint16_t e2[E2N];
    uint16_t ms[MSN];
    int32_t ew[3];
    int32_t mw[NSETS * NIP];
    int32_t fw[FWN];
    int16_t td[TDN];
    int16_t *tdx;          /* td expanded per state: NCLS * ND * DSTATES */
    uint16_t dnext[DSTATES * 2];
    uint16_t apm1[APM1N];
    size_t bytes;
};

void brio_default_params(brio_params *p)
{
    p->model_size = 8u << 20;
    p->apm2_bits = 11;
    p->mix_lr = 24;
    p->mix_lr_train = 24;
    p->apm_rate = 7;
    p->dyn_limit = 15;
    p->stat_limit = 1023;
    p->epochs = 1;
    p->train_factor = 4;
    p->session_map_bits = 14;
}

/* trainer: the mutable, full-precision version of the model */
typedef struct {
    brio_params prm;
    uint32_t ngroups;   /* training groups = fgroups * train_factor */
    uint32_t fgroups;   /* groups in the exported model */
    uint32_t *bk;  /* ngroups*4*16 u32: [0] check, [1..15] counters */
    uint16_t *apm2;
    uint32_t e1[E1N];
    uint32_t e2[E2N];
    uint32_t ms[MSN];
    int32_t ew[3];
    int32_t mw[NSETS * NIP];
    int32_t fw[FWN];
    int64_t mwavg[NSETS * NIP]; /* moving averages (<< 16) exported instead */
    int64_t fwavg[FWN];
    uint32_t tdc[TDN];
    uint16_t dnext[DSTATES * 2];
    uint32_t cs[CSN];
    uint8_t *bkord; /* order index of each bucket (for export calibration) */
    uint16_t apm1[APM1N];
    /* deferred updates of trained counters (applied after each message) */
    uintptr_t *log;
    size_t nlog, caplog;
} trainer;

/* ------------------------------------------------------------------ */
/* per-message adaptive map: open addressing, key (u32, != 0) -> bucket of
 * 15 counters (one nibble of one context).  Counters are u16:
 * p12 << 4 | n4 (n = 0: never updated).  The map grows with the message
 * (rehash) up to DYN_MAX_BITS buckets, then stops inserting (frozen).   */

typedef struct {
    /* bucket = u32 key (0 = free) + 16 u16 counters ([0] unused): 36 bytes,
     * so a lookup touches one place in memory */
    uint8_t *b;
    uint32_t bits, maxbits, count;
    uint32_t cur; /* buckets used by the current message (the others are carried) */
    uint16_t scratch[8][16]; /* used when the map is full */
} dynmap;

#define DB_BYTES 36
static inline uint32_t *db_key(const dynmap *d, uint32_t i) { return (uint32_t *)(d->b + (size_t)i * DB_BYTES); }
static inline uint16_t *db_nodes(const dynmap *d, uint32_t i) { return (uint16_t *)(d->b + (size_t)i * DB_BYTES + 4); }

static uint8_t *db_alloc(uint32_t bits)
{
    /* only the keys need zeroing; counters are cleared on insert */
    uint8_t *b = (uint8_t *)malloc((size_t)DB_BYTES << bits);
    if (b)
        for (size_t i = 0; i < ((size_t)1 << bits); i++) memset(b + i * DB_BYTES, 0, 4);
    return b;
}

static int dyn_init(dynmap *d)
{
    d->bits = DYN_MIN_BITS;
    d->maxbits = DYN_MAX_BITS;
    d->count = 0;
    d->b = db_alloc(d->bits);
    return d->b ? 0 : -1;
}

static void dyn_free(dynmap *d)
{
    free(d->b);
    d->b = NULL;
}

static int dyn_grow(dynmap *d)
{
    dynmap n = *d;
    n.bits = d->bits + 1;
    n.b = db_alloc(n.bits);
    if (!n.b) return -1;
    uint32_t mask = (1u << n.bits) - 1;
    for (uint32_t j = 0; j < (1u << d->bits); j++) {
        uint32_t k = *db_key(d, j);
        if (!k) continue;
        uint32_t i = k & mask;
        while (*db_key(&n, i)) i = (i + 1) & mask;
        memcpy(n.b + (size_t)i * DB_BYTES, d->b + (size_t)j * DB_BYTES, DB_BYTES);
    }
    free(d->b);
    d->b = n.b;
    d->bits = n.bits;
    return 0;
}

static inline void dyn_prefetch(const dynmap *d, uint32_t key)
{
    __builtin_prefetch(d->b + (size_t)(key & ((1u << d->bits) - 1)) * DB_BYTES);
}


/* purge rank of a bucket: age (messages since its last use, mod 256) * 16
 * + 15 - count of its first node (how often its context was seen, <= 15) */
static inline uint32_t db_rank(const uint16_t *b, uint32_t ep)
{
    return ((ep - b[0]) & 255) * 16 + 15 - (b[1] >> 8);
}

/* rebuild the map with 2^nbits slots, keeping only the buckets of rank < rmax */
static int dyn_purge(dynmap *d, uint32_t nbits, uint32_t ep, uint32_t rmax)
{
    uint8_t *nb = db_alloc(nbits);
    if (!nb) return -1;
    uint32_t mask = (1u << nbits) - 1, kept = 0, cur = 0;
    for (uint32_t j = 0; j < (1u << d->bits); j++) {
        uint32_t k = *db_key(d, j);
        if (!k) continue;
        uint32_t r = db_rank(db_nodes(d, j), ep);
        if (r >= rmax) continue;
        uint32_t i = k & mask;
        while (*(uint32_t *)(nb + (size_t)i * DB_BYTES)) i = (i + 1) & mask;
        memcpy(nb + (size_t)i * DB_BYTES, d->b + (size_t)j * DB_BYTES, DB_BYTES);
        kept++;
        cur += r < 16;
    }
    free(d->b);
    d->b = nb;
    d->bits = nbits;
    d->count = kept;
    d->cur = cur;
    return 0;
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

/* 16-bit adaptive counter */

/* Per-message counters are states s = n << 8 | q of a table-driven state
 * machine: n = observations (0..limit), q = quantized stretch of the
 * probability (st = 16 q - 2040).  n = 0 is the empty state. */

static void build_dnext(uint16_t *next, uint32_t limit)
{
    for (int n = 0; n < 16; n++)
        for (int q = 0; q < 256; q++) {
            int p = n ? squash(16 * q - 2040) : 2048;
            for (int y = 0; y < 2; y++) {
                int p1 = p + (((((y << 12) - y) - p) * (int)RECIP16[n] + 32768) >> 16);
                int n1 = n < (int)limit ? n + 1 : n;
                int q1 = clampi((stretch(p1) + 2048) >> 4, 0, 255);
                next[(n << 8 | q) * 2 + y] = (uint16_t)(n1 << 8 | q1);
            }
        }
}


/* ------------------------------------------------------------------ */
/* coding context (per call)                                           */

typedef struct {
    const brio_model *m; /* coding mode */
    trainer *t;          /* training mode */
    /* history */
    const uint8_t *buf;  /* message bytes so far (encoder: input) */
    size_t pos;          /* position in the message */
    size_t bpos;         /* position in buf (= pos unless in a session) */
    uint8_t *hb;         /* session: history buffer (previous messages + this one) */
    size_t hlen, hcap;
    uint64_t hist;       /* last 8 bytes, most recent in low byte */
    uint32_t wh, pw;     /* current word hash, previous word hash */
    /* bit state */
    int c0, nib, bitpos;
    uint32_t skey[NS];          /* byte-level keys of trained contexts */
    uint32_t nk[NS];            /* nibble-level keys */
    const uint8_t *sn[NS];      /* coding: current nibble nodes */
    uint32_t *tn[NS];           /* training: current nibble nodes */
    uint32_t dk[ND];            /* byte-level keys of per-message contexts */
    uint16_t *dn[ND];           /* current nibble counters */
    const int16_t *dtd[ND];     /* coding: TD table of each current bucket's age class */
    int dcls[ND];               /* age class of each current bucket */
    /* sessions */
    uint32_t nmsg;              /* messages begun */
    uint32_t ep;                /* epoch: number of this message mod 256 (0 when stateless) */
    size_t mstart;              /* position of the message start in buf */
    uint32_t carry_bits;        /* map bound between messages (0: stateless) */
    dynmap dyn;
    /* match model */
    uint32_t *mt;
    uint32_t mtbits;
    uint32_t mlen, mptr;
    int mexp;                   /* expected byte, -1 none */
    /* mixer */
    int32_t *w;                 /* NSETS*NIP (coding: per-call copy, filled lazily per set) */
    int32_t *fw;                /* final mixer weights */
    uint8_t winit[NSETS];
    int x[NIP];                 /* mixer inputs, zero padded */
    int setA, setC, pA, pC;
    int x2[2];
    int32_t fwbuf[FWN];
    int32_t ew[3];              /* EOM weights (per-message copy) */
    uint32_t *csrow[NS + 1];
    int csk[NS + 1];
    uint32_t *tdrow[ND];
    int mact, mbit, mb;
    uint32_t a1r, a1base, a2base;
    int a1i, a1w, a2i, a2w, pm, pa1, pa2;
    uint32_t a2r, a2bits;
    int err;                    /* allocation failure seen */
} ctx_t;

static const uint8_t ZERO_NODES8[16] = {0};

static uint32_t ZERO_NODES32[16];

static void ctx_free(ctx_t *c)
{
    dyn_free(&c->dyn);
    free(c->mt);
    free(c->hb);
    if (!c->t) free(c->w);
    c->mt = NULL;
    c->hb = NULL;
    c->w = NULL;
}

static int ctx_init(ctx_t *c, const brio_model *m, trainer *t)
{
    memset(c, 0, sizeof(*c));
    c->m = m;
    c->t = t;
    if (dyn_init(&c->dyn)) return -1;
    c->mtbits = MT_MIN_BITS;
    c->mt = (uint32_t *)calloc((size_t)1 << c->mtbits, sizeof(uint32_t));
    if (!c->mt) { ctx_free(c); return -1; }
    c->a2bits = t ? t->prm.apm2_bits : m->prm.apm2_bits;
    if (t) {
        c->w = t->mw;
        c->fw = t->fw;
    } else {
        c->w = (int32_t *)malloc(sizeof(int32_t) * NSETS * NIP);
        memcpy(c->fwbuf, m->fw, sizeof(c->fwbuf));
        memcpy(c->ew, m->ew, sizeof(c->ew));
        c->fw = c->fwbuf;
        if (!c->w) { ctx_free(c); return -1; }
    }
    c->mexp = -1;
    return 0;
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
static int dyn_reserve(ctx_t *c, uint32_t extra)
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

static void lookup_static(ctx_t *c)
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
    if (dyn_reserve(c, ND)) c->err = 1;
    for (int i = 0; i < ND; i++) {
        uint32_t k = nib_key(c->dk[i], c->c0);
        dyn_lookup(c, i, k ? k : 1);
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

static void byte_contexts(ctx_t *c)
{
    uint64_t hs = c->hist;
    static_keys(hs, c->wh, c->pw, c->skey);
    /* APM row hashes (per byte; the bit context is added per bit) */
    c->a1base = fmix32((uint32_t)(hs & 0xFFFF) + 0x7F4A7C15u);
    c->a2base = fmix32((uint32_t)(hs & 0xFF) + 0x3C6EF372u);
    /* per-message contexts: orders 1,2,3,4,6 */
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

static int match_rebuild(ctx_t *c, uint32_t nbits)
{
    uint32_t *nt = (uint32_t *)calloc((size_t)1 << nbits, sizeof(uint32_t));
    if (!nt) return -1;
    free(c->mt);
    c->mt = nt;
    c->mtbits = nbits;
    for (size_t i = MATCH_MIN; i < c->bpos; i++)
        c->mt[match_hash(c->buf + i) >> (32 - nbits)] = (uint32_t)i;
    return 0;
}

/* update history after byte ch was appended at buf[pos-1] */
static void byte_update(ctx_t *c, int ch)
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

static void apm_init_rows(uint16_t *t, size_t rows)
{
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < 33; j++) t[r * 33 + j] = (uint16_t)(squash((j - 16) * 128) * 16);
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

static inline __attribute__((always_inline)) int predict_bit(ctx_t *c, const int tr)
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
        for (int i = 0; i < ND; i++) {
            uint16_t v = c->dn[i][c->nib];
            if (v >= 256 && i < NDB) hd = i + 1;
            x[I_DY + i] = c->dtd[i][v];
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

static inline __attribute__((always_inline)) void update_bit(ctx_t *c, int y, const int tr)
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

void brio_global_init(void)
{
    init_tables();
    init_recip();
}

#define AVG_SHIFT 7
/* exponential moving average of the mixer weights over messages */
static void trainer_average(trainer *t, size_t done)
{
    int sh = AVG_SHIFT;
    if (done < ((size_t)1 << AVG_SHIFT)) {
        /* warm-up: plain running mean */
        for (int i = 0; i < NSETS * NIP; i++)
            t->mwavg[i] += (((int64_t)t->mw[i] * 65536) - t->mwavg[i]) / (int64_t)(done + 1);
        for (int i = 0; i < FWN; i++)
            t->fwavg[i] += (((int64_t)t->fw[i] * 65536) - t->fwavg[i]) / (int64_t)(done + 1);
        return;
    }
    for (int i = 0; i < NSETS * NIP; i++) t->mwavg[i] += (((int64_t)t->mw[i] * 65536) - t->mwavg[i]) >> sh;
    for (int i = 0; i < FWN; i++) t->fwavg[i] += (((int64_t)t->fw[i] * 65536) - t->fwavg[i]) >> sh;
}

static void trainer_flush_log(trainer *t)
{
    uint32_t lim = t->prm.stat_limit;
    for (size_t i = 0; i < t->nlog; i++) {
        uintptr_t v = t->log[i];
        uint32_t *p = (uint32_t *)(v & ~(uintptr_t)3);
        *p = ctr_update(*p, (int)(v & 1), lim);
    }
    t->nlog = 0;
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

static void eom_train(ctx_t *c, const eom_t *e, int y)
{
    trainer *t = c->t;
    int err = ((y << 12) - e->p) * (int)t->prm.mix_lr_train;
    int xs[3] = {256, e->s1, e->s2};
    for (int i = 0; i < 3; i++)
        t->ew[i] = clampi(t->ew[i] + (int32_t)(((int64_t)xs[i] * err) >> 16), -WMAX, WMAX);
    t->e1[e->i1] = ctr_update(t->e1[e->i1], y, t->prm.stat_limit);
    t->e2[e->i2] = ctr_update(t->e2[e->i2], y, t->prm.stat_limit);
}

/* ------------------------------------------------------------------ */
/* binary arithmetic coder                                             */

typedef struct {
    uint32_t x1, x2;
    uint8_t *out;
    size_t n, cap;
    int err;
} enc_t;

static inline void enc_put(enc_t *e, uint8_t b)
{
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 256;
        uint8_t *no = (uint8_t *)realloc(e->out, nc);
        if (!no) { e->err = 1; return; }
        e->out = no;
        e->cap = nc;
    }
    e->out[e->n++] = b;
}

static inline void enc_bit(enc_t *e, int y, int p)
{
    uint32_t xmid = e->x1 + (uint32_t)(((uint64_t)(e->x2 - e->x1) * (uint32_t)p) >> 12);
    if (y) e->x2 = xmid; else e->x1 = xmid + 1;
    while (((e->x1 ^ e->x2) & 0xFF000000u) == 0) {
        enc_put(e, (uint8_t)(e->x2 >> 24));
        e->x1 <<= 8;
        e->x2 = (e->x2 << 8) | 255;
    }
}

static void enc_flush(enc_t *e)
{
    /* one byte v with v << 24 in [x1, x2] (v = ceil(x1 / 2^24)), none if x1 == 0;
     * the decoder reads missing bytes as 0 */
    if (e->x1) enc_put(e, (uint8_t)((e->x1 >> 24) + ((e->x1 & 0xFFFFFF) ? 1 : 0)));
}

typedef struct {
    uint32_t x1, x2, x;
    const uint8_t *in;
    size_t n, pos; /* pos may run past n: missing bytes read as 0 */
} dec_t;

static inline uint8_t dec_byte(dec_t *d)
{
    uint8_t b = d->pos < d->n ? d->in[d->pos] : 0;
    d->pos++;
    return b;
}

static inline int dec_bit(dec_t *d, int p)
{
    uint32_t xmid = d->x1 + (uint32_t)(((uint64_t)(d->x2 - d->x1) * (uint32_t)p) >> 12);
    int y = d->x <= xmid;
    if (y) d->x2 = xmid; else d->x1 = xmid + 1;
    while (((d->x1 ^ d->x2) & 0xFF000000u) == 0) {
        d->x1 <<= 8;
        d->x2 = (d->x2 << 8) | 255;
        d->x = (d->x << 8) | dec_byte(d);
    }
    return y;
}

/* ------------------------------------------------------------------ */
/* encode / decode / cost                                              */

/* Code one message on an initialised context.  Stateless calls use a fresh
 * context with buf = the message itself; a session appends the message to
 * its history buffer (c->hb) so the match model also sees earlier messages. */

static int hist_reserve(ctx_t *c, size_t extra)
{
    if (c->hlen + extra <= c->hcap) return 0;
    size_t nc = c->hcap ? c->hcap : 4096;
    while (nc < c->hlen + extra) nc *= 2;
    uint8_t *nb = (uint8_t *)realloc(c->hb, nc);
    if (!nb) return -1;
    c->hb = nb;
    c->hcap = nc;
    c->buf = nb;
    return 0;
}

/* Byte i of the message, ch, is known: in a session append it to the
 * history (stateless, buf is the message itself), then update the byte
 * contexts. */
static inline __attribute__((always_inline)) void byte_done(ctx_t *c, size_t i, int ch, int sess)
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

static inline __attribute__((always_inline)) int enc_message(ctx_t *c, int sess, const uint8_t *in, size_t n, uint8_t **out, size_t *outlen)
{
    enc_t e = {0, 0xFFFFFFFFu, NULL, 0, 0, 0};
    *out = NULL;
    *outlen = 0;
    if (sess) {
        if (hist_reserve(c, n)) return BRIO_ENOMEM;
    } else {
        c->buf = in;
    }
    eom_t em;
    for (size_t i = 0;; i++) {
        c->pos = i;
        enc_bit(&e, i == n, eom_predict(c, &em, 0));
        if (i == n) break;
        eom_adapt(c, &em, 0);
        byte_contexts(c);
        int ch = in[i];
        for (int b = 7; b >= 0; b--) {
            int y = (ch >> b) & 1;
            enc_bit(&e, y, predict_bit(c, 0));
            update_bit(c, y, 0);
        }
        byte_done(c, i, ch, sess);
        if (c->err || e.err) break;
    }
    enc_flush(&e);
    if (c->err || e.err || (!e.out && !(e.out = (uint8_t *)malloc(1)))) {
        free(e.out);
        return BRIO_ENOMEM;
    }
    *out = e.out;
    *outlen = e.n;
    return BRIO_OK;
}

static inline __attribute__((always_inline)) int dec_message(ctx_t *c, int sess, const uint8_t *in, size_t n, size_t limit, uint8_t **out,
                       size_t *outlen)
{
    dec_t d = {0, 0xFFFFFFFFu, 0, in, n, 0};
    *out = NULL;
    *outlen = 0;
    for (int i = 0; i < 4; i++) d.x = (d.x << 8) | dec_byte(&d);
    size_t cap = 0, start = c->hlen;
    uint8_t *ob = NULL;
    int rc = BRIO_OK;
    eom_t em;
    for (size_t i = 0;; i++) {
        c->pos = i;
        if (dec_bit(&d, eom_predict(c, &em, 0))) break;
        eom_adapt(c, &em, 0);
        if (i >= limit) { rc = BRIO_ELIMIT; break; }
        if (sess) {
            if (hist_reserve(c, 1)) { rc = BRIO_ENOMEM; break; }
        } else if (i == cap) {
            size_t nc = cap ? cap * 2 : 64;
            if (nc > limit) nc = limit;
            uint8_t *no = (uint8_t *)realloc(ob, nc);
            if (!no) { rc = BRIO_ENOMEM; break; }
            ob = no;
            cap = nc;
            c->buf = ob;
        }
        byte_contexts(c);
        for (int b = 0; b < 8; b++) {
            int y = dec_bit(&d, predict_bit(c, 0));
            update_bit(c, y, 0);
        }
        int ch = c->c0 & 255;
        if (!sess) ob[i] = (uint8_t)ch;
        byte_done(c, i, ch, sess);
        if (c->err) { rc = BRIO_ENOMEM; break; }
    }
    size_t outn = c->pos;
    if (rc == BRIO_OK) {
        /* canonical-length check: recompute what the encoder emitted */
        size_t k = d.pos - 4; /* bytes shifted out by the encoder */
        size_t L;
        if (d.x1) {
            uint32_t v = (d.x1 >> 24) + ((d.x1 & 0xFFFFFF) ? 1 : 0);
            L = k + 1;
            if (n > k && in[k] != v) rc = BRIO_ECORRUPT;
        } else {
            L = k;
        }
        if (rc == BRIO_OK) {
            if (n > L) rc = BRIO_ETRAIL;
            else if (n < L) rc = BRIO_ETRUNC;
        }
    }
    if (rc == BRIO_OK && sess) {
        ob = (uint8_t *)malloc(outn ? outn : 1);
        if (!ob) rc = BRIO_ENOMEM;
        else if (outn) memcpy(ob, c->hb + start, outn);
    }
    if (rc != BRIO_OK) { free(ob); return rc; }
    if (!ob && !(ob = (uint8_t *)malloc(1))) return BRIO_ENOMEM;
    *out = ob;
    *outlen = outn;
    return BRIO_OK;
}

BRIO_SIMD int brio_encode(const brio_model *m, const uint8_t *in, size_t n, uint8_t **out, size_t *outlen)
{
    ctx_t c;
    if (ctx_init(&c, m, NULL)) return BRIO_ENOMEM;
    int rc = enc_message(&c, 0, in, n, out, outlen);
    ctx_free(&c);
    return rc;
}

BRIO_SIMD int brio_decode(const brio_model *m, const uint8_t *in, size_t n, size_t limit, uint8_t **out,
                          size_t *outlen)
{
    ctx_t c;
    if (ctx_init(&c, m, NULL)) return BRIO_ENOMEM;
    int rc = dec_message(&c, 0, in, n, limit, out, outlen);
    ctx_free(&c);
    return rc;
}

/* ------------------------------------------------------------------ */
/* sessions: adaptation carried across the messages of one connection  */

#ifndef SESSION_HIST_MAX /* overridable for tests only */
#define SESSION_HIST_MAX (64 << 10) /* match history kept between messages */
#endif
#ifndef SESSION_MT_BITS /* overridable for tests only */
#define SESSION_MT_BITS 14          /* match table kept between messages: 2^14 slots */
#endif

struct brio_session {
    ctx_t c;
    int broken;
};

/* start a message in a session (coding or training): reset the per-message
 * part of the state */
static void sess_begin(ctx_t *c)
{
    c->pos = 0;
    c->hist = 0;
    c->wh = c->pw = 0;
    c->mlen = 0;
    c->mexp = -1;
    c->buf = c->hb;
    if (c->m) memcpy(c->ew, c->m->ew, sizeof(c->ew)); /* EOM weights restart every message */
    c->bpos = c->hlen;
    c->mstart = c->hlen;
    c->ep = c->nmsg++ & 255;
    c->dyn.cur = 0;
}

/* end a message in a session: bound what is carried to the next one */
static int sess_end(ctx_t *c)
{
    dynmap *d = &c->dyn;
    uint32_t cb = c->carry_bits;
    if (d->bits > cb || d->count > (9u << (cb - 4))) {
        /* keep the buckets of lowest rank (most recently used, then most
         * often seen): all those of rank < A, A as large as possible with at
         * most 3/8 of 2^cb buckets */
        uint32_t hist[4096] = {0}, target = 3u << (cb - 3), a = 0, sum = 0;
        for (uint32_t j = 0; j < (1u << d->bits); j++)
            if (*db_key(d, j)) hist[db_rank(db_nodes(d, j), c->ep)]++;
        while (a < 4096 && sum + hist[a] <= target) sum += hist[a++];
        if (dyn_purge(d, d->bits > cb ? cb : d->bits, c->ep, a)) return -1;
    }
    /* match history: keep the last half when over the limit */
    int rebuild = c->mtbits > SESSION_MT_BITS;
    if (c->hlen > SESSION_HIST_MAX) {
        size_t keep = SESSION_HIST_MAX / 2;
        memmove(c->hb, c->hb + c->hlen - keep, keep);
        c->hlen = keep;
        rebuild = 1;
    }
    if (c->hcap > SESSION_HIST_MAX) {
        uint8_t *nb = (uint8_t *)realloc(c->hb, SESSION_HIST_MAX);
        if (!nb) return -1;
        c->hb = nb;
        c->hcap = SESSION_HIST_MAX;
    }
    c->buf = c->hb;
    c->bpos = c->hlen;
    if (rebuild && match_rebuild(c, c->mtbits > SESSION_MT_BITS ? SESSION_MT_BITS : c->mtbits)) return -1;
    return 0;
}

brio_session *brio_session_new(const brio_model *m)
{
    brio_session *s = (brio_session *)calloc(1, sizeof(brio_session));
    if (!s) return NULL;
    if (ctx_init(&s->c, m, NULL)) { free(s); return NULL; }
    s->c.carry_bits = m->prm.session_map_bits;
    memcpy(s->c.w, m->mw, sizeof(int32_t) * NSETS * NIP);
    memset(s->c.winit, 1, sizeof(s->c.winit));
    return s;
}

void brio_session_free(brio_session *s)
{
    if (!s) return;
    ctx_free(&s->c);
    free(s);
}

size_t brio_session_bytes(const brio_session *s)
{
    return sizeof(*s) + ((size_t)DB_BYTES << s->c.dyn.bits) + ((size_t)4 << s->c.mtbits) + s->c.hcap +
           sizeof(int32_t) * NSETS * NIP;
}

BRIO_SIMD int brio_session_encode(brio_session *s, const uint8_t *in, size_t n, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (s->broken) return BRIO_EBROKEN;
    sess_begin(&s->c);
    int rc = enc_message(&s->c, 1, in, n, out, outlen);
    if (rc == BRIO_OK && sess_end(&s->c)) {
        free(*out);
        *out = NULL;
        *outlen = 0;
        rc = BRIO_ENOMEM;
    }
    if (rc != BRIO_OK) s->broken = 1;
    return rc;
}

BRIO_SIMD int brio_session_decode(brio_session *s, const uint8_t *in, size_t n, size_t limit, uint8_t **out,
                                  size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (s->broken) return BRIO_EBROKEN;
    sess_begin(&s->c);
    int rc = dec_message(&s->c, 1, in, n, limit, out, outlen);
    if (rc == BRIO_OK && sess_end(&s->c)) {
        free(*out);
        *out = NULL;
        *outlen = 0;
        rc = BRIO_ENOMEM;
    }
    if (rc != BRIO_OK) s->broken = 1;
    return rc;
}

#include <math.h>

int brio_cost(const brio_model *m, const uint8_t *in, size_t n, double *eom_bits, double *byte_bits)
{
    ctx_t c;
    if (ctx_init(&c, m, NULL)) return BRIO_ENOMEM;
    c.buf = in;
    double eb = 0, bb = 0;
    eom_t em;
    for (size_t i = 0;; i++) {
        c.pos = i;
        int p = eom_predict(&c, &em, 0);
        eb -= log2((i == n ? p : 4096 - p) / 4096.0);
        if (i == n) break;
        eom_adapt(&c, &em, 0);
        byte_contexts(&c);
        int ch = in[i];
        for (int b = 7; b >= 0; b--) {
            int y = (ch >> b) & 1;
            p = predict_bit(&c, 0);
            bb -= log2((y ? p : 4096 - p) / 4096.0);
            update_bit(&c, y, 0);
        }
        c.pos = i + 1;
        c.bpos = i + 1;
        byte_update(&c, ch);
    }
    int bad = c.err;
    ctx_free(&c);
    *eom_bits = eb;
    *byte_bits = bb;
    return bad ? BRIO_ENOMEM : BRIO_OK;
}

/* ------------------------------------------------------------------ */
/* model blob                                                          */

#define HDR_SIZE 64

static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t fixed_bytes(uint32_t apm2_bits)
{
    return HDR_SIZE + 2 * (E1N + E2N + MSN) + 4 * (3 + NSETS * NI + FWN) + 2 * TDN + 2 * APM1N +
           2 * ((size_t)33 << apm2_bits);
}

/* export a trained counter as a node, through the learned calibration */
static uint16_t calib_node(const trainer *t, int input, uint32_t s)
{
    uint32_t n = s & 1023;
    if (!n) return 0;
    int cls = count_class(n), k;
    const uint32_t *row = t->cs + ((size_t)input * 16 + (size_t)cls) * 33;
    int st = stretch(calib_p(row, stretch((int)(s >> 20)), &k));
    return (uint16_t)(((st + 2048) << 4) | cls);
}

static int32_t export_w(const trainer *t, int64_t avg)
{
    (void)t;
    int64_t v = (avg + 32768) >> 16;
    return (int32_t)(v < -WMAX ? -WMAX : v > WMAX ? WMAX : v);
}

static uint8_t *trainer_export(const trainer *t, size_t *len)
{
    size_t apm2n = (size_t)33 << t->prm.apm2_bits;
    size_t total = fixed_bytes(t->prm.apm2_bits) + (size_t)t->fgroups * GROUP_BYTES;
    uint8_t *b = (uint8_t *)calloc(total, 1);
    if (!b) return NULL;
    memcpy(b, "BRIO", 4);
    put16(b + 4, BRIO_FORMAT_VERSION);
    put16(b + 6, HDR_SIZE);
    put32(b + 8, t->fgroups);
    put32(b + 12, t->prm.apm2_bits);
    put32(b + 16, t->prm.mix_lr);
    put32(b + 20, t->prm.apm_rate);
    put32(b + 24, t->prm.dyn_limit);
    put32(b + 28, NI);
    put32(b + 32, NSETS);
    put32(b + 36, t->prm.session_map_bits);
    uint8_t *p = b + HDR_SIZE;
    for (int i = 0; i < E1N; i++, p += 2) put16(p, ctr_to_node(t->e1[i]));
    for (int i = 0; i < E2N; i++, p += 2) put16(p, ctr_to_node(t->e2[i]));
    for (int i = 0; i < MSN; i++, p += 2) put16(p, ctr_to_node(t->ms[i]));
    for (int i = 0; i < 3; i++, p += 4) put32(p, (uint32_t)t->ew[i]);
    for (int i = 0; i < NSETS * NI; i++, p += 4) put32(p, (uint32_t)export_w(t, t->mwavg[i / NI * NIP + i % NI]));
    for (int i = 0; i < FWN; i++, p += 4) put32(p, (uint32_t)export_w(t, t->fwavg[i]));
    for (int i = 0; i < TDN; i++, p += 2) {
        /* an age class never trained (model trained without sessions, or a
         * state never seen carried) takes the fresh class's value */
        int j = i >= ND * 16 * 64 && (t->tdc[i] & 1023) <= 2 ? i % (ND * 16 * 64) : i;
        put16(p, (uint16_t)(int16_t)((j & (15 * 64)) ? stretch((int)(t->tdc[j] >> 20)) : 0));
    }
    for (int i = 0; i < APM1N; i++, p += 2) put16(p, t->apm1[i]);
    for (size_t i = 0; i < apm2n; i++, p += 2) put16(p, t->apm2[i]);
    /* final group G takes the 4 most visited buckets among the training
     * groups G*f .. G*f+f-1 (group_of(key, n*f) / f == group_of(key, n)) */
    uint32_t f = t->fgroups ? t->ngroups / t->fgroups : 1;
    for (size_t G = 0; G < t->fgroups; G++, p += GROUP_BYTES) {
        const uint32_t *cand = t->bk + (size_t)G * f * 4 * 16;
        int used[4] = {-1, -1, -1, -1};
        for (int slot = 0; slot < 4; slot++) {
            int best = -1;
            uint32_t bestv = 0;
            for (int j = 0; j < (int)f * 4; j++) {
                const uint32_t *bkt = cand + (size_t)j * 16;
                uint32_t v = bkt[0] ? (bkt[1] & 1023) : 0;
                if (v == 0 || v <= bestv) continue;
                int dup = 0;
                for (int u = 0; u < slot; u++)
                    if (used[u] == j || (uint16_t)cand[(size_t)used[u] * 16] == (uint16_t)bkt[0]) dup = 1;
                if (dup) continue;
                best = j;
                bestv = v;
            }
            if (best < 0) break;
            used[slot] = best;
            const uint32_t *bkt = cand + (size_t)best * 16;
            uint8_t *o = p + slot * BUCKET_BYTES;
            put16(o, (uint16_t)bkt[0]);
            size_t bi = (size_t)G * f * 4 + (size_t)best;
            for (int j = 1; j < 16; j++) {
                uint16_t nd = calib_node(t, t->bkord[bi], bkt[j]);
                o[1 + j] = nd ? st_to_node8((int)(nd >> 4) - 2048) : 0;
            }
        }
    }
    *len = total;
    return b;
}

static int trainer_init(trainer *t, const brio_params *prm, uint32_t fgroups)
{
    memset(t, 0, sizeof(*t));
    t->prm = *prm;
    t->fgroups = fgroups;
    uint32_t ngroups = fgroups * (prm->train_factor ? prm->train_factor : 1);
    t->ngroups = ngroups;
    if (ngroups) {
        t->bk = (uint32_t *)calloc((size_t)ngroups * 4 * 16, sizeof(uint32_t));
        t->bkord = (uint8_t *)calloc((size_t)ngroups * 4, 1);
        if (!t->bk || !t->bkord) { free(t->bk); free(t->bkord); return -1; }
    }
    size_t rows = (size_t)1 << prm->apm2_bits;
    t->apm2 = (uint16_t *)malloc(rows * 33 * sizeof(uint16_t));
    if (!t->apm2) { free(t->bk); return -1; }
    apm_init_rows(t->apm2, rows);
    apm_init_rows(t->apm1, 1 << APM1_BITS);
    t->ew[0] = -(1060 << 8); /* P(end) ~ 1/64 where no table has data */
    t->ew[1] = 1 << 15;
    t->ew[2] = 1 << 15;
    for (int s = 0; s < NSETS; s++)
        for (int i = 0; i < NI; i++) t->mw[s * NIP + i] = i == I_BIAS ? 0 : (1 << 14);
    for (int i = 0; i < FWN; i++) t->fw[i] = 32768;
    for (int i = 0; i < NSETS * NIP; i++) t->mwavg[i] = (int64_t)t->mw[i] * 65536;
    for (int i = 0; i < FWN; i++) t->fwavg[i] = (int64_t)t->fw[i] * 65536;
    for (int i = 0; i < NCLS * ND * 16; i++)
        for (int q = 0; q < 64; q++)
            t->tdc[i * 64 + q] = ((uint32_t)squash(q * 64 + 32 - 2048) << 20) | 2;
    build_dnext(t->dnext, prm->dyn_limit);
    for (int i = 0; i < (NS + 1) * 16; i++)
        for (int j = 0; j < 33; j++) t->cs[i * 33 + j] = ((uint32_t)squash((j - 16) * 128) << 20) | 2;
    return 0;
}

static void trainer_free(trainer *t)
{
    free(t->bk);
    free(t->bkord);
    free(t->apm2);
    free(t->log);
}

static int check_params(const brio_params *p)
{
    if (p->apm2_bits > 20 || p->mix_lr > 63 || p->mix_lr_train > 63 || p->apm_rate < 1 ||
        p->apm_rate > 15 || p->dyn_limit < 1 || p->dyn_limit > 15 || p->stat_limit < 1 ||
        p->stat_limit > 1023 || p->epochs > 16 || p->train_factor < 1 || p->train_factor > 16 ||
        p->session_map_bits < SESSION_MAP_MIN || p->session_map_bits > DYN_MAX_BITS)
        return -1;
    return 0;
}

size_t brio_min_model_size(uint32_t apm2_bits) { return apm2_bits > 20 ? 0 : fixed_bytes(apm2_bits); }

/* one training message on context c (sess: c holds a session's history) */
static int train_message(ctx_t *c, int sess, const uint8_t *in, size_t len)
{
    if (sess) {
        if (hist_reserve(c, len)) return -1;
    } else {
        c->buf = in;
    }
    eom_t em;
    for (size_t i = 0;; i++) {
        c->pos = i;
        eom_predict(c, &em, 1);
        eom_train(c, &em, i == len);
        if (i == len) break;
        byte_contexts(c);
        int ch = in[i];
        for (int b = 7; b >= 0; b--) {
            int y = (ch >> b) & 1;
            predict_bit(c, 1);
            update_bit(c, y, 1);
        }
        byte_done(c, i, ch, sess);
        if (c->err) return -1;
    }
    return 0;
}

#define TRAIN_LIVE 64 /* sessions carried at once while training (least recently used dropped) */

typedef struct {
    uint32_t id;
    int live;
    size_t used;
    ctx_t c;
} tsess_t;

/* next[k] = index of the next message of k's session, or SIZE_MAX */
static size_t *session_next(const uint32_t *ids, size_t n)
{
    size_t hn = 1;
    while (hn < 2 * n + 2) hn <<= 1;
    size_t *next = (size_t *)malloc((n ? n : 1) * sizeof(size_t));
    uint32_t *hk = (uint32_t *)malloc(hn * sizeof(uint32_t));
    size_t *hv = (size_t *)malloc(hn * sizeof(size_t));
    if (!next || !hk || !hv) { free(next); free(hk); free(hv); return NULL; }
    for (size_t i = 0; i < hn; i++) hv[i] = SIZE_MAX;
    for (size_t k = n; k-- > 0;) {
        size_t i = fmix32(ids[k]) & (hn - 1);
        while (hv[i] != SIZE_MAX && hk[i] != ids[k]) i = (i + 1) & (hn - 1);
        next[k] = hv[i];
        hk[i] = ids[k];
        hv[i] = k;
    }
    free(hk);
    free(hv);
    return next;
}

int brio_train(const uint8_t *const *msgs, const size_t *lens, size_t n, const uint32_t *sessions,
               const brio_params *prm, uint8_t **out, size_t *outlen, brio_progress_fn cb, void *cbarg)
{
    init_tables();
    init_recip();
    *out = NULL;
    *outlen = 0;
    if (check_params(prm)) return BRIO_EPARAM;
    size_t fixed = fixed_bytes(prm->apm2_bits);
    if (prm->model_size < fixed) return BRIO_EPARAM;
    size_t ng = (prm->model_size - fixed) / GROUP_BYTES;
    if (ng > (1u << 24)) ng = 1u << 24;
    trainer *tp = (trainer *)malloc(sizeof(trainer));
    if (!tp) return BRIO_ENOMEM;
    if (trainer_init(tp, prm, (uint32_t)ng)) { free(tp); return BRIO_ENOMEM; }
    size_t *next = NULL;
    tsess_t *ts = NULL;
    int rc = BRIO_OK;
    if (sessions) {
        next = session_next(sessions, n);
        ts = (tsess_t *)calloc(TRAIN_LIVE, sizeof(tsess_t));
        if (!next || !ts) rc = BRIO_ENOMEM;
    }
    uint32_t epochs = prm->epochs ? prm->epochs : 1;
    size_t total = n * epochs, done = 0;
    for (uint32_t ep = 0; ep < epochs && rc == BRIO_OK; ep++) {
        for (size_t k = 0; k < n; k++, done++) {
            int bad;
            if (!sessions) {
                /* each message alone, exactly as stateless coding sees it */
                ctx_t c;
                if (ctx_init(&c, NULL, tp)) { rc = BRIO_ENOMEM; break; }
                bad = train_message(&c, 0, msgs[k], lens[k]);
                ctx_free(&c);
            } else {
                /* the message on its session's context, as brio_session_* codes it */
                int slot = -1, old = 0;
                for (int j = 0; j < TRAIN_LIVE; j++) {
                    if (ts[j].live && ts[j].id == sessions[k]) { slot = j; break; }
                    if (ts[old].live && (!ts[j].live || ts[j].used < ts[old].used)) old = j;
                }
                if (slot < 0) {
                    slot = old;
                    if (ts[slot].live) ctx_free(&ts[slot].c);
                    ts[slot].live = 0;
                    if (ctx_init(&ts[slot].c, NULL, tp)) { rc = BRIO_ENOMEM; break; }
                    ts[slot].c.carry_bits = prm->session_map_bits;
                    ts[slot].live = 1;
                    ts[slot].id = sessions[k];
                }
                ts[slot].used = k;
                ctx_t *c = &ts[slot].c;
                sess_begin(c);
                bad = train_message(c, 1, msgs[k], lens[k]) || sess_end(c);
                if (bad || next[k] == SIZE_MAX) {
                    ctx_free(c);
                    ts[slot].live = 0;
                }
            }
            if (bad) { rc = BRIO_ENOMEM; break; }
            trainer_flush_log(tp);
            trainer_average(tp, done);
            if (cb && (done & 63) == 0 && cb(cbarg, done, total)) { rc = BRIO_EPARAM; break; }
        }
        if (ts)
            for (int j = 0; j < TRAIN_LIVE; j++)
                if (ts[j].live) { ctx_free(&ts[j].c); ts[j].live = 0; }
    }
    if (rc == BRIO_OK) {
        *out = trainer_export(tp, outlen);
        if (!*out) rc = BRIO_ENOMEM;
    }
    free(next);
    free(ts);
    trainer_free(tp);
    free(tp);
    return rc;
}

static int node_ok(uint16_t v) { return v == 0 || ((v >> 4) != 0 && (v & 15) != 0); }

int brio_neutral_blob(uint8_t **out, size_t *len)
{
    /* the untrained state without any hashed tables */
    brio_params prm;
    brio_default_params(&prm);
    prm.apm2_bits = 0;
    init_tables();
    init_recip();
    trainer *t = (trainer *)malloc(sizeof(trainer));
    if (!t) return BRIO_ENOMEM;
    if (trainer_init(t, &prm, 0)) { free(t); return BRIO_ENOMEM; }
    *out = trainer_export(t, len);
    trainer_free(t);
    free(t);
    return *out ? BRIO_OK : BRIO_ENOMEM;
}

int brio_model_load(const uint8_t *blob, size_t len, brio_model **out, const char **why)
{
    init_tables();
    init_recip();
    *out = NULL;
    uint8_t *own = NULL;
    if (!blob || len == 0) {
        if (brio_neutral_blob(&own, &len)) return BRIO_ENOMEM;
        blob = own;
    }
#define BAD(msg) do { *why = msg; free(own); brio_model_free(m); return BRIO_EMODEL; } while (0)
    brio_model *m = NULL;
    if (len < HDR_SIZE) BAD("model blob too short");
    if (memcmp(blob, "BRIO", 4)) BAD("bad magic (not a BRIO model)");
#define BRIO_STR_(x) #x
#define BRIO_STR(x) BRIO_STR_(x)
    if (get16(blob + 4) != BRIO_FORMAT_VERSION)
        BAD("model format is not version " BRIO_STR(BRIO_FORMAT_VERSION)
            ", the one this auracodec reads (train the profile again)");
    if (get16(blob + 6) != HDR_SIZE) BAD("bad header size");
    m = (brio_model *)calloc(1, sizeof(brio_model));
    if (!m) { free(own); return BRIO_ENOMEM; }
    m->ngroups = get32(blob + 8);
    m->prm.apm2_bits = get32(blob + 12);
    m->prm.mix_lr = get32(blob + 16);
    m->prm.apm_rate = get32(blob + 20);
    m->prm.dyn_limit = get32(blob + 24);
    m->prm.session_map_bits = get32(blob + 36);
    if (get32(blob + 28) != NI || get32(blob + 32) != NSETS) BAD("model layout mismatch (inputs/sets)");
    for (int i = 40; i < HDR_SIZE; i++)
        if (blob[i]) BAD("nonzero reserved header bytes");
    if (m->ngroups > (1u << 24)) BAD("bucket group count out of range");
    if (m->prm.apm2_bits > 20) BAD("apm2_bits out of range");
    if (m->prm.mix_lr > 63) BAD("mix_lr out of range");
    if (m->prm.apm_rate < 1 || m->prm.apm_rate > 15) BAD("apm_rate out of range");
    if (m->prm.dyn_limit < 1 || m->prm.dyn_limit > 15) BAD("dyn_limit out of range");
    if (m->prm.session_map_bits < SESSION_MAP_MIN || m->prm.session_map_bits > DYN_MAX_BITS)
        BAD("session_map_bits out of range");
    size_t apm2n = (size_t)33 << m->prm.apm2_bits;
    size_t nb = (size_t)m->ngroups * 4;
    size_t need = fixed_bytes(m->prm.apm2_bits) + (size_t)m->ngroups * GROUP_BYTES;
    if (len != need) BAD("model blob size does not match its header");
    const uint8_t *p = blob + HDR_SIZE;
    for (int i = 0; i < E1N; i++, p += 2) if (!node_ok(m->e1[i] = get16(p))) BAD("bad EOM entry");
    for (int i = 0; i < E2N; i++, p += 2) if (!node_ok(m->e2[i] = get16(p))) BAD("bad EOM entry");
    for (int i = 0; i < MSN; i++, p += 2) if (!node_ok(m->ms[i] = get16(p))) BAD("bad match entry");
    for (int i = 0; i < 3; i++, p += 4) {
        m->ew[i] = (int32_t)get32(p);
        if (m->ew[i] < -WMAX || m->ew[i] > WMAX) BAD("EOM weight out of range");
    }
    for (int i = 0; i < NSETS * NI; i++, p += 4) {
        int32_t v = (int32_t)get32(p);
        if (v < -WMAX || v > WMAX) BAD("mixer weight out of range");
        m->mw[i / NI * NIP + i % NI] = v; /* padding lanes stay 0 (calloc) */
    }
    for (int i = 0; i < FWN; i++, p += 4) {
        m->fw[i] = (int32_t)get32(p);
        if (m->fw[i] < -WMAX || m->fw[i] > WMAX) BAD("final mixer weight out of range");
    }
    for (int i = 0; i < TDN; i++, p += 2) {
        m->td[i] = (int16_t)get16(p);
        if (m->td[i] < -2047 || m->td[i] > 2047) BAD("calibration entry out of range");
    }
    for (int i = 0; i < APM1N; i++, p += 2) m->apm1[i] = get16(p);
    build_dnext(m->dnext, m->prm.dyn_limit);
    m->tdx = (int16_t *)malloc(sizeof(int16_t) * NCLS * ND * DSTATES);
    if (!m->tdx) { free(own); brio_model_free(m); return BRIO_ENOMEM; }
    for (int i = 0; i < NCLS * ND; i++)
        for (int v = 0; v < DSTATES; v++)
            m->tdx[i * DSTATES + v] = (v >> 8) ? m->td[(i * 16 + (v >> 8)) * 64 + ((v & 255) >> 2)] : 0;
    m->apm2 = (uint16_t *)malloc(apm2n * 2);
    m->bk = (uint8_t *)malloc(nb ? (size_t)m->ngroups * GROUP_BYTES : 1);
    if (!m->apm2 || !m->bk) { free(own); brio_model_free(m); return BRIO_ENOMEM; }
    for (size_t i = 0; i < apm2n; i++, p += 2) m->apm2[i] = get16(p);
    for (size_t i = 0; i < nb; i++) {
        uint8_t *b = m->bk + i * BUCKET_BYTES;
        memcpy(b, p, BUCKET_BYTES);
        p += BUCKET_BYTES;
        int any = 0;
        for (int j = 2; j < BUCKET_BYTES; j++) any |= b[j];
        if (get16(b) == 0 && any) BAD("empty bucket with nonzero entries");
    }
    m->bytes = sizeof(brio_model) + apm2n * 2 + (size_t)m->ngroups * GROUP_BYTES + sizeof(int16_t) * NCLS * ND * DSTATES;
    free(own);
    *out = m;
    return BRIO_OK;
#undef BAD
}

void brio_model_free(brio_model *m)
{
    if (!m) return;
    free(m->bk);
    free(m->apm2);
    free(m->tdx);
    free(m);
}

size_t brio_model_bytes(const brio_model *m) { return m->bytes; }
