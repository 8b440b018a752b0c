"""asyncio_guest.webview against pages that are not the app's: a foreign
top-level page (reached by a link, a script, a redirect, window.open), a
foreign iframe inside the app's page forging calls, allowed origins,
per-function origins, the navigation policy, downloads, and the app://
scheme (MIME types, 404, every traversal attempt, the CSP header, fetch).

"Foreign" pages come from an HTTP server the guest loop runs on
127.0.0.1 (another origin than the app's ``about:blank`` and ``app://``
pages).  Each test asserts what ran in Python (nothing, for a foreign
page) and what the page saw.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

import pytest

from test_webview import (  # noqa: F401  (fixtures)
    count_posts, escaped, run, settle, wait_js, wait_until, webview)

pytestmark = pytest.mark.timeout(60, method="thread")

# What a foreign page or frame tries: the py object, forged calls with a
# made-up token, a hello of its own, the parent's py.  It reports in
# window.report (and posts "done" last, so the test knows it finished).
ATTACK = """<!doctype html><html><body id="foreign"><script>
window.report = {py: typeof window.py};
try { window.report.parentPy = typeof parent.py; }
catch (e) { window.report.parentPy = "blocked: " + e.name; }
const h = window.webkit && window.webkit.messageHandlers &&
          window.webkit.messageHandlers.asyncio_guest;
window.report.handler = !!h;
if (h) {
  h.postMessage(JSON.stringify({hello: "0123456789abcdef0123"}));
  for (const token of ["made-up", "", "null"]) {
    h.postMessage(JSON.stringify({token, id: 1, name: "secret", args: []}));
  }
  h.postMessage('{"token":null,"id":2,"name":"secret","args":[]}');
  h.postMessage("done");
}
</script></body></html>"""

FORGED_POSTS = 6  # what ATTACK posts when it has the handler


class Server:
    """An HTTP/1.1 server on the guest loop: path -> (status, headers,
    body)."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hits: list[str] = []
        self.open: set[Any] = set()  # the connections' writers

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.origin = f"http://127.0.0.1:{port}"
        return self.origin

    async def close(self) -> None:
        """Python 3.12+'s wait_closed() waits for every connection: close
        the ones WebKit opened ahead and never used (3.13's close_clients())."""
        self.server.close()
        for writer in list(self.open):
            writer.close()
        await self.server.wait_closed()

    def page(self, path: str, body: str, status: int = 200,
             **headers: str) -> str:
        headers.setdefault("Content-Type", "text/html; charset=utf-8")
        self.pages[path] = (status, headers, body.encode())
        return self.origin + path

    async def _serve(self, reader: Any, writer: Any) -> None:
        self.open.add(writer)
        try:
            await self._answer(reader, writer)
        finally:
            self.open.discard(writer)

    async def _answer(self, reader: Any, writer: Any) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError,
                asyncio.CancelledError):
            # (cancelled: a connection WebKit opened ahead, never used,
            # when the run ends)
            writer.close()
            return
        path = head.split(b" ", 2)[1].decode()
        self.hits.append(path)
        status, headers, body = self.pages.get(path, (404, {}, b""))
        lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}",
                 "Connection: close", "Cache-Control: no-store"]
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        try:
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()


def app_page(body: str = "") -> str:
    return ("<!doctype html><html><head><meta charset='utf-8'></head>"
            f"<body id='app'>{body}</body></html>")


def expose_secret(win: Any, ran: list[str]) -> None:
    @win.expose
    async def secret() -> str:
        ran.append("secret")
        return "the secret"


async def foreign_report(win: Any) -> dict[str, Any]:
    return await wait_js(win, "document.body && document.body.id === "
                              "'foreign' && window.report")


# -- foreign top-level pages ---------------------------------------------------

