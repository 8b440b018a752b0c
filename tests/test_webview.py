"""asyncio_guest.webview: a real WebKitGTK page awaiting async Python.

Every test opens a real window (GTK 3 + WebKitGTK 4.1) on the session's
display (or a private Xvfb), runs :func:`webview.run` on the stdlib loop and
on uvloop, and drives the page with ``eval_js``: the JavaScript a test runs
is what a page would run, and its results come back to be asserted here.
Real X input (a click) comes through the X server from xdotool; a
window-manager close is a real ``WM_DELETE_WINDOW`` client message sent by
another X client.

Waiting is done against deadlines (``asyncio.timeout`` around each test's
main coroutine, polling helpers with their own deadlines), never speed
assertions; pytest-timeout bounds each test as a last resort.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import sys
import warnings
from typing import Any, Callable

import pytest

import asyncio_guest

# The "thread" method: pytest-timeout's default ("signal") raises from a
# SIGALRM handler, which runs inside a GLib callback of the guest and is
# swallowed there (no exception may escape into GLib); a hang would then
# never end.  The thread method dumps the stacks and ends the process.
pytestmark = pytest.mark.timeout(30, method="thread")

LONG = 3600.0  # "an hour": a sleep nobody may wait for
DEADLINE = 15.0  # seconds for a test's main coroutine; past it, it failed

_module_box: list[Any] = []


@pytest.fixture
def webview(display: str) -> Any:
    """``asyncio_guest.webview``, imported once the display exists (GTK 3
    initialises itself at import; this process tests GTK 3, as
    tests/test_gtk.py does)."""
    if not _module_box:
        os.environ.setdefault("NO_AT_BRIDGE", "1")
        os.environ.setdefault("GTK_A11Y", "none")
        import gi

        gi.require_version("Gtk", "3.0")
        gi.require_version("GdkX11", "3.0")
        from asyncio_guest import webview as module

        _module_box.append(module)
    return _module_box[0]


@pytest.fixture(autouse=True)
def escaped(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Exceptions that escaped into GLib: PyGObject reports an exception
    raised by a signal handler or callback through ``sys.excepthook``.
    None may escape (the bridge must answer or drop bad input itself)."""
    got: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook",
                        lambda tp, exc, tb: got.append(exc))
    yield got
    assert not got, f"exceptions escaped into GLib: {got!r}"


def run(webview: Any, main: Callable[..., Any], loop_factory: Any,
        *args: Any, **kwargs: Any) -> Any:
    """``webview.run(main)`` with a hang guard: main gets DEADLINE seconds
    (a TimeoutError then fails the test with main's traceback)."""
    async def guarded(window: Any, *a: Any) -> Any:
        async with asyncio.timeout(DEADLINE):
            return await main(window, *a)

    return webview.run(guarded, *args, loop_factory=loop_factory, **kwargs)


PAGE = ("<!doctype html><html><head><meta charset='utf-8'></head>"
        "<body id='%s'></body></html>")


async def open_page(win: Any, body_id: str = "page") -> None:
    win.load_html(PAGE % body_id)
    await win.loaded()
    assert await win.eval_js("document.body.id") == body_id


# The outcome of a promise, as the page sees it.
SETTLE = """(async () => {
  try { return {ok: true, value: await (%s)}; }
  catch (e) {
    return {ok: false, name: e.name, message: e.message,
            pyType: e.pyType === undefined ? "(none)" : e.pyType,
            isError: e instanceof Error};
  }
})()"""


async def settle(win: Any, expr: str) -> dict[str, Any]:
    """Await the JS expression ``expr`` in the page: {"ok": True, "value"}
    or {"ok": False, "name", "message", "pyType", "isError"}."""
    return await win.eval_js(SETTLE % expr)  # type: ignore[no-any-return]


async def wait_js(win: Any, expr: str, timeout: float = 5.0) -> Any:
    """Poll the JS expression until it is truthy; return its value."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = await win.eval_js(expr)
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(
                f"page condition {expr!r} not reached in {timeout} s "
                f"(last value {value!r})")
        await asyncio.sleep(0.01)


async def wait_until(cond: Callable[[], bool], what: str,
                     timeout: float = 5.0) -> None:
    """Poll a Python-side condition."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"not reached in {timeout} s: {what}")
        await asyncio.sleep(0.01)


def count_posts(webview: Any, win: Any) -> dict[str, int]:
    """Counts the messages the page posts to the bridge's handler (a second
    handler on the same signal, seeing what the bridge sees)."""
    box = {"n": 0}

    def on_message(*_: Any) -> None:
        box["n"] += 1

    win.content_manager.connect(
        f"script-message-received::{webview.HANDLER}", on_message)
    return box


class BridgeError(Exception):
    """A custom exception type, raised by an exposed function."""


class Outer:
    class InnerError(LookupError):
        pass


def strict(value: Any) -> str:
    """A text telling bools from ints and floats from ints."""
    return json.dumps(value, sort_keys=True)


# -- JS -> Python results ---------------------------------------------------

UNICODE = "h\u00e9llo \u2603 \U0001d11e \u4e2d\u6587 \u2028\u2029 \"q\" \\ </script> \x00\t"

VALUES: list[Any] = [
    0, -7, 2**53 - 1, 1.5, -0.25, 1e300, "", UNICODE,
    [1, [2, [3, []]]],
    {"a": {"b": [None, True, False, 2.5]}, "\u00fc": 1, "": "empty key"},
    None, True, False,
]


