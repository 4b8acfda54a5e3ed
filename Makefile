# Set-up and everyday commands. Needs only python3.11 (with venv and pip) and make.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints.txt
SCENARIO ?= scenarios/lishui-2018.yaml

.PHONY: run test test-slow bench lint install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23.2"

# Stamp files record what was installed, so reruns are instant until pyproject/constraints change.
$(VENV)/.installed: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,lint,osm,dask]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	$(BIN)/ruralsim run $(SCENARIO)

# The tests run on every core (pytest-xdist; TEST_WORKERS=1 for one process). `make test` is the
# fast loop: all but the few marked slow, a file's tests on one worker so that the runs a module's
# tests share are made once. `make test-slow` runs the slow ones, each on the next free worker
# (they are few and long). CI (.ci/run) runs both.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -q --ignore=tests/bench -n $(TEST_WORKERS)

test: $(VENV)/.installed-test
	$(PYTEST) --dist loadfile -m "not slow"

test-slow: $(VENV)/.installed-test
	$(PYTEST) --dist load -m slow

$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,lint,osm,dask,bench]"
	touch $@

bench: $(VENV)/.installed-bench
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 taskset -c 0 $(BIN)/python -m pytest tests/bench --benchmark-enable --benchmark-only -q -s -p no:cacheprovider

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .benchmarks
