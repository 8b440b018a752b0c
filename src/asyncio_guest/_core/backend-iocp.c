/* backend-iocp.c: the Windows poller, for asyncio's ProactorEventLoop.
 *
 * The backend is the proactor's I/O completion port (`loop._proactor._iocp`,
 * an integer HANDLE): every overlapped operation of the loop, and its
 * self-pipe socket (call_soon_threadsafe), completes there.
 *
 * Peek, never consume, Electron's way (node_bindings_win.cc): the backend
 * thread dequeues one completion with a timeout and at once posts it back,
 * unchanged, with PostQueuedCompletionStatus (same byte count, key and
 * OVERLAPPED pointer), so the loop's own zero-timeout poll, later on the host
 * thread, finds it.  What that preserves and what it does not:
 *
 *   - The outcome of the operation.  A given-back packet dequeues as a
 *     success even if the I/O failed (GetQueuedCompletionStatus returns FALSE
 *     with an OVERLAPPED for those).  asyncio does not use that return value:
 *     IocpProactor._poll (Lib/asyncio/windows_events.py) looks the OVERLAPPED
 *     address up in its cache and the callback reads the result from the
 *     OVERLAPPED itself (Overlapped.getresult(): GetOverlappedResult on the
 *     status the kernel stored there); the error GetQueuedCompletionStatus
 *     returned only appears in a debug message about unknown packets.
 *     tests/c checks this with a cancelled pipe read under Wine.
 *   - Order: the packet goes back to the end of the queue (and Windows does
 *     not promise FIFO dequeuing anyway).  asyncio keeps at most one read
 *     and one write in flight per transport, so no stream is reordered.
 *   - The port's concurrency value: asyncio creates its port with
 *     concurrency INFINITE, so our thread never keeps the host thread's
 *     GetQueuedCompletionStatus from being released.  (Electron had to raise
 *     libuv's concurrency of 1 to 2 on one-CPU machines for this reason.)
 *
 * Wake-ups.  A wake-up must end a wait on the loop's port, or make the next
 * one return at once.  Posting a packet of our own to the loop's port (libuv
 * wakes itself that way) is not safe here: a wake-up that races with the
 * wait returning leaves the packet in the port for asyncio, whose _poll,
 * finding an address it does not know, reports "GetQueuedCompletionStatus()
 * returned an unexpected event" in debug mode and calls CloseHandle(key) on
 * any key other than 0 and INVALID_HANDLE_VALUE; avoiding strays would take
 * a loop that dequeues until it finds its own packet.  A second, private port
 * does not help: a thread waits on one port at a time, and a port is not a
 * documented waitable object for WaitForMultipleObjects.  So the wait is
 * *alertable* (GetQueuedCompletionStatusEx with fAlertable), and a wake-up is
 * an APC queued to the backend thread (QueueUserAPC): it ends the wait with
 * WAIT_IO_COMPLETION and never touches the loop's port.  An APC queued while
 * the thread is not in the wait runs, and ends, the next alertable wait: the
 * "next one returns at once" semantics of the Linux eventfd.  The thread's
 * handle is known only once it first waits (one thread waits on a poller:
 * the backend thread); a wake-up before that is kept in `early_wake`.
 *
 * Waits that time out early (Windows rounds timeouts to its clock tick) are
 * resumed for what is left, so a deadline is never reported before it is
 * due, as on Linux.
 *
 * Tested under Wine with the C tests (tests/c, `make test-wine`), not on
 * Windows itself, and not with a Python ProactorEventLoop.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "errno-win32.h"
#include "guest.h"

/* The layout of ag__poller_t here. */
typedef struct {
  HANDLE port;                /* the loop's completion port: never closed here */
  _Atomic(HANDLE) thread;     /* the waiting thread, once it first waited */
  atomic_int early_wake;      /* a wake-up that came before `thread` was set */
} poller_t;

_Static_assert(sizeof(poller_t) <= sizeof(ag__poller_t),
               "ag__poller_t too small for the IOCP poller");

#define POLLER(p) ((poller_t *) (void *) (p)->storage)

/* The APC that wakes the thread: running it is the whole point. */
static void CALLBACK wake_apc(ULONG_PTR arg) {
  (void) arg;
}

int ag__poller_init(ag__poller_t *pp, intptr_t backend, int extra_fd) {
  poller_t *p;

  p = POLLER(pp);
  p->port = NULL;
  atomic_init(&p->thread, NULL);
  atomic_init(&p->early_wake, 0);
  if (backend <= 0)
    return -EBADF;
  /* The signal wake-up socket serves uvloop on Unix only. */
  if (extra_fd >= 0)
    return -ENOTSUP;
  p->port = (HANDLE) backend;
  return 0;
}

/* Gives a dequeued completion back to the port, unchanged. */
static int give_back(HANDLE port, const OVERLAPPED_ENTRY *e) {
  if (!PostQueuedCompletionStatus(port, e->dwNumberOfBytesTransferred,
                                  e->lpCompletionKey, e->lpOverlapped))
    return ag__errno_from_win32(GetLastError());
  return 0;
}

