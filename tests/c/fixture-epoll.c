/* fixture-epoll.c: the Linux backend of the C tests: an epoll fd, as the
 * selector loop's, with the read end of a pipe in it.
 *
 * Also linked with backend-kqueue.c (tests/c/run.sh kqueue-on-linux): that
 * poller poll()s its backend fd plus a self-pipe, and an epoll fd is as
 * pollable as a kqueue fd, so its protocol code runs here for real; what
 * only macOS/BSD can show (poll() reporting a kqueue fd) is not tested.
 */
#define _GNU_SOURCE
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define TAG 0xa6

struct fixture_s {
  int epfd;
  int pipe[2];
};

const char *fx_platform(void) {
  return "Linux, an epoll fd holding a pipe";
}

int fx_open(fixture_t **out) {
  struct epoll_event ev;
  fixture_t *f;

  f = calloc(1, sizeof(*f));
  if (f == NULL)
    return -ENOMEM;
  f->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (f->epfd < 0 || pipe2(f->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return -errno;
  ev.events = EPOLLIN;
  ev.data.u64 = TAG;
  if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->pipe[0], &ev) != 0)
    return -errno;
  *out = f;
  return 0;
}

intptr_t fx_backend(fixture_t *f) {
  return f->epfd;
}

int fx_make_ready(fixture_t *f) {
  return write(f->pipe[1], "x", 1) == 1 ? 0 : -errno;
}

int fx_take(fixture_t *f) {
  struct epoll_event evs[4];
  char buf[16];
  int n;

  n = epoll_wait(f->epfd, evs, 4, 0);
  if (n == 0)
    return 0;
  if (n != 1 || evs[0].data.u64 != TAG || !(evs[0].events & EPOLLIN))
    return -1;
  /* Exactly the one byte written. */
  return read(f->pipe[0], buf, sizeof(buf)) == 1 ? 1 : -1;
}

void fx_close(fixture_t *f) {
  close(f->pipe[0]);
  close(f->pipe[1]);
  close(f->epfd);
  free(f);
}

void fx_sleep_ms(int ms) {
  struct timespec ts;

  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long) (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* The extra fd (uvloop's signal wake-up socket on the main thread): as
 * readable as the backend, and likewise left for the host to drain. */
static int test_extra_fd(void) {
  ag__poller_t p;
  fixture_t *f;
  int extra[2];
  char c;

  CHECK_EQ(fx_open(&f), 0);
  CHECK_EQ(pipe2(extra, O_CLOEXEC | O_NONBLOCK), 0);
  CHECK_EQ(ag__poller_init(&p, fx_backend(f), extra[0]), 0);
  CHECK_EQ(ag__poller_wait(&p, 0), 0);
  CHECK_EQ(write(extra[1], "s", 1), 1);
  CHECK_EQ(ag__poller_wait(&p, 1000), 1);
  CHECK_EQ(ag__poller_wait(&p, 0), 1);  /* not drained by the poller */
  CHECK_EQ(read(extra[0], &c, 1), 1);
  CHECK_EQ(ag__poller_wait(&p, 0), 0);
  CHECK_EQ(fx_take(f), 0);
  ag__poller_close(&p);
  close(extra[0]);
  close(extra[1]);
  fx_close(f);
  return 0;
}

/* A backend that is not an fd at all is refused, not polled. */
static int test_bad_backend(void) {
  ag__poller_t p;

  CHECK_EQ(ag__poller_init(&p, -1, -1), -EBADF);
  CHECK_EQ(ag__poller_init(&p, (intptr_t) 1 << 40, -1), -EBADF);
  CHECK_EQ(ag__fd_readable((intptr_t) 1 << 40), -EBADF);
  return 0;
}

const test_case_t fx_extra_tests[] = {
    {"extra_fd", test_extra_fd},
    {"bad_backend", test_bad_backend},
    {NULL, NULL},
};
