"""The webview's call protocol (asyncio_guest.webview._rpc), without
WebKit: what a page's message becomes, and what goes back."""

from __future__ import annotations

import json
import random
from typing import Any

from asyncio_guest.webview import _rpc


def msg(**fields: Any) -> str:
    base: dict[str, Any] = {"token": "t1", "id": 3, "name": "add",
                            "args": [1, 2]}
    base.update(fields)
    return json.dumps(base, separators=(",", ":"))


def test_a_call_message_is_parsed() -> None:
    assert _rpc.parse_call(msg()) == _rpc.Call("t1", 3, "add", [1, 2])


def test_what_is_not_a_call_message_gets_no_answer() -> None:
    for text in ("", "not json", "[]", "42", "null", msg(id="3"),
                 msg(id=True), msg(args={}), msg(name=5), msg(token=None),
                 json.dumps({"token": "t", "id": 1}), None, 12, b"{}"):
        assert _rpc.parse_call(text) is None, text


def test_arguments_nested_too_deeply_are_answered_with_a_type_error() -> None:
    deep = "[" * 100000 + "]" * 100000
    text = '{"token":"t9","id":7,"name":"f","args":[' + deep + "]}"
    reply = _rpc.parse_call(text)
    assert isinstance(reply, _rpc.Reply)
    assert (reply.token, reply.id, reply.ok) == ("t9", 7, False)
    assert reply.payload["name"] == "TypeError"
    assert "nested too deeply" in reply.payload["message"]


def test_check_args_and_encode_result() -> None:
    async def add(a: int, b: int) -> int:
        return a + b

    assert _rpc.check_args(add, "add", [1, 2]) is None
    refused = _rpc.check_args(add, "add", [1])
    assert refused is not None and refused["type"] == "builtins.TypeError"
    assert "py.add()" in refused["message"]
    assert _rpc.encode_result("add", {"x": [1]}) == (True, '{"x": [1]}')
    ok, body = _rpc.encode_result("add", object())
    assert not ok and "not JSON" in json.loads(body)["message"]


def test_error_payload_and_settle_js() -> None:
    class Mine(Exception):
        pass

    payload = _rpc.error_payload(Mine("boom"))
    assert payload["name"] == "Mine" and payload["message"] == "boom"
    assert payload["type"].endswith(".Mine")
    js = _rpc.settle_js('a"b', 4, False, json.dumps(payload))
    assert js.startswith('window.py && window.py.__asyncio_guest.settle('
                         '"a\\"b", 4, false, {')


def test_random_messages_never_raise() -> None:
    rng = random.Random(1234)
    alphabet = '{}[]":,0123456789tokenidnameargs\\ truefalsenull'
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        result = _rpc.parse_call(text)
        assert result is None or isinstance(result, (_rpc.Call, _rpc.Reply))
