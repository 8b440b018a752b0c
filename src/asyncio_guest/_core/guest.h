/* guest.h: the internal interface of the asyncio-guest core.
 *
 * Three layers, one job each (see docs/design.md):
 *
 *   guest.c            the lockstep protocol: the backend thread, its states,
 *                      arm / wakeup / close.  Knows no OS and no Python.
 *   backend-<os>.c     "wait until this fd is readable or a deadline passes,
 *                      unless woken": one file per platform, chosen by the
 *                      build (setup.py), never by #ifdef.
 *   waker-<host>.c     "tell the host thread to run a tick": Tcl (built
 *                      into _core), GLib (its own extension, _glib, built
 *                      where GLib's headers exist), Win32 (_win32);
 *                      watcher-<host>.c: the same host watching the fds
 *                      itself (threadless mode).
 *   module.c, type-*.c the Python glue of asyncio_guest._core: the module
 *                      and one file per type (core.h lists them).
 *   glibmodule.c       the same for asyncio_guest._glib (win32module.c:
 *                      asyncio_guest._win32).
 *   glue.c             what the glue of the three shares, among it the one
 *                      place where a core error becomes a Python exception.
 *   errors.h           the core's own error codes.
 *
 * Naming follows libuv: ag_ is callable from the glue, ag__ is internal to
 * the core, static helpers carry no prefix.  Every function that can fail
 * returns 0, a negative errno value (a real OS failure), or one of the
 * core's own codes (errors.h).
 */
#ifndef ASYNCIO_GUEST_GUEST_H
#define ASYNCIO_GUEST_GUEST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* ---- backend-<os>.c: the per-platform poller ---------------------------- */

/* The poller's state: opaque storage, laid out by each backend as it needs
 * (checked there with static asserts), like the thread types below.  The
 * backend is what the guest loop itself waits on: an fd (Linux: the epoll
 * fd of the selector or of libuv; macOS/BSD: the kqueue fd) or a HANDLE
 * (Windows: the proactor's I/O completion port), hence intptr_t. */
typedef union ag__poller_u {
  char storage[64];
  void *align_p;
  long long align_ll;
} ag__poller_t;

/* Opens the poller's own fds or handles and watches backend, and extra_fd if
 * >= 0 (a signal wake-up socket the host thread drains; -ENOTSUP where the
 * backend cannot watch one: Windows).  On failure nothing is left open. */
int ag__poller_init(ag__poller_t *p, intptr_t backend, int extra_fd);

/* Blocks until the backend is readable (Windows: holds a completion),
 * ag__poller_wake() was called, or timeout_ms passes (-1: no timeout).
 * Consumes only its own wake-ups, never the backend's events (Windows: a
 * completion it dequeues is posted back unchanged).  Returns 1 if the
 * backend is readable, 0 otherwise, or a negative errno.  Called without the
 * GIL. */
int ag__poller_wait(ag__poller_t *p, int timeout_ms);

/* Interrupts a wait in progress, or makes the next one return at once.
 * Thread-safe and async-signal-safe. */
int ag__poller_wake(ag__poller_t *p);

/* Zero-timeout peek: 1 if the backend (an fd, or on Windows a completion
 * port) is readable now, 0 if not, or a negative errno.  This is the fast
 * path's check, run on the host thread. */
int ag__fd_readable(intptr_t backend);

/* Reads a non-blocking fd (the guest's signal socket) until it is empty,
 * without blocking: 1 if anything was read, 0 if nothing, or a negative
 * errno.  Windows: -ENOTSUP (the run has no signal socket there). */
int ag__fd_drain(intptr_t fd);

void ag__poller_close(ag__poller_t *p);

/* ag__fd_readable, ag__fd_drain, ag__thread_block_signals and ag__now_ns
 * are shared by the POSIX pollers (thread-posix.c); Windows has its own
 * (backend-iocp.c). */

/* Called first on the backend thread: keep process signals off it. */
int ag__thread_block_signals(void);

