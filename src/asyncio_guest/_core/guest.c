/* guest.c: the lockstep protocol between the backend thread and the host.
 *
 *   backend thread                          host thread
 *   --------------                          -----------
 *   wait until ARMED  <-------------------  ag_guest_arm(deadline)   [ARMED]
 *   [POLLING] poll(backend fd, deadline)
 *   [POSTED]  waker->post()  ------------>  tick: ag_guest_begin_tick  [IDLE]
 *                                           run the loop, then arm again
 *
 * The thread never runs loop code and never reads the backend fd's events:
 * it only learns that there is something to do.  The classic race (a
 * wakeup() that lands after arm() but before the thread enters the poll) is
 * closed by the ARMED state: a wakeup while ARMED sets wake_pending, which
 * turns that poll's timeout into zero; a wakeup while POLLING writes the
 * poller's wake fd.
 *
 * Shutdown follows Electron's node_bindings: set the closing flag, wake the
 * thread wherever it is, join it, then close the fds.
 *
 * Threadless mode keeps the same states and calls, minus the thread: arm()
 * hands the deadline to the host's watcher (ag_watcher_t), wakeup() asks it
 * to fire now, begin_tick() stops it.  Everything runs on the host thread.
 */
#include "guest.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>

/* After a failed post, retry after 10 ms, doubling up to 1 s: a host whose
 * post function raises gets its error reported on every try, but neither a
 * hang nor a busy loop. */
#define POST_RETRY_FIRST_NS (10 * 1000 * 1000LL)
#define POST_RETRY_MAX_NS (1000 * 1000 * 1000LL)

static int timeout_ms_until(int64_t deadline_ns) {
  int64_t left;

  if (deadline_ns < 0)
    return -1;
  left = deadline_ns - ag__now_ns();
  if (left <= 0)
    return 0;
  /* Round up: waking a little early would find the timer not yet due and
   * spin through zero-millisecond polls until it is. */
  left = (left + 999999) / 1000000;
  return left > INT_MAX ? INT_MAX : (int) left;
}

/* Waits on the condition variable for at most ns, or until closing. */
static void sleep_unless_closing(ag_guest_t *g, int64_t ns) {
  int64_t end;
  int64_t left;

  end = ag__now_ns() + ns;
  while (!g->closing) {
    left = end - ag__now_ns();
    if (left <= 0 || ag__cond_timedwait(&g->cv, &g->mu, left) != 0)
      break;
  }
}

/* Delivers one wake-up, retrying with a growing pause while the waker fails.
 * Called and returns with mu held. */
static void post_until_delivered(ag_guest_t *g) {
  int64_t pause_ns;
  int err;

  pause_ns = POST_RETRY_FIRST_NS;
  for (;;) {
    /* Counted before the post: the tick it starts may read the counter
     * before this thread runs again. */
    atomic_fetch_add(&g->posts, 1);
    ag__mutex_unlock(&g->mu);
    err = g->waker->post(g->waker);
    ag__mutex_lock(&g->mu);
    if (err == 0)
      return;
    atomic_fetch_sub(&g->posts, 1);
    g->post_error = err;
    if (g->closing)
      return;
    sleep_unless_closing(g, pause_ns);
    if (g->closing)
      return;
    pause_ns = pause_ns * 2 > POST_RETRY_MAX_NS ? POST_RETRY_MAX_NS
                                                : pause_ns * 2;
  }
}