@pytest.mark.parametrize("how", ["link", "script", "redirect"])
def test_a_foreign_top_level_page_gets_no_py_and_runs_nothing(
        webview, loop_factory, how):
    """navigation="allow" lets the foreign page load (the policies that
    keep it out are tested below): it has no py, and what it posts
    (forged calls, a hello) runs nothing."""
    ran: list[str] = []

    async def main(win: Any) -> Any:
        expose_secret(win, ran)
        posts = count_posts(webview, win)
        server, allowed = Server(), Server()
        await server.start()
        await allowed.start()
        try:
            foreign = server.page("/attack", ATTACK)
            if how == "redirect":  # an allowed page redirecting away
                win.allowed_origins = [allowed.origin]
                allowed.page("/hop", "", status=302, Location=foreign)
                win.load_url(allowed.origin + "/hop")
            else:
                win.load_html(app_page(
                    f"<a id='out' href='{foreign}'>out</a>"))
                await win.loaded()
                assert await settle(win, "py.secret()") == {
                    "ok": True, "value": "the secret"}
                ran.clear()
                await win.eval_js(
                    "document.getElementById('out').click(); 1"
                    if how == "link" else f"location.href = {foreign!r}; 1")
            report = await foreign_report(win)
            await wait_until(lambda: posts["n"] >= FORGED_POSTS,
                             "the foreign page's posts")
            await asyncio.sleep(0.1)  # a task it started would have run
            return report
        finally:
            await server.close()
            await allowed.close()

    report = run(webview, main, loop_factory, navigation="allow")
    assert report == {"py": "undefined", "parentPy": "undefined",
                      "handler": True}, report
    assert ran == [], f"a foreign page ran Python: {ran}"


def test_a_foreign_iframe_in_the_apps_page_runs_nothing(
        webview, loop_factory, caplog):
    """The app's page embeds a frame of another origin, which forges calls
    (a made-up token, a hello of its own) and reaches for parent.py:
    nothing runs, the frame has no py, and the refusal is logged once per
    kind; the app's page keeps calling."""
    ran: list[str] = []
    caplog.set_level(logging.WARNING, "asyncio_guest.webview")

    async def main(win: Any) -> Any:
        expose_secret(win, ran)
        posts = count_posts(webview, win)
        server = Server()
        await server.start()
        try:
            frame = server.page("/frame", ATTACK)
            win.load_html(app_page(f"<iframe id='f' src='{frame}'></iframe>"))
            await win.loaded()
            await wait_until(lambda: posts["n"] >= FORGED_POSTS + 1,
                             "the app's hello and the frame's posts")
            await asyncio.sleep(0.1)
            forged = list(ran)
            own = await settle(win, "py.secret()")
            frame_py = await win.eval_js(
                "(() => { try { return typeof document.getElementById('f')"
                ".contentWindow.py; } catch (e) { return e.name; } })()")
            return forged, own, frame_py
        finally:
            await server.close()

    forged, own, frame_py = run(webview, main, loop_factory)
    assert forged == [], f"the foreign frame ran Python: {forged}"
    assert own == {"ok": True, "value": "the secret"}
    assert frame_py in ("SecurityError", "undefined"), frame_py
    refusals = [r.getMessage() for r in caplog.records
                if "refused" in r.getMessage()]
    assert refusals and len(refusals) == len(set(refusals)), refusals
    assert any("token" in m for m in refusals), refusals


def test_allowed_origins_and_per_function_origins(webview, loop_factory,
                                                  tmp_path):
    """A page of an allowed origin calls Python; a function exposed with
    origins=["app://main"] is there for the app's own folder only."""
    ran: list[str] = []
    (tmp_path / "index.html").write_text(app_page())

    async def main(win: Any) -> Any:
        @win.expose(origins=["app://main"])
        async def admin() -> str:
            ran.append("admin")
            return "admin"

        @win.expose
        async def hello(x: str) -> str:
            return f"hello {x}"

        server = Server()
        await server.start()
        out = {}
        try:
            page = server.page("/", app_page())
            win.allowed_origins = [server.origin]
            win.load_url(page)
            await win.loaded()
            out["http hello"] = await settle(win, "py.hello('http')")
            out["http admin"] = await settle(win, "py.admin()")
            win.serve(str(tmp_path))
            await win.loaded()
            out["app url"] = await win.eval_js("location.href")
            out["app admin"] = await settle(win, "py.admin()")
            return out
        finally:
            await server.close()

    out = run(webview, main, loop_factory)
    assert out["http hello"] == {"ok": True, "value": "hello http"}
    assert out["http admin"]["ok"] is False
    assert out["http admin"]["name"] == "NameError"
    assert out["app url"] == "app://main/"
    assert out["app admin"] == {"ok": True, "value": "admin"}
    assert ran == ["admin"]


