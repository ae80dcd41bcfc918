/*
 * _session.c - BRIO core, sessions: a coding context that carries adaptation
 * across the messages of one connection (docs/brio.md, section 7).
 */
#include "_coder.h"

#ifndef SESSION_HIST_MAX /* overridable for tests only */
#define SESSION_HIST_MAX (64 << 10) /* match history kept between messages */
#endif
#ifndef SESSION_MT_BITS /* overridable for tests only */
#define SESSION_MT_BITS 14          /* match table kept between messages: 2^14 slots */
#endif

struct brio_session {
    ctx_t c;
    int broken;
    strm_t *sm; /* continuations: sessions opened with BRIO_SESSION_STREAMS */
};

/* start a message in a session (coding or training): reset the per-message
 * part of the state */
void sess_begin(ctx_t *c)
{
    c->cont = 0;
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
int sess_end(ctx_t *c)
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
        /* the match pointer moved: a continuation starts without a match */
        c->mlen = 0;
        c->mexp = -1;
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

/* ------------------------------------------------------------------ */
/* continuations (_stream.h)                                           */

/* start a continuation: the byte contexts, the word hashes and the match
 * carry on from the direction's last byte.  With a trained model the
 * per-message map is left alone (c->cont: neither looked up nor updated);
 * an untrained model has nothing else to adapt with, so there the map is
 * used, and its epoch advances every STRM_EPOCH continued bytes. */
static void cont_begin(ctx_t *c, strm_t *sm)
{
    c->pos = 0;
    c->buf = c->hb;
    c->bpos = c->hlen;
    c->mstart = c->hlen; /* the match table grows within a message only */
    c->cont = c->m->ngroups > 0;
    c->dyn.cur = 0;
    if (!c->cont && sm->since >= STRM_EPOCH) {
        c->ep = c->nmsg++ & 255;
        sm->since = 0;
    }
}

/* The cut of message in[0..n) against the previous message: a prefix of p
 * and a suffix of q bytes copied from it.  The last continuation's cut when
 * it still fits and the longest one would not copy STRM_MINCUT more bytes;
 * else the longest (longest prefix first), or none when it copies fewer than
 * STRM_MINCUT bytes.  *same: the last cut was kept. */
static void strm_cut(const strm_t *sm, const uint8_t *in, size_t n, uint32_t *p, uint32_t *q, int *same)
{
    size_t lp = sm->has_prev ? sm->plen : 0, lo = lp < n ? lp : n, P = 0, S = 0;
    while (P < lo && sm->prev[P] == in[P]) P++;
    while (S < lo && sm->prev[lp - 1 - S] == in[n - 1 - S]) S++;
    size_t gp = P, gs = S < lo - P ? S : lo - P;
    if (gp + gs < STRM_MINCUT) gp = gs = 0;
    int fits = sm->cp <= P && sm->cs <= S && sm->cp + sm->cs <= lo;
    if (fits && sm->cp + sm->cs + STRM_MINCUT > gp + gs) {
        *p = sm->cp;
        *q = sm->cs;
        *same = 1;
    } else {
        *p = (uint32_t)gp;
        *q = (uint32_t)gs;
        *same = 0;
    }
}

/* A message continues the previous one when it is short or its cut copies
 * half of it or more (never the first of a session). */
static int strm_continues(const ctx_t *c, size_t n, uint32_t p, uint32_t q)
{
    return c->nmsg > 0 && (n <= STRM_SMALL || 2 * ((size_t)p + q) >= n);
}

/* a cut length: its bit length in unary (adaptive), then its bits below the top one */
static void enc_num(enc_t *e, sctr *len, uint32_t v)
{
    int nb = 0;
    while (v >> nb) nb++;
    for (int j = 0; j < STRM_NUMBITS; j++) {
        int y = j < nb;
        enc_bit(e, y, sctr_p12(&len[j]));
        sctr_update(&len[j], y);
        if (!y) break;
    }
    for (int j = nb - 2; j >= 0; j--) enc_bit(e, (v >> j) & 1, 2048);
}

static uint32_t dec_num(dec_t *d, sctr *len)
{
    int nb = 0;
    for (int j = 0; j < STRM_NUMBITS; j++) {
        int y = dec_bit(d, sctr_p12(&len[j]));
        sctr_update(&len[j], y);
        if (!y) break;
        nb++;
    }
    uint32_t v = nb ? 1 : 0;
    for (int j = nb - 2; j >= 0; j--) v = (v << 1) | (uint32_t)dec_bit(d, 2048);
    return v;
}

/* after a message of a streams session: keep it for the next one's cut */
static void strm_keep(strm_t *sm, const uint8_t *msg, size_t n, int cont, uint32_t p, uint32_t q)
{
    sm->has_prev = n <= STRM_PREV_MAX;
    sm->plen = sm->has_prev ? n : 0;
    if (sm->has_prev && n) memcpy(sm->prev, msg, n);
    sm->cp = cont ? p : 0;
    sm->cs = cont ? q : 0;
}

/* A message of a streams session: one bit, "continuation", then either the
 * message coded as in any session (a fresh message), or: one bit, "the last
 * cut", or the cut's prefix and suffix lengths; then the bytes between them,
 * continuing the text, each after a boundary decision.  The ratio cap counts
 * the modelled bytes: the copied ones cost a copy each, from at most
 * STRM_PREV_MAX bytes. */
static int strm_encode(ctx_t *c, strm_t *sm, const uint8_t *in, size_t n, uint32_t max_ratio,
                       uint8_t **out, size_t *outlen)
{
    enc_t e = {0, 0xFFFFFFFFu, NULL, 0, 0, 0};
    uint32_t p = 0, q = 0;
    int same = 1;
    *out = NULL;
    *outlen = 0;
    strm_cut(sm, in, n, &p, &q, &same);
    int cont = strm_continues(c, n, p, q);
    enc_bit(&e, cont, sctr_p12(&sm->cont));
    sctr_update(&sm->cont, cont);
    size_t m = n;
    if (cont) {
        enc_bit(&e, same, sctr_p12(&sm->same));
        sctr_update(&sm->same, same);
        if (!same) {
            enc_num(&e, sm->num[0], p);
            enc_num(&e, sm->num[1], q);
        }
        m = n - p - q;
        cont_begin(c, sm);
        sm->since += (uint32_t)m;
    } else {
        sess_begin(c);
    }
    if (hist_reserve(c, m)) { free(e.out); return BRIO_ENOMEM; }
    enc_body(c, &e, 1, in + (cont ? p : 0), m, cont ? sm : NULL);
    strm_keep(sm, in, n, cont, p, q);
    return enc_finish(c, &e, m, max_ratio, out, outlen);
}

static int strm_decode(ctx_t *c, strm_t *sm, const uint8_t *in, size_t n, size_t limit,
                       uint32_t max_ratio, uint8_t **out, size_t *outlen)
{
    dec_t d;
    dec_start(&d, in, n);
    *out = NULL;
    *outlen = 0;
    uint32_t p = 0, q = 0;
    int cont = dec_bit(&d, sctr_p12(&sm->cont));
    sctr_update(&sm->cont, cont);
    if (cont) {
        if (c->nmsg == 0) return BRIO_ECORRUPT; /* nothing to continue */
        int same = dec_bit(&d, sctr_p12(&sm->same));
        sctr_update(&sm->same, same);
        if (same) {
            p = sm->cp;
            q = sm->cs;
        } else {
            p = dec_num(&d, sm->num[0]);
            q = dec_num(&d, sm->num[1]);
        }
        if ((size_t)p + q > (sm->has_prev ? sm->plen : 0)) return BRIO_ECORRUPT;
        if ((size_t)p + q > limit) return BRIO_ELIMIT;
        cont_begin(c, sm);
    } else {
        sess_begin(c);
    }
    size_t start = c->hlen, m = 0;
    uint8_t *ob = NULL;
    int rc = dec_body(c, &d, 1, limit - p - q, ratio_budget(n, max_ratio), cont ? sm : NULL, &ob, &m);
    if (rc == BRIO_OK) rc = dec_finish(&d, in, n);
    if (rc != BRIO_OK) return rc;
    size_t total = p + m + q;
    ob = (uint8_t *)malloc(total ? total : 1);
    if (!ob) return BRIO_ENOMEM;
    if (p) memcpy(ob, sm->prev, p);
    if (m) memcpy(ob + p, c->hb + start, m);
    if (q) memcpy(ob + p + m, sm->prev + sm->plen - q, q);
    if (cont) sm->since += (uint32_t)m;
    strm_keep(sm, ob, total, cont, p, q);
    *out = ob;
    *outlen = total;
    return BRIO_OK;
}

int brio_session_continues(const brio_session *s, const uint8_t *in, size_t n)
{
    if (!s->sm || s->broken) return 0;
    uint32_t p = 0, q = 0;
    int same;
    if (n > STRM_SMALL) strm_cut(s->sm, in, n, &p, &q, &same);
    return strm_continues(&s->c, n, p, q);
}

brio_session *brio_session_new(const brio_model *m)
{
    return brio_session_new_ex(m, 0);
}

brio_session *brio_session_new_ex(const brio_model *m, unsigned flags)
{
    brio_session *s = (brio_session *)calloc(1, sizeof(brio_session));
    if (!s) return NULL;
    if (flags & BRIO_SESSION_STREAMS) {
        s->sm = (strm_t *)malloc(sizeof(strm_t));
        if (!s->sm) { free(s); return NULL; }
        strm_init(s->sm);
    }
    if (ctx_init(&s->c, m, NULL)) { free(s->sm); free(s); return NULL; }
    s->c.carry_bits = m->prm.session_map_bits;
    memcpy(s->c.w, m->mw, sizeof(int32_t) * NSETS * NIP);
    memset(s->c.winit, 1, sizeof(s->c.winit));
    return s;
}

void brio_session_free(brio_session *s)
{
    if (!s) return;
    ctx_free(&s->c);
    free(s->sm);
    free(s);
}

size_t brio_session_bytes(const brio_session *s)
{
    return sizeof(*s) + (s->sm ? sizeof(strm_t) : 0) + ((size_t)DB_BYTES << s->c.dyn.bits) + ((size_t)4 << s->c.mtbits) + s->c.hcap +
           sizeof(int32_t) * NSETS * NIP;
}

BRIO_SIMD int brio_session_encode(brio_session *s, const uint8_t *in, size_t n, uint32_t max_ratio,
                                  uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (s->broken) return BRIO_EBROKEN;
    int rc;
    if (s->sm) {
        rc = strm_encode(&s->c, s->sm, in, n, max_ratio, out, outlen);
    } else {
        sess_begin(&s->c);
        /* a declined message is absorbed all the same: the peer's context
         * absorbs it when another codec carries it */
        rc = enc_message(&s->c, 1, in, n, max_ratio, out, outlen);
    }
    if ((rc == BRIO_OK || rc == BRIO_DECLINED) && sess_end(&s->c)) {
        free(*out);
        *out = NULL;
        *outlen = 0;
        rc = BRIO_ENOMEM;
    }
    if (rc != BRIO_OK && rc != BRIO_DECLINED) s->broken = 1;
    return rc;
}

BRIO_SIMD int brio_session_decode(brio_session *s, const uint8_t *in, size_t n, size_t limit,
                                  uint32_t max_ratio, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (s->broken) return BRIO_EBROKEN;
    int rc;
    if (s->sm) {
        rc = strm_decode(&s->c, s->sm, in, n, limit, max_ratio, out, outlen);
    } else {
        sess_begin(&s->c);
        rc = dec_message(&s->c, 1, in, n, limit, max_ratio, out, outlen);
    }
    if (rc == BRIO_OK && sess_end(&s->c)) {
        free(*out);
        *out = NULL;
        *outlen = 0;
        rc = BRIO_ENOMEM;
    }
    if (rc != BRIO_OK) s->broken = 1;
    return rc;
}
