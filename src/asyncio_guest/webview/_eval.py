"""Window.eval_js: JavaScript evaluated in the page, its value through
JSON, a promise awaited, an exception raised as the given error type."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from gi.repository import GLib  # type: ignore[import-untyped, unused-ignore]

from . import _rpc

# eval_js: the end of the function it runs, and the head of the text it
# returns for an exception caught in the page.
_EVAL_TAIL = ("const j = JSON.stringify(v);"
              f"return j === undefined ? {json.dumps(_rpc.EVAL_UNDEFINED)} : j;")
_THROWN = "~thrown:"  # no JSON text starts with "~"


async def evaluate(view: Any, code: str, error: type[Exception]) -> Any:
    """The value of ``code`` in ``view``'s page (see Window.eval_js)."""
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def finished(view: Any, result: Any, expression: bool) -> None:
        if fut.done():
            return
        try:
            value = view.call_async_javascript_function_finish(result)
        except GLib.Error as exc:
            if expression and "SyntaxError" in exc.message:
                # Not an expression (it did not compile, so it did
                # not run): statements, through eval.
                call("let v = await (0, eval)(code);", False)
                return
            fut.set_exception(error(exc.message))
            return
        text = _rpc.EVAL_UNDEFINED
        if value is not None and not value.is_undefined():
            text = value.to_string()
        if text.startswith(_THROWN):
            fut.set_exception(error(text[len(_THROWN):]))
            return
        if text == _rpc.EVAL_UNDEFINED:
            fut.set_result(None)
            return
        try:
            value = json.loads(text)
            deep = _rpc.too_deep(value)
        except RecursionError:
            value, deep = None, True  # deeper than this Python's json goes
        if deep:
            fut.set_exception(error(
                f"the value is nested more than {_rpc.MAX_DEPTH} deep: it "
                f"cannot cross the bridge"))
            return
        fut.set_result(value)

    def call(body: str, expression: bool) -> None:
        view.call_async_javascript_function(
            body + _EVAL_TAIL, -1, GLib.Variant(
                "a{sv}", {"code": GLib.Variant("s", code)}),
            None, None, None,
            lambda view, result: finished(view, result, expression))

    # The value goes through JSON.stringify in the page: the JSON
    # Python gets is the page's own view of it.  An expression is
    # compiled as a function's body, which no Content-Security-Policy
    # forbids (what it throws is caught there: a SyntaxError from
    # WebKit then means it did not compile); statements go through
    # eval, which a CSP without 'unsafe-eval' forbids.
    call("let v; try { v = await (\n" + code + "\n); } catch (e) "
         f"{{ return {json.dumps(_THROWN)} + String(e); }}", True)
    return await fut
