/* auracodec.core._speedups: the per-message hot paths, compiled.
 *
 *   Recorder(counts, reservoir=RESERVOIR).add(slot, size_in, size_out, ns)
 *       Adds one message to a stats slot. `counts` is an array('q') of
 *       4 int64 per slot: messages, bytes in, bytes out, expansions
 *       (size_out > size_in), pinned while the Recorder lives. The latencies
 *       of the last `reservoir` messages per slot (a power of two) are kept in
 *       a ring the Recorder owns, allocated at a slot's first message and
 *       doubled as it fills (RING_START entries first, at most `reservoir`):
 *       a slot that never saw a message costs nothing, so an idle session's
 *       stats are only its counters. Message k goes to position k mod the
 *       ring's size; if a ring cannot grow (out of memory) it stays at its
 *       size and keeps that many latest samples. .recent(slot) -> list of the
 *       kept latencies (in ring order); .clear() frees the rings. One C call
 *       holds the GIL throughout, so concurrent callers never lose an update
 *       and no lock is needed.
 *
 *   FrameDecoder(entries, slots, limit, recorder, errors, decode_error,
 *                failed, observe)
 *       The decode core of auracodec: every pipeline and session decodes
 *       through one (core/wire.py builds them). .decode_bytes(frame) -> bytes
 *       and .decode(frame) -> str (and their *_at(frame, skip) forms, whose
 *       inner frame starts at `skip`, for sessions) do, in order:
 *         split   the frame is bytes, bytearray or memoryview (anything else
 *                 is a TypeError); the inner frame starts at `skip` (a
 *                 session's prefix); empty -> errors.empty()
 *         dispatch  entries[method id](payload, limit); no entry ->
 *                 errors.unknown(id); a DecodeError passes through; any other
 *                 Exception (or SystemExit) -> errors.fault(id, exc), chained;
 *                 a result that is not bytes -> errors.fault(id, result)
 *         bound   more than `limit` bytes -> errors.too_big()
 *         text    (.decode only) not UTF-8 -> errors.invalid_utf8(exc)
 *         record  the recorder's slot for the id: len(frame), len(message)
 *         observe observe(id, message, len(frame), ns), when not None
 *       On any error, failed(exc, len(frame)) is called before it propagates
 *       (stats, failure observers, a session stopping), so every frame gives
 *       exactly one success or one failure.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <time.h>

#define RESERVOIR 4096
#define RING_START 16
#define RESERVOIR_MAX (1 << 20)
#define NO_SLOT 255

static inline int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A writable, contiguous array('q') (or any int64 buffer) of at least `need`
 * items. The buffer is kept (and the array pinned) while `view` lives. */
static int
get_int64_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t need, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (view->itemsize != 8 || view->format == NULL
        || (strcmp(view->format, "q") != 0 && strcmp(view->format, "l") != 0)
        || view->len / 8 < need) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "%s must be an array('q') of at least %zd items",
                     what, need);
        return -1;
    }
    return 0;
}

/* -- Recorder ------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    Py_buffer counts;
    Py_ssize_t nslots;
    int64_t reservoir; /* a power of two */
    int64_t **rings;   /* per slot; NULL until the slot's first message */
    int64_t *sizes;    /* per slot: entries in its ring (0, or a power of two) */
    uint8_t *stuck;    /* per slot: a growth failed, the ring keeps its size */
    int have_buffers;
} Recorder;

static void
Recorder_free_rings(Recorder *self)
{
    if (self->rings != NULL)
        for (Py_ssize_t i = 0; i < self->nslots; i++) {
            PyMem_Free(self->rings[i]);
            self->rings[i] = NULL;
            self->sizes[i] = 0;
            self->stuck[i] = 0;
        }
}

