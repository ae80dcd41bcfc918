/*
 * _brio.c - CPython binding of the BRIO coder (auracodec.plugins.brio._brio).
 *
 *   train(messages, *, sessions=None, model_size=8<<20, progress=None, **params) -> bytes
 *                                     sessions: one hashable key per message; messages
 *                                     with equal keys are trained as one context (in
 *                                     order), as Model.context() would code them
 *   Model(blob=None, max_ratio=DEFAULT_MAX_RATIO)
 *                                     validate + load a model (None: the neutral
 *                                     model; b"" is refused); max_ratio: the
 *                                     output-to-payload ratio cap (0: none).
 *                                     A read-only buffer (bytes, an mmap opened
 *                                     ACCESS_READ) is held, and the model's large
 *                                     tables are read in place (Model.shared_size)
 *   Model.encode(data) -> bytes | None   None: declined, beyond the ratio cap
 *   Model.decode(payload, limit) -> bytes
 *   Model.cost(data) -> (eom_bits, byte_bits)   ideal code length, for analysis
 *   Model.context() -> Context        one direction of a session: Context.encode,
 *                                     .decode and .absorb carry adaptation across
 *                                     messages (encode absorbs what it declines)
 *   neutral_blob() -> bytes           the blob Model(None) uses
 *   DEFAULT_MAX_RATIO, RATIO_SLACK    the cap: a payload of n bytes decodes to at
 *                                     most max_ratio * n + RATIO_SLACK bytes
 *   STREAMS_SMALL                     a context(streams=True) codes messages up to
 *                                     this size as continuations
 *
 * Decoding errors are auracodec's own (TruncatedFrame, TrailingData,
 * OutputLimitExceeded, CorruptPayload; SessionError for a context that failed
 * before), raised here so the codec's decode is this C function itself. They
 * come from auracodec.plugin, the only module built-in plugins import.
 *
 * The loaded model is read-only; encode/decode/cost release the GIL and
 * allocate their own working state, so a Model may be shared by threads.
 * A Context belongs to one connection (concurrent use raises RuntimeError).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_core.h"

/* auracodec's error classes (from auracodec.plugin), fetched at module init */
static PyObject *TruncatedFrame, *TrailingData, *OutputLimitExceeded, *CorruptPayload,
    *SessionError;
static int decode_error(int rc, Py_ssize_t limit, Py_ssize_t n, uint32_t max_ratio);

typedef struct {
    PyObject_HEAD
    brio_model *m;
    Py_buffer blob;     /* held while m points into it (a read-only buffer: mmap, bytes) */
    int holds_blob;
    Py_ssize_t blob_size;
    uint32_t max_ratio; /* output-to-payload ratio cap, 0: none */
} ModelObject;

static void Model_dealloc(ModelObject *self)
{
    brio_model_free(self->m);
    if (self->holds_blob) PyBuffer_Release(&self->blob);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Model_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"blob", "max_ratio", NULL};
    PyObject *blobobj = Py_None;
    unsigned long long max_ratio = BRIO_DEFAULT_MAX_RATIO;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$K:Model", kwlist, &blobobj, &max_ratio))
        return NULL;
    if (max_ratio > 0xFFFFFFFFull) {
        PyErr_SetString(PyExc_ValueError, "max_ratio must be from 0 (no cap) to 2**32 - 1");
        return NULL;
    }
    Py_buffer view = {0};
    static const uint8_t none[1] = {0};
    const uint8_t *blob = NULL;
    size_t len = 0;
    if (blobobj != Py_None) {
        if (PyObject_GetBuffer(blobobj, &view, PyBUF_SIMPLE) < 0) return NULL;
        /* only None is the neutral model: an empty blob is refused */
        blob = view.buf ? (const uint8_t *)view.buf : none;
        len = (size_t)view.len;
    }
    brio_model *m = NULL;
    const char *why = "invalid model";
    int rc;
    /* A read-only buffer (an mmap of the model file opened ACCESS_READ, or
     * bytes) cannot change under the model: the model may point its large
     * tables into it, and the buffer is held as long as the model lives, so
     * processes that map the same file share those pages. */
    int borrow = blobobj != Py_None && view.readonly && view.len > 0;
    Py_BEGIN_ALLOW_THREADS
    rc = brio_model_load(blob, len, borrow, &m, &why);
    Py_END_ALLOW_THREADS
    borrow = borrow && rc == BRIO_OK && brio_model_shared_bytes(m) > 0;
    if (blobobj != Py_None && !borrow) PyBuffer_Release(&view);
    if (rc == BRIO_ENOMEM) return PyErr_NoMemory();
    if (rc != BRIO_OK) {
        PyErr_Format(PyExc_ValueError, "invalid BRIO model: %s", why);
        return NULL;
    }
    ModelObject *self = (ModelObject *)type->tp_alloc(type, 0);
    if (!self) {
        brio_model_free(m);
        if (borrow) PyBuffer_Release(&view);
        return NULL;
    }
    self->m = m;
    self->holds_blob = borrow;
    if (borrow) self->blob = view;
    self->blob_size = (Py_ssize_t)len;
    self->max_ratio = (uint32_t)max_ratio;
    return (PyObject *)self;
}

