"""The webview's call protocol (asyncio_guest.webview._rpc), without
WebKit: what a page's message becomes, and what goes back."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

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
    assert "nested more than 256 deep" in reply.payload["message"]


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


@pytest.mark.parametrize("depth, deep", [(256, False), (257, True),
                                         (100000, True)])
def test_too_deep_counts_lists_and_dicts_without_recursing(depth: int,
                                                           deep: bool) -> None:
    value: Any = []
    for i in range(depth - 1):
        value = [value] if i % 2 else {"k": value}
    assert _rpc.too_deep(value) is deep


def test_a_cycle_is_too_deep() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    assert _rpc.too_deep(cyclic)
    assert not _rpc.too_deep([1, "two", {"three": [4.0, None]}])


def test_arguments_past_the_limit_are_refused_on_every_python() -> None:
    """300 levels: json parses them on every version (3.11's limit is the
    recursion limit, 3.13+ has none); the bridge's own limit refuses them
    the same way everywhere."""
    deep = "[" * 300 + "]" * 300
    text = '{"token":"t","id":3,"name":"f","args":[' + deep + "]}"
    reply = _rpc.parse_call(text)
    assert isinstance(reply, _rpc.Reply) and not reply.ok
    assert reply.payload["name"] == "TypeError"
    assert "py.f(): the arguments are nested more than 256 deep" in \
        reply.payload["message"]
    fine = "[" * 255 + "]" * 255
    call = _rpc.parse_call('{"token":"t","id":3,"name":"f","args":[' + fine + "]}")
    assert isinstance(call, _rpc.Call)


def test_a_result_past_the_limit_is_refused_on_every_python() -> None:
    value: Any = []
    for _ in range(300):
        value = [value]
    ok, body = _rpc.encode_result("f", value)
    assert not ok
    payload = json.loads(body)
    assert payload["name"] == "TypeError"
    assert "py.f() returned a value nested more than 256 deep" in \
        payload["message"]
