"""What start_guest_run is given, checked before any loop exists: the
coroutine to run and the callables (clear TypeErrors naming the argument)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def make_coroutine(async_fn: Any, args: tuple[Any, ...]) -> Coroutine[Any, Any, Any]:
    if asyncio.iscoroutine(async_fn):
        if args:
            async_fn.close()
            raise TypeError(
                "start_guest_run: pass either a coroutine object and no "
                "arguments, or an async function and its arguments"
            )
        return async_fn
    if not callable(async_fn):
        raise TypeError(
            "start_guest_run: expected an async function or a coroutine, "
            f"got {type(async_fn).__name__}"
        )
    coro = async_fn(*args)
    if not asyncio.iscoroutine(coro):
        name = getattr(async_fn, "__qualname__", repr(async_fn))
        if hasattr(coro, "close"):
            coro.close()
        raise TypeError(
            f"start_guest_run: {name}() returned {type(coro).__name__}, not "
            "a coroutine; pass an 'async def' function"
        )
    return coro


def check_callable(name: str, value: Any, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not callable(value):
        raise TypeError(
            f"start_guest_run: {name} must be callable, "
            f"got {type(value).__name__}"
        )
