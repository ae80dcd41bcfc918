/*
 * _model.c - BRIO core, the model file: the blob's layout, written by
 * training (trainer_export) and validated and loaded for coding
 * (docs/brio.md, section 6).
 */
#include "_predict.h"

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

size_t small_bytes(void)
{
    return HDR_SIZE + 2 * (E1N + E2N + MSN) + 4 * (3 + NSETS * NI + FWN) + 2 * TDN;
}

/* header, small tables, zero padding, APM1, APM2, zero padding: the buckets
 * follow at a multiple of 64 (as APM1 starts at one) */
size_t fixed_bytes(uint32_t apm2_bits)
{
    return blob_align(blob_align(small_bytes()) + 2 * APM1N + 2 * ((size_t)33 << apm2_bits));
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

uint8_t *trainer_export(const trainer *t, size_t *len)
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
    p = b + blob_align(small_bytes()); /* zero padding (calloc) */
    for (int i = 0; i < APM1N; i++, p += 2) put16(p, t->apm1[i]);
    for (size_t i = 0; i < apm2n; i++, p += 2) put16(p, t->apm2[i]);
    p = b + fixed_bytes(t->prm.apm2_bits);
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

static int node_ok(uint16_t v) { return v == 0 || ((v >> 4) != 0 && (v & 15) != 0); }

int brio_neutral_blob(uint8_t **out, size_t *len)
{
    /* the untrained state without any hashed tables */
    brio_params prm;
    brio_default_params(&prm);
    prm.apm2_bits = 0;
    brio_global_init();
    trainer *t = (trainer *)malloc(sizeof(trainer));
    if (!t) return BRIO_ENOMEM;
    if (trainer_init(t, &prm, 0)) { free(t); return BRIO_ENOMEM; }
    *out = trainer_export(t, len);
    trainer_free(t);
    free(t);
    return *out ? BRIO_OK : BRIO_ENOMEM;
}

int brio_model_load(const uint8_t *blob, size_t len, int borrow, brio_model **out, const char **why)
{
    brio_global_init();
    *out = NULL;
    uint8_t *own = NULL;
    if (!blob) {
        if (brio_neutral_blob(&own, &len)) return BRIO_ENOMEM;
        blob = own;
    }
#define BAD(msg) do { *why = msg; free(own); brio_model_free(m); return BRIO_EMODEL; } while (0)
    brio_model *m = NULL;
    if (len == 0) BAD("the model is empty (0 bytes)");
    if (len < 4 || memcmp(blob, "BRIO", 4)) BAD("bad magic (not a BRIO model)");
    if (len < HDR_SIZE) BAD("model blob too short (it ends inside its 64-byte header)");
#define BRIO_STR_(x) #x
#define BRIO_STR(x) BRIO_STR_(x)
    if (get16(blob + 4) != BRIO_FORMAT_VERSION)
        BAD("model format is not version " BRIO_STR(BRIO_FORMAT_VERSION)
            ", the one this auracodec reads: train the profile again with `auracodec train`");
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
    for (const uint8_t *z = p; z < blob + blob_align(small_bytes()); z++)
        if (*z) BAD("nonzero padding bytes");
    p = blob + blob_align(small_bytes());
    build_dnext(m->dnext, m->prm.dyn_limit);
    m->tdx = (int16_t *)malloc(sizeof(int16_t) * NCLS * ND * DSTATES);
    if (!m->tdx) { free(own); brio_model_free(m); return BRIO_ENOMEM; }
    for (int i = 0; i < NCLS * ND; i++)
        for (int v = 0; v < DSTATES; v++)
            m->tdx[i * DSTATES + v] = (v >> 8) ? m->td[(i * 16 + (v >> 8)) * 64 + ((v & 255) >> 2)] : 0;
    for (const uint8_t *z = p + 2 * APM1N + 2 * apm2n; z < blob + fixed_bytes(m->prm.apm2_bits); z++)
        if (*z) BAD("nonzero padding bytes");
    const uint8_t *bkp = blob + fixed_bytes(m->prm.apm2_bits);
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *b = bkp + i * BUCKET_BYTES;
        int any = 0;
        for (int j = 2; j < BUCKET_BYTES; j++) any |= b[j];
        if (get16(b) == 0 && any) BAD("empty bucket with nonzero entries");
    }
    /* the tail: APM1, APM2 (u16, little-endian), padding, buckets (bytes) */
    size_t tail = len - (size_t)(p - blob);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    int little = 1;
#else
    int little = 0;
#endif
    const uint8_t *tp = p;
    if (borrow && !own && little && ((uintptr_t)p & 3) == 0) {
        m->shared = tail;
    } else {
        m->own = (uint8_t *)malloc(tail);
        if (!m->own) { free(own); brio_model_free(m); return BRIO_ENOMEM; }
        memcpy(m->own, p, tail);
        if (!little)
            for (size_t i = 0; i < APM1N + apm2n; i++) ((uint16_t *)m->own)[i] = get16(p + 2 * i);
        tp = m->own;
    }
    m->apm1 = (const uint16_t *)tp;
    m->apm2 = (const uint16_t *)(tp + 2 * APM1N);
    m->bk = tp + (bkp - p);
    m->bytes = sizeof(brio_model) + (m->own ? tail : 0) + sizeof(int16_t) * NCLS * ND * DSTATES;
    free(own);
    *out = m;
    return BRIO_OK;
#undef BAD
}

void brio_model_free(brio_model *m)
{
    if (!m) return;
    free(m->own);
    free(m->tdx);
    free(m);
}

size_t brio_model_bytes(const brio_model *m) { return m->bytes; }

size_t brio_model_shared_bytes(const brio_model *m) { return m->shared; }

/* Round a trained blob's tables for transfer (docs/brio.md, section 8): APM1
 * and APM2 entries to multiples of 2^(16 - apm_bits), bucket nodes to
 * multiples of 2^(8 - node_bits) (a nonzero node stays nonzero). Coarser
 * values compress better (gzip, brotli) and the layout does not change, so
 * the result is a model like any other, read in place from a mapping. The
 * blob must be one brio_model_load accepts. */
int brio_model_round(uint8_t *blob, size_t len, uint32_t apm_bits, uint32_t node_bits)
{
    if (apm_bits < 1 || apm_bits > 16 || node_bits < 1 || node_bits > 8) return BRIO_EPARAM;
    brio_model *m = NULL;
    const char *why = NULL;
    int rc = brio_model_load(blob, len, 1, &m, &why);
    if (rc != BRIO_OK) return rc;
    size_t apm2n = (size_t)33 << m->prm.apm2_bits, nb = (size_t)m->ngroups * 4;
    brio_model_free(m);
    uint32_t s = 16 - apm_bits, top = 0x10000u - (1u << s);
    uint8_t *p = blob + blob_align(small_bytes());
    for (size_t i = 0; s && i < APM1N + apm2n; i++, p += 2) {
        uint32_t v = ((uint32_t)get16(p) + (1u << s >> 1)) >> s << s;
        put16(p, (uint16_t)(v > top ? top : v));
    }
    uint32_t t = 8 - node_bits, lo = 1u << t, hi = 256u - (1u << t);
    uint8_t *b = blob + fixed_bytes(get32(blob + 12));
    for (size_t i = 0; t && i < nb; i++, b += BUCKET_BYTES)
        for (int j = 2; j < BUCKET_BYTES; j++) {
            if (!b[j]) continue;
            uint32_t v = ((uint32_t)b[j] + (1u << t >> 1)) >> t << t;
            b[j] = (uint8_t)(v < lo ? lo : v > hi ? hi : v);
        }
    return BRIO_OK;
}