static PyObject *Model_encode(ModelObject *self, PyObject *arg)
{
    Py_buffer v;
    if (PyObject_GetBuffer(arg, &v, PyBUF_SIMPLE) < 0) return NULL;
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = brio_encode(self->m, (const uint8_t *)v.buf, (size_t)v.len, self->max_ratio, &out, &outlen);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&v);
    if (rc == BRIO_DECLINED) Py_RETURN_NONE;
    if (rc != BRIO_OK) return PyErr_NoMemory();
    PyObject *r = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)outlen);
    free(out);
    return r;
}

static PyObject *Model_decode(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"payload", "limit", NULL};
    Py_buffer v;
    Py_ssize_t limit;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*n:decode", kwlist, &v, &limit)) return NULL;
    if (limit < 0) {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_ValueError, "limit must be >= 0");
        return NULL;
    }
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc;
    Py_ssize_t n = v.len;
    Py_BEGIN_ALLOW_THREADS
    rc = brio_decode(self->m, (const uint8_t *)v.buf, (size_t)n, (size_t)limit, self->max_ratio, &out,
                     &outlen);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&v);
    if (rc != BRIO_OK) { decode_error(rc, limit, n, self->max_ratio); return NULL; }
    PyObject *r = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)outlen);
    free(out);
    return r;
}

static PyObject *Model_cost(ModelObject *self, PyObject *arg)
{
    Py_buffer v;
    if (PyObject_GetBuffer(arg, &v, PyBUF_SIMPLE) < 0) return NULL;
    double e = 0, b = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = brio_cost(self->m, (const uint8_t *)v.buf, (size_t)v.len, &e, &b);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&v);
    if (rc != BRIO_OK) return PyErr_NoMemory();
    return Py_BuildValue("(dd)", e, b);
}

/* ---- sessions ---- */

/* A session codes its messages in the caller's thread, without the GIL
 * from this many bytes (of message; of payload, an eighth).  A shorter one,
 * such as the delta of a streamed reply, takes a few microseconds: releasing
 * the GIL for that would hand it to any thread waiting for it, which may then
 * keep it for the whole switch interval (5 ms by default) before this one
 * gets it back. */
#define GIL_FREE_BYTES 256
#define WITHOUT_GIL_IF(cond, stmt)                                                                  \
    do {                                                                                           \
        if (cond) {                                                                                \
            Py_BEGIN_ALLOW_THREADS stmt;                                                           \
            Py_END_ALLOW_THREADS                                                                   \
        } else {                                                                                   \
            stmt;                                                                                  \
        }                                                                                          \
    } while (0)

typedef struct {
    PyObject_HEAD
    ModelObject *model; /* keeps the model alive */
    brio_session *s;
    int busy;           /* set while a call runs without the GIL */
    int failed;         /* a decode raised: the context is out of step, refuse */
} ContextObject;

static PyTypeObject ContextType;

