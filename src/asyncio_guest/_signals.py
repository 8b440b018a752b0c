"""A guest run's signals: the wake-up fd, the guest's signal socket,
Python-level signal handlers, and SIGINT.

Between ticks a signal must still wake somebody.  On the main thread
Python runs a signal's handler only once the thread executes bytecode
again, and a host asleep in C (Tcl's or Qt's poll) does not, until its next
event.  So, unless the host owns ``signal.set_wakeup_fd`` (Qt when the
application set one, GLib), the run makes a socket of its own the wake-up
fd between ticks and has the backend thread (or, threadless, the host)
watch it too: the tick it causes lets Python run the handler.  The stdlib
loop takes the wake-up fd only for ``add_signal_handler``; uvloop never
does (the guest never calls its ``run_forever()``, where its signal
handling lives: its ``add_signal_handler`` installs Python-level handlers
that forward to the loop instead).

SIGINT: while a run is hosted on the main thread, the run owns it (in
place of Python's default handler only): see :class:`_SigintHandler`.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import socket
import sys
import threading
from typing import Any, Optional, Protocol

from . import _core
from ._loopscope import LoopHooks


class Interruptible(Protocol):
    """The run, as the SIGINT handler sees it."""

    finished: bool

    @property
    def in_tick(self) -> bool: ...

    def defer_interrupt(self, exc: BaseException) -> None: ...


def wakeup_fd_in_use() -> bool:
    """Whether ``signal.set_wakeup_fd`` is set on this (main) thread: a host
    that set it owns it, and the guest must not take it.  Other threads have
    none."""
    if threading.current_thread() is not threading.main_thread():
        return False
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd != -1


class RunSignals:
    """One run's signal plumbing; host thread only.

    ``host_uses_wakeup_fd``: the host owns ``signal.set_wakeup_fd``; the
    guest then never touches it and ``loop.add_signal_handler`` installs
    Python-level handlers that forward to the loop (the host wakes up on
    signals itself: that is why it owns the fd).
    """

    def __init__(self, host_uses_wakeup_fd: bool) -> None:
        self.host_uses_wakeup_fd = host_uses_wakeup_fd
        self._main = threading.current_thread() is threading.main_thread()
        self._host_thread = threading.get_ident()
        self._saved_wakeup_fd: Optional[int] = None
        self._py_signals: dict[int, Any] = {}
        self._sigint: Optional[_SigintHandler] = None
        # Not when the host owns the fd, and not on Windows: the IOCP
        # poller cannot watch a socket beside the port (there the console
        # delivers Ctrl-C on a thread of its own).
        self._socks: Optional[tuple[socket.socket, socket.socket]] = None
        if self._main and not host_uses_wakeup_fd and sys.platform != "win32":
            r, w = socket.socketpair()
            r.setblocking(False)
            w.setblocking(False)
            self._socks = (r, w)

    @property
    def fd(self) -> int:
        """The signal socket the backend (or watcher) watches, or -1."""
        return -1 if self._socks is None else self._socks[0].fileno()

    def take_wakeup_fd(self) -> None:
        """Makes the signal socket the wake-up fd, remembering the one set
        (only the main thread may read it, and reading means swapping)."""
        if not self._main:
            return
        if self._socks is not None:
            fd = signal.set_wakeup_fd(self._socks[1].fileno(),
                                      warn_on_full_buffer=False)
        else:
            fd = signal.set_wakeup_fd(-1)
            signal.set_wakeup_fd(fd)
        self._saved_wakeup_fd = fd

    def hook(self, hooks: LoopHooks, loop: Any, forward: bool) -> None:
        """The loop's signal handler methods, for this run: the loop's own
        (recording what they replace), or, when the host owns the wake-up
        fd or the loop's own need it (``forward``: uvloop, whose handlers
        work only inside ``run_forever()``), Python-level handlers that
        forward to the loop."""
        if self.host_uses_wakeup_fd or forward:
            hooks.set("add_signal_handler",
                      lambda sig, cb, *args: self._add_forwarding(
                          loop, sig, cb, *args))
            hooks.set("remove_signal_handler", self._remove)
        else:
            add = loop.add_signal_handler
            hooks.set("add_signal_handler",
                      lambda sig, cb, *args: self._add_recording(
                          add, sig, cb, *args))

    def own_sigint(self, run: Interruptible) -> None:
        """On the main thread, in place of Python's default handler only."""
        if (self._main and signal.getsignal(signal.SIGINT)
                is signal.default_int_handler):
            self._sigint = _SigintHandler(run)
            signal.signal(signal.SIGINT, self._sigint)

    def drain(self) -> bool:
        """Empties the signal socket; True if anything had arrived."""
        if self._socks is None:
            return False
        return _core.drain(self._socks[0].fileno())

    def release(self) -> None:
        """At the end of the run: handlers, wake-up fd, socket, SIGINT."""
        for sig in list(self._py_signals):
            self._remove(sig)
        self._restore_wakeup_fd()
        self._close_socket()
        self._restore_sigint()

    def release_at_exit(self) -> None:
        """What must go back even when the run was abandoned (atexit): each
        step on its own, so one that fails does not keep the others."""
        for undo in (self._restore_wakeup_fd, self._close_socket,
                     self._restore_sigint):
            try:
                undo()
            except Exception:
                pass  # at exit: release what can be released

    # -- undo --------------------------------------------------------------

    def _restore_wakeup_fd(self) -> None:
        saved, self._saved_wakeup_fd = self._saved_wakeup_fd, None
        if saved is None:
            return
        # loop.close() resets the fd to -1 if the loop had taken it; any
        # other value was set by the host during the run and stays.
        ours = -1 if self._socks is None else self._socks[1].fileno()
        current = signal.set_wakeup_fd(saved)
        if current not in (-1, saved, ours):
            signal.set_wakeup_fd(current)

    def _close_socket(self) -> None:
        socks, self._socks = self._socks, None
        for sock in socks or ():
            sock.close()

    def _restore_sigint(self) -> None:
        """Python's default handler back, unless someone replaced ours
        meanwhile (theirs stays)."""
        handler, self._sigint = self._sigint, None
        if handler is not None:
            handler.run = None
            if signal.getsignal(signal.SIGINT) is handler:
                signal.signal(signal.SIGINT, signal.default_int_handler)

    # -- loop.add_signal_handler -----------------------------------------

    def _add_recording(self, add: Any, sig: int, callback: Any,
                       *args: Any) -> None:
        """The loop's own add_signal_handler, remembering the Python-level
        handler it replaces, so that the teardown puts that one back
        (asyncio resets to SIG_DFL; uvloop's close() outside run_forever()
        removes nothing at all)."""
        previous = signal.getsignal(sig)
        add(sig, callback, *args)
        self._py_signals.setdefault(sig, previous)

    def _add_forwarding(self, loop: Any, sig: int, callback: Any,
                        *args: Any) -> None:
        if threading.get_ident() != self._host_thread:
            raise RuntimeError(
                "add_signal_handler: call it on the host thread")
        if asyncio.iscoroutine(callback) or inspect.iscoroutinefunction(
                callback):
            raise TypeError(
                "coroutines cannot be used with add_signal_handler()")

        def handler(signum: int, frame: Any) -> None:
            loop.call_soon_threadsafe(callback, *args)

        previous = signal.signal(sig, handler)
        self._py_signals.setdefault(sig, previous)

    def _remove(self, sig: int) -> bool:
        if sig not in self._py_signals:
            return False
        signal.signal(sig, self._py_signals.pop(sig))
        return True


