/* backend-epoll.c: the Linux poller.
 *
 * An outer epoll instance watches two fds: the guest loop's backend fd (the
 * selector's epoll fd, or libuv's) and an eventfd of our own.  An epoll fd is
 * itself pollable: it reports EPOLLIN while its ready list is non-empty
 * (epoll(7), "Q3"), so waiting on it tells us the loop has I/O to handle
 * without taking a single event from it.  The loop's own zero-timeout poll,
 * run later on the host thread, consumes them.
 */
#define _GNU_SOURCE
#include "guest.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Tags in epoll_event.data: which of our two fds fired. */
#define TAG_BACKEND 1
#define TAG_WAKE 2

/* The layout of ag__poller_t here. */
typedef struct {
  int outer_fd;    /* an epoll fd holding backend_fd and wake_fd */
  int wake_fd;     /* an eventfd written by ag__poller_wake() */
  int backend_fd;  /* the guest loop's own epoll/libuv fd: peeked, never read */
} poller_t;

_Static_assert(sizeof(poller_t) <= sizeof(ag__poller_t),
               "ag__poller_t too small for the epoll poller");

#define POLLER(p) ((poller_t *) (void *) (p)->storage)

static int watch(int epfd, int fd, uint64_t tag) {
  struct epoll_event ev;

  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
    return -errno;
  return 0;
}

int ag__poller_init(ag__poller_t *pp, intptr_t backend, int extra_fd) {
  poller_t *p;
  int backend_fd;
  int err;

  p = POLLER(pp);
  p->outer_fd = -1;
  p->wake_fd = -1;
  if (backend < 0 || backend > INT_MAX)
    return -EBADF;
  backend_fd = (int) backend;
  p->backend_fd = backend_fd;
  p->outer_fd = epoll_create1(EPOLL_CLOEXEC);
  if (p->outer_fd < 0)
    return -errno;
  p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->wake_fd < 0) {
    err = -errno;
    goto fail;
  }
  err = watch(p->outer_fd, backend_fd, TAG_BACKEND);
  if (err != 0)
    goto fail;
  err = watch(p->outer_fd, p->wake_fd, TAG_WAKE);
  if (err != 0)
    goto fail;
  if (extra_fd >= 0) {
    /* Readable like the backend fd: the host must tick (and drain it). */
    err = watch(p->outer_fd, extra_fd, TAG_BACKEND);
    if (err != 0)
      goto fail;
  }
  return 0;

fail:
  ag__poller_close(pp);
  return err;
}

int ag__poller_wait(ag__poller_t *pp, int timeout_ms) {
  poller_t *p = POLLER(pp);
  struct epoll_event evs[2];
  uint64_t drained;
  int readable;
  int n;
  int i;

  do
    n = epoll_wait(p->outer_fd, evs, 2, timeout_ms);
  while (n < 0 && errno == EINTR && timeout_ms == 0);
  /* EINTR with a timeout: return and let the host tick.  A signal may be
   * exactly what asyncio's wakeup fd is about to report, and recomputing the
   * deadline is the tick's job anyway. */
  if (n < 0)
    return errno == EINTR ? 0 : -errno;

  readable = 0;
  for (i = 0; i < n; i++) {
    if (evs[i].data.u64 == TAG_BACKEND)
      readable = 1;
    else if (read(p->wake_fd, &drained, sizeof(drained)) < 0 &&
             errno != EAGAIN)
      return -errno;
  }
  return readable;
}

int ag__poller_wake(ag__poller_t *pp) {
  poller_t *p = POLLER(pp);
  uint64_t one;

  one = 1;
  /* EAGAIN means the counter is saturated: a wake-up is pending anyway. */
  if (write(p->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
    return -errno;
  return 0;
}

void ag__poller_close(ag__poller_t *pp) {
  poller_t *p = POLLER(pp);

  if (p->wake_fd >= 0)
    close(p->wake_fd);
  if (p->outer_fd >= 0)
    close(p->outer_fd);
  p->wake_fd = -1;
  p->outer_fd = -1;
}

void ag__thread_set_name(void) {
  /* At most 15 characters and the NUL; failure only loses a label. */
  (void)pthread_setname_np(pthread_self(), AG_THREAD_NAME);
}

