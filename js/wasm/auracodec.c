/*
 * auracodec.c - the C ABI of auracodec's WebAssembly module (no Python).
 *
 * One module holds every decoder of the wire format (docs/wire-format.md),
 * BRIO's and zstd's encoders, compiled from the same C sources as the Python
 * extension (src/auracodec/plugins/brio/_{predict,coder,session,model,train}.c)
 * plus the official zstd library (compressor and decompressor) and brotli
 * decoder (js/vendor/).  The JS side (js/wasm/loader.mjs, js/src/wasm.ts)
 * copies inputs in with ac_alloc, calls one function, reads the result and
 * frees it.
 *
 * Calling convention.  Every coding function returns an int status: AC_OK
 * (0), BRIO_DECLINED (1, encoders only: no payload) or a negative error code
 * (below).  A function that produces bytes or a handle leaves it in the
 * result record, whose address ac_result() gives once:
 *
 *     struct { uint8_t *ptr; uint32_t len; const char *why; }   (wasm32)
 *
 * ptr is owned by the caller, who copies the bytes out and calls ac_free(ptr)
 * (handles are freed by their own *_free function).  why is a static
 * NUL-terminated string for a rejected model or dictionary, else NULL.  The
 * module is single-threaded, like every wasm instance.
 *
 * Error codes are BRIO's (_core.h), one table for every codec, so the JS side
 * maps each to one DecodeError subclass as the Python plugins do:
 *
 *     -1 ENOMEM   -2 ETRUNC (TruncatedFrame)   -3 ETRAIL (TrailingData)
 *     -4 ELIMIT (OutputLimitExceeded)          -5 ECORRUPT (CorruptPayload)
 *     -6 EMODEL   -7 EPARAM   -8 EBROKEN (SessionError)
 *     -9 ERATIO (CorruptPayload: beyond the ratio cap)
 *     -10 EDICT (invalid zstd dictionary)
 *
 * Every decode takes an output bound (limit); nothing a frame declares drives
 * an allocation beyond it (plus one zstd block on zstd's error path).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/auracodec/plugins/brio/_core.h"

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_decompressBound, ZSTD_d_stableOutBuffer, CCtx params */
#include "zstd.h"
#include <brotli/decode.h>

#define EXPORT(name) __attribute__((export_name(#name))) name

enum { AC_OK = 0, AC_EDICT = -10 };

static struct {
    uint8_t *ptr;
    uint32_t len;
    const char *why;
} result;

static int set_result(void *ptr, size_t len)
{
    result.ptr = (uint8_t *)ptr;
    result.len = (uint32_t)len;
    result.why = NULL;
    return AC_OK;
}

void *EXPORT(ac_result)(void) { return &result; }

/* malloc(0) may return NULL; a zero-length buffer is still a buffer */
void *EXPORT(ac_alloc)(size_t n) { return malloc(n ? n : 1); }

void EXPORT(ac_free)(void *p) { free(p); }

/* ------------------------------------------------------------------ */
/* BRIO (docs/brio.md): thin wrappers over _core.h                     */

/* A loaded model and the blob it may read in place (format 3 borrows its
 * large tables from the blob, which must outlive the model). */
typedef struct {
    brio_model *m;
    uint8_t *blob;
} ac_model;

/* Load a model from blob[0..len) (from ac_alloc); the model takes the blob
 * over in every case (frees it now, or with the model).  blob == NULL: the
 * neutral model.  Result: ptr = the model handle; EMODEL with why. */
int EXPORT(ac_brio_model_load)(uint8_t *blob, size_t len)
{
    static int initialised;
    if (!initialised) {
        brio_global_init();
        initialised = 1;
    }
    ac_model *am = (ac_model *)malloc(sizeof *am);
    if (!am) {
        free(blob);
        return BRIO_ENOMEM;
    }
    const char *why = NULL;
    int rc = brio_model_load(blob, len, blob != NULL, &am->m, &why);
    if (rc != BRIO_OK) {
        free(blob);
        free(am);
        set_result(NULL, 0);
        result.why = why;
        return rc;
    }
    if (brio_model_shared_bytes(am->m) == 0) {
        free(blob); /* nothing borrowed */
        blob = NULL;
    }
    am->blob = blob;
    return set_result(am, 0);
}

void EXPORT(ac_brio_model_free)(ac_model *am)
{
    if (!am) return;
    brio_model_free(am->m);
    free(am->blob);
    free(am);
}

