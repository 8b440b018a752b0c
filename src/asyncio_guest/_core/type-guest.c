/* type-guest.c: asyncio_guest._core.Guest, one backend thread (or a
 * host-side watcher) in lockstep with the host (guest.c).
 *
 * The one wake seam: a Guest is made by
 *
 *   Guest.threaded(backend_fd, waker, *, signal_fd=-1)
 *       a backend thread polls backend_fd (and signal_fd) and wakes the host
 *       through waker._ag_waker, an AG_WAKER_CAPSULE holding an ag_waker_t
 *       (CallbackWaker, TclWaker, GLibWaker, Win32Waker);
 *   Guest.threadless(backend_fd, watcher)
 *       no thread: the host watches, through watcher._ag_watcher, an
 *       AG_WATCHER_CAPSULE holding an ag_watcher_t (CallbackWatcher, or a
 *       TclWaker or GLibWaker made with fds).
 *
 * The Guest holds the capsule, which owns the object that provides it, for
 * its whole life, and closes the backend thread before dropping it.
 */
#include "core.h"

#include <math.h>

typedef struct {
  PyObject_HEAD
  ag_guest_t g;
  PyObject *capsule;  /* the waker's or watcher's; it owns their object */
  int threadless;
  int started;
  intptr_t backend_fd;  /* an fd, or on Windows the IOCP HANDLE */
} GuestObject;

static PyObject *guest_new(PyTypeObject *Py_UNUSED(tp),
                           PyObject *Py_UNUSED(args),
                           PyObject *Py_UNUSED(kwds)) {
  PyErr_SetString(PyExc_TypeError,
                  "Guest cannot be called: use Guest.threaded(backend_fd, "
                  "waker, *, signal_fd=-1) or Guest.threadless(backend_fd, "
                  "watcher)");
  return NULL;
}

/* A new, not yet started Guest of type cls, or NULL. */
static GuestObject *guest_alloc(PyObject *cls, Py_ssize_t fd,
                                const char *what) {
  PyTypeObject *tp;

  if (fd < 0) {
    PyErr_Format(PyExc_ValueError, "%s: backend_fd must be >= 0, not %zd",
                 what, fd);
    return NULL;
  }
  tp = (PyTypeObject *) cls;
  return (GuestObject *) tp->tp_alloc(tp, 0);
}

static PyObject *guest_threaded(PyObject *cls, PyObject *args,
                                PyObject *kwds) {
  static char *kwlist[] = {"backend_fd", "waker", "signal_fd", NULL};
  static const char what[] = "Guest.threaded";
  GuestObject *self;
  PyObject *obj;
  PyObject *capsule;
  ag_waker_t *waker;
  Py_ssize_t fd;  /* intptr-sized: a HANDLE on Windows */
  int signal_fd;
  int err;

  signal_fd = -1;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "nO|$i:threaded", kwlist, &fd,
                                   &obj, &signal_fd))
    return NULL;
  self = guest_alloc(cls, fd, what);
  if (self == NULL)
    return NULL;
  waker = ag_py_get_waker(obj, what, &capsule);
  if (waker == NULL) {
    Py_DECREF(self);
    return NULL;
  }
  self->capsule = capsule;
  err = ag_guest_init(&self->g, fd, signal_fd, waker);
  if (err != 0) {
    Py_DECREF(self);
    return ag_py_error(err, what);
  }
  self->backend_fd = fd;
  self->started = 1;
  return (PyObject *) self;
}

static PyObject *guest_threadless(PyObject *cls, PyObject *args,
                                  PyObject *kwds) {
  static char *kwlist[] = {"backend_fd", "watcher", NULL};
  static const char what[] = "Guest.threadless";
  GuestObject *self;
  PyObject *obj;
  PyObject *capsule;
  ag_watcher_t *watcher;
  Py_ssize_t fd;
  int err;

  if (!PyArg_ParseTupleAndKeywords(args, kwds, "nO:threadless", kwlist, &fd,
                                   &obj))
    return NULL;
  self = guest_alloc(cls, fd, what);
  if (self == NULL)
    return NULL;
  watcher = ag_py_get_watcher(obj, what, &capsule);
  if (watcher == NULL) {
    Py_DECREF(self);
    return NULL;
  }
  self->capsule = capsule;
  err = ag_guest_init_threadless(&self->g, watcher);
  if (err != 0) {
    Py_DECREF(self);
    return ag_py_error(err, what);
  }
  self->threadless = 1;
  self->backend_fd = fd;
  self->started = 1;
  return (PyObject *) self;
}

/* Stops and joins the backend thread.  The thread may be waiting for the
 * GIL to post, so the GIL is released while joining. */
