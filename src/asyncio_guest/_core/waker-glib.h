/* waker-glib.h: what waker-glib.c (thread mode) and watcher-glib.c
 * (threadless mode) share: the GLib waker's layout.  Internal to the two.
 */
#ifndef ASYNCIO_GUEST_WAKER_GLIB_H
#define ASYNCIO_GUEST_WAKER_GLIB_H

#include <glib.h>

#include <stdatomic.h>

#include "guest.h"

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
  void (*fire)(void *data);
  void *data;
};

#endif /* ASYNCIO_GUEST_WAKER_GLIB_H */
