/* waker-tcl.c: wake a Tk host from the backend thread, without the GIL.
 *
 * Built against the Tcl *stubs* library: we link no libtcl of our own.
 * Tcl_InitStubs() takes the function table from the very interpreter that
 * _tkinter created, so every Tcl call below goes into _tkinter's Tcl, by
 * construction (two Tcl libraries in one process would be two notifiers,
 * and an alert sent to one would never wake the other).
 *
 * The event proc does not call Python.  It evaluates a Tcl command that
 * _tkinter created for our tick (tkapp.createcommand), so _tkinter takes the
 * GIL and restores its per-thread state exactly as for any Tk callback.  A
 * proc calling Python directly would leave _tkinter's saved thread state
 * inconsistent inside a nested `update` or `wait window`.
 *
 * Threadless mode (Tcl file handlers and a timer, no backend thread) is in
 * watcher-tcl.c; waker-tcl.h is what the two share.
 */
#include "waker-tcl.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

static void unref(ag_tcl_waker_t *w) {
  if (atomic_fetch_sub(&w->refs, 1) == 1)
    free(w);
}

/* Host thread: evaluate the tick command, leaving the interpreter's result
 * and error state as they were (we may be inside another command, such as
 * `update`, whose result is being built). */
void ag__tcl_run_tick(ag_tcl_waker_t *w) {
  Tcl_Interp *interp;
  Tcl_InterpState saved;
  Tcl_Obj *command;

  if (w->closed || Tcl_InterpDeleted(w->interp))
    return;
  interp = w->interp;
  command = w->command;
  Tcl_Preserve(interp);
  Tcl_IncrRefCount(command);  /* the tick may close the waker */
  saved = Tcl_SaveInterpState(interp, TCL_OK);
  /* On TCL_ERROR _tkinter has kept the Python exception and will raise it
   * from mainloop(): nothing to report here. */
  (void) Tcl_EvalObjEx(interp, command, TCL_EVAL_GLOBAL);
  Tcl_RestoreInterpState(interp, saved);
  Tcl_DecrRefCount(command);
  Tcl_Release(interp);
}

static int tick_event_proc(Tcl_Event *ev, int flags) {
  ag_tcl_waker_t *w;

  /* Behave like a file event: `update idletasks` and other restricted
   * DoOneEvent calls leave it queued. */
  if (!(flags & TCL_FILE_EVENTS))
    return 0;
  w = ((tick_event_t *) ev)->w;
  ag__tcl_run_tick(w);
  unref(w);
  return 1;
}

/* post_soon, step 1: Tcl runs idle callbacks only when its event sources
 * (X events, timers, file handlers) had nothing pending, so every host event
 * that arrived during the slice has run, and Tk has redrawn.  Step 2: queue
 * the tick as an ordinary event, serviced first thing by the next
 * Tcl_DoOneEvent.  Running the tick from the idle callback itself would make
 * `update idletasks`, called inside a busy guest, loop forever; a chain of
 * zero-delay timers instead would starve idle callbacks (no redraws during
 * a flood) and cost a second pass through the notifier per slice.
 * But a host that always has an event pending (a chain of `after 0`
 * callbacks, say) never lets Tcl go idle: then a timer, AG_TCL_STARVE_MS
 * after the post, queues the tick anyway, so a busy guest gets at least
 * one slice per AG_TCL_STARVE_MS whatever the host does.  Whichever of the
 * two fires first takes the post's reference and cancels the other. */
#define AG_TCL_STARVE_MS 5

static void queue_tick(ag_tcl_waker_t *w) {
  tick_event_t *ev;

  ev = w->closed ? NULL : (tick_event_t *) Tcl_AttemptAlloc(sizeof(*ev));
  if (ev == NULL) {
    unref(w);
    return;
  }
  ev->w = w;  /* takes over the post's reference */
  ev->header.proc = tick_event_proc;
  ev->header.nextPtr = NULL;
  Tcl_QueueEvent(&ev->header, TCL_QUEUE_TAIL);
}

static void idle_proc(ClientData data) {
  ag_tcl_waker_t *w;

  w = data;
  w->idle_pending = 0;
  if (w->starve_timer != NULL) {
    Tcl_DeleteTimerHandler(w->starve_timer);
    w->starve_timer = NULL;
  }
  queue_tick(w);
}

static void starve_proc(ClientData data) {
  ag_tcl_waker_t *w;

  w = data;
  w->starve_timer = NULL;
  if (!w->idle_pending)
    return;  /* cannot happen: idle_proc deletes this timer */
  Tcl_CancelIdleCall(idle_proc, w);
  w->idle_pending = 0;
  queue_tick(w);
}