/* Called first on the backend thread: name it AG_THREAD_NAME where the
 * platform lets a thread name itself (top, gdb and /proc show the name). */
#define AG_THREAD_NAME "asyncio-guest"
void ag__thread_set_name(void);

/* Monotonic clock in nanoseconds (the clock asyncio's loop.time() uses). */
int64_t ag__now_ns(void);

/* ---- thread-<os>.c: a thread, a mutex, a condition variable ------------- */

/* C11 <threads.h> is missing from macOS and from mingw-w64, so the core
 * uses these, implemented per platform (pthreads; Win32 SRW locks and
 * condition variables).  The types are opaque storage, large enough for
 * each platform's own type (checked there with static asserts). */
typedef union ag__mutex_u {
  char storage[64];
  void *align_p;
  long long align_ll;
} ag__mutex_t;
typedef union ag__cond_u {
  char storage[64];
  void *align_p;
  long long align_ll;
} ag__cond_t;
typedef union ag__thread_u {
  char storage[16];
  void *align_p;
  long long align_ll;
} ag__thread_t;

int ag__mutex_init(ag__mutex_t *m);  /* 0 or a negative errno */
void ag__mutex_destroy(ag__mutex_t *m);
void ag__mutex_lock(ag__mutex_t *m);
void ag__mutex_unlock(ag__mutex_t *m);
int ag__cond_init(ag__cond_t *c);
void ag__cond_destroy(ag__cond_t *c);
void ag__cond_signal(ag__cond_t *c);
void ag__cond_broadcast(ag__cond_t *c);
void ag__cond_wait(ag__cond_t *c, ag__mutex_t *m);
/* Waits at most timeout_ns (>= 0): 0 if signalled (or spuriously woken),
 * -ETIMEDOUT if the time ran out. */
int ag__cond_timedwait(ag__cond_t *c, ag__mutex_t *m, int64_t timeout_ns);
/* Starts fn(arg) on a new thread: 0 or a negative errno. */
int ag__thread_create(ag__thread_t *t, void (*fn)(void *arg), void *arg);
int ag__thread_join(ag__thread_t *t);
/* 1 if the calling thread is t. */
int ag__thread_is_current(const ag__thread_t *t);

/* ---- waker: how the backend thread tells the host to run a tick --------- */

typedef struct ag_waker_s ag_waker_t;
struct ag_waker_s {
  /* Called on the backend thread, without the GIL, once per wake-up.  Returns
   * 0, or a negative errno; the core then waits and retries (a failing host
   * must not turn into a hang or a busy loop). */
  int (*post)(ag_waker_t *w);
  /* Optional, on the backend thread: set up / tear down per-thread state
   * (CallbackWaker keeps one thread state for the thread's lifetime). */
  int (*thread_start)(ag_waker_t *w);
  void (*thread_exit)(ag_waker_t *w);
  /* Optional, on the host thread, called by ag_guest_arm() before the backend
   * thread may post: the Tcl waker allocates its event here so that the
   * backend thread never allocates Tcl memory. */
  int (*prepare)(ag_waker_t *w);
};

/* ---- watcher: threadless mode ------------------------------------------ */

/* In threadless mode there is no backend thread: the host itself watches
 * the backend fd (and the extra fd) and a deadline, and runs the tick when
 * either fires (Tk file handler + timer, GLib unix fd + ready time, Qt
 * QSocketNotifier + QTimer).  All three calls are made on the host thread,
 * by guest.c, with the guest's mutex released. */
typedef struct ag_watcher_s ag_watcher_t;
struct ag_watcher_s {
  /* Run the tick once the fds are readable or at deadline_ns (CLOCK_MONOTONIC;
   * < 0: no deadline). */
  int (*watch)(ag_watcher_t *w, int64_t deadline_ns);
  /* Run the tick as soon as the host can (a wakeup arrived while watching). */
  int (*fire_soon)(ag_watcher_t *w);
  /* Stop watching: a tick is starting, or the guest closes. */
  void (*unwatch)(ag_watcher_t *w);
};