/* bytes held: the model's own tables plus the blob it reads in place */
size_t EXPORT(ac_brio_model_memory)(const ac_model *am)
{
    return brio_model_bytes(am->m) + brio_model_shared_bytes(am->m);
}

static int coded(int rc, uint8_t *out, size_t outlen)
{
    if (rc != BRIO_OK) {
        free(out);
        set_result(NULL, 0);
        return rc;
    }
    return set_result(out, outlen);
}

int EXPORT(ac_brio_encode)(const ac_model *am, const uint8_t *in, size_t n, uint32_t max_ratio)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    return coded(brio_encode(am->m, in, n, max_ratio, &out, &outlen), out, outlen);
}

int EXPORT(ac_brio_decode)(const ac_model *am, const uint8_t *in, size_t n, size_t limit,
                           uint32_t max_ratio)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    return coded(brio_decode(am->m, in, n, limit, max_ratio, &out, &outlen), out, outlen);
}

/* Contexts (sessions): one direction of one connection.  The model must
 * outlive its contexts.  flags: 0, or BRIO_SESSION_STREAMS (1) for a context
 * whose messages may continue the previous one (method id 0x23, `streams =
 * true`).  NULL: out of memory. */
brio_session *EXPORT(ac_brio_context_new)(const ac_model *am, unsigned flags)
{
    return brio_session_new_ex(am->m, flags);
}

/* 1 if encode would code this message as a continuation (a streams context
 * only), else 0 */
int EXPORT(ac_brio_context_continues)(const brio_session *s, const uint8_t *in, size_t n)
{
    return brio_session_continues(s, in, n);
}

void EXPORT(ac_brio_context_free)(brio_session *s) { brio_session_free(s); }

size_t EXPORT(ac_brio_context_memory)(const brio_session *s) { return brio_session_bytes(s); }

/* BRIO_DECLINED: beyond the ratio cap, no payload, absorbed all the same */
int EXPORT(ac_brio_context_encode)(brio_session *s, const uint8_t *in, size_t n,
                                   uint32_t max_ratio)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    return coded(brio_session_encode(s, in, n, max_ratio, &out, &outlen), out, outlen);
}

/* a message another codec carried: coding without a cap, output dropped */
int EXPORT(ac_brio_context_absorb)(brio_session *s, const uint8_t *in, size_t n)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = brio_session_encode(s, in, n, 0, &out, &outlen);
    free(out);
    set_result(NULL, 0);
    return rc;
}

/* any error leaves the context broken (BRIO_EBROKEN from then on) */
int EXPORT(ac_brio_context_decode)(brio_session *s, const uint8_t *in, size_t n, size_t limit,
                                   uint32_t max_ratio)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    return coded(brio_session_decode(s, in, n, limit, max_ratio, &out, &outlen), out, outlen);
}

/* ------------------------------------------------------------------ */
/* zstd (docs/wire-format.md, "0x02 zstd")                             */
/*
 * The payload is a magicless zstd frame without checksum, content size or
 * dictionary id, cut further:
 *
 *     compact:  window descriptor (1) || one compressed block
 *     escape:   0xff || window descriptor (1) || blocks (with headers)
 *
 * Both are rebuilt here into a standard frame (magic, frame header descriptor
 * 0x00, window descriptor, blocks) for zstd's own decoder.  Duplicated with
 * reason from the Python plugin (zstd/__init__.py and _compact.c): there the
 * rebuilt frame goes to python-zstandard through CPython objects and no C is
 * shared with this module; the rule is the five bytes written by rebuild()
 * below and the block walk of escape_bound(), checked by the same golden
 * vectors on both sides.
 */
#define ZSTD_BLOCK_MAX (128 * 1024)
#define LAST_COMPRESSED 0x5u /* block header bits: last block, type compressed */
#define ESCAPE 0xFF
#define FIRST_GUESS_FACTOR 64 /* the compact form's first output guess, as _compact.c */
#define FIRST_GUESS_MIN 4096

static const uint8_t MAGIC[4] = {0x28, 0xB5, 0x2F, 0xFD};

static ZSTD_DCtx *dctx; /* one decompression context: the module is single-threaded */

static ZSTD_DCtx *get_dctx(void)
{
    if (!dctx) dctx = ZSTD_createDCtx();
    else ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
    return dctx;
}

