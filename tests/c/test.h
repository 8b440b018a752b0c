/* test.h: the C tests of the core (guest.c + a backend + a thread file),
 * through its internal API (guest.h).
 *
 *   test_core.c        the protocol tests, the same on every platform, with
 *                      a fake waker that records its posts
 *   fixture-<os>.c     a backend like the guest loop's, and the tests only
 *                      that platform can run:
 *                        fixture-epoll.c  an epoll fd with a pipe in it
 *                                         (Linux; also drives backend-kqueue.c,
 *                                         whose poll() takes any pollable fd)
 *                        fixture-iocp.c   an I/O completion port (Windows,
 *                                         run under Wine), real overlapped
 *                                         pipe I/O, and the Win32 waker
 *
 * Build and run: tests/c/run.sh (make test-c, make test-wine).
 */
#ifndef ASYNCIO_GUEST_TEST_H
#define ASYNCIO_GUEST_TEST_H

#include <stdint.h>
#include <stdio.h>

#include "guest.h"

/* A failed check prints where and returns 1 from the test function. */
#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, \
              #cond);                                                    \
      return 1;                                                          \
    }                                                                    \
  } while (0)

#define CHECK_EQ(a, b)                                                     \
  do {                                                                     \
    long long a_ = (long long) (a), b_ = (long long) (b);                  \
    if (a_ != b_) {                                                        \
      fprintf(stderr, "  %s:%d: check failed: %s == %s (%lld != %lld)\n", \
              __FILE__, __LINE__, #a, #b, a_, b_);                         \
      return 1;                                                            \
    }                                                                      \
  } while (0)

#define MS (1000000LL)  /* a millisecond in ns */

typedef struct {
  const char *name;
  int (*fn)(void);  /* 0: passed */
} test_case_t;

/* ---- fixture-<os>.c ---------------------------------------------------- */

typedef struct fixture_s fixture_t;

/* What the platform and its backend are, for the report. */
const char *fx_platform(void);
/* A backend like the guest loop's: an epoll fd holding a pipe's read end
 * (Linux), an I/O completion port (Windows). */
int fx_open(fixture_t **out);
intptr_t fx_backend(fixture_t *f);
/* One event the loop would handle: a byte in the pipe; a completion posted
 * with PostQueuedCompletionStatus (Windows).  Any thread. */
int fx_make_ready(fixture_t *f);
/* As the loop itself would, after a post: 1 if exactly the event made ready
 * is there, unchanged (it is then taken), 0 if there is none, -1 if
 * something else is.  Host thread. */
int fx_take(fixture_t *f);
void fx_close(fixture_t *f);
void fx_sleep_ms(int ms);
/* Tests only this platform runs (NULL-terminated). */
extern const test_case_t fx_extra_tests[];

/* ---- test_core.c, for the fixtures' own tests --------------------------- */

/* Milliseconds since t0_ns on the core's clock. */
double ms_since(int64_t t0_ns);
/* Runs fn(arg) on a new thread after delay_ms; test_join_helper() waits. */
typedef struct helper_s helper_t;
helper_t *test_start_helper(int delay_ms, void (*fn)(void *), void *arg);
void test_join_helper(helper_t *h);

#endif /* ASYNCIO_GUEST_TEST_H */