def test_results_are_json_values_and_args_arrive_typed(webview,
                                                        loop_factory):
    got: list[tuple[Any, ...]] = []

    async def main(win: Any) -> dict[str, Any]:
        @win.expose
        async def echo(value: Any) -> Any:
            got.append((value,))
            await asyncio.sleep(0)  # suspended and resumed
            return value

        @win.expose
        async def kinds(*args: Any) -> list[str]:
            got.append(args)
            return [type(a).__name__ for a in args]

        @win.expose
        async def made_here() -> dict[str, Any]:
            return {"tuple": (1, "two"), "unicode": "\u00fc\U0001d11e",
                    "nested": {"x": [{"y": None}]}, "big": "x" * 200_000}

        @win.expose
        async def length(s: str) -> int:
            return len(s)

        await open_page(win)
        out: dict[str, Any] = {}
        # Each value, alone, there and back.
        out["echo"] = await win.eval_js(
            f"Promise.all({json.dumps(VALUES)}.map(v => py.echo(v)))")
        # The page's own view: identical JSON text.
        out["same in page"] = await win.eval_js(
            f"(async () => {{ const vs = {json.dumps(VALUES)};"
            " const rs = await Promise.all(vs.map(v => py.echo(v)));"
            " return JSON.stringify(rs) === JSON.stringify(vs); })()")
        out["kinds"] = await win.eval_js(
            "py.kinds(1, 1.5, 'ü', [1], {k: [true]}, null, true, false)")
        out["made here"] = await win.eval_js(
            "py.made_here().then(r => ({tuple: r.tuple,"
            " unicode: r.unicode, codepoints: [...r.unicode].length,"
            " units: r.unicode.length, nested: r.nested,"
            " big: r.big.length, bigOk: /^x+$/.test(r.big)}))")
        out["length"] = await win.eval_js("py.length('é'.repeat(300000))")
        return out

    out = run(webview, main, loop_factory)
    assert strict(out["echo"]) == strict(VALUES), out["echo"]
    assert out["same in page"] is True
    # Arguments arrived as the matching Python types (not just equal:
    # True == 1 in Python).
    echoed = [a[0] for a in got[:len(VALUES)]]
    assert [type(v) for v in echoed] == [type(v) for v in VALUES], echoed
    assert strict(echoed) == strict(VALUES)
    assert out["kinds"] == ["int", "float", "str", "list", "dict",
                            "NoneType", "bool", "bool"], out["kinds"]
    assert got[-1] == (1, 1.5, "ü", [1], {"k": [True]}, None, True, False)
    assert out["made here"] == {
        "tuple": [1, "two"], "unicode": "\u00fc\U0001d11e",
        "codepoints": 2, "units": 3,  # one astral character: 2 UTF-16 units
        "nested": {"x": [{"y": None}]}, "big": 200_000, "bigOk": True,
    }, out["made here"]
    assert out["length"] == 300_000


def test_exposed_function_can_await_eval_js_while_page_awaits_it(
        webview, loop_factory):
    """Re-entry: the page awaits Python, which awaits the page."""
    async def main(win: Any) -> Any:
        @win.expose
        async def ask_page(x: int) -> Any:
            inner = await win.eval_js(f"window.base + {x}")
            return {"inner": inner, "loop": id(asyncio.get_running_loop())}

        await open_page(win)
        await win.eval_js("window.base = 40")
        result = await win.eval_js("py.ask_page(2)")
        return result, id(asyncio.get_running_loop())

    result, loop_id = run(webview, main, loop_factory)
    assert result == {"inner": 42, "loop": loop_id}


def test_hundred_concurrent_calls_finish_out_of_order(webview,
                                                      loop_factory):
    state = {"running": 0, "peak": 0}
    finished: list[int] = []

    async def main(win: Any) -> Any:
        @win.expose
        async def work(i: int, ms: int) -> dict[str, int]:
            state["running"] += 1
            state["peak"] = max(state["peak"], state["running"])
            try:
                await asyncio.sleep(ms / 1000)
            finally:
                state["running"] -= 1
            finished.append(i)
            return {"i": i, "square": i * i}

        await open_page(win)
        return await win.eval_js("""(async () => {
          const settled = [];
          const all = await Promise.all([...Array(100).keys()].map(
            i => py.work(i, (i * 37) % 50).then(r => { settled.push(i); return r; })));
          return {all, settled};
        })()""")

    out = run(webview, main, loop_factory)
    assert out["all"] == [{"i": i, "square": i * i} for i in range(100)]
    assert sorted(finished) == list(range(100))
    assert finished != sorted(finished), "the calls did not overlap"
    # The page saw them settle in the order Python finished them.
    assert out["settled"] == finished
    assert state["peak"] >= 50, f"only {state['peak']} calls ran at once"
    assert state["running"] == 0


# -- rejections ---------------------------------------------------------------

