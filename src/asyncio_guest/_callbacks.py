"""Async callbacks for hosts: an ``async def`` turned into a plain host
callback (a Tk command, a Qt slot, a GObject signal handler, a pywebview
API method), and the signature helpers those need.  Shared by every host
module, so each one's idiomatic helper is a few lines."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
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
    fn: Callable[..., Any], how_to_start: str
) -> Callable[..., None]:
    """Wrap an ``async def`` as a plain host callback that schedules it on
    the guest run hosted by the calling thread (host modules build their
    idiomatic helper on this)."""
    if not callable(fn):
        raise TypeError(
            f"async_handler: expected an async function, got "
            f"{type(fn).__name__}"
        )
    name = getattr(fn, "__qualname__", repr(fn))

    @functools.wraps(fn)
    def handler(*args: Any) -> None:
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
        task = loop.create_task(coro)
        _handler_tasks.add(task)

        def finished(t: "asyncio.Task[Any]") -> None:
            _handler_tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                loop.call_exception_handler(
                    {
                        "message": f"exception in async handler {name}",
                        "exception": t.exception(),
                        "task": t,
                    }
                )

        task.add_done_callback(finished)

    return handler


_MISSING: Any = object()


def with_arity(call: Callable[..., None],
               arity: Optional[tuple[int, int]]) -> Callable[..., None]:
    """A plain function taking the positional parameters described by
    ``arity`` that calls ``call`` with the arguments given.  Qt bindings
    look at a slot's own code object to decide how many signal arguments
    to pass (PySide6 even picks the overload: ``clicked`` connected to
    ``*args`` is ``clicked()``), so the slot must mirror the wrapped
    function's parameters; a function with a given number of parameters is
    made from source (``exec``), the one way to set them that every
    binding reads the same."""
    if arity is None:
        def slot(*args: Any) -> None:
            call(*args)
        return slot
    required, total = arity
    names = [f"a{i}" for i in range(total)]
    params = names[:required] + [f"{n}=_MISSING" for n in names[required:]]
    src = (f"def slot({', '.join(params)}):\n"
           f"    call(*[a for a in ({''.join(n + ', ' for n in names)}) "
           f"if a is not _MISSING])\n")
    namespace: dict[str, Any] = {"call": call, "_MISSING": _MISSING}
    exec(src, namespace)
    made: Callable[..., None] = namespace["slot"]
    return made
