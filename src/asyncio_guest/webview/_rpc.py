"""The page <-> Python call protocol of the webview, as pure functions (no
WebKit, no GTK): parse a page's call message, check its arguments, encode
a result or an error, write the reply's JavaScript.  The Window wires them
to WebKit; the tests and fuzzers call them directly."""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

#: The name of the script message handler the page posts calls to.
HANDLER = "asyncio_guest"

#: What eval_js's wrapper returns for a value JSON has no text for.
EVAL_UNDEFINED = "~undefined"  # no JSON text starts with "~"

#: How deep a value may nest (arrays and objects) to cross the bridge either
#: way: a call's arguments, its result, an ``eval_js`` value.  Python's json
#: stops at the recursion limit on 3.11/3.12 but goes much deeper on 3.13+
#: (it checks the C stack instead), and JavaScriptCore has limits of its
#: own: one fixed limit, checked here, makes a too deep value reject the
#: same way on every version instead of leaving a call unsettled.
MAX_DEPTH = 256


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists, tuples or dicts more than ``limit``
    deep (a cycle counts as too deep).  Iterative: never recurses."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def args_too_deep(args: Any) -> bool:
    """Whether a call's arguments (a list, tuple or dict of them, which is
    itself one level) nest any argument more than :data:`MAX_DEPTH` deep."""
    return too_deep(args, MAX_DEPTH + 1)


def too_deep_error(what: str) -> TypeError:
    """The error a too deep value rejects with."""
    return TypeError(f"{what} nested more than {MAX_DEPTH} deep (or "
                     f"circular): it cannot cross the bridge")


# The head of a call message, as the bridge's JSON.stringify writes it.
_HEAD = re.compile(r'\{"token":(?P<token>"(?:[^"\\]|\\.)*"),"id":(?P<id>\d+),'
                   r'"name":(?P<name>"(?:[^"\\]|\\.)*"),')


@dataclass(frozen=True)
class Call:
    """A well-formed call message: ``py.<name>(...args)`` from the page
    whose token is ``token``."""

    token: str
    id: int
    name: str
    args: list[Any]


@dataclass(frozen=True)
class Reply:
    """An answer due at once (the message named its call, but cannot be
    run): ``payload`` is an error payload."""

    token: str
    id: int
    ok: bool
    payload: Any


def parse_call(text: Any) -> Union[Call, Reply, None]:
    """The call in a message's text; a :class:`Reply` when it names its
    call but cannot be parsed (nested deeper than Python's JSON parser
    goes); None when it is not a call message of our bridge at all
    (nothing to answer).  Never raises."""
    if not isinstance(text, str):
        return None
    try:
        msg = json.loads(text)
        token, call_id, name, args = (msg["token"], msg["id"], msg["name"],
                                      msg["args"])
    except RecursionError:
        # Valid JSON nested deeper than Python's parser goes: answer the
        # call if its head (our bridge writes token, id, name first) says
        # which one it is.
        head = _HEAD.match(text)
        if head is None:
            return None
        try:
            token, name = json.loads(head["token"]), json.loads(head["name"])
        except (ValueError, RecursionError):
            return None
        return Reply(token, int(head["id"]), False, error_payload(
            too_deep_error(f"py.{name}(): the arguments are")))
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    if not (isinstance(token, str) and type(call_id) is int
            and isinstance(name, str) and isinstance(args, list)):
        return None
    if args_too_deep(args):
        return Reply(token, call_id, False, error_payload(too_deep_error(
            f"py.{name}(): the arguments are")))
    return Call(token, call_id, name, args)


def check_args(fn: Callable[..., Any], name: str, args: list[Any],
               prefix: str = "py.") -> Optional[dict[str, str]]:
    """An error payload if ``fn`` cannot take ``args``, else None (the
    message names the call ``<prefix><name>()``)."""
    try:
        inspect.signature(fn).bind(*args)
    except TypeError as exc:
        return error_payload(TypeError(f"{prefix}{name}(): {exc}"))
    except ValueError:
        pass  # no signature to check (a builtin): let the call say
    return None


def encode_result(name: str, result: Any,
                  prefix: str = "py.") -> tuple[bool, str]:
    """(ok, JSON text) of the reply to a call that returned ``result``."""
    if too_deep(result):
        return False, json.dumps(error_payload(too_deep_error(
            f"{prefix}{name}() returned a value")))
    try:
        return True, json.dumps(result)
    except (TypeError, ValueError, RecursionError) as exc:
        return False, json.dumps(error_payload(TypeError(
            f"{prefix}{name}() returned a value that is not JSON: {exc}")))


def error_payload(exc: BaseException) -> dict[str, str]:
    """What the page's rejected promise carries of an exception: its
    name, message and qualified type."""
    t = type(exc)
    qual = t.__qualname__ if t.__module__ == "builtins" else \
        f"{t.__module__}.{t.__qualname__}"
    return {"name": t.__name__, "message": str(exc),
            "type": qual if t.__module__ != "builtins" else f"builtins.{qual}"}


def settle_js(token: str, call_id: int, ok: bool, body: str) -> str:
    """The JavaScript that settles call ``call_id`` of page ``token`` with
    ``body`` (JSON text)."""
    return ("window.py && window.py.__asyncio_guest.settle("
            f"{json.dumps(token)}, {call_id}, {'true' if ok else 'false'}, "
            f"{body})")
