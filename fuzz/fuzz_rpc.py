"""Fuzz the webview's call protocol (what any page may post): parse_call
never raises, and what it returns is well-typed; then the message goes
through the page guard's token check and check_args as the window does.

    python fuzz/fuzz_rpc.py [libFuzzer options, e.g. -runs=100000]
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from asyncio_guest.webview import _rpc
    from asyncio_guest.webview._page import PageGuard


def target(a: int, b: int) -> None: ...


GUARD = PageGuard([], "block", lambda uri: None)
GUARD.page_uri = "about:blank"
GUARD.token = "t0k3n-of-the-page-000000000000"
GUARD.refuse = lambda key, message: None  # type: ignore[method-assign]


def one(data: bytes) -> None:
    """First byte: odd = the message is headed by the page's real token;
    the rest: the message's text (UTF-8, errors replaced)."""
    text = data[1:].decode("utf-8", errors="replace")
    if data[:1] and data[0] & 1:
        text = '{"token":"' + GUARD.token + '",' + text
    GUARD.admits("about:blank", text)
    GUARD.hello("about:blank", text)
    GUARD.token = "t0k3n-of-the-page-000000000000"
    call = _rpc.parse_call(text)
    if call is None:
        return
    if isinstance(call, _rpc.Reply):
        assert isinstance(call.token, str) and type(call.id) is int
        assert call.ok is False and isinstance(call.payload, dict)
        return
    assert isinstance(call, _rpc.Call), call
    assert isinstance(call.token, str) and type(call.id) is int
    assert isinstance(call.name, str) and isinstance(call.args, list)
    refused = _rpc.check_args(target, call.name, call.args)
    assert refused is None or refused["name"] == "TypeError"
    ok, body = _rpc.encode_result(call.name, call.args)
    assert isinstance(body, str)
    _rpc.settle_js(call.token, call.id, ok, body)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
