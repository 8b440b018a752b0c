/* type-guest.c: asyncio_guest._core.Guest, one backend thread (or a
 * host-side watcher) in lockstep with the host (guest.c).
 */
#include "core.h"

#include <math.h>

/* ---- the Python waker: run_sync_soon_threadsafe(tick) ------------------- */

typedef struct {
  ag_waker_t base;          /* must be first */
  PyObject *post;           /* run_sync_soon_threadsafe */
  PyObject *tick;
  PyGILState_STATE gstate;  /* the backend thread's own thread state */
  PyThreadState *saved;
} py_waker_t;

static int py_waker_thread_start(ag_waker_t *base) {
  py_waker_t *w;

  w = (py_waker_t *) base;
  /* One thread state for the thread's whole life, created once: taking the
   * GIL per post is then a plain PyEval_RestoreThread. */
  w->gstate = PyGILState_Ensure();
  w->saved = PyEval_SaveThread();
  return 0;
}

static void py_waker_thread_exit(ag_waker_t *base) {
  py_waker_t *w;

  w = (py_waker_t *) base;
  PyEval_RestoreThread(w->saved);
  PyGILState_Release(w->gstate);
}

static int py_waker_post(ag_waker_t *base) {
  py_waker_t *w;
  PyObject *res;
  int err;

  PyObject *post;
  PyObject *tick;

  w = (py_waker_t *) base;
  err = 0;
  PyEval_RestoreThread(w->saved);
  /* Own references for the call: nothing the host does meanwhile may free
   * them under us. */
  post = Py_NewRef(w->post);
  tick = Py_NewRef(w->tick);
  res = PyObject_CallOneArg(post, tick);
  if (res == NULL) {
    /* Never swallowed: reported with its traceback through
     * sys.unraisablehook, then retried by the core with a growing pause. */
    PyErr_WriteUnraisable(post);
    err = -ECANCELED;
  }
  Py_XDECREF(res);
  Py_DECREF(tick);
  Py_DECREF(post);
  w->saved = PyEval_SaveThread();
  return err;
}

/* ---- the Python watcher (threadless mode): obj.watch/fire_soon/unwatch ---- */

/* Called by guest.c on the host thread, always with the GIL held (the Guest
 * methods that lead here are called from Python, and close() keeps the GIL
 * in threadless mode).  An exception raised by watch() or fire_soon() stays
 * set and is raised by the Guest method; -ECANCELED tells guest.c. */
typedef struct {
  ag_watcher_t base;  /* must be first */
  PyObject *obj;
} py_watcher_t;

static int py_watcher_call(py_watcher_t *w, const char *name, PyObject *arg) {
  PyObject *res;

  res = arg == NULL ? PyObject_CallMethod(w->obj, name, NULL)
                    : PyObject_CallMethod(w->obj, name, "O", arg);
  if (res == NULL)
    return -ECANCELED;
  Py_DECREF(res);
  return 0;
}

static int py_watcher_watch(ag_watcher_t *base, int64_t deadline_ns) {
  PyObject *timeout;
  int64_t left;
  int err;

  if (deadline_ns < 0) {
    timeout = Py_NewRef(Py_None);
  } else {
    left = deadline_ns - ag__now_ns();
    timeout = PyFloat_FromDouble(left > 0 ? (double) left / 1e9 : 0.0);
    if (timeout == NULL)
      return -ECANCELED;
  }
  err = py_watcher_call((py_watcher_t *) base, "watch", timeout);
  Py_DECREF(timeout);
  return err;
}

static int py_watcher_fire_soon(ag_watcher_t *base) {
  return py_watcher_call((py_watcher_t *) base, "fire_soon", NULL);
}

static void py_watcher_unwatch(ag_watcher_t *base) {
  py_watcher_t *w;

  w = (py_watcher_t *) base;
  if (py_watcher_call(w, "unwatch", NULL) != 0)
    PyErr_WriteUnraisable(w->obj);
}

static int is_py_watcher(PyObject *obj) {
  return !PyCallable_Check(obj) && PyObject_HasAttrString(obj, "watch") &&
         PyObject_HasAttrString(obj, "fire_soon") &&
         PyObject_HasAttrString(obj, "unwatch");
}

/* ---- Guest --------------------------------------------------------------- */

typedef struct {
  PyObject_HEAD
  ag_guest_t g;
  py_waker_t py_waker;
  py_watcher_t py_watcher;
  PyObject *native_waker;  /* TclWaker, GLibWaker, or NULL: Python waker */
  int threadless;
  int started;
  intptr_t backend_fd;  /* an fd, or on Windows the IOCP HANDLE */
} GuestObject;

static int guest_init_threadless(GuestObject *self, Py_ssize_t fd,
                                 ag_watcher_t *watcher) {
  int err;

  err = ag_guest_init_threadless(&self->g, watcher);
  if (err != 0) {
    ag_py_error(err, "Guest");
    return -1;
  }
  self->threadless = 1;
  self->backend_fd = fd;
  self->started = 1;
  return 0;
}

