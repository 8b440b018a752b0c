/* glue.h: what the Python glue of every extension shares (glue.c).
 *
 * glue.c is compiled into each extension that needs it (asyncio_guest._core,
 * _glib, _win32: setup.py); with hidden visibility each has its own copy,
 * none is exported.  It holds:
 *
 *   - ag_py_error(): the one place where a core error (errors.h, or a
 *     negative errno) becomes a Python exception;
 *   - ag_py_parse_fds(): the `fds=` argument of the native watchers;
 *   - the capsules through which a waker or watcher reaches
 *     _core.Guest (AG_WAKER_CAPSULE, AG_WATCHER_CAPSULE in guest.h): made
 *     owning a reference to the object that provides them, and read from an
 *     object's `_ag_waker` / `_ag_watcher` attribute;
 *   - the skeleton of the native wakers (TclWaker, GLibWaker, Win32Waker):
 *     one object layout and the methods they share, driven by an ops table.
 */
#ifndef ASYNCIO_GUEST_GLUE_H
#define ASYNCIO_GUEST_GLUE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "guest.h"

/* ---- errors -------------------------------------------------------------- */

/* Sets the exception for err (< 0) and returns NULL.  The core's own codes
 * (errors.h) become RuntimeError("<what>: <what went wrong>"); anything else
 * is an errno value (on Windows already mapped from a Win32 code by
 * errno-win32.h) and becomes OSError. */
PyObject *ag_py_error(int err, const char *what);

/* The Tcl version _core was built for, named by AG_ETCL_STUBS's message
 * (set once by _core, which alone links a Tcl waker). */
void ag_py_error_set_tcl_version(const char *version);

/* ---- arguments ----------------------------------------------------------- */

/* fds=None -> 0; a sequence of 1 or 2 fds (ints >= 0) -> its length, the fds
 * in fds[]; -1 with an exception set. */
int ag_py_parse_fds(PyObject *obj, int fds[2], const char *what);

/* ---- capsules ------------------------------------------------------------ */

/* A capsule named `name` holding ptr, whose context is a new reference to
 * owner, dropped by the capsule's destructor: whoever holds the capsule
 * keeps the object that provides ptr alive.  Every AG_WAKER_CAPSULE and
 * AG_WATCHER_CAPSULE capsule is made so (guest.h). */
PyObject *ag_py_capsule_new(void *ptr, const char *name, PyObject *owner);

/* obj._ag_waker / obj._ag_watcher, checked: the C waker or watcher, and in
 * *capsule a new reference to the capsule (which owns obj).  NULL with
 * TypeError naming obj's type if the attribute is missing or not such a
 * capsule; other errors of the attribute (a closed waker) pass through. */
ag_waker_t *ag_py_get_waker(PyObject *obj, const char *what,
                            PyObject **capsule);
ag_watcher_t *ag_py_get_watcher(PyObject *obj, const char *what,
                                PyObject **capsule);

/* For the tp_traverse of an object holding such a capsule: visits the
 * capsule's owner when the capsule is held by nobody else (the GC cannot
 * see through a capsule; unvisited, a cycle through the owner would never
 * be collected). */
int ag_py_capsule_traverse(PyObject *capsule, visitproc visit, void *arg);

/* ---- the native wakers' skeleton ---------------------------------------- */

/* What a native waker type provides; `w` is its C waker. */
typedef struct ag_py_native_ops_s {
  const char *name;                    /* "TclWaker", for messages */
  ag_waker_t *(*waker)(void *w);       /* thread mode; else NULL */
  ag_watcher_t *(*watcher)(void *w);   /* threadless; NULL: never */
  int (*is_home)(void *w);             /* NULL: any thread may call */
  int (*post_soon)(void *w);
  void (*close)(void *w);              /* idempotent */
  /* Frees w once no thread can post any more.  NULL: close() releases w
   * itself (the Tcl waker, freed once no queued event refers to it), and
   * the object forgets it then. */
  void (*free)(void *w);
} ag_py_native_ops_t;

/* The object layout of every native waker type. */
typedef struct {
  PyObject_HEAD
  void *w;                          /* NULL: not made, or closed and released */
  PyObject *callback;               /* called by ag_py_native_fire, or NULL */
  const ag_py_native_ops_t *ops;    /* set by the type's tp_init */
} ag_py_native_t;

/* The `fire` of waker-glib.c and waker-win32.c (data: the object): takes
 * the GIL, calls callback(); its exception is unraisable, never passed into
 * the host's loop. */
void ag_py_native_fire(void *data);

/* RuntimeError if self was made already (tp_init called twice). */
int ag_py_native_check_new(ag_py_native_t *self);

PyObject *ag_py_native_post_soon(PyObject *op, PyObject *unused);
PyObject *ag_py_native_close(PyObject *op, PyObject *unused);
PyObject *ag_py_native_get_waker(PyObject *op, void *closure);
PyObject *ag_py_native_get_watcher(PyObject *op, void *closure);
PyObject *ag_py_native_get_threadless(PyObject *op, void *closure);
int ag_py_native_traverse(PyObject *op, visitproc visit, void *arg);
int ag_py_native_clear(PyObject *op);
void ag_py_native_dealloc(PyObject *op);

/* Method and getset table entries (the types add their own docs). */
#define AG_PY_NATIVE_METHODS(post_soon_doc, close_doc)                  \
  {"post_soon", ag_py_native_post_soon, METH_NOARGS, post_soon_doc},   \
  {"close", ag_py_native_close, METH_NOARGS, close_doc}
#define AG_PY_NATIVE_WAKER_GETSET                                        \
  {"_ag_waker", ag_py_native_get_waker, NULL,                          \
   "The C waker (thread mode), as a capsule for "                      \
   "asyncio_guest._core.Guest.threaded.",                              \
   NULL}
#define AG_PY_NATIVE_WATCHER_GETSET                                      \
  {"_ag_watcher", ag_py_native_get_watcher, NULL,                      \
   "The C watcher (made with fds), as a capsule for "                  \
   "asyncio_guest._core.Guest.threadless.",                            \
   NULL},                                                              \
  {"threadless", ag_py_native_get_threadless, NULL,                    \
   "True if made with fds: the host watches them itself (no backend "  \
   "thread).",                                                         \
   NULL}
#define AG_PY_NATIVE_SLOTS                          \
  {Py_tp_dealloc, ag_py_native_dealloc},            \
  {Py_tp_traverse, ag_py_native_traverse},          \
  {Py_tp_clear, ag_py_native_clear}

/* The state of a native waker module (_glib, _win32): its one heap type,
 * made from a spec at exec; the module's traverse/clear/free slots. */
typedef struct {
  PyTypeObject *waker_type;
} ag_py_waker_module_state;

int ag_py_waker_module_exec(PyObject *mod, PyType_Spec *spec);
int ag_py_waker_module_traverse(PyObject *mod, visitproc visit, void *arg);
int ag_py_waker_module_clear(PyObject *mod);
void ag_py_waker_module_free(void *mod);

#endif /* ASYNCIO_GUEST_GLUE_H */
