/* waker-win32.c: wake a thread that runs a Win32 message loop, from the
 * backend thread, without the GIL.
 *
 * The host thread owns a hidden message-only window (parent HWND_MESSAGE:
 * never shown, not enumerated, receives posted messages only).  A post is a
 * PostMessageW() of WM_AG_TICK to it: thread-safe, allocation-free for us,
 * and it ends a host blocked in GetMessage/MsgWaitForMultipleObjects.  The
 * window procedure then runs `fire(data)` on the host thread, from whatever
 * loop dispatches the thread's messages: the host's own GetMessage loop, a
 * modal loop (a dialog, a menu, the move/size loop of a window: these
 * dispatch messages for the thread's other windows, so the guest keeps
 * running, which a PostThreadMessage would not survive), or Tcl's Windows
 * notifier, which dispatches them too.  This file knows no Python: `fire`
 * is the glue's (win32module.c).
 *
 * post_soon (the host's "the slice ran out, continue later") has a fairness
 * problem posting alone cannot solve: GetMessage returns posted messages
 * before input and before WM_PAINT, so a busy guest that re-posts itself
 * would starve the user's clicks and every redraw.  So a busy tick that
 * finds input or paint pending (GetQueueStatus) is deferred to a WM_TIMER,
 * which Windows delivers only once the queue holds neither; it costs at most
 * USER_TIMER_MINIMUM (10 ms), and only when the user is active.
 *
 * Lifetime: only the creating thread may destroy the window.  Closing from
 * another thread posts WM_AG_CLOSE, and the window procedure destroys it;
 * the memory goes when both the window is gone (WM_NCDESTROY) and
 * ag_win32_waker_free() was called, whichever comes last.
 *
 * Tested under Wine (tests/c, `make test-wine`), not on Windows itself.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "errno-win32.h"
#include "guest.h"

/* In the WM_APP range (0x8000-0xBFFF), private to our window class. */
#define WM_AG_TICK (WM_APP + 0x1a61)
#define WM_AG_BUSY (WM_APP + 0x1a62)
#define WM_AG_CLOSE (WM_APP + 0x1a63)
#define BUSY_TIMER_ID 1

static const wchar_t class_name[] = L"asyncio_guest.waker";

struct ag_win32_waker_s {
  ag_waker_t base;  /* must be first */
  HWND hwnd;
  DWORD thread_id;  /* the host thread: the window's owner */
  atomic_int closed;
  atomic_int releases;  /* frees at 2: WM_NCDESTROY and _free() */
  void (*fire)(void *data);
  void *data;
};

static void release(ag_win32_waker_t *w) {
  if (atomic_fetch_add(&w->releases, 1) == 1)
    free(w);
}

/* Host thread.  fire() may close and free w: w is not touched after it. */
static void fire_unless_closed(ag_win32_waker_t *w) {
  if (!atomic_load(&w->closed))
    w->fire(w->data);
}

static LRESULT CALLBACK window_proc(HWND hwnd, UINT msg, WPARAM wparam,
                                    LPARAM lparam) {
  ag_win32_waker_t *w;

  w = (ag_win32_waker_t *) GetWindowLongPtrW(hwnd, GWLP_USERDATA);
  if (w == NULL)
    return DefWindowProcW(hwnd, msg, wparam, lparam);
  switch (msg) {
    case WM_AG_TICK:
      fire_unless_closed(w);
      return 0;
    case WM_AG_BUSY:
      /* Input or paint waiting: let them go first (see the header). */
      if (HIWORD(GetQueueStatus(QS_INPUT | QS_PAINT)) != 0 &&
          SetTimer(hwnd, BUSY_TIMER_ID, USER_TIMER_MINIMUM, NULL) != 0)
        return 0;
      fire_unless_closed(w);
      return 0;
    case WM_TIMER:
      if (wparam != BUSY_TIMER_ID)
        break;
      KillTimer(hwnd, BUSY_TIMER_ID);
      fire_unless_closed(w);
      return 0;
    case WM_AG_CLOSE:
      DestroyWindow(hwnd);
      return 0;
    case WM_NCDESTROY:
      SetWindowLongPtrW(hwnd, GWLP_USERDATA, 0);
      release(w);
      break;
    default:
      break;
  }
  return DefWindowProcW(hwnd, msg, wparam, lparam);
}

/* Backend thread, no GIL. */
static int waker_post(ag_waker_t *base) {
  ag_win32_waker_t *w;

  w = (ag_win32_waker_t *) base;
  if (atomic_load(&w->closed))
    return AG_EWAKER_CLOSED;
  if (!PostMessageW(w->hwnd, WM_AG_TICK, 0, 0))
    return ag__errno_from_win32(GetLastError());  /* a full queue: retried */
  return 0;
}

int ag_win32_waker_new(void (*fire)(void *data), void *data,
                       ag_win32_waker_t **out) {
  ag_win32_waker_t *w;
  WNDCLASSEXW wc;
  HINSTANCE module;
  int err;

  /* The class belongs to the module this code is in (the extension), not
   * to the executable. */
  if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                              GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                          class_name, &module))
    return ag__errno_from_win32(GetLastError());
  memset(&wc, 0, sizeof(wc));
  wc.cbSize = sizeof(wc);
  wc.lpfnWndProc = window_proc;
  wc.hInstance = module;
  wc.lpszClassName = class_name;
  if (RegisterClassExW(&wc) == 0 &&
      GetLastError() != ERROR_CLASS_ALREADY_EXISTS)
    return ag__errno_from_win32(GetLastError());

  w = calloc(1, sizeof(*w));
  if (w == NULL)
    return -ENOMEM;
  w->base.post = waker_post;
  atomic_init(&w->closed, 0);
  atomic_init(&w->releases, 0);
  w->fire = fire;
  w->data = data;
  w->thread_id = GetCurrentThreadId();
  w->hwnd = CreateWindowExW(0, class_name, L"asyncio-guest waker", 0, 0, 0,
                            0, 0, HWND_MESSAGE, NULL, module, NULL);
  if (w->hwnd == NULL) {
    err = ag__errno_from_win32(GetLastError());
    free(w);
    return err;
  }
  SetWindowLongPtrW(w->hwnd, GWLP_USERDATA, (LONG_PTR) w);
  *out = w;
  return 0;
}

ag_waker_t *ag_win32_waker_base(ag_win32_waker_t *w) {
  return &w->base;
}

int ag_win32_waker_is_home(ag_win32_waker_t *w) {
  return GetCurrentThreadId() == w->thread_id;
}

intptr_t ag_win32_waker_hwnd(ag_win32_waker_t *w) {
  return (intptr_t) w->hwnd;
}

int ag_win32_waker_post_soon(ag_win32_waker_t *w) {
  if (atomic_load(&w->closed))
    return AG_EWAKER_CLOSED;
  if (!PostMessageW(w->hwnd, WM_AG_BUSY, 0, 0))
    return ag__errno_from_win32(GetLastError());
  return 0;
}

void ag_win32_waker_close(ag_win32_waker_t *w) {
  if (atomic_exchange(&w->closed, 1))
    return;
  if (ag_win32_waker_is_home(w))
    DestroyWindow(w->hwnd);  /* WM_NCDESTROY comes before this returns */
  else
    /* Fails only if the thread is gone, and its windows with it. */
    PostMessageW(w->hwnd, WM_AG_CLOSE, 0, 0);
}

void ag_win32_waker_free(ag_win32_waker_t *w) {
  ag_win32_waker_close(w);
  release(w);
}
