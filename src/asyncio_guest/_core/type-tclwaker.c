/* type-tclwaker.c: asyncio_guest._core.TclWaker, the native Tk waker
 * (waker-tcl.c; watcher-tcl.c with fds).
 *
 * On the native wakers' skeleton (glue.h), like GLibWaker and Win32Waker.
 * Tcl objects belong to the interpreter's thread: post_soon() and close()
 * refuse any other thread, and a waker dropped elsewhere without close()
 * leaks its few bytes rather than touch them.
 */
#include "core.h"

/* The ops of the shared skeleton. */
static ag_waker_t *ops_waker(void *w) {
  return ag_tcl_waker_base(w);
}

static ag_watcher_t *ops_watcher(void *w) {
  return ag_tcl_watcher_base(w);
}

static int ops_is_home(void *w) {
  return ag_tcl_waker_is_home(w);
}

static int ops_post_soon(void *w) {
  return ag_tcl_waker_post_soon(w);
}

static void ops_close(void *w) {
  ag_tcl_waker_close(w);
}

static const ag_py_native_ops_t tcl_ops = {
    .name = "TclWaker",
    .waker = ops_waker,
    .watcher = ops_watcher,
    .is_home = ops_is_home,
    .post_soon = ops_post_soon,
    .close = ops_close,
    .free = NULL,  /* close() releases it, once no queued event refers to it */
};

static int tcl_waker_init(PyObject *op, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"interpaddr", "command", "fds", NULL};
  ag_py_native_t *self;
  ag_tcl_waker_t *w;
  unsigned long long addr;
  const char *command;
  PyObject *fds_obj;
  int fds[2];
  int nfds;
  int err;

  self = (ag_py_native_t *) op;
  if (ag_py_native_check_new(self) < 0)
    return -1;
  fds_obj = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "Ks|$O:TclWaker", kwlist,
                                   &addr, &command, &fds_obj))
    return -1;
  if (addr == 0) {
    PyErr_SetString(PyExc_ValueError, "TclWaker: interpaddr is NULL");
    return -1;
  }
  nfds = ag_py_parse_fds(fds_obj, fds, "TclWaker");
  if (nfds < 0)
    return -1;
  self->ops = &tcl_ops;
  err = nfds == 0
            ? ag_tcl_waker_new((void *) (uintptr_t) addr, command, &w)
            : ag_tcl_watcher_new((void *) (uintptr_t) addr, command, fds,
                                 nfds, &w);
  if (err != 0) {
    ag_py_error(err, "TclWaker");
    return -1;
  }
  self->w = w;
  return 0;
}

static PyMethodDef tcl_waker_methods[] = {
    AG_PY_NATIVE_METHODS(
        "post_soon()\n--\n\nHost thread: run the tick command once Tk is "
        "idle.",
        "close()\n--\n\nHost thread: stop delivering ticks. Idempotent."),
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef tcl_waker_getset[] = {
    AG_PY_NATIVE_WAKER_GETSET,
    AG_PY_NATIVE_WATCHER_GETSET,
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot tcl_waker_slots[] = {
    {Py_tp_doc,
     "TclWaker(interpaddr, command, *, fds=None)\n--\n\n"
     "Native Tk waker: from the backend thread, queue a Tcl event to the\n"
     "interpreter's thread whose proc evaluates `command`. Create it on\n"
     "the thread that owns the interpreter.\n"
     "With fds (the backend fd, and the signal fd): threadless mode; Tcl\n"
     "file handlers and a Tcl timer run `command` (no backend thread)."},
    {Py_tp_init, tcl_waker_init},
    AG_PY_NATIVE_SLOTS,
    {Py_tp_methods, tcl_waker_methods},
    {Py_tp_getset, tcl_waker_getset},
    {0, NULL},
};

PyType_Spec ag_tclwaker_spec = {
    .name = "asyncio_guest._core.TclWaker",
    .basicsize = sizeof(ag_py_native_t),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = tcl_waker_slots,
};