def test_rejections_carry_the_python_error(webview, loop_factory):
    calls: list[str] = []

    async def main(win: Any) -> dict[str, Any]:
        posts = count_posts(webview, win)

        @win.expose
        async def fail_value(message: str) -> None:
            calls.append("fail_value")
            await asyncio.sleep(0)
            raise ValueError(message)

        @win.expose
        async def fail_custom() -> None:
            calls.append("fail_custom")
            raise BridgeError("custom trouble")

        @win.expose
        async def fail_nested() -> None:
            calls.append("fail_nested")
            raise Outer.InnerError()

        @win.expose
        async def two(a: Any, b: Any) -> Any:
            calls.append("two")
            return [a, b]

        @win.expose
        async def returns_set() -> Any:
            calls.append("returns_set")
            return {1, 2}

        await open_page(win)
        out: dict[str, Any] = {}
        out["value"] = await settle(win, "py.fail_value('bad thing ü')")
        out["custom"] = await settle(win, "py.fail_custom()")
        out["nested"] = await settle(win, "py.fail_nested()")
        out["unknown"] = await settle(win, "py.nope(1)")
        out["too many"] = await settle(win, "py.two(1, 2, 3)")
        out["too few"] = await settle(win, "py.two(1)")
        out["set"] = await settle(win, "py.returns_set()")
        calls.append("-- before non-JSON arguments --")
        before = posts["n"]
        out["bigint"] = await settle(win, "py.two(1, 10n)")
        out["cycle"] = await settle(
            win, "(() => { const o = {}; o.self = o; return py.two(o, 1); })()")
        out["posts for non-JSON"] = posts["n"] - before
        out["still works"] = await settle(win, "py.two('a', 'b')")
        return out

    out = run(webview, main, loop_factory)
    assert out["value"] == {"ok": False, "name": "ValueError",
                            "message": "bad thing ü",
                            "pyType": "builtins.ValueError",
                            "isError": True}, out["value"]
    assert out["custom"] == {
        "ok": False, "name": "BridgeError", "message": "custom trouble",
        "pyType": f"{BridgeError.__module__}.BridgeError",
        "isError": True}, out["custom"]
    assert out["nested"] == {
        "ok": False, "name": "InnerError", "message": "",
        "pyType": f"{Outer.__module__}.Outer.InnerError",
        "isError": True}, out["nested"]
    unknown = out["unknown"]
    assert (unknown["ok"], unknown["name"], unknown["pyType"]) == (
        False, "NameError", "builtins.NameError"), unknown
    assert "'nope'" in unknown["message"], unknown
    for key in ("too many", "too few"):
        r = out[key]
        assert (r["ok"], r["name"], r["pyType"], r["isError"]) == (
            False, "TypeError", "builtins.TypeError", True), (key, r)
        assert "py.two()" in r["message"], (key, r)
    s = out["set"]
    assert (s["ok"], s["name"], s["pyType"]) == (
        False, "TypeError", "builtins.TypeError"), s
    assert "not JSON" in s["message"], s
    for key in ("bigint", "cycle"):
        r = out[key]
        assert (r["ok"], r["name"], r["pyType"], r["isError"]) == (
            False, "TypeError", "builtins.TypeError", True), (key, r)
        assert "JSON" in r["message"], (key, r)
    # Non-JSON arguments were refused in the page: nothing was posted.
    assert out["posts for non-JSON"] == 0, out
    assert out["still works"] == {"ok": True, "value": ["a", "b"]}
    # Wrong arity and unknown names never reached Python either.
    assert calls == ["fail_value", "fail_custom", "fail_nested",
                     "returns_set", "-- before non-JSON arguments --",
                     "two"], calls


# -- bad input ------------------------------------------------------------------

def test_garbage_posted_to_the_handler_is_dropped(webview, loop_factory,
                                                  escaped):
    calls: list[Any] = []

    async def main(win: Any) -> Any:
        posts = count_posts(webview, win)

        @win.expose
        async def add(a: int, b: int) -> int:
            calls.append((a, b))
            return a + b

        await open_page(win)
        sent = await win.eval_js("""(() => {
          const h = window.webkit.messageHandlers.asyncio_guest;
          const token = py.__asyncio_guest.token;
          const bad = [
            "garbage", 42, 3.5, true, null, [1, 2], {token, id: 1, name: "add", args: [1, 2]},
            "", "{", "[]", "\\"just a string\\"", "null", "17",
            JSON.stringify({id: 1, name: "add", args: [1, 2]}),
            JSON.stringify({token, name: "add", args: [1, 2]}),
            JSON.stringify({token, id: 2, args: [1, 2]}),
            JSON.stringify({token, id: 3, name: "add"}),
            JSON.stringify({token, id: "4", name: "add", args: [1, 2]}),
            JSON.stringify({token, id: null, name: "add", args: [1, 2]}),
            JSON.stringify({token, id: [5], name: "add", args: [1, 2]}),
            '{"token": "' + token + '", "id": 6.5, "name": "add", "args": [1, 2]}',
            JSON.stringify({token, id: 7, name: 5, args: [1, 2]}),
            JSON.stringify({token, id: 8, name: "add", args: {0: 1, 1: 2}}),
            JSON.stringify({token, id: 9, name: "add", args: "12"}),
          ];
          for (const m of bad) h.postMessage(m);
          return bad.length;
        })()""")
        # Every message reached the bridge's handler (and was dropped).
        await wait_until(lambda: posts["n"] >= sent,
                         f"{sent} messages posted")
        out = await settle(win, "py.add(2, 3)")
        await asyncio.sleep(0.05)  # the run continues
        return sent, out, await settle(win, "py.add(4, 5)")

    sent, first, second = run(webview, main, loop_factory)
    assert sent == 24
    assert first == {"ok": True, "value": 5}
    assert second == {"ok": True, "value": 9}
    assert calls == [(2, 3), (4, 5)], calls
    assert escaped == []


def test_boolean_call_id_is_refused_like_other_bad_ids(webview,
                                                       loop_factory):
    """``{"id": true}`` is a wrong-typed id like ``"4"`` or ``6.5``: it
    must be dropped, not run (its reply, ``settle(token, True, ...)``, is a
    ReferenceError in the page anyway)."""
    calls: list[Any] = []

    async def main(win: Any) -> Any:
        posts = count_posts(webview, win)

        @win.expose
        async def add(a: int, b: int) -> int:
            calls.append((a, b))
            return a + b

        await open_page(win)
        await win.eval_js("""(() => {
          const h = window.webkit.messageHandlers.asyncio_guest;
          const token = py.__asyncio_guest.token;
          h.postMessage(JSON.stringify({token, id: true, name: "add", args: [1, 2]}));
          h.postMessage(JSON.stringify({token, id: false, name: "add", args: [3, 4]}));
        })()""")
        await wait_until(lambda: posts["n"] >= 2, "2 messages posted")
        await asyncio.sleep(0.1)  # a task it started would have run
        return await settle(win, "py.add(5, 6)")

    out = run(webview, main, loop_factory)
    assert out == {"ok": True, "value": 11}
    assert calls == [(5, 6)], (
        f"messages with a boolean id ran the exposed function: {calls}")


