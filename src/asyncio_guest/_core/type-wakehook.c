/* type-wakehook.c: asyncio_guest._core.WakeHook.
 *
 * Wraps a loop method (call_soon, call_at, ...): host code calling it
 * between ticks may schedule work earlier than the deadline the backend
 * waits for, so a hook that finds the guest ARMED or POLLING wakes it first
 * (docs/design.md, "Stale deadlines").  Inside a tick the state is IDLE and
 * the hook costs one atomic load.
 */
#include "core.h"

#include <structmember.h>

typedef struct {
  PyObject_HEAD
  PyObject *func;
  PyObject *guest;  /* a Guest, which keeps g valid */
  ag_guest_t *g;
  vectorcallfunc vectorcall;
} HookObject;

static PyObject *hook_vectorcall(PyObject *op, PyObject *const *args,
                                 size_t nargsf, PyObject *kwnames) {
  HookObject *self;
  int state;

  self = (HookObject *) op;
  /* Cheap unlocked filter: inside a tick the state is IDLE and nothing
   * needs waking; only a poll in progress can hold a stale deadline. */
  state = atomic_load(&self->g->state);
  if (state == AG_ARMED || state == AG_POLLING) {
    int err = ag_guest_wakeup(self->g);
    if (err != 0)
      return PyErr_Occurred() ? NULL : ag_py_error(err, "wakeup");
  }
  return PyObject_Vectorcall(self->func, args, nargsf, kwnames);
}

static PyObject *hook_new(PyTypeObject *tp, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"func", "guest", NULL};
  ag_core_state_t *st;
  HookObject *self;
  PyObject *func;
  PyObject *guest;
  ag_guest_t *g;

  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO:WakeHook", kwlist, &func,
                                   &guest))
    return NULL;
  st = ag_core_state_of_type(tp);
  if (st == NULL)
    return NULL;
  if (!PyCallable_Check(func)) {
    PyErr_SetString(PyExc_TypeError, "WakeHook: func must be callable");
    return NULL;
  }
  g = ag_core_guest_of(st, guest);
  if (g == NULL) {
    PyErr_SetString(PyExc_TypeError,
                    "WakeHook: guest must be an initialized Guest");
    return NULL;
  }
  self = (HookObject *) tp->tp_alloc(tp, 0);
  if (self == NULL)
    return NULL;
  self->func = Py_NewRef(func);
  self->guest = Py_NewRef(guest);
  self->g = g;
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

PyType_Spec ag_wakehook_spec = {
    .name = "asyncio_guest._core.WakeHook",
    .basicsize = sizeof(HookObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = hook_slots,
};
