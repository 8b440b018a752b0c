/* errors.h: the core's own error codes.
 *
 * Every function of the core that can fail returns 0 or a negative value:
 * a real OS failure as -errno (on Windows a Win32 code mapped to one by
 * errno-win32.h), and the core's own conditions as one of the codes below.
 * They lie in a reserved range, -5001 to -5099, that no errno reaches
 * (errno values are small positive ints on every platform we build for), so
 * a code never reads as an OS error or the other way round: an ENOTSUP from
 * the poller is an OSError, not "this Tcl is built without threads".
 *
 * glue.c (ag_py_error) is the one place where either kind becomes a Python
 * exception: these codes -> RuntimeError with the message given here,
 * anything else -> OSError from errno.  No Python in this header: the C
 * tests (tests/c) include it through guest.h.
 */
#ifndef ASYNCIO_GUEST_ERRORS_H
#define ASYNCIO_GUEST_ERRORS_H

#define AG_ERR_FIRST (-5001)
#define AG_ERR_LAST (-5099)

/* guest.c: the guest is closed. */
#define AG_ECLOSED (-5001)
/* guest.c: lockstep violated: arm() outside IDLE, or a tick the backend did
 * not post while it polls (begin_tick() -> False). */
#define AG_ELOCKSTEP (-5002)
/* A waker or watcher (Tcl, GLib, Win32) that was closed. */
#define AG_EWAKER_CLOSED (-5003)
/* waker-tcl.c: called off the thread that owns the Tcl interpreter. */
#define AG_EWRONG_THREAD (-5004)
/* waker-tcl.c: Tcl_InitStubs refused the interpreter. */
#define AG_ETCL_STUBS (-5005)
/* waker-tcl.c: the interpreter's Tcl is built without threads. */
#define AG_ETCL_NOTHREADS (-5006)
/* waker-tcl-none.c: asyncio_guest was built without Tcl. */
#define AG_ETCL_NONE (-5007)
/* loop-uv.c: the uvloop memory layout is not the one we know. */
#define AG_EUV_LAYOUT (-5008)

/* 1 if err is one of the codes above (or a future one of the range). */
#define AG_IS_OWN_ERROR(err) ((err) <= AG_ERR_FIRST && (err) >= AG_ERR_LAST)

#endif /* ASYNCIO_GUEST_ERRORS_H */
