# `make demo` and `make test` each set everything up from nothing (no pip cache needed), then run.
# Python 3.12+ (Mesa 3.5): .python-version makes pyenv's python3 resolve to 3.12 here.
# Every install uses pip's build isolation, so a dependency published only as a source archive
# (solara-assets, built with hatchling) gets its build backend from the registry like any other.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test
DEMO   ?= sgd_pit_escape
# An extra's requirements from pyproject.toml, installed without rebuilding the kernels.
EXTRA  = $(shell $(PY) -c 'import sys, tomllib; print(" ".join(repr(r) for r in tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"][sys.argv[1]]))' $(1))

.PHONY: demo test bench docs install clean lint

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), f"optiscape needs Python >= 3.12, found {sys.version.split()[0]} (pyenv: see .python-version)"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Installs the package (compiling the Cython kernels in place, once) and its dependencies.
$(STAMP): $(PY) setup.py pyproject.toml $(wildcard _fastcore/*.pyx _fastcore/*.pxd _fastcore/*.h)
	$(PY) -m pip install --quiet -e .
	touch $@

$(TESTSTAMP): $(STAMP)
	$(PY) -m pip install --quiet $(call EXTRA,test)
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
	$(PY) -m pip install --quiet $(call EXTRA,bench)
	$(PY) -m bench

# Every world's page (a screenshot in the browser tests' headless Chromium) and key run figure, into docs/img/.
docs: $(TESTSTAMP)
	$(PY) -m optiscape.pictures --out docs/img

clean:
	rm -rf $(VENV) build *.egg-info _fastcore/*.c _fastcore/*.so runs reports
