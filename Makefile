# xenpanel — `make demo` runs the panel on a simulated Dom0; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip

.PHONY: demo test test-fast lint format venv bench vendor

$(VENV)/.stamp-run: requirements.txt
	PYTHON=$(PYTHON) bash scripts/system-packages.sh run
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.stamp-dev: requirements.txt requirements-dev.txt $(VENV)/.stamp-run
	$(PIP) install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.stamp-dev

## Set everything up and start web, worker, beat and Redis on a simulated host (Ctrl-C stops all).
demo: $(VENV)/.stamp-run
	bash scripts/demo.sh

## All tests: fast logic tests plus real Redis, Celery worker, simulator, sshd and browser tests.
test: $(VENV)/.stamp-dev
	bash scripts/system-packages.sh test
	$(PY) -m pytest -q

## Quick loop: tests that start no worker, sshd or browser.
test-fast: $(VENV)/.stamp-dev
	$(PY) -m pytest -q -m "not slow"

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.stamp-dev
	bash scripts/system-packages.sh run
	$(PY) bench/refresh.py