/* A dictionary, for decoding and encoding: one copy of its bytes, which the
 * DDict and the CDicts read in place (ZSTD_dlm_byRef, as python-zstandard's
 * ZstdCompressionDict does), and a CDict for each of up to two levels, made
 * on first use (python-zstandard's precompute_compress, which the Python
 * plugin calls for level and long_level). */
typedef struct {
    ZSTD_DDict *ddict;
    uint8_t *data;
    size_t size;
    int type; /* ZSTD_dictContentType_e */
    ZSTD_CDict *cdict[2];
    int clevel[2];
} ac_zdict;

/* A dictionary of type 0 (auto: a zstd dictionary when it starts with the
 * magic, else raw content, python-zstandard's default), 1 (raw content) or
 * 2 (a zstd dictionary).  Result: ptr = handle; EDICT with why. */
int EXPORT(ac_zstd_dict_new)(const uint8_t *dict, size_t n, int type)
{
    set_result(NULL, 0);
    if (type < ZSTD_dct_auto || type > ZSTD_dct_fullDict) return BRIO_EPARAM;
    ac_zdict *d = (ac_zdict *)calloc(1, sizeof *d);
    uint8_t *data = (uint8_t *)malloc(n ? n : 1);
    if (!d || !data) {
        free(d);
        free(data);
        return BRIO_ENOMEM;
    }
    memcpy(data, dict, n);
    d->data = data;
    d->size = n;
    d->type = type;
    d->ddict = ZSTD_createDDict_advanced(data, n, ZSTD_dlm_byRef, (ZSTD_dictContentType_e)type,
                                         ZSTD_defaultCMem);
    if (!d->ddict) {
        free(data);
        free(d);
        result.why = "not a valid zstd dictionary";
        return AC_EDICT;
    }
    return set_result(d, 0);
}

void EXPORT(ac_zstd_dict_free)(ac_zdict *d)
{
    if (!d) return;
    ZSTD_freeDDict(d->ddict);
    ZSTD_freeCDict(d->cdict[0]);
    ZSTD_freeCDict(d->cdict[1]);
    free(d->data);
    free(d);
}

static const ZSTD_DDict *ddict_of(const ac_zdict *d) { return d ? d->ddict : NULL; }

/* Decode a standard frame (magic included) whose blocks were checked, with
 * output bounded: the buffer is the frame's own bound or, when that exceeds
 * the limit, the limit plus one block.  zstd's streaming decoder writes into
 * it in place (no window buffer) a block at a time, so on any error its
 * output position tells the limit (reached before the failing block, or
 * that block alone would pass it) from corruption, as the Python plugin's
 * bounded stream read does. */
static int decode_bounded(const ZSTD_DDict *d, const uint8_t *frame, size_t n, size_t limit)
{
    unsigned long long bound = ZSTD_decompressBound(frame, n);
    if (bound == ZSTD_CONTENTSIZE_ERROR) return BRIO_ECORRUPT;
    size_t cap = limit + 1 + ZSTD_BLOCK_MAX;
    if (cap < limit) cap = SIZE_MAX; /* saturate */
    if (bound < cap) cap = (size_t)bound;
    uint8_t *out = (uint8_t *)malloc(cap ? cap : 1);
    ZSTD_DCtx *z = get_dctx();
    if (!out || !z) {
        free(out);
        return BRIO_ENOMEM;
    }
    ZSTD_DCtx_setParameter(z, ZSTD_d_stableOutBuffer, 1);
    if (d) ZSTD_DCtx_refDDict(z, d);
    ZSTD_inBuffer in = {frame, n, 0};
    ZSTD_outBuffer ob = {out, cap, 0};
    size_t r = ZSTD_decompressStream(z, &ob, &in);
    int rc = AC_OK;
    if (ob.pos > limit) rc = BRIO_ELIMIT;
    else if (ZSTD_isError(r)) rc = BRIO_ECORRUPT;
    else if (r != 0 || in.pos != n) rc = BRIO_ECORRUPT; /* frame incomplete / not all read */
    ZSTD_DCtx_reset(z, ZSTD_reset_session_and_parameters);
    if (rc != AC_OK) {
        free(out);
        return rc;
    }
    return set_result(out, ob.pos);
}

/* The escape form's blocks walked as _check_blocks() in zstd/__init__.py:
 * the last block must end exactly at the end of the payload. */
