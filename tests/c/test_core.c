/* test_core.c: the lockstep protocol (guest.c) over a real backend and real
 * threads, with a fake waker that records its posts.  Shared by every
 * platform: what differs (the backend, how it becomes ready, what "the
 * loop's own event is still there" means) is in fixture-<os>.c.
 *
 * Checked here:
 *   - arm with a deadline: exactly one post, at or after the deadline;
 *   - the backend becomes ready: one post, and the loop's own event is still
 *     there afterwards, unchanged (peek, never consume), also after
 *     ag__fd_readable();
 *   - ag_guest_wakeup() while POLLING and while ARMED: a prompt post;
 *   - lockstep refusals (AG_ELOCKSTEP), and AG_ECLOSED once closed;
 *   - a failing waker is retried with a pause, and delivers once;
 *   - close joins the thread promptly from POLLING, POSTED and IDLE;
 *   - 10,000 arm/tick cycles mixing the four causes: no lost or extra post;
 *   - the poller alone: a wake-up before the wait is kept, timeouts are not
 *     cut short, two wake-ups make one return.
 * Output: one line per test, then "N passed, N failed".
 */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef AG_TEST_BACKEND
#define AG_TEST_BACKEND "?"
#endif

double ms_since(int64_t t0_ns) {
  return (double) (ag__now_ns() - t0_ns) / 1e6;
}

/* ---- helper threads ------------------------------------------------------ */

struct helper_s {
  ag__thread_t thread;
  int delay_ms;
  void (*fn)(void *arg);
  void *arg;
};

static void helper_main(void *p) {
  helper_t *h = p;

  fx_sleep_ms(h->delay_ms);
  h->fn(h->arg);
}

helper_t *test_start_helper(int delay_ms, void (*fn)(void *), void *arg) {
  helper_t *h;

  h = calloc(1, sizeof(*h));
  if (h == NULL)
    return NULL;
  h->delay_ms = delay_ms;
  h->fn = fn;
  h->arg = arg;
  if (ag__thread_create(&h->thread, helper_main, h) != 0) {
    free(h);
    return NULL;
  }
  return h;
}

void test_join_helper(helper_t *h) {
  ag__thread_join(&h->thread);
  free(h);
}

/* ---- the fake waker ------------------------------------------------------ */

typedef struct {
  ag_waker_t base;  /* must be first */
  ag__mutex_t mu;
  ag__cond_t cv;
  ag_guest_t *g;        /* posts must come from its backend thread */
  int posts;            /* delivered */
  int fail_next;        /* fail this many posts with -EIO first */
  int failed;
  int off_thread;       /* posts made on another thread: must stay 0 */
  int starts;
  int exits;
  int64_t last_post_ns;
} fake_waker_t;

static int fake_post(ag_waker_t *base) {
  fake_waker_t *w = (fake_waker_t *) base;
  int err = 0;

  ag__mutex_lock(&w->mu);
  if (!ag__thread_is_current(&w->g->thread))
    w->off_thread++;
  if (w->fail_next > 0) {
    w->fail_next--;
    w->failed++;
    err = -EIO;
  } else {
    w->posts++;
    w->last_post_ns = ag__now_ns();
    ag__cond_broadcast(&w->cv);
  }
  ag__mutex_unlock(&w->mu);
  return err;
}

static int fake_thread_start(ag_waker_t *base) {
  fake_waker_t *w = (fake_waker_t *) base;

  ag__mutex_lock(&w->mu);
  w->starts++;
  ag__mutex_unlock(&w->mu);
  return 0;
}

static void fake_thread_exit(ag_waker_t *base) {
  fake_waker_t *w = (fake_waker_t *) base;

  ag__mutex_lock(&w->mu);
  w->exits++;
  ag__mutex_unlock(&w->mu);
}

/* Waits until at least n posts were delivered, or timeout_ms; returns the
 * count. */