# -- leaving the app -----------------------------------------------------------

@pytest.mark.parametrize("navigation", ["browser", "block"])
@pytest.mark.parametrize("how", ["link", "window.open", "target=_blank",
                                 "script"])
def test_leaving_the_app_follows_the_navigation_policy(
        webview, loop_factory, navigation, how):
    """A link, window.open, a target=_blank link or a script's location
    change to another origin: in the browser (open_external gets the URL)
    or blocked; either way the app's page stays, with its py.  The foreign
    server is never asked, except by the script's navigation (stopped when
    its response arrives, before the page commits)."""
    opened: list[str] = []

    async def main(win: Any) -> Any:
        server = Server()
        await server.start()
        try:
            foreign = server.page("/elsewhere", ATTACK)

            @win.expose
            async def ping() -> str:
                return "pong"

            # WebKit's own popup blocker drops a window.open that no user
            # gesture made before any policy sees it: let it through.
            win.view.get_settings().set_javascript_can_open_windows_automatically(
                True)
            win.load_html(app_page(
                f"<a id='out' href='{foreign}'"
                + (" target='_blank'" if how == "target=_blank" else "")
                + ">out</a>"))
            await win.loaded()
            await win.eval_js(
                f"window.open({foreign!r}); 1" if how == "window.open" else
                f"location.href = {foreign!r}; 1" if how == "script" else
                "document.getElementById('out').click(); 1")
            if navigation == "browser":
                await wait_until(lambda: opened, "open_external called")
            await asyncio.sleep(0.3)  # a load would have started by now
            return (await win.eval_js("document.body.id"),
                    await settle(win, "py.ping()"), list(server.hits))
        finally:
            await server.close()

    body, ping, hits = run(webview, main, loop_factory,
                           navigation=navigation, open_external=opened.append)
    assert body == "app" and ping == {"ok": True, "value": "pong"}
    if how == "script":
        assert hits == ["/elsewhere"], hits  # asked, never shown
    else:
        assert hits == [], f"the foreign page was loaded: {hits}"
    if navigation == "browser":
        assert len(opened) == 1 and opened[0].endswith("/elsewhere"), opened
    else:
        assert opened == []


def test_a_download_is_refused_and_logged(webview, loop_factory, caplog):
    caplog.set_level(logging.WARNING, "asyncio_guest.webview")

    async def main(win: Any) -> Any:
        server = Server()
        await server.start()
        try:
            win.allowed_origins = [server.origin]
            server.page("/file.bin", "\x00\x01", **{
                "Content-Type": "application/octet-stream",
                "Content-Disposition": "attachment; filename=file.bin"})
            page = server.page("/", app_page(
                "<a id='d' href='/file.bin'>download</a>"))
            win.load_url(page)
            await win.loaded()
            await win.eval_js("document.getElementById('d').click(); 1")
            await wait_until(lambda: any("download" in r.getMessage()
                                         for r in caplog.records),
                             "the refusal logged")
            return await win.eval_js("document.body.id")
        finally:
            await server.close()

    assert run(webview, main, loop_factory) == "app"


def test_bad_policy_arguments(webview, display):
    with pytest.raises(ValueError, match="navigation"):
        webview.Window(navigation="sometimes")
    with pytest.raises(ValueError, match="'https://x/path'"):
        webview.Window(allowed_origins=["https://x/path"])
    with pytest.raises(TypeError, match="list of origins"):
        webview.Window(allowed_origins="https://x")
    with pytest.raises(TypeError, match="open_external"):
        webview.Window(open_external=42)
    win = webview.Window()
    try:
        with pytest.raises(ValueError, match="origin"):
            win.expose(lambda: None, name="f", origins=["*"])
        with pytest.raises(NotADirectoryError):
            win.serve("/no/such/folder")
        with pytest.raises(ValueError, match="app name"):
            win.serve(".", name="a/b")
    finally:
        win.close()


# -- the app:// scheme -----------------------------------------------------------