static int escape_check(const uint8_t *p, size_t n)
{
    size_t pos = 2; /* 0xff, window descriptor */
    if (n < pos) return BRIO_ETRUNC;
    for (;;) {
        if (pos + 3 > n) return BRIO_ETRUNC;
        uint32_t h = p[pos] | (uint32_t)p[pos + 1] << 8 | (uint32_t)p[pos + 2] << 16;
        uint32_t kind = (h >> 1) & 3;
        if (kind == 3) return BRIO_ECORRUPT; /* reserved block type */
        size_t size = kind == 1 ? 1 : h >> 3;  /* an RLE block stores one byte */
        pos += 3 + size;
        if (pos > n) return BRIO_ETRUNC;
        if (h & 1) break;
    }
    return pos == n ? AC_OK : BRIO_ETRAIL;
}

/* magic, frame header descriptor 0x00, then the payload from its window
 * descriptor: for the compact form with the implied block header */
static uint8_t *rebuild(const uint8_t *p, size_t n, size_t *framelen)
{
    int compact = p[0] != ESCAPE;
    size_t body = compact ? n - 1 : n - 2;     /* block content / blocks */
    size_t len = 4 + 1 + 1 + (compact ? 3 : 0) + body;
    uint8_t *f = (uint8_t *)malloc(len);
    if (!f) return NULL;
    memcpy(f, MAGIC, 4);
    f[4] = 0x00;
    f[5] = compact ? p[0] : p[1];
    if (compact) {
        uint32_t h = (uint32_t)body << 3 | LAST_COMPRESSED;
        f[6] = (uint8_t)h;
        f[7] = (uint8_t)(h >> 8);
        f[8] = (uint8_t)(h >> 16);
        memcpy(f + 9, p + 1, body);
    }
    else {
        memcpy(f + 6, p + 2, body);
    }
    *framelen = len;
    return f;
}

/* One-shot decode of a compact frame into cap bytes (cap >= 1). */
static int decode_once(const ZSTD_DDict *d, const uint8_t *frame, size_t flen, size_t cap,
                       uint8_t **out, size_t *outlen)
{
    uint8_t *o = (uint8_t *)malloc(cap);
    ZSTD_DCtx *z = get_dctx();
    if (!o || !z) {
        free(o);
        return BRIO_ENOMEM;
    }
    size_t r = d ? ZSTD_decompress_usingDDict(z, o, cap, frame, flen, d)
                 : ZSTD_decompressDCtx(z, o, cap, frame, flen);
    if (ZSTD_isError(r)) {
        free(o);
        return BRIO_ECORRUPT;
    }
    *out = o;
    *outlen = r;
    return AC_OK;
}

/* Decode a zstd payload (compact or escape form) with dictionary d (NULL:
 * none); output at most limit bytes.  Errors as the Python plugin's:
 * ETRUNC (empty, or an escape form cut inside its blocks), ETRAIL (bytes
 * after the escape form's last block), ECORRUPT (a compact block beyond
 * 128 KiB, anything zstd rejects), ELIMIT. */
int EXPORT(ac_zstd_decode)(const ac_zdict *zd, const uint8_t *p, size_t n, size_t limit)
{
    const ZSTD_DDict *d = ddict_of(zd);
    set_result(NULL, 0);
    if (n == 0) return BRIO_ETRUNC;
    if (p[0] == ESCAPE) {
        int rc = escape_check(p, n);
        if (rc != AC_OK) return rc;
    }
    else if (n - 1 > ZSTD_BLOCK_MAX) {
        return BRIO_ECORRUPT;
    }
    size_t flen;
    uint8_t *frame = rebuild(p, n, &flen);
    if (!frame) return BRIO_ENOMEM;
    int rc;
    if (p[0] == ESCAPE) {
        rc = decode_bounded(d, frame, flen, limit);
        free(frame);
        return rc;
    }
    /* The compact form is one block: at most 128 KiB.  Ask first for what
     * text usually needs, then for the most the limit allows; a block that
     * fails both is corrupt unless it decodes within the block maximum,
     * which then passes the limit. */
    size_t cap = limit > 0 ? limit : 1;
    if (cap > ZSTD_BLOCK_MAX) cap = ZSTD_BLOCK_MAX;
    size_t first = n < FIRST_GUESS_MIN / FIRST_GUESS_FACTOR ? FIRST_GUESS_MIN : n * FIRST_GUESS_FACTOR;
    if (first > cap) first = cap;
    uint8_t *out = NULL;
    size_t outlen = 0;
    rc = decode_once(d, frame, flen, first, &out, &outlen);
    if (rc == BRIO_ECORRUPT && first < cap) rc = decode_once(d, frame, flen, cap, &out, &outlen);
    if (rc == BRIO_ECORRUPT && cap < ZSTD_BLOCK_MAX &&
        decode_once(d, frame, flen, ZSTD_BLOCK_MAX, &out, &outlen) == AC_OK)
        rc = BRIO_ELIMIT; /* a valid block, longer than the limit */
    free(frame);
    if (rc == AC_OK && outlen > limit) rc = BRIO_ELIMIT; /* limit 0: cap was 1 */
    if (rc != AC_OK) {
        free(out);
        return rc;
    }
    return set_result(out, outlen);
}

