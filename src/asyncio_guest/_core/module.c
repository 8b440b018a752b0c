/* module.c: asyncio_guest._core, the Python glue around the C core.
 *
 * Types (heap types, state in the module, multi-phase init):
 *   Guest      one backend thread in lockstep with the host (guest.c)
 *   WakeHook   wraps a loop method (call_soon, call_at, ...) so that host
 *              code calling it between ticks wakes a stale poll
 *   TclWaker   the native Tk waker (waker-tcl.c)
 *
 * Guest also takes a native waker from another extension of ours (the GLib
 * one, asyncio_guest._glib) through a capsule (AG_WAKER_CAPSULE).
 *
 * Negative errno values from the core become Python exceptions in exactly
 * one place: ag_py_error().
 */
#include "glue.h"

#include <structmember.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "guest.h"

typedef struct {
  PyTypeObject *guest_type;
  PyTypeObject *hook_type;
  PyTypeObject *tcl_waker_type;
  PyTypeObject *uv_view_type;
} module_state;

static struct PyModuleDef core_module;

static module_state *state_of_type(PyTypeObject *tp) {
  PyObject *mod;

  mod = PyType_GetModuleByDef(tp, &core_module);
  return mod == NULL ? NULL : PyModule_GetState(mod);
}

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

/* ---- TclWaker ------------------------------------------------------------ */

typedef struct {
  PyObject_HEAD
  ag_tcl_waker_t *w;
} TclWakerObject;

static int tcl_waker_init(PyObject *op, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"interpaddr", "command", "fds", NULL};
  TclWakerObject *self;
  unsigned long long addr;
  const char *command;
  PyObject *fds_obj;
  int fds[2];
  int nfds;
  int err;

  self = (TclWakerObject *) op;
  if (self->w != NULL) {
    PyErr_SetString(PyExc_RuntimeError, "TclWaker is already initialized");
    return -1;
  }
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
  err = nfds == 0
            ? ag_tcl_waker_new((void *) (uintptr_t) addr, command, &self->w)
            : ag_tcl_watcher_new((void *) (uintptr_t) addr, command, fds,
                                 nfds, &self->w);
  if (err != 0) {
    ag_py_error(err, "TclWaker");
    return -1;
  }
  return 0;
}

static PyObject *tcl_waker_post_soon(PyObject *op, PyObject *Py_UNUSED(a)) {
  TclWakerObject *self;
  int err;

  self = (TclWakerObject *) op;
  if (self->w == NULL)
    return ag_py_error(AG_EWAKER_CLOSED, "TclWaker.post_soon");
  if (!ag_tcl_waker_is_home(self->w))
    return ag_py_error(AG_EWRONG_THREAD, "TclWaker.post_soon");
  err = ag_tcl_waker_post_soon(self->w);
  if (err != 0)
    return ag_py_error(err, "TclWaker.post_soon");
  Py_RETURN_NONE;
}

static PyObject *tcl_waker_close(PyObject *op, PyObject *Py_UNUSED(a)) {
  TclWakerObject *self;

  self = (TclWakerObject *) op;
  if (self->w != NULL && !ag_tcl_waker_is_home(self->w))
    return ag_py_error(AG_EWRONG_THREAD, "TclWaker.close");
  if (self->w != NULL)
    ag_tcl_waker_close(self->w);
  self->w = NULL;
  Py_RETURN_NONE;
}

static void tcl_waker_dealloc(PyObject *op) {
  TclWakerObject *self;
  PyTypeObject *tp;

  self = (TclWakerObject *) op;
  tp = Py_TYPE(op);
  /* Tcl objects belong to the interpreter's thread; a waker dropped
   * elsewhere without close() leaks its few bytes rather than touch them. */
  if (self->w != NULL && ag_tcl_waker_is_home(self->w))
    ag_tcl_waker_close(self->w);
  tp->tp_free(op);
  Py_DECREF(tp);
}

static PyObject *tcl_waker_get_threadless(PyObject *op,
                                          void *Py_UNUSED(c)) {
  TclWakerObject *self;

  self = (TclWakerObject *) op;
  return PyBool_FromLong(self->w != NULL &&
                         ag_tcl_watcher_base(self->w) != NULL);
}

