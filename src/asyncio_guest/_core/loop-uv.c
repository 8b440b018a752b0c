/* loop-uv.c: read a uvloop loop's libuv state, to know when it has work.
 *
 * uvloop exposes its backend fd (loop._get_backend_id()) but no deadline,
 * and libuv's own uv_backend_timeout() is unusable for guest mode: it
 * returns 0 whenever a handle is closing, and after every run_forever() on
 * the main thread uvloop leaves one closing (its signal socket).  So we read
 * the few libuv fields that matter, at their offsets in uv_loop_t.
 *
 * The offsets are libuv's public struct layout (uv.h `struct uv_loop_s` and
 * uv/unix.h UV_LOOP_PRIVATE_FIELDS), identical on x86_64 and aarch64 Linux
 * for libuv 1.43 through 1.52 (uvloop 0.17 through 0.23).  Nothing is
 * assumed blindly: ag_uv_attach() checks each one against the live loop and
 * refuses (AG_EUV_LAYOUT) when any check fails, and the Python side names the
 * uvloop version in the error.  The checks: the backend fd read at its
 * offset equals loop._get_backend_id(); the Loop object's `_ready` field is
 * a deque; and, done from Python with a throwaway call_later on the fresh
 * loop, the timer heap holds the new timer as its minimum.
 */
#include "guest.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* uvloop's Loop (a Cython cdef class): PyObject_HEAD, the vtable pointer,
 * then the fields of loop.pxd in order. */
#define LOOP_UVLOOP_OFFSET 24   /* uv_loop_t *uvloop */
#define LOOP_STOPPING_OFFSET 60 /* bint _stopping */
#define LOOP_READY_OFFSET 96    /* object _ready (a collections.deque) */
/* `object _last_error` comes later, after fields that differ between
 * uvloop releases (0.17-0.20: 256, 0.21-0.22: 264, 0.23: 256); it is found
 * on the live loop by ag_uv_find_slot(), never assumed. */
#define LOOP_SCAN_END 512

/* libuv's uv_run_mode */
#define UV_RUN_NOWAIT 2

/* uv_loop_t, 64-bit Linux. */
#define UV_BACKEND_FD 64
#define UV_PENDING_QUEUE 72
#define UV_WATCHER_QUEUE 88
#define UV_TIMER_HEAP_MIN 520
#define UV_TIME 544
/* From a timer's heap node (uv_timer_t.node.heap) to its uint64_t timeout:
 * heap node at 104, timeout at 128 in uv_timer_t. */
#define UV_TIMER_NODE_TO_TIMEOUT 24

#if UINTPTR_MAX != 0xffffffffffffffffULL
#error "loop-uv.c: the uv_loop_t offsets are for 64-bit platforms"
#endif

static void *field_ptr(const char *base, size_t off) {
  void *p;

  memcpy(&p, base + off, sizeof(p));
  return p;
}

/* A libuv queue (struct uv__queue {next, prev}) is empty when it points to
 * itself. */
static int queue_nonempty(const char *uv, size_t off) {
  return field_ptr(uv, off) != (const void *) (uv + off);
}

int ag_uv_attach(ag_uv_t *u, void *loop_obj, int backend_fd) {
  char *uv;
  int fd;

  uv = field_ptr(loop_obj, LOOP_UVLOOP_OFFSET);
  if (uv == NULL)
    return AG_EUV_LAYOUT;
  memcpy(&fd, uv + UV_BACKEND_FD, sizeof(fd));
  if (fd != backend_fd)
    return AG_EUV_LAYOUT;
  u->obj = loop_obj;
  u->uv = uv;
  u->run = NULL;
  return 0;
}

void ag_uv_set_run(ag_uv_t *u, ag_uv_run_fn run) {
  u->run = run;
}

int ag_uv_run_nowait(ag_uv_t *u) {
  if (u->run == NULL)
    return AG_EUV_LAYOUT;
  (void) u->run(u->uv, UV_RUN_NOWAIT);  /* > 0: the loop is alive */
  return 0;
}

int ag_uv_stopping(const ag_uv_t *u) {
  int stopping;

  memcpy(&stopping, u->obj + LOOP_STOPPING_OFFSET, sizeof(stopping));
  return stopping;
}

void ag_uv_clear_stopping(ag_uv_t *u) {
  int zero = 0;

  memcpy(u->obj + LOOP_STOPPING_OFFSET, &zero, sizeof(zero));
}

int ag_uv_find_slot(const ag_uv_t *u, const void *value, size_t size,
                    size_t *offset) {
  size_t off;
  size_t end;

  /* Raw words only, never dereferenced: some of the fields scanned are ints,
   * and only the slot that holds `value` can equal its address. */
  end = size < LOOP_SCAN_END ? size : LOOP_SCAN_END;
  for (off = LOOP_READY_OFFSET + sizeof(void *); off + sizeof(void *) <= end;
       off += sizeof(void *)) {
    if (field_ptr(u->obj, off) == value) {
      *offset = off;
      return 0;
    }
  }
  return AG_EUV_LAYOUT;
}

void **ag_uv_slot(const ag_uv_t *u, size_t offset) {
  return (void **) (u->obj + offset);
}

void *ag_uv_ready_queue(const ag_uv_t *u) {
  return field_ptr(u->obj, LOOP_READY_OFFSET);
}

int ag_uv_pending(const ag_uv_t *u) {
  /* Pending callbacks, and watchers not yet given to epoll (a new
   * add_reader, a new stream), need a uv_run() pass before the backend fd
   * can report anything.  (uvloop's own ready queue is checked by the
   * caller; the idle handle only mirrors it.) */
  return queue_nonempty(u->uv, UV_PENDING_QUEUE) ||
         queue_nonempty(u->uv, UV_WATCHER_QUEUE);
}

int64_t ag_uv_next_timer_ns(const ag_uv_t *u) {
  const char *min;
  uint64_t timeout_ms;

  min = field_ptr(u->uv, UV_TIMER_HEAP_MIN);
  if (min == NULL)
    return -1;
  memcpy(&timeout_ms, min + UV_TIMER_NODE_TO_TIMEOUT, sizeof(timeout_ms));
  /* libuv's clock is CLOCK_MONOTONIC in whole milliseconds (or its coarse
   * variant when that has 1 ms resolution), the epoch of ag__now_ns(). */
  if (timeout_ms > (uint64_t) INT64_MAX / 1000000)
    return -1;
  return (int64_t) timeout_ms * 1000000;
}

uint64_t ag_uv_time_ms(const ag_uv_t *u) {
  uint64_t t;

  memcpy(&t, u->uv + UV_TIME, sizeof(t));
  return t;
}
