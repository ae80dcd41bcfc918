/* auracodec.plugins.zstd._compact: decoding the compact zstd payload, compiled.
 *
 * The payload format is described in the zstd plugin's docstring. For the
 * common form ([window descriptor][one compressed block]) this rebuilds the
 * magicless frame (frame header descriptor 0x00, the window descriptor, a
 * block header saying "last, compressed, <n> bytes", the block) and hands it
 * to python-zstandard with the output limit. It exists because the same steps
 * in Python cost more than zstd's own decoding of a typical chat message.
 *
 *   CompactDecoder(new_dctx, escape, classify, errors)(payload, limit) -> bytes
 *
 *   new_dctx()                 a new ZstdDecompressor (magicless, dictionary)
 *   escape(payload)            the frame of an escape-form payload, checked
 *   classify(frame, limit, e)  the DecodeError to raise for zstd's error e
 *   errors                     (TruncatedFrame, CorruptPayload,
 *                               OutputLimitExceeded, ZstdError)
 *
 * python-zstandard allocates the whole output buffer it is allowed up front,
 * so asking for the output limit (4 MiB by default) on every 40-byte message
 * costs a large allocation per call. One block never decodes to more than
 * 128 KiB, and text rarely to more than 64 times its compressed size: the
 * first attempt asks for that much, and only a failed attempt is retried
 * with the block maximum.
 *
 * Decompressors are not thread-safe, so each call borrows one and gives it
 * back: from a single slot when it is free (the common, single-threaded case),
 * else from a pool (a list). Taking and returning are atomic under the GIL; as
 * many decompressors exist as threads ever decoded at once, and none leak
 * when threads end.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <string.h>

#define ESCAPE 0xFF
#define BLOCK_MAX (128 * 1024)
#define LAST_COMPRESSED 0x5 /* block header bits: last block, type compressed */
#define FIRST_GUESS_FACTOR 64
#define FIRST_GUESS_MIN 4096

typedef struct {
    PyObject_HEAD
    PyObject *new_dctx, *escape, *classify;
    PyObject *truncated, *corrupt, *too_big, *zstd_error;
    PyObject *slot; /* a free decompressor, or NULL */
    PyObject *pool;
    PyObject *kwnames;
    PyObject *method;
    vectorcallfunc vectorcall;
} CompactDecoder;

static PyObject *CompactDecoder_vectorcall(PyObject *, PyObject *const *, size_t, PyObject *);

static int
CompactDecoder_traverse(CompactDecoder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->new_dctx);
    Py_VISIT(self->escape);
    Py_VISIT(self->classify);
    Py_VISIT(self->truncated);
    Py_VISIT(self->corrupt);
    Py_VISIT(self->too_big);
    Py_VISIT(self->zstd_error);
    Py_VISIT(self->slot);
    Py_VISIT(self->pool);
    return 0;
}

static int
CompactDecoder_clear(CompactDecoder *self)
{
    Py_CLEAR(self->new_dctx);
    Py_CLEAR(self->escape);
    Py_CLEAR(self->classify);
    Py_CLEAR(self->truncated);
    Py_CLEAR(self->corrupt);
    Py_CLEAR(self->too_big);
    Py_CLEAR(self->zstd_error);
    Py_CLEAR(self->slot);
    Py_CLEAR(self->pool);
    Py_CLEAR(self->kwnames);
    Py_CLEAR(self->method);
    return 0;
}