/* ---- waker-tcl.c, watcher-tcl.c: the native Tk waker -------------------- */

/* Wakes the thread that owns a Tcl interpreter with Tcl_ThreadQueueEvent +
 * Tcl_ThreadAlert (no GIL needed); the event proc evaluates `command`, a Tcl
 * command that _tkinter created for the Python tick, so _tkinter itself
 * takes the GIL and keeps its own thread-state bookkeeping right. */
typedef struct ag_tcl_waker_s ag_tcl_waker_t;

/* Host (interpreter) thread.  interp is a Tcl_Interp* (tkapp.interpaddr()).
 * AG_ETCL_STUBS: the Tcl stubs table did not accept the interpreter;
 * AG_ETCL_NOTHREADS: that Tcl is not built with threads (AG_ETCL_NONE in a
 * build without Tcl: waker-tcl-none.c). */
int ag_tcl_waker_new(void *interp, const char *command, ag_tcl_waker_t **out);
/* Threadless mode: Tcl file handlers on fds (1 or 2) and a Tcl timer. */
int ag_tcl_watcher_new(void *interp, const char *command, const int *fds,
                       int nfds, ag_tcl_waker_t **out);
/* The waker (thread mode) or the watcher (threadless); NULL for the other. */
ag_waker_t *ag_tcl_waker_base(ag_tcl_waker_t *w);
ag_watcher_t *ag_tcl_watcher_base(ag_tcl_waker_t *w);
/* Whether the calling thread owns the waker's interpreter. */
int ag_tcl_waker_is_home(ag_tcl_waker_t *w);
/* The Tcl version the core was compiled for ("8.6"). */
const char *ag_tcl_version(void);
/* Host thread: run the command once Tk is idle (redraws done, pending
 * events handled): an idle callback queues the tick event. */
int ag_tcl_waker_post_soon(ag_tcl_waker_t *w);
/* Host thread: no further ticks; frees once no queued event refers to it. */
void ag_tcl_waker_close(ag_tcl_waker_t *w);

/* The one wake seam: every waker reaches _core.Guest.threaded as a
 * PyCapsule with this name holding its ag_waker_t*, taken from the waker
 * object's `_ag_waker` attribute (CallbackWaker, TclWaker, and those of the
 * other extensions: GLibWaker, Win32Waker).  The capsule's context is a
 * strong reference to that object (glue.c's ag_py_capsule_new), so the
 * Guest, which holds the capsule until its backend thread is joined, keeps
 * the waker alive. */
#define AG_WAKER_CAPSULE "asyncio_guest._core.waker.v2"
/* Likewise a watcher (threadless mode, Guest.threadless), from
 * `_ag_watcher` (CallbackWatcher; TclWaker and GLibWaker made with fds). */
#define AG_WATCHER_CAPSULE "asyncio_guest._core.watcher.v2"

/* ---- waker-glib.c, watcher-glib.c: the native GLib waker ---------------- */

/* Two persistent GSources on the calling thread's thread-default
 * GMainContext; the backend thread sets one's ready time (thread-safe, no
 * GIL, no allocation).  Dispatching calls fire(data) on the host thread. */
typedef struct ag_glib_waker_s ag_glib_waker_t;

/* G_PRIORITY_DEFAULT and G_PRIORITY_DEFAULT_IDLE (checked in waker-glib.c). */
#define AG_GLIB_PRIORITY_DEFAULT 0
#define AG_GLIB_PRIORITY_DEFAULT_IDLE 200

/* Host thread. */
int ag_glib_waker_new(int priority, int busy_priority,
                      void (*fire)(void *data), void *data,
                      ag_glib_waker_t **out);
/* Threadless mode: the tick source also watches fds (1 or 2: the backend
 * fd, and the signal fd) with g_source_add_unix_fd. */