static PyGetSetDef tcl_waker_getset[] = {
    {"threadless", tcl_waker_get_threadless, NULL,
     "True if made with fds: Tcl's notifier watches them (no thread).",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef tcl_waker_methods[] = {
    {"post_soon", tcl_waker_post_soon, METH_NOARGS,
     "Host thread: run the tick command once Tk is idle."},
    {"close", tcl_waker_close, METH_NOARGS,
     "Host thread: stop delivering ticks. Idempotent."},
    {NULL, NULL, 0, NULL},
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
    {Py_tp_getset, tcl_waker_getset},
    {Py_tp_dealloc, tcl_waker_dealloc},
    {Py_tp_methods, tcl_waker_methods},
    {0, NULL},
};

static PyType_Spec tcl_waker_spec = {
    .name = "asyncio_guest._core.TclWaker",
    .basicsize = sizeof(TclWakerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = tcl_waker_slots,
};

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
  module_state *st;
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
  st = state_of_type(Py_TYPE(op));
  if (st == NULL)
    return -1;

  if (tick == Py_None)
    tick = NULL;
  if (PyObject_TypeCheck(post, st->tcl_waker_type)) {
    ag_tcl_waker_t *tw = ((TclWakerObject *) post)->w;
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

static PyType_Spec guest_spec = {
    .name = "asyncio_guest._core.Guest",
    .basicsize = sizeof(GuestObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = guest_slots,
};

/* ---- WakeHook ------------------------------------------------------------ */

typedef struct {
  PyObject_HEAD
  PyObject *func;
  PyObject *guest;  /* a Guest */
  vectorcallfunc vectorcall;
} HookObject;

static PyObject *hook_vectorcall(PyObject *op, PyObject *const *args,
                                 size_t nargsf, PyObject *kwnames) {
  HookObject *self;
  GuestObject *guest;
  int state;

  self = (HookObject *) op;
  guest = (GuestObject *) self->guest;
  /* Cheap unlocked filter: inside a tick the state is IDLE and nothing
   * needs waking; only a poll in progress can hold a stale deadline. */
  state = atomic_load(&guest->g.state);
  if (state == AG_ARMED || state == AG_POLLING) {
    int err = ag_guest_wakeup(&guest->g);
    if (err != 0)
      return PyErr_Occurred() ? NULL : ag_py_error(err, "wakeup");
  }
  return PyObject_Vectorcall(self->func, args, nargsf, kwnames);
}

static PyObject *hook_new(PyTypeObject *tp, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"func", "guest", NULL};
  module_state *st;
  HookObject *self;
  PyObject *func;
  PyObject *guest;

  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO:WakeHook", kwlist, &func,
                                   &guest))
    return NULL;
  st = state_of_type(tp);
  if (st == NULL)
    return NULL;
  if (!PyCallable_Check(func)) {
    PyErr_SetString(PyExc_TypeError, "WakeHook: func must be callable");
    return NULL;
  }
  if (!PyObject_TypeCheck(guest, st->guest_type) ||
      !((GuestObject *) guest)->started) {
    PyErr_SetString(PyExc_TypeError,
                    "WakeHook: guest must be an initialized Guest");
    return NULL;
  }
  self = (HookObject *) tp->tp_alloc(tp, 0);
  if (self == NULL)
    return NULL;
  self->func = Py_NewRef(func);
  self->guest = Py_NewRef(guest);
  self->vectorcall = hook_vectorcall;
  return (PyObject *) self;
}

static int hook_traverse(PyObject *op, visitproc visit, void *arg) {
  HookObject *self;

  self = (HookObject *) op;
  Py_VISIT(Py_TYPE(op));
  Py_VISIT(self->func);
  Py_VISIT(self->guest);
  return 0;
}

static int hook_clear(PyObject *op) {
  HookObject *self;

  self = (HookObject *) op;
  Py_CLEAR(self->func);
  Py_CLEAR(self->guest);
  return 0;
}

static void hook_dealloc(PyObject *op) {
  PyTypeObject *tp;

  tp = Py_TYPE(op);
  PyObject_GC_UnTrack(op);
  (void) hook_clear(op);
  tp->tp_free(op);
  Py_DECREF(tp);
}

static PyObject *hook_repr(PyObject *op) {
  return PyUnicode_FromFormat("<asyncio_guest WakeHook for %R>",
                              ((HookObject *) op)->func);
}

static PyMemberDef hook_members[] = {
    {"__wrapped__", T_OBJECT, offsetof(HookObject, func), READONLY,
     "The wrapped callable."},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(HookObject, vectorcall),
     READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot hook_slots[] = {
    {Py_tp_doc,
     "WakeHook(func, guest)\n--\n\n"
     "Calls func; first, if the guest's backend thread is polling (so its\n"
     "deadline may now be stale), wakes it."},
    {Py_tp_new, hook_new},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_dealloc, hook_dealloc},
    {Py_tp_traverse, hook_traverse},
    {Py_tp_clear, hook_clear},
    {Py_tp_repr, hook_repr},
    {Py_tp_members, hook_members},
    {0, NULL},
};

static PyType_Spec hook_spec = {
    .name = "asyncio_guest._core.WakeHook",
    .basicsize = sizeof(HookObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = hook_slots,
};

/* ---- UVLoopView ---------------------------------------------------------- */

typedef struct {
  PyObject_HEAD
  PyObject *loop;
  ag_uv_t uv;
} UVViewObject;

static int uv_view_init(PyObject *op, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"loop", "backend_fd", NULL};
  UVViewObject *self;
  PyObject *loop;
  PyObject *deque;
  PyObject *ready;
  PyTypeObject *tp;
  int fd;
  int err;

  self = (UVViewObject *) op;
  if (self->loop != NULL) {
    PyErr_SetString(PyExc_RuntimeError, "UVLoopView is already initialized");
    return -1;
  }
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "Oi:UVLoopView", kwlist,
                                   &loop, &fd))
    return -1;
  /* The fields we read are those of uvloop's Cython type, uvloop.loop.Loop
   * (uvloop.Loop is a Python subclass of it, laid out the same up to them). */
  for (tp = Py_TYPE(loop); tp != NULL; tp = tp->tp_base)
    if (strcmp(tp->tp_name, "uvloop.loop.Loop") == 0)
      break;
  if (tp == NULL) {
    PyErr_Format(PyExc_TypeError, "UVLoopView: expected a uvloop loop, got %s",
                 Py_TYPE(loop)->tp_name);
    return -1;
  }
  err = ag_uv_attach(&self->uv, loop, fd);
  if (err != 0) {
    ag_py_error(err, "UVLoopView");
    return -1;
  }
  deque = PyImport_ImportModule("collections");
  if (deque == NULL)
    return -1;
  Py_SETREF(deque, PyObject_GetAttrString(deque, "deque"));
  if (deque == NULL)
    return -1;
  ready = ag_uv_ready_queue(&self->uv);
  err = ready == NULL || !Py_IS_TYPE(ready, (PyTypeObject *) deque);
  Py_DECREF(deque);
  if (err) {
    ag_py_error(AG_EUV_LAYOUT, "UVLoopView (Loop._ready)");
    return -1;
  }
  self->loop = Py_NewRef(loop);
  return 0;
}

