/* backend-kqueue.c: the macOS / FreeBSD poller.  UNTESTED on those systems:
 * there is no kqueue here.  Nothing below is kqueue-specific (no
 * <sys/event.h>), so `make test-c` runs this file's poll() + self-pipe code
 * on Linux over an epoll fd, which is pollable the same way; the
 * __APPLE__ / __FreeBSD__ branches are not even compiled here.
 *
 * The guest loop's backend is a kqueue fd (selectors.KqueueSelector's, or
 * libuv's).  A kqueue fd is readable while events are pending, so poll()
 * on it learns that the loop has work without taking any event, as epoll
 * does on Linux; libuv's own embedding test (test-embed.c) polls
 * uv_backend_fd() this way on macOS and the BSDs, and Electron's
 * node_bindings_mac.cc uses select() on it.  Not an outer kqueue: a kqueue
 * added to another kqueue may never report (libuv's uv_backend_fd notes).
 * Wake-ups go through a self-pipe (macOS has no eventfd).
 */
#define _POSIX_C_SOURCE 200809L  /* poll, pipe, sigmasks, clock_gettime */
#define _DARWIN_C_SOURCE         /* which on macOS hides pthread_setname_np */
#include "guest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#if defined(__FreeBSD__)
#include <pthread_np.h>
#endif

typedef struct {
  int backend_fd;  /* the loop's kqueue: polled, never read */
  int extra_fd;    /* the signal wake-up socket, or -1 */
  int pipe_r;      /* our self-pipe: ag__poller_wake() writes a byte */
  int pipe_w;
} poller_t;

_Static_assert(sizeof(poller_t) <= sizeof(ag__poller_t),
               "ag__poller_t too small for the kqueue poller");

#define POLLER(p) ((poller_t *) (void *) (p)->storage)

static int set_flags(int fd) {
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
    return -errno;
  return 0;
}

int ag__poller_init(ag__poller_t *pp, intptr_t backend, int extra_fd) {
  poller_t *p = POLLER(pp);
  int fds[2];
  int err;

  p->pipe_r = p->pipe_w = -1;
  if (backend < 0 || backend > INT_MAX)
    return -EBADF;
  p->backend_fd = (int) backend;
  p->extra_fd = extra_fd;
  if (pipe(fds) != 0)  /* no pipe2() on macOS */
    return -errno;
  p->pipe_r = fds[0];
  p->pipe_w = fds[1];
  if ((err = set_flags(fds[0])) != 0 || (err = set_flags(fds[1])) != 0)
    ag__poller_close(pp);
  return err;
}

int ag__poller_wait(ag__poller_t *pp, int timeout_ms) {
  poller_t *p = POLLER(pp);
  struct pollfd fds[3];
  char buf[64];
  nfds_t n;
  int r;

  fds[0].fd = p->pipe_r;
  fds[1].fd = p->backend_fd;
  fds[2].fd = p->extra_fd;
  fds[0].events = fds[1].events = fds[2].events = POLLIN;
  fds[0].revents = fds[1].revents = fds[2].revents = 0;
  n = p->extra_fd >= 0 ? 3 : 2;
  do
    r = poll(fds, n, timeout_ms);
  while (r < 0 && errno == EINTR && timeout_ms == 0);
  if (r < 0)  /* EINTR with a timeout: let the host tick (see epoll) */
    return errno == EINTR ? 0 : -errno;
  if (fds[0].revents != 0)
    while (read(p->pipe_r, buf, sizeof(buf)) > 0)
      ;  /* drained: every wake-up so far is served by this return */
  if ((fds[1].revents | fds[2].revents) & POLLNVAL)
    return -EBADF;
  return (fds[1].revents | fds[2].revents) != 0;
}

int ag__poller_wake(ag__poller_t *pp) {
  poller_t *p = POLLER(pp);
  char one = 1;

  /* EAGAIN: the pipe is full, a wake-up is pending anyway. */
  if (write(p->pipe_w, &one, 1) < 0 && errno != EAGAIN)
    return -errno;
  return 0;
}

void ag__poller_close(ag__poller_t *pp) {
  poller_t *p = POLLER(pp);

  if (p->pipe_r >= 0)
    close(p->pipe_r);
  if (p->pipe_w >= 0)
    close(p->pipe_w);
  p->pipe_r = p->pipe_w = -1;
}

void ag__thread_set_name(void) {
  /* The calling thread only, in each system's spelling. */
#if defined(__APPLE__)
  (void) pthread_setname_np(AG_THREAD_NAME);
#elif defined(__FreeBSD__)
  pthread_set_name_np(pthread_self(), AG_THREAD_NAME);
#endif
}

