/* thread-win.c: ag__thread / ag__mutex / ag__cond over Win32 (Vista and
 * later): a slim reader/writer lock taken exclusively, a condition variable
 * slept on with that lock, and a CRT thread.  Each call maps to one Win32
 * call, like thread-posix.c maps to pthreads.
 *
 * _beginthreadex, not CreateThread: the thread may call into the C runtime
 * (and, through the Python waker, into Python), and the CRT's per-thread
 * data is then set up and freed with the thread.
 *
 * Tested under Wine (tests/c, `make test-wine`), not on Windows itself.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <process.h>

#include <errno.h>
#include <stdlib.h>

#include "guest.h"

typedef struct {
  HANDLE handle;  /* from _beginthreadex; closed by ag__thread_join */
  DWORD id;
} win_thread_t;

_Static_assert(sizeof(SRWLOCK) <= sizeof(ag__mutex_t),
               "ag__mutex_t too small for SRWLOCK");
_Static_assert(sizeof(CONDITION_VARIABLE) <= sizeof(ag__cond_t),
               "ag__cond_t too small for CONDITION_VARIABLE");
_Static_assert(sizeof(win_thread_t) <= sizeof(ag__thread_t),
               "ag__thread_t too small for a HANDLE and a thread id");

#define MUTEX(m) ((SRWLOCK *) (void *) (m)->storage)
#define COND(c) ((CONDITION_VARIABLE *) (void *) (c)->storage)
#define THREAD(t) ((win_thread_t *) (void *) (t)->storage)

int ag__mutex_init(ag__mutex_t *m) {
  InitializeSRWLock(MUTEX(m));
  return 0;
}

void ag__mutex_destroy(ag__mutex_t *m) {
  (void) m;  /* an SRW lock holds no resources */
}

void ag__mutex_lock(ag__mutex_t *m) {
  AcquireSRWLockExclusive(MUTEX(m));
}

void ag__mutex_unlock(ag__mutex_t *m) {
  ReleaseSRWLockExclusive(MUTEX(m));
}

int ag__cond_init(ag__cond_t *c) {
  InitializeConditionVariable(COND(c));
  return 0;
}

void ag__cond_destroy(ag__cond_t *c) {
  (void) c;
}

void ag__cond_signal(ag__cond_t *c) {
  WakeConditionVariable(COND(c));
}

void ag__cond_broadcast(ag__cond_t *c) {
  WakeAllConditionVariable(COND(c));
}

void ag__cond_wait(ag__cond_t *c, ag__mutex_t *m) {
  if (!SleepConditionVariableSRW(COND(c), MUTEX(m), INFINITE, 0))
    abort();  /* INFINITE cannot time out */
}

int ag__cond_timedwait(ag__cond_t *c, ag__mutex_t *m, int64_t timeout_ns) {
  int64_t ms;

  /* Milliseconds, rounded up (a 10 ms pause must not become 9), below
   * INFINITE. */
  ms = timeout_ns <= 0 ? 0 : (timeout_ns + 999999) / 1000000;
  if (ms >= (int64_t) INFINITE)
    ms = (int64_t) INFINITE - 1;
  if (SleepConditionVariableSRW(COND(c), MUTEX(m), (DWORD) ms, 0))
    return 0;
  /* ERROR_TIMEOUT; any other failure is treated as a spurious wake-up,
   * which every caller already tolerates. */
  return GetLastError() == ERROR_TIMEOUT ? -ETIMEDOUT : 0;
}

struct start {
  void (*fn)(void *arg);
  void *arg;
};

static unsigned __stdcall trampoline(void *p) {
  struct start s;

  s = *(struct start *) p;
  free(p);
  s.fn(s.arg);
  return 0;
}

int ag__thread_create(ag__thread_t *t, void (*fn)(void *arg), void *arg) {
  struct start *s;
  uintptr_t h;
  unsigned id;
  int err;

  s = malloc(sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  s->fn = fn;
  s->arg = arg;
  h = _beginthreadex(NULL, 0, trampoline, s, 0, &id);
  if (h == 0) {
    err = errno;  /* _beginthreadex sets errno: EAGAIN, EINVAL, EACCES */
    free(s);
    return err > 0 ? -err : -EAGAIN;
  }
  THREAD(t)->handle = (HANDLE) h;
  THREAD(t)->id = id;
  return 0;
}

int ag__thread_join(ag__thread_t *t) {
  DWORD r;

  r = WaitForSingleObject(THREAD(t)->handle, INFINITE);
  CloseHandle(THREAD(t)->handle);
  THREAD(t)->handle = NULL;
  return r == WAIT_OBJECT_0 ? 0 : -EINVAL;
}

int ag__thread_is_current(const ag__thread_t *t) {
  return GetCurrentThreadId() ==
         ((const win_thread_t *) (const void *) t->storage)->id;
}
