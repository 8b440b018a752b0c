/* waker-tcl.h: what waker-tcl.c (thread mode) and watcher-tcl.c
 * (threadless mode) share: the Tk waker's layout and its tick.
 * Internal to the two (built against the Tcl stubs library: setup.py).
 */
#ifndef ASYNCIO_GUEST_WAKER_TCL_H
#define ASYNCIO_GUEST_WAKER_TCL_H

#define USE_TCL_STUBS
#include <tcl.h>

#include <stdatomic.h>

#include "guest.h"

typedef struct {
  Tcl_Event header;  /* must be first: Tcl frees the event through it */
  ag_tcl_waker_t *w;
} tick_event_t;

struct ag_tcl_waker_s {
  ag_waker_t base;   /* must be first */
  atomic_int refs;   /* the owner's, plus one per queued event or idle call */
  int closed;        /* host thread only */
  Tcl_Interp *interp;
  Tcl_ThreadId thread;
  Tcl_Obj *command;
  /* Allocated by the host in prepare(), queued by the backend in post():
   * the backend thread then never allocates Tcl memory (which would give it
   * Tcl thread-local caches that live until process exit). */
  _Atomic(tick_event_t *) spare;
  int idle_pending;  /* post_soon: an idle callback is registered */
  Tcl_TimerToken starve_timer;  /* post_soon's fallback, or NULL */
  /* Threadless mode (host thread only): Tcl's notifier watches the fds. */
  ag_watcher_t watcher;
  int threadless;
  int fds[2];
  int nfds;
  int watching;          /* file handlers exist */
  Tcl_TimerToken timer;  /* the deadline, or NULL */
};

/* Host thread: evaluate the tick command (unless closed), leaving the
 * interpreter's result and error state as they were. */
void ag__tcl_run_tick(ag_tcl_waker_t *w);

/* watcher-tcl.c: delete the file handlers and the timer (host thread). */
void ag__tcl_watcher_unwatch(ag_watcher_t *base);

#endif /* ASYNCIO_GUEST_WAKER_TCL_H */
