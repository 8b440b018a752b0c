"""GObject signals and Gio's ``*_async`` operations, awaited on the guest
loop (:func:`asyncio_guest.gtk.wait_signal`, :func:`asyncio_guest.gtk.gio`),
and :func:`drain_pending`.  Everything here runs on the GLib thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Optional

from gi.repository import (  # type: ignore[import-untyped, unused-ignore]
    GLib, GObject)

__all__ = ["wait_signal", "gio", "drain_pending"]


def drain_pending() -> None:
    """Dispatch what the default main context has pending now, without
    waiting (what a widget's destruction queued, before going on)."""
    ctx = GLib.MainContext.default()
    while ctx.pending():
        ctx.iteration(False)


def _has_signal(obj: Any, name: str) -> bool:
    return bool(GObject.signal_lookup(name, type(obj).__gtype__))


async def wait_signal(obj: Any, name: str, *,
                      timeout: Optional[float] = None) -> Any:
    """Wait for the next emission of the GObject signal ``name`` of
    ``obj`` and return its arguments without the emitter: one value, a
    tuple for several, None for none.  ``TimeoutError`` after ``timeout``
    seconds.  The handler is disconnected however it ends (emitted, timed
    out, cancelled).  It returns None to GTK (default handling goes on)."""
    if not isinstance(name, str):
        raise TypeError(f"signal name must be a str, not "
                        f"{type(name).__name__}")
    if not isinstance(obj, GObject.Object) or not _has_signal(
            obj, name.split("::", 1)[0]):
        raise TypeError(f"{type(obj).__name__} has no signal {name!r}")
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def emitted(_emitter: Any, *args: Any) -> None:
        if not fut.done():
            fut.set_result(None if not args else
                           args[0] if len(args) == 1 else args)

    handler_id = obj.connect(name, emitted)
    try:
        async with asyncio.timeout(timeout):
            return await fut
    finally:
        obj.disconnect(handler_id)


async def gio(method: Callable[..., Any], *args: Any,
              finish: Optional[Callable[[Any], Any]] = None) -> Any:
    """Run a Gio ``*_async`` method and return what its ``*_finish``
    returns, raising its ``GLib.Error``::

        ok, data, etag = await guest_gtk.gio(gfile.load_contents_async)
        conn = await guest_gtk.gio(client.connect_to_host_async, "h", 80)

    ``method`` is a bound ``*_async`` method; ``args`` are its arguments
    before the cancellable and the callback, which this passes.  The
    ``*_finish`` is the source object's (or give ``finish=``, e.g. for a
    function that is not a method).  Cancelling the coroutine cancels the
    operation (its ``Gio.Cancellable``)."""
    name = getattr(method, "__name__", "")
    if finish is None and not (callable(method) and name.endswith("_async")):
        raise TypeError(f"gio() needs a Gio *_async method (or finish=), "
                        f"not {method!r}")
    finish_name = name[:-len("_async")] + "_finish"
    from gi.repository import Gio  # type: ignore[import-untyped, unused-ignore]
    cancellable = Gio.Cancellable()
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def done(source: Any, result: Any, *_: Any) -> None:
        # The *_finish is the source object's (PyGObject's bound methods
        # do not say whose they are; the callback does).
        end = finish if finish is not None else getattr(source, finish_name,
                                                        None)
        try:
            if end is None:
                raise TypeError(f"{type(source).__name__} has no "
                                f"{finish_name}: give gio(..., finish=)")
            value = end(result)
        except (GLib.Error, TypeError) as exc:
            if not fut.done():
                fut.set_exception(exc)
            return
        if not fut.done():
            fut.set_result(value)

    method(*args, cancellable, done)
    try:
        return await fut
    except asyncio.CancelledError:
        cancellable.cancel()
        raise
