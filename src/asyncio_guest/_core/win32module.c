/* win32module.c: asyncio_guest._win32, the Python glue around waker-win32.c
 * (Windows only; built by setup.py there).
 *
 *   Win32Waker(callback)
 *       a hidden message-only window on the calling thread; each message the
 *       backend thread posts to it calls callback() on that thread, holding
 *       the GIL.  Given to asyncio_guest._core.Guest as its waker (through
 *       `_ag_waker`, a capsule, as the GLib waker is).
 *
 * A separate extension, like _glib, so that module.c needs no Windows code.
 * This file itself includes no Windows header.  UNTESTED: there is no
 * Windows Python here; `tests/c/run.sh glue` only checks that it compiles
 * against the Python C API (with Linux's Python headers).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>

#include "guest.h"

typedef struct {
  PyTypeObject *waker_type;
} module_state;

typedef struct {
  PyObject_HEAD
  ag_win32_waker_t *w;
  PyObject *callback;
} Win32WakerObject;

/* The one place where a core error becomes a Python exception. */
static PyObject *set_core_error(int err, const char *what) {
  if (err == AG_EWAKER_CLOSED) {
    PyErr_Format(PyExc_RuntimeError, "%s: the waker is closed", what);
  } else {
    errno = -err;
    PyErr_SetFromErrno(PyExc_OSError);
  }
  return NULL;
}

/* Host thread, inside the window procedure: the GIL may or may not be held
 * (a message loop run through ctypes releases it around DispatchMessageW;
 * one run from C may not), and PyGILState_Ensure handles both. */
static void waker_fire(void *data) {
  Win32WakerObject *self;
  PyGILState_STATE gstate;
  PyObject *callback;
  PyObject *res;

  gstate = PyGILState_Ensure();
  self = data;
  Py_INCREF(self);  /* the callback may drop the last other reference */
  callback = Py_XNewRef(self->callback);
  if (callback != NULL) {
    res = PyObject_CallNoArgs(callback);
    if (res == NULL)
      PyErr_WriteUnraisable(callback);  /* never into the message loop */
    Py_XDECREF(res);
    Py_DECREF(callback);
  }
  Py_DECREF(self);
  PyGILState_Release(gstate);
}

static int waker_init(PyObject *op, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"callback", NULL};
  Win32WakerObject *self;
  PyObject *callback;
  int err;

  self = (Win32WakerObject *) op;
  if (self->w != NULL) {
    PyErr_SetString(PyExc_RuntimeError, "Win32Waker is already initialized");
    return -1;
  }
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Win32Waker", kwlist,
                                   &callback))
    return -1;
  if (!PyCallable_Check(callback)) {
    PyErr_Format(PyExc_TypeError,
                 "Win32Waker: callback must be callable, not %s",
                 Py_TYPE(callback)->tp_name);
    return -1;
  }
  self->callback = Py_NewRef(callback);
  err = ag_win32_waker_new(waker_fire, self, &self->w);
  if (err != 0) {
    Py_CLEAR(self->callback);
    set_core_error(err, "Win32Waker");
    return -1;
  }
  return 0;
}

static PyObject *waker_post_soon(PyObject *op, PyObject *Py_UNUSED(a)) {
  Win32WakerObject *self;
  int err;

  self = (Win32WakerObject *) op;
  err = self->w == NULL ? AG_EWAKER_CLOSED : ag_win32_waker_post_soon(self->w);
  if (err != 0)
    return set_core_error(err, "Win32Waker.post_soon");
  Py_RETURN_NONE;
}

static PyObject *waker_close(PyObject *op, PyObject *Py_UNUSED(a)) {
  Win32WakerObject *self;

  self = (Win32WakerObject *) op;
  if (self->w != NULL)
    ag_win32_waker_close(self->w);
  Py_RETURN_NONE;
}

