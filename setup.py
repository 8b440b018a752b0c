"""Build of asyncio_guest._core.

The per-platform poller is chosen here, by file, not by #ifdef: one
backend-<os>.c and one thread-<os>.c per platform (BACKENDS).  Linux (epoll)
is tested; macOS/FreeBSD (kqueue) and Windows (IOCP) are built from the same
list but untested there (docs/design.md, "Platforms"); elsewhere the build
stops with a clear message.

The Tk waker is built against the Tcl *stubs* library (tcl8.6-dev on Debian),
so it binds at run time to the Tcl that _tkinter loaded.  Set TCL_CONFIG to
the path of a tclConfig.sh to use another Tcl.  Without one (no Tcl
development files; python.org's Windows installs have none) the build uses
waker-tcl-none.c: TclWaker then raises RuntimeError, and asyncio_guest.tk
wakes Tk through tkinter instead (Unix; see tcl_config()).

On Windows the Win32 waker is a second extension too, asyncio_guest._win32
(win32module.c + waker-win32.c, linked to user32).

The GLib waker is a second extension, asyncio_guest._glib, linked to
libglib-2.0.so.0 (the library PyGObject loads) and built when pkg-config
finds glib-2.0 (Debian: libglib2.0-dev).  Without it asyncio_guest.gtk uses
a waker written in Python; AG_REQUIRE_GLIB=1 makes its absence an error,
AG_NO_GLIB=1 builds without it (to test that build).
"""

import glob
import os
import shlex
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup

CORE = "src/asyncio_guest/_core/"
# Every extension depends on these (a change rebuilds them all).
HEADERS = ["guest.h", "errors.h", "glue.h", "core.h"]
BACKENDS = {
    "linux": ["backend-epoll.c", "thread-posix.c"],
    # Untested on these systems (no CI there); see docs/design.md.
    "darwin": ["backend-kqueue.c", "thread-posix.c"],
    "freebsd": ["backend-kqueue.c", "thread-posix.c"],
    "win32": ["backend-iocp.c", "thread-win.c"],
}


def platform_sources():
    for prefix, files in BACKENDS.items():
        if sys.platform.startswith(prefix):
            return files
    sys.exit(
        f"asyncio-guest: platform {sys.platform!r} is not supported. "
        "The C core has backends for Linux (epoll), macOS and FreeBSD "
        "(kqueue) and Windows (IOCP) only (see docs/design.md, Platforms)."
    )


#: Seconds a tclConfig.sh gets to print its settings.
TCL_CONFIG_TIMEOUT = 10


def tcl_config(candidates=None):
    """(include dirs, stubs library) from the first tclConfig.sh that reads,
    or None: then the core is built without Tcl and asyncio_guest.tk wakes
    Tk through tkinter instead (slower, same behaviour).  The multiarch
    path comes first: Debian's /usr/lib/tcl8.6/tclConfig.sh is a wrapper
    that runs dpkg-architecture and, without dpkg-dev, sources itself
    forever -- each file gets TCL_CONFIG_TIMEOUT s.  AG_NO_TCL=1 builds
    without Tcl (to test that build); AG_REQUIRE_TCL=1 makes a missing Tcl
    an error."""
    if os.environ.get("AG_NO_TCL"):
        return None
    if candidates is None:
        multiarch = sysconfig.get_config_var("MULTIARCH") or ""
        libdir = sysconfig.get_config_var("LIBDIR") or ""
        candidates = [os.environ.get("TCL_CONFIG", "")]
        if multiarch:
            candidates.append(f"/usr/lib/{multiarch}/tcl8.6/tclConfig.sh")
        candidates += sorted(glob.glob("/usr/lib/*-linux-*/tcl8.6/tclConfig.sh"))
        candidates += [os.path.join(libdir, "tclConfig.sh"),
                       "/usr/local/lib/tclConfig.sh",
                       "/usr/lib/tcl8.6/tclConfig.sh"]
    problems = []
    for path in dict.fromkeys(c for c in candidates if c):
        if not os.path.isfile(path):
            continue
        try:
            out = subprocess.run(
                ["sh", "-c", '. "$1"; printf "%s\\n%s\\n" '
                 '"$TCL_INCLUDE_SPEC" "$TCL_STUB_LIB_PATH"', "sh", path],
                check=True, capture_output=True, text=True,
                timeout=TCL_CONFIG_TIMEOUT,
            ).stdout.splitlines()
        except subprocess.TimeoutExpired:
            problems.append(f"{path}: did not finish in "
                            f"{TCL_CONFIG_TIMEOUT} s")
            continue
        except subprocess.CalledProcessError as exc:
            how = (f"killed by signal {-exc.returncode}" if exc.returncode < 0
                   else f"exit status {exc.returncode}")
            problems.append(f"{path}: {how}")
            continue
        except OSError as exc:
            problems.append(f"{path}: {exc}")
            continue
        if len(out) < 2 or not out[1] or not os.path.isfile(out[1]):
            problems.append(f"{path}: no Tcl stubs library in it")
            continue
        includes = [f[2:] for f in shlex.split(out[0]) if f.startswith("-I")]
        return includes, out[1]
    why = "; ".join(problems) or "none found"
    if os.environ.get("AG_REQUIRE_TCL"):
        sys.exit(f"asyncio-guest: no usable tclConfig.sh ({why}).  Install "
                 "the Tcl 8.6 development files (Debian: apt-get install "
                 "tcl8.6-dev) or set TCL_CONFIG=/path/to/tclConfig.sh.")
    print(f"asyncio-guest: no usable tclConfig.sh ({why}); building without "
          "the native Tk waker: asyncio_guest.tk will wake Tk through "
          "tkinter (for the native one: apt-get install tcl8.6-dev, or set "
          "TCL_CONFIG)", file=sys.stderr)
    return None


