/* watcher-glib.c: the GLib waker in threadless mode (waker-glib.c makes its
 * sources).
 *
 * No backend thread at all.  The tick source also holds the backend fd (and
 * the signal fd) through g_source_add_unix_fd, so GLib's own poll() in the
 * host thread watches them; watch() turns their G_IO_IN on and sets the
 * ready time to the loop's deadline, unwatch() turns both off while the
 * tick runs.
 */
#include "waker-glib.h"

#include <errno.h>
#include <stddef.h>

#define WATCHER_OF(base) \
  ((ag_glib_waker_t *) ((char *) (base) - offsetof(ag_glib_waker_t, watcher)))

static void set_fd_events(ag_glib_waker_t *w, GIOCondition events) {
  int i;

  for (i = 0; i < w->nfds; i++)
    g_source_modify_unix_fd(w->tick, w->fd_tags[i], events);
}

static int watcher_watch(ag_watcher_t *base, int64_t deadline_ns) {
  ag_glib_waker_t *w;

  w = WATCHER_OF(base);
  if (atomic_load(&w->closed))
    return AG_EWAKER_CLOSED;
  set_fd_events(w, G_IO_IN);
  /* g_get_monotonic_time() is CLOCK_MONOTONIC in us, our clock; round up:
   * firing early would find the timer not yet due. */
  g_source_set_ready_time(w->tick,
                          deadline_ns < 0 ? -1 : (deadline_ns + 999) / 1000);
  return 0;
}

static int watcher_fire_soon(ag_watcher_t *base) {
  ag_glib_waker_t *w;

  w = WATCHER_OF(base);
  if (atomic_load(&w->closed))
    return AG_EWAKER_CLOSED;
  g_source_set_ready_time(w->tick, 0);
  return 0;
}

static void watcher_unwatch(ag_watcher_t *base) {
  ag_glib_waker_t *w;

  w = WATCHER_OF(base);
  if (atomic_load(&w->closed))
    return;
  set_fd_events(w, 0);
  g_source_set_ready_time(w->tick, -1);
}

int ag_glib_watcher_new(int priority, int busy_priority, const int *fds,
                        int nfds, void (*fire)(void *data), void *data,
                        ag_glib_waker_t **out) {
  ag_glib_waker_t *w;
  int err;
  int i;

  if (nfds < 1 || nfds > 2)
    return -EINVAL;
  err = ag_glib_waker_new(priority, busy_priority, fire, data, &w);
  if (err != 0)
    return err;
  w->threadless = 1;
  w->watcher.watch = watcher_watch;
  w->watcher.fire_soon = watcher_fire_soon;
  w->watcher.unwatch = watcher_unwatch;
  for (i = 0; i < nfds; i++)
    w->fd_tags[i] = g_source_add_unix_fd(w->tick, fds[i], 0);
  w->nfds = nfds;
  *out = w;
  return 0;
}

ag_watcher_t *ag_glib_watcher_base(ag_glib_waker_t *w) {
  return w->threadless ? &w->watcher : NULL;
}
