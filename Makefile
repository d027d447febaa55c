# The two commands in the README: `make repro` and `make test`. Each installs only what is missing.
SHELL := /bin/bash
# Newest first: with no PYTHON=…, the newest of these that runs is used (a pyenv shim of a Python that is not
# selected exists on PATH but does not run, so it is skipped).
SUPPORTED_PYTHONS := 3.13 3.12 3.11
FOUND_PYTHONS := $(foreach v,$(SUPPORTED_PYTHONS),$(shell python$(v) -c '' >/dev/null 2>&1 && echo python$(v)))
PYTHON ?= $(firstword $(FOUND_PYTHONS))
PYTHON_VERSION := $(if $(PYTHON),$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null))
# TensorFlow's build: cpu, or gpu for the CUDA build on Linux (`make TF=gpu repro`). Both are in uv.lock.
TF ?= cpu
UV_VERSION := 0.13.9
VENV := .venv
# One stamp per interpreter version and build: naming another rebuilds what differs.
STAMP := $(VENV)/.installed-$(PYTHON_VERSION)-$(TF)
DEBIAN_DATASET := /usr/share/datasets/fashion-mnist
# DVC stages call `python`; make them use the project's environment.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# uv installs into the interpreter PYTHON names; it never downloads one. It compiles the bytecode at install
# time (`--compile-bytecode`, 7 s), as pip does: without it, with PYTHONDONTWRITEBYTECODE set, every stage
# and test process compiled TensorFlow's modules anew (import 6.4 s instead of 2.3-2.9 s; CI twice as long).
export UV_PYTHON_DOWNLOADS := never

.PHONY: repro test bench dataset install lock clean docs plots-page pythons

repro: $(STAMP) dataset
	dvc repro

test: $(STAMP) dataset
	ruff check .
	ruff format --check .
	lint-imports  # the layers of src/fashionlab (pyproject.toml's tool.importlinter)
	pytest $(PYTEST_WORKERS)

# pytest-xdist: a worker a core, at most 4 (each imports TensorFlow), a test file to a worker, since a file's tests
# share the projects its fixtures build. On 2 cores the whole suite took 12.6 min against 22.5 one test at a time
# (most tests wait on a subprocess part of the time). `make test PYTEST_WORKERS=` runs them one at a time.
PYTEST_WORKERS ?= -n auto --maxprocesses 4 --dist loadfile

# Speed and cost measurements (a few minutes); results go to benchmarks/*.json, explained in
# docs/explanation/performance.md.
bench: $(STAMP) dataset
	dvc repro prepare
	python benchmarks/train_speed.py
	python benchmarks/numerics_cost.py
	python benchmarks/pipeline_costs.py

install: $(STAMP)

# What `make` checks before installing: a supported Python and platform. A problem stops make with one line.
PYTHON_CHECK := import platform, sys; \
	found = "%d.%d" % sys.version_info[:2]; \
	machine = (sys.platform, platform.machine()); \
	print(f"fashionlab needs Python 3.11, 3.12 or 3.13; {sys.executable} is {found} (name another: PYTHON=/path/to/python3.13 make …)" \
	if found not in ("3.11", "3.12", "3.13") else \
	f"fashionlab installs on Linux x86-64 and macOS on Apple silicon, where TensorFlow 2.21 has wheels; this is {platform.system()} {platform.machine()}" \
	if machine not in (("linux", "x86_64"), ("darwin", "arm64")) else "")
NO_PYTHON := fashionlab needs Python 3.11, 3.12 or 3.13, and none of python3.13, python3.12, python3.11 runs here: install one, or name it: PYTHON=/path/to/python3.12 make …
PYTHON_FAILS = PYTHON=$(PYTHON) does not run; name a Python 3.11, 3.12 or 3.13: PYTHON=/path/to/python3.12 make …
SETUP_PROBLEM = $(if $(PYTHON),$(if $(PYTHON_VERSION),$(shell $(PYTHON) -c '$(PYTHON_CHECK)'),$(PYTHON_FAILS)),$(NO_PYTHON))

$(STAMP): pyproject.toml uv.lock Makefile
	$(if $(SETUP_PROBLEM),$(error $(SETUP_PROBLEM)))
	@if [ -x $(VENV)/bin/python ] && [ "$$($(VENV)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$(PYTHON_VERSION)" ]; then \
		echo "$(VENV) has another Python than $(PYTHON) ($(PYTHON_VERSION)): rebuilding it"; rm -rf $(VENV); fi
	@test -x $(VENV)/bin/uv || { $(PYTHON) -m venv $(VENV) && $(VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION); }
	$(VENV)/bin/uv sync --quiet --locked --compile-bytecode --extra $(TF)
	@rm -f $(VENV)/.installed-*
	@touch $@

# Regenerate .dvc/plots/offline.html, the page `dvc plots` fills in (Vega inline), after changing the pin of
# vl-convert-python; a test fails while it is stale.
plots-page: $(STAMP)
	python -m fashionlab.generators.plots_page

# The supported interpreters that run here, newest first (CI runs the suite on one and the README on another).
pythons:
	@echo $(FOUND_PYTHONS)

# Debian's dataset-fashion-mnist package is the default data source; elsewhere `prepare` downloads it.
dataset:
	@if [ ! -d $(DEBIAN_DATASET) ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's dataset-fashion-mnist"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	elif [ ! -d $(DEBIAN_DATASET) ]; then \
		echo "note: $(DEBIAN_DATASET) not found; the prepare stage will download the dataset"; \
	fi

# Regenerate params.schema.json and the generated parts of docs/reference (the parameter table, the command
# reference) after changing src/fashionlab/common/params.py, params.yaml or the fashionlab parser; a test fails while
# they are stale.
docs: $(STAMP)
	python -m fashionlab.generators.reference_docs

# Re-resolve uv.lock after changing pyproject.toml: every supported Python and platform at once.
lock: $(STAMP)
	$(VENV)/bin/uv lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
