/*
 * _coder.h - BRIO core, the binary arithmetic coder and the frame of one
 * message (docs/brio.md, section 1): the coding loops, static inline so
 * that the stateless entry points (_coder.c) and the session ones
 * (_session.c) each get them specialised and inlined with the predictor.
 */
#ifndef BRIO_CODER_H
#define BRIO_CODER_H

#include "_predict.h"
#include "_stream.h"

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

static inline void enc_flush(enc_t *e)
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
/* one message                                                         */

/* The end-of-message decision before byte i (c->pos = i): the trained EOM
 * model, or for a continuation (sm not NULL, _stream.h) the session's
 * boundary model.  Every call site passes a constant, so each inlined
 * copy keeps only its own branch. */
BRIO_INLINE int end_predict(ctx_t *c, eom_t *em, strm_t *sm)
{
    return sm ? bnd_predict(&sm->b, c) : eom_predict(c, em, 0);
}

BRIO_INLINE void end_update(ctx_t *c, const eom_t *em, strm_t *sm, int y)
{
    if (sm) bnd_update(&sm->b, y);
    else if (!y) eom_adapt(c, em, 0);
}

/* Code the bytes of a message, each after its end-of-message decision, on a
 * coder already started (a continuation first codes its header).  Stateless
 * calls use a fresh context with buf = the message itself; a session appends
 * the message to its history buffer (c->hb) so the match model also sees
 * earlier messages. */
BRIO_INLINE void enc_body(ctx_t *c, enc_t *e, int sess, const uint8_t *in, size_t n, strm_t *sm)
{
    eom_t em;
    for (size_t i = 0;; i++) {
        c->pos = i;
        enc_bit(e, i == n, end_predict(c, &em, sm));
        end_update(c, &em, sm, i == n);
        if (i == n) break;
        byte_contexts(c);
        int ch = in[i];
        for (int b = 7; b >= 0; b--) {
            int y = (ch >> b) & 1;
            enc_bit(e, y, predict_bit(c, 0));
            update_bit(c, y, 0);
        }
        byte_done(c, i, ch, sess);
        if (c->err || e->err) break;
    }
}

/* flush the coder; the payload, or BRIO_DECLINED when the n modelled bytes
 * would decode beyond the ratio cap */
static inline int enc_finish(ctx_t *c, enc_t *e, size_t n, uint32_t max_ratio, uint8_t **out,
                             size_t *outlen)
{
    enc_flush(e);
    if (c->err || e->err || (!e->out && !(e->out = (uint8_t *)malloc(1)))) {
        free(e->out);
        return BRIO_ENOMEM;
    }
    if (n > ratio_budget(e->n, max_ratio)) {
        free(e->out);
        return BRIO_DECLINED;
    }
    *out = e->out;
    *outlen = e->n;
    return BRIO_OK;
}

/* The encoder codes the whole message (so a session absorbs it), then
 * declines it if its payload would decode beyond the ratio cap (section 1.3). */
BRIO_INLINE int enc_message(ctx_t *c, int sess, const uint8_t *in, size_t n, uint32_t max_ratio,
                            uint8_t **out, size_t *outlen)
{
    enc_t e = {0, 0xFFFFFFFFu, NULL, 0, 0, 0};
    *out = NULL;
    *outlen = 0;
    if (sess) {
        if (hist_reserve(c, n)) return BRIO_ENOMEM;
    } else {
        c->buf = in;
    }
    enc_body(c, &e, sess, in, n, NULL);
    return enc_finish(c, &e, n, max_ratio, out, outlen);
}

static inline void dec_start(dec_t *d, const uint8_t *in, size_t n)
{
    d->x1 = 0;
    d->x2 = 0xFFFFFFFFu;
    d->x = 0;
    d->in = in;
    d->n = n;
    d->pos = 0;
    for (int i = 0; i < 4; i++) d->x = (d->x << 8) | dec_byte(d);
}

/* Decode the bytes of a message on a started decoder.  It stops as soon as
 * the output would pass limit (BRIO_ELIMIT) or budget, the payload's ratio
 * budget (BRIO_ERATIO), so its work is bounded by min(limit, budget) bytes
 * of output.  Stateless, the bytes go to *ob (grown up to that bound);
 * in a session, to the history buffer.  *outn is the message's length. */
BRIO_INLINE int dec_body(ctx_t *c, dec_t *d, int sess, size_t limit, size_t budget, strm_t *sm,
                         uint8_t **ob, size_t *outn)
{
    size_t cap = 0, most = budget < limit ? budget : limit;
    int rc = BRIO_OK;
    eom_t em;
    size_t i;
    for (i = 0;; i++) {
        c->pos = i;
        int end = dec_bit(d, end_predict(c, &em, sm));
        end_update(c, &em, sm, end);
        if (end) break;
        if (i >= limit) { rc = BRIO_ELIMIT; break; }
        if (i >= budget) { rc = BRIO_ERATIO; break; }
        if (sess) {
            if (hist_reserve(c, 1)) { rc = BRIO_ENOMEM; break; }
        } else if (i == cap) {
            size_t nc = cap ? cap * 2 : 64;
            if (nc > most) nc = most;
            uint8_t *no = (uint8_t *)realloc(*ob, nc);
            if (!no) { rc = BRIO_ENOMEM; break; }
            *ob = no;
            cap = nc;
            c->buf = no;
        }
        byte_contexts(c);
        for (int b = 0; b < 8; b++) {
            int y = dec_bit(d, predict_bit(c, 0));
            update_bit(c, y, 0);
        }
        int ch = c->c0 & 255;
        if (!sess) (*ob)[i] = (uint8_t)ch;
        byte_done(c, i, ch, sess);
        if (c->err) { rc = BRIO_ENOMEM; break; }
    }
    *outn = i;
    return rc;
}

/* The canonical-length check: recompute what the encoder emitted for the
 * decoded symbols and compare with the n bytes of the payload. */
static inline int dec_finish(const dec_t *d, const uint8_t *in, size_t n)
{
    size_t k = d->pos - 4; /* bytes shifted out by the encoder */
    size_t L;
    if (d->x1) {
        uint32_t v = (d->x1 >> 24) + ((d->x1 & 0xFFFFFF) ? 1 : 0);
        L = k + 1;
        if (n > k && in[k] != v) return BRIO_ECORRUPT;
    } else {
        L = k;
    }
    if (n > L) return BRIO_ETRAIL;
    if (n < L) return BRIO_ETRUNC;
    return BRIO_OK;
}

BRIO_INLINE int dec_message(ctx_t *c, int sess, const uint8_t *in, size_t n, size_t limit,
                            uint32_t max_ratio, uint8_t **out, size_t *outlen)
{
    dec_t d;
    dec_start(&d, in, n);
    *out = NULL;
    *outlen = 0;
    size_t start = c->hlen, outn = 0;
    uint8_t *ob = NULL;
    int rc = dec_body(c, &d, sess, limit, ratio_budget(n, max_ratio), NULL, &ob, &outn);
    if (rc == BRIO_OK) rc = dec_finish(&d, in, n);
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

#endif
