/*
 * _internal.h - BRIO's C core: the contract between its files.
 *
 * The core is plain C11 (no Python: only _brio.c, the CPython binding,
 * includes Python.h), so the same files compile to the extension module and,
 * with clang, to WebAssembly.  One file per role:
 *
 *   _predict.h   prediction, hot path (static inline: contexts, hashed and
 *                per-message tables, match model, mixers, APMs, EOM model)
 *   _predict.c   prediction, cold part: constant tables, coding contexts,
 *                growth and purges of the per-message map, match table
 *   _coder.h     the binary arithmetic coder and the frame of one message
 *                (static inline: coding loops shared by _coder.c, _session.c)
 *   _coder.c     stateless coding: brio_encode, brio_decode, brio_cost
 *   _session.c   sessions: state carried between the messages of a context
 *   _model.c     the model file: blob layout, validation, loading, export
 *   _train.c     training
 *
 * This header holds what they share: the model layout, the data structures,
 * the numeric primitives and the functions one file provides to another.
 * docs/brio.md specifies the format and every integer operation that
 * influences coding; tests/brio_ref.py is its executable copy.
 */
#ifndef BRIO_INTERNAL_H
#define BRIO_INTERNAL_H

#include "_core.h"

#include <stdlib.h>
#include <string.h>

/* Internal functions and tables shared between the core's files: hidden, so
 * that calls and loads stay direct (no PLT/GOT) in the shared library. */
#if defined(__GNUC__)
#define BRIO_HIDDEN __attribute__((visibility("hidden")))
#define BRIO_INLINE static inline __attribute__((always_inline))
#else
#define BRIO_HIDDEN
#define BRIO_INLINE static inline
#endif

/* Optional AVX2 clones of the hot paths (integer arithmetic only, so all
 * clones give bit-identical results). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(BRIO_NO_CLONES)
#define BRIO_SIMD __attribute__((target_clones("avx2", "default")))
#else
#define BRIO_SIMD
#endif

/* ------------------------------------------------------------------ */
/* numeric primitives (tables built by brio_global_init, _predict.c)   */

BRIO_HIDDEN extern int16_t STRETCH_T[4096];
BRIO_HIDDEN extern int16_t ST8[256];        /* u8 node -> stretch */
BRIO_HIDDEN extern int16_t SQUASH_FULL[4096]; /* squash(x) for x = -2048..2047 */
BRIO_HIDDEN extern uint32_t RECIP[1024];    /* 65536 / (n + 1.5) */
BRIO_HIDDEN extern uint32_t RECIP16[16];

static inline int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static inline int squash(int x)
{
    return SQUASH_FULL[clampi(x, -2047, 2047) + 2048];
}

static inline int stretch(int p) { return STRETCH_T[p]; }

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

/* the output budget of a payload of n bytes: max_ratio * n + slack,
 * saturating; no cap when max_ratio is 0 (brio_ratio_budget, _core.h) */
static inline size_t ratio_budget(size_t n, uint32_t max_ratio)
{
    if (!max_ratio || n > (SIZE_MAX - BRIO_RATIO_SLACK) / max_ratio) return SIZE_MAX;
    return n * max_ratio + BRIO_RATIO_SLACK;
}

/* ------------------------------------------------------------------ */
/* model layout                                                        */

#define NS 8 /* trained hashed contexts: orders 1-6, word bigram, word unigram */
#define NDB 5 /* per-message byte contexts: orders 1, 2, 3, 4, 6 (byte_contexts) */
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
#ifndef DYN_MAX_BITS /* overridable for tests only (tests/brio_ref.py takes the same values) */
#define DYN_MAX_BITS 16
#endif
#define SESSION_MAP_MIN 11
#define MT_MIN_BITS 8
#define MT_MAX_BITS 16

struct brio_model {
    brio_params prm;
    uint32_t ngroups;     /* groups of 4 buckets */
    /* The large read-only tables point into the blob when the loader may
     * borrow it (brio_model_load), else into own: */
    const uint8_t *bk;    /* ngroups * GROUP_BYTES */
    const uint16_t *apm1; /* APM1N */
    const uint16_t *apm2; /* (1 << apm2_bits) * 33 */
    uint8_t *own;         /* private copy of the blob's tail (APM1, APM2, buckets), or NULL */
    uint16_t e1[E1N];
    uint16_t e2[E2N];
    uint16_t ms[MSN];
    int32_t ew[3];
    int32_t mw[NSETS * NIP];
    int32_t fw[FWN];
    int16_t td[TDN];
    int16_t *tdx;          /* td expanded per state: NCLS * ND * DSTATES */
    uint16_t dnext[DSTATES * 2];
    size_t bytes;         /* private memory (borrowed tables not counted) */
    size_t shared;        /* bytes of the blob the model points into */
};

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

/* purge rank of a bucket: age (messages since its last use, mod 256) * 16
 * + 15 - count of its first node (how often its context was seen, <= 15) */
static inline uint32_t db_rank(const uint16_t *b, uint32_t ep)
{
    return ((ep - b[0]) & 255) * 16 + 15 - (b[1] >> 8);
}

/* ------------------------------------------------------------------ */
/* coding context: the predictor's state for one message, or for the    */
/* messages of a session (coding) or of a training session             */

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
    int cont;                   /* coding a continuation: no per-message contexts (_stream.h) */
} ctx_t;

/* ------------------------------------------------------------------ */
/* what each file provides to the others                               */

/* _predict.c */
BRIO_HIDDEN extern const uint8_t ZERO_NODES8[16];
BRIO_HIDDEN extern uint32_t ZERO_NODES32[16];
/* m: coding with a loaded model, or t: training; returns 0 or -1 (no memory) */
BRIO_HIDDEN int ctx_init(ctx_t *c, const brio_model *m, trainer *t);
BRIO_HIDDEN void ctx_free(ctx_t *c);
BRIO_HIDDEN int dyn_grow(dynmap *d);
/* rebuild the map with 2^nbits slots, keeping only the buckets of rank < rmax */
BRIO_HIDDEN int dyn_purge(dynmap *d, uint32_t nbits, uint32_t ep, uint32_t rmax);
BRIO_HIDDEN int match_rebuild(ctx_t *c, uint32_t nbits);
/* the session history buffer holds at least extra more bytes (slow path of hist_reserve) */
BRIO_HIDDEN int hist_grow(ctx_t *c, size_t extra);
/* the per-message counter state machine (docs/brio.md, section 4.1) */
BRIO_HIDDEN void build_dnext(uint16_t *next, uint32_t limit);
BRIO_HIDDEN void apm_init_rows(uint16_t *t, size_t rows);

/* _session.c: a message of a session (coding or training) */
BRIO_HIDDEN void sess_begin(ctx_t *c);
BRIO_HIDDEN int sess_end(ctx_t *c);

/* _train.c */
BRIO_HIDDEN int trainer_init(trainer *t, const brio_params *prm, uint32_t fgroups);
BRIO_HIDDEN void trainer_free(trainer *t);

/* _model.c */
BRIO_HIDDEN size_t fixed_bytes(uint32_t apm2_bits); /* blob bytes without the buckets */
/* the tables that start at a multiple of 64 in the blob (format 3) */
#define BLOB_ALIGN 64
static inline size_t blob_align(size_t n) { return (n + BLOB_ALIGN - 1) & ~(size_t)(BLOB_ALIGN - 1); }
BRIO_HIDDEN size_t small_bytes(void); /* header and the small tables, before APM1's padding */
BRIO_HIDDEN uint8_t *trainer_export(const trainer *t, size_t *len);

#endif