@pytest.mark.parametrize("depth", [300, 3000])
def test_too_deep_arguments_reject_instead_of_escaping_into_glib(
        webview, loop_factory, escaped, depth):
    """Arguments JSON.stringify accepts but Python's json parser cannot
    (nesting deeper than the recursion limit) must reject the call; the
    RecursionError must not escape from the message handler into GLib, and
    the promise must not stay pending forever."""
    calls: list[Any] = []

    async def main(win: Any) -> Any:
        posts = count_posts(webview, win)

        @win.expose
        async def take(value: Any) -> str:
            calls.append("take")
            return "taken"

        await open_page(win)
        await win.eval_js("""(() => {
          let v = [];
          for (let i = 0; i < %d; i++) v = [v];
          window.deep = "pending";
          py.take(v).then(r => window.deep = ["resolved", r],
                          e => window.deep = ["rejected", e.name]);
        })()""" % depth)
        await wait_until(lambda: posts["n"] >= 1, "the call was posted")
        # The call settles, one way or the other.
        loop = asyncio.get_running_loop()
        end = loop.time() + 3
        while (state := await win.eval_js("window.deep")) == "pending" \
                and loop.time() < end:
            await asyncio.sleep(0.02)
        return state, list(escaped), await settle(win, "py.take(1)")

    state, escaped_then, after = run(webview, main, loop_factory)
    escaped.clear()  # reported here
    assert escaped_then == [], (
        f"the page's message raised into GLib: {escaped_then!r}")
    assert state == ["rejected", "TypeError"], (
        f"py.take(<{depth}-deep array>): {state}")
    assert calls == ["take"]  # the later py.take(1) only
    assert after == {"ok": True, "value": "taken"}


@pytest.mark.parametrize("depth", [300, 5000])
def test_too_deep_result_rejects_instead_of_hanging(webview, loop_factory,
                                                    depth):
    """A result nested past the bridge's limit (300: json encodes it on
    every Python; 5000: RecursionError on 3.11/3.12, not on 3.13+) must
    reject the call with a TypeError like any other non-JSON result."""
    async def main(win: Any) -> Any:
        @win.expose
        async def deep(n: int) -> Any:
            v: list[Any] = []
            for _ in range(n):
                v = [v]
            return v

        await open_page(win)
        ok = await settle(win, "py.deep(3).then(v => JSON.stringify(v))")
        assert ok == {"ok": True, "value": "[[[[]]]]"}, ok
        await win.eval_js("""window.deep = "pending";
          py.deep(%d).then(() => window.deep = ["resolved"],
                           e => window.deep = ["rejected", e.name]); 1""" % depth)
        loop = asyncio.get_running_loop()
        end = loop.time() + 3
        while (state := await win.eval_js("window.deep")) == "pending" \
                and loop.time() < end:
            await asyncio.sleep(0.02)
        return state

    state = run(webview, main, loop_factory)
    assert state != "pending", f"py.deep({depth}) never settled"
    assert state == ["rejected", "TypeError"], state


@pytest.mark.parametrize("depth", [300, 3000])
def test_eval_js_too_deep_value_raises_instead_of_hanging(
        webview, loop_factory, escaped, depth):
    """eval_js of a value Python's json parser cannot take must raise (as
    for any value JSON cannot carry), not raise into GLib from the
    completion callback and leave eval_js waiting forever."""
    async def main(win: Any) -> Any:
        await open_page(win)
        try:
            await asyncio.wait_for(win.eval_js(
                "let w = []; for (let i = 0; i < %d; i++) w = [w]; w" % depth),
                3)
        except asyncio.TimeoutError:
            return "hung", list(escaped)
        except Exception as exc:
            return type(exc).__name__, list(escaped)
        return "returned", list(escaped)

    outcome, escaped_then = run(webview, main, loop_factory)
    escaped.clear()  # reported here
    assert outcome == "JSError", (outcome, escaped_then)
    assert escaped_then == [], escaped_then


# -- eval_js ----------------------------------------------------------------------

def test_eval_js_values_promises_and_errors(webview, loop_factory):
    async def main(win: Any) -> dict[str, Any]:
        await open_page(win)
        out: dict[str, Any] = {}
        out["dict"] = await win.eval_js(
            "({a: 1, b: [true, null, 'ü'], c: {d: 2.5}})")
        out["list"] = await win.eval_js("[1, 'two', [3], {}]")
        out["number"] = await win.eval_js("6 * 7")
        out["undefined"] = await win.eval_js("undefined")
        out["function"] = await win.eval_js("(function () {})")
        out["statement"] = await win.eval_js("var globalThing = 12")
        out["global"] = await win.eval_js("window.globalThing + 1")
        out["promise"] = await win.eval_js(
            "new Promise(r => setTimeout(() => r(5), 10))")
        out["promised dict"] = await win.eval_js(
            "Promise.resolve({ok: [1, 2]})")
        errors = {}
        for key, code in (
                ("throw", "throw new Error('boom ü')"),
                ("reject", "Promise.reject(new Error('nope'))"),
                ("late reject", "new Promise((_, j) => setTimeout("
                                "() => j(new TypeError('later')), 10))"),
                ("syntax", "this is not javascript"),
                ("bigint", "10n")):
            try:
                value = await win.eval_js(code)
            except webview.JSError as exc:
                errors[key] = str(exc)
            else:
                errors[key] = ("no error", value)
        out["errors"] = errors
        try:
            await win.eval_js(5)  # type: ignore[arg-type]
        except TypeError as exc:
            out["non-str"] = str(exc)
        out["after errors"] = await win.eval_js("'still fine'")
        return out

    out = run(webview, main, loop_factory)
    assert out["dict"] == {"a": 1, "b": [True, None, "ü"], "c": {"d": 2.5}}
    assert out["list"] == [1, "two", [3], {}]
    assert out["number"] == 42 and type(out["number"]) is int
    assert out["undefined"] is None
    assert out["function"] is None
    assert out["statement"] is None
    assert out["global"] == 13
    assert out["promise"] == 5
    assert out["promised dict"] == {"ok": [1, 2]}
    errors = out["errors"]
    assert issubclass(webview.JSError, Exception)
    for key, needle in (("throw", "boom ü"), ("reject", "nope"),
                        ("late reject", "later"), ("syntax", "SyntaxError"),
                        ("bigint", "BigInt")):
        assert isinstance(errors[key], str) and needle in errors[key], (
            key, errors[key])
    assert "eval_js() needs a str" in out["non-str"], out
    assert out["after errors"] == "still fine"