static void Context_dealloc(ContextObject *self)
{
    brio_session_free(self->s);
    Py_XDECREF(self->model);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int decode_error(int rc, Py_ssize_t limit, Py_ssize_t n, uint32_t max_ratio)
{
    PyObject *exc;
    switch (rc) {
    case BRIO_ENOMEM: PyErr_NoMemory(); return -1;
    case BRIO_ETRUNC:
        PyErr_SetString(TruncatedFrame, "BRIO payload ends before its message does");
        return -1;
    case BRIO_ETRAIL:
        PyErr_SetString(TrailingData, "bytes follow the end of the BRIO message");
        return -1;
    case BRIO_ELIMIT:
        exc = PyObject_CallFunction(OutputLimitExceeded, "n", limit);
        if (exc) {
            PyErr_SetObject(OutputLimitExceeded, exc);
            Py_DECREF(exc);
        }
        return -1;
    case BRIO_EBROKEN:
        PyErr_SetString(SessionError, "BRIO context is unusable after an earlier error; reset it");
        return -1;
    case BRIO_ERATIO:
        /* not the caller's limit: no valid payload of this length decodes
         * that far with this max_ratio (docs/brio.md, section 1.3) */
        PyErr_Format(CorruptPayload,
                     "BRIO payload of %zd bytes decodes to more than max_ratio x %zd + %d = %zu "
                     "bytes (max_ratio = %lu), which no BRIO encoder with this setting produces",
                     n, n, BRIO_RATIO_SLACK, brio_ratio_budget((size_t)n, max_ratio),
                     (unsigned long)max_ratio);
        return -1;
    default: PyErr_SetString(CorruptPayload, "BRIO payload is corrupt"); return -1;
    }
}

static int context_enter(ContextObject *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "context already in use by another thread");
        return -1;
    }
    self->busy = 1;
    return 0;
}

/* Code a message on the context: the payload, or None when the message is
 * beyond the ratio cap (max_ratio 0: never); absorbed either way. */
static PyObject *context_code(ContextObject *self, PyObject *arg, uint32_t max_ratio)
{
    Py_buffer v;
    if (PyObject_GetBuffer(arg, &v, PyBUF_SIMPLE) < 0) return NULL;
    if (context_enter(self)) { PyBuffer_Release(&v); return NULL; }
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc;
    WITHOUT_GIL_IF(v.len >= GIL_FREE_BYTES,
                   rc = brio_session_encode(self->s, (const uint8_t *)v.buf, (size_t)v.len, max_ratio,
                                            &out, &outlen));
    self->busy = 0;
    PyBuffer_Release(&v);
    if (rc == BRIO_EBROKEN) {
        PyErr_SetString(SessionError, "BRIO context is unusable after an earlier error; reset it");
        return NULL;
    }
    if (rc == BRIO_DECLINED) Py_RETURN_NONE;
    if (rc != BRIO_OK) return PyErr_NoMemory();
    PyObject *r = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)outlen);
    free(out);
    return r;
}

static PyObject *Context_encode(ContextObject *self, PyObject *arg)
{
    return context_code(self, arg, self->model->max_ratio);
}

static PyObject *Context_absorb(ContextObject *self, PyObject *arg)
{
    /* Absorbing is coding without keeping the output: the same updates,
     * whatever the message's ratio (the peer's encoder absorbed it too). */
    PyObject *r = context_code(self, arg, 0);
    if (!r) return NULL;
    Py_DECREF(r);
    Py_RETURN_NONE;
}

/* After decode raises, for whatever reason, the message was not absorbed and
 * the context is out of step with the peer's: every later decode raises
 * (SessionError) until the context is replaced (BrioContext.reset). */