static int uv_view_check(UVViewObject *self) {
  if (self->loop == NULL) {
    PyErr_SetString(PyExc_RuntimeError, "UVLoopView is not initialized");
    return -1;
  }
  return 0;
}

/* timeout() -> 0.0 (work now), seconds to the next timer, or None (nothing
 * scheduled). */
static PyObject *uv_view_timeout(PyObject *op, PyObject *Py_UNUSED(a)) {
  UVViewObject *self;
  PyObject *ready;
  int64_t due;
  int64_t left;

  self = (UVViewObject *) op;
  if (uv_view_check(self) < 0)
    return NULL;
  ready = ag_uv_ready_queue(&self->uv);
  if (Py_SIZE(ready) > 0 || ag_uv_pending(&self->uv))
    return PyFloat_FromDouble(0.0);
  due = ag_uv_next_timer_ns(&self->uv);
  if (due < 0)
    Py_RETURN_NONE;
  left = due - ag__now_ns();
  return PyFloat_FromDouble(left > 0 ? (double) left / 1e9 : 0.0);
}

static PyObject *uv_view_next_timer(PyObject *op, PyObject *Py_UNUSED(a)) {
  UVViewObject *self;
  int64_t due;

  self = (UVViewObject *) op;
  if (uv_view_check(self) < 0)
    return NULL;
  due = ag_uv_next_timer_ns(&self->uv);
  if (due < 0)
    Py_RETURN_NONE;
  return PyLong_FromLongLong(due);
}

static PyObject *uv_view_time_ms(PyObject *op, PyObject *Py_UNUSED(a)) {
  UVViewObject *self;

  self = (UVViewObject *) op;
  if (uv_view_check(self) < 0)
    return NULL;
  return PyLong_FromUnsignedLongLong(ag_uv_time_ms(&self->uv));
}

static int uv_view_traverse(PyObject *op, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(op));
  Py_VISIT(((UVViewObject *) op)->loop);
  return 0;
}

