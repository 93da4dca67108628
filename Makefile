# Durable Kit developer tasks. Needs only python3 (>= 3.11), node and npm; `make setup` does the rest.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PY_STAMP  := $(VENV)/.installed-dev
NPM_STAMP := node_modules/.installed-lock
# pytest-xdist: one worker per CPU. `make test PYTEST_ARGS=` runs serially.
PYTEST_ARGS ?= -n auto

# Node 20 works with aws-cdk-lib but jsii prints a deprecation banner on every synth.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-faults test-ui screenshots lint bench synth dist docs test-dist

help:
	@echo "make setup   create .venv and node_modules (idempotent)"
	@echo "make demo    run the order workflow locally, on virtual time"
	@echo "make test    ruff, mypy, then the test suite (with a sample of the fault sweep)"
	@echo "make test-faults  every fault at every boundary of the fault sweep, with its figures"
	@echo "make test-ui the dev server's web UI in headless Chromium (installs Debian's chromium if missing)"
	@echo "make lint    ruff and mypy only"
	@echo "make bench   run the benchmarks"
	@echo "make synth   synthesize the CDK app"
	@echo "make dist    build the wheel and sdist into dist/ and check them"
	@echo "make docs    build the documentation site into site/ (offline; any warning fails)"
	@echo "make test-dist  install the wheel with [testing] in a fresh venv and run the README's fixture example"

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Durable Kit needs Python >= 3.11; $(PYTHON) is $$($(PYTHON) --version 2>&1). Try: make PYTHON=python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependencies may have changed.
$(PY_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

# `npm ci` replaces node_modules, so the stamp lives inside it and goes with it.
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

demo: setup
	$(PY) -m examples.demo

# Run all three checks even when one fails, so a lint error never hides the test results; fail if any failed.
test: setup
	@status=0; \
	echo "== ruff"; $(PY) -m ruff check . || status=1; \
	echo "== mypy"; $(PY) -m mypy runtime/durable_runtime || status=1; \
	echo "== pytest"; $(PY) -m pytest $(PYTEST_ARGS) --ignore=tests/ui || status=1; \
	exit $$status

# The web UI in a real headless Chromium (Debian's package, installed here when missing and run as root).
test-ui: setup
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "make test-ui needs Chromium: sudo apt-get install chromium" >&2; exit 1; }
	DURABLE_UI_REQUIRED=1 $(PY) -m pytest tests/ui

# The README's screenshots of the dev server's pages (docs/images), taken by the UI test.
screenshots: setup
	DURABLE_UI_REQUIRED=1 DURABLE_UI_SCREENSHOTS=docs/images $(PY) -m pytest tests/ui

# Crash before and after every AWS call, fail each once, duplicate every delivery; then print the figures.
test-faults: setup
	@report=$$(mktemp); status=0; \
	DURABLE_FAULT_SWEEP=all DURABLE_FAULT_REPORT=$$report $(PY) -m pytest $(PYTEST_ARGS) tests/faults || status=1; \
	$(PY) -m tests.faults.summary $$report; rm -f $$report; exit $$status

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy runtime/durable_runtime

# The official SDK gets a venv of its own (.bench/official), never the runtime's dependencies; without network it
# is skipped and its column stays empty.
bench: setup
	@test -x .bench/official/bin/python || { python3 -m venv .bench/official && \
		.bench/official/bin/pip install -q aws-durable-execution-sdk-python aws-durable-execution-sdk-python-testing; } \
		|| echo "official SDK not installed: its column stays empty"
	DURABLE_BENCH_OFFICIAL_PYTHON=$(CURDIR)/.bench/official/bin/python $(PY) bench/run.py

# Offline; cdk-nag's AwsSolutions checks fail the synth on any finding not acknowledged with a reason.
synth: setup
	npx --no -- cdk synth -c nag=true

# The wheel and sdist (into dist/), checked as PyPI would.
dist: setup
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*

# The documentation site (mkdocs.yml): pages share README.md's sections; the API reference comes from docstrings.
docs: setup
	$(PY) -m mkdocs build --strict --quiet

# The wheel as a new user meets it: a fresh venv outside the repository (tools/check_wheel.py).
test-dist: dist
	$(PY) tools/check_wheel.py