# -- emit ---------------------------------------------------------------------------

def test_emit_reaches_handlers_in_order_and_off_removes(webview,
                                                        loop_factory):
    async def main(win: Any) -> dict[str, Any]:
        await open_page(win)
        await win.eval_js("""(() => {
          window.got = [];
          window.h1 = (d) => got.push(["h1", d]);
          window.h2 = (d) => got.push(["h2", d]);
          py.on("tick", () => { throw new Error("a throwing handler"); });
          py.on("tick", h1);
          py.on("tick", h2);
          py.on("other", (d) => got.push(["other", d]));
        })()""")
        for i in range(50):
            win.emit("tick", {"n": i, "s": "ü\U0001d11e"})
        await wait_js(win, "got.length >= 100")
        out: dict[str, Any] = {"first": await win.eval_js("got")}
        await win.eval_js("py.off('tick', h1); got = []")
        win.emit("tick", 1)
        win.emit("other", None)
        win.emit('we"ird \n\u2028 name', "x")  # no handler: nothing
        win.emit("tick", [2])
        await wait_js(win, "got.length >= 3")
        await asyncio.sleep(0.05)
        out["after off"] = await win.eval_js("got")
        # Data that is not JSON: TypeError here, in Python; the run goes on.
        for bad in ({1, 2}, object(), b"bytes"):
            try:
                win.emit("tick", bad)
            except TypeError as exc:
                out.setdefault("bad data", []).append(type(exc).__name__)
        try:
            win.emit(3, "x")  # type: ignore[arg-type]
        except TypeError as exc:
            out["bad event"] = str(exc)
        win.emit("tick", "last")
        await wait_js(win, "got.length >= 4")
        out["last"] = await win.eval_js("got[3]")
        return out

    out = run(webview, main, loop_factory)
    first = out["first"]
    expected = []
    for i in range(50):
        data = {"n": i, "s": "ü\U0001d11e"}
        expected += [["h1", data], ["h2", data]]
    assert first == expected, first[:6]
    assert out["after off"] == [["h2", 1], ["other", None], ["h2", [2]]], (
        out["after off"])
    assert out["bad data"] == ["TypeError"] * 3, out
    assert "event must be a str" in out["bad event"], out
    assert out["last"] == ["h2", "last"]


# -- lifecycle: reloads ----------------------------------------------------------

def test_load_html_while_call_in_flight_cancels_it(webview, loop_factory):
    events: list[str] = []

    async def main(win: Any) -> dict[str, Any]:
        @win.expose
        async def slow(tag: str) -> str:
            events.append(f"{tag} started")
            try:
                await asyncio.sleep(LONG)
            except asyncio.CancelledError:
                events.append(f"{tag} cancelled")
                raise
            return "not reached"

        @win.expose
        async def echo(x: Any) -> Any:
            return x

        await open_page(win, "first")
        await win.eval_js("""window.outcome = "pending";
          py.slow("first").then(v => window.outcome = ["resolved", v],
                                e => window.outcome = ["rejected", e.name]);
          1""")
        await wait_until(lambda: "first started" in events, "call started")
        await open_page(win, "second")
        await wait_until(lambda: "first cancelled" in events,
                         "the call was cancelled by the new page")
        out = {"echo": await settle(win, "py.echo([1, 'x'])")}
        await asyncio.sleep(0.05)
        out["outcome"] = await win.eval_js(
            "[document.body.id, window.outcome === undefined]")
        return out

    out = run(webview, main, loop_factory)
    assert events == ["first started", "first cancelled"], events
    assert out["echo"] == {"ok": True, "value": [1, "x"]}
    assert out["outcome"] == ["second", True], out


def test_stale_reply_does_not_settle_the_new_pages_call(webview,
                                                        loop_factory):
    """A coroutine that ignores the cancellation and returns anyway answers
    the old page's call id 1; the new page's own call id 1 must not take
    that answer (each page has its own token)."""
    events: list[str] = []

    async def main(win: Any) -> Any:
        old_may_answer = asyncio.Event()
        new_may_answer = asyncio.Event()

        @win.expose
        async def stubborn(tag: str) -> str:
            events.append(f"{tag} started")
            if tag == "old":
                try:
                    await asyncio.sleep(LONG)
                except asyncio.CancelledError:
                    events.append("old cancelled (ignored)")
                # Bounded: a coroutine ignoring cancellation for good would
                # hold the run's teardown (as it would asyncio.run's).
                await asyncio.wait_for(old_may_answer.wait(), 5)
                events.append("old answers")
                return "stale"
            await new_may_answer.wait()
            return "fresh"

        await open_page(win, "old")
        await win.eval_js("py.stubborn('old'); 1")
        await wait_until(lambda: "old started" in events, "old call started")
        await open_page(win, "new")
        await wait_until(lambda: "old cancelled (ignored)" in events,
                         "old call cancelled")
        await win.eval_js("""window.outcome = "pending";
          py.stubborn("new").then(v => window.outcome = v,
                                  e => window.outcome = "rejected " + e.name);
          1""")
        await wait_until(lambda: "new started" in events, "new call started")
        old_may_answer.set()
        await wait_until(lambda: "old answers" in events, "old answered")
        await asyncio.sleep(0.1)
        before = await win.eval_js("window.outcome")
        new_may_answer.set()
        after = await wait_js(win, "window.outcome !== 'pending' && "
                                   "window.outcome")
        return before, after

    before, after = run(webview, main, loop_factory)
    assert before == "pending", f"the new page's call got {before!r}"
    assert after == "fresh"