static int wait_posts(fake_waker_t *w, int n, int timeout_ms) {
  int64_t end;
  int64_t left;
  int posts;

  end = ag__now_ns() + timeout_ms * MS;
  ag__mutex_lock(&w->mu);
  while (w->posts < n) {
    left = end - ag__now_ns();
    if (left <= 0)
      break;
    ag__cond_timedwait(&w->cv, &w->mu, left);
  }
  posts = w->posts;
  ag__mutex_unlock(&w->mu);
  return posts;
}

static int read_int(fake_waker_t *w, const int *field) {
  int v;

  ag__mutex_lock(&w->mu);
  v = *field;
  ag__mutex_unlock(&w->mu);
  return v;
}

/* ---- a guest over the fixture's backend ---------------------------------- */

/* On the heap and never freed after a failed check: the backend thread may
 * still be running and posting into it. */
typedef struct {
  fixture_t *fx;
  fake_waker_t w;
  ag_guest_t g;
} rig_t;

static rig_t *rig_open(void) {
  rig_t *r;

  r = calloc(1, sizeof(*r));
  if (r == NULL || fx_open(&r->fx) != 0)
    return NULL;
  if (ag__mutex_init(&r->w.mu) != 0 || ag__cond_init(&r->w.cv) != 0)
    return NULL;
  r->w.base.post = fake_post;
  r->w.base.thread_start = fake_thread_start;
  r->w.base.thread_exit = fake_thread_exit;
  r->w.g = &r->g;
  if (ag_guest_init(&r->g, fx_backend(r->fx), -1, &r->w.base) != 0)
    return NULL;
  return r;
}

static void rig_close(rig_t *r) {
  ag_guest_close(&r->g);
  ag__cond_destroy(&r->w.cv);
  ag__mutex_destroy(&r->w.mu);
  fx_close(r->fx);
  free(r);
}

static int state_of(rig_t *r) {
  return atomic_load(&r->g.state);
}

/* Waits until the backend thread is inside the poll. */
static int wait_state(rig_t *r, int state, int timeout_ms) {
  int64_t t0 = ag__now_ns();

  while (state_of(r) != state) {
    if (ms_since(t0) > timeout_ms)
      return 0;
    fx_sleep_ms(1);
  }
  return 1;
}

static int64_t made_ready_ns;

static void make_ready(void *fx) {
  made_ready_ns = ag__now_ns();
  if (fx_make_ready(fx) != 0)
    abort();
}

/* ---- the tests ----------------------------------------------------------- */

static int test_deadline(void) {
  rig_t *r;
  int64_t t0;
  double after;

  CHECK((r = rig_open()) != NULL);
  t0 = ag__now_ns();
  CHECK_EQ(ag_guest_arm(&r->g, t0 + 100 * MS), 0);
  CHECK_EQ(wait_posts(&r->w, 1, 60), 0);  /* not before */
  CHECK_EQ(wait_posts(&r->w, 1, 2000), 1);
  after = (double) (r->w.last_post_ns - t0) / 1e6;
  CHECK(after >= 100.0);
  CHECK_EQ(state_of(r), AG_POSTED);
  CHECK_EQ(ag_guest_begin_tick(&r->g), 0);
  CHECK_EQ(state_of(r), AG_IDLE);
  fx_sleep_ms(50);
  CHECK_EQ(read_int(&r->w, &r->w.posts), 1);  /* one, not two */
  CHECK_EQ(fx_take(r->fx), 0);                /* the backend untouched */
  CHECK_EQ(read_int(&r->w, &r->w.off_thread), 0);
  printf("    deadline 100 ms: posted after %.1f ms\n", after);
  rig_close(r);
  return 0;
}

