# Two commands get a newcomer going: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
STAMP := $(VENV)/.installed
FOLDER ?=

.PHONY: run test bench lint package clean venv lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# requirements.lock pins every transitive dependency to the versions CI tested; it is used
# as a constraints file, so it narrows versions without adding packages (`make lock` rebuilds it).
INSTALL := $(PIP) install --quiet -c constraints.txt -c requirements.lock

$(STAMP): $(BIN)/python pyproject.toml constraints.txt requirements.lock
	$(INSTALL) -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/resunet-gui gui $(FOLDER)

test: $(STAMP)
	$(BIN)/ruff check resunet_gui tests
	$(BIN)/lint-imports
	$(BIN)/mypy
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check resunet_gui tests
	$(BIN)/lint-imports
	$(BIN)/mypy

$(VENV)/.bench: $(STAMP)
	$(INSTALL) -e '.[test,bench]'
	touch $@

BENCH_CHECK ?=
bench: $(VENV)/.bench  # `make bench BENCH_CHECK=--check` stops at the first missed target
	$(BIN)/resunet-gui bench $(BENCH_CHECK) --json
	$(BIN)/resunet-gui bench $(BENCH_CHECK) --brush
	$(BIN)/resunet-gui bench $(BENCH_CHECK) --export
	QT_QPA_PLATFORM=offscreen $(BIN)/resunet-gui bench $(BENCH_CHECK) --ui

$(VENV)/.package: $(STAMP)
	$(INSTALL) -e '.[test,package]'
	touch $@

package: $(VENV)/.package
	bash packaging/build.sh

# Re-resolve the lock from pyproject.toml (needs the network); commit the result.
lock: $(BIN)/python
	$(PIP) install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --extra test --extra bench --extra package \
	  -c constraints.txt --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

clean:
	rm -rf build dist *.egg-info
