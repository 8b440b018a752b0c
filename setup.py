"""Build of asyncio_guest._core.

The per-platform poller is chosen here, by file, not by #ifdef: one
backend-<os>.c per platform.  Only Linux (epoll) exists so far; elsewhere the
build stops with a clear message rather than compile half-written code.

The Tk waker is built against the Tcl *stubs* library (tcl8.6-dev on Debian),
so it binds at run time to the Tcl that _tkinter loaded.  Set TCL_CONFIG to
the path of a tclConfig.sh to use another Tcl.
"""

import os
import shlex
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup

CORE = "src/asyncio_guest/_core/"
BACKENDS = {"linux": ["backend-epoll.c"]}


def platform_sources():
    for prefix, files in BACKENDS.items():
        if sys.platform.startswith(prefix):
            return files
    sys.exit(
        f"asyncio-guest: platform {sys.platform!r} is not supported yet. "
        "The C core has a Linux (epoll) backend only; the macOS/BSD (kqueue) "
        "and Windows (IOCP) backends are planned (see docs/design.md)."
    )


def tcl_config():
    candidates = [os.environ.get("TCL_CONFIG", "")]
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    candidates += [
        "/usr/lib/tcl8.6/tclConfig.sh",
        f"/usr/lib/{multiarch}/tcl8.6/tclConfig.sh",
        os.path.join(libdir, "tclConfig.sh"),
        "/usr/local/lib/tclConfig.sh",
    ]
    for path in candidates:
        if path and os.path.isfile(path):
            out = subprocess.run(
                ["sh", "-c", '. "$1"; printf "%s\\n%s\\n" '
                 '"$TCL_INCLUDE_SPEC" "$TCL_STUB_LIB_PATH"', "sh", path],
                check=True, capture_output=True, text=True,
            ).stdout.splitlines()
            includes = [f[2:] for f in shlex.split(out[0]) if f.startswith("-I")]
            return includes, out[1]
    sys.exit(
        "asyncio-guest: tclConfig.sh not found. Install the Tcl 8.6 "
        "development files (Debian: apt-get install tcl8.6-dev) or set "
        "TCL_CONFIG=/path/to/tclConfig.sh."
    )


def extension():
    sources = ["module.c", "guest.c", "waker-tcl.c", "loop-uv.c"]
    sources += platform_sources()
    includes, stub_lib = tcl_config()
    cflags = ["-std=c11", "-Wall", "-Wextra", "-Werror"]
    if os.environ.get("AG_DEBUG"):
        cflags += ["-O0", "-g3"]
    return Extension(
        "asyncio_guest._core",
        sources=[CORE + s for s in sources],
        depends=[CORE + "guest.h"],
        include_dirs=includes,
        extra_compile_args=cflags,
        extra_objects=[stub_lib],
    )


setup(ext_modules=[extension()])