def cflags():
    # hidden: only PyInit_* (PyMODINIT_FUNC) leaves the shared object
    flags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden"]
    if os.environ.get("AG_DEBUG"):
        flags += ["-O0", "-g3"]
    return flags + sanitize_flags()


def sanitize_flags():
    """AG_SANITIZE=address,undefined or AG_SANITIZE=thread: the core built
    with those sanitizers (compile and link flags; `make test-sanitize`)."""
    wanted = os.environ.get("AG_SANITIZE", "")
    if not wanted:
        return []
    flags = [f"-fsanitize={wanted}", "-fno-omit-frame-pointer", "-O1", "-g"]
    if "undefined" in wanted:
        flags.append("-fno-sanitize-recover=undefined")  # UB is an error
    return flags


def pkg_config(package):
    """(include dirs, libraries, library dirs) of a pkg-config package, or
    None if pkg-config or the package is missing."""
    try:
        out = subprocess.run(
            ["pkg-config", "--cflags", "--libs", package],
            check=True, capture_output=True, text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    flags = shlex.split(out)
    return ([f[2:] for f in flags if f.startswith("-I")],
            [f[2:] for f in flags if f.startswith("-l")],
            [f[2:] for f in flags if f.startswith("-L")])


def glib_extension():
    found = None if os.environ.get("AG_NO_GLIB") else pkg_config("glib-2.0")
    if found is None:
        if os.environ.get("AG_REQUIRE_GLIB"):
            sys.exit("asyncio-guest: glib-2.0 not found by pkg-config "
                     "(Debian: apt-get install libglib2.0-dev pkg-config)")
        print("asyncio-guest: glib-2.0 not found by pkg-config; building "
              "without the native GLib waker", file=sys.stderr)
        return []
    includes, libraries, library_dirs = found
    return [Extension(
        "asyncio_guest._glib",
        sources=[CORE + "glibmodule.c", CORE + "glue.c", CORE + "waker-glib.c",
                 CORE + "watcher-glib.c"],
        depends=[CORE + h for h in HEADERS + ["waker-glib.h"]],
        include_dirs=includes,
        libraries=libraries,
        library_dirs=library_dirs,
        extra_compile_args=cflags(),
        extra_link_args=sanitize_flags(),
    )]


def win32_extension():
    """asyncio_guest._win32, the Win32 waker: Windows only (untested)."""
    if sys.platform != "win32":
        return []
    return [Extension(
        "asyncio_guest._win32",
        sources=[CORE + "win32module.c", CORE + "glue.c", CORE + "waker-win32.c"],
        depends=[CORE + h for h in HEADERS + ["errno-win32.h"]],
        libraries=["user32"],
        extra_compile_args=cflags(),
        extra_link_args=sanitize_flags(),
    )]


def extension():
    sources = ["module.c", "type-guest.c", "type-wakehook.c",
               "type-tclwaker.c", "type-uvloopview.c", "type-callbackwaker.c",
               "type-callbackwatcher.c", "glue.c", "guest.c", "loop-uv.c"]
    sources += platform_sources()
    tcl = tcl_config()
    includes, objects = [], []
    if tcl is None:
        sources.append("waker-tcl-none.c")
    else:
        includes, stub_lib = tcl
        sources += ["waker-tcl.c", "watcher-tcl.c"]
        objects = [stub_lib]
    return Extension(
        "asyncio_guest._core",
        sources=[CORE + s for s in sources],
        depends=[CORE + h for h in HEADERS + ["waker-tcl.h"]],
        include_dirs=includes,
        extra_compile_args=cflags(),
        extra_link_args=sanitize_flags(),
        extra_objects=objects,
    )


if __name__ == "__main__":  # (setuptools runs it so; tests import it)
    setup(ext_modules=[extension()] + glib_extension() + win32_extension())