int ag_glib_watcher_new(int priority, int busy_priority, const int *fds,
                        int nfds, void (*fire)(void *data), void *data,
                        ag_glib_waker_t **out);
/* The waker (thread mode) or watcher (threadless); NULL for the other. */
ag_waker_t *ag_glib_waker_base(ag_glib_waker_t *w);
ag_watcher_t *ag_glib_watcher_base(ag_glib_waker_t *w);
/* The GMainContext* the waker posts to. */
void *ag_glib_waker_context(ag_glib_waker_t *w);
/* Host thread: a tick at busy_priority (the slice ran out). */
int ag_glib_waker_post_soon(ag_glib_waker_t *w);
/* Host thread: no further ticks.  Idempotent. */
void ag_glib_waker_close(ag_glib_waker_t *w);
/* Closes, then frees: only once no thread can post any more. */
void ag_glib_waker_free(ag_glib_waker_t *w);
/* The GLib the process runs (not the headers'). */
void ag_glib_version(unsigned *major, unsigned *minor, unsigned *micro);

/* ---- waker-win32.c: the native Win32 waker (Windows only) --------------- */

/* A hidden message-only window on the calling thread; the backend thread
 * posts a message to it (no GIL, no allocation), and whatever message loop
 * dispatches the thread's messages runs fire(data) on that thread. */
typedef struct ag_win32_waker_s ag_win32_waker_t;

/* Host thread. */
int ag_win32_waker_new(void (*fire)(void *data), void *data,
                       ag_win32_waker_t **out);
ag_waker_t *ag_win32_waker_base(ag_win32_waker_t *w);
/* Whether the calling thread owns the window. */
int ag_win32_waker_is_home(ag_win32_waker_t *w);
/* The window (an HWND), for tests and debugging. */
intptr_t ag_win32_waker_hwnd(ag_win32_waker_t *w);
/* Host thread: fire once more, after pending input and paint messages (the
 * slice ran out). */
int ag_win32_waker_post_soon(ag_win32_waker_t *w);
/* No further fires; the window goes (off the host thread: at its next
 * message dispatch).  Idempotent. */
void ag_win32_waker_close(ag_win32_waker_t *w);
/* Closes, then frees once the window is gone: only once no thread can post
 * any more (the backend thread is joined). */
void ag_win32_waker_free(ag_win32_waker_t *w);

/* ---- loop-uv.c: what a uvloop loop has to do --------------------------- */

/* libuv's uv_run(), as the uvloop module holding the loop exports it (its
 * own static copy of libuv: the one that owns the loop). */
typedef int (*ag_uv_run_fn)(void *uv_loop, int mode);

typedef struct ag_uv_s {
  char *obj;         /* the uvloop.Loop object */
  char *uv;          /* its uv_loop_t */
  ag_uv_run_fn run;  /* or NULL: not driven from here */
} ag_uv_t;

/* Locates the uv_loop_t of a uvloop.Loop and checks it against the backend
 * fd the loop reports.  AG_EUV_LAYOUT: the layout is not the one we know. */
int ag_uv_attach(ag_uv_t *u, void *loop_obj, int backend_fd);
/* The Loop's `_ready` deque (borrowed; the caller checks its type). */
void *ag_uv_ready_queue(const ag_uv_t *u);
/* 1 if libuv holds work that needs a uv_run() pass now. */
int ag_uv_pending(const ag_uv_t *u);
/* The earliest timer's due time on the CLOCK_MONOTONIC ns scale, or -1. */
int64_t ag_uv_next_timer_ns(const ag_uv_t *u);
/* The loop's cached time, libuv's loop->time (ms). */
uint64_t ag_uv_time_ms(const ag_uv_t *u);
/* Drive the loop from here: one uv_run(UV_RUN_NOWAIT) pass per
 * ag_uv_run_nowait() call (AG_EUV_LAYOUT if no uv_run was set).  Called
 * without the GIL, as uvloop calls uv_run(): its callbacks take it. */