/* Backend thread, no GIL. */
static int waker_post(ag_waker_t *base) {
  ag_tcl_waker_t *w;
  tick_event_t *ev;

  w = (ag_tcl_waker_t *) base;
  ev = atomic_exchange(&w->spare, NULL);
  if (ev == NULL)
    return -EINVAL;  /* prepare() did not run: a protocol bug, retried */
  atomic_fetch_add(&w->refs, 1);
  ev->w = w;
  ev->header.proc = tick_event_proc;
  ev->header.nextPtr = NULL;
  Tcl_ThreadQueueEvent(w->thread, &ev->header, TCL_QUEUE_TAIL);
  /* Queueing does not wake a thread blocked in its notifier; 8.6 needs the
   * explicit alert (Tcl_ThreadQueueEvent(3)). */
  Tcl_ThreadAlert(w->thread);
  return 0;
}

/* Host thread, before the backend may post. */
static int waker_prepare(ag_waker_t *base) {
  ag_tcl_waker_t *w;
  tick_event_t *ev;

  w = (ag_tcl_waker_t *) base;
  if (atomic_load(&w->spare) != NULL)
    return 0;
  ev = (tick_event_t *) Tcl_AttemptAlloc(sizeof(*ev));
  if (ev == NULL)
    return -ENOMEM;
  atomic_store(&w->spare, ev);
  return 0;
}

static int noop_event_proc(Tcl_Event *ev, int flags) {
  (void) ev;
  (void) flags;
  return 1;  /* handled: Tcl frees it */
}

/* Host thread, before any backend thread exists: go once through the path
 * the backend thread takes (Tcl_ThreadQueueEvent + Tcl_ThreadAlert to this
 * thread), with an event that does nothing.  Tcl creates its mutexes
 * lazily, on first use, in memory from its own allocator; created here,
 * before pthread_create, they are ordered before the backend thread's
 * first use of them -- also for ThreadSanitizer, which cannot see Tcl's
 * allocator hand reused memory to a new mutex and otherwise reports the
 * backend thread's first lock as a race with the memory's previous use. */
static void warm_up_thread_queue(Tcl_ThreadId thread) {
  Tcl_Event *ev;

  ev = (Tcl_Event *) Tcl_AttemptAlloc(sizeof(*ev));
  if (ev == NULL)
    return;  /* only a warm-up */
  ev->proc = noop_event_proc;
  ev->nextPtr = NULL;
  Tcl_ThreadQueueEvent(thread, ev, TCL_QUEUE_TAIL);
  Tcl_ThreadAlert(thread);
}

int ag_tcl_waker_new(void *interp_ptr, const char *command,
                     ag_tcl_waker_t **out) {
  Tcl_Interp *interp;
  ag_tcl_waker_t *w;

  interp = interp_ptr;
  if (Tcl_InitStubs(interp, TCL_VERSION, 0) == NULL)
    return AG_ETCL_STUBS;
  /* Without threads Tcl has no Tcl_ThreadAlert worth the name, and calling
   * into it from our thread would be unsafe. */
  if (Tcl_GetVar2(interp, "tcl_platform", "threaded", TCL_GLOBAL_ONLY) == NULL)
    return AG_ETCL_NOTHREADS;

  w = calloc(1, sizeof(*w));
  if (w == NULL)
    return -ENOMEM;
  w->base.post = waker_post;
  w->base.prepare = waker_prepare;
  atomic_init(&w->refs, 1);
  atomic_init(&w->spare, NULL);
  w->interp = interp;
  w->thread = Tcl_GetCurrentThread();
  w->command = Tcl_NewStringObj(command, -1);
  Tcl_IncrRefCount(w->command);
  Tcl_Preserve(interp);
  warm_up_thread_queue(w->thread);
  *out = w;
  return 0;
}

const char *ag_tcl_version(void) {
  return TCL_VERSION;
}

int ag_tcl_waker_is_home(ag_tcl_waker_t *w) {
  return Tcl_GetCurrentThread() == w->thread;
}

ag_waker_t *ag_tcl_waker_base(ag_tcl_waker_t *w) {
  return w->threadless ? NULL : &w->base;
}

int ag_tcl_waker_post_soon(ag_tcl_waker_t *w) {
  if (w->closed)
    return AG_EWAKER_CLOSED;
  if (w->idle_pending)
    return 0;
  atomic_fetch_add(&w->refs, 1);
  w->idle_pending = 1;
  Tcl_DoWhenIdle(idle_proc, w);
  w->starve_timer = Tcl_CreateTimerHandler(AG_TCL_STARVE_MS, starve_proc, w);
  return 0;
}

void ag_tcl_waker_close(ag_tcl_waker_t *w) {
  tick_event_t *ev;

  if (w->closed)
    return;
  if (w->threadless)
    ag__tcl_watcher_unwatch(&w->watcher);
  w->closed = 1;
  if (w->idle_pending) {
    Tcl_CancelIdleCall(idle_proc, w);
    if (w->starve_timer != NULL) {
      Tcl_DeleteTimerHandler(w->starve_timer);
      w->starve_timer = NULL;
    }
    w->idle_pending = 0;
    unref(w);
  }
  ev = atomic_exchange(&w->spare, NULL);
  if (ev != NULL)
    Tcl_Free((char *) ev);
  /* An event already queued keeps its reference and finds w->closed. */
  Tcl_DecrRefCount(w->command);
  w->command = NULL;
  Tcl_Release(w->interp);
  unref(w);
}
