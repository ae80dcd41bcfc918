/*
 * _coder.c - BRIO core, stateless coding of one message: encode, decode
 * (the loops are in _coder.h) and the ideal code length, for analysis.
 */
#include "_coder.h"

#include <math.h>

size_t brio_ratio_budget(size_t n, uint32_t max_ratio) { return ratio_budget(n, max_ratio); }

BRIO_SIMD int brio_encode(const brio_model *m, const uint8_t *in, size_t n, uint32_t max_ratio,
                          uint8_t **out, size_t *outlen)
{
    ctx_t c;
    if (ctx_init(&c, m, NULL)) return BRIO_ENOMEM;
    int rc = enc_message(&c, 0, in, n, max_ratio, out, outlen);
    ctx_free(&c);
    return rc;
}

BRIO_SIMD int brio_decode(const brio_model *m, const uint8_t *in, size_t n, size_t limit,
                          uint32_t max_ratio, uint8_t **out, size_t *outlen)
{
    ctx_t c;
    if (ctx_init(&c, m, NULL)) return BRIO_ENOMEM;
    int rc = dec_message(&c, 0, in, n, limit, max_ratio, out, outlen);
    ctx_free(&c);
    return rc;
}

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