static void
CompactDecoder_dealloc(CompactDecoder *self)
{
    PyObject_GC_UnTrack(self);
    CompactDecoder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
CompactDecoder_init(CompactDecoder *self, PyObject *args, PyObject *kwds)
{
    PyObject *new_dctx, *escape, *classify, *errors;
    static char *kwlist[] = {"new_dctx", "escape", "classify", "errors", NULL};
    if (self->pool != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "CompactDecoder is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOO!", kwlist, &new_dctx, &escape,
                                     &classify, &PyTuple_Type, &errors))
        return -1;
    if (PyTuple_GET_SIZE(errors) != 4) {
        PyErr_SetString(PyExc_TypeError, "errors must be a tuple of 4 classes");
        return -1;
    }
    self->new_dctx = Py_NewRef(new_dctx);
    self->escape = Py_NewRef(escape);
    self->classify = Py_NewRef(classify);
    self->truncated = Py_NewRef(PyTuple_GET_ITEM(errors, 0));
    self->corrupt = Py_NewRef(PyTuple_GET_ITEM(errors, 1));
    self->too_big = Py_NewRef(PyTuple_GET_ITEM(errors, 2));
    self->zstd_error = Py_NewRef(PyTuple_GET_ITEM(errors, 3));
    self->pool = PyList_New(0);
    self->kwnames = Py_BuildValue("(s)", "max_output_size");
    self->method = PyUnicode_InternFromString("decompress");
    if (self->pool == NULL || self->kwnames == NULL || self->method == NULL)
        return -1;
    self->vectorcall = CompactDecoder_vectorcall;
    return 0;
}

