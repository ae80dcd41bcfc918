/*
 * _stream.h - BRIO core, continuations (docs/brio.md, section 7.1): in a
 * session opened with BRIO_SESSION_STREAMS, a message may be coded as the
 * continuation of the direction's previous one, as the deltas of a streamed
 * reply are.  Its bytes extend the text before it (the byte contexts and the
 * match model carry on where the last message stopped; with a trained
 * model the per-message contexts are left out: for a few bytes they cost
 * more CPU than they save bytes), its end is
 * predicted by a boundary model that the session learns, and it may copy a
 * prefix and a suffix of the previous message (a "cut"), as the JSON
 * envelope of a delta repeats the last one's.
 */
#ifndef BRIO_STREAM_H
#define BRIO_STREAM_H

#include "_internal.h"

#define STRM_PREV_MAX 4096 /* longest previous message a cut may copy from */
#define STRM_MINCUT 8      /* a new cut copies at least this many bytes */
#define STRM_SMALL BRIO_STREAMS_SMALL /* messages this short continue whatever their cut */
#define STRM_EPOCH 1024    /* continued bytes per epoch of the per-message map (untrained model) */
#define STRM_NUMBITS 13    /* cut lengths have at most this many bits (< 2 * STRM_PREV_MAX) */
#define SCTR_LIMIT 254

/* an adaptive probability of a 1 (16 bits) and how often it was updated */
typedef struct {
    uint16_t p, n;
} sctr;

static inline int sctr_p12(const sctr *k)
{
    return clampi(k->p >> 4, 1, 4095);
}

static inline void sctr_update(sctr *k, int y)
{
    int d = (int)((int64_t)((y ? 65535 : 0) - (int)k->p) * RECIP[k->n] / 65536);
    k->p = (uint16_t)clampi((int)k->p + d, 0, 65535);
    if (k->n < SCTR_LIMIT) k->n++;
}

/* character classes for the boundary contexts */
static inline int bnd_class(int ch)
{
    if (ch >= 'a' && ch <= 'z') return 0;
    if (ch >= 'A' && ch <= 'Z') return 1;
    if (ch >= '0' && ch <= '9') return 2;
    if (ch == ' ') return 3;
    if (ch == '\n' || ch == '\r' || ch == '\t') return 4;
    if (ch >= 0xC0) return 6; /* UTF-8 lead byte */
    if (ch >= 0x80) return 7; /* UTF-8 continuation byte */
    return 5;                 /* punctuation, controls */
}

/* The boundary model: does the message end before its byte i?  Three
 * adaptive tables (the last byte's class and i; the last byte and i; the last
 * two bytes and whether i is 0), mixed in the logistic domain with weights
 * the session learns. */
#define BND_LR 300
typedef struct {
    sctr t1[8 * 16], t2[256 * 4], t3[4096];
    int32_t w[4];
    int x[4], p;
    sctr *k1, *k2, *k3;
} bnd_t;

static inline void bnd_init(bnd_t *b)
{
    for (size_t j = 0; j < sizeof(b->t1) / sizeof(b->t1[0]); j++) b->t1[j] = (sctr){32768, 0};
    for (size_t j = 0; j < sizeof(b->t2) / sizeof(b->t2[0]); j++) b->t2[j] = (sctr){32768, 0};
    for (size_t j = 0; j < sizeof(b->t3) / sizeof(b->t3[0]); j++) b->t3[j] = (sctr){32768, 0};
    b->w[0] = b->w[1] = 20000;
    b->w[2] = 26000;
    b->w[3] = 0;
}

static inline int bnd_predict(bnd_t *b, const ctx_t *c)
{
    size_t i = c->pos;
    int c1 = (int)(c->hist & 255), c2 = (int)((c->hist >> 8) & 255);
    b->k1 = &b->t1[bnd_class(c1) * 16 + (i < 15 ? i : 15)];
    b->k2 = &b->t2[c1 * 4 + (i < 3 ? i : 3)];
    b->k3 = &b->t3[fmix32((uint32_t)c1 | (uint32_t)c2 << 8 | (uint32_t)(i ? 1 : 2) << 16) >> 20];
    b->x[0] = stretch(sctr_p12(b->k1));
    b->x[1] = stretch(sctr_p12(b->k2));
    b->x[2] = stretch(sctr_p12(b->k3));
    b->x[3] = 256;
    int64_t d = 0;
    for (int j = 0; j < 4; j++) d += (int64_t)b->w[j] * b->x[j];
    b->p = clampi(squash(clampi((int)(d >> 16), -2047, 2047)), 1, 4095);
    return b->p;
}

static inline void bnd_update(bnd_t *b, int y)
{
    int64_t err = (int64_t)((y << 12) - b->p) * BND_LR;
    for (int j = 0; j < 4; j++) {
        int64_t v = b->w[j] + (((int64_t)b->x[j] * err) >> 16);
        b->w[j] = (int32_t)(v < -WMAX ? -WMAX : v > WMAX ? WMAX : v);
    }
    sctr_update(b->k1, y);
    sctr_update(b->k2, y);
    sctr_update(b->k3, y);
}

/* a session's continuation state (per direction) */
typedef struct {
    bnd_t b;
    sctr cont;                        /* is the message a continuation? */
    sctr same;                        /* does it use the last continuation's cut? */
    sctr num[2][STRM_NUMBITS];        /* bit lengths of a new cut's prefix and suffix */
    uint32_t cp, cs;                  /* the last continuation's cut (0, 0 after others) */
    uint32_t since;                   /* continued bytes since the epoch last advanced */
    size_t plen;                      /* the previous message, if at most STRM_PREV_MAX */
    int has_prev;
    uint8_t prev[STRM_PREV_MAX];
} strm_t;

static inline void strm_init(strm_t *sm)
{
    memset(sm, 0, sizeof(*sm));
    bnd_init(&sm->b);
    sm->cont = sm->same = (sctr){32768, 0};
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < STRM_NUMBITS; j++) sm->num[k][j] = (sctr){32768, 0};
}

#endif