FETCH = """(async () => {
  const out = {};
  for (const url of %s) {
    try {
      const r = await fetch(url);
      out[url] = {status: r.status, type: r.headers.get("content-type"),
                  csp: r.headers.get("content-security-policy"),
                  body: (await r.text()).slice(0, 40)};
    } catch (e) { out[url] = {error: e.name}; }
  }
  return out;
})()"""


@pytest.fixture
def app_dir(tmp_path):
    root = tmp_path / "app"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text(app_page("<h1>served</h1>"))
    (root / "js" / "main.js").write_text("window.loadedJs = 1;")
    (root / "data.json").write_text('{"a": 1}')
    (root / "img.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (root / "link-out").symlink_to(tmp_path / "secret.txt")
    (root / "dir-out").symlink_to(tmp_path)
    return root


def test_app_scheme_serves_the_folder_and_refuses_traversal(
        webview, loop_factory, app_dir):
    attempts = [
        "app://main/../secret.txt", "app://main/%2e%2e/secret.txt",
        "app://main/%2E%2E/secret.txt", "app://main/js/..%2f..%2fsecret.txt",
        "app://main/..%5csecret.txt", "app://main/link-out",
        "app://main/dir-out/secret.txt", "app://main/%2fetc%2fpasswd",
        "app://main//etc/passwd", "app://main/%00",
        "app://other/index.html",
    ]
    wanted = ["app://main/data.json", "app://main/js/main.js",
              "app://main/img.svg", "app://main/missing.html", "app://main/"]

    async def main(win: Any) -> Any:
        url = win.serve(str(app_dir))
        await win.loaded()
        page = {"url": await win.eval_js("location.href"),
                "h1": await win.eval_js("document.querySelector('h1')"
                                        ".textContent"),
                "py": await win.eval_js("typeof py")}
        got = await win.eval_js(FETCH % json.dumps(wanted + attempts))
        return url, page, got

    url, page, got = run(webview, main, loop_factory)
    assert url == "app://main/"
    assert page == {"url": "app://main/", "h1": "served", "py": "object"}
    assert got["app://main/data.json"]["status"] == 200
    assert got["app://main/data.json"]["type"] == "application/json"
    assert got["app://main/data.json"]["body"] == '{"a": 1}'
    assert got["app://main/js/main.js"]["type"].startswith("text/javascript")
    assert got["app://main/img.svg"]["type"] == "image/svg+xml"
    assert got["app://main/missing.html"]["status"] == 404
    assert got["app://main/"]["status"] == 200
    assert "default-src 'self'" in got["app://main/"]["csp"]
    for attempt in attempts:
        answer = got[attempt]
        assert "TOP SECRET" not in answer.get("body", ""), (attempt, answer)
        assert answer.get("status") != 200 or answer["body"] == "", \
            (attempt, answer)


def test_app_scheme_csp_can_be_overridden(webview, loop_factory, app_dir):
    async def main(win: Any) -> Any:
        win.serve(str(app_dir), "other", csp="default-src 'none'")
        await win.loaded()
        return await win.eval_js(FETCH % json.dumps(["app://other/data.json"]))

    got = run(webview, main, loop_factory)
    # default-src 'none' forbids the page's own fetch (connect-src)
    assert got["app://other/data.json"] == {"error": "TypeError"}, got
    assert os.path.exists(app_dir / "data.json")


def test_a_trusted_page_keeps_py_across_its_own_url_changes(webview,
                                                            loop_factory):
    """A fragment change and history.pushState change the page's URL but
    not its document or origin: its calls are still served."""
    async def main(win: Any) -> Any:
        @win.expose
        async def echo(x: Any) -> Any:
            return x

        server = Server()
        await server.start()
        try:
            win.allowed_origins = [server.origin]
            win.load_url(server.page("/app", app_page()))
            await win.loaded()
            out = [await settle(win, "py.echo(1)")]
            await win.eval_js("location.hash = 'step-2'; 1")
            out.append(await settle(win, "py.echo(2)"))
            await win.eval_js("history.pushState({}, '', '/app/view'); 1")
            out.append(await settle(win, "py.echo(3)"))
            out.append(await win.eval_js("location.pathname"))
            return out
        finally:
            await server.close()

    assert run(webview, main, loop_factory) == [
        {"ok": True, "value": 1}, {"ok": True, "value": 2},
        {"ok": True, "value": 3}, "/app/view"]
