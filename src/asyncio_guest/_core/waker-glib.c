/* waker-glib.c: wake a GLib main context from the backend thread, without
 * the GIL.
 *
 * Two persistent sources are attached to the host's GMainContext, one per
 * priority: `tick` (the backend thread's wake-ups) and `busy` (the host's own
 * "the slice ran out, continue later").  Posting sets a source's ready time
 * to 0: g_source_set_ready_time() takes the context's lock and signals the
 * context's GWakeup, so it is safe from any thread and wakes a host blocked
 * in poll().  Nothing is allocated per wake-up, and the backend thread never
 * needs the GIL; the GIL is taken on the host thread, by `fire`, when the
 * source is dispatched.
 *
 * A continuation waits at the busy priority, after the host's own sources of
 * a better one, but not for ever: `busy_late` asks for the same tick at the
 * tick's priority one slice later (AG_GLIB_BUSY_PROMOTE_US), and whichever
 * of the two runs first disarms the other.  A host that keeps a source of a
 * better priority ready all the time (Qt's posted events, re-posted from
 * each one) then takes turns with the guest instead of starving it.
 *
 * The library is linked by soname (libglib-2.0.so.0), the same one PyGObject
 * uses, so both talk to one GLib (a test checks the process maps one).
 * This file knows no Python: `fire` is the glue's (glibmodule.c).
 *
 * Threadless mode (ag_glib_watcher_new) is in watcher-glib.c; waker-glib.h
 * is what the two share.
 */
#include "waker-glib.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

static_assert(AG_GLIB_PRIORITY_DEFAULT == G_PRIORITY_DEFAULT,
              "G_PRIORITY_DEFAULT");
static_assert(AG_GLIB_PRIORITY_DEFAULT_IDLE == G_PRIORITY_DEFAULT_IDLE,
              "G_PRIORITY_DEFAULT_IDLE");

typedef struct {
  GSource source;  /* must be first */
  ag_glib_waker_t *w;
  GSource *partner;  /* busy <-> busy_late: disarmed when this one runs */
} tick_source_t;

/* Host thread, from inside g_main_context_dispatch(). */
static gboolean tick_dispatch(GSource *source, GSourceFunc callback,
                              gpointer user_data) {
  ag_glib_waker_t *w;

  (void) callback;
  (void) user_data;
  /* Re-arm first: a post that arrives while the tick runs is kept. */
  g_source_set_ready_time(source, -1);
  if (((tick_source_t *) source)->partner != NULL)
    g_source_set_ready_time(((tick_source_t *) source)->partner, -1);
  w = ((tick_source_t *) source)->w;
  if (!atomic_load(&w->closed))
    w->fire(w->data);  /* may close w; w is not touched afterwards */
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs tick_funcs = {
    .prepare = NULL,  /* readiness is the ready time alone */
    .check = NULL,
    .dispatch = tick_dispatch,
    .finalize = NULL,
};

static GSource *new_source(ag_glib_waker_t *w, int priority,
                           const char *name) {
  GSource *s;

  s = g_source_new(&tick_funcs, sizeof(tick_source_t));
  ((tick_source_t *) s)->w = w;
  g_source_set_priority(s, priority);
  g_source_set_name(s, name);
  g_source_set_can_recurse(s, FALSE);
  g_source_attach(s, w->context);
  return s;
}

/* Backend thread, no GIL. */
static int waker_post(ag_waker_t *base) {
  ag_glib_waker_t *w;

  w = (ag_glib_waker_t *) base;
  if (atomic_load(&w->closed))
    return AG_EWAKER_CLOSED;
  g_source_set_ready_time(w->tick, 0);
  return 0;
}

int ag_glib_waker_new(int priority, int busy_priority,
                      void (*fire)(void *data), void *data,
                      ag_glib_waker_t **out) {
  ag_glib_waker_t *w;

  w = calloc(1, sizeof(*w));
  if (w == NULL)
    return -ENOMEM;
  w->base.post = waker_post;
  atomic_init(&w->closed, 0);
  w->fire = fire;
  w->data = data;
  /* The context this thread iterates: the global default one unless the
   * thread pushed a thread-default context. */
  w->context = g_main_context_ref_thread_default();
  w->tick = new_source(w, priority, "asyncio_guest tick");
  w->busy = new_source(w, busy_priority, "asyncio_guest busy tick");
  w->busy_late = new_source(w, priority, "asyncio_guest busy tick (late)");
  ((tick_source_t *) w->busy)->partner = w->busy_late;
  ((tick_source_t *) w->busy_late)->partner = w->busy;
  *out = w;
  return 0;
}

ag_waker_t *ag_glib_waker_base(ag_glib_waker_t *w) {
  return w->threadless ? NULL : &w->base;
}

void *ag_glib_waker_context(ag_glib_waker_t *w) {
  return w->context;
}

int ag_glib_waker_post_soon(ag_glib_waker_t *w) {
  if (atomic_load(&w->closed))
    return AG_EWAKER_CLOSED;
  g_source_set_ready_time(w->busy, 0);
  g_source_set_ready_time(w->busy_late,
                          g_get_monotonic_time() + AG_GLIB_BUSY_PROMOTE_US);
  return 0;
}

/* Host thread.  The sources leave the context; our references keep them
 * (and the context) valid for a late post until ag_glib_waker_free(). */
void ag_glib_waker_close(ag_glib_waker_t *w) {
  if (atomic_exchange(&w->closed, 1))
    return;
  g_source_destroy(w->tick);
  g_source_destroy(w->busy);
  g_source_destroy(w->busy_late);
}

/* Once no thread can post any more (the backend thread is joined). */
void ag_glib_waker_free(ag_glib_waker_t *w) {
  ag_glib_waker_close(w);
  g_source_unref(w->tick);
  g_source_unref(w->busy);
  g_source_unref(w->busy_late);
  g_main_context_unref(w->context);
  free(w);
}

void ag_glib_version(unsigned *major, unsigned *minor, unsigned *micro) {
  *major = glib_major_version;
  *minor = glib_minor_version;
  *micro = glib_micro_version;
}