#: Packages where a SIGINT is deferred rather than raised (_SigintHandler).
_NO_RAISE_IN = frozenset({
    "asyncio_guest", "tkinter", "gi", "enum", "threading",
    "PySide6", "shiboken6", "PyQt5", "PyQt6", "sip"})


class _SigintHandler:
    """SIGINT while a guest run is hosted on the main thread (installed in
    place of Python's default handler, which raises KeyboardInterrupt
    wherever Python happens to be).

    Inside a tick, or in the program's own code (a busy host callback), it
    raises KeyboardInterrupt as the default would: the tick's and the hosts'
    run() paths take it from there.  Anywhere else -- the host idle in C
    with our Python frame below it, or the entry of our own or a binding's
    code (a Qt slot wrapper, PyGObject, tkinter) -- raising would lose a
    tick or crash the binding (PySide6 segfaults, PyQt aborts), so the
    interrupt is handed to the run instead (``defer_interrupt``)."""

    def __init__(self, run: Interruptible) -> None:
        self.run: Optional[Interruptible] = run

    def __call__(self, signum: int, frame: Any) -> None:
        run = self.run
        if run is None or run.finished or run.in_tick:
            raise KeyboardInterrupt
        module = frame.f_globals.get("__name__", "") if frame is not None \
            else ""
        if module.split(".")[0] in _NO_RAISE_IN:
            run.defer_interrupt(KeyboardInterrupt())
            return
        raise KeyboardInterrupt