static PyObject *context_decode(ContextObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"payload", "limit", NULL};
    Py_buffer v;
    Py_ssize_t limit;
    if (self->failed) {
        PyErr_SetString(SessionError, "BRIO context is unusable after an earlier error; reset it");
        return NULL;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*n:decode", kwlist, &v, &limit)) return NULL;
    if (limit < 0) {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_ValueError, "limit must be >= 0");
        return NULL;
    }
    if (context_enter(self)) { PyBuffer_Release(&v); return NULL; }
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc;
    Py_ssize_t n = v.len;
    uint32_t max_ratio = self->model->max_ratio;
    WITHOUT_GIL_IF(n >= GIL_FREE_BYTES / 8,
                   rc = brio_session_decode(self->s, (const uint8_t *)v.buf, (size_t)n, (size_t)limit,
                                            max_ratio, &out, &outlen));
    self->busy = 0;
    PyBuffer_Release(&v);
    if (rc != BRIO_OK) { decode_error(rc, limit, n, max_ratio); return NULL; }
    PyObject *r = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)outlen);
    free(out);
    return r;
}

static PyObject *Context_decode(ContextObject *self, PyObject *args, PyObject *kw)
{
    PyObject *r = context_decode(self, args, kw);
    if (!r) self->failed = 1;
    return r;
}

static PyObject *Context_continues(ContextObject *self, PyObject *arg)
{
    Py_buffer v;
    if (PyObject_GetBuffer(arg, &v, PyBUF_SIMPLE) < 0) return NULL;
    int r = brio_session_continues(self->s, (const uint8_t *)v.buf, (size_t)v.len);
    PyBuffer_Release(&v);
    return PyBool_FromLong(r);
}

static PyObject *Context_get_memsize(ContextObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(brio_session_bytes(self->s));
}