static PyObject *waker_get_capsule(PyObject *op, void *Py_UNUSED(c)) {
  Win32WakerObject *self;

  self = (Win32WakerObject *) op;
  if (self->w == NULL)
    return set_core_error(AG_EWAKER_CLOSED, "Win32Waker._ag_waker");
  return PyCapsule_New(ag_win32_waker_base(self->w), AG_WAKER_CAPSULE, NULL);
}

static PyObject *waker_get_hwnd(PyObject *op, void *Py_UNUSED(c)) {
  Win32WakerObject *self;

  self = (Win32WakerObject *) op;
  if (self->w == NULL)
    return set_core_error(AG_EWAKER_CLOSED, "Win32Waker.hwnd");
  return PyLong_FromSsize_t((Py_ssize_t) ag_win32_waker_hwnd(self->w));
}

static int waker_traverse(PyObject *op, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(op));
  Py_VISIT(((Win32WakerObject *) op)->callback);
  return 0;
}

static int waker_clear(PyObject *op) {
  Win32WakerObject *self;

  self = (Win32WakerObject *) op;
  if (self->w != NULL)
    ag_win32_waker_close(self->w);  /* no message reaches a cleared callback */
  Py_CLEAR(self->callback);
  return 0;
}

static void waker_dealloc(PyObject *op) {
  Win32WakerObject *self;
  PyTypeObject *tp;

  self = (Win32WakerObject *) op;
  tp = Py_TYPE(op);
  PyObject_GC_UnTrack(op);
  (void) waker_clear(op);
  /* A Guest that posts through us holds a reference until its thread is
   * joined: nobody can post any more. */
  if (self->w != NULL)
    ag_win32_waker_free(self->w);
  self->w = NULL;
  tp->tp_free(op);
  Py_DECREF(tp);
}

static PyMethodDef waker_methods[] = {
    {"post_soon", waker_post_soon, METH_NOARGS,
     "post_soon()\n--\n\nHost thread: call the callback once more, after "
     "pending input and paint\nmessages (the guest's time slice ran out)."},
    {"close", waker_close, METH_NOARGS,
     "close()\n--\n\nNo further calls; the window is destroyed. "
     "Idempotent."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef waker_getset[] = {
    {"_ag_waker", waker_get_capsule, NULL,
     "The C waker, as a capsule for asyncio_guest._core.Guest.", NULL},
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
    {Py_tp_dealloc, waker_dealloc},
    {Py_tp_traverse, waker_traverse},
    {Py_tp_clear, waker_clear},
    {Py_tp_methods, waker_methods},
    {Py_tp_getset, waker_getset},
    {0, NULL},
};

static PyType_Spec waker_spec = {
    .name = "asyncio_guest._win32.Win32Waker",
    .basicsize = sizeof(Win32WakerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = waker_slots,
};

static int win32_exec(PyObject *mod) {
  module_state *st;

  st = PyModule_GetState(mod);
  st->waker_type =
      (PyTypeObject *) PyType_FromModuleAndSpec(mod, &waker_spec, NULL);
  if (st->waker_type == NULL)
    return -1;
  return PyModule_AddType(mod, st->waker_type);
}

static int win32_traverse(PyObject *mod, visitproc visit, void *arg) {
  Py_VISIT(((module_state *) PyModule_GetState(mod))->waker_type);
  return 0;
}

static int win32_clear(PyObject *mod) {
  Py_CLEAR(((module_state *) PyModule_GetState(mod))->waker_type);
  return 0;
}

static void win32_free(void *mod) {
  (void) win32_clear((PyObject *) mod);
}

static PyModuleDef_Slot win32_slots[] = {
    {Py_mod_exec, win32_exec},
    {0, NULL},
};

static struct PyModuleDef win32_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "asyncio_guest._win32",
    .m_doc = "The native Win32 waker of asyncio_guest (waker-win32.c).",
    .m_size = sizeof(module_state),
    .m_slots = win32_slots,
    .m_traverse = win32_traverse,
    .m_clear = win32_clear,
    .m_free = win32_free,
};

PyMODINIT_FUNC PyInit__win32(void) {
  return PyModuleDef_Init(&win32_module);
}
