/* glibmodule.c: asyncio_guest._glib, the Python glue around waker-glib.c.
 *
 * A separate extension so that only GLib programs load libglib: it is built
 * when pkg-config finds glib-2.0 (see setup.py), and asyncio_guest.gtk falls
 * back to a waker written in Python without it.
 *
 *   GLibWaker(callback, priority=0, busy_priority=200, *, fds=None)
 *       posts to the calling thread's thread-default GMainContext; each
 *       dispatch calls callback() on that thread, holding the GIL.  Given to
 *       asyncio_guest._core.Guest as its waker (through `_ag_waker`), or,
 *       made with fds, as its threadless watcher (`_ag_watcher`).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <limits.h>

#include "guest.h"

typedef struct {
  PyTypeObject *waker_type;
} module_state;

typedef struct {
  PyObject_HEAD
  ag_glib_waker_t *w;
  PyObject *callback;
} GLibWakerObject;

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

/* Host thread, inside GLib's dispatch: the GIL may or may not be held (a
 * binding that iterates the context from Python releases it; C code may
 * not), and PyGILState_Ensure handles both. */
static void waker_fire(void *data) {
  GLibWakerObject *self;
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
      PyErr_WriteUnraisable(callback);  /* never into GLib */
    Py_XDECREF(res);
    Py_DECREF(callback);
  }
  Py_DECREF(self);
  PyGILState_Release(gstate);
}

static int waker_init(PyObject *op, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"callback", "priority", "busy_priority", "fds",
                           NULL};
  GLibWakerObject *self;
  PyObject *callback;
  PyObject *fds_obj;
  PyObject *seq;
  int fds[2];
  int nfds;
  int priority;
  int busy_priority;
  int err;

  self = (GLibWakerObject *) op;
  priority = AG_GLIB_PRIORITY_DEFAULT;
  busy_priority = AG_GLIB_PRIORITY_DEFAULT_IDLE;
  if (self->w != NULL) {
    PyErr_SetString(PyExc_RuntimeError, "GLibWaker is already initialized");
    return -1;
  }
  fds_obj = Py_None;
  nfds = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|ii$O:GLibWaker", kwlist,
                                   &callback, &priority, &busy_priority,
                                   &fds_obj))
    return -1;
  if (fds_obj != Py_None) {
    seq = PySequence_Fast(fds_obj, "GLibWaker: fds must be a sequence");
    if (seq == NULL)
      return -1;
    nfds = (int) PySequence_Fast_GET_SIZE(seq);
    if (nfds < 1 || nfds > 2) {
      Py_DECREF(seq);
      PyErr_SetString(PyExc_ValueError, "GLibWaker: fds must hold 1 or 2 fds");
      return -1;
    }
    for (int i = 0; i < nfds; i++) {
      long fd = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
      if (fd == -1 && PyErr_Occurred()) {
        Py_DECREF(seq);
        return -1;
      }
      if (fd < 0 || fd > INT_MAX) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "GLibWaker: bad fd %ld", fd);
        return -1;
      }
      fds[i] = (int) fd;
    }
    Py_DECREF(seq);
  }
  if (!PyCallable_Check(callback)) {
    PyErr_Format(PyExc_TypeError, "GLibWaker: callback must be callable, not %s",
                 Py_TYPE(callback)->tp_name);
    return -1;
  }
  self->callback = Py_NewRef(callback);
  err = nfds == 0
            ? ag_glib_waker_new(priority, busy_priority, waker_fire, self,
                                &self->w)
            : ag_glib_watcher_new(priority, busy_priority, fds, nfds,
                                  waker_fire, self, &self->w);
  if (err != 0) {
    Py_CLEAR(self->callback);
    set_core_error(err, "GLibWaker");
    return -1;
  }
  return 0;
}

static PyObject *waker_post_soon(PyObject *op, PyObject *Py_UNUSED(a)) {
  GLibWakerObject *self;
  int err;

  self = (GLibWakerObject *) op;
  err = self->w == NULL ? AG_EWAKER_CLOSED : ag_glib_waker_post_soon(self->w);
  if (err != 0)
    return set_core_error(err, "GLibWaker.post_soon");
  Py_RETURN_NONE;
}

static PyObject *waker_close(PyObject *op, PyObject *Py_UNUSED(a)) {
  GLibWakerObject *self;

  self = (GLibWakerObject *) op;
  if (self->w != NULL)
    ag_glib_waker_close(self->w);
  Py_RETURN_NONE;
}

static PyObject *waker_get_capsule(PyObject *op, void *Py_UNUSED(c)) {
  GLibWakerObject *self;
  ag_waker_t *base;

  self = (GLibWakerObject *) op;
  if (self->w == NULL)
    return set_core_error(AG_EWAKER_CLOSED, "GLibWaker._ag_waker");
  base = ag_glib_waker_base(self->w);
  if (base == NULL) {
    PyErr_SetString(PyExc_AttributeError,
                    "a threadless GLibWaker has no _ag_waker");
    return NULL;
  }
  return PyCapsule_New(base, AG_WAKER_CAPSULE, NULL);
}

static PyObject *waker_get_watcher(PyObject *op, void *Py_UNUSED(c)) {
  GLibWakerObject *self;
  ag_watcher_t *base;

  self = (GLibWakerObject *) op;
  if (self->w == NULL)
    return set_core_error(AG_EWAKER_CLOSED, "GLibWaker._ag_watcher");
  base = ag_glib_watcher_base(self->w);
  if (base == NULL) {
    PyErr_SetString(PyExc_AttributeError,
                    "GLibWaker without fds has no _ag_watcher");
    return NULL;
  }
  return PyCapsule_New(base, AG_WATCHER_CAPSULE, NULL);
}

