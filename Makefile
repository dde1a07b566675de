# Two commands get a newcomer going: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
STAMP := $(VENV)/.installed
FOLDER ?=

.PHONY: run test bench lint package clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/resunet-gui gui $(FOLDER)

test: $(STAMP)
	$(BIN)/ruff check resunet_gui tests
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check resunet_gui tests
	$(BIN)/lint-imports

$(VENV)/.bench: $(STAMP)
	$(PIP) install --quiet -c constraints.txt -e '.[test,bench]'
	touch $@

bench: $(VENV)/.bench
	$(BIN)/resunet-gui bench --json
	$(BIN)/resunet-gui bench --brush
	$(BIN)/resunet-gui bench --export
	QT_QPA_PLATFORM=offscreen $(BIN)/resunet-gui bench --ui

$(VENV)/.package: $(STAMP)
	$(PIP) install --quiet -c constraints.txt -e '.[test,package]'
	touch $@

package: $(VENV)/.package
	bash packaging/build.sh

clean:
	rm -rf build dist *.egg-info
