# `make demo` and `make test` each set everything up from nothing, then run.
# Python 3.12+ (Mesa 3.5): .python-version makes pyenv's python3 resolve to 3.12 here.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test
DEMO   ?= sgd_pit_escape

.PHONY: demo test bench install clean lint

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), f"optiscape needs Python >= 3.12, found {sys.version.split()[0]} (pyenv: see .python-version)"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel "Cython>=3" "numpy>=2"

# Installs the package (compiling the Cython kernels in place) and its dependencies.
$(STAMP): $(PY) setup.py pyproject.toml $(wildcard _fastcore/*.pyx _fastcore/*.pxd _fastcore/*.h)
	$(PY) -m pip install --quiet --no-build-isolation -e .
	touch $@

$(TESTSTAMP): $(STAMP)
	$(PY) -m pip install --quiet --no-build-isolation -e ".[test]"
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || \
	  { echo "installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; }
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/optiscape run $(DEMO) --out runs/demo
	@echo "demo outputs: $(CURDIR)/runs/demo"

lint: $(TESTSTAMP)
	$(VENV)/bin/ruff check .

test: $(TESTSTAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m pip install --quiet --no-build-isolation -e ".[bench]"
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info _fastcore/*.c _fastcore/*.so runs reports