/* Decode one standard zstd frame (magic first; a model file, for instance),
 * dictionary d or NULL, output at most limit bytes.  ETRAIL when bytes
 * follow the frame. */
int EXPORT(ac_zstd_decompress)(const ac_zdict *zd, const uint8_t *src, size_t n, size_t limit)
{
    const ZSTD_DDict *d = ddict_of(zd);
    set_result(NULL, 0);
    size_t fsize = ZSTD_findFrameCompressedSize(src, n);
    if (ZSTD_isError(fsize))
        return ZSTD_getErrorCode(fsize) == ZSTD_error_srcSize_wrong ? BRIO_ETRUNC : BRIO_ECORRUPT;
    if (fsize != n) return BRIO_ETRAIL;
    unsigned long long size = ZSTD_getFrameContentSize(src, n);
    if (size != ZSTD_CONTENTSIZE_UNKNOWN && size > limit) return BRIO_ELIMIT;
    return decode_bounded(d, src, n, limit);
}

/* Encoding, exactly as the Python plugin asks python-zstandard 0.25.0
 * (c-ext/compressionparams.c, compressor.c, compressiondict.c) for the same
 * zstd 1.5.7, so both sides write the same bytes:
 *
 *   _params(level) = ZstdCompressionParameters.from_level(level,
 *       format=FORMAT_ZSTD1_MAGICLESS, write_checksum=False,
 *       write_content_size=False, write_dict_id=False)
 *
 * is a ZSTD_CCtx_params with the parameters set below, in that order: the
 * compression parameters of ZSTD_getCParams(level, 0, 0) (source size 0 is
 * "unknown"), the compression level itself left 0 (the default).  A
 * ZstdCompressor applies them with ZSTD_CCtx_setParametersUsingCCtxParams,
 * then refers to the dictionary's CDict (ZSTD_createCDict_advanced with those
 * compression parameters, when precompute_compress made one, as for the
 * stateless codec) or loads the dictionary (ZSTD_CCtx_loadDictionary_advanced,
 * by reference, as for a session's base plus history); compress() pledges
 * the message's length and calls ZSTD_compressStream2(ZSTD_e_end) into
 * ZSTD_compressBound bytes.  The Python plugin's _compact() then cuts the
 * magicless frame into the payload, as compact() does here. */

static ZSTD_CCtx *cctx; /* one compression context: the module is single-threaded */

static int set_params(ZSTD_CCtx *z, int level)
{
    ZSTD_compressionParameters cp = ZSTD_getCParams(level, 0, 0);
    ZSTD_CCtx_params *p = ZSTD_createCCtxParams();
    if (!p) return BRIO_ENOMEM;
    const int values[][2] = {
        {ZSTD_c_nbWorkers, 0},
        {ZSTD_c_format, ZSTD_f_zstd1_magicless},
        {ZSTD_c_compressionLevel, 0},
        {ZSTD_c_windowLog, (int)cp.windowLog},
        {ZSTD_c_hashLog, (int)cp.hashLog},
        {ZSTD_c_chainLog, (int)cp.chainLog},
        {ZSTD_c_searchLog, (int)cp.searchLog},
        {ZSTD_c_minMatch, (int)cp.minMatch},
        {ZSTD_c_targetLength, (int)cp.targetLength},
        {ZSTD_c_strategy, (int)cp.strategy},
        {ZSTD_c_contentSizeFlag, 0},
        {ZSTD_c_checksumFlag, 0},
        {ZSTD_c_dictIDFlag, 0},
        {ZSTD_c_jobSize, 0},
        {ZSTD_c_overlapLog, 0},
        {ZSTD_c_forceMaxWindow, 0},
        {ZSTD_c_enableLongDistanceMatching, 0},
        {ZSTD_c_ldmHashLog, 0},
        {ZSTD_c_ldmMinMatch, 0},
        {ZSTD_c_ldmBucketSizeLog, 0},
        {ZSTD_c_ldmHashRateLog, 0},
    };
    size_t r = 0;
    for (size_t i = 0; i < sizeof values / sizeof values[0] && !ZSTD_isError(r); i++)
        r = ZSTD_CCtxParams_setParameter(p, (ZSTD_cParameter)values[i][0], values[i][1]);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParametersUsingCCtxParams(z, p);
    ZSTD_freeCCtxParams(p);
    return ZSTD_isError(r) ? BRIO_EPARAM : AC_OK;
}

