/* type-uvloopview.c: asyncio_guest._core.UVLoopView, a uvloop loop's libuv
 * state (ready work, timers) read from C (loop-uv.c).
 */
#include "core.h"

#include <string.h>

typedef struct {
  PyObject_HEAD
  PyObject *loop;
  ag_uv_t uv;
  size_t last_error;  /* offset of Loop._last_error, once driving */
  int backend_fd;
  int stopped;        /* stop(): run() makes no pass any more */
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
  self->backend_fd = fd;
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

static int uv_view_due(UVViewObject *self) {
  PyObject *ready;
  int64_t due;

  ready = ag_uv_ready_queue(&self->uv);
  if (Py_SIZE(ready) > 0 || ag_uv_pending(&self->uv))
    return 1;
  due = ag_uv_next_timer_ns(&self->uv);
  return due >= 0 && due <= ag__now_ns();
}

/* drive(uv_run, probe): from now on run() drives the loop.  uv_run is
 * the address of uv_run() in the loop's uvloop module; the caller has
 * queued (call_soon) a callback that raises the BaseException `probe`.  One
 * pass runs it: uvloop's Loop._stop() then stores it in _last_error and sets
 * _stopping, which is how the fields run() reads are found and checked
 * on the live loop.  Both are put back (no error, not stopping). */
static PyObject *uv_view_drive(PyObject *op, PyObject *args) {
  UVViewObject *self;
  unsigned long long address;
  PyObject *probe;
  size_t offset;
  void **slot;
  int err;

  self = (UVViewObject *) op;
  if (uv_view_check(self) < 0)
    return NULL;
  if (!PyArg_ParseTuple(args, "KO:drive", &address, &probe))
    return NULL;
  if (address == 0 || ag_uv_stopping(&self->uv) != 0)
    return ag_py_error(AG_EUV_LAYOUT, "UVLoopView.drive (Loop._stopping)");
  ag_uv_set_run(&self->uv, (ag_uv_run_fn) (uintptr_t) address);
  Py_INCREF(self->loop);
  Py_BEGIN_ALLOW_THREADS
  err = ag_uv_run_nowait(&self->uv);
  Py_END_ALLOW_THREADS
  Py_DECREF(self->loop);
  if (err == 0 && PyErr_Occurred())
    err = -1;
  if (err == 0 && ag_uv_stopping(&self->uv) != 1)
    err = AG_EUV_LAYOUT;
  if (err == 0)
    err = ag_uv_find_slot(&self->uv, probe,
                          (size_t) Py_TYPE(self->loop)->tp_basicsize, &offset);
  if (err != 0) {
    ag_uv_set_run(&self->uv, NULL);
    if (err == -1)
      return NULL;
    return ag_py_error(err, "UVLoopView.drive (Loop._last_error)");
  }
  ag_uv_clear_stopping(&self->uv);
  slot = ag_uv_slot(&self->uv, offset);
  Py_SETREF(*(PyObject **) slot, Py_NewRef(Py_None));
  self->last_error = offset;
  Py_RETURN_NONE;
}

/* One uv_run(UV_RUN_NOWAIT) pass, without the GIL, as uvloop runs it:
 * each of its callbacks takes the GIL (Cython's `with gil`) and lets it go
 * again, so other threads get it between them (held across the pass, a
 * thread waiting for it, such as a timer thread posting to pygame, never
 * got it while a guest flooded).  -1 with an exception set: a callback's
 * BaseException (uvloop keeps it in _last_error and stops, where
 * run_forever() would re-raise it), the loop no longer stopping. */
static int uv_view_pass(UVViewObject *self) {
  PyObject *exc;
  PyObject **slot;
  int err;

  Py_INCREF(self->loop);  /* as uvloop does around uv_run() */
  Py_BEGIN_ALLOW_THREADS
  err = ag_uv_run_nowait(&self->uv);
  Py_END_ALLOW_THREADS
  Py_DECREF(self->loop);
  if (err != 0) {
    ag_py_error(err, "UVLoopView.run");
    return -1;
  }
  if (ag_uv_stopping(&self->uv)) {
    ag_uv_clear_stopping(&self->uv);
    slot = (PyObject **) ag_uv_slot(&self->uv, self->last_error);
    exc = *slot;
    *slot = Py_NewRef(Py_None);
    if (exc != Py_None && PyExceptionInstance_Check(exc)) {
      PyErr_SetObject((PyObject *) Py_TYPE(exc), exc);
      Py_DECREF(exc);
      return -1;
    }
    Py_XDECREF(exc);
  }
  return PyErr_Occurred() ? -1 : 0;
}

static int uv_view_driving(UVViewObject *self) {
  if (uv_view_check(self) < 0)
    return -1;
  if (self->last_error == 0) {
    ag_py_error(AG_EUV_LAYOUT, "UVLoopView.run (not driving)");
    return -1;
  }
  return 0;
}

/* run(budget) -> bool: passes while work is ready (uv_view_due, or the
 * backend fd readable), for at most `budget` seconds, and not after stop();
 * at least one.  False: it stopped because nothing was ready (the loop is
 * idle: the fd was just found not readable); True: time or stop(). */
static PyObject *uv_view_run(PyObject *op, PyObject *arg) {
  UVViewObject *self;
  double budget;
  int64_t end;
  int ready;

  self = (UVViewObject *) op;
  budget = PyFloat_AsDouble(arg);
  if (budget == -1.0 && PyErr_Occurred())
    return NULL;
  if (uv_view_driving(self) < 0)
    return NULL;
  end = ag__now_ns() + (int64_t) (budget > 0 ? budget * 1e9 : 0);
  for (;;) {
    if (uv_view_pass(self) < 0)
      return NULL;
    if (self->stopped || ag__now_ns() >= end)
      Py_RETURN_TRUE;
    if (uv_view_due(self))
      continue;
    ready = ag__fd_readable(self->backend_fd);
    if (ready < 0)
      return ag_py_error(ready, "UVLoopView.run (poll)");
    if (!ready)
      Py_RETURN_FALSE;
  }
}

/* stop(): run() makes no further pass (the run's teardown is done). */
static PyObject *uv_view_stop(PyObject *op, PyObject *Py_UNUSED(a)) {
  ((UVViewObject *) op)->stopped = 1;
  Py_RETURN_NONE;
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
    {"drive", uv_view_drive, METH_VARARGS,
     "drive(uv_run, probe)\n--\n\nFrom now on run() drives the loop "
     "through uv_run (its address);\nthe fields it reads are found with a "
     "queued callback raising probe."},
    {"run", uv_view_run, METH_O,
     "run(budget)\n--\n\nPasses while work is ready, for at most budget "
     "seconds (at least one);\nFalse if it stopped because the loop is "
     "idle.  Raises what a callback\nraised (a BaseException)."},
    {"stop", uv_view_stop, METH_NOARGS,
     "stop()\n--\n\nrun() makes no further pass."},
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

PyType_Spec ag_uvloopview_spec = {
    .name = "asyncio_guest._core.UVLoopView",
    .basicsize = sizeof(UVViewObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = uv_view_slots,
};
