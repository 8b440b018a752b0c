/* glue.c: the Python glue every extension shares (see glue.h). */
#include "glue.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>

/* ---- errors -------------------------------------------------------------- */

static const char *tcl_version = "?";

void ag_py_error_set_tcl_version(const char *version) {
  tcl_version = version;
}

/* The one place where a core error becomes a Python exception. */
PyObject *ag_py_error(int err, const char *what) {
  switch (err) {
    case AG_ECLOSED:
      PyErr_Format(PyExc_RuntimeError, "%s: the guest is closed", what);
      break;
    case AG_ELOCKSTEP:
      PyErr_Format(PyExc_RuntimeError,
                   "%s: the backend thread is polling; the host may only "
                   "tick after the backend posted (lockstep violated)",
                   what);
      break;
    case AG_EWAKER_CLOSED:
      PyErr_Format(PyExc_RuntimeError, "%s: the waker is closed", what);
      break;
    case AG_EWRONG_THREAD:
      PyErr_Format(PyExc_RuntimeError,
                   "%s: call it on the thread that owns the Tcl interpreter",
                   what);
      break;
    case AG_ETCL_STUBS:
      PyErr_Format(PyExc_RuntimeError,
                   "%s: the Tcl stubs table of this interpreter was refused "
                   "(asyncio_guest was built for Tcl %s)",
                   what, tcl_version);
      break;
    case AG_ETCL_NOTHREADS:
      PyErr_Format(PyExc_RuntimeError,
                   "%s: this Tcl is built without threads; the native Tk "
                   "waker needs a threaded Tcl (tcl_platform(threaded))",
                   what);
      break;
    case AG_ETCL_NONE:
      PyErr_Format(PyExc_RuntimeError,
                   "%s: asyncio_guest was built without Tcl (no "
                   "tclConfig.sh found; set TCL_CONFIG when building)",
                   what);
      break;
    case AG_EUV_LAYOUT:
      PyErr_Format(PyExc_RuntimeError,
                   "%s: this uvloop's memory layout is not the one "
                   "asyncio_guest knows (uv_loop_t / Loop fields)",
                   what);
      break;
    default:
      if (AG_IS_OWN_ERROR(err) || err >= 0) {
        PyErr_Format(PyExc_SystemError, "%s: unknown core error %d", what,
                     err);
        break;
      }
      /* A real OS failure.  On Windows the core has already turned Win32
       * codes into errno values (errno-win32.h). */
      errno = -err;
      PyErr_SetFromErrno(PyExc_OSError);
      break;
  }
  return NULL;
}

/* ---- arguments ----------------------------------------------------------- */

int ag_py_parse_fds(PyObject *obj, int fds[2], const char *what) {
  PyObject *seq;
  Py_ssize_t n;
  Py_ssize_t i;
  long fd;

  if (obj == Py_None)
    return 0;
  seq = PySequence_Fast(obj, "fds must be a sequence of ints");
  if (seq == NULL)
    return -1;
  n = PySequence_Fast_GET_SIZE(seq);
  if (n < 1 || n > 2) {
    Py_DECREF(seq);
    PyErr_Format(PyExc_ValueError, "%s: fds must hold 1 or 2 fds", what);
    return -1;
  }
  for (i = 0; i < n; i++) {
    fd = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
    if (fd == -1 && PyErr_Occurred()) {
      Py_DECREF(seq);
      return -1;
    }
    if (fd < 0 || fd > INT_MAX) {
      Py_DECREF(seq);
      PyErr_Format(PyExc_ValueError, "%s: bad fd %ld", what, fd);
      return -1;
    }
    fds[i] = (int) fd;
  }
  Py_DECREF(seq);
  return (int) n;
}

/* ---- capsules ------------------------------------------------------------ */

static void capsule_destructor(PyObject *capsule) {
  Py_XDECREF((PyObject *) PyCapsule_GetContext(capsule));
}

PyObject *ag_py_capsule_new(void *ptr, const char *name, PyObject *owner) {
  PyObject *capsule;

  capsule = PyCapsule_New(ptr, name, capsule_destructor);
  if (capsule == NULL)
    return NULL;
  if (PyCapsule_SetContext(capsule, Py_NewRef(owner)) != 0) {
    Py_DECREF(owner);
    Py_DECREF(capsule);
    return NULL;
  }
  return capsule;
}

