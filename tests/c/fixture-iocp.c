/* fixture-iocp.c: the Windows backend of the C tests (cross-compiled with
 * mingw-w64, run under Wine by tests/c/run.sh wine): an I/O completion port
 * made as asyncio's IocpProactor makes it (concurrency INFINITE).
 *
 * "Ready" is a completion posted with PostQueuedCompletionStatus (from a
 * test thread in test_core.c's `ready`), and fx_take() dequeues as asyncio's
 * _overlapped.GetQueuedCompletionStatus does (the plain call), checking that
 * the packet the backend thread gave back is exactly the one posted: byte
 * count, key and OVERLAPPED address.
 *
 * The Windows-only tests: real overlapped pipe reads (a success, and a
 * cancelled one whose error must survive the give-back in the OVERLAPPED),
 * and the Win32 waker (waker-win32.c) driving a guest from a message loop.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BYTES 7
#define KEY ((ULONG_PTR) 0x5eed)

struct fixture_s {
  HANDLE port;
  OVERLAPPED ov;  /* only its address travels */
};

const char *fx_platform(void) {
  return "Windows (mingw-w64; Wine when run here), an I/O completion port";
}

int fx_open(fixture_t **out) {
  fixture_t *f;

  f = calloc(1, sizeof(*f));
  if (f == NULL)
    return -ENOMEM;
  f->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, INFINITE);
  if (f->port == NULL)
    return -EIO;
  *out = f;
  return 0;
}

intptr_t fx_backend(fixture_t *f) {
  return (intptr_t) f->port;
}

int fx_make_ready(fixture_t *f) {
  return PostQueuedCompletionStatus(f->port, BYTES, KEY, &f->ov) ? 0 : -EIO;
}

int fx_take(fixture_t *f) {
  OVERLAPPED *ov;
  ULONG_PTR key;
  DWORD bytes;
  BOOL ok;

  ov = NULL;
  ok = GetQueuedCompletionStatus(f->port, &bytes, &key, &ov, 0);
  if (!ok && ov == NULL)
    return GetLastError() == WAIT_TIMEOUT ? 0 : -1;
  return ok && bytes == BYTES && key == KEY && ov == &f->ov ? 1 : -1;
}

void fx_close(fixture_t *f) {
  CloseHandle(f->port);
  free(f);
}

void fx_sleep_ms(int ms) {
  Sleep((DWORD) ms);
}

/* ---- real overlapped I/O -------------------------------------------------- */

typedef struct {
  HANDLE port;
  HANDLE server;  /* overlapped, associated with the port (key 0, as asyncio) */
  HANDLE client;
  OVERLAPPED ov;
  char buf[64];
} pipe_rig_t;

static int pipe_open(pipe_rig_t *r) {
  wchar_t name[64];

  memset(r, 0, sizeof(*r));
  wsprintfW(name, L"\\\\.\\pipe\\asyncio_guest_test_%lu_%lu",
            GetCurrentProcessId(), GetTickCount());
  r->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, INFINITE);
  r->server = CreateNamedPipeW(
      name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 4096, 4096, 0, NULL);
  if (r->port == NULL || r->server == INVALID_HANDLE_VALUE)
    return -1;
  r->client = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL,
                          OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
  if (r->client == INVALID_HANDLE_VALUE)
    return -1;
  if (CreateIoCompletionPort(r->server, r->port, 0, 0) != r->port)
    return -1;
  /* A read that stays pending until the client writes, or is cancelled. */
  if (ReadFile(r->server, r->buf, sizeof(r->buf), NULL, &r->ov) ||
      GetLastError() != ERROR_IO_PENDING)
    return -1;
  return 0;
}

static void pipe_close(pipe_rig_t *r) {
  CloseHandle(r->client);
  CloseHandle(r->server);
  CloseHandle(r->port);
}

static void client_write(void *p) {
  pipe_rig_t *r = p;
  OVERLAPPED ov;
  DWORD n;

  memset(&ov, 0, sizeof(ov));
  ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!WriteFile(r->client, "hello", 5, NULL, &ov) &&
      GetLastError() != ERROR_IO_PENDING)
    abort();
  GetOverlappedResult(r->client, &ov, &n, TRUE);
  CloseHandle(ov.hEvent);
}