static PyMethodDef Context_methods[] = {
    {"encode", (PyCFunction)Context_encode, METH_O,
     "encode(data) -> payload, or None beyond the ratio cap; updates the context either way"},
    {"continues", (PyCFunction)Context_continues, METH_O,
     "continues(data) -> bool: whether encode would code data as the continuation of the previous "
     "message (a context(streams=True) only)"},
    {"absorb", (PyCFunction)Context_absorb, METH_O,
     "absorb(data): update the context with a message another codec carried"},
    {"decode", (PyCFunction)(void (*)(void))Context_decode, METH_VARARGS | METH_KEYWORDS,
     "decode(payload, limit) -> bytes; updates the context; raises DecodeError (the context is then "
     "unusable)"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Context_getset[] = {
    {"memory_size", (getter)Context_get_memsize, NULL, "bytes of memory held by the context", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject ContextType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "auracodec.plugins.brio._brio.Context",
    .tp_basicsize = sizeof(ContextObject),
    .tp_dealloc = (destructor)Context_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Coding context of one connection (from Model.context()): adaptation carries across "
              "its messages. Encoder and decoder contexts must see the same message sequence.",
    .tp_methods = Context_methods,
    .tp_getset = Context_getset,
};

static PyObject *Model_context(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"streams", NULL};
    int streams = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$p:context", kwlist, &streams)) return NULL;
    ContextObject *c = PyObject_New(ContextObject, &ContextType);
    if (!c) return NULL;
    c->busy = 0;
    c->failed = 0;
    Py_INCREF(self);
    c->model = self;
    Py_BEGIN_ALLOW_THREADS
    c->s = brio_session_new_ex(self->m, streams ? BRIO_SESSION_STREAMS : 0);
    Py_END_ALLOW_THREADS
    if (!c->s) { Py_DECREF(c); return PyErr_NoMemory(); }
    return (PyObject *)c;
}

static PyObject *Model_get_memsize(ModelObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(brio_model_bytes(self->m));
}

static PyMethodDef Model_methods[] = {
    {"encode", (PyCFunction)Model_encode, METH_O,
     "encode(data) -> payload bytes, or None for a message beyond the ratio cap"},
    {"decode", (PyCFunction)(void (*)(void))Model_decode, METH_VARARGS | METH_KEYWORDS,
     "decode(payload, limit) -> bytes; raises DecodeError"},
    {"cost", (PyCFunction)Model_cost, METH_O, "cost(data) -> (eom_bits, byte_bits) ideal code length"},
    {"context", (PyCFunction)(void (*)(void))Model_context, METH_VARARGS | METH_KEYWORDS,
     "context(*, streams=False) -> Context: a session that carries adaptation across messages; "
     "with streams, a message may continue the previous one (docs/brio.md, section 7.1)"},
    {NULL, NULL, 0, NULL}};

static PyObject *Model_get_max_ratio(ModelObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(self->max_ratio);
}

static PyObject *Model_get_shared(ModelObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(brio_model_shared_bytes(self->m));
}

static PyGetSetDef Model_getset[] = {
    {"memory_size", (getter)Model_get_memsize, NULL,
     "bytes of private memory held by the loaded model (shared_size not included)", NULL},
    {"shared_size", (getter)Model_get_shared, NULL,
     "bytes of the model's blob it reads in place (an mmap shares them between processes)", NULL},
    {"max_ratio", (getter)Model_get_max_ratio, NULL,
     "the output-to-payload ratio cap (0: none): a payload of n bytes decodes to at most "
     "max_ratio * n + RATIO_SLACK bytes", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "auracodec.plugins.brio._brio.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Model(blob=None, *, max_ratio=DEFAULT_MAX_RATIO): a loaded, read-only BRIO model "
              "(None: neutral, untrained) and the output-to-payload ratio cap of its payloads",
    .tp_methods = Model_methods,
    .tp_getset = Model_getset,
    .tp_new = Model_new,
};

/* ---- training ---- */

typedef struct { PyObject *cb; int failed; } progress_t;

static int progress_tramp(void *arg, size_t done, size_t total)
{
    progress_t *pr = (progress_t *)arg;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = PyObject_CallFunction(pr->cb, "nn", (Py_ssize_t)done, (Py_ssize_t)total);
    int stop = 0;
    if (!r) { pr->failed = 1; stop = 1; }
    else Py_DECREF(r);
    PyGILState_Release(g);
    return stop;
}

static int get_u32(PyObject *kw, const char *name, uint32_t *dst)
{
    if (!kw) return 0;
    PyObject *v = PyDict_GetItemString(kw, name);
    if (!v) return 0;
    unsigned long long x = PyLong_AsUnsignedLongLong(v);
    if (PyErr_Occurred()) return -1;
    if (x > 0xFFFFFFFFull) { PyErr_Format(PyExc_ValueError, "%s out of range", name); return -1; }
    *dst = (uint32_t)x;
    if (PyDict_DelItemString(kw, name) < 0) return -1;
    return 0;
}

static PyObject *mod_train(PyObject *mod, PyObject *args, PyObject *kw)
{
    (void)mod;
    PyObject *msgs, *sessobj = NULL;
    uint32_t *sids = NULL;
    if (!PyArg_ParseTuple(args, "O:train", &msgs)) return NULL;
    brio_params prm;
    brio_default_params(&prm);
    uint32_t apm_bits = 16, node_bits = 8; /* export precision: full */
    PyObject *kwc = kw ? PyDict_Copy(kw) : NULL;
    if (kw && !kwc) return NULL;
    PyObject *cb = kwc ? PyDict_GetItemString(kwc, "progress") : NULL;
    Py_XINCREF(cb);
    if (kwc && cb && PyDict_DelItemString(kwc, "progress") < 0) goto fail_kw;
    sessobj = kwc ? PyDict_GetItemString(kwc, "sessions") : NULL;
    Py_XINCREF(sessobj);
    if (kwc && sessobj && PyDict_DelItemString(kwc, "sessions") < 0) goto fail_kw;
    if (get_u32(kwc, "model_size", &prm.model_size) || get_u32(kwc, "apm2_bits", &prm.apm2_bits) ||
        get_u32(kwc, "mix_lr", &prm.mix_lr) || get_u32(kwc, "mix_lr_train", &prm.mix_lr_train) ||
        get_u32(kwc, "apm_rate", &prm.apm_rate) || get_u32(kwc, "dyn_limit", &prm.dyn_limit) ||
        get_u32(kwc, "stat_limit", &prm.stat_limit) || get_u32(kwc, "epochs", &prm.epochs) || get_u32(kwc, "train_factor", &prm.train_factor) ||
        get_u32(kwc, "session_map_bits", &prm.session_map_bits) ||
        get_u32(kwc, "apm_precision", &apm_bits) || get_u32(kwc, "node_precision", &node_bits))
        goto fail_kw;
    if (kwc && PyDict_Size(kwc) > 0) {
        PyObject *k = NULL, *v = NULL;
        Py_ssize_t pos = 0;
        PyDict_Next(kwc, &pos, &k, &v);
        PyErr_Format(PyExc_TypeError, "train() got an unexpected keyword argument %R", k);
        goto fail_kw;
    }
    if (apm_bits < 1 || apm_bits > 16 || node_bits < 1 || node_bits > 8) {
        PyErr_SetString(PyExc_ValueError, "apm_precision must be 1..16 and node_precision 1..8");
        goto fail_kw;
    }
    if (cb == Py_None) { Py_DECREF(cb); cb = NULL; }
    PyObject *seq = PySequence_Fast(msgs, "messages must be a sequence of bytes");
    if (!seq) goto fail_kw;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    Py_buffer *views = (Py_buffer *)PyMem_Calloc((size_t)n + 1, sizeof(Py_buffer));
    const uint8_t **ptrs = (const uint8_t **)PyMem_Calloc((size_t)n + 1, sizeof(*ptrs));
    size_t *lens = (size_t *)PyMem_Calloc((size_t)n + 1, sizeof(size_t));
    Py_ssize_t got = 0;
    PyObject *res = NULL;
    if (!views || !ptrs || !lens) { PyErr_NoMemory(); goto done; }
    for (; got < n; got++) {
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, got), &views[got], PyBUF_SIMPLE) < 0) goto done;
        ptrs[got] = (const uint8_t *)views[got].buf;
        lens[got] = (size_t)views[got].len;
    }
    if (sessobj && sessobj != Py_None) {
        /* session keys (any hashable): equal keys = one context, in message order */
        PyObject *sseq = PySequence_Fast(sessobj, "sessions must be a sequence of hashable keys");
        if (!sseq) goto done;
        if (PySequence_Fast_GET_SIZE(sseq) != n) {
            Py_DECREF(sseq);
            PyErr_SetString(PyExc_ValueError, "sessions must have one key per message");
            goto done;
        }
        PyObject *ids = PyDict_New();
        sids = (uint32_t *)PyMem_Calloc((size_t)n + 1, sizeof(uint32_t));
        int ok = ids && sids;
        if (!ok) PyErr_NoMemory();
        for (Py_ssize_t i = 0; ok && i < n; i++) {
            PyObject *key = PySequence_Fast_GET_ITEM(sseq, i);
            PyObject *v = PyDict_GetItemWithError(ids, key);
            if (!v) {
                if (PyErr_Occurred() || PyDict_Size(ids) >= 0xFFFFFFFF) {
                    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "too many sessions");
                    ok = 0;
                    break;
                }
                v = PyLong_FromSsize_t(PyDict_Size(ids));
                if (!v || PyDict_SetItem(ids, key, v) < 0) { Py_XDECREF(v); ok = 0; break; }
                Py_DECREF(v);
            }
            sids[i] = (uint32_t)PyLong_AsUnsignedLong(v);
        }
        Py_XDECREF(ids);
        Py_DECREF(sseq);
        if (!ok) goto done;
    }
    {
        uint8_t *blob = NULL;
        size_t blen = 0;
        int rc;
        progress_t pr = {cb, 0};
        Py_BEGIN_ALLOW_THREADS
        rc = brio_train(ptrs, lens, (size_t)n, sids, &prm, &blob, &blen, cb ? progress_tramp : NULL, &pr);
        if (rc == BRIO_OK && (apm_bits < 16 || node_bits < 8)) {
            rc = brio_model_round(blob, blen, apm_bits, node_bits);
            if (rc != BRIO_OK) { free(blob); blob = NULL; } /* only BRIO_ENOMEM: the blob is valid */
        }
        Py_END_ALLOW_THREADS
        if (pr.failed) { free(blob); goto done; }
        if (rc == BRIO_ENOMEM) { PyErr_NoMemory(); goto done; }
        if (rc != BRIO_OK) {
            size_t mn = brio_min_model_size(prm.apm2_bits);
            if (mn && prm.model_size < mn)
                PyErr_Format(PyExc_ValueError, "model_size must be at least %zu bytes (with apm2_bits=%u)", mn,
                             (unsigned)prm.apm2_bits);
            else
                PyErr_SetString(PyExc_ValueError,
                                "invalid training parameters (ranges: apm2_bits <= 20, mix_lr and mix_lr_train "
                                "<= 63, apm_rate 1..15, dyn_limit 1..15, stat_limit 1..1023, epochs <= 16, "
                                "train_factor 1..16, session_map_bits 11..16)");
            goto done;
        }
        res = PyBytes_FromStringAndSize((const char *)blob, (Py_ssize_t)blen);
        free(blob);
    }
