/* errno-win32.h: a Win32 error code (GetLastError()) as the core's negative
 * errno.  Windows-only, included by backend-iocp.c and waker-win32.c.
 *
 * The core reports failures as negative errno values, and module.c turns
 * them into OSError; the few Win32 codes these files can meet are mapped,
 * anything else becomes -EIO.
 */
#ifndef ASYNCIO_GUEST_ERRNO_WIN32_H
#define ASYNCIO_GUEST_ERRNO_WIN32_H

#include <windows.h>

#include <errno.h>

static inline int ag__errno_from_win32(DWORD code) {
  switch (code) {
    case ERROR_INVALID_HANDLE:
    case ERROR_ABANDONED_WAIT_0:  /* the completion port was closed */
    case ERROR_INVALID_WINDOW_HANDLE:
      return -EBADF;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_NO_SYSTEM_RESOURCES:
    case ERROR_NOT_ENOUGH_QUOTA:  /* a full message queue */
      return -ENOMEM;
    case ERROR_ACCESS_DENIED:
      return -EACCES;
    case ERROR_INVALID_PARAMETER:
      return -EINVAL;
    case WAIT_TIMEOUT:
      return -ETIMEDOUT;
    default:
      return -EIO;
  }
}

#endif /* ASYNCIO_GUEST_ERRNO_WIN32_H */