/* the dictionary's CDict for level, made on first use (a third level
 * replaces the second's) */
static ZSTD_CDict *cdict_for(ac_zdict *d, int level)
{
    for (int i = 0; i < 2; i++)
        if (d->cdict[i] && d->clevel[i] == level) return d->cdict[i];
    int i = d->cdict[0] ? 1 : 0;
    ZSTD_freeCDict(d->cdict[i]);
    d->cdict[i] = ZSTD_createCDict_advanced(d->data, d->size, ZSTD_dlm_byRef,
                                            (ZSTD_dictContentType_e)d->type,
                                            ZSTD_getCParams(level, 0, 0), ZSTD_defaultCMem);
    d->clevel[i] = level;
    return d->cdict[i];
}

/* The payload of a magicless frame f[0..n) (Python's _compact): the window
 * descriptor and the block when the frame is one compressed block, else the
 * escape form, 0xff in place of the frame header descriptor.  In place. */
static size_t compact(uint8_t *f, size_t n)
{
    if (n >= 5 && f[0] == 0) {
        uint32_t h = f[2] | (uint32_t)f[3] << 8 | (uint32_t)f[4] << 16;
        if ((h & 7) == LAST_COMPRESSED && h >> 3 == n - 5) {
            f[0] = f[1];
            memmove(f + 1, f + 5, n - 5);
            return n - 4;
        }
    }
    f[0] = ESCAPE;
    return n;
}

/* Encode in[0..n) at level, with dictionary d (NULL: none): its CDict for
 * that level (load 0, the stateless codec), or the dictionary loaded into
 * the context as it is (load 1, a session's base plus history).  Result: the
 * payload, never longer than ZSTD_compressBound(n); ENOMEM; EDICT (a CDict
 * zstd refused); EPARAM (any other zstd error). */
int EXPORT(ac_zstd_encode)(ac_zdict *d, const uint8_t *in, size_t n, int level, int load)
{
    set_result(NULL, 0);
    if (!cctx) cctx = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(n);
    if (ZSTD_isError(cap)) return BRIO_EPARAM;
    uint8_t *out = (uint8_t *)malloc(cap);
    int rc = cctx && out ? set_params(cctx, level) : BRIO_ENOMEM;
    size_t r = 0;
    if (rc == AC_OK && d) {
        if (load) {
            r = ZSTD_CCtx_loadDictionary_advanced(cctx, d->data, d->size, ZSTD_dlm_byRef,
                                                  (ZSTD_dictContentType_e)d->type);
        }
        else {
            ZSTD_CDict *cd = cdict_for(d, level);
            if (!cd) rc = AC_EDICT;
            else r = ZSTD_CCtx_refCDict(cctx, cd);
        }
    }
    if (rc == AC_OK && !ZSTD_isError(r)) r = ZSTD_CCtx_setPledgedSrcSize(cctx, n);
    ZSTD_outBuffer ob = {out, cap, 0};
    if (rc == AC_OK && !ZSTD_isError(r)) {
        ZSTD_inBuffer ib = {in, n, 0};
        r = ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end);
        if (!ZSTD_isError(r) && r != 0) rc = BRIO_EPARAM; /* cannot happen with the bound */
    }
    if (rc == AC_OK && ZSTD_isError(r))
        rc = ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? BRIO_ENOMEM
             : ZSTD_getErrorCode(r) == ZSTD_error_dictionary_corrupted ? AC_EDICT
                                                                        : BRIO_EPARAM;
    if (cctx) ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters); /* drops the dictionary */
    if (rc != AC_OK) {
        free(out);
        if (rc == AC_EDICT) result.why = "not a valid zstd dictionary";
        return rc;
    }
    return set_result(out, compact(out, ob.pos));
}