static void backend_main(void *arg) {
  ag_guest_t *g;
  int timeout_ms;
  int r;

  g = arg;
  ag__thread_block_signals();
  ag__thread_set_name();
  if (g->waker->thread_start != NULL && g->waker->thread_start(g->waker) != 0)
    return;  /* the waker reported it; the host sees no posts and closes */

  ag__mutex_lock(&g->mu);
  for (;;) {
    while (atomic_load(&g->state) != AG_ARMED && !g->closing)
      ag__cond_wait(&g->cv, &g->mu);
    if (g->closing)
      break;

    timeout_ms = g->wake_pending ? 0 : timeout_ms_until(g->deadline_ns);
    g->wake_pending = 0;
    atomic_store(&g->state, AG_POLLING);
    atomic_fetch_add(&g->polls, 1);
    ag__mutex_unlock(&g->mu);

    r = ag__poller_wait(&g->poller, timeout_ms);

    ag__mutex_lock(&g->mu);
    if (g->closing)
      break;
    if (r < 0)
      g->poll_error = r;  /* reported by the next ag_guest_begin_tick() */
    atomic_store(&g->state, AG_POSTED);
    post_until_delivered(g);
    if (g->closing)
      break;
  }
  ag__mutex_unlock(&g->mu);

  if (g->waker->thread_exit != NULL)
    g->waker->thread_exit(g->waker);
}

static void init_fields(ag_guest_t *g) {
  g->waker = NULL;
  g->watcher = NULL;
  g->closing = 0;
  g->wake_pending = 0;
  g->deadline_ns = -1;
  g->poll_error = 0;
  g->post_error = 0;
  g->thread_started = 0;
  atomic_init(&g->state, AG_IDLE);
  atomic_init(&g->posts, 0);
  atomic_init(&g->polls, 0);
}

int ag_guest_init_threadless(ag_guest_t *g, ag_watcher_t *watcher) {
  int err;

  init_fields(g);
  g->watcher = watcher;
  err = ag__mutex_init(&g->mu);
  if (err != 0) {
    atomic_store(&g->state, AG_CLOSED);
    return err;
  }
  err = ag__cond_init(&g->cv);
  if (err != 0) {
    ag__mutex_destroy(&g->mu);
    atomic_store(&g->state, AG_CLOSED);
    return err;
  }
  return 0;
}

int ag_guest_init(ag_guest_t *g, intptr_t backend, int extra_fd,
                  ag_waker_t *waker) {
  int err;

  init_fields(g);
  g->waker = waker;
  err = ag__poller_init(&g->poller, backend, extra_fd);
  if (err != 0)
    goto fail_poller;
  err = ag__mutex_init(&g->mu);
  if (err != 0)
    goto fail_mutex;
  err = ag__cond_init(&g->cv);
  if (err != 0)
    goto fail_cond;
  err = ag__thread_create(&g->thread, backend_main, g);
  if (err != 0)
    goto fail_thread;
  g->thread_started = 1;
  return 0;

fail_thread:
  ag__cond_destroy(&g->cv);
fail_cond:
  ag__mutex_destroy(&g->mu);
fail_mutex:
  ag__poller_close(&g->poller);
fail_poller:
  atomic_store(&g->state, AG_CLOSED);
  return err;
}

int ag_guest_arm(ag_guest_t *g, int64_t deadline_ns) {
  int err;
  int state;

  /* Closed (by this, the host thread): the mutex is gone. */
  if (atomic_load(&g->state) == AG_CLOSED)
    return AG_ECLOSED;
  ag__mutex_lock(&g->mu);
  state = atomic_load(&g->state);
  if (state != AG_IDLE) {
    ag__mutex_unlock(&g->mu);
    return state == AG_CLOSED ? AG_ECLOSED : AG_ELOCKSTEP;
  }
  if (g->watcher != NULL) {
    g->deadline_ns = deadline_ns;
    atomic_store(&g->state, AG_ARMED);
    atomic_fetch_add(&g->polls, 1);
    ag__mutex_unlock(&g->mu);
    err = g->watcher->watch(g->watcher, deadline_ns);
    if (err != 0) {
      ag__mutex_lock(&g->mu);
      if (atomic_load(&g->state) == AG_ARMED)
        atomic_store(&g->state, AG_IDLE);
      ag__mutex_unlock(&g->mu);
    }
    return err;
  }
  /* In IDLE the backend thread does not touch the waker. */
  if (g->waker->prepare != NULL) {
    err = g->waker->prepare(g->waker);
    if (err != 0) {
      ag__mutex_unlock(&g->mu);
      return err;
    }
  }
  g->deadline_ns = deadline_ns;
  atomic_store(&g->state, AG_ARMED);
  ag__cond_signal(&g->cv);
  ag__mutex_unlock(&g->mu);
  return 0;
}