static void cancel_read(void *p) {
  pipe_rig_t *r = p;

  if (!CancelIoEx(r->server, &r->ov))
    abort();
}

/* The poller on the port while a real read completes: it reports it, and
 * asyncio's own dequeue then gets that completion, whose result is read
 * from the OVERLAPPED as asyncio's Overlapped.getresult() does. */
static int test_iocp_real_read(void) {
  OVERLAPPED *ov;
  ag__poller_t p;
  ULONG_PTR key;
  pipe_rig_t r;
  helper_t *h;
  DWORD bytes;
  DWORD n;

  CHECK_EQ(pipe_open(&r), 0);
  CHECK_EQ(ag__poller_init(&p, (intptr_t) r.port, -1), 0);
  CHECK_EQ(ag__poller_wait(&p, 0), 0);
  CHECK((h = test_start_helper(30, client_write, &r)) != NULL);
  CHECK_EQ(ag__poller_wait(&p, 5000), 1);
  test_join_helper(h);
  CHECK_EQ(ag__poller_wait(&p, 0), 1);  /* still there */
  ov = NULL;
  CHECK(GetQueuedCompletionStatus(r.port, &bytes, &key, &ov, 0));
  CHECK(ov == &r.ov);
  CHECK_EQ(key, 0);
  CHECK_EQ(bytes, 5);
  CHECK(GetOverlappedResult(r.server, &r.ov, &n, FALSE));
  CHECK_EQ(n, 5);
  CHECK(memcmp(r.buf, "hello", 5) == 0);
  CHECK_EQ(ag__poller_wait(&p, 0), 0);
  ag__poller_close(&p);
  pipe_close(&r);
  return 0;
}

/* A failed operation: dequeued directly, GetQueuedCompletionStatus returns
 * FALSE for it; given back by the poller it dequeues as TRUE, and the error
 * is still in the OVERLAPPED, where asyncio reads it. */
static int test_iocp_failed_read(void) {
  OVERLAPPED *ov;
  ag__poller_t p;
  ULONG_PTR key;
  pipe_rig_t r;
  helper_t *h;
  DWORD bytes;
  DWORD n;

  /* Without the poller: what a direct dequeue of a cancelled read says. */
  CHECK_EQ(pipe_open(&r), 0);
  CHECK(CancelIoEx(r.server, &r.ov));
  ov = NULL;
  CHECK(!GetQueuedCompletionStatus(r.port, &bytes, &key, &ov, 1000));
  CHECK(ov == &r.ov);
  CHECK_EQ(GetLastError(), ERROR_OPERATION_ABORTED);
  pipe_close(&r);

  /* With the poller in between. */
  CHECK_EQ(pipe_open(&r), 0);
  CHECK_EQ(ag__poller_init(&p, (intptr_t) r.port, -1), 0);
  CHECK((h = test_start_helper(30, cancel_read, &r)) != NULL);
  CHECK_EQ(ag__poller_wait(&p, 5000), 1);
  test_join_helper(h);
  ov = NULL;
  CHECK(GetQueuedCompletionStatus(r.port, &bytes, &key, &ov, 0));
  CHECK(ov == &r.ov);
  CHECK(!GetOverlappedResult(r.server, &r.ov, &n, FALSE));
  CHECK_EQ(GetLastError(), ERROR_OPERATION_ABORTED);
  ag__poller_close(&p);
  pipe_close(&r);
  return 0;
}

/* Refusals: no handle, and the Unix-only signal fd. */
static int test_iocp_refusals(void) {
  ag__poller_t p;
  fixture_t *f;

  CHECK_EQ(ag__poller_init(&p, 0, -1), -EBADF);
  CHECK_EQ(fx_open(&f), 0);
  CHECK_EQ(ag__poller_init(&p, fx_backend(f), 3), -ENOTSUP);
  CHECK_EQ(ag__fd_readable(0), -EBADF);
  fx_close(f);
  return 0;
}

/* ---- the Win32 waker ------------------------------------------------------ */

