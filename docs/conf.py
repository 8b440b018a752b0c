"""Sphinx configuration of the asyncio-guest docs (``make docs``).

Sphinx rather than MkDocs: autodoc imports the built package, so the API
reference shows the signatures and docstrings of exactly what is installed
(C extension included); MyST lets the pages be Markdown like the rest of
the project (design.md is a page as it stands); and ``-W`` turns every
warning, a broken cross-reference included, into a failed build.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath("../src"))
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

project = "asyncio-guest"
author = "the asyncio-guest developers"
copyright = "2026, " + author
release = version = "0.1"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "conftest.py", "README.md"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = "asyncio-guest"
html_static_path: list[str] = []

# Line counts of the docs' programs, for the migration guides: the part
# between "# --- the app" and the next "# ---" line, blank and comment-only
# lines left out (what differs between our version and a peer's).
myst_enable_extensions.append("substitution")


def _count(path: str) -> str:
    lines = open(path, encoding="utf-8").read().splitlines()
    marks = [i for i, line in enumerate(lines) if line.startswith("# ---")]
    part = lines[marks[0] + 1:marks[1]] if len(marks) >= 2 else lines
    code = [line for line in part
            if line.strip() and not line.strip().startswith("#")]
    return f"{len(code)} lines of app code, {len(lines)} in the file"


_programs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
myst_substitutions = {
    name[:-3]: _count(os.path.join(_programs, name))
    for name in sorted(os.listdir(_programs)) if name.endswith(".py")
}
