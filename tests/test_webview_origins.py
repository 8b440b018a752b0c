"""The webview's origin policy and the app:// path resolver, as pure
functions (no WebKit): the rules the window enforces, tried directly,
traversal attempts included.  (tests/test_webview_security.py tries them
through a real page; fuzz/ fuzzes both.)"""

from __future__ import annotations

import os

import pytest

from asyncio_guest.webview._origins import (
    DEFAULT_MIME, AppPathError, OriginPolicy, app_origin, mime_type,
    normalize_origin, origin_of, resolve_app_path)


@pytest.mark.parametrize("uri, origin", [
    ("https://Example.com/a/b?q#f", "https://example.com"),
    ("https://example.com:443/", "https://example.com"),
    ("https://example.com:8443/", "https://example.com:8443"),
    ("http://127.0.0.1:8000/x", "http://127.0.0.1:8000"),
    ("http://[::1]:8000/", "http://[::1]:8000"),
    ("app://main/index.html", "app://main"),
    ("app://MAIN/", "app://main"),
    ("file:///srv/app/index.html", "file:///srv/app/"),
    ("file:///srv/app/sub/../index.html", "file:///srv/app/"),
    ("file:///index.html", "file:///"),
    ("about:blank", "about:blank"),
    ("blob:https://example.com/1234-5678", "https://example.com"),
])
def test_origin_of(uri, origin):
    assert origin_of(uri) == origin


@pytest.mark.parametrize("uri", [
    "data:text/html,<script>py.x()</script>", "javascript:alert(1)",
    "about:srcdoc", "not a url", "", "http://", "http://h:99999/",
    "file://otherhost/etc/passwd", "blob:file:///x", 42, None,
    "file:///a\x00b",
])
def test_urls_without_a_trustable_origin(uri):
    assert origin_of(uri) is None
    assert not OriginPolicy.of(["https://example.com"]).allows(uri)


def test_policy_allows_only_its_origins():
    policy = OriginPolicy.of(["https://example.com", "app://main",
                              "file:///srv/app/"])
    assert policy.allows("https://example.com/deep/page.html")
    assert policy.allows("app://main/x.html")
    assert policy.allows("file:///srv/app/index.html")
    assert policy.allows("file:///srv/app/sub/page.html")  # below it
    for other in ("http://example.com/", "https://example.com:8443/",
                  "https://evil.example.com/", "https://example.com.evil/",
                  "app://other/", "file:///srv/application/x.html",
                  "file:///srv/x.html", "about:blank"):
        assert not policy.allows(other), other


@pytest.mark.parametrize("bad", [
    "https://example.com/path", "https://example.com/?q", "*",
    "https://*.example.com", "example.com", "file:///srv/app",
    "https://user:pw@example.com", "", "data:text/html,x",
])
def test_a_bad_origin_is_refused_by_name(bad):
    with pytest.raises(ValueError) as info:
        OriginPolicy.of([bad])
    assert repr(bad) in str(info.value)


def test_origins_must_be_a_list_not_one_str():
    with pytest.raises(TypeError, match="list of origins"):
        OriginPolicy.of("https://example.com")
    with pytest.raises(TypeError, match="must be a str"):
        normalize_origin(42)  # type: ignore[arg-type]


def test_app_names():
    assert app_origin("main") == "app://main"
    assert app_origin("My-App2") == "app://my-app2"
    for bad in ("", "a/b", "a.b", "-a", "a-", "a b", "ü", 3):
        with pytest.raises(ValueError):
            app_origin(bad)  # type: ignore[arg-type]


# -- the app folder -----------------------------------------------------------

@pytest.fixture
def app(tmp_path):
    root = tmp_path / "app"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<h1>index</h1>")
    (root / "sub" / "page.html").write_text("page")
    (root / "sub" / "index.html").write_text("sub index")
    (root / "a file.js").write_text("1")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link-out").symlink_to(tmp_path / "secret.txt")
    (root / "dir-out").symlink_to(tmp_path)
    (root / "link-in").symlink_to(root / "sub" / "page.html")
    return root


def test_files_resolve_inside_the_folder(app):
    real = os.path.realpath(app)
    assert resolve_app_path(str(app), "/index.html") == f"{real}/index.html"
    assert resolve_app_path(str(app), "/") == f"{real}/index.html"
    assert resolve_app_path(str(app), "") == f"{real}/index.html"
    assert resolve_app_path(str(app), "/sub/") == f"{real}/sub/index.html"
    assert resolve_app_path(str(app), "/sub") == f"{real}/sub/index.html"
    assert resolve_app_path(str(app), "//sub//page.html") == \
        f"{real}/sub/page.html"
    assert resolve_app_path(str(app), "/a%20file.js") == f"{real}/a file.js"
    # a symlink that stays inside the folder is followed
    assert resolve_app_path(str(app), "/link-in") == f"{real}/sub/page.html"


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt", "/.%2e/secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt",
    "/..%2fsecret.txt", "/sub%2f..%2f..%2fsecret.txt", "/..\\secret.txt",
    "/%5c..%5csecret.txt", "/./index.html", "/link-out", "/dir-out/secret.txt",
])
def test_traversal_is_refused(app, path):
    with pytest.raises(AppPathError) as info:
        resolve_app_path(str(app), path)
    assert info.value.status == 403, info.value


@pytest.mark.parametrize("path, status", [
    ("/missing.html", 404), ("/sub/missing/", 404), ("/%00", 400),
    ("/%ff%fe", 400), ("/index.html%00.png", 400),
])
def test_missing_and_malformed(app, path, status):
    with pytest.raises(AppPathError) as info:
        resolve_app_path(str(app), path)
    assert info.value.status == status


def test_absolute_paths_stay_in_the_folder(app):
    # "/etc/passwd" is the folder's etc/passwd, which does not exist
    with pytest.raises(AppPathError) as info:
        resolve_app_path(str(app), "/etc/passwd")
    assert info.value.status == 404
    with pytest.raises(AppPathError) as info:
        resolve_app_path(str(app), "/%2fetc%2fpasswd")
    assert info.value.status == 403


def test_mime_types():
    assert mime_type("a/index.HTML").startswith("text/html")
    assert mime_type("x.js").startswith("text/javascript")
    assert mime_type("x.wasm") == "application/wasm"
    assert mime_type("x.svg") == "image/svg+xml"
    assert mime_type("README") == DEFAULT_MIME