static int test_ready(void) {
  helper_t *h;
  rig_t *r;
  double latency;

  CHECK((r = rig_open()) != NULL);
  CHECK_EQ(ag_guest_arm(&r->g, -1), 0);
  CHECK(wait_state(r, AG_POLLING, 1000));
  CHECK((h = test_start_helper(50, make_ready, r->fx)) != NULL);
  CHECK_EQ(wait_posts(&r->w, 1, 2000), 1);
  test_join_helper(h);
  latency = (double) (r->w.last_post_ns - made_ready_ns) / 1e6;
  fx_sleep_ms(30);
  CHECK_EQ(read_int(&r->w, &r->w.posts), 1);
  /* The host's peek sees the event and leaves it; the loop's own poll then
   * takes exactly that event. */
  CHECK_EQ(ag__fd_readable(fx_backend(r->fx)), 1);
  CHECK_EQ(ag__fd_readable(fx_backend(r->fx)), 1);
  CHECK_EQ(fx_take(r->fx), 1);
  CHECK_EQ(fx_take(r->fx), 0);
  CHECK_EQ(ag__fd_readable(fx_backend(r->fx)), 0);
  /* Taken: the next poll waits again. */
  CHECK_EQ(ag_guest_begin_tick(&r->g), 0);
  CHECK_EQ(ag_guest_arm(&r->g, -1), 0);
  CHECK_EQ(wait_posts(&r->w, 2, 50), 1);
  CHECK_EQ(ag_guest_wakeup(&r->g), 0);
  CHECK_EQ(wait_posts(&r->w, 2, 1000), 2);
  CHECK_EQ(ag_guest_begin_tick(&r->g), 0);
  printf("    ready -> post: %.3f ms\n", latency);
  rig_close(r);
  return 0;
}

static int test_wakeup_polling(void) {
  rig_t *r;
  int64_t t0;
  double latency;

  CHECK((r = rig_open()) != NULL);
  CHECK_EQ(ag_guest_arm(&r->g, -1), 0);
  CHECK(wait_state(r, AG_POLLING, 1000));
  fx_sleep_ms(20);  /* well inside the wait */
  t0 = ag__now_ns();
  CHECK_EQ(ag_guest_wakeup(&r->g), 0);
  CHECK_EQ(wait_posts(&r->w, 1, 1000), 1);
  latency = (double) (r->w.last_post_ns - t0) / 1e6;
  CHECK_EQ(ag_guest_begin_tick(&r->g), 0);
  CHECK_EQ(fx_take(r->fx), 0);  /* the wake-up left nothing in the backend */
  fx_sleep_ms(20);
  CHECK_EQ(read_int(&r->w, &r->w.posts), 1);
  printf("    wakeup -> post: %.3f ms\n", latency);
  rig_close(r);
  return 0;
}

static int test_wakeup_armed(void) {
  rig_t *r;
  int armed_seen;
  int i;

  CHECK((r = rig_open()) != NULL);
  /* Exactly the race window: arm() has set ARMED, the backend thread has
   * not yet seen it.  arm() is done in two halves here, the wakeup() in
   * between. */
  ag__mutex_lock(&r->g.mu);
  CHECK_EQ(state_of(r), AG_IDLE);
  r->g.deadline_ns = -1;
  atomic_store(&r->g.state, AG_ARMED);
  ag__mutex_unlock(&r->g.mu);
  CHECK_EQ(ag_guest_wakeup(&r->g), 0);
  ag__mutex_lock(&r->g.mu);
  CHECK_EQ(r->g.wake_pending, 1);
  ag__cond_signal(&r->g.cv);
  ag__mutex_unlock(&r->g.mu);
  CHECK_EQ(wait_posts(&r->w, 1, 1000), 1);
  CHECK_EQ(ag_guest_begin_tick(&r->g), 0);
  CHECK_EQ(fx_take(r->fx), 0);

  /* And as it happens: wakeup() right after arm(), wherever the thread is. */
  armed_seen = 0;
  for (i = 0; i < 2000; i++) {
    CHECK_EQ(ag_guest_arm(&r->g, -1), 0);
    armed_seen += state_of(r) == AG_ARMED;
    CHECK_EQ(ag_guest_wakeup(&r->g), 0);
    CHECK_EQ(wait_posts(&r->w, i + 2, 2000), i + 2);
    CHECK_EQ(ag_guest_begin_tick(&r->g), 0);
  }
  fx_sleep_ms(20);
  CHECK_EQ(read_int(&r->w, &r->w.posts), 2001);
  printf("    2000 arm+wakeup: %d found ARMED just before wakeup()\n",
         armed_seen);
  rig_close(r);
  return 0;
}