static void *get_capsule(PyObject *obj, const char *attr, const char *name,
                         const char *what, const char *kinds,
                         PyObject **out) {
  PyObject *capsule;
  void *ptr;

  *out = NULL;
  capsule = PyObject_GetAttrString(obj, attr);
  if (capsule == NULL) {
    if (!PyErr_ExceptionMatches(PyExc_AttributeError))
      return NULL;  /* a closed waker, say: its own message */
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "%s: %.200s has no %s (%s)", what,
                 Py_TYPE(obj)->tp_name, attr, kinds);
    return NULL;
  }
  /* Owned capsules only: the context is what keeps the provider alive. */
  if (!PyCapsule_IsValid(capsule, name) ||
      PyCapsule_GetContext(capsule) == NULL) {
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError,
                 "%s: %.200s.%s is not an asyncio_guest capsule (%s)", what,
                 Py_TYPE(obj)->tp_name, attr, kinds);
    Py_DECREF(capsule);
    return NULL;
  }
  ptr = PyCapsule_GetPointer(capsule, name);
  *out = capsule;
  return ptr;
}

ag_waker_t *ag_py_get_waker(PyObject *obj, const char *what,
                            PyObject **capsule) {
  return get_capsule(obj, "_ag_waker", AG_WAKER_CAPSULE, what,
                     "a waker is a CallbackWaker, or a TclWaker, GLibWaker or "
                     "Win32Waker made without fds",
                     capsule);
}

ag_watcher_t *ag_py_get_watcher(PyObject *obj, const char *what,
                                PyObject **capsule) {
  return get_capsule(obj, "_ag_watcher", AG_WATCHER_CAPSULE, what,
                     "a watcher is a CallbackWatcher, or a TclWaker or "
                     "GLibWaker made with fds",
                     capsule);
}

int ag_py_capsule_traverse(PyObject *capsule, visitproc visit, void *arg) {
  PyObject *owner;

  if (capsule == NULL || Py_REFCNT(capsule) != 1)
    return 0;
  owner = PyCapsule_GetContext(capsule);  /* valid: checked when taken */
  Py_VISIT(owner);
  return 0;
}

/* ---- the native wakers' skeleton ---------------------------------------- */

static PyObject *native_error(ag_py_native_t *self, int err,
                              const char *member) {
  char what[96];

  (void) snprintf(what, sizeof(what), "%s.%s",
                  self->ops != NULL ? self->ops->name : Py_TYPE(self)->tp_name,
                  member);
  return ag_py_error(err, what);
}

void ag_py_native_fire(void *data) {
  ag_py_native_t *self;
  PyGILState_STATE gstate;
  PyObject *callback;
  PyObject *res;

  /* The host's loop may or may not hold the GIL here (a binding iterating
   * GLib from Python releases it; C code may not): PyGILState does both. */
  gstate = PyGILState_Ensure();
  self = data;
  Py_INCREF(self);  /* the callback may drop the last other reference */
  callback = Py_XNewRef(self->callback);
  if (callback != NULL) {
    res = PyObject_CallNoArgs(callback);
    if (res == NULL)
      PyErr_WriteUnraisable(callback);  /* never into the host's loop */
    Py_XDECREF(res);
    Py_DECREF(callback);
  }
  Py_DECREF(self);
  PyGILState_Release(gstate);
}

int ag_py_native_check_new(ag_py_native_t *self) {
  if (self->w != NULL) {
    PyErr_Format(PyExc_RuntimeError, "%s is already initialized",
                 Py_TYPE(self)->tp_name);
    return -1;
  }
  return 0;
}

/* 0 if the calling thread may use self's waker, else -1 with the error. */
static int check_home(ag_py_native_t *self, const char *member) {
  if (self->ops->is_home != NULL && !self->ops->is_home(self->w)) {
    native_error(self, AG_EWRONG_THREAD, member);
    return -1;
  }
  return 0;
}

PyObject *ag_py_native_post_soon(PyObject *op, PyObject *Py_UNUSED(a)) {
  ag_py_native_t *self;
  int err;

  self = (ag_py_native_t *) op;
  if (self->w == NULL)
    return self->ops == NULL
               ? PyErr_Format(PyExc_RuntimeError, "%s is not initialized",
                              Py_TYPE(op)->tp_name)
               : native_error(self, AG_EWAKER_CLOSED, "post_soon");
  if (check_home(self, "post_soon") < 0)
    return NULL;
  err = self->ops->post_soon(self->w);
  if (err != 0)
    return native_error(self, err, "post_soon");
  Py_RETURN_NONE;
}