void ag_uv_set_run(ag_uv_t *u, ag_uv_run_fn run);
int ag_uv_run_nowait(ag_uv_t *u);
/* uvloop's Loop._stopping: set by Loop._stop(), which a callback's
 * BaseException calls after storing it in Loop._last_error. */
int ag_uv_stopping(const ag_uv_t *u);
void ag_uv_clear_stopping(ag_uv_t *u);
/* The offset of the Loop field (after _ready, within `size` bytes of the
 * object) that holds exactly `value`, or AG_EUV_LAYOUT. */
int ag_uv_find_slot(const ag_uv_t *u, const void *value, size_t size,
                    size_t *offset);
/* The address of the Loop field at `offset` (one ag_uv_find_slot found). */
void **ag_uv_slot(const ag_uv_t *u, size_t offset);

/* ---- guest.c: the lockstep protocol ------------------------------------- */

/*  state       who moves it on      meaning
 *  IDLE        host  (tick runs)    no poll; a tick is running or about to
 *  ARMED       host  -> backend     host set a deadline; thread not yet waiting
 *  POLLING     backend              thread is inside ag__poller_wait()
 *  POSTED      backend -> host      host was told to tick; tick not started
 *  CLOSED      host                 thread joined, fds closed
 *
 * Lockstep: the backend thread polls only in ARMED/POLLING, the host ticks
 * only after POSTED (or a self-posted tick from IDLE).  Never both. */
enum ag_state {
  AG_IDLE = 0,
  AG_ARMED,
  AG_POLLING,
  AG_POSTED,
  AG_CLOSED
};

typedef struct ag_guest_s {
  ag__poller_t poller;
  ag_waker_t *waker;       /* thread mode */
  ag_watcher_t *watcher;   /* threadless mode (then no thread, no poller) */
  ag__mutex_t mu;
  ag__cond_t cv;
  ag__thread_t thread;
  int thread_started;
  _Atomic int state;       /* enum ag_state; written under mu */
  int closing;             /* under mu */
  int wake_pending;        /* under mu: a wakeup() arrived while ARMED */
  int64_t deadline_ns;     /* under mu: -1 for none */
  int poll_error;          /* under mu: last poller error (negative errno) */
  int post_error;          /* under mu: last waker error (negative errno) */
  _Atomic uint64_t posts;  /* wake-ups delivered to the host */
  _Atomic uint64_t polls;  /* waits started by the backend thread */
} ag_guest_t;

/* Starts the backend thread.  On failure nothing is left open. */
int ag_guest_init(ag_guest_t *g, intptr_t backend, int extra_fd,
                  ag_waker_t *waker);

/* Threadless mode: no thread, no poller; `watcher` watches on the host.
 * States: IDLE -> ARMED (watching) -> [POSTED (woken: fire_soon)] -> IDLE
 * when the watcher runs the tick.  POLLING is never used. */
int ag_guest_init_threadless(ag_guest_t *g, ag_watcher_t *watcher);

/* Host thread, after a tick: wait for backend_fd or the deadline
 * (deadline_ns < 0: none).  Only valid in IDLE: AG_ELOCKSTEP otherwise,
 * AG_ECLOSED once closed. */
int ag_guest_arm(ag_guest_t *g, int64_t deadline_ns);

/* Host thread, as a tick starts: POSTED -> IDLE (IDLE stays IDLE: a tick the
 * host posted itself).  Reports a poller error seen by the thread.
 * AG_ELOCKSTEP: the backend is polling (not this tick's turn); AG_ECLOSED. */
int ag_guest_begin_tick(ag_guest_t *g);

/* Any thread: make the current or next poll return now.  This is how a
 * deadline that went stale (host code scheduled earlier work) is fixed. */
int ag_guest_wakeup(ag_guest_t *g);

/* Host thread, without the GIL held by the caller if the waker needs it:
 * stop and join the thread, close the fds.  Idempotent. */
void ag_guest_close(ag_guest_t *g);

#endif /* ASYNCIO_GUEST_GUEST_H */