static int test_lockstep(void) {
  rig_t *r;

  CHECK((r = rig_open()) != NULL);
  CHECK_EQ(ag_guest_begin_tick(&r->g), 0);  /* IDLE: a self-posted tick */
  CHECK_EQ(ag_guest_arm(&r->g, -1), 0);
  CHECK_EQ(ag_guest_arm(&r->g, -1), AG_ELOCKSTEP);
  CHECK(wait_state(r, AG_POLLING, 1000));
  CHECK_EQ(ag_guest_begin_tick(&r->g), AG_ELOCKSTEP);
  CHECK_EQ(ag_guest_arm(&r->g, -1), AG_ELOCKSTEP);
  CHECK_EQ(ag_guest_wakeup(&r->g), 0);
  CHECK_EQ(wait_posts(&r->w, 1, 1000), 1);
  CHECK_EQ(ag_guest_arm(&r->g, -1), AG_ELOCKSTEP);  /* POSTED */
  CHECK_EQ(ag_guest_begin_tick(&r->g), 0);
  CHECK_EQ(ag_guest_wakeup(&r->g), 0);  /* IDLE: nothing to wake */
  fx_sleep_ms(20);
  CHECK_EQ(read_int(&r->w, &r->w.posts), 1);
  rig_close(r);
  return 0;
}

static int test_post_retry(void) {
  rig_t *r;
  int64_t t0;
  double after;
  int post_error;

  CHECK((r = rig_open()) != NULL);
  ag__mutex_lock(&r->w.mu);
  r->w.fail_next = 2;
  ag__mutex_unlock(&r->w.mu);
  t0 = ag__now_ns();
  CHECK_EQ(ag_guest_arm(&r->g, t0), 0);
  CHECK_EQ(wait_posts(&r->w, 1, 2000), 1);
  after = (double) (r->w.last_post_ns - t0) / 1e6;
  CHECK(after >= 30.0);  /* 10 ms, then 20 ms */
  CHECK_EQ(read_int(&r->w, &r->w.failed), 2);
  ag__mutex_lock(&r->g.mu);
  post_error = r->g.post_error;
  ag__mutex_unlock(&r->g.mu);
  CHECK_EQ(post_error, -EIO);
  CHECK_EQ(atomic_load(&r->g.posts), 1);
  CHECK_EQ(ag_guest_begin_tick(&r->g), 0);
  printf("    two failed posts, delivered after %.1f ms\n", after);
  rig_close(r);
  return 0;
}

/* The core's own codes (errors.h) lie outside every errno value. */
static int test_error_codes(void) {
  static const int errnos[] = {EBADF, EBUSY, EALREADY, ENOTSUP, ENOSYS,
                               EPROTO, EXDEV, EINVAL, EIO, ENOMEM,
                               ETIMEDOUT, ECANCELED};
  size_t i;

  for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
    CHECK(errnos[i] > 0 && errnos[i] < 4096);
    CHECK(!AG_IS_OWN_ERROR(-errnos[i]));
  }
  CHECK(AG_IS_OWN_ERROR(AG_ECLOSED));
  CHECK(AG_IS_OWN_ERROR(AG_ELOCKSTEP));
  CHECK(AG_IS_OWN_ERROR(AG_EUV_LAYOUT));
  CHECK(AG_ECLOSED != AG_ELOCKSTEP);
  return 0;
}