int ag__poller_wait(ag__poller_t *pp, int timeout_ms) {
  poller_t *p = POLLER(pp);
  OVERLAPPED_ENTRY entry;
  ULONG removed;
  HANDLE self;
  int64_t end;
  int64_t left;
  DWORD ms;
  DWORD err;
  int r;

  if (atomic_load(&p->thread) == NULL) {
    if (!DuplicateHandle(GetCurrentProcess(), GetCurrentThread(),
                         GetCurrentProcess(), &self, 0, FALSE,
                         DUPLICATE_SAME_ACCESS))
      return ag__errno_from_win32(GetLastError());
    atomic_store(&p->thread, self);
  }
  if (atomic_exchange(&p->early_wake, 0))
    return 0;

  end = timeout_ms > 0 ? ag__now_ns() + (int64_t) timeout_ms * 1000000 : 0;
  ms = timeout_ms < 0 ? INFINITE : (DWORD) timeout_ms;
  for (;;) {
    removed = 0;
    if (GetQueuedCompletionStatusEx(p->port, &entry, 1, &removed, ms, TRUE) &&
        removed == 1) {
      /* A wake-up that raced with this return stays queued and cuts the
       * next wait short: one extra tick at worst, as with the eventfd.
       * (Running it here with SleepEx(0, TRUE) would yield the CPU.) */
      r = give_back(p->port, &entry);
      return r != 0 ? r : 1;
    }
    err = GetLastError();
    if (err == WAIT_IO_COMPLETION)
      return 0;  /* woken by ag__poller_wake() */
    if (err != WAIT_TIMEOUT)
      return ag__errno_from_win32(err);
    if (timeout_ms <= 0)
      return 0;
    left = end - ag__now_ns();
    if (left <= 0)
      return 0;
    ms = (DWORD) ((left + 999999) / 1000000);  /* early: wait for the rest */
  }
}

int ag__poller_wake(ag__poller_t *pp) {
  poller_t *p = POLLER(pp);
  HANDLE thread;

  thread = atomic_load(&p->thread);
  if (thread == NULL) {
    /* The thread has not waited yet: leave a note, then look again (it may
     * have started waiting meanwhile without seeing the note; at worst it
     * then gets both, and one wait returns early). */
    atomic_store(&p->early_wake, 1);
    thread = atomic_load(&p->thread);
    if (thread == NULL)
      return 0;
  }
  if (!QueueUserAPC(wake_apc, thread, 0))
    return ag__errno_from_win32(GetLastError());
  return 0;
}

int ag__fd_readable(intptr_t backend) {
  OVERLAPPED_ENTRY entry;
  ULONG removed;
  DWORD err;
  int r;

  if (backend <= 0)
    return -EBADF;
  /* Not alertable: the host thread's APCs are none of our business. */
  removed = 0;
  if (GetQueuedCompletionStatusEx((HANDLE) backend, &entry, 1, &removed, 0,
                                  FALSE) &&
      removed == 1) {
    r = give_back((HANDLE) backend, &entry);
    return r != 0 ? r : 1;
  }
  err = GetLastError();
  return err == WAIT_TIMEOUT ? 0 : ag__errno_from_win32(err);
}

void ag__poller_close(ag__poller_t *pp) {
  poller_t *p = POLLER(pp);
  HANDLE thread;

  /* The port is the loop's.  Only our duplicate of the thread handle goes;
   * APCs still queued to the (joined) thread went with it. */
  thread = atomic_exchange(&p->thread, NULL);
  if (thread != NULL)
    CloseHandle(thread);
  p->port = NULL;
}

int ag__thread_block_signals(void) {
  /* Windows has no per-thread signal mask: the C runtime runs SIGINT and
   * SIGBREAK handlers on a thread the console creates for them, never on
   * ours, and Python runs its handlers on the main thread. */
  return 0;
}

void ag__thread_set_name(void) {
  typedef HRESULT(WINAPI * set_description_t)(HANDLE, PCWSTR);
  set_description_t set_description;
  HMODULE kernel32;
  FARPROC proc;

  /* SetThreadDescription exists from Windows 10 1607 on: look it up rather
   * than link to it, and do without elsewhere (only a label is lost). */
  kernel32 = GetModuleHandleW(L"kernel32.dll");
  if (kernel32 == NULL)
    return;
  proc = GetProcAddress(kernel32, "SetThreadDescription");
  if (proc == NULL)
    return;
  set_description = (set_description_t) (void (*)(void)) proc;
  (void) set_description(GetCurrentThread(), L"" AG_THREAD_NAME);
}

int64_t ag__now_ns(void) {
  LARGE_INTEGER count;
  LARGE_INTEGER freq;

  /* QueryPerformanceCounter: monotonic, sub-microsecond.  (Python 3.13's
   * time.monotonic(), asyncio's loop.time(), uses it too; earlier versions
   * use GetTickCount64.  The core only ever adds relative timeouts to this
   * clock, so the two need not agree.)  Split to avoid overflowing. */
  QueryPerformanceCounter(&count);
  QueryPerformanceFrequency(&freq);
  return (int64_t) (count.QuadPart / freq.QuadPart) * 1000000000LL +
         (int64_t) (count.QuadPart % freq.QuadPart) * 1000000000LL /
             freq.QuadPart;
}

int ag__fd_drain(intptr_t fd) {
  (void) fd;
  return -ENOTSUP;  /* no signal socket on Windows (see _signals.py) */
}