static int guest_close_impl(GuestObject *self) {
  if (!self->started || atomic_load(&self->g.state) == AG_CLOSED)
    return 0;
  if (self->threadless) {
    ag_guest_close(&self->g);  /* no thread; the watcher may need the GIL */
    return PyErr_Occurred() ? -1 : 0;
  }
  if (ag__thread_is_current(&self->g.thread)) {
    PyErr_SetString(PyExc_RuntimeError,
                    "Guest.close() called on the backend thread: "
                    "run_sync_soon_threadsafe must schedule its argument on "
                    "the host thread, not call it");
    return -1;
  }
  Py_BEGIN_ALLOW_THREADS
  ag_guest_close(&self->g);
  Py_END_ALLOW_THREADS
  return 0;
}

static int guest_check_started(GuestObject *self, const char *what) {
  if (!self->started) {
    PyErr_Format(PyExc_RuntimeError, "%s: Guest is not initialized", what);
    return -1;
  }
  return 0;
}

static PyObject *guest_arm(PyObject *op, PyObject *timeout) {
  GuestObject *self;
  int64_t deadline;
  double t;
  int err;

  self = (GuestObject *) op;
  if (guest_check_started(self, "Guest.arm") < 0)
    return NULL;
  if (timeout == Py_None) {
    deadline = -1;
  } else {
    t = PyFloat_AsDouble(timeout);
    if (t == -1.0 && PyErr_Occurred())
      return NULL;
    if (isnan(t) || t < 0) {
      PyErr_SetString(PyExc_ValueError,
                      "Guest.arm: timeout must be None or >= 0");
      return NULL;
    }
    /* Beyond ~100 years is "no deadline" for our purposes. */
    deadline = t > 3e9 ? -1 : ag__now_ns() + (int64_t) (t * 1e9);
  }
  err = ag_guest_arm(&self->g, deadline);
  if (err != 0)
    return PyErr_Occurred() ? NULL : ag_py_error(err, "Guest.arm");
  Py_RETURN_NONE;
}

static PyObject *guest_begin_tick(PyObject *op, PyObject *Py_UNUSED(a)) {
  GuestObject *self;
  int err;

  self = (GuestObject *) op;
  if (guest_check_started(self, "Guest.begin_tick") < 0)
    return NULL;
  err = ag_guest_begin_tick(&self->g);
  if (err == AG_ELOCKSTEP || err == AG_ECLOSED)
    Py_RETURN_FALSE;  /* not this tick's turn, or closed: skip it */
  if (err != 0)
    return ag_py_error(err, "Guest.begin_tick (backend poll)");
  Py_RETURN_TRUE;
}

static PyObject *guest_wakeup(PyObject *op, PyObject *Py_UNUSED(a)) {
  GuestObject *self;
  int err;

  self = (GuestObject *) op;
  if (guest_check_started(self, "Guest.wakeup") < 0)
    return NULL;
  if (atomic_load(&self->g.state) == AG_CLOSED)
    Py_RETURN_NONE;
  err = ag_guest_wakeup(&self->g);
  if (err != 0)
    return PyErr_Occurred() ? NULL : ag_py_error(err, "Guest.wakeup");
  Py_RETURN_NONE;
}

static PyObject *guest_readable(PyObject *op, PyObject *Py_UNUSED(a)) {
  GuestObject *self;
  int r;

  self = (GuestObject *) op;
  if (guest_check_started(self, "Guest.readable") < 0)
    return NULL;
  r = ag__fd_readable(self->backend_fd);
  if (r < 0)
    return ag_py_error(r, "Guest.readable");
  return PyBool_FromLong(r);
}

static PyObject *guest_close(PyObject *op, PyObject *Py_UNUSED(a)) {
  if (guest_close_impl((GuestObject *) op) < 0)
    return NULL;
  Py_RETURN_NONE;
}

static PyObject *guest_get_state(PyObject *op, void *Py_UNUSED(c)) {
  static const char *names[] = {"idle", "armed", "polling", "posted",
                                "closed"};
  GuestObject *self;

  self = (GuestObject *) op;
  if (!self->started)
    return PyUnicode_FromString("new");
  return PyUnicode_FromString(names[atomic_load(&self->g.state)]);
}

/* `threadless` names both the classmethod Guest.threadless(...) and, on an
 * instance, whether it is one: the class's attribute is the classmethod,
 * and an instance answers the bool itself. */
static PyObject *guest_getattro(PyObject *op, PyObject *name) {
  if (PyUnicode_Check(name) && PyUnicode_GET_LENGTH(name) == 10 &&
      PyUnicode_CompareWithASCIIString(name, "threadless") == 0)
    return PyBool_FromLong(((GuestObject *) op)->threadless);
  return PyObject_GenericGetAttr(op, name);
}