static int test_close(void) {
  rig_t *r;
  int64_t t0;
  double polling, posted, idle;

  /* From POLLING, without a deadline. */
  CHECK((r = rig_open()) != NULL);
  CHECK_EQ(ag_guest_arm(&r->g, -1), 0);
  CHECK(wait_state(r, AG_POLLING, 1000));
  fx_sleep_ms(20);
  t0 = ag__now_ns();
  ag_guest_close(&r->g);
  polling = ms_since(t0);
  CHECK(polling < 500.0);
  CHECK_EQ(state_of(r), AG_CLOSED);
  CHECK_EQ(r->w.starts, 1);
  CHECK_EQ(r->w.exits, 1);
  CHECK_EQ(r->w.posts, 0);
  ag_guest_close(&r->g);  /* idempotent */
  CHECK_EQ(ag_guest_arm(&r->g, -1), AG_ECLOSED);
  CHECK_EQ(ag_guest_begin_tick(&r->g), AG_ECLOSED);
  CHECK_EQ(ag_guest_wakeup(&r->g), 0);  /* nothing to wake */
  CHECK_EQ(fx_take(r->fx), 0);
  rig_close(r);

  /* From POSTED: a tick is on its way and will never run. */
  CHECK((r = rig_open()) != NULL);
  CHECK_EQ(ag_guest_arm(&r->g, ag__now_ns()), 0);
  CHECK_EQ(wait_posts(&r->w, 1, 1000), 1);
  t0 = ag__now_ns();
  ag_guest_close(&r->g);
  posted = ms_since(t0);
  CHECK(posted < 500.0);
  CHECK_EQ(r->w.exits, 1);
  rig_close(r);

  /* From IDLE, never armed. */
  CHECK((r = rig_open()) != NULL);
  fx_sleep_ms(10);
  t0 = ag__now_ns();
  ag_guest_close(&r->g);
  idle = ms_since(t0);
  CHECK(idle < 500.0);
  CHECK_EQ(r->w.exits, 1);
  rig_close(r);
  printf("    close from POLLING %.3f ms, POSTED %.3f ms, IDLE %.3f ms\n",
         polling, posted, idle);
  return 0;
}

#define CYCLES 10000

static int test_cycles(void) {
  rig_t *r;
  int64_t t0;
  double took;
  int ready;
  int i;

  CHECK((r = rig_open()) != NULL);
  t0 = ag__now_ns();
  for (i = 0; i < CYCLES; i++) {
    ready = 0;
    switch (i % 4) {
      case 0:  /* a deadline already passed */
        CHECK_EQ(ag_guest_arm(&r->g, ag__now_ns()), 0);
        break;
      case 1:  /* a stale deadline fixed by a wake-up */
        CHECK_EQ(ag_guest_arm(&r->g, -1), 0);
        CHECK_EQ(ag_guest_wakeup(&r->g), 0);
        break;
      case 2:  /* the backend ready before the arm */
        CHECK_EQ(fx_make_ready(r->fx), 0);
        CHECK_EQ(ag_guest_arm(&r->g, -1), 0);
        ready = 1;
        break;
      default:  /* the backend ready after it */
        CHECK_EQ(ag_guest_arm(&r->g, -1), 0);
        CHECK_EQ(fx_make_ready(r->fx), 0);
        ready = 1;
        break;
    }
    CHECK_EQ(wait_posts(&r->w, i + 1, 5000), i + 1);
    CHECK_EQ(fx_take(r->fx), ready);  /* there, unchanged; or nothing */
    CHECK_EQ(ag_guest_begin_tick(&r->g), 0);
  }
  took = ms_since(t0);
  fx_sleep_ms(50);
  CHECK_EQ(read_int(&r->w, &r->w.posts), CYCLES);
  CHECK_EQ(atomic_load(&r->g.posts), CYCLES);
  CHECK_EQ(atomic_load(&r->g.polls), CYCLES);
  CHECK_EQ(read_int(&r->w, &r->w.failed), 0);
  CHECK_EQ(read_int(&r->w, &r->w.off_thread), 0);
  CHECK_EQ(fx_take(r->fx), 0);
  printf("    %d cycles in %.0f ms (%.1f us each)\n", CYCLES, took,
         took * 1000.0 / CYCLES);
  rig_close(r);
  return 0;
}

