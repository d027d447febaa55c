# The two commands in the README: `make repro` and `make test`. Each installs only what is missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
DEBIAN_DATASET := /usr/share/datasets/fashion-mnist
# DVC stages call `python`; make them use the project's environment.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: repro test lint bench dataset install lock clean params-docs

repro: $(STAMP) dataset
	dvc repro

test: $(STAMP) dataset
	ruff check .
	ruff format --check .
	pytest

# Speed and cost measurements (a few minutes); results go to benchmarks/*.json, summarised in the README.
bench: $(STAMP) dataset
	dvc repro prepare
	python benchmarks/train_speed.py
	python benchmarks/pipeline_costs.py

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
		|| { echo "fashionlab needs Python 3.11 (set PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip==26.3
	$(VENV)/bin/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

# Debian's dataset-fashion-mnist package is the default data source; elsewhere `prepare` downloads it.
dataset:
	@if [ ! -d $(DEBIAN_DATASET) ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's dataset-fashion-mnist"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	elif [ ! -d $(DEBIAN_DATASET) ]; then \
		echo "note: $(DEBIAN_DATASET) not found; the prepare stage will download the dataset"; \
	fi

# Regenerate params.schema.json and the README's parameter table after changing src/fashionlab/params.py.
params-docs: $(STAMP)
	python -m fashionlab.params

# Regenerate the full transitive pins after changing pyproject.toml.
lock: $(STAMP)
	{ echo '# Full transitive pins, used as pip constraints by the Makefile (regenerate: make lock).'; \
	  $(VENV)/bin/python -m pip freeze --exclude-editable; } > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