static int uv_view_clear(PyObject *op) {
  Py_CLEAR(((UVViewObject *) op)->loop);
  return 0;
}

static void uv_view_dealloc(PyObject *op) {
  PyTypeObject *tp;

  tp = Py_TYPE(op);
  PyObject_GC_UnTrack(op);
  (void) uv_view_clear(op);
  tp->tp_free(op);
  Py_DECREF(tp);
}

static PyMethodDef uv_view_methods[] = {
    {"timeout", uv_view_timeout, METH_NOARGS,
     "timeout()\n--\n\n0.0 if the loop has work now, else seconds until "
     "its next timer,\nor None."},
    {"next_timer", uv_view_next_timer, METH_NOARGS,
     "next_timer()\n--\n\nDue time of the earliest libuv timer, in "
     "monotonic ns, or None."},
    {"time_ms", uv_view_time_ms, METH_NOARGS,
     "time_ms()\n--\n\nlibuv's cached loop time, in ms."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot uv_view_slots[] = {
    {Py_tp_doc,
     "UVLoopView(loop, backend_fd)\n--\n\n"
     "Reads a uvloop.Loop's libuv state (ready work, timers) from C.\n"
     "Refuses a loop whose layout does not match (RuntimeError)."},
    {Py_tp_init, uv_view_init},
    {Py_tp_dealloc, uv_view_dealloc},
    {Py_tp_traverse, uv_view_traverse},
    {Py_tp_clear, uv_view_clear},
    {Py_tp_methods, uv_view_methods},
    {0, NULL},
};

static PyType_Spec uv_view_spec = {
    .name = "asyncio_guest._core.UVLoopView",
    .basicsize = sizeof(UVViewObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = uv_view_slots,
};

/* ---- the module ---------------------------------------------------------- */

static PyObject *core_monotonic_ns(PyObject *Py_UNUSED(mod),
                                   PyObject *Py_UNUSED(a)) {
  return PyLong_FromLongLong(ag__now_ns());
}

static PyMethodDef core_methods[] = {

    {"monotonic_ns", core_monotonic_ns, METH_NOARGS,
     "The core's clock (CLOCK_MONOTONIC), in nanoseconds."},
    {NULL, NULL, 0, NULL},
};

static int add_type(PyObject *mod, PyType_Spec *spec, PyTypeObject **slot) {
  *slot = (PyTypeObject *) PyType_FromModuleAndSpec(mod, spec, NULL);
  if (*slot == NULL)
    return -1;
  return PyModule_AddType(mod, *slot);
}

static int core_exec(PyObject *mod) {
  module_state *st;

  st = PyModule_GetState(mod);
  ag_py_error_set_tcl_version(ag_tcl_version());
  if (add_type(mod, &guest_spec, &st->guest_type) < 0)
    return -1;
  if (add_type(mod, &hook_spec, &st->hook_type) < 0)
    return -1;
  if (add_type(mod, &tcl_waker_spec, &st->tcl_waker_type) < 0)
    return -1;
  if (add_type(mod, &uv_view_spec, &st->uv_view_type) < 0)
    return -1;
  if (PyModule_AddStringConstant(mod, "TCL_VERSION", ag_tcl_version()) < 0)
    return -1;
  return 0;
}

static int core_traverse(PyObject *mod, visitproc visit, void *arg) {
  module_state *st;

  st = PyModule_GetState(mod);
  Py_VISIT(st->guest_type);
  Py_VISIT(st->hook_type);
  Py_VISIT(st->tcl_waker_type);
  Py_VISIT(st->uv_view_type);
  return 0;
}

static int core_clear(PyObject *mod) {
  module_state *st;

  st = PyModule_GetState(mod);
  Py_CLEAR(st->guest_type);
  Py_CLEAR(st->hook_type);
  Py_CLEAR(st->tcl_waker_type);
  Py_CLEAR(st->uv_view_type);
  return 0;
}

static void core_free(void *mod) {
  (void) core_clear((PyObject *) mod);
}

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, core_exec},
    {0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "asyncio_guest._core",
    .m_doc = "The C core of asyncio_guest: backend thread, lockstep, wakers.",
    .m_size = sizeof(module_state),
    .m_methods = core_methods,
    .m_slots = core_slots,
    .m_traverse = core_traverse,
    .m_clear = core_clear,
    .m_free = core_free,
};

PyMODINIT_FUNC PyInit__core(void) {
  return PyModuleDef_Init(&core_module);
}