typedef struct {
  ag_guest_t g;
  fixture_t *fx;
  ag_win32_waker_t *w;
  DWORD home;          /* the thread that pumps messages */
  int fires;
  int off_thread;      /* fires on another thread: must stay 0 */
  int errors;          /* a step that went wrong inside fire() */
  int done;
  int64_t t0;
  double deadline_ms;  /* when the deadline tick ran */
  HWND painted_first;  /* the paint test: who ran first */
  int paint_order;     /* 1: paint before the busy tick, 2: after */
  int paints;
} win_rig_t;

static void wake_guest(void *p) {
  ag_guest_wakeup(&((win_rig_t *) p)->g);
}

static helper_t *waker_helper;

/* The tick, on the host thread: a script of one step per fire. */
static void script_fire(void *data) {
  win_rig_t *r = data;

  if (GetCurrentThreadId() != r->home)
    r->off_thread++;
  if (ag_guest_begin_tick(&r->g) != 0)
    r->errors++;
  switch (++r->fires) {
    case 1:  /* the deadline; next: a wake-up from another thread */
      r->deadline_ms = ms_since(r->t0);
      if (ag_guest_arm(&r->g, -1) != 0)
        r->errors++;
      waker_helper = test_start_helper(30, wake_guest, r);
      break;
    case 2:  /* woken; next: the host's own busy post */
      if (ag_win32_waker_post_soon(r->w) != 0)
        r->errors++;
      break;
    case 3:  /* busy tick; next: the backend ready */
      if (ag_guest_arm(&r->g, -1) != 0 || fx_make_ready(r->fx) != 0)
        r->errors++;
      break;
    case 4:
      if (fx_take(r->fx) != 1)
        r->errors++;
      r->done = 1;
      break;
    default:
      r->errors++;
      break;
  }
}

/* Dispatches the thread's messages until *flag or timeout_ms. */
static int pump_until(const int *flag, int timeout_ms) {
  int64_t t0 = ag__now_ns();
  double left;
  MSG msg;

  while (!*flag) {
    left = timeout_ms - ms_since(t0);
    if (left <= 0)
      return 0;
    MsgWaitForMultipleObjects(0, NULL, FALSE, (DWORD) left + 1, QS_ALLINPUT);
    while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE)) {
      TranslateMessage(&msg);
      DispatchMessageW(&msg);
    }
  }
  return 1;
}

static int test_win32_waker(void) {
  win_rig_t *r;
  HWND hwnd;
  int flag;

  CHECK((r = calloc(1, sizeof(*r))) != NULL);
  r->home = GetCurrentThreadId();
  CHECK_EQ(fx_open(&r->fx), 0);
  CHECK_EQ(ag_win32_waker_new(script_fire, r, &r->w), 0);
  CHECK(ag_win32_waker_is_home(r->w));
  hwnd = (HWND) ag_win32_waker_hwnd(r->w);
  CHECK(IsWindow(hwnd));
  CHECK_EQ(ag_guest_init(&r->g, fx_backend(r->fx), -1,
                         ag_win32_waker_base(r->w)), 0);
  r->t0 = ag__now_ns();
  CHECK_EQ(ag_guest_arm(&r->g, r->t0 + 20 * MS), 0);
  CHECK(pump_until(&r->done, 5000));
  test_join_helper(waker_helper);
  CHECK_EQ(r->fires, 4);
  CHECK_EQ(r->errors, 0);
  CHECK_EQ(r->off_thread, 0);
  CHECK(r->deadline_ms >= 20.0);
  ag_guest_close(&r->g);
  /* Closed: a late post is refused, and the window goes with the free. */
  ag_win32_waker_close(r->w);
  CHECK_EQ(ag_win32_waker_base(r->w)->post(ag_win32_waker_base(r->w)),
           AG_EWAKER_CLOSED);
  CHECK(!IsWindow(hwnd));
  ag_win32_waker_free(r->w);
  flag = 0;
  pump_until(&flag, 20);
  CHECK_EQ(r->fires, 4);
  printf("    4 ticks through the message loop; deadline tick after %.1f ms\n",
         r->deadline_ms);
  fx_close(r->fx);
  free(r);
  return 0;
}

static void count_fire(void *data) {
  ((win_rig_t *) data)->fires++;
}

static void free_waker(void *w) {
  ag_win32_waker_free(w);
}