static int guest_init(PyObject *op, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"backend_fd", "post", "tick", "signal_fd", NULL};
  GuestObject *self;
  ag_core_state_t *st;
  PyObject *post;
  PyObject *tick;
  ag_waker_t *waker;
  Py_ssize_t fd;  /* intptr-sized: a HANDLE on Windows */
  int signal_fd;
  int err;

  self = (GuestObject *) op;
  tick = NULL;
  signal_fd = -1;
  if (self->started) {
    PyErr_SetString(PyExc_RuntimeError, "Guest is already initialized");
    return -1;
  }
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "nO|O$i:Guest", kwlist, &fd,
                                   &post, &tick, &signal_fd))
    return -1;
  if (fd < 0) {
    PyErr_Format(PyExc_ValueError, "Guest: backend_fd must be >= 0, not %zd",
                 fd);
    return -1;
  }
  st = ag_core_state_of_type(Py_TYPE(op));
  if (st == NULL)
    return -1;

  if (tick == Py_None)
    tick = NULL;
  if (PyObject_TypeCheck(post, st->tcl_waker_type)) {
    ag_tcl_waker_t *tw = ((ag_py_native_t *) post)->w;
    if (tw == NULL) {
      ag_py_error(AG_EWAKER_CLOSED, "Guest");
      return -1;
    }
    self->native_waker = Py_NewRef(post);
    if (ag_tcl_watcher_base(tw) != NULL)
      return guest_init_threadless(self, fd, ag_tcl_watcher_base(tw));
    waker = ag_tcl_waker_base(tw);
  } else if (PyObject_HasAttrString(post, "_ag_watcher")) {
    /* A native watcher: threadless mode. */
    ag_watcher_t *watcher;
    PyObject *capsule = PyObject_GetAttrString(post, "_ag_watcher");
    if (capsule == NULL)
      return -1;
    watcher = PyCapsule_GetPointer(capsule, AG_WATCHER_CAPSULE);
    Py_DECREF(capsule);
    if (watcher == NULL)
      return -1;
    self->native_waker = Py_NewRef(post);
    return guest_init_threadless(self, fd, watcher);
  } else if (is_py_watcher(post)) {
    self->py_watcher.base.watch = py_watcher_watch;
    self->py_watcher.base.fire_soon = py_watcher_fire_soon;
    self->py_watcher.base.unwatch = py_watcher_unwatch;
    self->py_watcher.obj = Py_NewRef(post);
    return guest_init_threadless(self, fd, &self->py_watcher.base);
  } else if (PyObject_HasAttrString(post, "_ag_waker")) {
    /* A waker from another of our extensions (asyncio_guest._glib). */
    PyObject *capsule = PyObject_GetAttrString(post, "_ag_waker");
    if (capsule == NULL)
      return -1;
    waker = PyCapsule_GetPointer(capsule, AG_WAKER_CAPSULE);
    Py_DECREF(capsule);
    if (waker == NULL)
      return -1;
    self->native_waker = Py_NewRef(post);
  } else {
    if (!PyCallable_Check(post) || tick == NULL || !PyCallable_Check(tick)) {
      PyErr_SetString(PyExc_TypeError,
                      "Guest: post must be a native waker (TclWaker, "
                      "GLibWaker), or a callable run_sync_soon_threadsafe "
                      "with a callable tick");
      return -1;
    }
    self->py_waker.base.post = py_waker_post;
    self->py_waker.base.thread_start = py_waker_thread_start;
    self->py_waker.base.thread_exit = py_waker_thread_exit;
    self->py_waker.base.prepare = NULL;
    self->py_waker.post = Py_NewRef(post);
    self->py_waker.tick = Py_NewRef(tick);
    waker = &self->py_waker.base;
  }

  err = ag_guest_init(&self->g, fd, signal_fd, waker);
  if (err != 0) {
    ag_py_error(err, "Guest");
    return -1;
  }
  self->backend_fd = fd;
  self->started = 1;
  return 0;
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

static PyObject *guest_get_threadless(PyObject *op, void *Py_UNUSED(c)) {
  return PyBool_FromLong(((GuestObject *) op)->threadless);
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
  GuestObject *self;

  self = (GuestObject *) op;
  Py_VISIT(Py_TYPE(op));
  Py_VISIT(self->py_waker.post);
  Py_VISIT(self->py_waker.tick);
  Py_VISIT(self->native_waker);
  Py_VISIT(self->py_watcher.obj);
  return 0;
}

static int guest_clear(PyObject *op) {
  GuestObject *self;

  self = (GuestObject *) op;
  /* The backend thread uses post and tick: stop it before dropping them. */
  if (guest_close_impl(self) < 0)
    PyErr_WriteUnraisable(op);
  Py_CLEAR(self->py_waker.post);
  Py_CLEAR(self->py_waker.tick);
  Py_CLEAR(self->native_waker);
  Py_CLEAR(self->py_watcher.obj);
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
    {"threadless", guest_get_threadless, NULL,
     "True in threadless mode (the host watches; no backend thread).", NULL},
    {"posts", guest_get_posts, NULL, "Wake-ups delivered to the host.", NULL},
    {"polls", guest_get_polls, NULL, "Waits started by the backend thread.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot guest_slots[] = {
    {Py_tp_doc,
     "Guest(backend_fd, post, tick=None, *, signal_fd=-1)\n--\n\n"
     "A backend thread waiting on backend_fd (and signal_fd, if given) in\n"
     "lockstep with the host.\n"
     "post is a native waker (TclWaker, _glib.GLibWaker), or\n"
     "run_sync_soon_threadsafe: the thread then\n"
     "calls post(tick) (taking the GIL for that call only).\n\n"
     "Threadless mode (no thread): post is a native watcher (an object\n"
     "with `_ag_watcher`), or a non-callable object with watch(timeout),\n"
     "fire_soon() and unwatch() that watches backend_fd and signal_fd\n"
     "itself and runs the tick when either is readable or the timeout\n"
     "passes."},
    {Py_tp_init, guest_init},
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