done:
    for (Py_ssize_t i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    PyMem_Free(views);
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    PyMem_Free(sids);
    Py_DECREF(seq);
    Py_XDECREF(kwc);
    Py_XDECREF(cb);
    Py_XDECREF(sessobj);
    return res;
fail_kw:
    Py_XDECREF(kwc);
    Py_XDECREF(cb);
    Py_XDECREF(sessobj);
    return NULL;
}

static PyObject *mod_neutral_blob(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    uint8_t *b = NULL;
    size_t n = 0;
    if (brio_neutral_blob(&b, &n)) return PyErr_NoMemory();
    PyObject *r = PyBytes_FromStringAndSize((const char *)b, (Py_ssize_t)n);
    free(b);
    return r;
}

static PyMethodDef mod_methods[] = {
    {"neutral_blob", mod_neutral_blob, METH_NOARGS, "neutral_blob() -> the blob Model(None) uses"},
    {"train", (PyCFunction)(void (*)(void))mod_train, METH_VARARGS | METH_KEYWORDS,
     "train(messages, *, sessions=None, model_size=8<<20, progress=None, apm2_bits, mix_lr, mix_lr_train, "
     "apm_rate, dyn_limit, stat_limit, epochs, train_factor, session_map_bits, apm_precision=16, node_precision=8) -> "
     "model blob; sessions: one hashable key per message, equal keys = one context (in order); apm_precision, "
     "node_precision: significant bits kept of the APM entries and bucket nodes (docs/brio.md, section 8)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "auracodec.plugins.brio._brio",
                                    "BRIO trained context-mixing coder for short messages", -1,
                                    mod_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__brio(void)
{
    brio_global_init();
    if (PyType_Ready(&ModelType) < 0 || PyType_Ready(&ContextType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    /* the plugin face, like every built-in plugin (not auracodec.core) */
    PyObject *errors = PyImport_ImportModule("auracodec.plugin");
    if (!errors) { Py_DECREF(m); return NULL; }
    TruncatedFrame = PyObject_GetAttrString(errors, "TruncatedFrame");
    TrailingData = PyObject_GetAttrString(errors, "TrailingData");
    OutputLimitExceeded = PyObject_GetAttrString(errors, "OutputLimitExceeded");
    CorruptPayload = PyObject_GetAttrString(errors, "CorruptPayload");
    SessionError = PyObject_GetAttrString(errors, "SessionError");
    Py_DECREF(errors);
    if (!TruncatedFrame || !TrailingData || !OutputLimitExceeded || !CorruptPayload ||
        !SessionError) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&ModelType);
    if (PyModule_AddObject(m, "Model", (PyObject *)&ModelType) < 0) { Py_DECREF(m); return NULL; }
    PyModule_AddIntConstant(m, "FORMAT_VERSION", BRIO_FORMAT_VERSION);
    PyModule_AddIntConstant(m, "DEFAULT_MAX_RATIO", BRIO_DEFAULT_MAX_RATIO);
    PyModule_AddIntConstant(m, "RATIO_SLACK", BRIO_RATIO_SLACK);
    PyModule_AddIntConstant(m, "STREAMS_SMALL", BRIO_STREAMS_SMALL);
    return m;
}