static PyObject *guest_get_posts(PyObject *op, void *Py_UNUSED(c)) {
  return PyLong_FromUnsignedLongLong(
      atomic_load(&((GuestObject *) op)->g.posts));
}

static PyObject *guest_get_polls(PyObject *op, void *Py_UNUSED(c)) {
  return PyLong_FromUnsignedLongLong(
      atomic_load(&((GuestObject *) op)->g.polls));
}

static int guest_traverse(PyObject *op, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(op));
  /* The capsule is not the GC's; the object it owns is. */
  return ag_py_capsule_traverse(((GuestObject *) op)->capsule, visit, arg);
}

static int guest_clear(PyObject *op) {
  GuestObject *self;

  self = (GuestObject *) op;
  /* The backend thread uses the waker: stop it before dropping it. */
  if (guest_close_impl(self) < 0)
    PyErr_WriteUnraisable(op);
  Py_CLEAR(self->capsule);
  return 0;
}

static void guest_dealloc(PyObject *op) {
  PyTypeObject *tp;

  tp = Py_TYPE(op);
  PyObject_GC_UnTrack(op);
  (void) guest_clear(op);
  tp->tp_free(op);
  Py_DECREF(tp);
}

static PyMethodDef guest_methods[] = {
    {"threaded", (PyCFunction) (void (*)(void)) guest_threaded,
     METH_CLASS | METH_VARARGS | METH_KEYWORDS,
     "threaded(backend_fd, waker, *, signal_fd=-1)\n--\n\n"
     "A backend thread waiting on backend_fd (and signal_fd, if >= 0) in\n"
     "lockstep with the host, waking it through waker._ag_waker: a\n"
     "CallbackWaker, or a TclWaker, GLibWaker or Win32Waker made without\n"
     "fds."},
    {"threadless", (PyCFunction) (void (*)(void)) guest_threadless,
     METH_CLASS | METH_VARARGS | METH_KEYWORDS,
     "threadless(backend_fd, watcher)\n--\n\n"
     "No thread: the host watches backend_fd (and its signal fd) itself\n"
     "through watcher._ag_watcher (a CallbackWatcher, or a TclWaker or\n"
     "GLibWaker made with fds) and runs the tick when one is readable or\n"
     "the deadline passes.\n"
     "On a Guest, `threadless` is instead True or False: whether it was\n"
     "made so (the host watches; no backend thread)."},
    {"arm", guest_arm, METH_O,
     "arm(timeout)\n--\n\nHost thread, after a tick: let the backend thread "
     "wait for the\nbackend fd or `timeout` seconds (None: no deadline)."},
    {"begin_tick", guest_begin_tick, METH_NOARGS,
     "begin_tick()\n--\n\nHost thread, first thing in a tick. False means "
     "the tick must not run\n(the backend is polling, or the guest is "
     "closed)."},
    {"wakeup", guest_wakeup, METH_NOARGS,
     "wakeup()\n--\n\nAny thread: end the current or next poll now "
     "(stale deadlines)."},
    {"readable", guest_readable, METH_NOARGS,
     "readable()\n--\n\nZero-timeout peek: is the backend fd readable now?"},
    {"close", guest_close, METH_NOARGS,
     "close()\n--\n\nStop and join the backend thread, close its fds. "
     "Idempotent."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef guest_getset[] = {
    {"state", guest_get_state, NULL, "Lockstep state, as a string.", NULL},
    {"posts", guest_get_posts, NULL, "Wake-ups delivered to the host.", NULL},
    {"polls", guest_get_polls, NULL, "Waits started by the backend thread.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot guest_slots[] = {
    {Py_tp_doc,
     "A backend thread (or the host's own watcher) in lockstep with the\n"
     "host.  Made by Guest.threaded(backend_fd, waker, *, signal_fd=-1) or\n"
     "Guest.threadless(backend_fd, watcher); Guest() itself raises\n"
     "TypeError."},
    {Py_tp_new, guest_new},
    {Py_tp_getattro, guest_getattro},
    {Py_tp_dealloc, guest_dealloc},
    {Py_tp_traverse, guest_traverse},
    {Py_tp_clear, guest_clear},
    {Py_tp_methods, guest_methods},
    {Py_tp_getset, guest_getset},
    {0, NULL},
};

PyType_Spec ag_guest_spec = {
    .name = "asyncio_guest._core.Guest",
    .basicsize = sizeof(GuestObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = guest_slots,
};

ag_guest_t *ag_core_guest_of(ag_core_state_t *st, PyObject *obj) {
  if (!PyObject_TypeCheck(obj, st->guest_type) ||
      !((GuestObject *) obj)->started)
    return NULL;
  return &((GuestObject *) obj)->g;
}
