"""Every code block in the docs is a test (Sybil collects them from the
Markdown pages): so the docs cannot rot.

* ``python`` blocks are whole programs: each runs in a process of its own
  under ``tests/docs_user.py``, which clicks its buttons, answers its
  dialogs and closes its windows as a person would; it must exit 0 with
  nothing on stderr that looks like an error.
* ``{literalinclude}`` of a ``.py`` file (the examples the guides show)
  runs that file the same way.
* ``sh`` blocks are commands a reader types: each ``make`` target must
  exist (``make -n``) and each file a command names must be there.
* ``text`` blocks are output or diagrams; any other language is an error,
  so that no block escapes these checks.

``% skip: next "reason"`` before a block skips it, visibly, as a skipped
test (the one use: CPython's proposed API, which no released Python has).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import pytest
from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer
from sybil.parsers.myst import SkipParser
from sybil.parsers.myst.lexers import DirectiveLexer

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT / "tests"))
from xvfb import start_xvfb  # noqa: E402

USER = ROOT / "tests" / "docs_user.py"
ERRORS = re.compile(r"Traceback \(most recent call last\)|"
                    r"Exception in Tkinter callback|Error: |Warning: ")
LANGUAGES = {"python", "sh", "text"}


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """The display the programs open their windows on (Xvfb without one)."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    proc, name = start_xvfb()
    try:
        yield name
    finally:
        proc.terminate()
        proc.wait()


def run_program(path: Path, display: str) -> None:
    """Run one docs program under the docs' user; fail on a non-zero exit
    or an error printed on stderr."""
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="offscreen",
               SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy",
               PYGAME_HIDE_SUPPORT_PROMPT="1")
    try:
        done = subprocess.run(
            [sys.executable, "-X", "dev", "-W", "error::DeprecationWarning",
             # a peer's, not ours: qasync 0.28 calls asyncio.get_event_loop()
             # with no loop set, deprecated from Python 3.12 on (its timer
             # events then failed for ever: the migration guide's "before")
             "-W", "ignore::DeprecationWarning:qasync",
             str(USER), str(path)],
            env=env, cwd=str(ROOT), capture_output=True, text=True,
            timeout=45)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{path.name}: did not end within 45 s after "
                             f"the user closed it; stderr:\n{exc.stderr}")
    problem = ERRORS.search(done.stderr)
    if done.returncode or problem:
        raise AssertionError(
            f"{path.name}: exit status {done.returncode}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")


def check_commands(source: str, where: str) -> None:
    """The commands a reader types: ``make T`` must be a target, and a
    file a command runs must exist."""
    for line in source.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        words = shlex.split(line)
        if words[0] == "make":
            targets = [w for w in words[1:] if "=" not in w]
            done = subprocess.run(["make", "-n", "-C", str(ROOT), *targets],
                                  capture_output=True, text=True)
            assert done.returncode == 0, f"{where}: {line!r}: {done.stderr}"
        for word in words[1:]:
            if re.match(r"^(examples|scripts|bench|tests|docs)/", word):
                assert (ROOT / word).exists(), f"{where}: {word} is not there"


class CodeBlocks:
    """All fenced code blocks, dispatched by their language."""

    def __init__(self) -> None:
        self.lexer = FencedCodeBlockLexer(
            language=r".*", mapping={"language": "language", "source": "source"})

    def __call__(self, document: Document) -> Iterable[Region]:
        for region in self.lexer(document):
            language = str(region.lexemes["language"]).strip()
            if language.startswith("{") and not re.match(
                    r"\{(code-block|code|sourcecode|code-cell)\}", language):
                continue          # a directive: literalinclude is Includes'
            region.parsed = (language, str(region.lexemes["source"]))
            region.evaluator = self.evaluate
            yield region

    def evaluate(self, example: Example) -> None:
        language, source = example.parsed
        where = f"{Path(example.path).name}:{example.line}"
        assert language in LANGUAGES, (
            f"{where}: a ```{language} block: the docs' code blocks are "
            f"python (run), sh (checked) or text (output)")
        if language == "python":
            with tempfile.TemporaryDirectory() as tmp:
                program = Path(tmp) / f"{Path(example.path).stem}_{example.line}.py"
                program.write_text(source)
                run_program(program, example.namespace["display"])
        elif language == "sh":
            check_commands(source, where)


class Includes:
    """``{literalinclude}`` of a Python file: that file runs as a program."""

    def __init__(self) -> None:
        self.lexer = DirectiveLexer(directive="literalinclude")

    def __call__(self, document: Document) -> Iterable[Region]:
        for region in self.lexer(document):
            target = (Path(document.path).parent
                      / str(region.lexemes["arguments"]).strip()).resolve()
            if target.suffix == ".py" and not region.lexemes.get("options", {}).get("lines"):
                region.parsed = target
                region.evaluator = self.evaluate
                yield region

    def evaluate(self, example: Example) -> None:
        assert example.parsed.exists(), f"{example.parsed} is not there"
        run_program(example.parsed, example.namespace["display"])


pytest_collect_file = Sybil(
    parsers=[CodeBlocks(), Includes(), SkipParser()],
    patterns=["*.md"],
    excludes=["_build/*", "_generated/*"],
    fixtures=["display"],
).pytest()
