/* win32module.c: asyncio_guest._win32, the Python glue around waker-win32.c
 * (Windows only; built by setup.py there).
 *
 *   Win32Waker(callback)
 *       a hidden message-only window on the calling thread; each message the
 *       backend thread posts to it calls callback() on that thread, holding
 *       the GIL.  Given to asyncio_guest._core.Guest.threaded as its waker
 *       (through `_ag_waker`, a capsule, as the GLib waker is).
 *
 * The object and its shared methods are the native wakers' skeleton
 * (glue.h); errors become exceptions in glue.c's ag_py_error.
 *
 * A separate extension, like _glib, so that module.c needs no Windows code.
 * This file itself includes no Windows header.  UNTESTED: there is no
 * Windows Python here; `tests/c/run.sh wine` only checks that it compiles
 * (with glue.c) against the Python C API, with Linux's Python headers.
 */
#include "glue.h"

/* The ops of the shared skeleton (glue.h). */
static ag_waker_t *ops_waker(void *w) {
  return ag_win32_waker_base(w);
}

static int ops_post_soon(void *w) {
  return ag_win32_waker_post_soon(w);
}

static void ops_close(void *w) {
  ag_win32_waker_close(w);
}

static void ops_free(void *w) {
  ag_win32_waker_free(w);
}

static const ag_py_native_ops_t win32_ops = {
    .name = "Win32Waker",
    .waker = ops_waker,
    .watcher = NULL,  /* no threadless mode */
    .is_home = NULL,  /* PostMessageW from any thread; a close from another
                         thread has the window procedure destroy it */
    .post_soon = ops_post_soon,
    .close = ops_close,
    .free = ops_free,
};

static int waker_init(PyObject *op, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"callback", NULL};
  ag_py_native_t *self;
  ag_win32_waker_t *w;
  PyObject *callback;
  int err;

  self = (ag_py_native_t *) op;
  if (ag_py_native_check_new(self) < 0)
    return -1;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Win32Waker", kwlist,
                                   &callback))
    return -1;
  if (!PyCallable_Check(callback)) {
    PyErr_Format(PyExc_TypeError,
                 "Win32Waker: callback must be callable, not %s",
                 Py_TYPE(callback)->tp_name);
    return -1;
  }
  Py_XSETREF(self->callback, Py_NewRef(callback));
  self->ops = &win32_ops;
  err = ag_win32_waker_new(ag_py_native_fire, self, &w);
  if (err != 0) {
    Py_CLEAR(self->callback);
    ag_py_error(err, "Win32Waker");
    return -1;
  }
  self->w = w;
  return 0;
}

static PyObject *waker_get_hwnd(PyObject *op, void *Py_UNUSED(c)) {
  ag_py_native_t *self;

  self = (ag_py_native_t *) op;
  if (self->w == NULL)
    return ag_py_error(AG_EWAKER_CLOSED, "Win32Waker.hwnd");
  return PyLong_FromSsize_t((Py_ssize_t) ag_win32_waker_hwnd(self->w));
}

static PyMethodDef waker_methods[] = {
    AG_PY_NATIVE_METHODS(
        "post_soon()\n--\n\nHost thread: call the callback once more, "
        "after pending input and paint\nmessages (the guest's time slice "
        "ran out).",
        "close()\n--\n\nNo further calls; the window is destroyed. "
        "Idempotent."),
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef waker_getset[] = {
    AG_PY_NATIVE_WAKER_GETSET,
    {"hwnd", waker_get_hwnd, NULL, "The message-only window (an HWND).",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot waker_slots[] = {
    {Py_tp_doc,
     "Win32Waker(callback)\n--\n\n"
     "Native Win32 waker: a hidden message-only window on this thread.  The\n"
     "backend thread posts a message to it (no GIL); whatever message loop\n"
     "dispatches this thread's messages then calls callback() here.\n"
     "post_soon() does the same from this thread, after pending input."},
    {Py_tp_init, waker_init},
    AG_PY_NATIVE_SLOTS,
    {Py_tp_methods, waker_methods},
    {Py_tp_getset, waker_getset},
    {0, NULL},
};

static PyType_Spec waker_spec = {
    .name = "asyncio_guest._win32.Win32Waker",
    .basicsize = sizeof(ag_py_native_t),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = waker_slots,
};

static int win32_exec(PyObject *mod) {
  return ag_py_waker_module_exec(mod, &waker_spec);
}

static PyModuleDef_Slot win32_slots[] = {
    {Py_mod_exec, win32_exec},
    {0, NULL},
};

static struct PyModuleDef win32_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "asyncio_guest._win32",
    .m_doc = "The native Win32 waker of asyncio_guest (waker-win32.c).",
    .m_size = sizeof(ag_py_waker_module_state),
    .m_slots = win32_slots,
    .m_traverse = ag_py_waker_module_traverse,
    .m_clear = ag_py_waker_module_clear,
    .m_free = ag_py_waker_module_free,
};

PyMODINIT_FUNC PyInit__win32(void) {
  return PyModuleDef_Init(&win32_module);
}