static int test_poller(void) {
  ag__poller_t p;
  fixture_t *fx;
  int64_t t0;
  double waited;

  CHECK_EQ(fx_open(&fx), 0);
  CHECK_EQ(ag__poller_init(&p, fx_backend(fx), -1), 0);
  /* A wake-up before any wait is kept for the next one. */
  CHECK_EQ(ag__poller_wake(&p), 0);
  t0 = ag__now_ns();
  CHECK_EQ(ag__poller_wait(&p, 5000), 0);
  CHECK(ms_since(t0) < 1000.0);  /* not the 5 s timeout */
  /* A timeout runs its full length. */
  t0 = ag__now_ns();
  CHECK_EQ(ag__poller_wait(&p, 50), 0);
  waited = ms_since(t0);
  CHECK(waited >= 50.0);
  /* Readiness is reported and left in place. */
  CHECK_EQ(fx_make_ready(fx), 0);
  CHECK_EQ(ag__poller_wait(&p, 5000), 1);
  CHECK_EQ(ag__poller_wait(&p, 0), 1);
  CHECK_EQ(fx_take(fx), 1);
  CHECK_EQ(ag__poller_wait(&p, 0), 0);
  /* Two wake-ups, one return. */
  CHECK_EQ(ag__poller_wake(&p), 0);
  CHECK_EQ(ag__poller_wake(&p), 0);
  t0 = ag__now_ns();
  CHECK_EQ(ag__poller_wait(&p, 5000), 0);
  CHECK(ms_since(t0) < 1000.0);  /* not the 5 s timeout */
  t0 = ag__now_ns();
  CHECK_EQ(ag__poller_wait(&p, 30), 0);
  CHECK(ms_since(t0) >= 30.0);
  CHECK_EQ(fx_take(fx), 0);
  ag__poller_close(&p);
  fx_close(fx);
  printf("    50 ms timeout waited %.1f ms\n", waited);
  return 0;
}

static const test_case_t core_tests[] = {
    {"poller", test_poller},
    {"deadline", test_deadline},
    {"ready", test_ready},
    {"wakeup_polling", test_wakeup_polling},
    {"wakeup_armed", test_wakeup_armed},
    {"lockstep", test_lockstep},
    {"error_codes", test_error_codes},
    {"post_retry", test_post_retry},
    {"close", test_close},
    {"cycles", test_cycles},
    {NULL, NULL},
};

static void run(const test_case_t *t, int *passed, int *failed) {
  int64_t t0;
  int r;

  for (; t->name != NULL; t++) {
    t0 = ag__now_ns();
    r = t->fn();
    printf("%s %s (%.0f ms)\n", r == 0 ? "ok  " : "FAIL", t->name,
           ms_since(t0));
    if (r == 0)
      (*passed)++;
    else
      (*failed)++;
  }
}

int main(void) {
  int passed = 0;
  int failed = 0;
  int64_t t0;

  setvbuf(stdout, NULL, _IONBF, 0);
  setvbuf(stderr, NULL, _IONBF, 0);
  printf("asyncio-guest core, C tests: %s; %s\n", fx_platform(),
         AG_TEST_BACKEND);
  t0 = ag__now_ns();
  run(core_tests, &passed, &failed);
  run(fx_extra_tests, &passed, &failed);
  printf("(%.1f s)\n", ms_since(t0) / 1000.0);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
