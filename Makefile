# rightswatch — everyday commands. Needs only Python >= 3.11 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config/rightswatch.yaml

.PHONY: run demo test test-year-ahead lint typecheck pytest install install-test compose-test bench screenshots clean help

help:
	@echo "make run    - install into $(VENV) and run the service (embedded, SQLite) with $(CONFIG)"
	@echo "make demo   - one cycle over the sample feeds in config/demo.yaml"
	@echo "make test   - install test extras, then lint, type-check and run the whole test suite"
	@echo "make test-year-ahead - the tests with the date a year ahead (libfaketime; PYTEST_ARGS=tests/api)"
	@echo "make bench  - run the benchmarks in benchmarks/"
	@echo "make screenshots - the web pages in English, Russian and Kyrgyz, into docs/screenshots/"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "rightswatch needs Python >= 3.11 (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# The browser tests drive Debian's Chromium through Playwright (tests/web/); the reverse-proxy
	@# test runs the nginx example (tests/ops/). Both come from Debian's packages where apt works.
	@(command -v chromium && command -v nginx) >/dev/null || \
	  (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium nginx-light) || \
	  echo "make: could not install chromium and nginx (needs root and apt-get); the tests that need them are skipped" >&2
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/rightswatch run --config $(CONFIG)

demo: install
	@rm -f data/demo.db data/demo.db-wal data/demo.db-shm
	RIGHTSWATCH_DATABASE_URL=sqlite:///data/demo.db $(BIN)/rightswatch run --once --config config/demo.yaml

lint: install-test
	$(BIN)/ruff check worker tests benchmarks alembic
	$(BIN)/ruff format --check worker tests benchmarks alembic

typecheck: install-test
	$(BIN)/mypy worker

pytest: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The suite with the system date a year ahead, for this process and every process the tests
# start (PostgreSQL and Redis keep the real clock): a test that depends on the calendar fails.
# Not run in CI; see tests/README.md. Sleeping and the monotonic clock stay real.
test-year-ahead: install-test $(VENV)/clock_nanosleep.so
	@ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq --no-install-recommends faketime)
	FAKETIME=+365d FAKETIME_DONT_FAKE_MONOTONIC=1 \
	  LD_PRELOAD="$(abspath $(VENV))/clock_nanosleep.so $$(ls /usr/lib/*/faketime/libfaketime.so.1)" \
	  $(BIN)/python -m pytest $(PYTEST_ARGS)

$(VENV)/clock_nanosleep.so: tests/support/clock_nanosleep.c
	cc -O2 -shared -fPIC -o $@ $<

bench: install-test
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_matching.py
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/deliveries.py 500
	$(BIN)/python benchmarks/bench_html.py

screenshots: install-test
	$(BIN)/python -m tests.web.screenshots docs/screenshots

clean:
	rm -rf $(VENV) data/demo.db* .pytest_cache .mypy_cache .ruff_cache
