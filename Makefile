# asyncio-guest: `make demo` and `make test` work on a fresh Debian machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The demo needs a display: use Xvfb (and the demo's autopilot) without one.
DEMO   := $(if $(DISPLAY),$(PY) examples/tk_demo.py,xvfb-run -a $(PY) examples/tk_demo.py --auto)

.PHONY: all system-deps venv compile debug demo demo-uvloop demo-webview test \
	test-uvloop-versions bench bench-hosts clean

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
compile: venv
	$(PY) setup.py -q build_ext --inplace

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
# guest, both loops, queue/Tk/Qt/GTK in both modes, and the peers; writes
# bench/results/<date>.md, .json and .png (~15 min).  bench-hosts: wake
# latency for every host.  Both under Xvfb without a display.
XRUN := $(if $(DISPLAY),,xvfb-run -a)
$(VENV)/.stamp-bench: $(VENV)/.stamp-venv requirements-bench.txt
	$(PY) -m pip install -q -r requirements-bench.txt
	touch $@

bench: compile $(VENV)/.stamp-bench
	$(XRUN) $(PY) bench/suite.py $(BENCH_ARGS)

bench-hosts: compile
	$(XRUN) $(PY) bench/host_wake.py

test: compile
	$(PY) -m mypy --strict src/asyncio_guest
	$(PY) -m pytest -q -p no:cacheprovider

# The uvloop half of the suite against older uvloop releases, each in a
# throwaway venv beside .venv (the package itself from src/).
UVLOOP_VERSIONS ?= 0.17.0 0.19.0 0.21.0 0.22.1
test-uvloop-versions: compile
	for v in $(UVLOOP_VERSIONS); do \
	  rm -rf build/uv-$$v && $(PYTHON) -m venv build/uv-$$v && \
	  build/uv-$$v/bin/pip install -q "uvloop==$$v" -r requirements-dev.txt && \
	  PYTHONPATH=src build/uv-$$v/bin/python -m pytest -q -p no:cacheprovider \
	    -k uvloop tests || exit 1; \
	done

clean:
	rm -rf build src/*.egg-info src/asyncio_guest/*.so $(VENV)
