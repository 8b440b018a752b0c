/* module.c: asyncio_guest._core, the module itself (core.h lists the rest).
 *
 * Multi-phase init; the types are heap types kept in the module state, each
 * made from its spec in its own type-*.c file.
 */
#include "core.h"

ag_core_state_t *ag_core_state_of_type(PyTypeObject *tp) {
  PyObject *mod;

  mod = PyType_GetModuleByDef(tp, &ag_core_module);
  return mod == NULL ? NULL : PyModule_GetState(mod);
}

static PyObject *core_monotonic_ns(PyObject *Py_UNUSED(mod),
                                   PyObject *Py_UNUSED(a)) {
  return PyLong_FromLongLong(ag__now_ns());
}

/* drain(fd) -> bool: empty a non-blocking fd without raising when it is
 * empty (a tick drains the run's signal socket: Python's socket.recv costs
 * a BlockingIOError there, microseconds on every wake-up). */
static PyObject *core_drain(PyObject *Py_UNUSED(mod), PyObject *arg) {
  long fd;
  int r;

  fd = PyLong_AsLong(arg);
  if (fd == -1 && PyErr_Occurred())
    return NULL;
  r = ag__fd_drain((intptr_t) fd);
  if (r < 0)
    return ag_py_error(r, "drain");
  return PyBool_FromLong(r);
}

static PyMethodDef core_methods[] = {
    {"monotonic_ns", core_monotonic_ns, METH_NOARGS,
     "The core's clock (CLOCK_MONOTONIC), in nanoseconds."},
    {"drain", core_drain, METH_O,
     "drain(fd)\n--\n\nReads a non-blocking fd until it is empty; True if "
     "anything was read."},
    {NULL, NULL, 0, NULL},
};

static int add_type(PyObject *mod, PyType_Spec *spec, PyTypeObject **slot) {
  *slot = (PyTypeObject *) PyType_FromModuleAndSpec(mod, spec, NULL);
  if (*slot == NULL)
    return -1;
  return PyModule_AddType(mod, *slot);
}

static int core_exec(PyObject *mod) {
  ag_core_state_t *st;

  st = PyModule_GetState(mod);
  ag_py_error_set_tcl_version(ag_tcl_version());
  if (add_type(mod, &ag_guest_spec, &st->guest_type) < 0)
    return -1;
  if (add_type(mod, &ag_wakehook_spec, &st->hook_type) < 0)
    return -1;
  if (add_type(mod, &ag_tclwaker_spec, &st->tcl_waker_type) < 0)
    return -1;
  if (add_type(mod, &ag_uvloopview_spec, &st->uv_view_type) < 0)
    return -1;
  if (add_type(mod, &ag_callbackwaker_spec, &st->callback_waker_type) < 0)
    return -1;
  if (add_type(mod, &ag_callbackwatcher_spec, &st->callback_watcher_type) <
      0)
    return -1;
  if (PyModule_AddStringConstant(mod, "TCL_VERSION", ag_tcl_version()) < 0)
    return -1;
  return 0;
}

static int core_traverse(PyObject *mod, visitproc visit, void *arg) {
  ag_core_state_t *st;

  st = PyModule_GetState(mod);
  Py_VISIT(st->guest_type);
  Py_VISIT(st->hook_type);
  Py_VISIT(st->tcl_waker_type);
  Py_VISIT(st->uv_view_type);
  Py_VISIT(st->callback_waker_type);
  Py_VISIT(st->callback_watcher_type);
  return 0;
}

static int core_clear(PyObject *mod) {
  ag_core_state_t *st;

  st = PyModule_GetState(mod);
  Py_CLEAR(st->guest_type);
  Py_CLEAR(st->hook_type);
  Py_CLEAR(st->tcl_waker_type);
  Py_CLEAR(st->uv_view_type);
  Py_CLEAR(st->callback_waker_type);
  Py_CLEAR(st->callback_watcher_type);
  return 0;
}

static void core_free(void *mod) {
  (void) core_clear((PyObject *) mod);
}

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, core_exec},
    {0, NULL},
};

struct PyModuleDef ag_core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "asyncio_guest._core",
    .m_doc = "The C core of asyncio_guest: backend thread, lockstep, wakers.",
    .m_size = sizeof(ag_core_state_t),
    .m_methods = core_methods,
    .m_slots = core_slots,
    .m_traverse = core_traverse,
    .m_clear = core_clear,
    .m_free = core_free,
};

PyMODINIT_FUNC PyInit__core(void) {
  return PyModuleDef_Init(&ag_core_module);
}