/* ------------------------------------------------------------------ */
/* brotli (docs/wire-format.md, "0x01 brotli"; plugins/brotli)         */

/* the smallest WBITS whose window, (1 << WBITS) - 16 bytes, holds size bytes */
static int window_bits_for(size_t size)
{
    int bits = 0;
    for (size_t v = size + 15; v; v >>= 1) bits++;
    return bits < 10 ? 10 : bits > 24 ? 24 : bits;
}

/* The stream's first byte declaring no more window than limit needs, where
 * its code allows (_bound_window in plugins/brotli: WBITS is coded in 1 bit
 * (16), 4 bits (18..24) or 7 bits (10..15, 17); only a same-length code can
 * replace it in place).  -1: a large-window stream (not RFC 7932). */
static int bound_window(uint8_t first, size_t limit)
{
    int wbits, lo, hi, target, needed = window_bits_for(limit);
    if (!(first & 1)) return first; /* WBITS 16, the 1-bit code */
    int n = (first >> 1) & 7;
    if (n) {
        wbits = 17 + n;
        lo = 18;
        hi = 24;
        target = needed < lo ? lo : needed > hi ? hi : needed;
        return target >= wbits ? first : (first & ~0x0E) | (target - 17) << 1;
    }
    int m = (first >> 4) & 7;
    if (m == 1) return -1;
    wbits = m ? 8 + m : 17;
    /* the 7-bit codes in WBITS order: 10..15, 17 */
    target = needed <= 15 ? needed : 17;
    if (target >= wbits) return first;
    return (first & 0x81) | (target == 17 ? 0 : target - 8) << 4;
}

/* Decode a brotli stream (RFC 7932), output at most limit bytes: ETRUNC
 * (empty, or ends early), ETRAIL (bytes after the stream's end), ELIMIT,
 * ECORRUPT (large-window streams included). */
int EXPORT(ac_brotli_decode)(const uint8_t *p, size_t n, size_t limit)
{
    set_result(NULL, 0);
    if (n == 0) return BRIO_ETRUNC;
    int first = bound_window(p[0], limit);
    if (first < 0) return BRIO_ECORRUPT;
    BrotliDecoderState *s = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    size_t hard = limit + 1 < limit ? SIZE_MAX : limit + 1; /* one byte past: the limit is passed */
    size_t cap = n * 8 < 1024 ? 1024 : n * 8;
    if (cap > hard || cap / 8 != n) cap = hard;
    uint8_t *out = (uint8_t *)malloc(cap);
    if (!s || !out) {
        free(out);
        if (s) BrotliDecoderDestroyInstance(s);
        return BRIO_ENOMEM;
    }
    uint8_t head = (uint8_t)first;
    size_t total = 0, avail_in = 1;
    const uint8_t *next_in = &head; /* the bounded first byte, then the rest */
    int fed_rest = 0, rc;
    for (;;) {
        size_t avail_out = cap - total;
        uint8_t *next_out = out + total;
        BrotliDecoderResult r =
            BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, NULL);
        total = (size_t)(next_out - out);
        if (total > limit) { rc = BRIO_ELIMIT; break; }
        if (r == BROTLI_DECODER_RESULT_SUCCESS) {
            rc = avail_in || (!fed_rest && n > 1) ? BRIO_ETRAIL : AC_OK;
            break;
        }
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
            if (fed_rest || n == 1) { rc = BRIO_ETRUNC; break; }
            fed_rest = 1;
            next_in = p + 1;
            avail_in = n - 1;
            continue;
        }
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
            size_t grown = cap * 2 < cap || cap * 2 > hard ? hard : cap * 2;
            uint8_t *o = grown > cap ? (uint8_t *)realloc(out, grown) : NULL;
            if (!o) { rc = BRIO_ENOMEM; break; } /* cap == hard cannot need more: total > limit */
            out = o;
            cap = grown;
            continue;
        }
        rc = BRIO_ECORRUPT;
        break;
    }
    BrotliDecoderDestroyInstance(s);
    if (rc != AC_OK) {
        free(out);
        return rc;
    }
    return set_result(out, total);
}