/* Freed from another thread: the host thread destroys the window at its
 * next dispatch, and never fires again. */
static int test_win32_waker_free_off_thread(void) {
  win_rig_t r;
  helper_t *h;
  HWND hwnd;
  int flag;

  memset(&r, 0, sizeof(r));
  CHECK_EQ(ag_win32_waker_new(count_fire, &r, &r.w), 0);
  hwnd = (HWND) ag_win32_waker_hwnd(r.w);
  CHECK_EQ(ag_win32_waker_post_soon(r.w), 0);
  CHECK((h = test_start_helper(0, free_waker, r.w)) != NULL);
  test_join_helper(h);
  CHECK(IsWindow(hwnd));  /* not destroyed by the other thread */
  flag = 0;
  pump_until(&flag, 50);
  CHECK(!IsWindow(hwnd));
  CHECK_EQ(r.fires, 0);  /* the busy post was dropped: closed first */
  return 0;
}

static win_rig_t *paint_rig;

static LRESULT CALLBACK paint_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  PAINTSTRUCT ps;

  if (msg == WM_PAINT && paint_rig != NULL) {
    BeginPaint(hwnd, &ps);
    EndPaint(hwnd, &ps);
    paint_rig->paints++;
    if (paint_rig->fires == 0 && paint_rig->paint_order == 0)
      paint_rig->paint_order = 1;
    return 0;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}

static void busy_fire(void *data) {
  win_rig_t *r = data;

  r->fires++;
  if (r->paint_order == 0)
    r->paint_order = 2;
  r->done = 1;
}

/* Fairness: a busy post does not overtake a pending WM_PAINT (posted
 * messages otherwise come first).  Needs a visible window, hence a display:
 * run.sh runs Wine under Xvfb when there is none. */
static int test_win32_busy_yields_to_paint(void) {
  WNDCLASSEXW wc;
  win_rig_t r;
  double ran;
  HWND win;
  int flag;

  memset(&r, 0, sizeof(r));
  memset(&wc, 0, sizeof(wc));
  wc.cbSize = sizeof(wc);
  wc.lpfnWndProc = paint_proc;
  wc.hInstance = GetModuleHandleW(NULL);
  wc.lpszClassName = L"asyncio_guest_test_paint";
  CHECK(RegisterClassExW(&wc) != 0);
  win = CreateWindowExW(0, wc.lpszClassName, L"paint", WS_OVERLAPPEDWINDOW,
                        0, 0, 200, 100, NULL, NULL, wc.hInstance, NULL);
  if (win == NULL)
    fprintf(stderr, "  no window (error %lu): is there a display? run.sh "
            "runs Wine under xvfb-run\n", GetLastError());
  CHECK(win != NULL);
  ShowWindow(win, SW_SHOW);
  flag = 0;
  pump_until(&flag, 100);  /* the window's first messages */
  paint_rig = &r;
  InvalidateRect(win, NULL, TRUE);
  CHECK(HIWORD(GetQueueStatus(QS_PAINT)) & QS_PAINT);
  CHECK_EQ(ag_win32_waker_new(busy_fire, &r, &r.w), 0);
  CHECK_EQ(ag_win32_waker_post_soon(r.w), 0);
  r.t0 = ag__now_ns();
  CHECK(pump_until(&r.done, 2000));
  ran = ms_since(r.t0);
  CHECK_EQ(r.fires, 1);
  CHECK(r.paints >= 1);
  CHECK_EQ(r.paint_order, 1);  /* the paint ran first */
  printf("    busy tick behind a pending WM_PAINT: ran after %.1f ms\n",
         ran);
  ag_win32_waker_free(r.w);
  paint_rig = NULL;
  DestroyWindow(win);
  UnregisterClassW(wc.lpszClassName, wc.hInstance);
  return 0;
}

const test_case_t fx_extra_tests[] = {
    {"iocp_real_read", test_iocp_real_read},
    {"iocp_failed_read", test_iocp_failed_read},
    {"iocp_refusals", test_iocp_refusals},
    {"win32_waker", test_win32_waker},
    {"win32_waker_free_off_thread", test_win32_waker_free_off_thread},
    {"win32_busy_yields_to_paint", test_win32_busy_yields_to_paint},
    {NULL, NULL},
};