int ag_guest_begin_tick(ag_guest_t *g) {
  int err;
  int state;

  if (atomic_load(&g->state) == AG_CLOSED)
    return AG_ECLOSED;  /* the mutex is gone */
  ag__mutex_lock(&g->mu);
  state = atomic_load(&g->state);
  if (state == AG_CLOSED) {
    ag__mutex_unlock(&g->mu);
    return AG_ECLOSED;
  }
  if (g->watcher != NULL) {
    /* Threadless: the host's watcher fired (ARMED), or a wakeup asked it to
     * (POSTED); either way nobody else touches the loop. */
    atomic_store(&g->state, AG_IDLE);
    ag__mutex_unlock(&g->mu);
    if (state != AG_IDLE) {
      atomic_fetch_add(&g->posts, 1);
      g->watcher->unwatch(g->watcher);
    }
    return 0;
  }
  if (state == AG_ARMED || state == AG_POLLING) {
    /* A tick the backend did not post while it polls: the two would race
     * for the loop.  The caller treats this as "not my turn". */
    ag__mutex_unlock(&g->mu);
    return AG_ELOCKSTEP;
  }
  atomic_store(&g->state, AG_IDLE);
  err = g->poll_error;
  g->poll_error = 0;
  ag__mutex_unlock(&g->mu);
  return err;
}

int ag_guest_wakeup(ag_guest_t *g) {
  int err;

  err = 0;
  /* Closed: the mutex is gone (a wakeup must not race with close()). */
  if (atomic_load(&g->state) == AG_CLOSED)
    return 0;
  ag__mutex_lock(&g->mu);
  if (g->watcher != NULL) {
    /* Threadless (host thread): an ARMED watcher may wait for a stale
     * deadline; have it fire now, once. */
    if (atomic_load(&g->state) != AG_ARMED) {
      ag__mutex_unlock(&g->mu);
      return 0;
    }
    atomic_store(&g->state, AG_POSTED);
    ag__mutex_unlock(&g->mu);
    return g->watcher->fire_soon(g->watcher);
  }
  switch (atomic_load(&g->state)) {
    case AG_ARMED:
      g->wake_pending = 1;
      break;
    case AG_POLLING:
      err = ag__poller_wake(&g->poller);
      break;
    default:
      /* IDLE: a tick is running and will compute a fresh deadline.
       * POSTED: a tick is already on its way.  CLOSED: nothing to wake. */
      break;
  }
  ag__mutex_unlock(&g->mu);
  return err;
}

void ag_guest_close(ag_guest_t *g) {
  int state;

  state = atomic_load(&g->state);
  if (state == AG_CLOSED)
    return;
  if (g->watcher != NULL) {
    if (state != AG_IDLE)
      g->watcher->unwatch(g->watcher);
    ag__cond_destroy(&g->cv);
    ag__mutex_destroy(&g->mu);
    atomic_store(&g->state, AG_CLOSED);
    return;
  }
  ag__mutex_lock(&g->mu);
  g->closing = 1;
  if (atomic_load(&g->state) == AG_POLLING)
    ag__poller_wake(&g->poller);
  ag__cond_broadcast(&g->cv);
  ag__mutex_unlock(&g->mu);

  if (g->thread_started)
    ag__thread_join(&g->thread);
  g->thread_started = 0;

  /* The thread is gone: a wake-up written after its last poll is simply
   * closed with the fd, nothing else can observe it. */
  ag__poller_close(&g->poller);
  ag__cond_destroy(&g->cv);
  ag__mutex_destroy(&g->mu);
  atomic_store(&g->state, AG_CLOSED);
}
