/* core.h: what the files of asyncio_guest._core share.
 *
 * The extension is one module and one file per Python type:
 *
 *   module.c                the module: exec, state, monotonic_ns, TCL_VERSION
 *   type-guest.c            Guest: one backend thread (or a watcher) in
 *                           lockstep with the host (guest.c); made by
 *                           Guest.threaded / Guest.threadless, the one wake
 *                           seam: a capsule from `_ag_waker` / `_ag_watcher`
 *   type-callbackwaker.c    CallbackWaker: post(tick) from the backend thread
 *                           (run_sync_soon_threadsafe)
 *   type-callbackwatcher.c  CallbackWatcher: a watcher of three callables
 *   type-wakehook.c         WakeHook: wraps a loop method so that host code
 *                           calling it between ticks wakes a stale poll
 *   type-tclwaker.c         TclWaker: the native Tk waker (waker-tcl.c)
 *   type-uvloopview.c       UVLoopView: a uvloop loop's libuv state (loop-uv.c)
 *
 * glue.c (shared with _glib and _win32) turns core errors into exceptions
 * and holds the capsule helpers and the native wakers' skeleton.
 * Heap types, their module found with PyType_GetModuleByDef.
 */
#ifndef ASYNCIO_GUEST_CORE_H
#define ASYNCIO_GUEST_CORE_H

#include "glue.h"

typedef struct {
  PyTypeObject *guest_type;
  PyTypeObject *hook_type;
  PyTypeObject *tcl_waker_type;
  PyTypeObject *uv_view_type;
  PyTypeObject *callback_waker_type;
  PyTypeObject *callback_watcher_type;
} ag_core_state_t;

extern struct PyModuleDef ag_core_module;

/* The state of the _core module that made tp (NULL with an exception). */
ag_core_state_t *ag_core_state_of_type(PyTypeObject *tp);

/* The types' specs, one per type-*.c. */
extern PyType_Spec ag_guest_spec;
extern PyType_Spec ag_wakehook_spec;
extern PyType_Spec ag_tclwaker_spec;
extern PyType_Spec ag_uvloopview_spec;
extern PyType_Spec ag_callbackwaker_spec;
extern PyType_Spec ag_callbackwatcher_spec;

/* type-guest.c: the core guest of obj if obj is a Guest of st's module
 * that was started, else NULL (no exception set).  Valid while obj is. */
ag_guest_t *ag_core_guest_of(ag_core_state_t *st, PyObject *obj);

#endif /* ASYNCIO_GUEST_CORE_H */