def test_location_reload_while_call_in_flight_cancels_it(webview,
                                                         loop_factory):
    """The page reloads itself (from an HTTP server run by the guest loop)
    while its call is running."""
    events: list[str] = []
    served: list[str] = []

    async def serve(reader: Any, writer: Any) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            writer.close()
            return
        path = head.split(b" ", 2)[1].decode()
        if path == "/":
            served.append(path)
            body = (PAGE % f"load-{len(served)}").encode()
            status = b"200 OK"
        else:
            body, status = b"", b"404 Not Found"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/html;"
                     b" charset=utf-8\r\nCache-Control: no-store\r\n"
                     b"Content-Length: " + str(len(body)).encode()
                     + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    async def main(win: Any) -> dict[str, Any]:
        @win.expose
        async def slow() -> str:
            events.append("started")
            try:
                await asyncio.sleep(LONG)
            except asyncio.CancelledError:
                events.append("cancelled")
                raise
            return "not reached"

        @win.expose
        async def echo(x: Any) -> Any:
            return x

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        win.allowed_origins = [f"http://127.0.0.1:{port}"]
        try:
            win.load_url(f"http://127.0.0.1:{port}/")
            await win.loaded()
            out = {"first": await win.eval_js("document.body.id")}
            await win.eval_js("""window.outcome = "pending";
              py.slow().then(v => window.outcome = ["resolved", v],
                             e => window.outcome = ["rejected", e.name]);
              setTimeout(() => location.reload(), 50); 1""")
            await wait_until(lambda: "cancelled" in events,
                             "the reload cancelled the call")
            out["second"] = await wait_js(
                win, "document.body && document.body.id === 'load-2'"
                     " && typeof py === 'object' && document.body.id")
            out["echo"] = await settle(win, "py.echo('after reload')")
            await asyncio.sleep(0.05)
            out["outcome untouched"] = await win.eval_js(
                "window.outcome === undefined")
            return out
        finally:
            server.close()
            await server.wait_closed()

    out = run(webview, main, loop_factory)
    assert events == ["started", "cancelled"], events
    assert served == ["/", "/"], served
    assert out == {"first": "load-1", "second": "load-2",
                   "echo": {"ok": True, "value": "after reload"},
                   "outcome untouched": True}, out


# -- lifecycle: closing ------------------------------------------------------------

# Another X client (the window manager's role) asks a window to close: the
# ICCCM WM_DELETE_WINDOW client message, sent through the X server on a
# connection of its own (GDK turns it into delete-event, as for the close
# button of a window manager's frame).

def send_wm_delete_window(xid: int) -> None:
    import ctypes

    x = ctypes.cdll.LoadLibrary("libX11.so.6")
    x.XOpenDisplay.restype = ctypes.c_void_p
    x.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x.XInternAtom.restype = ctypes.c_ulong
    x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong),
                    ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p), ("window", ctypes.c_ulong),
                    ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("l", ctypes.c_long * 5)]

    class XEvent(ctypes.Union):
        _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]

    x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int,
                             ctypes.c_long, ctypes.POINTER(XEvent)]
    x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = x.XOpenDisplay(None)
    assert display, "cannot open the X display"
    try:
        ev = XEvent()
        ev.xclient.type = 33  # ClientMessage
        ev.xclient.window = xid
        ev.xclient.message_type = x.XInternAtom(display, b"WM_PROTOCOLS", 0)
        ev.xclient.format = 32
        ev.xclient.l[0] = x.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
        ev.xclient.l[1] = 0  # CurrentTime
        assert x.XSendEvent(display, xid, 0, 0, ctypes.byref(ev)), \
            "XSendEvent failed"
        x.XSync(display, 0)
    finally:
        x.XCloseDisplay(display)


def is_toplevel(win: Any) -> bool:
    """Whether the window still exists (a destroyed one left GTK's list)."""
    from gi.repository import Gtk

    return win.gtk_window in list(Gtk.Window.list_toplevels())


def xid_of(win: Any) -> int:
    from gi.repository import GdkX11  # noqa: F401  (the X11 GdkWindow type)

    return int(win.gtk_window.get_window().get_xid())


@pytest.mark.parametrize("how", ["close()", "Gtk.Window.close()",
                                 "WM_DELETE_WINDOW"])
def test_closing_window_with_call_in_flight_cancels_and_tears_down(
        webview, loop_factory, how):
    events: list[str] = []
    box: dict[str, Any] = {}

    async def main(win: Any) -> str:
        box["win"] = win
        box["loop"] = asyncio.get_running_loop()

        @win.expose
        async def slow() -> str:
            events.append("call started")
            try:
                await asyncio.sleep(LONG)
            except asyncio.CancelledError:
                events.append("call cancelled")
                raise
            finally:
                events.append("call finally")
            return "not reached"

        await open_page(win)
        await win.eval_js("py.slow(); 1")
        await wait_until(lambda: "call started" in events, "call started")
        try:
            if how == "close()":
                win.close()
            elif how == "Gtk.Window.close()":  # delete-event: close button
                win.gtk_window.close()
            else:
                send_wm_delete_window(xid_of(win))
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            events.append("main cancelled")
            box["alive in clean-up"] = is_toplevel(win)
            raise
        finally:
            events.append("main finally")
        return "not reached"

    assert run(webview, main, loop_factory) is None
    # Both were cancelled, and both finished before run returned.
    assert sorted(events) == sorted([
        "call started", "call cancelled", "call finally",
        "main cancelled", "main finally"]), events
    # A close request (delete-event) is held back until the teardown
    # completed; close() destroys at once.
    assert box["alive in clean-up"] is (how != "close()"), box
    assert not is_toplevel(box["win"])
    assert box["loop"].is_closed()
    assert asyncio_guest.current_run() is None
    win = box["win"]
    with pytest.raises(RuntimeError, match="destroyed"):
        win.load_html("<p>x</p>")

    # The process keeps working: a second run, with a round trip.
    async def again(win2: Any) -> Any:
        assert win2 is not win

        @win2.expose
        async def echo(x: Any) -> Any:
            return x

        await open_page(win2)
        return await win2.eval_js("py.echo('second run')")

    assert run(webview, again, loop_factory) == "second run"


