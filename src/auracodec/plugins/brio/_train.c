/*
 * _train.c - BRIO core, training: runs the predictor over the training
 * messages (alone, or as the sessions they came from) and exports the model
 * (docs/brio.md, section 8).
 */
#include "_predict.h"

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

int trainer_init(trainer *t, const brio_params *prm, uint32_t fgroups)
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

void trainer_free(trainer *t)
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
    brio_global_init();
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
