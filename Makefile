# xenpanel — `make demo` runs the panel on a simulated Dom0; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip

.PHONY: demo test test-serial test-pg test-fast lint imports typecheck format venv bench vendor requirements

# requirements*.txt are compiled with hashes from requirements*.in (`make requirements`).
$(VENV)/.stamp-run: requirements.txt
	PYTHON=$(PYTHON) bash scripts/system-packages.sh run
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check --require-hashes -r requirements.txt
	touch $@

$(VENV)/.stamp-dev: requirements.txt requirements-dev.txt $(VENV)/.stamp-run | $(VENV)/bin/xenpanel-cli
	$(PIP) install -q --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $@

# The CLI (xenpanel_cli/, standard library only) as .venv/bin/xenpanel-cli: a launcher that runs
# this checkout's copy, so it needs no build step, no setuptools and no network. It calls the
# same function as `[project.scripts]` in pyproject.toml (which `pip install .` uses elsewhere).
$(VENV)/bin/xenpanel-cli: $(VENV)/.stamp-run
	printf '#!%s\nimport sys\nsys.path.insert(0, "%s")\nfrom xenpanel_cli.main import main\nsys.exit(main())\n' \
		"$(abspath $(PY))" "$(CURDIR)" > $@
	chmod +x $@

venv: $(VENV)/.stamp-dev

## Set everything up and start web, worker, beat and Redis on a simulated host (Ctrl-C stops all).
demo: $(VENV)/.stamp-run
	bash scripts/demo.sh

## Everything CI checks: lint, format, the layer contracts, the types (mypy), then every test (fast
## logic tests plus real Redis, Celery worker, simulator, sshd and browser tests) on SQLite, the
## fault tests (Redis stopped, workers killed) in a session of their own, and the
## database-sensitive tests (marked `pg`) again on a throwaway PostgreSQL server. The sessions run
## side by side, one per core (scripts/test_lanes.py; `make test-serial` runs them in turn).
test: $(VENV)/.stamp-dev lint imports typecheck
	bash scripts/system-packages.sh test
	$(PY) scripts/test_lanes.py

test-serial: $(VENV)/.stamp-dev lint imports typecheck
	bash scripts/system-packages.sh test
	$(PY) -m pytest -q
	$(PY) -m pytest -q -m faults
	$(PY) -m pytest -q -m pg --db=postgres

## Only the database-sensitive tests, on a throwaway PostgreSQL server the session starts.
test-pg: $(VENV)/.stamp-dev
	bash scripts/system-packages.sh test
	$(PY) -m pytest -q -m pg --db=postgres

## Quick loop: tests that start no worker, sshd or browser.
test-fast: $(VENV)/.stamp-dev
	$(PY) -m pytest -q -m "not slow"

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## The import contracts in pyproject.toml: no room imports one above it (docs/architecture.md).
imports: $(VENV)/.stamp-dev
	$(VENV)/bin/lint-imports --no-cache

## mypy with the settings in pyproject.toml: strict for dom0/ and the simulator, django-stubs for
## the apps.
typecheck: $(VENV)/.stamp-dev
	$(VENV)/bin/mypy

format: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.stamp-dev
	bash scripts/system-packages.sh run
	$(PY) bench/refresh.py

## Re-fetch static/vendor/ (htmx, Bootstrap CSS, noVNC) from npm at the versions in scripts/vendor.sh.
vendor:
	bash scripts/vendor.sh

# pip-tools lives in its own venv under .venv/, so it never lands in the project's environment.
PIP_TOOLS   := $(VENV)/pip-tools
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make requirements" $(PIP_TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

$(PIP_TOOLS)/bin/pip-compile:
	$(PYTHON) -m venv $(PIP_TOOLS)
	$(PIP_TOOLS)/bin/pip install -q --disable-pip-version-check 'pip-tools==7.6.2'

## Recompile requirements*.txt (pinned, hashed) from requirements*.in; current pins are kept.
requirements: $(PIP_TOOLS)/bin/pip-compile
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in