/* Called with the GIL held (PyMem_* need it, and it makes the update atomic). */
static inline void
record_into(Recorder *self, int slot, int64_t in, int64_t out, int64_t ns)
{
    int64_t *c = (int64_t *)self->counts.buf + 4 * (Py_ssize_t)slot;
    int64_t k = c[0], size = self->sizes[slot];
    if (k >= size && size < self->reservoir && !self->stuck[slot]) {
        int64_t want = size ? 2 * size : RING_START;
        if (want > self->reservoir)
            want = self->reservoir;
        int64_t *ring = PyMem_Realloc(self->rings[slot], (size_t)want * sizeof(int64_t));
        if (ring != NULL) {
            self->rings[slot] = ring;
            self->sizes[slot] = size = want;
        }
        else {
            self->stuck[slot] = 1; /* keeps the latest `size` samples from now on */
        }
    }
    if (size)
        self->rings[slot][k & (size - 1)] = ns;
    c[0] = k + 1;
    c[1] += in;
    c[2] += out;
    c[3] += out > in;
}

static void
Recorder_dealloc(Recorder *self)
{
    if (self->have_buffers) {
        Recorder_free_rings(self);
        PyBuffer_Release(&self->counts);
    }
    PyMem_Free(self->rings);
    PyMem_Free(self->sizes);
    PyMem_Free(self->stuck);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
Recorder_init(Recorder *self, PyObject *args, PyObject *kwds)
{
    PyObject *counts;
    Py_ssize_t reservoir = RESERVOIR;
    static char *kwlist[] = {"counts", "reservoir", NULL};
    if (self->have_buffers) {
        PyErr_SetString(PyExc_RuntimeError, "Recorder is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|n", kwlist, &counts, &reservoir))
        return -1;
    if (reservoir < 1 || reservoir > RESERVOIR_MAX || (reservoir & (reservoir - 1)) != 0) {
        PyErr_Format(PyExc_ValueError,
                     "reservoir must be a power of two from 1 to %d, got %zd", RESERVOIR_MAX,
                     reservoir);
        return -1;
    }
    if (get_int64_buffer(counts, &self->counts, 0, "counts") < 0)
        return -1;
    self->nslots = self->counts.len / 8 / 4;
    if (self->nslots > NO_SLOT)
        self->nslots = NO_SLOT;
    Py_ssize_t n = self->nslots ? self->nslots : 1;
    self->rings = PyMem_Calloc((size_t)n, sizeof(int64_t *));
    self->sizes = PyMem_Calloc((size_t)n, sizeof(int64_t));
    self->stuck = PyMem_Calloc((size_t)n, 1);
    if (self->rings == NULL || self->sizes == NULL || self->stuck == NULL) {
        PyBuffer_Release(&self->counts);
        PyErr_NoMemory();
        return -1;
    }
    self->reservoir = reservoir;
    self->have_buffers = 1;
    return 0;
}

static Py_ssize_t
Recorder_slot(Recorder *self, PyObject *arg)
{
    Py_ssize_t slot = PyLong_AsSsize_t(arg);
    if (slot == -1 && PyErr_Occurred())
        return -1;
    if (!self->have_buffers || slot < 0 || slot >= self->nslots) {
        PyErr_SetString(PyExc_ValueError, "no such slot");
        return -1;
    }
    return slot;
}

static PyObject *
Recorder_add(Recorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "add() takes 4 arguments: slot, size_in, size_out, ns");
        return NULL;
    }
    Py_ssize_t slot = Recorder_slot(self, args[0]);
    if (slot < 0)
        return NULL;
    long long in = PyLong_AsLongLong(args[1]);
    long long out = PyLong_AsLongLong(args[2]);
    long long ns = PyLong_AsLongLong(args[3]);
    if (PyErr_Occurred())
        return NULL;
    record_into(self, (int)slot, in, out, ns);
    Py_RETURN_NONE;
}

static PyObject *
Recorder_recent(Recorder *self, PyObject *arg)
{
    Py_ssize_t slot = Recorder_slot(self, arg);
    if (slot < 0)
        return NULL;
    int64_t k = ((int64_t *)self->counts.buf)[4 * slot], size = self->sizes[slot];
    Py_ssize_t n = (Py_ssize_t)(k < size ? (k > 0 ? k : 0) : size);
    PyObject *list = PyList_New(n);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLongLong(self->rings[slot][i]);
        if (v == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, v);
    }
    return list;
}

