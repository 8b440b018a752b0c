/* watcher-tcl.c: the Tk waker in threadless mode (waker-tcl.c makes it).
 *
 * No backend thread: Tcl_CreateFileHandler on the loop's backend fd (and the
 * signal fd) plus a Tcl timer for the deadline.  Both procs evaluate the
 * tick command; the tick's begin_tick() calls unwatch(), which deletes the
 * handlers (Tcl allows that from inside the handler's own proc), and its
 * arm() calls watch() again.  (On Unix a threaded Tcl 8.6 selects on file
 * handlers in its notifier thread: the hop is Tcl's own.)
 */
#include "waker-tcl.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>

#define WATCHER_OF(base) \
  ((ag_tcl_waker_t *) ((char *) (base) - offsetof(ag_tcl_waker_t, watcher)))

static void file_proc(ClientData data, int mask) {
  (void) mask;
  ag__tcl_run_tick(data);
}

static void timer_proc(ClientData data) {
  ag_tcl_waker_t *w;

  w = data;
  w->timer = NULL;  /* Tcl has dropped it */
  ag__tcl_run_tick(w);
}

void ag__tcl_watcher_unwatch(ag_watcher_t *base) {
  ag_tcl_waker_t *w;
  int i;

  w = WATCHER_OF(base);
  if (w->watching) {
    for (i = 0; i < w->nfds; i++)
      Tcl_DeleteFileHandler(w->fds[i]);
    w->watching = 0;
  }
  if (w->timer != NULL) {
    Tcl_DeleteTimerHandler(w->timer);
    w->timer = NULL;
  }
}

static int watcher_watch(ag_watcher_t *base, int64_t deadline_ns) {
  ag_tcl_waker_t *w;
  int64_t left;
  int ms;
  int i;

  w = WATCHER_OF(base);
  if (w->closed)
    return AG_EWAKER_CLOSED;
  ag__tcl_watcher_unwatch(base);
  for (i = 0; i < w->nfds; i++)
    Tcl_CreateFileHandler(w->fds[i], TCL_READABLE, file_proc, w);
  w->watching = 1;
  if (deadline_ns >= 0) {
    left = deadline_ns - ag__now_ns();
    /* Round up: a timer firing early finds nothing due and re-arms. */
    ms = left <= 0 ? 0
         : left >= (int64_t) INT_MAX * 1000000 ? INT_MAX
                                               : (int) ((left + 999999) / 1000000);
    w->timer = Tcl_CreateTimerHandler(ms, timer_proc, w);
  }
  return 0;
}

static int watcher_fire_soon(ag_watcher_t *base) {
  ag_tcl_waker_t *w;

  w = WATCHER_OF(base);
  if (w->closed)
    return AG_EWAKER_CLOSED;
  /* A zero-delay timer replaces the deadline's: serviced by the next
   * Tcl_DoOneEvent, like `after 0`. */
  if (w->timer != NULL)
    Tcl_DeleteTimerHandler(w->timer);
  w->timer = Tcl_CreateTimerHandler(0, timer_proc, w);
  return 0;
}

int ag_tcl_watcher_new(void *interp, const char *command, const int *fds,
                       int nfds, ag_tcl_waker_t **out) {
  ag_tcl_waker_t *w;
  int err;
  int i;

  if (nfds < 1 || nfds > 2)
    return -EINVAL;
  err = ag_tcl_waker_new(interp, command, &w);
  if (err != 0)
    return err;
  w->threadless = 1;
  w->watcher.watch = watcher_watch;
  w->watcher.fire_soon = watcher_fire_soon;
  w->watcher.unwatch = ag__tcl_watcher_unwatch;
  for (i = 0; i < nfds; i++)
    w->fds[i] = fds[i];
  w->nfds = nfds;
  *out = w;
  return 0;
}

ag_watcher_t *ag_tcl_watcher_base(ag_tcl_waker_t *w) {
  return w->threadless ? &w->watcher : NULL;
}
