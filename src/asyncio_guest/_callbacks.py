"""Async callbacks for hosts: an ``async def`` turned into a plain host
callback (a Tk command, a Qt slot, a GObject signal handler, a pywebview
API method), and the signature helpers those need.  Shared by every host
module, so each one's idiomatic helper is a few lines."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import weakref
from collections.abc import Callable
from typing import Any, Optional

from ._run import _by_thread

# Tasks started by async handlers: strong references until they finish.
_handler_tasks: set["asyncio.Task[Any]"] = set()


def is_async_callable(fn: Any) -> bool:
    """Whether calling ``fn`` makes a coroutine: an ``async def`` function
    or method, a ``functools.partial`` of one, or an object whose
    ``__call__`` is one."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return (inspect.iscoroutinefunction(fn)
            or inspect.iscoroutinefunction(getattr(fn, "__call__", None)))


def require_async(fn: Any, what: str) -> None:
    """TypeError unless ``fn`` is an async callable (at decoration time)."""
    if not callable(fn):
        raise TypeError(
            f"{what}: expected an async function, got {type(fn).__name__}")
    if not is_async_callable(fn):
        name = getattr(fn, "__qualname__", repr(fn))
        raise TypeError(
            f"{what}: {name} is not an async function; decorate an "
            "'async def'")


def positional(fn: Any) -> Optional[tuple[int, int]]:
    """(required, total) positional parameters of ``fn``; None if it takes
    ``*args`` or has no signature."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    required = total = 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            total += 1
            if p.default is p.empty:
                required += 1
    return required, total


def dropping_extra(call: Callable[..., Any],
                   arity: Optional[tuple[int, int]]) -> Callable[..., Any]:
    """``call``, dropping trailing positional arguments beyond what
    ``arity`` (from :func:`positional`) takes, as Qt does for C++ slots."""
    if arity is None:
        return call
    total = arity[1]

    def dropping(*args: Any) -> Any:
        return call(*args[:total])
    return dropping


def copy_names(wrapper: Any, fn: Any) -> None:
    """``fn``'s names and doc on ``wrapper`` (not ``functools.wraps``: its
    ``__wrapped__`` would make ``inspect`` report ``fn``'s signature)."""
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attr, getattr(fn, attr))
        except AttributeError:
            pass


def async_handler(
    fn: Callable[..., Any], how_to_start: str,
    task_type: Optional[type["asyncio.Task[Any]"]] = None,
) -> Callable[..., "asyncio.Task[Any]"]:
    """Wrap an ``async def`` as a plain host callback that starts it as a
    task of the guest run hosted by the calling thread and returns the
    task (host modules build their idiomatic helper on this).

    An exception escaping the task goes, once, where the host sends one
    escaping an ordinary callback (:meth:`asyncio_guest.host.Host.
    report_exception`: Tk's ``report_callback_exception``, else
    ``sys.excepthook``), with the coroutine's traceback; for a run started
    with ``start_guest_run`` (no Host), to the loop's exception handler.
    A cancelled task reports nothing.  ``task_type``: an ``asyncio.Task``
    subclass to make the task with (default: the loop's own)."""
    if not callable(fn):
        raise TypeError(
            f"async_handler: expected an async function, got "
            f"{type(fn).__name__}"
        )
    name = getattr(fn, "__qualname__", repr(fn))

    @functools.wraps(fn)
    def handler(*args: Any) -> "asyncio.Task[Any]":
        runner = _by_thread.get(threading.get_ident())
        if runner is None or runner.finished:
            raise RuntimeError(
                f"{name}: no guest run on this thread; start one with "
                f"{how_to_start}"
            )
        coro = fn(*args)
        if not asyncio.iscoroutine(coro):
            raise TypeError(
                f"async_handler: {name}() returned {type(coro).__name__}, "
                "not a coroutine"
            )
        loop = runner.loop
        task = (loop.create_task(coro) if task_type is None
                else task_type(coro, loop=loop))
        _handler_tasks.add(task)
        owner = _hosts.get(runner)
        reporter = None if owner is None else owner.report_exception

        def finished(t: "asyncio.Task[Any]") -> None:
            _handler_tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()  # (retrieved: asyncio will not log it)
            if exc is None:
                return
            if reporter is not None:
                reporter(exc)
            else:
                loop.call_exception_handler({
                    "message": f"exception in async handler {name}",
                    "exception": exc, "task": t})

        task.add_done_callback(finished)
        return task

    return handler


#: Per live run: its Host, for the runs host.start started (a handler's
#: exception goes to its report_exception; host.current_host()); the entry
#: goes when the run closes (the Host may refer to its run: a weak key
#: alone would never be released).
_hosts: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


_MISSING: Any = object()


def with_arity(call: Callable[..., Any],
               arity: Optional[tuple[int, int]]) -> Callable[..., Any]:
    """A plain function taking the positional parameters described by
    ``arity`` that calls ``call`` with the arguments given.  Qt bindings
    look at a slot's own code object to decide how many signal arguments
    to pass (PySide6 even picks the overload: ``clicked`` connected to
    ``*args`` is ``clicked()``), so the slot must mirror the wrapped
    function's parameters; a function with a given number of parameters is
    made from source (``exec``), the one way to set them that every
    binding reads the same."""
    if arity is None:
        def slot(*args: Any) -> Any:
            return call(*args)
        return slot
    required, total = arity
    names = [f"a{i}" for i in range(total)]
    params = names[:required] + [f"{n}=_MISSING" for n in names[required:]]
    src = (f"def slot({', '.join(params)}):\n"
           f"    return call(*[a for a in ({''.join(n + ', ' for n in names)})"
           f" if a is not _MISSING])\n")
    namespace: dict[str, Any] = {"call": call, "_MISSING": _MISSING}
    exec(src, namespace)
    made: Callable[..., Any] = namespace["slot"]
    return made


def current_host() -> Any:
    """The :class:`asyncio_guest.host.Host` of the run this thread hosts
    (started with ``host.start`` or ``host.run``), or None."""
    runner = _by_thread.get(threading.get_ident())
    return None if runner is None else _hosts.get(runner)


async def modal(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(*args, **kwargs)`` -- a blocking dialog function
    (``messagebox.askyesno``, ``QDialog.exec``, ``Gtk.Dialog.run``) -- from
    a plain callback of this thread's host (``Host.call_soon``), not
    inside the tick: its nested loop then keeps the guest running (this
    coroutine's siblings go on).  Returns its result, or raises its
    exception, here.  If this coroutine is cancelled meanwhile, the dialog
    stays open (nothing can close an arbitrary one) and its result is
    dropped."""
    if not callable(fn):
        raise TypeError(f"modal() needs a callable, not {type(fn).__name__}")
    owner = current_host()
    if owner is None:
        raise RuntimeError("modal(): no guest run of a host on this thread "
                           "(start one with the host's run() or start())")
    fut = asyncio.get_running_loop().create_future()

    def call() -> None:
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            if not fut.done():
                fut.set_exception(exc)
            return
        if not fut.done():
            fut.set_result(result)

    owner.call_soon(call)
    return await fut