static PyObject *waker_get_threadless(PyObject *op, void *Py_UNUSED(c)) {
  GLibWakerObject *self;

  self = (GLibWakerObject *) op;
  return PyBool_FromLong(self->w != NULL &&
                         ag_glib_watcher_base(self->w) != NULL);
}

static PyObject *waker_get_context(PyObject *op, void *Py_UNUSED(c)) {
  GLibWakerObject *self;

  self = (GLibWakerObject *) op;
  if (self->w == NULL)
    return set_core_error(AG_EWAKER_CLOSED, "GLibWaker.context_address");
  return PyLong_FromVoidPtr(ag_glib_waker_context(self->w));
}

static int waker_traverse(PyObject *op, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(op));
  Py_VISIT(((GLibWakerObject *) op)->callback);
  return 0;
}

static int waker_clear(PyObject *op) {
  GLibWakerObject *self;

  self = (GLibWakerObject *) op;
  if (self->w != NULL)
    ag_glib_waker_close(self->w);  /* no dispatch reaches a cleared callback */
  Py_CLEAR(self->callback);
  return 0;
}

static void waker_dealloc(PyObject *op) {
  GLibWakerObject *self;
  PyTypeObject *tp;

  self = (GLibWakerObject *) op;
  tp = Py_TYPE(op);
  PyObject_GC_UnTrack(op);
  (void) waker_clear(op);
  /* A Guest that posts through us holds a reference until its thread is
   * joined: nobody can post any more. */
  if (self->w != NULL)
    ag_glib_waker_free(self->w);
  self->w = NULL;
  tp->tp_free(op);
  Py_DECREF(tp);
}

static PyMethodDef waker_methods[] = {
    {"post_soon", waker_post_soon, METH_NOARGS,
     "post_soon()\n--\n\nHost thread: dispatch the callback once, at "
     "busy_priority."},
    {"close", waker_close, METH_NOARGS,
     "close()\n--\n\nNo further dispatches; the sources leave the context. "
     "Idempotent."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef waker_getset[] = {
    {"_ag_waker", waker_get_capsule, NULL,
     "The C waker, as a capsule for asyncio_guest._core.Guest.", NULL},
    {"_ag_watcher", waker_get_watcher, NULL,
     "The C watcher (threadless), as a capsule for _core.Guest.", NULL},
    {"threadless", waker_get_threadless, NULL,
     "True if made with fds: the host's poll watches them (no thread).",
     NULL},
    {"context_address", waker_get_context, NULL,
     "Address of the GMainContext the waker posts to.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot waker_slots[] = {
    {Py_tp_doc,
     "GLibWaker(callback, priority=0, busy_priority=200, *, fds=None)\n"
     "--\n\n"
     "Native GLib waker: the backend thread makes a persistent GSource on\n"
     "this thread's thread-default GMainContext ready (no GIL); its\n"
     "dispatch calls callback() on that thread.  post_soon() does the same\n"
     "from the host thread at busy_priority.\n"
     "With fds (the backend fd, and the signal fd): threadless mode; the\n"
     "source watches them in GLib's own poll and Guest drives it through\n"
     "_ag_watcher."},
    {Py_tp_init, waker_init},
    {Py_tp_dealloc, waker_dealloc},
    {Py_tp_traverse, waker_traverse},
    {Py_tp_clear, waker_clear},
    {Py_tp_methods, waker_methods},
    {Py_tp_getset, waker_getset},
    {0, NULL},
};

static PyType_Spec waker_spec = {
    .name = "asyncio_guest._glib.GLibWaker",
    .basicsize = sizeof(GLibWakerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = waker_slots,
};

static int glib_exec(PyObject *mod) {
  module_state *st;
  unsigned major, minor, micro;
  PyObject *version;

  st = PyModule_GetState(mod);
  st->waker_type =
      (PyTypeObject *) PyType_FromModuleAndSpec(mod, &waker_spec, NULL);
  if (st->waker_type == NULL)
    return -1;
  if (PyModule_AddType(mod, st->waker_type) < 0)
    return -1;
  ag_glib_version(&major, &minor, &micro);
  version = Py_BuildValue("(III)", major, minor, micro);
  if (version == NULL)
    return -1;
  if (PyModule_AddObject(mod, "GLIB_VERSION", version) < 0) {
    Py_DECREF(version);
    return -1;
  }
  return 0;
}

static int glib_traverse(PyObject *mod, visitproc visit, void *arg) {
  Py_VISIT(((module_state *) PyModule_GetState(mod))->waker_type);
  return 0;
}

static int glib_clear(PyObject *mod) {
  Py_CLEAR(((module_state *) PyModule_GetState(mod))->waker_type);
  return 0;
}

static void glib_free(void *mod) {
  (void) glib_clear((PyObject *) mod);
}

static PyModuleDef_Slot glib_slots[] = {
    {Py_mod_exec, glib_exec},
    {0, NULL},
};

static struct PyModuleDef glib_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "asyncio_guest._glib",
    .m_doc = "The native GLib waker of asyncio_guest (waker-glib.c).",
    .m_size = sizeof(module_state),
    .m_slots = glib_slots,
    .m_traverse = glib_traverse,
    .m_clear = glib_clear,
    .m_free = glib_free,
};

PyMODINIT_FUNC PyInit__glib(void) {
  return PyModuleDef_Init(&glib_module);
}
