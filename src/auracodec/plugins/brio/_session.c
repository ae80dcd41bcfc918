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
};

/* start a message in a session (coding or training): reset the per-message
 * part of the state */
void sess_begin(ctx_t *c)
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

BRIO_SIMD int brio_session_encode(brio_session *s, const uint8_t *in, size_t n, uint32_t max_ratio,
                                  uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (s->broken) return BRIO_EBROKEN;
    sess_begin(&s->c);
    /* a declined message is absorbed all the same: the peer's context
     * absorbs it when another codec carries it */
    int rc = enc_message(&s->c, 1, in, n, max_ratio, out, outlen);
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
    sess_begin(&s->c);
    int rc = dec_message(&s->c, 1, in, n, limit, max_ratio, out, outlen);
    if (rc == BRIO_OK && sess_end(&s->c)) {
        free(*out);
        *out = NULL;
        *outlen = 0;
        rc = BRIO_ENOMEM;
    }
    if (rc != BRIO_OK) s->broken = 1;
    return rc;
}
