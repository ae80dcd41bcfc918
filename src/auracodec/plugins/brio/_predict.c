/*
 * _predict.c - BRIO core, prediction (cold part): the constant tables, the
 * coding contexts, growth and purges of the per-message map, the match
 * table.  The per-bit hot path is in _predict.h; the contract in _internal.h.
 */
#include "_predict.h"

static const int16_t SQUASH_T[33] = {
    1,    2,    4,    6,    10,   17,   27,   45,   74,   120,  194,
    311,  488,  747,  1102, 1546, 2048, 2550, 2994, 3349, 3608, 3785,
    3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090, 4092, 4094, 4095};

int16_t STRETCH_T[4096];
int16_t ST8[256];
int16_t SQUASH_FULL[4096];
uint32_t RECIP[1024];
uint32_t RECIP16[16];
static int tables_ready = 0;

/* x in stretch units (1/256 of a natural-log odds), result: P(1) in 1/4096 */
static inline int squash_calc(int x)
{
    if (x > 2047) x = 2047;
    if (x < -2047) x = -2047;
    int j = (x + 2048) >> 7, w = (x + 2048) & 127;
    return (SQUASH_T[j] * (128 - w) + SQUASH_T[j + 1] * w + 64) >> 7;
}

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

static void init_recip(void)
{
    for (int n = 0; n < 1024; n++) RECIP[n] = (uint32_t)(131072 / (2 * n + 3));
    for (int n = 0; n < 16; n++) RECIP16[n] = (uint32_t)(131072 / (2 * n + 3));
}

void brio_global_init(void)
{
    init_tables();
    init_recip();
}

/* ------------------------------------------------------------------ */
/* per-message adaptive map (see _internal.h)                          */

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

int dyn_grow(dynmap *d)
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

/* rebuild the map with 2^nbits slots, keeping only the buckets of rank < rmax */
int dyn_purge(dynmap *d, uint32_t nbits, uint32_t ep, uint32_t rmax)
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

/* Per-message counters are states s = n << 8 | q of a table-driven state
 * machine: n = observations (0..limit), q = quantized stretch of the
 * probability (st = 16 q - 2040).  n = 0 is the empty state. */

void build_dnext(uint16_t *next, uint32_t limit)
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
/* coding context                                                      */

const uint8_t ZERO_NODES8[16] = {0};

uint32_t ZERO_NODES32[16];

void ctx_free(ctx_t *c)
{
    dyn_free(&c->dyn);
    free(c->mt);
    free(c->hb);
    if (!c->t) free(c->w);
    c->mt = NULL;
    c->hb = NULL;
    c->w = NULL;
}

int ctx_init(ctx_t *c, const brio_model *m, trainer *t)
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

int match_rebuild(ctx_t *c, uint32_t nbits)
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


void apm_init_rows(uint16_t *t, size_t rows)
{
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < 33; j++) t[r * 33 + j] = (uint16_t)(squash((j - 16) * 128) * 16);
}

int hist_grow(ctx_t *c, size_t extra)
{
    size_t nc = c->hcap ? c->hcap : 4096;
    while (nc < c->hlen + extra) nc *= 2;
    uint8_t *nb = (uint8_t *)realloc(c->hb, nc);
    if (!nb) return -1;
    c->hb = nb;
    c->hcap = nc;
    c->buf = nb;
    return 0;
}
