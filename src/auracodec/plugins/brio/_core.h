/*
 * _core.h - BRIO: trained context-mixing entropy coder for short messages.
 *
 * The public interface of BRIO's C core, the only header a user of the core
 * includes (the CPython binding _brio.c; a WebAssembly wrapper).  The core is
 * plain C11 without Python, in one file per role (_internal.h lists them).
 * docs/brio.md specifies the model and frame format; all arithmetic that
 * influences coding is integer-only and specified bit-exactly there (and
 * mirrored by tests/brio_ref.py), so every build produces the same bytes.
 */
#ifndef BRIO_CORE_H
#define BRIO_CORE_H

#include <stddef.h>
#include <stdint.h>

#define BRIO_FORMAT_VERSION 3

/* error codes */
enum {
    BRIO_OK = 0,
    BRIO_ENOMEM = -1,
    BRIO_ETRUNC = -2,     /* truncated payload */
    BRIO_ETRAIL = -3,     /* trailing bytes after the end of the message */
    BRIO_ELIMIT = -4,     /* output exceeds limit */
    BRIO_ECORRUPT = -5,   /* non-canonical / corrupt payload */
    BRIO_EMODEL = -6,     /* invalid model blob */
    BRIO_EPARAM = -7,     /* invalid training parameter */
    BRIO_EBROKEN = -8,    /* session unusable after an earlier error */
    BRIO_ERATIO = -9      /* payload decodes beyond the ratio cap (a corrupt payload) */
};
/* not an error: brio_encode / brio_session_encode coded the message beyond
 * the ratio cap, so they return no payload (a session has absorbed it) */
#define BRIO_DECLINED 1

/* Output-to-payload ratio cap (docs/brio.md, section 1.3): a payload of n
 * bytes decodes to at most max_ratio * n + BRIO_RATIO_SLACK bytes, so that
 * decoding work is bounded by the payload's length; encoders decline
 * (BRIO_DECLINED) the messages they would code beyond it.  max_ratio is a
 * setting of both ends (part of the codec's fingerprint); 0 = no cap, for
 * analysis only. */
#define BRIO_RATIO_SLACK 128
#define BRIO_DEFAULT_MAX_RATIO 32
/* the output budget of a payload of n bytes (saturating; SIZE_MAX: no cap) */
size_t brio_ratio_budget(size_t n, uint32_t max_ratio);

/* training / model parameters (all stored in the model header) */
typedef struct {
    uint32_t model_size;   /* target blob size in bytes (upper bound) */
    uint32_t apm2_bits;    /* log2 rows of the order-1 APM */
    uint32_t mix_lr;       /* mixer learning rate at coding time */
    uint32_t mix_lr_train; /* mixer learning rate while training */
    uint32_t apm_rate;     /* APM adaptation shift */
    uint32_t dyn_limit;    /* count limit of the per-message counters */
    uint32_t stat_limit;   /* count limit of the trained counters */
    uint32_t epochs;       /* passes over the training messages */
    uint32_t train_factor; /* training table size / exported table size */
    uint32_t session_map_bits; /* sessions: per-message map kept between messages, at most
                                  2^bits buckets (36 bytes each); 11..16, default 14 */
} brio_params;

void brio_default_params(brio_params *p);

/* one-time initialisation of constant tables; call before threads start */
void brio_global_init(void);

typedef struct brio_model brio_model;

/* Progress callback for training: called with (done, total) messages;
 * return nonzero to abort.  Called without the GIL. */
typedef int (*brio_progress_fn)(void *arg, size_t done, size_t total);

/* smallest model_size accepted by brio_train (tables without hashed contexts) */
size_t brio_min_model_size(uint32_t apm2_bits);

/* Train a model; returns a malloc'd blob in *out / *outlen.
 * sessions: NULL (every message coded alone, as stateless), or one session id
 * per message: messages with the same id are trained as one context (a
 * session, in message order), as brio_session_* would code them. */
int brio_train(const uint8_t *const *msgs, const size_t *lens, size_t n,
               const uint32_t *sessions, const brio_params *prm, uint8_t **out,
               size_t *outlen, brio_progress_fn cb, void *cbarg);