static PyObject *
Recorder_clear(Recorder *self, PyObject *Py_UNUSED(ignored))
{
    if (self->have_buffers)
        Recorder_free_rings(self);
    Py_RETURN_NONE;
}

static PyObject *
Recorder_get_reservoir(Recorder *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLongLong(self->reservoir);
}

static PyObject *
Recorder_get_ring_bytes(Recorder *self, void *Py_UNUSED(closure))
{
    int64_t total = 0;
    if (self->have_buffers)
        for (Py_ssize_t i = 0; i < self->nslots; i++)
            total += self->sizes[i] * (int64_t)sizeof(int64_t);
    return PyLong_FromLongLong(total);
}

static PyGetSetDef Recorder_getset[] = {
    {"reservoir", (getter)Recorder_get_reservoir, NULL, "latencies kept per slot, at most", NULL},
    {"ring_bytes", (getter)Recorder_get_ring_bytes, NULL, "bytes the rings hold now", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Recorder_methods[] = {
    {"add", (PyCFunction)(void (*)(void))Recorder_add, METH_FASTCALL,
     "add(slot, size_in, size_out, ns): add one message to a stats slot."},
    {"recent", (PyCFunction)Recorder_recent, METH_O,
     "recent(slot): the latencies kept for a slot (ns), in ring order."},
    {"clear", (PyCFunction)Recorder_clear, METH_NOARGS,
     "clear(): forget every kept latency and free the rings."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RecorderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "auracodec.core._speedups.Recorder",
    .tp_basicsize = sizeof(Recorder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Adds messages to stats arrays; see the module docstring.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Recorder_init,
    .tp_dealloc = (destructor)Recorder_dealloc,
    .tp_methods = Recorder_methods,
    .tp_getset = Recorder_getset,
};

/* -- FrameDecoder ------------------------------------------------------- */

enum { ERR_EMPTY, ERR_UNKNOWN, ERR_TOO_BIG, ERR_UTF8, ERR_FAULT, ERR_COUNT };

typedef struct {
    PyObject_HEAD
    PyObject *entries[256]; /* decode callables; NULL where no codec */
    uint8_t slot[256];      /* stats slot per method id */
    Py_ssize_t limit;
    PyObject *limit_obj;
    PyObject *errors[ERR_COUNT];
    PyObject *decode_error; /* the DecodeError class */
    PyObject *failed;       /* failed(exc, frame_size) */
    PyObject *observe;      /* observe(id, message, frame_size, ns), or NULL */
    Recorder *recorder;
} FrameDecoder;

static int
FrameDecoder_traverse(FrameDecoder *self, visitproc visit, void *arg)
{
    for (int i = 0; i < 256; i++)
        Py_VISIT(self->entries[i]);
    for (int i = 0; i < ERR_COUNT; i++)
        Py_VISIT(self->errors[i]);
    Py_VISIT(self->limit_obj);
    Py_VISIT(self->decode_error);
    Py_VISIT(self->failed);
    Py_VISIT(self->observe);
    Py_VISIT(self->recorder);
    return 0;
}

static int
FrameDecoder_clear(FrameDecoder *self)
{
    for (int i = 0; i < 256; i++)
        Py_CLEAR(self->entries[i]);
    for (int i = 0; i < ERR_COUNT; i++)
        Py_CLEAR(self->errors[i]);
    Py_CLEAR(self->limit_obj);
    Py_CLEAR(self->decode_error);
    Py_CLEAR(self->failed);
    Py_CLEAR(self->observe);
    Py_CLEAR(self->recorder);
    return 0;
}

static void
FrameDecoder_dealloc(FrameDecoder *self)
{
    PyObject_GC_UnTrack(self);
    FrameDecoder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
FrameDecoder_init(FrameDecoder *self, PyObject *args, PyObject *kwds)
{
    PyObject *entries, *slots, *errors, *decode_error, *failed, *observe;
    Recorder *recorder;
    Py_ssize_t limit;
    static char *kwlist[] = {"entries", "slots",  "limit",  "recorder",
                             "errors",  "decode_error", "failed", "observe", NULL};
    if (self->recorder != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "FrameDecoder is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOnO!OOOO", kwlist, &entries, &slots, &limit,
                                     &RecorderType, &recorder, &errors, &decode_error, &failed,
                                     &observe))
        return -1;
    if (!recorder->have_buffers) {
        PyErr_SetString(PyExc_ValueError, "recorder is not initialised");
        return -1;
    }
    if (!PyList_Check(entries) || PyList_GET_SIZE(entries) != 256 || !PyList_Check(slots)
        || PyList_GET_SIZE(slots) != 256) {
        PyErr_SetString(PyExc_TypeError, "entries and slots must be lists of 256 items");
        return -1;
    }
    if (!PyTuple_Check(errors) || PyTuple_GET_SIZE(errors) != ERR_COUNT) {
        PyErr_SetString(PyExc_TypeError, "errors must be a tuple of 5 callables");
        return -1;
    }
    if (!PyType_Check(decode_error)
        || !PyType_IsSubtype((PyTypeObject *)decode_error, (PyTypeObject *)PyExc_Exception)) {
        PyErr_SetString(PyExc_TypeError, "decode_error must be an exception class");
        return -1;
    }
    if (!PyCallable_Check(failed) || (observe != Py_None && !PyCallable_Check(observe))) {
        PyErr_SetString(PyExc_TypeError, "failed must be callable, observe callable or None");
        return -1;
    }
    if (limit < 0) {
        PyErr_SetString(PyExc_ValueError, "limit must be >= 0");
        return -1;
    }
    for (int i = 0; i < 256; i++) {
        PyObject *e = PyList_GET_ITEM(entries, i);
        Py_ssize_t s = PyLong_AsSsize_t(PyList_GET_ITEM(slots, i));
        if (s == -1 && PyErr_Occurred())
            return -1;
        if (s < 0 || s > NO_SLOT) {
            PyErr_SetString(PyExc_ValueError, "slots must be 0-254, or 255 for none");
            return -1;
        }
        self->slot[i] = (uint8_t)s;
        if (e != Py_None) {
            if (!PyCallable_Check(e) || s >= recorder->nslots) {
                PyErr_SetString(PyExc_TypeError,
                                "every entry is a callable with a slot of the recorder, or None");
                return -1;
            }
            Py_INCREF(e);
            Py_XSETREF(self->entries[i], e);
        }
    }
    for (int i = 0; i < ERR_COUNT; i++) {
        PyObject *f = PyTuple_GET_ITEM(errors, i);
        Py_INCREF(f);
        Py_XSETREF(self->errors[i], f);
    }
    Py_INCREF(decode_error);
    self->decode_error = decode_error;
    Py_INCREF(failed);
    self->failed = failed;
    if (observe != Py_None) {
        Py_INCREF(observe);
        self->observe = observe;
    }
    Py_INCREF(recorder);
    self->recorder = recorder;
    self->limit = limit;
    Py_XSETREF(self->limit_obj, PyLong_FromSsize_t(limit));
    return self->limit_obj ? 0 : -1;
}

/* Raise the exception a Python factory builds, from up to two arguments.
 * Returns NULL. */
static PyObject *
raise_from_factory(PyObject *factory, PyObject *a, PyObject *b)
{
    PyObject *exc;
    if (b != NULL)
        exc = PyObject_CallFunctionObjArgs(factory, a, b, NULL);
    else if (a != NULL)
        exc = PyObject_CallOneArg(factory, a);
    else
        exc = PyObject_CallNoArgs(factory);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* The pending exception, normalised, with its traceback attached; the error
 * indicator is cleared. NULL if there was none. */
static PyObject *
fetch_exception(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

/* Tell the Python side a decode failed (stats, observers, sessions); the
 * error stays set. Returns NULL. */
static PyObject *
report_failure(FrameDecoder *self, Py_ssize_t frame_size)
{
    PyObject *exc = fetch_exception();
    if (exc == NULL)
        return NULL;
    PyObject *size = PyLong_FromSsize_t(frame_size);
    PyObject *r = NULL;
    if (size != NULL)
        r = PyObject_CallFunctionObjArgs(self->failed, exc, size, NULL);
    Py_XDECREF(size);
    if (r == NULL) {
        /* The reporter itself failed (a bug of ours): its error replaces ours,
         * chained to it. */
        PyObject *mine = fetch_exception();
        if (mine != NULL) {
            PyException_SetContext(mine, exc); /* steals exc */
            PyErr_SetObject((PyObject *)Py_TYPE(mine), mine);
            Py_DECREF(mine);
        }
        else
            Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(r);
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

/* A plugin's decoder raised: a DecodeError passes, any other Exception or
 * SystemExit becomes errors.fault(id, exc), and anything else (KeyboardInterrupt,
 * a cancellation) propagates untouched. */
static void
contain_fault(FrameDecoder *self, PyObject *id)
{
    if (PyErr_ExceptionMatches(self->decode_error))
        return;
    if (!PyErr_ExceptionMatches(PyExc_Exception) && !PyErr_ExceptionMatches(PyExc_SystemExit))
        return;
    PyObject *cause = fetch_exception();
    if (cause == NULL)
        return;
    raise_from_factory(self->errors[ERR_FAULT], id, cause);
    Py_DECREF(cause);
}

/* The frame as a bytes object (a new reference), or NULL with TypeError. */
static PyObject *
as_frame_bytes(PyObject *frame)
{
    if (PyBytes_CheckExact(frame)) {
        Py_INCREF(frame);
        return frame;
    }
    if (PyByteArray_Check(frame) || PyMemoryView_Check(frame) || PyBytes_Check(frame))
        return PyBytes_FromObject(frame);
    PyErr_Format(PyExc_TypeError, "a frame is bytes, bytearray or memoryview, not %.100s",
                 Py_TYPE(frame)->tp_name);
    return NULL;
}

static PyObject *
decode_frame(FrameDecoder *self, PyObject *frame_obj, Py_ssize_t skip, int text)
{
    PyObject *frame = as_frame_bytes(frame_obj);
    if (frame == NULL)
        return NULL;
    int64_t start = now_ns();
    Py_ssize_t size = PyBytes_GET_SIZE(frame);
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(frame);
    PyObject *out = NULL, *text_out = NULL, *id = NULL, *result = NULL;
    if (size <= skip) {
        raise_from_factory(self->errors[ERR_EMPTY], NULL, NULL);
        goto fail;
    }
    unsigned char method = data[skip];
    id = PyLong_FromLong(method);
    if (id == NULL)
        goto done;
    PyObject *entry = self->entries[method];
    if (entry == NULL) {
        raise_from_factory(self->errors[ERR_UNKNOWN], id, NULL);
        goto fail;
    }
    PyObject *payload =
        PyBytes_FromStringAndSize((const char *)data + skip + 1, size - skip - 1);
    if (payload == NULL)
        goto done;
    PyObject *argv[2] = {payload, self->limit_obj};
    out = PyObject_Vectorcall(entry, argv, 2, NULL);
    Py_DECREF(payload);
    if (out == NULL) {
        contain_fault(self, id);
        goto fail;
    }
    if (!PyBytes_CheckExact(out)) {
        raise_from_factory(self->errors[ERR_FAULT], id, out);
        goto fail;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(out);
    if (n > self->limit) { /* a codec that breaks its contract */
        raise_from_factory(self->errors[ERR_TOO_BIG], NULL, NULL);
        goto fail;
    }
    if (text) {
        text_out = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(out), n, NULL);
        if (text_out == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
                goto done;
            PyObject *exc = fetch_exception();
            raise_from_factory(self->errors[ERR_UTF8], exc, NULL);
            Py_XDECREF(exc);
            goto fail;
        }
    }
    int64_t elapsed = now_ns() - start;
    record_into(self->recorder, self->slot[method], size, n, elapsed);
    if (self->observe != NULL) {
        PyObject *fsize = PyLong_FromSsize_t(size);
        PyObject *ns = PyLong_FromLongLong(elapsed);
        PyObject *r = NULL;
        if (fsize != NULL && ns != NULL)
            r = PyObject_CallFunctionObjArgs(self->observe, id, out, fsize, ns, NULL);
        Py_XDECREF(fsize);
        Py_XDECREF(ns);
        if (r == NULL)
            goto done; /* the observer caller contains plugins; this is ours */
        Py_DECREF(r);
    }
    if (text) {
        result = text_out;
        text_out = NULL;
    }
    else {
        result = out;
        out = NULL;
    }
    goto done;
fail:
    report_failure(self, size);
done:
    Py_XDECREF(id);
    Py_XDECREF(out);
    Py_XDECREF(text_out);
    Py_DECREF(frame);
    return result;
}

static PyObject *
FrameDecoder_decode_bytes(FrameDecoder *self, PyObject *frame)
{
    return decode_frame(self, frame, 0, 0);
}

static PyObject *
FrameDecoder_decode(FrameDecoder *self, PyObject *frame)
{
    return decode_frame(self, frame, 0, 1);
}

/* (frame, skip): the inner frame starts at `skip`, after a session's prefix. */
static int
parse_at(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t *skip)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "takes a frame and where its inner frame starts");
        return -1;
    }
    *skip = PyLong_AsSsize_t(args[1]);
    if (*skip == -1 && PyErr_Occurred())
        return -1;
    if (*skip < 0) {
        PyErr_SetString(PyExc_ValueError, "skip must be >= 0");
        return -1;
    }
    return 0;
}

static PyObject *
FrameDecoder_decode_bytes_at(FrameDecoder *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t skip;
    return parse_at(args, nargs, &skip) < 0 ? NULL : decode_frame(self, args[0], skip, 0);
}

static PyObject *
FrameDecoder_decode_at(FrameDecoder *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t skip;
    return parse_at(args, nargs, &skip) < 0 ? NULL : decode_frame(self, args[0], skip, 1);
}

static PyMethodDef FrameDecoder_methods[] = {
    {"decode_bytes", (PyCFunction)FrameDecoder_decode_bytes, METH_O,
     "decode_bytes(frame) -> bytes: decode one frame."},
    {"decode", (PyCFunction)FrameDecoder_decode, METH_O,
     "decode(frame) -> str: decode one frame into UTF-8 text."},
    {"decode_bytes_at", (PyCFunction)(void (*)(void))FrameDecoder_decode_bytes_at, METH_FASTCALL,
     "decode_bytes_at(frame, skip) -> bytes: decode the inner frame at frame[skip:]."},
    {"decode_at", (PyCFunction)(void (*)(void))FrameDecoder_decode_at, METH_FASTCALL,
     "decode_at(frame, skip) -> str: decode the inner frame at frame[skip:] into text."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject FrameDecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "auracodec.core._speedups.FrameDecoder",
    .tp_basicsize = sizeof(FrameDecoder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The decode core of every pipeline and session; see the module docstring.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)FrameDecoder_init,
    .tp_dealloc = (destructor)FrameDecoder_dealloc,
    .tp_traverse = (traverseproc)FrameDecoder_traverse,
    .tp_clear = (inquiry)FrameDecoder_clear,
    .tp_methods = FrameDecoder_methods,
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "auracodec.core._speedups",
    .m_doc = "The per-message hot paths, compiled (see _speedups.c).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&RecorderType) < 0 || PyType_Ready(&FrameDecoderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&speedups_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "RESERVOIR", RESERVOIR) < 0
        || PyModule_AddObjectRef(m, "Recorder", (PyObject *)&RecorderType) < 0
        || PyModule_AddObjectRef(m, "FrameDecoder", (PyObject *)&FrameDecoderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
