"""The examples in the public docstrings (which the docs' API reference
shows) are fragments, not programs, so they cannot run as the docs' pages
do (docs/conftest.py); each must still compile, and every asyncio_guest
name it uses must exist -- a renamed function cannot leave its example
behind."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

MODULES = ["asyncio_guest", "asyncio_guest.host", "asyncio_guest.tk",
           "asyncio_guest.qt", "asyncio_guest.gtk", "asyncio_guest.pygame",
           "asyncio_guest.aio", "asyncio_guest.tornado", "asyncio_guest.trio",
           "asyncio_guest.win32", "asyncio_guest.webview",
           "asyncio_guest.pywebview", "asyncio_guest.webview_python"]
HOSTS = ["tk", "qt", "gtk", "pygame", "aio", "tornado", "trio", "win32",
         "host", "webview", "pywebview", "webview_python"]
IMPORT = re.compile(r"from asyncio_guest import (\w+)(?: as (\w+))?")
USE = re.compile(r"\b([A-Za-z_]\w*(?:\.\w+)?)\.(\w+)\b")


def aliases(block: str) -> dict[str, str]:
    """What the example calls each asyncio_guest module: ``guest_tk`` for
    tk (the docs' convention), and whatever its own imports say."""
    names = {f"guest_{m}": m for m in HOSTS}
    names.update({f"asyncio_guest.{m}": m for m in HOSTS})
    for module, alias in IMPORT.findall(block):
        names[alias or module] = module
    return names


SRC = Path(__file__).resolve().parent.parent / "src"


def docstrings(module: str) -> Iterator[tuple[str, str]]:
    """The module's docstrings, read from its source with ``ast`` (importing
    a GUI module at collection time, before the display fixture set
    DISPLAY, would leave GTK uninitialized for the whole session)."""
    rel = module.replace(".", "/")
    path = SRC / f"{rel}.py"
    if not path.exists():
        path = SRC / rel / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    yield module, ast.get_docstring(tree) or ""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef)) and not node.name.startswith("_"):
            doc = ast.get_docstring(node)
            if doc:
                yield f"{module}.{node.name}", doc


def literal_blocks(doc: str) -> Iterator[str]:
    """The indented blocks after a line ending in ``::``."""
    lines = inspect.cleandoc(doc).splitlines()
    for i, line in enumerate(lines):
        if not line.rstrip().endswith("::"):
            continue
        block, base = [], len(line) - len(line.lstrip())
        for follow in lines[i + 1:]:
            if follow.strip() and len(follow) - len(follow.lstrip()) <= base:
                break
            block.append(follow)
        if any(b.strip() for b in block):
            yield textwrap.dedent("\n".join(block)).strip("\n")


EXAMPLES = [(where, block) for m in MODULES
            for where, doc in docstrings(m)
            for block in literal_blocks(doc)]


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("where, block", EXAMPLES,
                         ids=[f"{w}-{i}" for i, (w, _) in enumerate(EXAMPLES)])
def test_docstring_example(where: str, block: str, display: str) -> None:
    source = block if "await " not in block or "async def" in block else (
        "async def _():\n" + textwrap.indent(block, "    "))
    compile(source, where, "exec")
    names = aliases(block)
    for prefix, attr in USE.findall(block):
        if prefix in names:
            mod = importlib.import_module(f"asyncio_guest.{names[prefix]}")
            assert hasattr(mod, attr), (
                f"{where}: the example uses {prefix}.{attr}, which "
                f"asyncio_guest.{names[prefix]} does not have")
