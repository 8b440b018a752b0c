/* type-callbackwaker.c: asyncio_guest._core.CallbackWaker(post, tick), the
 * waker of any host that can "run this function soon on my thread"
 * (run_sync_soon_threadsafe): each wake-up, the backend thread takes the GIL
 * and calls post(tick).
 *
 * The backend thread keeps one Python thread state for its whole life,
 * made in thread_start(): taking the GIL per post is then a plain
 * PyEval_RestoreThread.  The thread state lives in a thread-local, so one
 * CallbackWaker may serve several Guests, each with its own thread.  If
 * post raises, the exception is reported through sys.unraisablehook and the
 * post fails with -ECANCELED: guest.c retries it after a growing pause.
 *
 * The GC may clear this object (in a cycle through the host's tick) before
 * the Guest that posts through it; its tp_clear then keeps post and tick
 * while a backend thread uses them (`users`, counted from thread_start to
 * thread_exit, under the GIL), and a post that still finds them cleared
 * (the thread not yet started when the clear ran) fails, to be retried
 * until its Guest closes.
 */
#include "core.h"

#include <errno.h>
#include <stddef.h>

typedef struct {
  PyObject_HEAD
  ag_waker_t base;
  PyObject *post;  /* run_sync_soon_threadsafe */
  PyObject *tick;
  Py_ssize_t users;  /* backend threads between thread_start and _exit */
} CallbackWakerObject;

#define OBJECT_OF(w) \
  ((CallbackWakerObject *) ((char *) (w) -                   \
                            offsetof(CallbackWakerObject, base)))

/* The backend thread's own thread state, while it runs. */
static _Thread_local PyGILState_STATE thread_gstate;
static _Thread_local PyThreadState *thread_saved;

/* Backend thread, first thing (no GIL yet). */
static int waker_thread_start(ag_waker_t *w) {
  thread_gstate = PyGILState_Ensure();
  OBJECT_OF(w)->users++;
  thread_saved = PyEval_SaveThread();
  return 0;
}

/* Backend thread, last thing (no GIL). */
static void waker_thread_exit(ag_waker_t *w) {
  PyEval_RestoreThread(thread_saved);
  OBJECT_OF(w)->users--;
  PyGILState_Release(thread_gstate);
}

/* Backend thread, no GIL: takes it for the post(tick) call only. */
static int waker_post(ag_waker_t *w) {
  CallbackWakerObject *self;
  PyObject *post;
  PyObject *tick;
  PyObject *res;
  int err;

  self = OBJECT_OF(w);
  err = 0;
  PyEval_RestoreThread(thread_saved);
  if (self->post == NULL || self->tick == NULL) {
    err = -ECANCELED;  /* cleared by the GC: its Guest is closing */
  } else {
    /* Own references for the call: nothing the host does meanwhile may
     * free them under us. */
    post = Py_NewRef(self->post);
    tick = Py_NewRef(self->tick);
    res = PyObject_CallOneArg(post, tick);
    if (res == NULL) {
      /* Never swallowed: reported with its traceback, then retried by the
       * core with a growing pause. */
      PyErr_WriteUnraisable(post);
      err = -ECANCELED;
    }
    Py_XDECREF(res);
    Py_DECREF(tick);
    Py_DECREF(post);
  }
  thread_saved = PyEval_SaveThread();
  return err;
}

static PyObject *waker_new(PyTypeObject *tp, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"post", "tick", NULL};
  CallbackWakerObject *self;
  PyObject *post;
  PyObject *tick;

  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO:CallbackWaker", kwlist,
                                   &post, &tick))
    return NULL;
  if (!PyCallable_Check(post) || !PyCallable_Check(tick)) {
    PyErr_Format(PyExc_TypeError,
                 "CallbackWaker: post and tick must be callable, not %.100s "
                 "and %.100s",
                 Py_TYPE(post)->tp_name, Py_TYPE(tick)->tp_name);
    return NULL;
  }
  self = (CallbackWakerObject *) tp->tp_alloc(tp, 0);
  if (self == NULL)
    return NULL;
  self->base.post = waker_post;
  self->base.thread_start = waker_thread_start;
  self->base.thread_exit = waker_thread_exit;
  self->base.prepare = NULL;
  self->post = Py_NewRef(post);
  self->tick = Py_NewRef(tick);
  self->users = 0;
  return (PyObject *) self;
}

static PyObject *waker_get_capsule(PyObject *op, void *Py_UNUSED(c)) {
  return ag_py_capsule_new(&((CallbackWakerObject *) op)->base,
                           AG_WAKER_CAPSULE, op);
}

static PyObject *waker_repr(PyObject *op) {
  CallbackWakerObject *self;

  self = (CallbackWakerObject *) op;
  if (self->post == NULL)
    return PyUnicode_FromString("<asyncio_guest CallbackWaker (cleared)>");
  return PyUnicode_FromFormat("<asyncio_guest CallbackWaker %R(%R)>",
                              self->post, self->tick);
}

static int waker_traverse(PyObject *op, visitproc visit, void *arg) {
  CallbackWakerObject *self;

  self = (CallbackWakerObject *) op;
  Py_VISIT(Py_TYPE(op));
  Py_VISIT(self->post);
  Py_VISIT(self->tick);
  return 0;
}

static int waker_clear(PyObject *op) {
  CallbackWakerObject *self;

  self = (CallbackWakerObject *) op;
  if (self->users > 0)
    return 0;  /* a backend thread uses them; its Guest's clear joins it */
  Py_CLEAR(self->post);
  Py_CLEAR(self->tick);
  return 0;
}

static void waker_dealloc(PyObject *op) {
  CallbackWakerObject *self;
  PyTypeObject *tp;

  self = (CallbackWakerObject *) op;
  tp = Py_TYPE(op);
  PyObject_GC_UnTrack(op);
  /* Nobody posts any more: every Guest holding us joined its thread. */
  Py_CLEAR(self->post);
  Py_CLEAR(self->tick);
  tp->tp_free(op);
  Py_DECREF(tp);
}

static PyGetSetDef waker_getset[] = {
    {"_ag_waker", waker_get_capsule, NULL,
     "The C waker, as a capsule for Guest.threaded.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot waker_slots[] = {
    {Py_tp_doc,
     "CallbackWaker(post, tick)\n--\n\n"
     "The waker of a host that can run a function soon on its thread:\n"
     "for each wake-up the backend thread takes the GIL and calls\n"
     "post(tick) (run_sync_soon_threadsafe).  An exception from post is\n"
     "reported through sys.unraisablehook and the post retried after\n"
     "10 ms, doubling up to 1 s.  Give it to Guest.threaded."},
    {Py_tp_new, waker_new},
    {Py_tp_dealloc, waker_dealloc},
    {Py_tp_traverse, waker_traverse},
    {Py_tp_clear, waker_clear},
    {Py_tp_repr, waker_repr},
    {Py_tp_getset, waker_getset},
    {0, NULL},
};

PyType_Spec ag_callbackwaker_spec = {
    .name = "asyncio_guest._core.CallbackWaker",
    .basicsize = sizeof(CallbackWakerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = waker_slots,
};
