/* glibmodule.c: asyncio_guest._glib, the Python glue around waker-glib.c.
 *
 * A separate extension so that only GLib programs load libglib: it is built
 * when pkg-config finds glib-2.0 (see setup.py), and asyncio_guest.gtk falls
 * back to a waker written in Python without it.
 *
 *   GLibWaker(callback, priority=0, busy_priority=200, *, fds=None)
 *       posts to the calling thread's thread-default GMainContext; each
 *       dispatch calls callback() on that thread, holding the GIL.  Given to
 *       asyncio_guest._core.Guest.threaded as its waker (`_ag_waker`), or,
 *       made with fds, to Guest.threadless as its watcher (`_ag_watcher`).
 *
 * The object and its shared methods are the native wakers' skeleton
 * (glue.h); errors become exceptions in glue.c's ag_py_error.
 */
#include "glue.h"

/* The ops of the shared skeleton (glue.h). */
static ag_waker_t *ops_waker(void *w) {
  return ag_glib_waker_base(w);
}

static ag_watcher_t *ops_watcher(void *w) {
  return ag_glib_watcher_base(w);
}

static int ops_post_soon(void *w) {
  return ag_glib_waker_post_soon(w);
}

static void ops_close(void *w) {
  ag_glib_waker_close(w);
}

static void ops_free(void *w) {
  ag_glib_waker_free(w);
}

static const ag_py_native_ops_t glib_ops = {
    .name = "GLibWaker",
    .waker = ops_waker,
    .watcher = ops_watcher,
    .is_home = NULL,  /* GLib's calls are thread-safe */
    .post_soon = ops_post_soon,
    .close = ops_close,
    .free = ops_free,
};

static int waker_init(PyObject *op, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"callback", "priority", "busy_priority", "fds",
                           NULL};
  ag_py_native_t *self;
  ag_glib_waker_t *w;
  PyObject *callback;
  PyObject *fds_obj;
  int fds[2];
  int nfds;
  int priority;
  int busy_priority;
  int err;

  self = (ag_py_native_t *) op;
  priority = AG_GLIB_PRIORITY_DEFAULT;
  busy_priority = AG_GLIB_PRIORITY_DEFAULT_IDLE;
  if (ag_py_native_check_new(self) < 0)
    return -1;
  fds_obj = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|ii$O:GLibWaker", kwlist,
                                   &callback, &priority, &busy_priority,
                                   &fds_obj))
    return -1;
  nfds = ag_py_parse_fds(fds_obj, fds, "GLibWaker");
  if (nfds < 0)
    return -1;
  if (!PyCallable_Check(callback)) {
    PyErr_Format(PyExc_TypeError, "GLibWaker: callback must be callable, not %s",
                 Py_TYPE(callback)->tp_name);
    return -1;
  }
  Py_XSETREF(self->callback, Py_NewRef(callback));
  self->ops = &glib_ops;
  err = nfds == 0
            ? ag_glib_waker_new(priority, busy_priority, ag_py_native_fire,
                                self, &w)
            : ag_glib_watcher_new(priority, busy_priority, fds, nfds,
                                  ag_py_native_fire, self, &w);
  if (err != 0) {
    Py_CLEAR(self->callback);
    ag_py_error(err, "GLibWaker");
    return -1;
  }
  self->w = w;
  return 0;
}

static PyObject *waker_get_context(PyObject *op, void *Py_UNUSED(c)) {
  ag_py_native_t *self;

  self = (ag_py_native_t *) op;
  if (self->w == NULL)
    return ag_py_error(AG_EWAKER_CLOSED, "GLibWaker.context_address");
  return PyLong_FromVoidPtr(ag_glib_waker_context(self->w));
}

static PyMethodDef waker_methods[] = {
    AG_PY_NATIVE_METHODS(
        "post_soon()\n--\n\nHost thread: dispatch the callback once, at "
        "busy_priority.",
        "close()\n--\n\nNo further dispatches; the sources leave the "
        "context. Idempotent."),
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef waker_getset[] = {
    AG_PY_NATIVE_WAKER_GETSET,
    AG_PY_NATIVE_WATCHER_GETSET,
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
    AG_PY_NATIVE_SLOTS,
    {Py_tp_methods, waker_methods},
    {Py_tp_getset, waker_getset},
    {0, NULL},
};

static PyType_Spec waker_spec = {
    .name = "asyncio_guest._glib.GLibWaker",
    .basicsize = sizeof(ag_py_native_t),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = waker_slots,
};

static int glib_exec(PyObject *mod) {
  unsigned major, minor, micro;
  PyObject *version;

  if (ag_py_waker_module_exec(mod, &waker_spec) < 0)
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

static PyModuleDef_Slot glib_slots[] = {
    {Py_mod_exec, glib_exec},
    {0, NULL},
};

static struct PyModuleDef glib_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "asyncio_guest._glib",
    .m_doc = "The native GLib waker of asyncio_guest (waker-glib.c).",
    .m_size = sizeof(ag_py_waker_module_state),
    .m_slots = glib_slots,
    .m_traverse = ag_py_waker_module_traverse,
    .m_clear = ag_py_waker_module_clear,
    .m_free = ag_py_waker_module_free,
};

PyMODINIT_FUNC PyInit__glib(void) {
  return PyModuleDef_Init(&glib_module);
}
