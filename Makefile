# LSTMs from the Ground Up: build, test and maintain the course.
#
#   make book      build the HTML book (creates .venv on first use) and print where it is
#   make test      every test: unit tests, nbval on every notebook (two kernel profiles), strict build, browser test
#   make execute   re-execute every notebook in place (after changing a notebook or lstm_course)
#   make student   student versions of the labs from nbgrader, in student/release/
#   make bench     speed and memory of the NumPy and torch LSTMs against torch.nn.LSTM
#   make dist      the package's sdist and wheel in dist/ (what a release uploads)
#   make colab-check  every notebook as Colab runs it: the wheel, other torch/NumPy, 2 threads (5-15 min)
#   make clean     remove build outputs
#
# Needs Python 3.11, 3.12 or 3.13: the first of them that runs is used (override with
# `make PYTHON=/path/to/python3 ...`). `make test` also needs Debian's chromium and
# chromium-driver packages; it installs them when run as root.

SUPPORTED_PYTHONS := 3.11 3.12 3.13
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach v,$(SUPPORTED_PYTHONS),$(shell python$(v) -c 'import sys; print(sys.executable)' 2>/dev/null)))
endif
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
# pytest-xdist workers for `make test`; notebooks of one file always run in one worker.
WORKERS ?= 2
CHROMIUM ?= /usr/bin/chromium

# One OpenMP/BLAS thread per process. `make test` runs two notebooks at once on the 2-core
# machine; with the libraries' default of one thread per core, their spinning threads fight and
# a run takes many times longer. `make execute` uses the same setting, so the committed outputs
# are computed exactly as nbval recomputes them. `make bench` measures with two threads.
export OMP_NUM_THREADS = 1
export OPENBLAS_NUM_THREADS = 1
export MKL_NUM_THREADS = 1

.PHONY: venv book test execute student bench dist colab-check clean browser-deps sync help
.DEFAULT_GOAL := help

help:
	@sed -n '3,10p' Makefile

# The virtual environment, re-installed whenever requirements.txt or pyproject.toml changes.
venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@if [ ! -x $(PY) ]; then \
	  if [ -z "$(PYTHON)" ]; then \
	    echo "No supported Python found: none of $(foreach v,$(SUPPORTED_PYTHONS),python$(v)) runs. Install Python 3.11, 3.12 or 3.13, or run 'make PYTHON=/path/to/python3 $(MAKECMDGOALS)'." >&2; \
	    exit 1; \
	  fi; \
	  echo "Creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version 2>&1))"; \
	  $(PYTHON) -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@touch $(STAMP)

# Always from a clean _build: a cached build hides failing notebooks and stale package code.
# Warnings are errors, as in `make test`; with --keep-going the pages are still written, so the
# path is printed either way.
book: venv
	rm -rf _build
	@$(VENV)/bin/jupyter-book build . --builder html -W -n --keep-going; status=$$?; \
	  if [ -f _build/html/index.html ]; then echo; echo "The book is at $(CURDIR)/_build/html/index.html"; fi; \
	  if [ $$status -ne 0 ]; then echo "The build had warnings (listed above); make test fails until they are fixed."; fi; \
	  exit $$status

# Debian's Chromium for the real-browser test (Playwright drives it; it never downloads one).
browser-deps:
	@if [ -x "$(CHROMIUM)" ]; then \
	  echo "chromium: $$($(CHROMIUM) --version 2>/dev/null)"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
	    && echo "installed: $$($(CHROMIUM) --version 2>/dev/null)"; \
	else \
	  echo "$(CHROMIUM) is missing: run 'sudo make browser-deps' (Debian's chromium and chromium-driver)"; exit 1; \
	fi

# One pytest session, two kernel profiles, both required: unit tests, the strict book build, the
# browser test, and nbval on every notebook twice, once with this machine's own kernels and once
# as NAME.ipynb[avx2], its kernel started with PyTorch, oneDNN, MKL and OpenBLAS held to their
# AVX2 kernels (--nbval-avx2-too, conftest.py): the committed outputs must not depend on the
# processor that computed them (book/contributing.md, "Reproducible outputs"). One session keeps
# both workers busy to the end. pytest exits 5 when it collected no test: a broken configuration.
test: venv browser-deps
	@start=$$(date +%s); \
	  $(PY) -m pytest -n $(WORKERS) --dist loadfile --durations=15 --nbval-avx2-too $(PYTEST_ARGS); status=$$?; \
	  echo "make test: exit $$status, $$(( $$(date +%s) - start )) s"; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: the test configuration is broken"; exit 1; fi; \
	  exit $$status

sync: venv
	$(PY) tools/sync_setup_cells.py

execute: venv sync
	$(PY) tools/execute_notebooks.py

bench: venv
	OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 $(PY) benchmarks/bench_rnn.py

# From a clean dist/: the wheel and sdist of the version in lstm_course/__init__.py, checked.
dist: venv
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*

# Not part of `make test` (it takes minutes): CI runs it weekly and before each release. The
# kernels get two threads (Colab's two cores); COLAB_CHECK_ARGS passes options, e.g.
# COLAB_CHECK_ARGS="--torch older --python python3.12" (see tools/colab_check.py).
colab-check: venv
	OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 $(PY) tools/colab_check.py --threads 2 $(COLAB_CHECK_ARGS)

# An nbgrader course directory in student/ (nbgrader_config.py, source/, gradebook.db) and the
# student versions from `nbgrader generate_assignment` in student/release/LAB/LAB.ipynb.
student: venv
	rm -rf student
	$(PY) tools/nbgrader_course.py release --course student

clean:
	rm -rf _build artifacts student dist build lstm_course.egg-info .pytest_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
