/* thread-posix.c: ag__thread / ag__mutex / ag__cond over pthreads (Linux,
 * macOS, the BSDs), and the POSIX helpers both of those pollers share (the
 * backend thread's signal mask, the clock, the fast path's fd peek).  Thin
 * on purpose: every call maps to one POSIX call, and an error becomes a
 * negative errno. */
#define _POSIX_C_SOURCE 200809L
#include "guest.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(ag__mutex_t),
               "ag__mutex_t too small for pthread_mutex_t");
_Static_assert(sizeof(pthread_cond_t) <= sizeof(ag__cond_t),
               "ag__cond_t too small for pthread_cond_t");
_Static_assert(sizeof(pthread_t) <= sizeof(ag__thread_t),
               "ag__thread_t too small for pthread_t");

#define MUTEX(m) ((pthread_mutex_t *) (void *) (m)->storage)
#define COND(c) ((pthread_cond_t *) (void *) (c)->storage)
#define THREAD(t) ((pthread_t *) (void *) (t)->storage)

int ag__mutex_init(ag__mutex_t *m) {
  return -pthread_mutex_init(MUTEX(m), NULL);
}

void ag__mutex_destroy(ag__mutex_t *m) {
  pthread_mutex_destroy(MUTEX(m));
}

void ag__mutex_lock(ag__mutex_t *m) {
  if (pthread_mutex_lock(MUTEX(m)) != 0)
    abort();  /* only on a corrupted or uninitialised mutex */
}

void ag__mutex_unlock(ag__mutex_t *m) {
  if (pthread_mutex_unlock(MUTEX(m)) != 0)
    abort();
}

int ag__cond_init(ag__cond_t *c) {
  return -pthread_cond_init(COND(c), NULL);
}

void ag__cond_destroy(ag__cond_t *c) {
  pthread_cond_destroy(COND(c));
}

void ag__cond_signal(ag__cond_t *c) {
  pthread_cond_signal(COND(c));
}

void ag__cond_broadcast(ag__cond_t *c) {
  pthread_cond_broadcast(COND(c));
}

void ag__cond_wait(ag__cond_t *c, ag__mutex_t *m) {
  if (pthread_cond_wait(COND(c), MUTEX(m)) != 0)
    abort();
}

int ag__cond_timedwait(ag__cond_t *c, ag__mutex_t *m, int64_t timeout_ns) {
  struct timespec ts;
  int r;

  /* The realtime clock (the default for pthread_cond_timedwait): a clock
   * step only lengthens or shortens one retry pause, which is all this
   * serves. */
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += (time_t) (timeout_ns / 1000000000LL);
  ts.tv_nsec += (long) (timeout_ns % 1000000000LL);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1000000000L;
  }
  r = pthread_cond_timedwait(COND(c), MUTEX(m), &ts);
  return r == ETIMEDOUT ? -ETIMEDOUT : 0;
}

struct start {
  void (*fn)(void *arg);
  void *arg;
};

static void *trampoline(void *p) {
  struct start s;

  s = *(struct start *) p;
  free(p);
  s.fn(s.arg);
  return NULL;
}

int ag__thread_create(ag__thread_t *t, void (*fn)(void *arg), void *arg) {
  struct start *s;
  int r;

  s = malloc(sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  s->fn = fn;
  s->arg = arg;
  r = pthread_create(THREAD(t), NULL, trampoline, s);
  if (r != 0) {
    free(s);
    return -r;
  }
  return 0;
}

int ag__thread_join(ag__thread_t *t) {
  return -pthread_join(*THREAD(t), NULL);
}

int ag__thread_is_current(const ag__thread_t *t) {
  return pthread_equal(pthread_self(),
                       *(const pthread_t *) (const void *) t->storage);
}

int ag__thread_block_signals(void) {
  sigset_t all;

  /* Signals belong to the host thread: Python's C-level handler may run on
   * any thread, but a host such as Tk only notices a signal (and Ctrl-C) if
   * it interrupts the host's own wait. */
  sigfillset(&all);
  return -pthread_sigmask(SIG_BLOCK, &all, NULL);
}

int64_t ag__now_ns(void) {
  struct timespec ts;

  /* CLOCK_MONOTONIC: what time.monotonic() reads on Linux and the BSDs.
   * On macOS (10.12+) Python reads mach_absolute_time(); the core only adds
   * relative timeouts to this clock, so the two need not agree. */
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int ag__fd_readable(intptr_t fd) {
  struct pollfd pfd;
  int n;

  if (fd < 0 || fd > INT_MAX)
    return -EBADF;
  pfd.fd = (int) fd;
  pfd.events = POLLIN;
  pfd.revents = 0;
  do
    n = poll(&pfd, 1, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -errno;
  if (pfd.revents & POLLNVAL)
    return -EBADF;
  return n > 0;
}

int ag__fd_drain(intptr_t fd) {
  char buf[256];
  ssize_t n;
  int got;

  if (fd < 0 || fd > INT_MAX)
    return -EBADF;
  got = 0;
  for (;;) {
    n = read((int) fd, buf, sizeof(buf));
    if (n > 0) {
      got = 1;
      continue;
    }
    if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
      return got;
    if (errno != EINTR)
      return -errno;
  }
}
