/* waker-tcl-none.c: the Tk waker's functions in a build without Tcl.
 *
 * Used by setup.py on Windows when no tclConfig.sh is found: python.org's
 * Windows installs ship Tcl/Tk's DLLs but neither its headers nor its stubs
 * library, which waker-tcl.c needs.  The rest of the core builds as usual;
 * making a TclWaker fails with AG_ETCL_NONE, which glue.c reports as "built
 * without Tcl".  (UNTESTED on Windows itself: compiled with mingw-w64 only.)
 */
#include "guest.h"

#include <stddef.h>

int ag_tcl_waker_new(void *interp, const char *command, ag_tcl_waker_t **out) {
  (void) interp;
  (void) command;
  (void) out;
  return AG_ETCL_NONE;
}

int ag_tcl_watcher_new(void *interp, const char *command, const int *fds,
                       int nfds, ag_tcl_waker_t **out) {
  (void) interp;
  (void) command;
  (void) fds;
  (void) nfds;
  (void) out;
  return AG_ETCL_NONE;
}

/* No waker is ever made, so these are never reached with one. */
ag_waker_t *ag_tcl_waker_base(ag_tcl_waker_t *w) {
  (void) w;
  return NULL;
}

ag_watcher_t *ag_tcl_watcher_base(ag_tcl_waker_t *w) {
  (void) w;
  return NULL;
}

int ag_tcl_waker_is_home(ag_tcl_waker_t *w) {
  (void) w;
  return 0;
}

const char *ag_tcl_version(void) {
  return "none";
}

int ag_tcl_waker_post_soon(ag_tcl_waker_t *w) {
  (void) w;
  return AG_ETCL_NONE;
}

void ag_tcl_waker_close(ag_tcl_waker_t *w) {
  (void) w;
}