def test_close_during_run_raises_no_glib_warnings(webview, loop_factory):
    """Window.close() during the run (the documented way to end it from
    Python) must not make the teardown emit GLib warnings."""
    async def main(win: Any) -> None:
        await open_page(win)
        win.close()
        await asyncio.sleep(LONG)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run(webview, main, loop_factory) is None
    glib = [f"{w.category.__module__}.{w.category.__name__}: {w.message}"
            for w in caught if w.category.__module__ in ("gobject", "gi",
                                                         "gi._gi")]
    assert not glib, glib


def test_main_returning_cancels_calls_and_destroys_window(webview,
                                                          loop_factory):
    events: list[str] = []
    box: dict[str, Any] = {}

    async def main(win: Any) -> str:
        box["win"] = win

        @win.expose
        async def slow() -> None:
            events.append("call started")
            try:
                await asyncio.sleep(LONG)
            except asyncio.CancelledError:
                events.append("call cancelled")
                raise

        await open_page(win)
        await win.eval_js("py.slow(); 1")
        await wait_until(lambda: "call started" in events, "call started")
        return "main's result"

    assert run(webview, main, loop_factory) == "main's result"
    assert events == ["call started", "call cancelled"], events
    win = box["win"]
    for use in (lambda: win.load_html("x"), lambda: win.load_url("about:"),
                lambda: win.emit("e"), win.show):
        with pytest.raises(RuntimeError, match="destroyed"):
            use()


def test_awaiting_closed_ends_when_the_user_closes(webview, loop_factory):
    """The documented pattern: ``await window.closed()`` until the user
    closes the window (here: its close button's delete-event)."""
    box: dict[str, Any] = {}

    async def main(win: Any) -> str:
        await open_page(win)
        box["loop"] = asyncio.get_running_loop()
        asyncio.get_running_loop().call_later(0.05, win.gtk_window.close)
        try:
            await win.closed()
        except asyncio.CancelledError:
            box["main"] = "cancelled"
            raise
        box["main"] = "returned"
        return "closed"

    assert run(webview, main, loop_factory) is None
    assert box["main"] == "cancelled"
    assert box["loop"].is_closed()


# -- real X input ---------------------------------------------------------------------

def xdotool() -> str:
    path = shutil.which("xdotool")
    if path is None:  # an error, not a skip: this test is part of the suite
        pytest.fail("xdotool is not installed (apt-get install xdotool)")
    return path


