/* waker-glib.h: what waker-glib.c (thread mode) and watcher-glib.c
 * (threadless mode) share: the GLib waker's layout.  Internal to the two.
 */
#ifndef ASYNCIO_GUEST_WAKER_GLIB_H
#define ASYNCIO_GUEST_WAKER_GLIB_H

#include <glib.h>

#include <stdatomic.h>

#include "guest.h"

/* How long a continuation waits at the busy priority before it also asks at
 * the tick's priority: one slice (the default budget), in microseconds. */
#define AG_GLIB_BUSY_PROMOTE_US 1000

struct ag_glib_waker_s {
  ag_waker_t base;  /* must be first */
  ag_watcher_t watcher;  /* threadless mode */
  int threadless;
  gpointer fd_tags[2];
  int nfds;
  atomic_int closed;
  GMainContext *context;
  GSource *tick;
  GSource *busy;
  GSource *busy_late;  /* `busy` again, at the tick's priority, a slice on */
  void (*fire)(void *data);
  void *data;
};

#endif /* ASYNCIO_GUEST_WAKER_GLIB_H */
