"""The scripts that judge `make valgrind` and `make test-sanitize` runs:
they must flag a report that is ours and pass one that is not."""

from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sanitizers")

OURS_ERROR = """==7== Invalid read of size 8
==7==    at 0x4C1A2B3: ag_guest_wakeup (guest.c:271)
==7==    by 0x4C1B000: Guest_wakeup (module.c:512)
==7==    by 0x4A00000: cfunction_vectorcall_NOARGS (methodobject.c:443)
==7==  Address 0x0 is not stack'd, malloc'd or (recently) free'd
==7==
"""
CPYTHON_ERROR = """==7== Conditional jump or move depends on uninitialised value(s)
==7==    at 0x4B0C216: maybe_small_long (longobject.c:71)
==7==    by 0x4B0C300: _PyLong_FromByteArray (longobject.c:922)
==7==    by 0x4B0C400: int_from_bytes_impl (longobject.c:5946)
==7==
"""
OUR_LEAK = """==7== 64 bytes in 1 blocks are definitely lost in loss record 9 of 90
==7==    at 0x48407B4: malloc (vg_replace_malloc.c:381)
==7==    by 0x5D3A1B2: ag__thread_create (thread-posix.c:97)
==7==    by 0x5D3A2C3: ag_guest_init (guest.c:181)
==7==
"""
DEEP_CALLBACK = """==7== Use of uninitialised value of size 8
==7==    at 0x4B0C216: Py_INCREF (object.h:502)
==7==    by 0x4B0C300: _PyEval_EvalFrameDefault (ceval.c:1801)
==7==    by 0x4B0C400: _PyEval_Vector (ceval.c:6434)
==7==    by 0x4B0C500: PyObject_Vectorcall (call.c:299)
==7==    by 0x5D3A2C3: tick_trampoline (module.c:300)
==7==
"""


def judge(tmp_path, script: str, name: str, text: str) -> int:
    path = tmp_path / name
    path.write_text(text)
    return subprocess.run([sys.executable, os.path.join(HERE, script),
                           str(path)], capture_output=True).returncode


def test_valgrind_filter_flags_only_the_cores_errors(tmp_path) -> None:
    assert judge(tmp_path, "valgrind_filter.py", "a.log", OURS_ERROR) == 1
    assert judge(tmp_path, "valgrind_filter.py", "b.log", OUR_LEAK) == 1
    assert judge(tmp_path, "valgrind_filter.py", "c.log", CPYTHON_ERROR) == 0
    # ours only five frames down: CPython's own error inside our callback
    assert judge(tmp_path, "valgrind_filter.py", "d.log", DEEP_CALLBACK) == 0


def test_sanitizer_reports_fail_unless_from_webkit(tmp_path) -> None:
    assert judge(tmp_path, "reports.py", "san-report.python.123",
                 "==123==ERROR: AddressSanitizer: heap-use-after-free") == 1
    assert judge(tmp_path, "reports.py", "san-report.WebKitWebProcess.9",
                 "==9==ERROR: AddressSanitizer: attempting double-free") == 0