static PyObject *
raise_with(PyObject *cls, PyObject *arg)
{
    PyObject *exc = PyObject_CallOneArg(cls, arg);
    if (exc != NULL) {
        PyErr_SetObject(cls, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* The frame for a compact-form payload, or NULL with an error set. */
static PyObject *
rebuild(CompactDecoder *self, const unsigned char *p, Py_ssize_t n)
{
    Py_ssize_t block = n - 1;
    if (block > BLOCK_MAX) {
        PyObject *msg = PyUnicode_FromFormat(
            "zstd block of %zd bytes exceeds the %d-byte block maximum", block, BLOCK_MAX);
        if (msg != NULL) {
            raise_with(self->corrupt, msg);
            Py_DECREF(msg);
        }
        return NULL;
    }
    PyObject *frame = PyBytes_FromStringAndSize(NULL, n + 4);
    if (frame == NULL)
        return NULL;
    unsigned char *f = (unsigned char *)PyBytes_AS_STRING(frame);
    unsigned long header = ((unsigned long)block << 3) | LAST_COMPRESSED;
    f[0] = 0x00; /* frame header descriptor: no checksum, size or dictionary id */
    f[1] = p[0]; /* window descriptor */
    f[2] = (unsigned char)(header & 0xFF);
    f[3] = (unsigned char)((header >> 8) & 0xFF);
    f[4] = (unsigned char)((header >> 16) & 0xFF);
    memcpy(f + 5, p + 1, (size_t)block);
    return frame;
}

static PyObject *
call_decompress(CompactDecoder *self, PyObject *dctx, PyObject *frame, Py_ssize_t cap)
{
    PyObject *cap_obj = PyLong_FromSsize_t(cap);
    if (cap_obj == NULL)
        return NULL;
    PyObject *argv[3] = {dctx, frame, cap_obj};
    PyObject *out = PyObject_VectorcallMethod(self->method, argv, 2, self->kwnames);
    Py_DECREF(cap_obj);
    return out;
}

static PyObject *
CompactDecoder_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                          PyObject *kwnames)
{
    CompactDecoder *self = (CompactDecoder *)callable;
    if (PyVectorcall_NARGS(nargsf) != 2 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "decode() takes 2 positional arguments: payload, limit");
        return NULL;
    }
    PyObject *payload = args[0], *limit_obj = args[1];
    if (!PyBytes_Check(payload)) {
        PyErr_Format(PyExc_TypeError, "payload must be bytes, not %.100s",
                     Py_TYPE(payload)->tp_name);
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(limit_obj);
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    if (limit < 0) {
        PyErr_SetString(PyExc_ValueError, "limit must be >= 0");
        return NULL;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(payload);
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(payload);
    if (n == 0) {
        PyObject *msg = PyUnicode_FromString("empty zstd payload: expected a window descriptor");
        if (msg != NULL) {
            raise_with(self->truncated, msg);
            Py_DECREF(msg);
        }
        return NULL;
    }
    PyObject *frame = p[0] == ESCAPE ? PyObject_CallOneArg(self->escape, payload)
                                     : rebuild(self, p, n);
    if (frame == NULL)
        return NULL;

    PyObject *dctx;
    Py_ssize_t pooled = PyList_GET_SIZE(self->pool);
    if (self->slot != NULL) {
        dctx = self->slot; /* the slot's reference moves to us */
        self->slot = NULL;
    }
    else if (pooled > 0) {
        dctx = Py_NewRef(PyList_GET_ITEM(self->pool, pooled - 1));
        if (PyList_SetSlice(self->pool, pooled - 1, pooled, NULL) < 0) {
            Py_DECREF(dctx);
            Py_DECREF(frame);
            return NULL;
        }
    }
    else {
        dctx = PyObject_CallNoArgs(self->new_dctx);
        if (dctx == NULL) {
            Py_DECREF(frame);
            return NULL;
        }
    }
    /* max_output_size=0 means "no limit" to python-zstandard: ask for at
     * least one byte and check the length below. */
    Py_ssize_t cap = limit > 0 ? limit : 1, first = cap;
    if (p[0] != ESCAPE) {
        if (cap > BLOCK_MAX)
            cap = BLOCK_MAX;
        first = n < FIRST_GUESS_MIN / FIRST_GUESS_FACTOR ? FIRST_GUESS_MIN : n * FIRST_GUESS_FACTOR;
        if (first > cap)
            first = cap;
    }
    PyObject *out = call_decompress(self, dctx, frame, first);
    if (out == NULL && first < cap && PyErr_ExceptionMatches(self->zstd_error)) {
        PyErr_Clear();
        out = call_decompress(self, dctx, frame, cap);
    }
    /* Give the decompressor back, keeping any error of the call. */
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    int back = 0;
    if (self->slot == NULL)
        self->slot = dctx; /* our reference moves to the slot */
    else {
        back = PyList_Append(self->pool, dctx);
        Py_DECREF(dctx);
    }
    if (back < 0) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        Py_XDECREF(out);
        Py_DECREF(frame);
        return NULL;
    }
    PyErr_Restore(type, value, tb);

    if (out == NULL) {
        if (PyErr_ExceptionMatches(self->zstd_error)) {
            PyErr_Fetch(&type, &value, &tb);
            PyErr_NormalizeException(&type, &value, &tb);
            PyObject *limit_arg = PyLong_FromSsize_t(limit);
            PyObject *exc = limit_arg ? PyObject_CallFunctionObjArgs(self->classify, frame,
                                                                    limit_arg, value, NULL)
                                      : NULL;
            Py_XDECREF(limit_arg);
            if (exc != NULL) {
                PyException_SetCause(exc, Py_NewRef(value));
                PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
                Py_DECREF(exc);
            }
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(tb);
        }
        Py_DECREF(frame);
        return NULL;
    }
    Py_DECREF(frame);
    if (!PyBytes_Check(out) || PyBytes_GET_SIZE(out) > limit) {
        Py_DECREF(out);
        PyObject *limit_arg = PyLong_FromSsize_t(limit);
        if (limit_arg != NULL) {
            raise_with(self->too_big, limit_arg);
            Py_DECREF(limit_arg);
        }
        return NULL;
    }
    return out;
}

static PyTypeObject CompactDecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "auracodec.plugins.zstd._compact.CompactDecoder",
    .tp_basicsize = sizeof(CompactDecoder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(CompactDecoder, vectorcall),
    .tp_doc = "CompactDecoder(new_dctx, escape, classify, errors)(payload, limit) -> bytes",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)CompactDecoder_init,
    .tp_dealloc = (destructor)CompactDecoder_dealloc,
    .tp_traverse = (traverseproc)CompactDecoder_traverse,
    .tp_clear = (inquiry)CompactDecoder_clear,
    .tp_call = PyVectorcall_Call,
};

static struct PyModuleDef compact_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "auracodec.plugins.zstd._compact",
    .m_doc = "Decoding the compact zstd payload, compiled (see _compact.c).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__compact(void)
{
    if (PyType_Ready(&CompactDecoderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&compact_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "CompactDecoder", (PyObject *)&CompactDecoderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