/* Round a trained model's APM entries to apm_bits (1..16) and its bucket
 * nodes to node_bits (1..8) significant bits, in place: the same layout and
 * format, tables that compress better for transfer (16 and 8: unchanged).
 * BRIO_EMODEL if the blob is not a valid model, BRIO_EPARAM for bad bits. */
int brio_model_round(uint8_t *blob, size_t len, uint32_t apm_bits, uint32_t node_bits);

/* Load (validate) a model blob.  blob == NULL: the neutral model; an empty
 * blob is invalid.  On BRIO_EMODEL, *why says what is wrong.
 * borrow = 0: the model copies what it needs.  borrow = 1: the model may
 * point its large read-only tables (buckets, APMs) into the blob instead of
 * copying them (a read-only mmap of the model file, shared by processes);
 * the caller keeps the blob mapped and unchanged until brio_model_free.
 * Only the tables whose every value is safe are borrowed (docs/brio.md,
 * section 6), so a blob changed after loading codes wrongly, never unsafely. */
int brio_model_load(const uint8_t *blob, size_t len, int borrow, brio_model **out,
                    const char **why);
void brio_model_free(brio_model *m);
/* the blob of the neutral (untrained) model that brio_model_load uses for NULL */
int brio_neutral_blob(uint8_t **out, size_t *len);
size_t brio_model_bytes(const brio_model *m);
/* bytes of the blob the model points into (0 unless loaded with borrow) */
size_t brio_model_shared_bytes(const brio_model *m);

/* Stateless coding of one message.  *out is malloc'd by the callee.
 * Encode returns BRIO_DECLINED (no payload) for a message beyond the ratio
 * cap; decode's output is bounded by limit (BRIO_ELIMIT) and by the cap
 * (BRIO_ERATIO), whichever is smaller, and its work with it. */
int brio_encode(const brio_model *m, const uint8_t *in, size_t n, uint32_t max_ratio,
                uint8_t **out, size_t *outlen);
int brio_decode(const brio_model *m, const uint8_t *in, size_t n, size_t limit,
                uint32_t max_ratio, uint8_t **out, size_t *outlen);

/* Sessions: a coding context that carries adaptation (per-message tables,
 * mixer weights, match history) across the messages of one connection.
 * Encoder and decoder sessions must see the same message sequence: encode
 * absorbs the message also when it declines it (BRIO_DECLINED), as the peer
 * absorbs what another codec carried; absorbing is encoding with
 * max_ratio = 0 and dropping the payload.  After any error a session is
 * broken (BRIO_EBROKEN).  Not thread-safe: one session per connection; the
 * model it uses may be shared. */
typedef struct brio_session brio_session;
brio_session *brio_session_new(const brio_model *m);
/* flags: BRIO_SESSION_STREAMS, a session whose messages may continue the
 * previous one (docs/brio.md, section 7.1); its payloads are not those of a
 * plain session (another method id) */
#define BRIO_SESSION_STREAMS 1u
/* in such a session, messages of at most this many bytes always continue */
#define BRIO_STREAMS_SMALL 64
brio_session *brio_session_new_ex(const brio_model *m, unsigned flags);
/* whether brio_session_encode would code this message as a continuation
 * (always 0 for a session without BRIO_SESSION_STREAMS) */
int brio_session_continues(const brio_session *s, const uint8_t *in, size_t n);
void brio_session_free(brio_session *s);
size_t brio_session_bytes(const brio_session *s);
int brio_session_encode(brio_session *s, const uint8_t *in, size_t n, uint32_t max_ratio,
                        uint8_t **out, size_t *outlen);
int brio_session_decode(brio_session *s, const uint8_t *in, size_t n, size_t limit,
                        uint32_t max_ratio, uint8_t **out, size_t *outlen);

/* Analysis: ideal code length (bits) of a message, split into the
 * end-of-message decisions and the byte decisions. */
int brio_cost(const brio_model *m, const uint8_t *in, size_t n,
              double *eom_bits, double *byte_bits);

#endif
