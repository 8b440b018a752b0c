/* type-callbackwatcher.c: asyncio_guest._core.CallbackWatcher(watch,
 * fire_soon, unwatch), a threadless-mode watcher written in Python (Qt's
 * QSocketNotifier + QTimer, say): guest.c's watch / fire_soon / unwatch
 * become calls of the three callables.
 *
 * All three are called on the host thread with the GIL held: the Guest
 * methods that lead here are called from Python, and Guest.close() keeps
 * the GIL in threadless mode.  An exception raised by watch() or
 * fire_soon() stays set and is raised by that Guest method (guest.c is told
 * -ECANCELED); one raised by unwatch() is reported through
 * sys.unraisablehook (unwatch has no caller to raise it to: a tick starting,
 * or the guest closing).
 */
#include "core.h"

#include <errno.h>
#include <stddef.h>

typedef struct {
  PyObject_HEAD
  ag_watcher_t base;
  PyObject *watch;      /* watch(timeout: float | None) */
  PyObject *fire_soon;  /* fire_soon() */
  PyObject *unwatch;    /* unwatch() */
} CallbackWatcherObject;

#define OBJECT_OF(w) \
  ((CallbackWatcherObject *) ((char *) (w) -                   \
                              offsetof(CallbackWatcherObject, base)))

/* 0, or -ECANCELED with the exception set. */
static int call(PyObject *fn, PyObject *arg) {
  PyObject *res;

  if (fn == NULL) {
    PyErr_SetString(PyExc_RuntimeError,
                    "CallbackWatcher: cleared by the garbage collector");
    return -ECANCELED;
  }
  Py_INCREF(fn);  /* the call may drop the watcher's reference */
  res = arg == NULL ? PyObject_CallNoArgs(fn) : PyObject_CallOneArg(fn, arg);
  Py_DECREF(fn);
  if (res == NULL)
    return -ECANCELED;
  Py_DECREF(res);
  return 0;
}

static int watcher_watch(ag_watcher_t *w, int64_t deadline_ns) {
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
  err = call(OBJECT_OF(w)->watch, timeout);
  Py_DECREF(timeout);
  return err;
}

static int watcher_fire_soon(ag_watcher_t *w) {
  return call(OBJECT_OF(w)->fire_soon, NULL);
}

static void watcher_unwatch(ag_watcher_t *w) {
  CallbackWatcherObject *self;

  self = OBJECT_OF(w);
  if (self->unwatch == NULL)
    return;  /* cleared: nothing left to stop */
  if (call(self->unwatch, NULL) != 0)
    PyErr_WriteUnraisable(self->unwatch);
}

static PyObject *watcher_new(PyTypeObject *tp, PyObject *args,
                             PyObject *kwds) {
  static char *kwlist[] = {"watch", "fire_soon", "unwatch", NULL};
  CallbackWatcherObject *self;
  PyObject *fns[3];
  int i;

  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO:CallbackWatcher", kwlist,
                                   &fns[0], &fns[1], &fns[2]))
    return NULL;
  for (i = 0; i < 3; i++) {
    if (!PyCallable_Check(fns[i])) {
      PyErr_Format(PyExc_TypeError,
                   "CallbackWatcher: %s must be callable, not %.100s",
                   kwlist[i], Py_TYPE(fns[i])->tp_name);
      return NULL;
    }
  }
  self = (CallbackWatcherObject *) tp->tp_alloc(tp, 0);
  if (self == NULL)
    return NULL;
  self->base.watch = watcher_watch;
  self->base.fire_soon = watcher_fire_soon;
  self->base.unwatch = watcher_unwatch;
  self->watch = Py_NewRef(fns[0]);
  self->fire_soon = Py_NewRef(fns[1]);
  self->unwatch = Py_NewRef(fns[2]);
  return (PyObject *) self;
}

static PyObject *watcher_get_capsule(PyObject *op, void *Py_UNUSED(c)) {
  return ag_py_capsule_new(&((CallbackWatcherObject *) op)->base,
                           AG_WATCHER_CAPSULE, op);
}

static int watcher_traverse(PyObject *op, visitproc visit, void *arg) {
  CallbackWatcherObject *self;

  self = (CallbackWatcherObject *) op;
  Py_VISIT(Py_TYPE(op));
  Py_VISIT(self->watch);
  Py_VISIT(self->fire_soon);
  Py_VISIT(self->unwatch);
  return 0;
}

static int watcher_clear(PyObject *op) {
  CallbackWatcherObject *self;

  self = (CallbackWatcherObject *) op;
  Py_CLEAR(self->watch);
  Py_CLEAR(self->fire_soon);
  Py_CLEAR(self->unwatch);
  return 0;
}

static void watcher_dealloc(PyObject *op) {
  PyTypeObject *tp;

  tp = Py_TYPE(op);
  PyObject_GC_UnTrack(op);
  (void) watcher_clear(op);
  tp->tp_free(op);
  Py_DECREF(tp);
}

static PyGetSetDef watcher_getset[] = {
    {"_ag_watcher", watcher_get_capsule, NULL,
     "The C watcher, as a capsule for Guest.threadless.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot watcher_slots[] = {
    {Py_tp_doc,
     "CallbackWatcher(watch, fire_soon, unwatch)\n--\n\n"
     "A threadless-mode watcher made of three callables, called on the\n"
     "host thread: watch(timeout) starts watching the backend fd (and the\n"
     "signal fd) and a timer of timeout seconds (None: none), and runs the\n"
     "tick when either fires; fire_soon() runs it as soon as it can;\n"
     "unwatch() stops both.  Give it to Guest.threadless."},
    {Py_tp_new, watcher_new},
    {Py_tp_dealloc, watcher_dealloc},
    {Py_tp_traverse, watcher_traverse},
    {Py_tp_clear, watcher_clear},
    {Py_tp_getset, watcher_getset},
    {0, NULL},
};

PyType_Spec ag_callbackwatcher_spec = {
    .name = "asyncio_guest._core.CallbackWatcher",
    .basicsize = sizeof(CallbackWatcherObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = watcher_slots,
};