PyObject *ag_py_native_close(PyObject *op, PyObject *Py_UNUSED(a)) {
  ag_py_native_t *self;

  self = (ag_py_native_t *) op;
  if (self->w == NULL)
    Py_RETURN_NONE;
  if (check_home(self, "close") < 0)
    return NULL;
  self->ops->close(self->w);
  if (self->ops->free == NULL)
    self->w = NULL;  /* released by close() */
  Py_RETURN_NONE;
}

PyObject *ag_py_native_get_waker(PyObject *op, void *Py_UNUSED(c)) {
  ag_py_native_t *self;
  ag_waker_t *base;

  self = (ag_py_native_t *) op;
  if (self->w == NULL)
    return native_error(self, AG_EWAKER_CLOSED, "_ag_waker");
  base = self->ops->waker(self->w);
  if (base == NULL)
    return PyErr_Format(PyExc_AttributeError,
                        "a threadless %s has no _ag_waker", self->ops->name);
  return ag_py_capsule_new(base, AG_WAKER_CAPSULE, op);
}

PyObject *ag_py_native_get_watcher(PyObject *op, void *Py_UNUSED(c)) {
  ag_py_native_t *self;
  ag_watcher_t *base;

  self = (ag_py_native_t *) op;
  if (self->w == NULL)
    return native_error(self, AG_EWAKER_CLOSED, "_ag_watcher");
  base = self->ops->watcher == NULL ? NULL : self->ops->watcher(self->w);
  if (base == NULL)
    return PyErr_Format(PyExc_AttributeError,
                        "%s without fds has no _ag_watcher", self->ops->name);
  return ag_py_capsule_new(base, AG_WATCHER_CAPSULE, op);
}

PyObject *ag_py_native_get_threadless(PyObject *op, void *Py_UNUSED(c)) {
  ag_py_native_t *self;

  self = (ag_py_native_t *) op;
  return PyBool_FromLong(self->w != NULL && self->ops->watcher != NULL &&
                         self->ops->watcher(self->w) != NULL);
}

int ag_py_native_traverse(PyObject *op, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(op));
  Py_VISIT(((ag_py_native_t *) op)->callback);
  return 0;
}

int ag_py_native_clear(PyObject *op) {
  ag_py_native_t *self;

  self = (ag_py_native_t *) op;
  if (self->callback != NULL && self->w != NULL) {
    /* No dispatch may reach a cleared callback.  (A waker without a
     * callback, the Tcl one, is left alone: only its own thread may close
     * it.)  A Guest posting through us holds a reference to us until its
     * thread is joined, so w itself stays until the dealloc. */
    self->ops->close(self->w);
    if (self->ops->free == NULL)
      self->w = NULL;
  }
  Py_CLEAR(self->callback);
  return 0;
}

void ag_py_native_dealloc(PyObject *op) {
  ag_py_native_t *self;
  PyTypeObject *tp;

  self = (ag_py_native_t *) op;
  tp = Py_TYPE(op);
  PyObject_GC_UnTrack(op);
  (void) ag_py_native_clear(op);
  if (self->w != NULL) {
    if (self->ops->free != NULL)
      self->ops->free(self->w);  /* nobody can post any more */
    else if (self->ops->is_home == NULL || self->ops->is_home(self->w))
      self->ops->close(self->w);
    /* else: the Tcl waker's objects belong to the interpreter's thread; one
     * dropped elsewhere without close() leaks its few bytes rather than
     * touch them. */
    self->w = NULL;
  }
  tp->tp_free(op);
  Py_DECREF(tp);
}

/* -- the native waker modules' state ------------------------------------- */

int ag_py_waker_module_exec(PyObject *mod, PyType_Spec *spec) {
  ag_py_waker_module_state *st = PyModule_GetState(mod);

  st->waker_type = (PyTypeObject *) PyType_FromModuleAndSpec(mod, spec, NULL);
  if (st->waker_type == NULL)
    return -1;
  return PyModule_AddType(mod, st->waker_type);
}

int ag_py_waker_module_traverse(PyObject *mod, visitproc visit, void *arg) {
  Py_VISIT(((ag_py_waker_module_state *) PyModule_GetState(mod))->waker_type);
  return 0;
}

int ag_py_waker_module_clear(PyObject *mod) {
  Py_CLEAR(((ag_py_waker_module_state *) PyModule_GetState(mod))->waker_type);
  return 0;
}

void ag_py_waker_module_free(void *mod) {
  (void) ag_py_waker_module_clear((PyObject *) mod);
}