CLICK_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; }
#b { position: absolute; left: 70px; top: 45px; width: 140px; height: 50px; }
</style></head><body><button id="b">click me</button><script>
window.clicks = [];
document.getElementById("b").onclick = async (ev) => {
  const b = ev.currentTarget;
  try { b.textContent = await py.clicked(ev.isTrusted, ev.clientX, ev.clientY); }
  catch (e) { b.textContent = "rejected: " + e.name; }
  clicks.push(b.textContent);
};
</script></body></html>"""


def test_real_x_click_on_page_button_awaits_python(webview, loop_factory):
    tool = xdotool()
    title = f"asyncio_guest webview click {os.getpid()} {id(loop_factory):x}"
    got: list[Any] = []

    async def xdo(*args: str) -> bytes:
        proc = await asyncio.create_subprocess_exec(
            tool, *args, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        assert proc.returncode == 0, (args, proc.returncode)
        return out

    async def main(win: Any) -> Any:
        @win.expose
        async def clicked(trusted: bool, x: float, y: float) -> str:
            got.append((asyncio.get_running_loop(), trusted, x, y))
            await asyncio.sleep(0.01)
            return "pong from Python"

        win.load_html(CLICK_PAGE)
        await win.loaded()
        found = (await xdo("search", "--sync", "--onlyvisible", "--name",
                           title)).split()
        assert len(found) == 1, found
        xid = found[0].decode()
        cx, cy = await wait_js(win, """(() => {
          const r = document.getElementById("b").getBoundingClientRect();
          return r.width > 0 && window.innerWidth > 0 &&
            [r.left + r.width / 2, r.top + r.height / 2];
        })()""")
        # The WebView's origin in the window (0, 0 unless decorated).
        ox, oy = win.view.translate_coordinates(win.gtk_window, 0, 0)
        await xdo("mousemove", "--window", xid, str(int(ox + cx)),
                  str(int(oy + cy)), "click", "1")
        clicks = await wait_js(win, "clicks.length && clicks")
        return asyncio.get_running_loop(), clicks, (cx, cy)

    loop, clicks, (cx, cy) = run(webview, main, loop_factory, title=title,
                                 width=320, height=200)
    assert clicks == ["pong from Python"], clicks
    assert len(got) == 1, got
    run_loop, trusted, x, y = got[0]
    assert run_loop is loop
    assert trusted is True, "the click was not a real (trusted) input event"
    assert abs(x - cx) <= 2 and abs(y - cy) <= 2, (x, y, cx, cy)


# -- Python-side argument errors ---------------------------------------------------

def test_argument_errors(webview, loop_factory):
    with pytest.raises(TypeError, match="run\\(\\) needs an async function"):
        webview.run(5, loop_factory=loop_factory)  # type: ignore[arg-type]

    async def main(win: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}

        def raised(fn: Callable[[], Any]) -> str:
            try:
                fn()
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"
            return "no error"

        out["width=0"] = raised(lambda: webview.Window(width=0))
        out["height=-3"] = raised(lambda: webview.Window(height=-3))
        out["width=True"] = raised(lambda: webview.Window(width=True))
        out["width=1.5"] = raised(lambda: webview.Window(width=1.5))
        out["title=3"] = raised(lambda: webview.Window(title=3))

        async def fine() -> str:
            return "fine"

        out["expose(5)"] = raised(lambda: win.expose(5))
        out["expose(None)"] = raised(lambda: win.expose(None)(None))
        # a callable without __name__ needs a name
        out["partial"] = raised(lambda: win.expose(functools.partial(fine)))
        out["partial named"] = raised(
            lambda: win.expose(functools.partial(fine), name="viaPartial"))

        @win.expose(name="viaFactory")
        async def decorated() -> str:
            return "decorated"
        out["factory returns fn"] = decorated.__name__
        for name in ("on", "off", "then", "__asyncio_guest", "not-ident",
                     "1abc", "", "a b"):
            out[f"name={name!r}"] = raised(lambda: win.expose(fine, name))
        out["name=7"] = raised(lambda: win.expose(fine, 7))
        # A lambda's __name__ is no identifier: needs an explicit name.
        out["lambda"] = raised(lambda: win.expose(lambda: fine()))
        out["lambda named"] = raised(
            lambda: win.expose(lambda: fine(), "viaLambda"))
        out["exposed"] = sorted(win.exposed)

        # A destroyed window refuses to be used.
        other = webview.Window(title="to be destroyed")
        other.close()
        other.close()  # twice is fine
        out["closed() at once"] = await asyncio.wait_for(other.closed(), 1)
        out["load_html"] = raised(lambda: other.load_html("<p>x</p>"))
        out["load_url"] = raised(lambda: other.load_url("about:blank"))
        out["emit"] = raised(lambda: other.emit("e", 1))
        out["show"] = raised(other.show)
        for key, coro in (("eval_js", other.eval_js("1")),
                          ("loaded", other.loaded())):
            try:
                await coro
            except Exception as exc:
                out[key] = f"{type(exc).__name__}: {exc}"
            else:
                out[key] = "no error"

        # The page can call the lambda exposed under a name.
        await open_page(win)
        out["call lambda"] = await win.eval_js("py.viaLambda()")
        out["call partial"] = await win.eval_js("py.viaPartial()")
        out["call factory"] = await win.eval_js("py.viaFactory()")
        return out

    out = run(webview, main, loop_factory)
    for key in ("width=0", "height=-3", "width=True", "width=1.5"):
        assert out[key].startswith("ValueError: "), (key, out[key])
    assert out["title=3"].startswith("TypeError: "), out["title=3"]
    assert out["expose(5)"].startswith("TypeError: "), out["expose(5)"]
    assert out["expose(None)"].startswith("TypeError: "), out
    assert out["partial"].startswith("TypeError: ") and "name=" in \
        out["partial"], out["partial"]
    assert out["partial named"] == "no error"
    assert out["factory returns fn"] == "decorated"
    for name in ("on", "off", "then", "__asyncio_guest"):
        assert out[f"name={name!r}"].startswith("ValueError: "), (name, out)
        assert "reserved" in out[f"name={name!r}"], (name, out)
    for name in ("not-ident", "1abc", "", "a b"):
        assert out[f"name={name!r}"].startswith("ValueError: "), (name, out)
        assert "identifier" in out[f"name={name!r}"], (name, out)
    assert out["name=7"].startswith("ValueError: "), out["name=7"]
    assert out["lambda"].startswith("ValueError: "), out["lambda"]
    assert out["lambda named"] == "no error"
    assert out["exposed"] == ["viaFactory", "viaLambda", "viaPartial"], \
        out["exposed"]
    assert out["closed() at once"] is None
    for key in ("load_html", "load_url", "emit", "show", "eval_js",
                "loaded"):
        assert out[key].startswith("RuntimeError: ") and "destroyed" in \
            out[key], (key, out[key])
    assert out["call lambda"] == "fine"
    assert out["call partial"] == "fine"
    assert out["call factory"] == "decorated"


def test_names_of_object_prototype_are_refused_or_callable(webview,
                                                           loop_factory):
    """``py`` is a Proxy whose own methods (on, off) win over exposed
    names; names inherited from Object.prototype (toString, valueOf,
    constructor, hasOwnProperty...) shadow an exposed function the same
    way.  expose() must refuse such a name (like "on" and "then"), or the
    page's ``py.<name>()`` must call Python."""
    names = ["toString", "valueOf", "constructor", "hasOwnProperty",
             "isPrototypeOf", "toLocaleString", "__proto__"]
    calls: list[str] = []

    async def main(win: Any) -> dict[str, Any]:
        refused: list[str] = []
        for name in names:
            async def fn(_name: str = name) -> str:
                calls.append(_name)
                return f"python {_name}"

            try:
                win.expose(fn, name)
            except ValueError:
                refused.append(name)
        await open_page(win)
        reached = {}
        for name in names:
            if name not in refused:
                r = await settle(
                    win, f"Promise.resolve(py[{json.dumps(name)}]())"
                         ".then(v => typeof v === 'string' ? v : typeof v)")
                reached[name] = r.get("value", r)
        return {"refused": refused, "reached": reached}

    out = run(webview, main, loop_factory)
    wrong = {name: value for name, value in out["reached"].items()
             if value != f"python {name}"}
    assert not wrong, (
        f"exposed under these names, the functions cannot be called from "
        f"the page (py.<name> is Object.prototype's): {wrong}; "
        f"refused by expose(): {out['refused']}")
